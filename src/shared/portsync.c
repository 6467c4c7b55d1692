// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "conntrack_seed.h"
#include "log.h"
#include "portsync.h"
#include "sockdiag.h"
#include "errbuf.h"
#include "util.h"

#define SLOTS (AXDP_L4_COUNT * AXDP_PORTS)

static const char *const l4_name[AXDP_L4_COUNT] = { [AXDP_L4_TCP] = "tcp", [AXDP_L4_UDP] = "udp" };

int axdp_ephemeral_range(uint16_t *lo, uint16_t *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	unsigned int a, b;
	int n = f ? fscanf(f, "%u %u", &a, &b) : 0;

	if (f)
		fclose(f);
	if (n != 2 || a > b || b > 65535)
		return -1;
	*lo = a;
	*hi = b;
	return 0;
}

const char *axdp_port_open_on(uint32_t flags, bool json)
{
	bool v4 = flags & (AXDP_PORT_OPEN_ANY | AXDP_PORT_OPEN_ANY4),
	     v6 = flags & (AXDP_PORT_OPEN_ANY | AXDP_PORT_OPEN_ANY6);

	if (v4 && v6)
		return json ? "any" : "any address";
	if (v4)
		return json ? "ipv4" : "any IPv4 address";
	if (v6)
		return json ? "ipv6" : "any IPv6 address";
	return json ? "addresses" : "bound addresses only";
}

/* No data path: the same bookkeeping in plain memory, for the nftables backend alone. */
static int open_local(struct axdp_portsync *ps, char *err, size_t errlen)
{
	ps->local = true;
	ps->addr_allow_fd = ps->bind_exclude_fd = ps->conntrack.fd = ps->conntrack.fd4 = ps->flow_ports_fd = -1;
	ps->slots = calloc(SLOTS, sizeof(*ps->slots));
	if (!ps->slots)
		return axdp_fail(err, errlen, "allow-lists: out of memory");
	if (axdp_ephemeral_range(&ps->ephemeral_lo, &ps->ephemeral_hi))
		return axdp_fail(err, errlen, "reading /proc/sys/net/ipv4/ip_local_port_range: %s", strerror(errno));
	return 0;
}

int axdp_portsync_open(struct axdp_portsync *ps, const struct axdp_datapath *dp, char *err, size_t errlen)
{
	int fd;

	memset(ps, 0, sizeof(*ps));
	if (!dp)
		return open_local(ps, err, errlen);
	fd = axdp_datapath_map_fd(dp, AXDP_MAP_PORT_ALLOW, err, errlen);
	if (fd < 0)
		return -1;
	ps->slots = mmap(NULL, SLOTS * sizeof(*ps->slots), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ps->slots == MAP_FAILED) {
		ps->slots = NULL;
		snprintf(err, errlen, "mapping %s: %s (the pinned map predates this version: 'axdp off' recreates it)",
			 AXDP_MAP_PORT_ALLOW, strerror(errno));
		return -1;
	}
	ps->addr_allow_fd = axdp_datapath_map_fd(dp, AXDP_MAP_ADDR_ALLOW, err, errlen);
	ps->bind_exclude_fd = axdp_datapath_map_fd(dp, AXDP_MAP_BIND_EXCLUDE, err, errlen);
	axdp_datapath_conntrack(dp, &ps->conntrack, err, errlen);
	ps->flow_ports_fd = axdp_datapath_map_fd(dp, AXDP_MAP_FLOW_PORTS, err, errlen);
	if (axdp_ephemeral_range(&ps->ephemeral_lo, &ps->ephemeral_hi)) {
		snprintf(err, errlen, "reading /proc/sys/net/ipv4/ip_local_port_range: %s", strerror(errno));
		return -1;
	}
	return ps->addr_allow_fd < 0 || ps->bind_exclude_fd < 0 || !axdp_conntrack_open(&ps->conntrack) ||
			       ps->flow_ports_fd < 0
		       ? -1
		       : 0;
}

void axdp_portsync_close(struct axdp_portsync *ps)
{
	if (ps->slots && ps->local)
		free(ps->slots);
	else if (ps->slots)
		munmap(ps->slots, SLOTS * sizeof(*ps->slots));
	ps->slots = NULL;
	free(ps->local_addrs);
	ps->local_addrs = NULL;
	ps->n_local_addrs = 0;
	axdp_tier_cache_free(&ps->tiers);
}

static bool is_loopback(const uint8_t a[16])
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };

	/* 127.0.0.0/8 */
	return memcmp(a, v6_loopback, 16) == 0 || (axdp_addr_is_v4(a) && a[12] == 127);
}

/* The rule the socket hooks apply too (bpf/sock_hooks.h): which listeners open their port. */
static bool listener_opens(const struct axdp_portsync *ps, const struct axdp_config *cfg, const struct axdp_socket *s,
			   enum axdp_l4 l4)
{
	if (is_loopback(s->addr) || axdp_port_in(cfg->exclude_ports[l4], s->port))
		return false;
	if (!s->wildcard && axdp_config_bind_excluded(cfg, s->addr))
		return false;
	return l4 == AXDP_L4_TCP || s->port < ps->ephemeral_lo || s->port > ps->ephemeral_hi;
}

static void log_change(enum axdp_l4 l4, uint16_t port, uint32_t was, uint32_t now, const struct axdp_socket_set *socks)
{
	struct axdp_log_fields f = { .protocol = l4_name[l4], .port = port, .process = "" };
	char comm[32] = "";
	bool anywhere;
	size_t i;

	if (!(was & AXDP_PORT_OPEN) == !(now & AXDP_PORT_OPEN))
		return;
	if (!(now & AXDP_PORT_OPEN)) {
		axdp_log_fields(LOG_INFO, &f, "closed %s/%u: no listener left", l4_name[l4], port);
		return;
	}
	for (i = 0; i < socks->n; i++)
		if (socks->v[i].port == port && (socks->v[i].proto == IPPROTO_TCP) == (l4 == AXDP_L4_TCP) &&
		    axdp_socket_process_name(socks->v[i].inode, comm, sizeof(comm)) == 0)
			break;
	f.process = comm;
	anywhere = !strcmp(axdp_port_open_on(now, true), "any");
	axdp_log_fields(LOG_INFO, &f, "opened %s/%u%s%s%s%s", l4_name[l4], port, anywhere ? "" : " on ",
			anywhere ? "" : axdp_port_open_on(now, false), comm[0] ? " for " : "", comm);
}

/* A growable list of the (address, port) pairs that should be in addr_allow. */
struct addr_ports {
	struct axdp_addr_port *v;
	size_t n, cap;
};

static int addr_ports_push(struct addr_ports *a, const struct axdp_socket *s, enum axdp_l4 l4)
{
	if (AXDP_GROW(a->v, a->cap, a->n))
		return -1;
	memset(&a->v[a->n], 0, sizeof(a->v[a->n]));
	memcpy(&a->v[a->n].local, s->addr, 16);
	a->v[a->n].port = s->port;
	a->v[a->n].l4 = l4;
	a->n++;
	return 0;
}

static bool addr_ports_has(const void *key, const void *ctx)
{
	const struct addr_ports *a = ctx;

	for (size_t i = 0; i < a->n; i++)
		if (memcmp(&a->v[i], key, sizeof(a->v[i])) == 0)
			return true;
	return false;
}

static bool configured_exclusion(const void *key, const void *ctx)
{
	const struct axdp_lpm_key *k = key;
	const struct axdp_config *cfg = ctx;

	for (size_t i = 0; i < cfg->exclude_bind.n; i++)
		if (k->prefixlen == cfg->exclude_bind.v[i].prefix &&
		    memcmp(&k->addr, cfg->exclude_bind.v[i].addr, 16) == 0)
			return true;
	return false;
}

/* Deletes the keys keep() refuses; the successor is fetched first, so deleting does not restart the walk. */
static void prune_map(int fd, size_t key_size, bool (*keep)(const void *key, const void *ctx), const void *ctx)
{
	char key[64], next[64];
	int rc = bpf_map_get_next_key(fd, NULL, key);

	while (rc == 0) {
		rc = bpf_map_get_next_key(fd, key, next);
		if (!keep(key, ctx))
			bpf_map_delete_elem(fd, key);
		memcpy(key, next, key_size);
	}
}

/* What port_allow and addr_allow should hold, from the configuration and the sockets. */
static int desired_state(const struct axdp_portsync *ps, const struct axdp_config *cfg,
			 const struct axdp_socket_set *socks, uint32_t *want, struct addr_ports *addrs)
{
	for (int l4 = 0; l4 < AXDP_L4_COUNT; l4++)
		for (uint32_t port = 1; port < AXDP_PORTS; port++) {
			uint32_t *slot = &want[l4 * AXDP_PORTS + port];

			if (axdp_port_in(cfg->allow_ports[l4], port))
				*slot = AXDP_PORT_OPEN_ANY;
			else if (axdp_port_in(cfg->exclude_ports[l4], port))
				*slot = AXDP_PORT_EXCLUDED;
		}
	for (size_t i = 0; i < socks->n; i++) {
		const struct axdp_socket *s = &socks->v[i];
		enum axdp_l4 l4 = s->proto == IPPROTO_TCP ? AXDP_L4_TCP : AXDP_L4_UDP;

		if (!listener_opens(ps, cfg, s, l4))
			continue;
		if (s->wildcard)
			want[l4 * AXDP_PORTS + s->port] |= axdp_socket_wildcard_bit(s);
		else if (addr_ports_push(addrs, s, l4))
			return -1;
		else
			want[l4 * AXDP_PORTS + s->port] |= AXDP_PORT_OPEN_ADDR;
	}
	return 0;
}

/* The slots and address entries this reconcile writes: what a connection passes by once it is done. */
struct desired {
	const uint32_t *want;
	const struct addr_ports *addrs;
};

static bool served_by_port(const struct axdp_socket *c, const void *ctx)
{
	const struct desired *d = ctx;
	enum axdp_l4 l4 = c->proto == IPPROTO_TCP ? AXDP_L4_TCP : AXDP_L4_UDP;
	uint32_t flags = d->want[l4 * AXDP_PORTS + c->port];
	struct axdp_addr_port key;

	memset(&key, 0, sizeof(key)); /* compared whole, padding included */
	memcpy(&key.local, c->addr, sizeof(key.local));
	if (flags & axdp_port_open_for(&key.local))
		return true;
	key.port = c->port;
	key.l4 = l4;
	return (flags & AXDP_PORT_OPEN_ADDR) && addr_ports_has(&key, d->addrs);
}

/*
 * Whether this reconcile takes anything away: an open bit of a slot, or an
 * address entry of a listener gone.  Only then do connections need to be
 * listed before it writes, the listing being the costly part (sock_diag
 * walks the kernel's whole connection hash table).
 */
static bool closes_something(const struct axdp_portsync *ps, const uint32_t *before, const uint32_t *want,
			     const struct addr_ports *addrs)
{
	struct axdp_addr_port key, next;

	for (uint32_t idx = 0; idx < SLOTS; idx++)
		if (before[idx] & ~want[idx] & AXDP_PORT_OPEN)
			return true;
	for (int rc = bpf_map_get_next_key(ps->addr_allow_fd, NULL, &next); rc == 0;
	     rc = bpf_map_get_next_key(ps->addr_allow_fd, &key, &next)) {
		key = next;
		if (!addr_ports_has(&key, addrs))
			return true;
	}
	return false;
}

static int sync_bind_exclude(const struct axdp_portsync *ps, const struct axdp_config *cfg, char *err, size_t errlen)
{
	struct axdp_lpm_key key;
	uint8_t one = 1;
	size_t i;

	if (ps->bind_exclude_fd < 0)
		return 0;
	/* The hooks read this trie; deleting everything first would open excluded binds for a moment. */
	for (i = 0; i < cfg->exclude_bind.n; i++) {
		key.prefixlen = cfg->exclude_bind.v[i].prefix;
		memcpy(&key.addr, cfg->exclude_bind.v[i].addr, 16);
		if (bpf_map_update_elem(ps->bind_exclude_fd, &key, &one, BPF_ANY))
			return axdp_fail(err, errlen, "map %s: adding an entry: %s", AXDP_MAP_BIND_EXCLUDE,
					 strerror(errno));
	}
	prune_map(ps->bind_exclude_fd, sizeof(key), configured_exclusion, cfg);
	return 0;
}

int axdp_portsync_reconcile(struct axdp_portsync *ps, const struct axdp_config *cfg, bool renew, char *err,
			    size_t errlen)
{
	struct axdp_socket_set socks = {};
	struct addr_ports addrs = {};
	uint32_t *want = calloc(SLOTS, sizeof(*want));
	uint32_t *before = malloc(SLOTS * sizeof(*before));
	uint8_t one = 1;
	int rc = -1;

	if (!want || !before || sync_bind_exclude(ps, cfg, err, errlen))
		goto out;
	/*
	 * The slots as they were before the dump: a hook that opens a port
	 * after this moment makes the compare-and-swap below fail, so a
	 * listen() the dump missed is never closed.
	 */
	for (uint32_t idx = 0; idx < SLOTS; idx++)
		before[idx] = __atomic_load_n(&ps->slots[idx].flags, __ATOMIC_ACQUIRE);
	if (axdp_listeners_dump(&socks, err, errlen))
		goto out;
	if (desired_state(ps, cfg, &socks, want, &addrs)) {
		snprintf(err, errlen, "reconcile: out of memory");
		goto out;
	}
	/*
	 * Connections go into conntrack before their port closes, or their
	 * next inbound segment would be dropped as tcp_port_closed.  None can
	 * slip past this dump: a connection established after it was accepted
	 * by a listener that existed then.  Either that listener was in the
	 * listener dump above, and its port stays open (want), or it called
	 * listen() after the slots were read, and its hook's write makes the
	 * compare-and-swap below fail, so the port stays open too (unless the
	 * bit was still set from the listener before it: then the port closes
	 * under the new listener until the next reconcile, the allow-list's
	 * own window, which sessions do not widen).  Sessions served by an
	 * open port need no entry; they get one in the reconcile that closes it.
	 */
	if (!ps->local && (renew || closes_something(ps, before, want, &addrs))) {
		struct desired d = { want, &addrs };
		struct axdp_seed_counts kept;

		if (axdp_conntrack_keep(&ps->conntrack, ps->flow_ports_fd, served_by_port, &d, &kept, err, errlen))
			goto out;
		if (kept.added)
			axdp_log(LOG_INFO, "conntrack: entered %u connections no open port serves (from sock_diag)",
				 kept.added);
	}
	/* Address entries go in before the bit that makes the data path look for them. */
	for (size_t i = 0; i < addrs.n && !ps->local; i++)
		if (bpf_map_update_elem(ps->addr_allow_fd, &addrs.v[i], &one, BPF_ANY)) {
			snprintf(err, errlen, "map %s: adding port %u: %s (map full?)", AXDP_MAP_ADDR_ALLOW,
				 addrs.v[i].port, strerror(errno));
			goto out;
		}
	for (uint32_t idx = 0; idx < SLOTS; idx++) {
		uint32_t cur = before[idx];

		if (cur != want[idx] && __atomic_compare_exchange_n(&ps->slots[idx].flags, &cur, want[idx], false,
								    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			log_change(idx / AXDP_PORTS, idx % AXDP_PORTS, cur, want[idx], &socks);
	}
	axdp_port_tiers_sync(ps->slots, cfg, &socks, &ps->tiers);
	if (ps->local) {
		free(ps->local_addrs);
		ps->local_addrs = addrs.v;
		ps->n_local_addrs = addrs.n;
		addrs.v = NULL;
	} else {
		prune_map(ps->addr_allow_fd, sizeof(struct axdp_addr_port), addr_ports_has, &addrs);
	}
	rc = 0;
out:
	free(before);
	free(want);
	free(addrs.v);
	axdp_socket_set_free(&socks);
	return rc;
}

void axdp_open_ports_tally(const struct axdp_port_slot *slots, unsigned int open[AXDP_L4_COUNT])
{
	for (int l4 = 0; l4 < AXDP_L4_COUNT; l4++) {
		open[l4] = 0;
		/* From 1: port 0 is malformed on the wire, never open whatever its slot says. */
		for (uint32_t port = 1; port < AXDP_PORTS; port++)
			open[l4] += !!(slots[l4 * AXDP_PORTS + port].flags & AXDP_PORT_OPEN);
	}
}

void axdp_portsync_count(const struct axdp_portsync *ps, unsigned int open[AXDP_L4_COUNT])
{
	axdp_open_ports_tally(ps->slots, open);
}

void axdp_port_state_free(struct axdp_port_state *s)
{
	free(s->flags);
	free(s->tiers);
	free(s->addrs);
	memset(s, 0, sizeof(*s));
}

static int state_push(struct axdp_port_state *s, const struct axdp_addr_port *ap)
{
	if (AXDP_GROW(s->addrs, s->cap_addrs, s->n_addrs))
		return -1;
	s->addrs[s->n_addrs++] = *ap;
	return 0;
}

int axdp_portsync_state(const struct axdp_portsync *ps, struct axdp_port_state *out, char *err, size_t errlen)
{
	struct axdp_addr_port key, next;
	int rc;

	/* The arrays of an earlier call are reused: a change per listen() allocates nothing. */
	out->n_addrs = 0;
	if (!out->flags)
		out->flags = malloc(SLOTS * sizeof(*out->flags));
	if (!out->tiers)
		out->tiers = malloc(SLOTS * sizeof(*out->tiers));
	if (!out->flags || !out->tiers)
		goto oom;
	for (uint32_t idx = 0; idx < SLOTS; idx++) {
		out->flags[idx] = __atomic_load_n(&ps->slots[idx].flags, __ATOMIC_ACQUIRE);
		out->tiers[idx] = (uint8_t)__atomic_load_n(&ps->slots[idx].tier, __ATOMIC_RELAXED);
	}
	if (ps->local) {
		for (size_t i = 0; i < ps->n_local_addrs; i++)
			if (state_push(out, &ps->local_addrs[i]))
				goto oom;
		return 0;
	}
	/* The map as the hooks left it: a listen() since the last reconcile is in it. */
	for (rc = bpf_map_get_next_key(ps->addr_allow_fd, NULL, &next); rc == 0;
	     rc = bpf_map_get_next_key(ps->addr_allow_fd, &key, &next)) {
		key = next;
		if (state_push(out, &key))
			goto oom;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "map %s: listing: %s", AXDP_MAP_ADDR_ALLOW, strerror(errno));
		axdp_port_state_free(out);
		return -1;
	}
	return 0;
oom:
	axdp_port_state_free(out);
	return axdp_fail(err, errlen, "allow-lists: out of memory");
}
