// SPDX-License-Identifier: MIT
/*
 * make bench: nanoseconds per packet of each verdict class of the XDP
 * program, through BPF_PROG_TEST_RUN, beside an empty XDP program run on
 * the same packet in the same round.  It reports and never judges a
 * time; it fails only if a class does not take the branch it is named
 * after, since timing the wrong branch would be worthless.
 *
 * usage: bench [repeat]   (default 1000000 runs per measurement)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "datapath.h"
#include "denylist.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ROUNDS 5
#define DEFAULT_REPEAT 1000000

enum {
	OPEN_TCP = 22,
	CLOSED_TCP = 23,
	OPEN_UDP = 53,
	CLOSED_UDP = 54,
	RATED_TCP = 2222,    /* normal tier: the SYN rate limit applies (OPEN_TCP is unlimited) */
	LPORT = 41000,
	RPORT = 443,
	FRAG_ID = 0x4242,
};

struct bench_class {
	const char *name;
	/* Puts the state the class needs in place (flows, fragments); 0 or -errno. */
	int (*prepare)(struct dpt *t);
	void (*build)(struct pkt *p);
	int reason;
	bool deny;           /* timed with DENY_ENTRIES live in the deny trie; the others with it empty */
	const char *plain;   /* the class this one adds a list or a limit to, for the "vs plain" column */
};

/*
 * A DROP list's worth of entries, /16 to /32, that never covers
 * PKT_REMOTE4 but covers DENIED4; NEAR4 shares DENIED4's /24, so its
 * packets cannot skip the trie.
 */
#define DENY_ENTRIES 100000
#define DENIED4 "198.18.0.66"
#define NEAR4 "198.18.0.67"

static void syn_closed_v4(struct pkt *p)
{
	pkt_tcp4(p, PKT_REMOTE4, PKT_LOCAL4, RPORT, CLOSED_TCP, PKT_TCP_SYN);
}

static void syn_closed_v6(struct pkt *p)
{
	pkt_tcp6(p, PKT_REMOTE6, PKT_LOCAL6, RPORT, CLOSED_TCP, PKT_TCP_SYN);
}

static void udp_closed(struct pkt *p)
{
	pkt_udp4(p, PKT_REMOTE4, PKT_LOCAL4, RPORT, CLOSED_UDP);
}

static void syn_open(struct pkt *p)
{
	pkt_tcp4(p, PKT_REMOTE4, PKT_LOCAL4, RPORT, OPEN_TCP, PKT_TCP_SYN);
}

static void syn_rated(struct pkt *p)
{
	pkt_tcp4(p, PKT_REMOTE4, PKT_LOCAL4, RPORT, RATED_TCP, PKT_TCP_SYN);
}

static void syn_denied(struct pkt *p)
{
	pkt_tcp4(p, DENIED4, PKT_LOCAL4, RPORT, OPEN_TCP, PKT_TCP_SYN);
}

static void syn_near_denied(struct pkt *p)
{
	pkt_tcp4(p, NEAR4, PKT_LOCAL4, RPORT, OPEN_TCP, PKT_TCP_SYN);
}

static void xmas_open(struct pkt *p)
{
	pkt_tcp4(p, PKT_REMOTE4, PKT_LOCAL4, RPORT, OPEN_TCP, PKT_TCP_FIN | PKT_TCP_PSH | PKT_TCP_URG);
}

static void echo_request(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p);
	pkt_ipv4(p, &(struct pkt_ipv4_opts){ 0 });
	pkt_icmp(p, 8, 0, 0x1234, 1);
	pkt_payload(p, NULL, 56);
}

/* The host's connection: its SYN left through tc, the peer's ACKs come back. */
static int flow_tcp(struct dpt *t)
{
	struct pkt p;

	pkt_tcp4(&p, PKT_LOCAL4, PKT_REMOTE4, LPORT, RPORT, PKT_TCP_SYN);
	return dpt_run(t, DPT_TC, &p).err;
}

static void established_ack(struct pkt *p)
{
	pkt_tcp4(p, PKT_REMOTE4, PKT_LOCAL4, RPORT, LPORT, PKT_TCP_ACK);
}

/* The same over IPv6, whose flows keep the 40-byte key in conntrack. */
static int flow_tcp6(struct dpt *t)
{
	struct pkt p;

	pkt_tcp6(&p, PKT_LOCAL6, PKT_REMOTE6, LPORT, RPORT, PKT_TCP_SYN);
	return dpt_run(t, DPT_TC, &p).err;
}

static void established_ack6(struct pkt *p)
{
	pkt_tcp6(p, PKT_REMOTE6, PKT_LOCAL6, RPORT, LPORT, PKT_TCP_ACK);
}

static int flow_udp(struct dpt *t)
{
	struct pkt p;

	pkt_udp4(&p, PKT_LOCAL4, PKT_REMOTE4, LPORT, 53);
	return dpt_run(t, DPT_TC, &p).err;
}

static void udp_reply(struct pkt *p)
{
	pkt_udp4(p, PKT_REMOTE4, PKT_LOCAL4, 53, LPORT);
}

/* A datagram to an open UDP port in two fragments; the families keep their fragments in separate maps. */
static void fragmented(struct pkt *whole, bool v6)
{
	if (v6)
		pkt_udp6(whole, PKT_REMOTE6, PKT_LOCAL6, RPORT, OPEN_UDP);
	else
		pkt_udp4(whole, PKT_REMOTE4, PKT_LOCAL4, RPORT, OPEN_UDP);
	pkt_payload(whole, NULL, 1200);
}

static int first_fragment_of(struct dpt *t, bool v6)
{
	struct pkt whole, p;

	fragmented(&whole, v6);
	pkt_fragment(&p, &whole, 0, 616, true, FRAG_ID);
	return dpt_run(t, DPT_XDP, &p).err;
}

static void later_fragment_of(struct pkt *p, bool v6)
{
	struct pkt whole;

	fragmented(&whole, v6);
	pkt_fragment(p, &whole, 616, pkt_fragmentable_len(&whole) - 616, false, FRAG_ID);
}

static int first_fragment_v4(struct dpt *t)
{
	return first_fragment_of(t, false);
}

static void later_fragment_v4(struct pkt *p)
{
	later_fragment_of(p, false);
}

static int first_fragment_v6(struct dpt *t)
{
	return first_fragment_of(t, true);
}

static void later_fragment_v6(struct pkt *p)
{
	later_fragment_of(p, true);
}

static struct bench_class classes[] = {
	{ "closed-port SYN v4", NULL, syn_closed_v4, AXDP_DROP_TCP_CLOSED, false, NULL },
	{ "closed-port SYN v6", NULL, syn_closed_v6, AXDP_DROP_TCP_CLOSED, false, NULL },
	{ "closed-port UDP", NULL, udp_closed, AXDP_DROP_UDP_CLOSED, false, NULL },
	{ "allowed SYN", NULL, syn_open, AXDP_PASS_TCP_PORT, false, NULL },
	{ "established-flow ACK", flow_tcp, established_ack, AXDP_PASS_TCP_FLOW, false, NULL },
	{ "established-flow ACK v6", flow_tcp6, established_ack6, AXDP_PASS_TCP_FLOW, false, NULL },
	{ "UDP reply", flow_udp, udp_reply, AXDP_PASS_UDP_FLOW, false, NULL },
	{ "malformed TCP (XMAS)", NULL, xmas_open, AXDP_DROP_TCP_MALFORMED, false, NULL },
	{ "ICMP echo request", NULL, echo_request, AXDP_PASS_ICMP_ECHO, false, NULL },
	{ "later fragment v4", first_fragment_v4, later_fragment_v4, AXDP_PASS_FRAGMENT, false, NULL },
	{ "later fragment v6", first_fragment_v6, later_fragment_v6, AXDP_PASS_FRAGMENT, false, NULL },
	{ "allowed SYN, rate limit", NULL, syn_rated, AXDP_PASS_TCP_PORT, false, "allowed SYN" },
	{ "closed SYN, 100k deny", NULL, syn_closed_v4, AXDP_DROP_TCP_CLOSED, true, "closed-port SYN v4" },
	{ "allowed SYN, 100k deny", NULL, syn_open, AXDP_PASS_TCP_PORT, true, "allowed SYN" },
	{ "near-listed SYN, 100k", NULL, syn_near_denied, AXDP_PASS_TCP_PORT, true, "allowed SYN" },
	{ "denied SYN, 100k deny", NULL, syn_denied, AXDP_DROP_DENIED, true, "allowed SYN" },
};

static const struct bench_class *class_named(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
		if (!strcmp(classes[i].name, name))
			return &classes[i];
	return NULL;
}

static struct axdp_policy_maps P = { .policy = -1, .deny = { -1, -1 }, .deny_clear = -1, .trust = -1, .local_addrs = -1,
				     .rcu_wait = -1, .rcu_inner = -1 };
static uint32_t deny_loaded;

/* Loads the entries through the daemon's own code, then leaves them idle until a class wants them. */
static int load_deny(struct dpt *t, char *err, size_t errlen)
{
	struct axdp_cidr *v = calloc(DENY_ENTRIES, sizeof(*v));
	struct axdp_cidr_list l = { .v = v, .cap = DENY_ENTRIES };
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int rc;

	if (!v || axdp_policy_open(&P, t->dp.pin_dir, err, errlen))
		return free(v), -1;
	axdp_cidr_parse(DENIED4, strlen(DENIED4), false, &v[l.n++]);
	while (l.n < DENY_ENTRIES) {
		uint32_t net, prefix;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		net = (uint32_t)(x >> 32) % 0xdf000000u + 0x01000000u;
		prefix = 16 + (uint32_t)(x % 17);
		net &= prefix == 32 ? ~0u : ~0u << (32 - prefix);
		if ((net >> 24) == 198 || (net >> 24) == 127)
			continue; /* keep PKT_REMOTE4 (198.51.100.7) and NEAR4 out */
		v[l.n].prefix = (uint8_t)(96 + prefix);
		v[l.n].addr[10] = v[l.n].addr[11] = 0xff;
		v[l.n].addr[12] = (uint8_t)(net >> 24), v[l.n].addr[13] = (uint8_t)(net >> 16);
		v[l.n].addr[14] = (uint8_t)(net >> 8), v[l.n].addr[15] = (uint8_t)net;
		l.n++;
	}
	axdp_cidr_list_unique(&l);
	deny_loaded = (uint32_t)l.n;
	rc = axdp_policy_set_deny(&P, l.v, l.n, err, errlen);
	free(v);
	return rc;
}

/* The live generation's count: 0 makes the program skip the trie, as it does with no deny list. */
static void deny_live(bool on)
{
	struct axdp_policy pol;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(P.policy, &zero, &pol) == 0) {
		pol.deny_entries = on ? deny_loaded : 0;
		bpf_map_update_elem(P.policy, &zero, &pol, BPF_ANY);
	}
}

/* The floor every XDP test run pays: r0 = XDP_PASS; exit. */
static int load_empty_xdp(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "axdp_empty", "MIT", insns, ARRAY_SIZE(insns), NULL);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static uint32_t median(uint32_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

__attribute__((noreturn, format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/*
 * Times one class: the counters must have moved by exactly repeat
 * packets, all under the class's reason, or the run timed another branch
 * (state expired meanwhile, say).
 */
static uint32_t time_class(struct dpt *t, const struct bench_class *c, const struct pkt *p, uint32_t repeat)
{
	uint64_t before[AXDP_REASON_COUNT], after[AXDP_REASON_COUNT], total = 0;
	uint32_t ns;
	int retval, r, rc;

	if ((rc = dpt_counts(t, before)) || (rc = dpt_run_repeat(t, DPT_XDP, p, repeat, &retval, &ns)) ||
	    (rc = dpt_counts(t, after)))
		fail("%s: test run failed: %s", c->name, strerror(-rc));
	for (r = 0; r < AXDP_REASON_COUNT; r++)
		total += after[r] - before[r];
	if (after[c->reason] - before[c->reason] != repeat || total != repeat)
		fail("%s: %llu of %llu runs counted as %s: the timed branch is not the named one", c->name,
		     (unsigned long long)(after[c->reason] - before[c->reason]), (unsigned long long)total,
		     dpt_reason_name(c->reason));
	return ns;
}

static struct dpt T, A;

static void unload(void)
{
	axdp_policy_close(&P);
	/* A shares T's pins: closing its object is all it owns. */
	axdp_datapath_close(&A.dp);
	dpt_unload(&T);
}

/* The drop classes again, through the same object loaded in audit mode over the same maps: they pass. */
static const char *const audit_classes[] = { "closed-port SYN v4", "closed-port UDP", "malformed TCP (XMAS)" };

static void bench_audit(const struct axdp_knobs *enforce, const struct pkt *pkts, const uint32_t *class_ns,
			uint32_t repeat, int empty_fd)
{
	struct axdp_knobs knobs = *enforce;
	uint32_t ns[ROUNDS], empty_ns[ROUNDS];
	char why[256];
	int retval, rc;

	knobs.audit = 1;
	if (dpt_load(&A, &knobs))
		fail("audit mode: %s", A.err);
	deny_live(false);
	printf("audit mode (Mode=audit: the same verdicts, what would drop passes):\n");
	for (size_t k = 0; k < ARRAY_SIZE(audit_classes); k++) {
		const struct bench_class *c = class_named(audit_classes[k]);
		size_t i = (size_t)(c - classes);

		if (dpt_expect(&A, DPT_XDP, &pkts[i], XDP_PASS, c->reason, why, sizeof(why)))
			fail("%s in audit mode: %s", c->name, why);
		for (int round = 0; round < ROUNDS; round++) {
			if ((rc = dpt_prog_run_repeat(empty_fd, &pkts[i], repeat, &retval, &empty_ns[round])))
				fail("empty program: test run failed: %s", strerror(-rc));
			ns[round] = time_class(&A, c, &pkts[i], repeat);
		}
		printf("%-24s %-6s %-18s %8u %8u %+9lld %+9lld\n", c->name, "pass", dpt_reason_name(c->reason),
		       median(ns, ROUNDS), median(empty_ns, ROUNDS), (long long)median(ns, ROUNDS) - median(empty_ns, ROUNDS),
		       (long long)median(ns, ROUNDS) - class_ns[i]);
	}
	printf("vs plain here: over the same packet in enforce mode, whose program has no audit code at all\n");
}

int main(int argc, char **argv)
{
	/* Timeouts beyond any run's length, so the state each class needs outlives it. */
	const struct axdp_knobs knobs = {
		.tcp_timeout_ns = 86400 * AXDP_NSEC_PER_SEC, .tcp_closing_timeout_ns = 86400 * AXDP_NSEC_PER_SEC,
		.udp_timeout_ns = 86400 * AXDP_NSEC_PER_SEC, .icmp_timeout_ns = 86400 * AXDP_NSEC_PER_SEC,
		.frag_timeout_ns = 86400 * AXDP_NSEC_PER_SEC,
		/* A SYN limit no class reaches (10^9/s, a huge burst): the cost of the check, never a drop. */
		.syn = { [AXDP_TIER_NORMAL] = { .interval_ns = 1, .tolerance_ns = 1ULL << 60 } },
		.source_mask_v4 = { { ~0u, ~0u, ~0u, ~0u } }, .source_mask_v6 = { { ~0u, ~0u, ~0u, ~0u } },
	};
	uint32_t repeat = DEFAULT_REPEAT, ns[ARRAY_SIZE(classes)][ROUNDS], empty_ns[ARRAY_SIZE(classes)][ROUNDS];
	uint32_t class_ns[ARRAY_SIZE(classes)];
	struct pkt pkts[ARRAY_SIZE(classes)];
	char why[256], *end;
	int empty_fd, retval, round, rc;
	size_t i;

	if (argc > 2 || (argc == 2 && ((repeat = (uint32_t)strtoul(argv[1], &end, 10)) == 0 || *end)))
		fail("usage: %s [repeat]   (runs per measurement, default %d)", argv[0], DEFAULT_REPEAT);
	/* Every exit, failures included, takes the pins with it. */
	atexit(unload);
	if (dpt_load(&T, &knobs))
		fail("%s", T.err);
	empty_fd = load_empty_xdp();
	if (empty_fd < 0)
		fail("loading the empty XDP program: %s", strerror(errno));
	if ((rc = dpt_port_open_tier(&T, AXDP_L4_TCP, OPEN_TCP, AXDP_TIER_UNLIMITED)) ||
	    (rc = dpt_port_open_tier(&T, AXDP_L4_TCP, RATED_TCP, AXDP_TIER_NORMAL)) ||
	    (rc = dpt_port_open(&T, AXDP_L4_UDP, OPEN_UDP)))
		fail("opening ports: %s", strerror(-rc));
	if (load_deny(&T, why, sizeof(why)))
		fail("loading %d deny entries: %s", DENY_ENTRIES, why);

	for (i = 0; i < ARRAY_SIZE(classes); i++) {
		const struct bench_class *c = &classes[i];
		int want = axdp_reason_action(c->reason) == AXDP_ACTION_pass ? XDP_PASS : XDP_DROP;

		if (c->prepare && (rc = c->prepare(&T)))
			fail("%s: preparing state: %s", c->name, strerror(-rc));
		c->build(&pkts[i]);
		deny_live(c->deny);
		if (dpt_expect(&T, DPT_XDP, &pkts[i], want, c->reason, why, sizeof(why)))
			fail("%s: %s", c->name, why);
	}

	/* Rounds outermost, so a slow moment of the machine hits every class alike. */
	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < ARRAY_SIZE(classes); i++) {
			if ((rc = dpt_prog_run_repeat(empty_fd, &pkts[i], repeat, &retval, &empty_ns[i][round])))
				fail("empty program: test run failed: %s", strerror(-rc));
			deny_live(classes[i].deny);
			ns[i][round] = time_class(&T, &classes[i], &pkts[i], repeat);
		}
	}

	for (i = 0; i < ARRAY_SIZE(classes); i++)
		class_ns[i] = median(ns[i], ROUNDS);
	printf("%-24s %-6s %-18s %8s %8s %9s %9s\n", "class", "action", "reason", "ns/pkt", "empty", "overhead",
	       "vs plain");
	for (i = 0; i < ARRAY_SIZE(classes); i++) {
		const struct bench_class *c = &classes[i], *plain = c->plain ? class_named(c->plain) : NULL;
		uint32_t floor_ns = median(empty_ns[i], ROUNDS);

		printf("%-24s %-6s %-18s %8u %8u %+9lld", c->name, axdp_reason_action(c->reason) == AXDP_ACTION_pass ? "pass" : "drop",
		       dpt_reason_name(c->reason), class_ns[i], floor_ns, (long long)class_ns[i] - floor_ns);
		if (plain)
			printf(" %+9lld", (long long)class_ns[i] - class_ns[plain - classes]);
		printf("\n");
	}
	printf("median of %d rounds of %u runs each; empty: r0 = XDP_PASS on the same packet\n", ROUNDS, repeat);
	printf("SYN rate limit compiled in (port %d normal tier, the others unlimited); \"100k deny\": %u entries "
	       "/16../32 live in the deny trie, else it is empty; near-listed: a source in the /24 of a listed one\n",
	       RATED_TCP, deny_loaded);
	printf("vs plain: the cost the list or limit adds to the same packet without it\n\n");
	bench_audit(&knobs, pkts, class_ns, repeat, empty_fd);
	return 0;
}
