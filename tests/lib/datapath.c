// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "counters.h"
#include "util.h"
#include "datapath.h"

static const char *const reason_names[] = {
#define REASON_NAME(number, id, action, name) [AXDP_##id] = #name,
	AXDP_REASONS(REASON_NAME)
#undef REASON_NAME
};

static const char *const reason_labels[] = {
#define REASON_LABEL(number, id, action, name) [AXDP_##id] = #action " " #name,
	AXDP_REASONS(REASON_LABEL)
#undef REASON_LABEL
};

const char *dpt_reason_name(int reason)
{
	if (reason == DPT_REASON_NONE)
		return "(no counter moved)";
	if (reason == DPT_REASON_MANY)
		return "(more than one packet counted)";
	return reason >= 0 && reason < AXDP_REASON_COUNT ? reason_names[reason] : "(not a reason)";
}

const char *dpt_reason_label(int reason)
{
	return reason >= 0 && reason < AXDP_REASON_COUNT ? reason_labels[reason] : dpt_reason_name(reason);
}

static int map_fd(struct dpt *t, const char *name)
{
	char err[256];
	int fd = axdp_datapath_map_fd(&t->dp, name, err, sizeof(err));

	if (fd < 0)
		snprintf(t->err, sizeof(t->err), "%s", err);
	return fd;
}

int dpt_load(struct dpt *t, const struct axdp_knobs *knobs)
{
	const char *object = getenv(DPT_OBJECT_ENV);
	char pin_dir[64];
	struct axdp_load_opts opts = {
		.object_path = object && *object ? object : DPT_OBJECT_DEFAULT,
		.pin_dir = pin_dir,
		.knobs = AXDP_KNOBS_DEFAULT,
	};

	memset(t, 0, sizeof(*t));
	t->counters = t->port_allow = t->addr_allow = t->fragments = t->fragments4 = -1;
	t->conntrack = (struct axdp_conntrack)AXDP_CONNTRACK_NONE;
	if (knobs)
		opts.knobs = *knobs;
	/* Criterion runs each test in its own process: the pid keeps parallel tests apart. */
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/axdp-test-%d", (int)getpid());
	t->ncpus = libbpf_num_possible_cpus();
	if (t->ncpus <= 0) {
		snprintf(t->err, sizeof(t->err), "counting possible CPUs: %s", strerror(-t->ncpus));
		return t->ncpus ? t->ncpus : -EINVAL;
	}
	if (axdp_datapath_load(&t->dp, &opts, t->err, sizeof(t->err))) {
		/* The loader may have created the pin directory before it failed. */
		snprintf(t->dp.pin_dir, sizeof(t->dp.pin_dir), "%s", pin_dir);
		dpt_unload(t);
		return -EINVAL;
	}
	if ((t->counters = map_fd(t, AXDP_MAP_COUNTERS)) < 0 || (t->port_allow = map_fd(t, AXDP_MAP_PORT_ALLOW)) < 0 ||
	    (t->addr_allow = map_fd(t, AXDP_MAP_ADDR_ALLOW)) < 0 ||
	    axdp_datapath_conntrack(&t->dp, &t->conntrack, t->err, sizeof(t->err)) ||
	    (t->fragments = map_fd(t, AXDP_MAP_FRAGMENTS)) < 0 || (t->fragments4 = map_fd(t, AXDP_MAP_FRAGMENTS4)) < 0) {
		dpt_unload(t);
		return -ENOENT;
	}
	return 0;
}

void dpt_unload(struct dpt *t)
{
	char err[256];

	if (!t->dp.pin_dir[0])
		return;
	axdp_datapath_close(&t->dp);
	/* A leftover pin directory would keep megabytes of maps alive until reboot: say so. */
	if (axdp_remove_all(t->dp.pin_dir, err, sizeof(err)))
		fprintf(stderr, "test fixture: %s\n", err);
	t->dp.pin_dir[0] = '\0';
}

int dpt_counts(struct dpt *t, uint64_t counts[AXDP_REASON_COUNT])
{
	struct axdp_counter all[AXDP_REASON_COUNT];

	if (axdp_counters_read(t->counters, AXDP_ALL_SLOTS, all))
		return -errno;
	for (int r = 0; r < AXDP_REASON_COUNT; r++)
		counts[r] = all[r].packets;
	return 0;
}

/*
 * The kernel builds the skb or xdp_buff from the frame itself, so neither
 * hook needs a context from us.  It refuses frames shorter than an
 * Ethernet header (-EINVAL), as bpf_xdp_adjust_head/tail refuse to make
 * one: no XDP program ever sees such a frame.
 */
int dpt_prog_run_repeat(int prog_fd, const struct pkt *p, uint32_t repeat, int *retval, uint32_t *ns_per_run)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = (__u32)p->len, .repeat = (int)repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*retval = (int)opts.retval;
	*ns_per_run = opts.duration;
	return 0;
}

int dpt_run_repeat(struct dpt *t, enum dpt_hook hook, const struct pkt *p, uint32_t repeat,
		   int *retval, uint32_t *ns_per_run)
{
	return dpt_prog_run_repeat(hook == DPT_XDP ? t->dp.xdp_fd : t->dp.tc_fd, p, repeat, retval, ns_per_run);
}

struct dpt_outcome dpt_run(struct dpt *t, enum dpt_hook hook, const struct pkt *p)
{
	uint64_t before[AXDP_REASON_COUNT], after[AXDP_REASON_COUNT];
	struct dpt_outcome o = { .reason = DPT_REASON_NONE };
	uint32_t duration;
	int r;

	if ((o.err = dpt_counts(t, before)) || (o.err = dpt_run_repeat(t, hook, p, 1, &o.retval, &duration)) ||
	    (o.err = dpt_counts(t, after)))
		return o;
	for (r = 0; r < AXDP_REASON_COUNT; r++) {
		uint64_t delta = after[r] - before[r];

		o.packets += delta;
		if (delta)
			o.reason = o.reason == DPT_REASON_NONE && delta == 1 ? r : DPT_REASON_MANY;
	}
	return o;
}

int dpt_expect(struct dpt *t, enum dpt_hook hook, const struct pkt *p, int retval, int reason,
	       char *why, size_t whylen)
{
	struct dpt_outcome o = dpt_run(t, hook, p);

	if (o.err) {
		snprintf(why, whylen, "test run of a %zu-byte packet failed: %s", p->len, strerror(-o.err));
		return -1;
	}
	if (o.retval == retval && o.reason == reason && o.packets == 1)
		return 0;
	snprintf(why, whylen, "returned %d counted as %s (%llu packets); expected %d counted as %s",
		 o.retval, dpt_reason_label(o.reason), (unsigned long long)o.packets, retval, dpt_reason_label(reason));
	return -1;
}

/* The whole slot: the kernel copies value_size (8) bytes, a lone __u32 would hand it stack garbage as the tier. */
static int port_slot_set_tier(struct dpt *t, enum axdp_l4 l4, uint16_t port, __u32 bits, enum axdp_tier tier)
{
	struct axdp_port_slot slot = { .flags = bits, .tier = tier };
	__u32 idx = (__u32)l4 * AXDP_PORTS + port;

	return bpf_map_update_elem(t->port_allow, &idx, &slot, BPF_ANY) ? -errno : 0;
}

static int port_slot_set(struct dpt *t, enum axdp_l4 l4, uint16_t port, __u32 bits)
{
	return port_slot_set_tier(t, l4, port, bits, AXDP_TIER_NORMAL);
}

int dpt_port_open_tier(struct dpt *t, enum axdp_l4 l4, uint16_t port, enum axdp_tier tier)
{
	return port_slot_set_tier(t, l4, port, AXDP_PORT_OPEN_ANY, tier);
}

int dpt_port_open(struct dpt *t, enum axdp_l4 l4, uint16_t port)
{
	return port_slot_set(t, l4, port, AXDP_PORT_OPEN_ANY);
}

int dpt_port_open_family(struct dpt *t, enum axdp_l4 l4, uint16_t port, int family)
{
	return port_slot_set(t, l4, port, family == 4 ? AXDP_PORT_OPEN_ANY4 : AXDP_PORT_OPEN_ANY6);
}

int dpt_port_open_on(struct dpt *t, enum axdp_l4 l4, uint16_t port, const char *local)
{
	struct axdp_addr_port key = { .local = dpt_addr(local), .port = port, .l4 = (__u8)l4 };
	__u8 one = 1;

	if (bpf_map_update_elem(t->addr_allow, &key, &one, BPF_ANY))
		return -errno;
	return port_slot_set(t, l4, port, AXDP_PORT_OPEN_ADDR);
}

int dpt_port_close(struct dpt *t, enum axdp_l4 l4, uint16_t port)
{
	return port_slot_set(t, l4, port, 0);
}

struct axdp_addr dpt_addr(const char *s)
{
	struct axdp_addr a = { .w = { 0, 0, htonl(0xffff), 0 } };

	if (inet_pton(AF_INET, s, &a.w[3]) == 1)
		return a;
	if (inet_pton(AF_INET6, s, &a) == 1)
		return a;
	fprintf(stderr, "test fixture: '%s' is not an address\n", s);
	abort();
}

struct axdp_flow_key dpt_flow_key(uint8_t proto, const char *remote, uint16_t rport, const char *local, uint16_t lport)
{
	return (struct axdp_flow_key){
		.remote = dpt_addr(remote),
		.local = dpt_addr(local),
		.remote_port = htons(rport),
		.local_port = htons(lport),
		.proto = proto,
	};
}

int dpt_flow_get(struct dpt *t, const struct axdp_flow_key *key, struct axdp_flow *flow)
{
	return axdp_conntrack_lookup(&t->conntrack, key, flow) ? -errno : 0;
}

int dpt_flow_copy_slot(const struct axdp_flow_key *key, const __u32 *hash_key)
{
	struct axdp_flow4_key k4 = axdp_flow4_key_of(key);
	__u64 h = axdp_flow_key_is_v4(key) ? axdp_flow4_copy_hash(&k4, hash_key) : axdp_flow6_copy_hash(key, hash_key);

	return (int)axdp_hash_index(h, AXDP_FLOW_CACHE_BITS);
}

int dpt_flow_copy(struct dpt *t, const struct axdp_flow_key *key, const __u32 *hash_key, struct axdp_flow *copy)
{
	bool v4 = axdp_flow_key_is_v4(key);
	struct bpf_map *map = bpf_object__find_map_by_name(t->dp.obj, v4 ? AXDP_MAP_FLOW_CACHE4 : AXDP_MAP_FLOW_CACHE6);
	__u32 idx = (__u32)dpt_flow_copy_slot(key, hash_key);
	union {
		struct axdp_flow_copy4 v4;
		struct axdp_flow_copy6 v6;
	} slot;
	struct axdp_flow4_key k4 = axdp_flow4_key_of(key);

	if (!map || bpf_map_lookup_elem(bpf_map__fd(map), &idx, &slot))
		return map ? -errno : -ENOENT;
	if (!slot.v4.copy.check || (v4 ? memcmp(&slot.v4.key, &k4, sizeof(k4)) : memcmp(&slot.v6.key, key, sizeof(*key))))
		return 0;
	*copy = slot.v4.copy.flow;
	return 1;
}

/* A table of copies (bpf/flows.h, bpf/state.h), through a mapping: too many slots for a syscall each. */
static int clear_table(struct dpt *t, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(t->dp.obj, name);
	size_t size;
	void *slots;

	if (!map)
		return -ENOENT;
	size = (size_t)bpf_map__value_size(map) * bpf_map__max_entries(map);
	slots = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
	if (slots == MAP_FAILED)
		return -errno;
	memset(slots, 0, size);
	munmap(slots, size);
	return 0;
}

/*
 * The data path's copies of conntrack entries (bpf/flows.h) follow only
 * what egress writes: a test that rewrites an entry, to age it, clears
 * them, and the next lookup reads the entry it wrote.
 */
int dpt_flow_put(struct dpt *t, const struct axdp_flow_key *key, const struct axdp_flow *flow)
{
	int rc;

	if (axdp_conntrack_update(&t->conntrack, key, flow, BPF_ANY))
		return -errno;
	if ((rc = clear_table(t, AXDP_MAP_FLOW_CACHE4)) || (rc = clear_table(t, AXDP_MAP_FLOW_CACHE6)))
		return rc;
	return 0;
}

static long count_entries(int fd, size_t key_size)
{
	uint8_t key[key_size], next[key_size];
	long n = 0;
	int rc;

	for (rc = bpf_map_get_next_key(fd, NULL, next); rc == 0; rc = bpf_map_get_next_key(fd, key, next)) {
		memcpy(key, next, key_size);
		n++;
	}
	return errno == ENOENT ? n : -errno;
}

long dpt_flow_count(struct dpt *t)
{
	long n = axdp_conntrack_count(&t->conntrack);

	return n < 0 ? -errno : n;
}

int dpt_frags_forget(struct dpt *t)
{
	const int tables[] = { t->fragments, t->fragments4 };
	struct axdp_frag_key key; /* the larger of the two families' keys */

	for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
		while (bpf_map_get_next_key(tables[i], NULL, &key) == 0)
			if (bpf_map_delete_elem(tables[i], &key))
				return -errno;
	return clear_table(t, AXDP_MAP_FRAG_CACHE6);
}

long dpt_frag_count(struct dpt *t)
{
	long v6 = count_entries(t->fragments, sizeof(struct axdp_frag_key));
	long v4 = count_entries(t->fragments4, sizeof(struct axdp_frag4_key));

	return v6 < 0 ? v6 : v4 < 0 ? v4 : v6 + v4;
}
