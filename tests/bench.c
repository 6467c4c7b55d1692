// SPDX-License-Identifier: MIT
/*
 * make bench: nanoseconds per packet of each verdict class of the XDP
 * program, through BPF_PROG_TEST_RUN, beside an empty XDP program run on
 * the same packet in the same round.  It reports and never judges a
 * time; it fails only if a class does not take the branch it is named
 * after, since timing the wrong branch would be worthless.  The deny
 * list's classes come last, with 0, 100,000 and 1,000,000 entries live.
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
#include "util.h"

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
	const char *plain;   /* the class this one adds a limit to, for the "vs plain" column */
};

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
	{ "closed-port SYN v4", NULL, syn_closed_v4, AXDP_DROP_TCP_CLOSED, NULL },
	{ "closed-port SYN v6", NULL, syn_closed_v6, AXDP_DROP_TCP_CLOSED, NULL },
	{ "closed-port UDP", NULL, udp_closed, AXDP_DROP_UDP_CLOSED, NULL },
	{ "allowed SYN", NULL, syn_open, AXDP_PASS_TCP_PORT, NULL },
	{ "established-flow ACK", flow_tcp, established_ack, AXDP_PASS_TCP_FLOW, NULL },
	{ "established-flow ACK v6", flow_tcp6, established_ack6, AXDP_PASS_TCP_FLOW, NULL },
	{ "UDP reply", flow_udp, udp_reply, AXDP_PASS_UDP_FLOW, NULL },
	{ "malformed TCP (XMAS)", NULL, xmas_open, AXDP_DROP_TCP_MALFORMED, NULL },
	{ "ICMP echo request", NULL, echo_request, AXDP_PASS_ICMP_ECHO, NULL },
	{ "later fragment v4", first_fragment_v4, later_fragment_v4, AXDP_PASS_FRAGMENT, NULL },
	{ "later fragment v6", first_fragment_v6, later_fragment_v6, AXDP_PASS_FRAGMENT, NULL },
	{ "allowed SYN, rate limit", NULL, syn_rated, AXDP_PASS_TCP_PORT, "allowed SYN" },
};

static const struct bench_class *class_named(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
		if (!strcmp(classes[i].name, name))
			return &classes[i];
	return NULL;
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
static struct axdp_policy_maps P = AXDP_POLICY_MAPS_CLOSED;

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

/* ---- the deny list: the same classes with 0, 100k and 1M entries live ---- */

/*
 * Lists shaped like the public ones (FireHOL, CrowdSec decisions,
 * Spamhaus DROP together): 95% single addresses, the rest random
 * prefixes /16../31, none in 198.0.0.0/8 (PKT_REMOTE4 198.51.100.7 stays
 * unlisted), plus the entries the classes below hit or stand next to.
 */
#define DENIED4 "198.18.0.66"        /* listed */
#define NEAR4 "198.18.0.67"          /* in the /24 of DENIED4, not listed */
#define DENIED_NET4 "198.19.16.0/20"
#define IN_NET4 "198.19.20.9"        /* inside DENIED_NET4 */
#define LONG_NET4 "198.18.1.64/28"
#define IN_LONG4 "198.18.1.70"       /* inside LONG_NET4 */
#define NEAR_LONG4 "198.18.1.7"      /* in the /24 of LONG_NET4, not in it */

static const uint32_t deny_sizes[] = { 0, 100000, 1000000 };

struct deny_class {
	const char *name;
	const char *source;
	uint16_t port;
	int reason;          /* with a list; with none every class passes to its port */
};

static const struct deny_class deny_classes[] = {
	{ "unlisted source, open port", PKT_REMOTE4, OPEN_TCP, AXDP_PASS_TCP_PORT },
	{ "unlisted source, closed port", PKT_REMOTE4, CLOSED_TCP, AXDP_DROP_TCP_CLOSED },
	{ "near-listed (listed /32's /24)", NEAR4, OPEN_TCP, AXDP_PASS_TCP_PORT },
	{ "near-listed (listed /28's /24)", NEAR_LONG4, OPEN_TCP, AXDP_PASS_TCP_PORT },
	{ "denied: a listed address", DENIED4, OPEN_TCP, AXDP_DROP_DENIED },
	{ "denied: in a listed /20", IN_NET4, OPEN_TCP, AXDP_DROP_DENIED },
	{ "denied: in a listed /28", IN_LONG4, OPEN_TCP, AXDP_DROP_DENIED },
};

static void add_cidr(struct axdp_cidr_list *l, const char *text)
{
	if (axdp_cidr_parse(text, strlen(text), true, &l->v[l->n++]))
		fail("%s: not a CIDR", text);
}

/* Replaces the deny list with n entries through the daemon's own code. */
static void load_deny(struct dpt *t, uint32_t n, uint32_t *loaded)
{
	struct axdp_cidr_list l = { .v = calloc(n + 3, sizeof(*l.v)), .cap = n + 3 };
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char err[256];

	if (!l.v)
		fail("deny list of %u: out of memory", n);
	if (P.policy < 0 && axdp_policy_open(&P, t->dp.pin_dir, err, sizeof(err)))
		fail("%s", err);
	if (n) {
		add_cidr(&l, DENIED4);
		add_cidr(&l, DENIED_NET4);
		add_cidr(&l, LONG_NET4);
	}
	while (l.n < n) {
		uint32_t net, prefix;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		net = (uint32_t)(x >> 32) % 0xdf000000u + 0x01000000u;
		prefix = x % 100 < 95 ? 32 : 16 + (uint32_t)(x / 100 % 16);
		net &= prefix == 32 ? ~0u : ~0u << (32 - prefix);
		if ((net >> 24) == 198 || (net >> 24) == 127)
			continue;
		l.v[l.n].prefix = (uint8_t)(96 + prefix);
		l.v[l.n].addr[10] = l.v[l.n].addr[11] = 0xff;
		l.v[l.n].addr[12] = (uint8_t)(net >> 24), l.v[l.n].addr[13] = (uint8_t)(net >> 16);
		l.v[l.n].addr[14] = (uint8_t)(net >> 8), l.v[l.n].addr[15] = (uint8_t)net;
		l.n++;
	}
	axdp_cidr_list_unique(&l);
	*loaded = (uint32_t)l.n;
	if (axdp_policy_set_deny(&P, l.v, l.n, err, sizeof(err)))
		fail("loading %u deny entries: %s", n, err);
	free(l.v);
}

static void bench_deny(uint32_t repeat, int empty_fd)
{
	const size_t nc = ARRAY_SIZE(deny_classes), ns = ARRAY_SIZE(deny_sizes);
	int32_t over[ARRAY_SIZE(deny_classes)][ARRAY_SIZE(deny_sizes)];
	uint32_t loaded[ARRAY_SIZE(deny_sizes)], empty_med[ARRAY_SIZE(deny_sizes)];
	uint64_t bytes[ARRAY_SIZE(deny_sizes)];
	struct pkt pkts[ARRAY_SIZE(deny_classes)];
	char why[256];
	int retval, rc;

	for (size_t c = 0; c < nc; c++)
		pkt_tcp4(&pkts[c], deny_classes[c].source, PKT_LOCAL4, RPORT, deny_classes[c].port, PKT_TCP_SYN);
	for (size_t z = 0; z < ns; z++) {
		uint32_t class_ns[ARRAY_SIZE(deny_classes)][ROUNDS], empty_ns[ARRAY_SIZE(deny_classes)][ROUNDS];
		uint32_t all_empty[ROUNDS * ARRAY_SIZE(deny_classes)];
		struct bench_class bc[ARRAY_SIZE(deny_classes)];

		struct axdp_policy_usage u;

		load_deny(&T, deny_sizes[z], &loaded[z]);
		if (axdp_policy_usage(T.dp.pin_dir, &u, why, sizeof(why)))
			fail("%s", why);
		bytes[z] = u.deny_bytes;
		for (size_t c = 0; c < nc; c++) {
			const struct deny_class *d = &deny_classes[c];
			int reason = deny_sizes[z] || d->reason != AXDP_DROP_DENIED ? d->reason : AXDP_PASS_TCP_PORT;

			bc[c] = (struct bench_class){ .name = d->name, .reason = reason };
			if (dpt_expect(&T, DPT_XDP, &pkts[c], axdp_reason_action(reason) == AXDP_ACTION_pass ? XDP_PASS : XDP_DROP,
				       reason, why, sizeof(why)))
				fail("%s with %u deny entries: %s", d->name, deny_sizes[z], why);
		}
		/* Rounds outermost, as above. */
		for (int round = 0; round < ROUNDS; round++)
			for (size_t c = 0; c < nc; c++) {
				if ((rc = dpt_prog_run_repeat(empty_fd, &pkts[c], repeat, &retval, &empty_ns[c][round])))
					fail("empty program: test run failed: %s", strerror(-rc));
				all_empty[round * nc + c] = empty_ns[c][round];
				class_ns[c][round] = time_class(&T, &bc[c], &pkts[c], repeat);
			}
		for (size_t c = 0; c < nc; c++)
			over[c][z] = (int32_t)median(class_ns[c], ROUNDS) - (int32_t)median(empty_ns[c], ROUNDS);
		empty_med[z] = median(all_empty, ROUNDS * nc);
	}
	printf("deny list: ns/pkt over the empty program, by entries live (0: no list; then 95%% single addresses)\n");
	printf("%-32s %-15s", "class (SYN)", "reason listed");
	for (size_t z = 0; z < ns; z++)
		printf(" %9u", loaded[z]);
	printf("\n");
	for (size_t c = 0; c < nc; c++) {
		printf("%-32s %-15s", deny_classes[c].name, dpt_reason_name(deny_classes[c].reason));
		for (size_t z = 0; z < ns; z++)
			printf(" %+9d", over[c][z]);
		printf("\n");
	}
	printf("%-32s %-15s", "empty program, ns/pkt", "");
	for (size_t z = 0; z < ns; z++)
		printf(" %9u", empty_med[z]);
	printf("\n%-32s %-15s", "deny maps and bans, MiB (memlock)", "");
	for (size_t z = 0; z < ns; z++)
		printf(" %9.1f", (double)bytes[z] / (1 << 20));
	printf("\nmedian of %d rounds of %u runs each; with 0 entries the denied sources pass to their port\n", ROUNDS,
	       repeat);
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

	for (i = 0; i < ARRAY_SIZE(classes); i++) {
		const struct bench_class *c = &classes[i];
		int want = axdp_reason_action(c->reason) == AXDP_ACTION_pass ? XDP_PASS : XDP_DROP;

		if (c->prepare && (rc = c->prepare(&T)))
			fail("%s: preparing state: %s", c->name, strerror(-rc));
		c->build(&pkts[i]);
		if (dpt_expect(&T, DPT_XDP, &pkts[i], want, c->reason, why, sizeof(why)))
			fail("%s: %s", c->name, why);
	}

	/* Rounds outermost, so a slow moment of the machine hits every class alike. */
	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < ARRAY_SIZE(classes); i++) {
			if ((rc = dpt_prog_run_repeat(empty_fd, &pkts[i], repeat, &retval, &empty_ns[i][round])))
				fail("empty program: test run failed: %s", strerror(-rc));
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
	printf("SYN rate limit compiled in (port %d normal tier, the others unlimited); no deny list\n", RATED_TCP);
	printf("vs plain: the cost the limit adds to the same packet without it\n\n");
	bench_audit(&knobs, pkts, class_ns, repeat, empty_fd);
	printf("\n");
	bench_deny(repeat, empty_fd);
	return 0;
}
