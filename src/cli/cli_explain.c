// SPDX-License-Identifier: MIT
/*
 * axdp explain: the verdict the firewall gives one packet, and why.
 *
 * The packet runs through the data path itself (BPF_PROG_TEST_RUN), not
 * through a model of it: a private copy of the XDP program in force,
 * loaded with that program's knobs (read back from its .rodata, rate-limit
 * hash key included) and checked to be the same code by its tag.  What
 * the copy may change is its own, by construction: it shares with the
 * firewall only the maps ingress only reads (shared_maps below); every
 * other map (counters, rate buckets, fragments, the clock cache, the
 * event sampler and ring) is a fresh map of the same shape, so no counter
 * of a real interface moves, no bucket is spent, no fragment is admitted
 * and no event is logged.  Ingress never writes conntrack.  The bucket of
 * the packet's source is copied in first, so a rate limit judges as it
 * would now.  What decided is then looked up in the live maps from here.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "cli_dropin.h"
#include "counters.h"
#include "nft_backend.h"
#include "policy.h"
#include "parse_number.h"
#include "xdp_copy.h"
#include "util.h"

/* ---- the command line ---- */

enum { OPT_FLAGS = CLI_OPT_FIRST_LOCAL, OPT_INTERFACE, OPT_TYPE, OPT_ID };

struct probe {
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP (ICMPV6 for IPv6 addresses) */
	bool ipv6;
	struct axdp_addr src, dst;
	uint16_t sport, dport; /* host order; ICMP: 0 */
	uint8_t flags;         /* TCP */
	char flags_text[8];
	bool echo_reply; /* ICMP */
	uint16_t echo_id;
	const char *iface;
};

static const char tcp_flag_letters[] = "FSRPAU"; /* bit i is letter i: FIN SYN RST PSH ACK URG (enum axdp_tcp_flag) */

static int on_opt(struct cli *c, int id, const char *arg, void *st)
{
	struct probe *p = st;
	unsigned long n;

	switch (id) {
	case OPT_FLAGS:
		p->flags = 0;
		for (const char *f = arg; *f; f++) {
			const char *bit = strchr(tcp_flag_letters, *f);

			if (!bit)
				return cli_usage(c, "--flags %s: '%c' is none of S A F R P U", arg, *f);
			p->flags |= 1u << (bit - tcp_flag_letters);
		}
		snprintf(p->flags_text, sizeof(p->flags_text), "%s", *arg ? arg : "none");
		return CLI_OK;
	case OPT_INTERFACE: p->iface = arg; return CLI_OK;
	case OPT_TYPE:
		if (strcmp(arg, "echo-request") && strcmp(arg, "echo-reply"))
			return cli_usage(c, "--type %s: expected echo-request or echo-reply", arg);
		p->echo_reply = !strcmp(arg, "echo-reply");
		return CLI_OK;
	case OPT_ID:
		if (cli_parse_count(c, "--id", arg, &n) != CLI_OK)
			return CLI_USAGE;
		if (n > 65535)
			return cli_usage(c, "--id %s: an echo identifier is 0 to 65535", arg);
		p->echo_id = (uint16_t)n;
		return CLI_OK;
	}
	return CLI_USAGE;
}

/* ADDR, ADDR:PORT, [ADDR6]:PORT or ADDR6; *port stays 0 without one.  0, or -1. */
static int parse_end(const char *text, struct axdp_addr *a, bool *ipv6, unsigned *port)
{
	char buf[INET6_ADDRSTRLEN + 8], *colon, *host = buf;
	uint64_t n;

	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	*port = 0;
	colon = strrchr(buf, ':');
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -1;
		*close = '\0';
		host = buf + 1;
		colon = close[1] ? close + 1 : NULL;
	} else if (colon && strchr(buf, ':') != colon) {
		colon = NULL; /* an IPv6 address without a port */
	}
	if (colon) {
		*colon = '\0';
		if (axdp_parse_uint(colon + 1, strlen(colon + 1), AXDP_PORTS - 1, &n) || n < 1)
			return -1;
		*port = (unsigned)n;
	}
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, host, &a->w[3]) == 1) {
		axdp_addr_from_v4(a, a->w[3]);
		*ipv6 = false;
		return 0;
	}
	*ipv6 = true;
	return inet_pton(AF_INET6, host, a) == 1 ? 0 : -1;
}

static int parse_probe(struct cli *c, char **pos, int npos, struct probe *p)
{
	unsigned sport, dport;
	bool v6_src, v6_dst;

	if (npos != 3)
		return cli_usage(c, npos < 3 ? "expected PROTOCOL SRC[:PORT] DST[:PORT]" : "unexpected argument '%s'",
				 npos > 3 ? pos[3] : "");
	if (!strcmp(pos[0], "tcp"))
		p->proto = IPPROTO_TCP;
	else if (!strcmp(pos[0], "udp"))
		p->proto = IPPROTO_UDP;
	else if (!strcmp(pos[0], "icmp"))
		p->proto = IPPROTO_ICMP;
	else
		return cli_usage(c, "protocol '%s': expected tcp, udp or icmp", pos[0]);
	if (parse_end(pos[1], &p->src, &v6_src, &sport))
		return cli_usage(c, "source '%s': expected ADDRESS, ADDRESS:PORT or [IPV6]:PORT", pos[1]);
	if (parse_end(pos[2], &p->dst, &v6_dst, &dport))
		return cli_usage(c, "destination '%s': expected ADDRESS, ADDRESS:PORT or [IPV6]:PORT", pos[2]);
	if (v6_src != v6_dst)
		return cli_usage(c, "source %s and destination %s are of different families", pos[1], pos[2]);
	p->ipv6 = v6_src;
	if (p->proto == IPPROTO_ICMP) {
		if (sport || dport)
			return cli_usage(c, "icmp has no ports (the echo identifier is --id)");
		if (p->ipv6)
			p->proto = IPPROTO_ICMPV6;
		return CLI_OK;
	}
	if (!dport)
		return cli_usage(c, "%s needs a destination port: DST:PORT, or [IPV6]:PORT", pos[0]);
	p->sport = (uint16_t)(sport ? sport : 40000);
	p->dport = (uint16_t)dport;
	return CLI_OK;
}

/* ---- the packet ---- */

#define FRAME_MAX 128

static uint16_t ip_checksum(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Ethernet, IPv4 or IPv6, then the transport header; checksums that the stack would check are right. */
static size_t build_frame(const struct probe *p, uint8_t *f)
{
	size_t l3 = 14, l4len = p->proto == IPPROTO_TCP ? 20 : 8, l4;
	uint8_t *t;

	memset(f, 0, FRAME_MAX);
	memcpy(f, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	if (p->ipv6) {
		f[12] = 0x86, f[13] = 0xdd;
		f[l3] = 0x60;
		f[l3 + 4] = 0, f[l3 + 5] = (uint8_t)l4len;
		f[l3 + 6] = p->proto;
		f[l3 + 7] = 64;
		memcpy(f + l3 + 8, &p->src, 16);
		memcpy(f + l3 + 24, &p->dst, 16);
		l4 = l3 + 40;
	} else {
		uint16_t csum;

		f[12] = 0x08, f[13] = 0x00;
		f[l3] = 0x45;
		f[l3 + 3] = (uint8_t)(20 + l4len);
		f[l3 + 5] = 1;    /* id */
		f[l3 + 6] = 0x40; /* DF */
		f[l3 + 8] = 64;
		f[l3 + 9] = p->proto;
		memcpy(f + l3 + 12, &p->src.w[3], 4);
		memcpy(f + l3 + 16, &p->dst.w[3], 4);
		csum = ip_checksum(f + l3, 20);
		memcpy(f + l3 + 10, &csum, 2);
		l4 = l3 + 20;
	}
	t = f + l4;
	switch (p->proto) {
	case IPPROTO_TCP:
		t[0] = p->sport >> 8, t[1] = (uint8_t)p->sport, t[2] = p->dport >> 8, t[3] = (uint8_t)p->dport;
		t[7] = 1;                                /* seq */
		t[11] = p->flags & AXDP_TCP_ACK ? 1 : 0; /* ack number */
		t[12] = 5 << 4;
		t[13] = p->flags;
		t[14] = 0xfa, t[15] = 0xf0; /* window */
		break;
	case IPPROTO_UDP:
		t[0] = p->sport >> 8, t[1] = (uint8_t)p->sport, t[2] = p->dport >> 8, t[3] = (uint8_t)p->dport;
		t[5] = 8;
		break;
	default: {
		uint16_t csum;

		t[0] = p->ipv6 ? (p->echo_reply ? 129 : 128) : (p->echo_reply ? 0 : 8);
		t[4] = p->echo_id >> 8, t[5] = (uint8_t)p->echo_id;
		t[7] = 1; /* sequence */
		csum = p->ipv6 ? 0 : ip_checksum(t, 8);
		memcpy(t + 2, &csum, 2);
	}
	}
	return l4 + l4len;
}

/* ---- the program in force and its maps ---- */

/* Read only by ingress: the copy judges with the firewall's own state.  Every other map is private. */
static const char *const shared_maps[] = {
	AXDP_MAP_PORT_ALLOW,   AXDP_MAP_ADDR_ALLOW,  AXDP_MAP_CONNTRACK,  AXDP_MAP_CONNTRACK4, AXDP_MAP_FLOW_PORTS,
	AXDP_MAP_EGRESS_CLOCK, AXDP_MAP_POLICY,      AXDP_MAP_DENY_0,     AXDP_MAP_DENY_1,     AXDP_MAP_DENY_STATE,
	AXDP_MAP_DENY_EXACT4,  AXDP_MAP_DENY_EXACT6, AXDP_MAP_DENY_CLEAR, AXDP_MAP_TRUST,      AXDP_MAP_LOCAL_ADDRS,
	AXDP_MAP_IFACE_SLOTS,  AXDP_MAP_BANS,
};

#define MAX_MAPS 64

struct live {
	int prog_fd;
	struct bpf_prog_info prog;
	int n;
	struct live_map {
		int fd;      /* the firewall's */
		int copy_fd; /* the private copy's, or -1 */
		struct bpf_map_info info;
	} m[MAX_MAPS];
	struct axdp_knobs knobs;
};

/* Kernel map names are cut to BPF_OBJ_NAME_LEN - 1 characters. */
static struct live_map *live_map(struct live *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (!strncmp(l->m[i].info.name, name, BPF_OBJ_NAME_LEN - 1) &&
		    strlen(l->m[i].info.name) == strnlen(name, BPF_OBJ_NAME_LEN - 1))
			return &l->m[i];
	return NULL;
}

static bool shared(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(shared_maps); i++)
		if (!strcmp(name, shared_maps[i]))
			return true;
	return false;
}

static int map_source(void *ctx, const char *name)
{
	struct live_map *m = live_map(ctx, name);
	LIBBPF_OPTS(bpf_map_create_opts, opts);

	if (!m)
		return -1;
	if (shared(name))
		return m->fd;
	if (m->copy_fd < 0) {
		opts.map_flags = m->info.map_flags;
		m->copy_fd = bpf_map_create(m->info.type, NULL, m->info.key_size, m->info.value_size,
					    m->info.max_entries, &opts);
	}
	return m->copy_fd;
}

static void live_close(struct live *l)
{
	for (int i = 0; i < l->n; i++) {
		close(l->m[i].fd);
		if (l->m[i].copy_fd >= 0)
			close(l->m[i].copy_fd);
	}
	if (l->prog_fd >= 0)
		close(l->prog_fd);
	l->n = 0;
	l->prog_fd = -1;
}

/*
 * Why no XDP program can judge the packet.  nftables has no way to run one
 * packet through a table on request, so interfaces it protects have
 * nothing explain could run (autoxdpd(8), NFTABLES BACKEND).
 */
static int no_program(struct cli *c, const struct probe *p)
{
	char names[AXDP_MAX_IFACES][IF_NAMESIZE], err[256];
	int n = axdp_nft_available(err, sizeof(err)) ? 0
						     : axdp_nft_interfaces(names, AXDP_MAX_IFACES, err, sizeof(err));

	for (int i = 0; i < n; i++)
		if (!p->iface || !strcmp(names[i], p->iface))
			return cli_error(
				c, CLI_INACTIVE,
				"no XDP program runs on %s: nftables protects it, and explain judges packets with "
				"the XDP program only; 'nft list table inet autoxdp' shows the rules and counters",
				names[i]);
	return p->iface ? cli_error(c, CLI_INACTIVE, "no XDP program protects %s: 'axdp status' lists the interfaces",
				    p->iface)
			: cli_error(c, CLI_INACTIVE, "no XDP program runs (nothing attached under %s): start autoxdpd",
				    c->pin_dir);
}

static int live_open(struct cli *c, const struct probe *p, struct live *l, char *ifname, size_t len)
{
	__u32 id = cli_xdp_prog_id(c, p->iface, ifname, len), ids[MAX_MAPS], n;
	struct live_map *rodata = NULL;
	__u32 info_len = sizeof(l->prog);
	char err[512];

	if (!id)
		return no_program(c, p);
	l->prog_fd = bpf_prog_get_fd_by_id(id);
	if (l->prog_fd < 0 || bpf_obj_get_info_by_fd(l->prog_fd, &l->prog, &info_len))
		return cli_error(c, CLI_FAIL, "reading XDP program id %u: %s", id, strerror(errno));
	n = l->prog.nr_map_ids < MAX_MAPS ? l->prog.nr_map_ids : MAX_MAPS;
	l->prog = (struct bpf_prog_info){ .nr_map_ids = n, .map_ids = (__u64)(unsigned long)ids };
	info_len = sizeof(l->prog);
	if (bpf_obj_get_info_by_fd(l->prog_fd, &l->prog, &info_len))
		return cli_error(c, CLI_FAIL, "reading the maps of XDP program id %u: %s", id, strerror(errno));
	for (__u32 i = 0; i < n; i++) {
		struct live_map *m = &l->m[l->n];
		__u32 mlen = sizeof(m->info);

		m->copy_fd = -1;
		m->fd = bpf_map_get_fd_by_id(ids[i]);
		if (m->fd < 0 || bpf_obj_get_info_by_fd(m->fd, &m->info, &mlen))
			return cli_error(c, CLI_FAIL, "reading map id %u of XDP program id %u: %s", ids[i], id,
					 strerror(errno));
		l->n++;
		if (strstr(m->info.name, ".rodata"))
			rodata = m;
	}
	if (!rodata)
		return cli_error(c, CLI_FAIL, "XDP program id %u has no .rodata: not autoxdp's", id);
	if (cli_knobs_from_rodata(rodata->fd, &rodata->info, &l->knobs, err, sizeof(err)))
		return cli_error(c, CLI_FAIL, "%s", err);
	return CLI_OK;
}

/* ---- the private run ---- */

static const struct axdp_rate *syn_rate(const struct axdp_knobs *k, uint32_t tier)
{
	return tier < AXDP_TIER_UNLIMITED ? &k->syn[tier] : NULL;
}

/* The source as the rate limits see it: masked by the knobs' source prefix. */
static struct axdp_addr masked_source(const struct probe *p, const struct axdp_knobs *k)
{
	const struct axdp_addr *mask = p->ipv6 ? &k->source_mask_v6 : &k->source_mask_v4;
	struct axdp_addr a;

	for (int i = 0; i < 4; i++)
		a.w[i] = p->src.w[i] & mask->w[i];
	return a;
}

/* One entry of a map of the firewall into the same key of its private copy. */
static void copy_entry(struct live *l, const char *name, const void *key)
{
	struct live_map *m = live_map(l, name);
	int ncpu = libbpf_num_possible_cpus();
	size_t value_len;
	void *v;

	if (!m || m->copy_fd < 0 || ncpu <= 0)
		return;
	value_len = m->info.value_size;
	/* Per-CPU maps: one value per possible CPU, each rounded up to 8 bytes. */
	if (m->info.type == BPF_MAP_TYPE_PERCPU_ARRAY || m->info.type == BPF_MAP_TYPE_PERCPU_HASH)
		value_len = (value_len + 7) / 8 * 8 * (size_t)ncpu;
	if (!(v = calloc(1, value_len)))
		return;
	if (bpf_map_lookup_elem(m->fd, key, v) == 0)
		bpf_map_update_elem(m->copy_fd, key, v, BPF_ANY);
	free(v);
}

/* The buckets this packet draws on, as they are now: the verdict on a rate limit is the real one. */
static void copy_buckets(struct live *l, const struct probe *p)
{
	struct live_map *rs = live_map(l, AXDP_MAP_RATE_SETS);
	__u32 zero = 0, port = p->dport;

	if (rs && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		struct axdp_addr src = masked_source(p, &l->knobs);
		__u32 idx = axdp_rate_set(&src,
					  (__u32)p->dport << 8 | (p->proto == IPPROTO_TCP ? AXDP_L4_TCP : AXDP_L4_UDP),
					  l->knobs.hash_key);

		if (idx < rs->info.max_entries)
			copy_entry(l, AXDP_MAP_RATE_SETS, &idx);
	}
	copy_entry(l, "udp_port_buckets", &port);
	copy_entry(l, "echo_buckets", &zero);
}

struct outcome {
	int retval; /* XDP_PASS or XDP_DROP */
	int reason; /* enum axdp_reason, -1 if none counted */
};

/* libbpf's warnings, which say why a load failed; not its notes on a load that works. */
static int libbpf_warnings(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int run_copy(struct cli *c, struct live *l, const struct probe *p, struct outcome *o)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	struct axdp_counter counted[AXDP_REASON_COUNT];
	struct axdp_xdp_copy copy;
	uint8_t frame[FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .repeat = 1);
	struct live_map *counters;
	char err[1024];
	int rc = CLI_FAIL;

	cli_load_config(c);
	libbpf_set_print(libbpf_warnings);
	if (axdp_xdp_copy_load(&copy, c->cfg.bpf_object, &l->knobs, map_source, l, err, sizeof(err)))
		return cli_error(c, CLI_FAIL, "%s (BpfObject=%s)", err, c->cfg.bpf_object);
	if (bpf_obj_get_info_by_fd(copy.prog_fd, &info, &info_len) == 0 &&
	    memcmp(info.tag, l->prog.tag, sizeof(info.tag))) {
		rc = cli_error(
			c, CLI_FAIL,
			"BpfObject=%s is not the object the XDP program in force was loaded from (its "
			"code differs): 'systemctl restart autoxdp' loads it, or point BpfObject= at the running one",
			c->cfg.bpf_object);
		goto out;
	}
	copy_buckets(l, p);
	run.data_size_in = (__u32)build_frame(p, frame);
	if (bpf_prog_test_run_opts(copy.prog_fd, &run)) {
		rc = cli_error(c, CLI_FAIL, "running the packet through the program (BPF_PROG_TEST_RUN): %s",
			       strerror(errno));
		goto out;
	}
	o->retval = (int)run.retval;
	o->reason = -1;
	counters = live_map(l, AXDP_MAP_COUNTERS);
	if (!counters || counters->copy_fd < 0 || axdp_counters_read(counters->copy_fd, AXDP_ALL_SLOTS, counted)) {
		rc = cli_error(c, CLI_FAIL, "reading the private counters: %s", strerror(errno));
		goto out;
	}
	for (int r = 0; r < AXDP_REASON_COUNT; r++)
		if (counted[r].packets)
			o->reason = r;
	rc = o->reason < 0 ? cli_error(c, CLI_FAIL, "the program counted no reason for the packet") : CLI_OK;
out:
	axdp_xdp_copy_close(&copy);
	return rc;
}

/* ---- what decided, from the live maps ---- */

struct why {
	struct cli_ports ports;
	const struct cli_port *port; /* the packet's destination port, if open */
	struct axdp_port_slot slot;
	bool have_slot;
	char deny[64], trust[64]; /* the matching entries, "" for none */
	bool local_source;
	bool have_bucket;
	uint64_t available; /* new connections the source's bucket allows now */
	bool have_flow;
	struct axdp_flow flow;
	double flow_age_s;
	bool flow_expired;
};

/*
 * The entry of an LPM trie the data path matched: its longest prefix
 * covering addr.  A lookup says only whether one covers; whether one of
 * exactly length p exists, next-key says (see cli_policy.c's lpm_has).
 */
static bool lpm_match(int fd, const struct axdp_addr *addr, bool ipv4, char *buf, size_t len)
{
	struct axdp_lpm_key key = { .prefixlen = 128, .addr = *addr }, first, next;
	__u8 family;

	if (fd < 0 || bpf_map_lookup_elem(fd, &key, &family) || (family == AXDP_LPM_IPV6 && ipv4))
		return false;
	if (bpf_map_get_next_key(fd, NULL, &first))
		return false;
	for (int p = 128; p >= 0; p--) {
		struct axdp_cidr cidr = { .prefix = (uint8_t)p };

		memcpy(cidr.addr, addr, sizeof(cidr.addr));
		axdp_cidr_clear_host_bits(&cidr);
		key.prefixlen = (__u32)p;
		memcpy(&key.addr, cidr.addr, sizeof(key.addr));
		/* Present: its successor, or ENOENT for the last; absent: the first key. */
		if (bpf_map_get_next_key(fd, &key, &next) ? errno != ENOENT : !memcmp(&next, &first, sizeof(next)))
			continue;
		axdp_cidr_format(buf, len, &cidr);
		return true;
	}
	return false;
}

static uint64_t coarse_now_ns(void)
{
	return cli_now_ns(CLOCK_MONOTONIC_COARSE);
}

static void find_why(struct cli *c, struct live *l, const struct probe *p, struct why *w)
{
	int l4 = p->proto == IPPROTO_TCP ? AXDP_L4_TCP : AXDP_L4_UDP;
	bool ports = p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP;
	int fd, deny[2] = { cli_try_map(c, AXDP_MAP_DENY_0), cli_try_map(c, AXDP_MAP_DENY_1) };
	int exact[2] = { cli_try_map(c, AXDP_MAP_DENY_EXACT4), cli_try_map(c, AXDP_MAP_DENY_EXACT6) }, prefixlen;
	struct axdp_conntrack ct;
	struct axdp_policy pol = {};
	__u32 zero = 0;

	if ((fd = cli_try_map(c, AXDP_MAP_POLICY)) >= 0) {
		bpf_map_lookup_elem(fd, &zero, &pol);
		close(fd);
	}
	/* Single addresses (and IPv4 /25../31) are in the exact sets, which name the entry; the rest in the trie. */
	if (exact[0] >= 0 && exact[1] >= 0 &&
	    (prefixlen = axdp_deny_exact_entry(exact, pol.deny_generation & 1, &p->src)) > 0) {
		struct axdp_cidr cidr = { .prefix = (uint8_t)prefixlen };

		memcpy(cidr.addr, &p->src, 16);
		axdp_cidr_clear_host_bits(&cidr);
		axdp_cidr_format(w->deny, sizeof(w->deny), &cidr);
	} else {
		lpm_match(deny[pol.deny_generation & 1], &p->src, !p->ipv6, w->deny, sizeof(w->deny));
	}
	for (int i = 0; i < 2; i++) {
		if (deny[i] >= 0)
			close(deny[i]);
		if (exact[i] >= 0)
			close(exact[i]);
	}
	/* A runtime ban denies as a deny entry does (axdp block add --for). */
	if (!w->deny[0] && (fd = cli_try_map(c, AXDP_MAP_BANS)) >= 0) {
		lpm_match(fd, &p->src, !p->ipv6, w->deny, sizeof(w->deny));
		if (w->deny[0])
			snprintf(w->deny + strlen(w->deny), sizeof(w->deny) - strlen(w->deny), " (runtime ban)");
		close(fd);
	}
	if ((fd = cli_try_map(c, AXDP_MAP_TRUST)) >= 0) {
		lpm_match(fd, &p->src, !p->ipv6, w->trust, sizeof(w->trust));
		close(fd);
	}
	if ((fd = cli_try_map(c, AXDP_MAP_LOCAL_ADDRS)) >= 0) {
		__u8 v;

		w->local_source = bpf_map_lookup_elem(fd, &p->src, &v) == 0;
		close(fd);
	}
	if (ports && (fd = cli_try_map(c, AXDP_MAP_PORT_ALLOW)) >= 0) {
		__u32 idx = (__u32)l4 * AXDP_PORTS + p->dport;

		w->have_slot = bpf_map_lookup_elem(fd, &idx, &w->slot) == 0;
		close(fd);
	}
	if (ports && cli_ports_collect(c, &w->ports) == CLI_OK)
		w->port = cli_ports_find(&w->ports, l4, p->dport);
	if (p->proto == IPPROTO_TCP && w->port && w->have_slot && syn_rate(&l->knobs, w->slot.tier) &&
	    syn_rate(&l->knobs, w->slot.tier)->interval_ns) {
		const struct axdp_rate *r = syn_rate(&l->knobs, w->slot.tier);
		struct live_map *rs = live_map(l, AXDP_MAP_RATE_SETS);
		struct axdp_addr src = masked_source(p, &l->knobs);
		__u32 port_l4 = (__u32)p->dport << 8 | AXDP_L4_TCP,
		      idx = axdp_rate_set(&src, port_l4, l->knobs.hash_key);
		struct {
			struct axdp_addr source;
			__u32 port_l4, pad;
			__u64 tat;
		} set[2];
		uint64_t now = coarse_now_ns(), burst = r->tolerance_ns / r->interval_ns + 1;

		w->have_bucket = true;
		w->available = burst;
		if (rs && rs->info.value_size == sizeof(set) && bpf_map_lookup_elem(rs->fd, &idx, set) == 0)
			for (int i = 0; i < 2; i++)
				if (set[i].port_l4 == port_l4 && !memcmp(&set[i].source, &src, sizeof(src)) &&
				    set[i].tat > now)
					w->available =
						set[i].tat - now > r->tolerance_ns
							? 0
							: (r->tolerance_ns - (set[i].tat - now)) / r->interval_ns + 1;
	}
	ct = (struct axdp_conntrack){ cli_try_map(c, AXDP_MAP_CONNTRACK), cli_try_map(c, AXDP_MAP_CONNTRACK4) };
	if (axdp_conntrack_open(&ct)) {
		struct axdp_flow_key key = { .remote = p->src, .local = p->dst, .proto = p->proto };
		uint64_t timeout;

		key.remote_port = htons(p->sport);
		key.local_port = htons(ports ? p->dport : p->echo_id);
		w->have_flow = axdp_conntrack_lookup(&ct, &key, &w->flow) == 0;
		if (w->have_flow) {
			timeout = p->proto == IPPROTO_TCP
					  ? (w->flow.flags & AXDP_FLOW_CLOSING ? l->knobs.tcp_closing_timeout_ns
									       : l->knobs.tcp_timeout_ns)
				  : p->proto == IPPROTO_UDP ? l->knobs.udp_timeout_ns
							    : l->knobs.icmp_timeout_ns;
			w->flow_age_s = (double)((int64_t)(coarse_now_ns() - w->flow.last_seen_ns)) / 1e9;
			w->flow_expired = w->flow_age_s * 1e9 >= (double)timeout;
		}
	}
	axdp_conntrack_close(&ct);
}

/* ---- output ---- */

static const char *const tier_names[AXDP_TIER_COUNT] = { "normal", "strict", "unlimited" };

static const char *verdict_of(const struct outcome *o)
{
	if (o->retval == XDP_PASS)
		return AXDP_REASON_DROPS(o->reason) ? "would_drop" : "pass";
	return "drop";
}

/* One sentence on what the reason means for this packet. */
static const char *because(const struct probe *p, const struct outcome *o, const struct why *w)
{
	switch (o->reason) {
	case AXDP_DROP_DENIED: return "the source is on the deny list";
	case AXDP_DROP_MARTIAN:
		return w->local_source
			       ? "the source is one of this host's own addresses, arriving from outside"
			       : "the source can never be legitimate on this link (loopback, multicast, this-network, ...)";
	case AXDP_PASS_TRUSTED: return "the source is trusted, and TrustOpensAllTCP= opens every TCP port to it";
	case AXDP_PASS_TCP_PORT:
	case AXDP_PASS_UDP_PORT: return "the destination port is open";
	case AXDP_PASS_TCP_FLOW:
	case AXDP_PASS_UDP_FLOW:
	case AXDP_PASS_ICMP_FLOW: return "it belongs to a connection this host opened";
	case AXDP_DROP_TCP_CLOSED:
		return p->flags == AXDP_TCP_SYN
			       ? "nothing listens on the port, and a SYN never belongs to a connection this host opened"
			       : "nothing listens on the port, and no connection this host opened matches";
	case AXDP_DROP_UDP_CLOSED: return "nothing listens on the port, and no flow this host opened matches";
	case AXDP_DROP_SYN_RATE: return "the source used up its burst of new connections to this port";
	case AXDP_DROP_UDP_RATE: return "the source used up its UDP rate to this port";
	case AXDP_DROP_UDP_BUDGET: return "the port's UDP budget is spent";
	case AXDP_DROP_ICMP_RATE: return "the echo request rate is spent";
	case AXDP_PASS_ICMP_ECHO: return "echo requests pass";
	case AXDP_DROP_ICMP_OTHER:
		return "an echo reply without a request from this host, or an ICMP type that never passes";
	case AXDP_DROP_TCP_MALFORMED: return "the TCP header is impossible (flag combination, ports or length)";
	case AXDP_DROP_UDP_MALFORMED: return "the UDP header is impossible";
	}
	return "";
}

static void print_human(struct cli *c, const struct probe *p, const char *ifname, const struct live *l,
			const struct outcome *o, const struct why *w)
{
	const char *verdict = verdict_of(o);
	char src[64], dst[64];
	enum cli_color colour = !strcmp(verdict, "pass") ? CLI_GREEN : !strcmp(verdict, "drop") ? CLI_RED : CLI_YELLOW;

	cli_addr_port(src, sizeof(src), &p->src, p->sport);
	cli_addr_port(dst, sizeof(dst), &p->dst, p->dport);
	printf("packet      %s %s -> %s", cli_proto_name(p->proto), src, dst);
	if (p->proto == IPPROTO_TCP)
		printf(" flags %s", p->flags_text);
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
		printf(" echo %s id %u", p->echo_reply ? "reply" : "request", p->echo_id);
	printf(", as received on %s\n", ifname);
	printf("verdict     %s%s%s (%s)%s\n", cli_c(c, colour), !strcmp(verdict, "would_drop") ? "would drop" : verdict,
	       cli_c(c, CLI_RESET), axdp_reason_labels[o->reason].name,
	       l->knobs.audit ? "; Mode=audit: nothing is dropped" : "");
	if (*because(p, o, w))
		printf("because     %s\n", because(p, o, w));
	if (w->deny[0])
		printf("deny        %s (the deny list's entry)\n", w->deny);
	if (w->trust[0])
		printf("trust       %s (TrustCIDR=)\n", w->trust);
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		if (w->port) {
			printf("port        %s/%u open on %s, tier %s\n%12s", axdp_l4_names[w->port->l4], p->dport,
			       w->port->flags & AXDP_PORT_OPEN_ANY ? "any address" : "bound addresses only",
			       w->have_slot && w->slot.tier < AXDP_TIER_COUNT ? tier_names[w->slot.tier] : "?", "");
			cli_port_detail(c, w->port);
		} else {
			printf("port        %s/%u closed%s\n", cli_proto_name(p->proto), p->dport,
			       w->have_slot && w->slot.flags & AXDP_PORT_OPEN_ADDR ? " on this destination address"
										   : "");
		}
	}
	if (w->have_bucket)
		printf("rate        %" PRIu64 " new connection%s left in the burst of this source now\n", w->available,
		       w->available == 1 ? "" : "s");
	if (w->have_flow)
		printf("conntrack   entry, last sent %.1f s ago%s%s\n", w->flow_age_s,
		       w->flow.flags & AXDP_FLOW_CLOSING ? ", closing" : "", w->flow_expired ? ", expired" : "");
	else if (p->proto != IPPROTO_ICMP || p->echo_reply)
		printf("conntrack   no entry for this flow\n");
}

static void print_json(const struct probe *p, const char *ifname, const struct live *l, const struct outcome *o,
		       const struct why *w)
{
	char src[64], dst[64];
	struct json j;

	axdp_addr_format(src, sizeof(src), &p->src);
	axdp_addr_format(dst, sizeof(dst), &p->dst);
	json_start(&j, stdout);
	json_obj(&j, NULL);
	json_str(&j, "interface", ifname);
	json_str(&j, "mode", cli_mode_name(l->knobs.audit));
	json_obj(&j, "packet");
	json_str(&j, "protocol", cli_proto_name(p->proto));
	json_str(&j, "source", src);
	json_u64(&j, "source_port", p->sport);
	json_str(&j, "destination", dst);
	json_u64(&j, "destination_port", p->dport);
	json_str(&j, "flags", p->proto == IPPROTO_TCP ? p->flags_text : NULL);
	json_obj_end(&j);
	json_str(&j, "verdict", verdict_of(o));
	json_str(&j, "action", axdp_reason_labels[o->reason].action);
	json_str(&j, "reason", axdp_reason_labels[o->reason].name);
	json_str(&j, "deny", w->deny[0] ? w->deny : NULL);
	json_str(&j, "trust", w->trust[0] ? w->trust : NULL);
	json_bool(&j, "local_source", w->local_source);
	if (w->port) {
		cli_port_json(&j, "port", w->port);
	} else {
		json_null(&j, "port");
	}
	json_str(&j, "tier",
		 w->port && w->have_slot && w->slot.tier < AXDP_TIER_COUNT ? tier_names[w->slot.tier] : NULL);
	if (w->have_bucket)
		json_u64(&j, "rate_available", w->available);
	else
		json_null(&j, "rate_available");
	if (w->have_flow) {
		json_obj(&j, "conntrack");
		json_num(&j, "age_s", w->flow_age_s);
		json_bool(&j, "closing", w->flow.flags & AXDP_FLOW_CLOSING);
		json_bool(&j, "expired", w->flow_expired);
		json_obj_end(&j);
	} else {
		json_null(&j, "conntrack");
	}
	json_obj_end(&j);
	json_end(&j);
}

static const struct cli_option explain_options[] = {
	{ "flags", "FLAGS", OPT_FLAGS, "TCP flags, letters of S A F R P U (default S)" },
	{ "type", "TYPE", OPT_TYPE, "ICMP: echo-request (default) or echo-reply" },
	{ "id", "N", OPT_ID, "ICMP: the echo identifier (default 0)" },
	{ "interface", "IFACE", OPT_INTERFACE, "as received on IFACE (default: the first protected interface)" },
	{ 0 },
};

static int cmd_explain(struct cli *c, int argc, char **argv)
{
	struct probe p = { .flags = AXDP_TCP_SYN, .flags_text = "S" };
	struct live l = { .prog_fd = -1 };
	struct outcome o = { .reason = -1 };
	struct why w = {};
	char **pos, ifname[IF_NAMESIZE + 8] = "";
	int npos, rc;

	if (cli_getopt(c, argc, argv, on_opt, &p, &pos, &npos, &rc))
		return rc;
	if ((rc = parse_probe(c, pos, npos, &p)) != CLI_OK)
		return rc;
	if (p.proto != IPPROTO_TCP && strcmp(p.flags_text, "S"))
		return cli_usage(c, "--flags is for tcp");
	if ((p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP) && (p.echo_reply || p.echo_id))
		return cli_usage(c, "--type and --id are for icmp");
	if (p.iface && !if_nametoindex(p.iface))
		return cli_usage(c, "--interface %s: no such interface", p.iface);
	cli_load_config(c);
	if ((rc = cli_require_privileges(c)) != CLI_OK)
		return rc;
	if ((rc = live_open(c, &p, &l, ifname, sizeof(ifname))) == CLI_OK && (rc = run_copy(c, &l, &p, &o)) == CLI_OK) {
		find_why(c, &l, &p, &w);
		if (c->json)
			print_json(&p, ifname, &l, &o, &w);
		else
			print_human(c, &p, ifname, &l, &o, &w);
	}
	cli_ports_free(&w.ports);
	live_close(&l);
	return rc;
}

const struct cli_command cli_command_explain = {
	.name = "explain",
	.run = cmd_explain,
	.synopsis = "explain tcp|udp|icmp SRC[:PORT] DST[:PORT] [--flags FLAGS] [--type TYPE] [--id N] "
		    "[--interface IFACE] [--json]",
	.summary = "the verdict the firewall gives a packet, and what decided it",
	.help = "Builds the packet, runs it through a private copy of the XDP program in force (its knobs, its\n"
		"allow-lists, deny and trust lists, conntrack), and prints the verdict, the reason and the entries\n"
		"that decided it: the open port and its listeners, the deny or trust entry, the rate tier and\n"
		"bucket, the conntrack entry.  Real traffic is not affected: see axdp(8).\n"
		"IPv6 addresses with a port are written [ADDR]:PORT; TCP and UDP need the destination port, the\n"
		"source port defaults to 40000.  Bad arguments: exit status 2.\n",
	.options = explain_options,
	.json = true,
};
