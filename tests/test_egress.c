// SPDX-License-Identifier: MIT
/*
 * The tc egress program and what it means for ingress: flows the host
 * opens are recorded on the way out and let their replies in; nothing
 * that arrives can create, change or remove a flow.  Every packet's
 * verdict and the one counter it moved are asserted, and the conntrack
 * map is read directly.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include "datapath.h"
#include "util.h"


enum {
	OPEN_TCP = 22,
	OPEN_UDP = 53,
	ADDR_TCP = 8080,     /* open on PKT_LOCAL4 and PKT_LOCAL6 only */
	LPORT = 41000,       /* the host's ephemeral port */
	RPORT = 443,         /* the server it talks to */
	DNS = 53,
	ECHO_ID = 0x1234,
	FRAG_ID = 0x4242,
};

static struct dpt T;
static int family = 4;

/* Criterion skips .fini when .init fails, so a failing load cleans up itself. */
static void load(const struct axdp_knobs *knobs)
{
	int rc;

	cr_assert_eq(dpt_load(&T, knobs), 0, "loading the data path: %s", T.err);
	if ((rc = dpt_port_open(&T, AXDP_L4_TCP, OPEN_TCP)) || (rc = dpt_port_open(&T, AXDP_L4_UDP, OPEN_UDP)) ||
	    (rc = dpt_port_open_on(&T, AXDP_L4_TCP, ADDR_TCP, PKT_LOCAL4)) ||
	    (rc = dpt_port_open_on(&T, AXDP_L4_TCP, ADDR_TCP, PKT_LOCAL6))) {
		dpt_unload(&T);
		cr_assert_fail("opening the test's ports: %s", strerror(-rc));
	}
}

static void setup(void)
{
	load(NULL);
}

static void teardown(void)
{
	dpt_unload(&T);
}

static const char *local(void)
{
	return family == 4 ? PKT_LOCAL4 : PKT_LOCAL6;
}

static const char *remote(void)
{
	return family == 4 ? PKT_REMOTE4 : PKT_REMOTE6;
}

static const char *other_local(void)
{
	return family == 4 ? PKT_OTHER4 : PKT_OTHER6;
}

static void tcp(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport, uint8_t flags)
{
	(family == 4 ? pkt_tcp4 : pkt_tcp6)(p, src, dst, sport, dport, flags);
}

static void udp(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	(family == 4 ? pkt_udp4 : pkt_udp6)(p, src, dst, sport, dport);
}

/* Echo request (out) or reply (in) of the host's ping. */
static void echo(struct pkt *p, bool out, uint16_t id)
{
	pkt_init(p);
	pkt_eth(p);
	if (family == 4)
		pkt_ipv4(p, &(struct pkt_ipv4_opts){ .src = out ? PKT_LOCAL4 : PKT_REMOTE4, .dst = out ? PKT_REMOTE4 : PKT_LOCAL4 });
	else
		pkt_ipv6(p, &(struct pkt_ipv6_opts){ .src = out ? PKT_LOCAL6 : PKT_REMOTE6, .dst = out ? PKT_REMOTE6 : PKT_LOCAL6 });
	pkt_icmp(p, family == 4 ? (out ? 8 : 0) : (out ? 128 : 129), 0, id, 1);
	pkt_payload(p, NULL, 8);
}

static void expect(enum dpt_hook hook, const struct pkt *p, int retval, int reason, const char *what)
{
	char why[256];

	cr_assert(!dpt_expect(&T, hook, p, retval, reason, why, sizeof(why)), "%s (IPv%d): %s", what, family, why);
}

#define OUT(p, why, what)     expect(DPT_TC, p, TC_ACT_UNSPEC, AXDP_EGRESS_##why, what)
#define IN_PASS(p, why, what) expect(DPT_XDP, p, XDP_PASS, AXDP_PASS_##why, what)
#define IN_DROP(p, why, what) expect(DPT_XDP, p, XDP_DROP, AXDP_DROP_##why, what)

static struct axdp_flow_key tcp_key(void)
{
	return dpt_flow_key(IPPROTO_TCP, remote(), RPORT, local(), LPORT);
}

static struct axdp_flow flow_of(const struct axdp_flow_key *key, const char *what)
{
	struct axdp_flow f;
	int rc = dpt_flow_get(&T, key, &f);

	cr_assert_eq(rc, 0, "%s (IPv%d): no conntrack entry: %s", what, family, strerror(-rc));
	return f;
}

static void expect_flows(long n, const char *what)
{
	cr_assert_eq(dpt_flow_count(&T), n, "%s (IPv%d): %ld conntrack entries, expected %ld", what, family,
		     dpt_flow_count(&T), n);
}

/* Each test below runs once for IPv4 and once for IPv6. */
#define FAMILY_TEST(name)                                                          \
	ParameterizedTestParameters(egress, name)                                  \
	{                                                                          \
		static int families[] = { 4, 6 };                                  \
		return cr_make_param_array(int, families, ARRAY_SIZE(families));   \
	}                                                                          \
	static void name##_body(void);                                             \
	ParameterizedTest(int *f, egress, name, .init = setup, .fini = teardown)   \
	{                                                                          \
		family = *f;                                                       \
		name##_body();                                                     \
	}                                                                          \
	static void name##_body(void)

FAMILY_TEST(tcp_reply_follows_syn)
{
	struct axdp_flow_key key = tcp_key();
	struct axdp_flow f;
	struct pkt p;

	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "the host's SYN");
	f = flow_of(&key, "after the host's SYN");
	cr_assert(f.last_seen_ns != 0 && f.flags == 0, "fresh flow: last_seen %llu flags %#x",
		  (unsigned long long)f.last_seen_ns, f.flags);
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_SYN | PKT_TCP_ACK);
	IN_PASS(&p, TCP_FLOW, "SYN-ACK");
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_ACK | PKT_TCP_PSH);
	IN_PASS(&p, TCP_FLOW, "data");
	tcp(&p, remote(), local(), RPORT + 1, LPORT, PKT_TCP_SYN | PKT_TCP_ACK);
	IN_DROP(&p, TCP_CLOSED, "SYN-ACK from another remote port");
	tcp(&p, remote(), other_local(), RPORT, LPORT, PKT_TCP_SYN | PKT_TCP_ACK);
	IN_DROP(&p, TCP_CLOSED, "SYN-ACK to another local address");
	/* A bare SYN never belongs to a flow the host opened, even on its tuple. */
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_SYN);
	IN_DROP(&p, TCP_CLOSED, "SYN on the flow's tuple");
	expect_flows(1, "one connection");
}

FAMILY_TEST(udp_reply_follows_request)
{
	struct axdp_flow_key key = dpt_flow_key(IPPROTO_UDP, remote(), DNS, local(), LPORT);
	struct pkt p;

	udp(&p, local(), remote(), LPORT, DNS);
	OUT(&p, TRACKED, "the host's query");
	flow_of(&key, "after the host's query");
	udp(&p, remote(), local(), DNS, LPORT);
	IN_PASS(&p, UDP_FLOW, "the reply");
	udp(&p, remote(), local(), DNS + 1, LPORT);
	IN_DROP(&p, UDP_CLOSED, "a reply from another source port");
	udp(&p, remote(), local(), DNS, LPORT + 1);
	IN_DROP(&p, UDP_CLOSED, "a reply to another local port");
	expect_flows(1, "one query");
}

FAMILY_TEST(echo_reply_follows_request)
{
	struct axdp_flow_key key = dpt_flow_key(family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, remote(), 0, local(), ECHO_ID);
	struct pkt p;

	echo(&p, true, ECHO_ID);
	OUT(&p, TRACKED, "the host's echo request");
	flow_of(&key, "after the echo request (its id as local port)");
	echo(&p, false, ECHO_ID + 1);
	IN_DROP(&p, ICMP_OTHER, "an echo reply with another id");
	echo(&p, false, ECHO_ID);
	IN_PASS(&p, ICMP_FLOW, "the echo reply");
}

FAMILY_TEST(server_reply_is_not_tracked)
{
	struct pkt p;

	tcp(&p, local(), remote(), OPEN_TCP, RPORT, PKT_TCP_SYN | PKT_TCP_ACK);
	OUT(&p, SERVER, "SYN-ACK from a listening TCP port");
	udp(&p, local(), remote(), OPEN_UDP, RPORT);
	OUT(&p, SERVER, "reply from a listening UDP port");
	tcp(&p, local(), remote(), ADDR_TCP, RPORT, PKT_TCP_ACK);
	OUT(&p, SERVER, "ACK from a port listening on this address");
	expect_flows(0, "server replies");
	/* The same port on an address nothing listens on is a client's. */
	tcp(&p, other_local(), remote(), ADDR_TCP, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "SYN from a port listening on another address");
	expect_flows(1, "a client connection from a port listening elsewhere");
}

FAMILY_TEST(outbound_rst_removes_flow)
{
	struct axdp_flow_key key = tcp_key();
	struct axdp_flow f;
	struct pkt p;

	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "the host's SYN");
	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_RST | PKT_TCP_ACK);
	OUT(&p, CLOSED, "the host's RST");
	cr_assert_eq(dpt_flow_get(&T, &key, &f), -ENOENT, "the RST left the flow in conntrack");
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_ACK);
	IN_DROP(&p, TCP_CLOSED, "data after the host's RST");
}

/*
 * Two flows whose copies share a slot (found with the hash key the test
 * fixes): the first keeps the slot while it lives and the second is found
 * in conntrack; once the host resets the first, its copy goes with its
 * entry and the second takes the slot with its next packet.  Neither
 * flow's replies miss at any point.
 */
FAMILY_TEST(flows_sharing_a_copy_slot_both_pass)
{
	static const __u32 hash_key[AXDP_HASH_KEY_WORDS] = { 0x9e3779b9, 0x7f4a7c15, 0x85ebca6b, 0xc2b2ae35, 0x27d4eb2f,
							     0x165667b1, 0xd3a2646c, 0xfd7046c5, 0xb55a4f09, 0x1b873593 };
	struct axdp_knobs knobs = AXDP_KNOBS_DEFAULT;
	struct axdp_flow_key a = tcp_key(), b = a;
	struct axdp_flow copy;
	uint16_t lport_b;
	struct pkt p;

	memcpy(knobs.hash_key, hash_key, sizeof(hash_key));
	dpt_unload(&T);
	load(&knobs);
	for (lport_b = LPORT + 1; lport_b; lport_b++) {
		b.local_port = htons(lport_b);
		if (dpt_flow_copy_slot(&b, hash_key) == dpt_flow_copy_slot(&a, hash_key))
			break;
	}
	cr_assert(lport_b, "test bug: no local port's flow shares the copy slot of port %d's", LPORT);
	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "the first flow's SYN");
	tcp(&p, local(), remote(), lport_b, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "the second flow's SYN");
	cr_assert_eq(dpt_flow_copy(&T, &a, hash_key, &copy), 1, "IPv%d: the first flow has no copy in its slot", family);
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_SYN | PKT_TCP_ACK);
	IN_PASS(&p, TCP_FLOW, "the first flow's SYN-ACK, by its copy");
	tcp(&p, remote(), local(), RPORT, lport_b, PKT_TCP_SYN | PKT_TCP_ACK);
	IN_PASS(&p, TCP_FLOW, "the second flow's SYN-ACK, by conntrack");

	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_RST | PKT_TCP_ACK);
	OUT(&p, CLOSED, "the host resets the first flow");
	cr_assert_eq(dpt_flow_copy(&T, &a, hash_key, &copy), 0, "IPv%d: the reset flow's copy stayed", family);
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_ACK);
	IN_DROP(&p, TCP_CLOSED, "the reset flow's data");
	tcp(&p, local(), remote(), lport_b, RPORT, PKT_TCP_ACK);
	OUT(&p, TRACKED, "the second flow's ACK");
	cr_assert_eq(dpt_flow_copy(&T, &b, hash_key, &copy), 1, "IPv%d: the second flow did not take the freed slot",
		     family);
	tcp(&p, remote(), local(), RPORT, lport_b, PKT_TCP_ACK);
	IN_PASS(&p, TCP_FLOW, "the second flow's data, by its copy");
}

FAMILY_TEST(outbound_fin_marks_closing)
{
	struct axdp_flow_key key = tcp_key();
	struct axdp_flow f;
	struct pkt p;

	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "the host's SYN");
	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_FIN | PKT_TCP_ACK);
	OUT(&p, TRACKED, "the host's FIN");
	f = flow_of(&key, "after the host's FIN");
	cr_assert(f.flags & AXDP_FLOW_CLOSING, "FIN did not mark the flow closing: flags %#x", f.flags);
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_FIN | PKT_TCP_ACK);
	IN_PASS(&p, TCP_FLOW, "the peer's FIN");
}

FAMILY_TEST(spoofed_inbound_changes_nothing)
{
	struct axdp_flow_key key = tcp_key();
	struct axdp_flow before, after;
	struct pkt p;

	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "the host's SYN");
	before = flow_of(&key, "after the host's SYN");
	/* Right tuple: ingress passes it by the flow, and the stack judges the sequence number. */
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_RST);
	IN_PASS(&p, TCP_FLOW, "an inbound RST on the flow's tuple");
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_FIN | PKT_TCP_ACK);
	IN_PASS(&p, TCP_FLOW, "an inbound FIN on the flow's tuple");
	tcp(&p, remote(), local(), RPORT + 1, LPORT, PKT_TCP_RST);
	IN_DROP(&p, TCP_CLOSED, "an inbound RST from another port");
	after = flow_of(&key, "after the spoofed packets");
	cr_assert(memcmp(&before, &after, sizeof(before)) == 0,
		  "inbound packets changed the flow: last_seen %llu -> %llu, flags %#x -> %#x",
		  (unsigned long long)before.last_seen_ns, (unsigned long long)after.last_seen_ns, before.flags, after.flags);
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_SYN | PKT_TCP_ACK);
	IN_PASS(&p, TCP_FLOW, "the real SYN-ACK after the spoofed RST");
	expect_flows(1, "after the spoofed packets");
}

FAMILY_TEST(outbound_ack_of_unknown_flow_is_tracked)
{
	struct axdp_flow_key key = tcp_key();
	struct pkt p;

	/* A connection older than the firewall: its first packet seen is an ACK. */
	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_ACK | PKT_TCP_PSH);
	OUT(&p, TRACKED, "the host's ACK of a connection made before loading");
	flow_of(&key, "after the ACK");
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_ACK);
	IN_PASS(&p, TCP_FLOW, "the peer's data");
}

/* Inbound packets of every kind, allowed or not, many times over. */
FAMILY_TEST(inbound_never_creates_flows)
{
	struct inbound {
		const char *what;
		uint8_t proto, flags;
		uint16_t sport, dport;
		int retval, reason;
	} cases[] = {
		{ "SYN to an open port", IPPROTO_TCP, PKT_TCP_SYN, RPORT, OPEN_TCP, XDP_PASS, AXDP_PASS_TCP_PORT },
		{ "ACK to an open port", IPPROTO_TCP, PKT_TCP_ACK, RPORT, OPEN_TCP, XDP_PASS, AXDP_PASS_TCP_PORT },
		{ "SYN-ACK nobody asked for", IPPROTO_TCP, PKT_TCP_SYN | PKT_TCP_ACK, RPORT, LPORT, XDP_DROP, AXDP_DROP_TCP_CLOSED },
		{ "RST nobody asked for", IPPROTO_TCP, PKT_TCP_RST, RPORT, LPORT, XDP_DROP, AXDP_DROP_TCP_CLOSED },
		{ "UDP to an open port", IPPROTO_UDP, 0, RPORT, OPEN_UDP, XDP_PASS, AXDP_PASS_UDP_PORT },
		{ "UDP to a closed port", IPPROTO_UDP, 0, RPORT, LPORT, XDP_DROP, AXDP_DROP_UDP_CLOSED },
	};
	struct inbound *c;
	struct pkt p;
	int round;

	for (round = 0; round < 50; round++) {
		for (c = cases; c < cases + ARRAY_SIZE(cases); c++) {
			if (c->proto == IPPROTO_TCP)
				tcp(&p, remote(), local(), c->sport, c->dport, c->flags);
			else
				udp(&p, remote(), local(), c->sport, c->dport);
			expect(DPT_XDP, &p, c->retval, c->reason, c->what);
		}
		echo(&p, false, ECHO_ID);
		IN_DROP(&p, ICMP_OTHER, "an echo reply nobody asked for");
	}
	expect_flows(0, "after 350 inbound packets");
	/* With a flow in place, its replies do not add or duplicate one either. */
	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "the host's SYN");
	for (round = 0; round < 50; round++) {
		tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_ACK);
		IN_PASS(&p, TCP_FLOW, "the peer's data");
	}
	expect_flows(1, "after 50 replies");
}

/* An ICMP message the host sends. */
static void icmp_out(struct pkt *p, uint8_t type, uint8_t code)
{
	pkt_init(p);
	pkt_eth(p);
	if (family == 4)
		pkt_ipv4(p, &(struct pkt_ipv4_opts){ .src = PKT_LOCAL4, .dst = PKT_REMOTE4 });
	else
		pkt_ipv6(p, &(struct pkt_ipv6_opts){ .src = PKT_LOCAL6, .dst = PKT_REMOTE6 });
	pkt_icmp(p, type, code, ECHO_ID, 1);
	pkt_payload(p, NULL, 8);
}

/* What leaves without opening anything leaves no trace. */
FAMILY_TEST(untracked_outbound)
{
	struct pkt whole, p;

	icmp_out(&p, family == 4 ? 0 : 129, 0);
	OUT(&p, OTHER, "the host's echo reply");
	icmp_out(&p, family == 4 ? 3 : 1, family == 4 ? 3 : 4);
	OUT(&p, OTHER, "the host's port unreachable");

	udp(&whole, local(), remote(), LPORT, DNS);
	pkt_fragment(&p, &whole, 16, pkt_fragmentable_len(&whole) - 16, false, FRAG_ID);
	OUT(&p, OTHER, "a later fragment of the host's datagram");

	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
	pkt_truncate(&p, p.len - 1);
	OUT(&p, OTHER, "a truncated SYN");

	pkt_init(&p);
	pkt_eth(&p);
	pkt_arp_request(&p, PKT_LOCAL4, PKT_REMOTE4);
	OUT(&p, OTHER, "ARP");
	expect_flows(0, "untracked packets");
}

/* Moves the flow's last egress packet by_ns into the past (negative: the future). */
static void age_flow(const struct axdp_flow_key *key, int64_t by_ns)
{
	struct axdp_flow f = flow_of(key, "ageing the flow");
	struct timespec now;

	/* The flow's clock is CLOCK_MONOTONIC_COARSE; it must have run longer than we age. */
	cr_assert_eq(clock_gettime(CLOCK_MONOTONIC_COARSE, &now), 0);
	cr_assert_gt((int64_t)now.tv_sec * (int64_t)AXDP_NSEC_PER_SEC, by_ns + (int64_t)AXDP_NSEC_PER_SEC,
		     "the system has not been up long enough to age a flow by %lld ns", (long long)by_ns);
	f.last_seen_ns -= (uint64_t)by_ns;
	cr_assert_eq(dpt_flow_put(&T, key, &f), 0);
}

/* Egress keeps a live flow fresh, but writes the entry at most once a second. */
FAMILY_TEST(outbound_refreshes_flow)
{
	struct axdp_flow_key key = tcp_key();
	struct axdp_flow before, after;
	struct timespec now;
	int64_t gap;
	struct pkt p;

	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "the host's SYN");
	age_flow(&key, 5 * AXDP_NSEC_PER_SEC);
	before = flow_of(&key, "aged 5 s");
	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_ACK);
	OUT(&p, TRACKED, "the host's ACK");
	after = flow_of(&key, "after the ACK");
	cr_assert_geq(after.last_seen_ns, before.last_seen_ns + 5 * AXDP_NSEC_PER_SEC - AXDP_NSEC_PER_SEC / 10,
		      "a flow 5 s idle was not refreshed: %llu -> %llu", (unsigned long long)before.last_seen_ns,
		      (unsigned long long)after.last_seen_ns);
	before = after;
	OUT(&p, TRACKED, "the host's next ACK");
	after = flow_of(&key, "after the next ACK");
	/*
	 * The data path's clock is CLOCK_MONOTONIC_COARSE, never ahead of
	 * ours: read after the ACK, ours bounds how old the entry was when
	 * the ACK saw it.  Within a second it must stay as it was; a machine
	 * slow enough to take longer allows the rewrite, and says so.
	 */
	cr_assert_eq(clock_gettime(CLOCK_MONOTONIC_COARSE, &now), 0);
	gap = (int64_t)now.tv_sec * (int64_t)AXDP_NSEC_PER_SEC + now.tv_nsec - (int64_t)before.last_seen_ns;
	if (gap <= (int64_t)AXDP_NSEC_PER_SEC)
		cr_assert_eq(after.last_seen_ns, before.last_seen_ns, "a flow %lld ns fresh was written again",
			     (long long)gap);
	else
		cr_log_info("the next ACK came %lld ns after the refresh: a second rewrite was allowed", (long long)gap);
}

/*
 * Ingress reads the clock before it looks the flow up; egress on another
 * CPU may refresh the entry in between, a jiffy later.  A flow seen
 * "after now" was seen just now, not a timeout ago.
 */
FAMILY_TEST(flow_refreshed_after_the_clock_was_read)
{
	struct axdp_flow_key key = tcp_key();
	struct pkt p;

	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "the host's SYN");
	age_flow(&key, -(int64_t)(AXDP_NSEC_PER_SEC / 100));
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_SYN | PKT_TCP_ACK);
	IN_PASS(&p, TCP_FLOW, "SYN-ACK of a flow refreshed 10 ms ahead of this CPU's clock");
}

/*
 * A new connection on the tuple of one the host closed is not closing:
 * it must keep the established timeout.  A short closing timeout shows
 * which one it got.
 */
FAMILY_TEST(new_syn_clears_closing)
{
	struct axdp_knobs knobs = AXDP_KNOBS_DEFAULT;
	struct axdp_flow_key key = tcp_key();
	struct pkt p;

	knobs.tcp_closing_timeout_ns = 2 * AXDP_NSEC_PER_SEC;
	teardown();
	load(&knobs);
	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "the host's SYN");
	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_FIN | PKT_TCP_ACK);
	OUT(&p, TRACKED, "the host's FIN");
	tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
	OUT(&p, TRACKED, "the host's SYN of a new connection on the same tuple");
	age_flow(&key, 3 * AXDP_NSEC_PER_SEC);
	tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_SYN | PKT_TCP_ACK);
	IN_PASS(&p, TCP_FLOW, "the new connection's SYN-ACK 3 s on (closing timeout 2 s, established 1 day)");
}

Test(knobs, udp_flow_expires_at_its_timeout, .fini = teardown)
{
	struct axdp_knobs knobs = AXDP_KNOBS_DEFAULT;
	struct axdp_flow_key key;
	struct pkt p;

	knobs.udp_timeout_ns = 20 * AXDP_NSEC_PER_SEC;
	load(&knobs);
	key = dpt_flow_key(IPPROTO_UDP, remote(), DNS, local(), LPORT);
	udp(&p, local(), remote(), LPORT, DNS);
	OUT(&p, TRACKED, "the host's query");
	/*
	 * Ten seconds short of the timeout: the reply passes unless this
	 * machine takes that long between the query and the reply; then a
	 * second beyond it, which any delay only lengthens.
	 */
	age_flow(&key, 10 * AXDP_NSEC_PER_SEC);
	udp(&p, remote(), local(), DNS, LPORT);
	IN_PASS(&p, UDP_FLOW, "a reply 10 s after the query, timeout 20 s");
	age_flow(&key, 11 * AXDP_NSEC_PER_SEC);
	IN_DROP(&p, UDP_CLOSED, "a reply 21 s after the query, timeout 20 s");
}

/*
 * Each knob set to 0 expires its state at once (the coarse clock makes
 * any other small value race the jiffy); the same packets with the
 * default knobs show the knob, not the packets, made the difference.
 */
enum knob_case_id {
	KNOB_TCP,
	KNOB_TCP_CLOSING,
	KNOB_UDP,
	KNOB_ICMP,
	KNOB_FRAG,
};

struct knob_case {
	const char *name;
	size_t knob;        /* offsetof the __u64 in struct axdp_knobs */
	int live, expired;  /* the reply's reason with the default knobs, and with the knob at 0 */
};

static const struct knob_case knob_cases[] = {
	[KNOB_TCP] = { "tcp_timeout_ns", offsetof(struct axdp_knobs, tcp_timeout_ns),
		       AXDP_PASS_TCP_FLOW, AXDP_DROP_TCP_CLOSED },
	[KNOB_TCP_CLOSING] = { "tcp_closing_timeout_ns", offsetof(struct axdp_knobs, tcp_closing_timeout_ns),
			       AXDP_PASS_TCP_FLOW, AXDP_DROP_TCP_CLOSED },
	[KNOB_UDP] = { "udp_timeout_ns", offsetof(struct axdp_knobs, udp_timeout_ns),
		       AXDP_PASS_UDP_FLOW, AXDP_DROP_UDP_CLOSED },
	[KNOB_ICMP] = { "icmp_timeout_ns", offsetof(struct axdp_knobs, icmp_timeout_ns),
			AXDP_PASS_ICMP_FLOW, AXDP_DROP_ICMP_OTHER },
	[KNOB_FRAG] = { "frag_timeout_ns", offsetof(struct axdp_knobs, frag_timeout_ns),
			AXDP_PASS_FRAGMENT, AXDP_DROP_FRAG_ORPHAN },
};

/* The packets that open the state a knob times out, then the reply that needs it. */
static void knob_probe(enum knob_case_id id, int reason)
{
	int retval = axdp_reason_action(reason) == AXDP_ACTION_pass ? XDP_PASS : XDP_DROP;
	struct pkt whole, p;

	switch (id) {
	case KNOB_TCP:
	case KNOB_TCP_CLOSING:
		tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_SYN);
		OUT(&p, TRACKED, "the host's SYN");
		if (id == KNOB_TCP_CLOSING) {
			tcp(&p, local(), remote(), LPORT, RPORT, PKT_TCP_FIN | PKT_TCP_ACK);
			OUT(&p, TRACKED, "the host's FIN");
		}
		tcp(&p, remote(), local(), RPORT, LPORT, PKT_TCP_ACK);
		break;
	case KNOB_UDP:
		udp(&p, local(), remote(), LPORT, DNS);
		OUT(&p, TRACKED, "the host's query");
		udp(&p, remote(), local(), DNS, LPORT);
		break;
	case KNOB_ICMP:
		echo(&p, true, ECHO_ID);
		OUT(&p, TRACKED, "the host's echo request");
		echo(&p, false, ECHO_ID);
		break;
	case KNOB_FRAG:
		udp(&whole, remote(), local(), RPORT, OPEN_UDP);
		pkt_fragment(&p, &whole, 0, 32, true, FRAG_ID);
		IN_PASS(&p, UDP_PORT, "a first fragment to an open port");
		pkt_fragment(&p, &whole, 32, pkt_fragmentable_len(&whole) - 32, false, FRAG_ID);
		break;
	}
	expect(DPT_XDP, &p, retval, reason, knob_cases[id].name);
}

ParameterizedTestParameters(knobs, zero_expires_at_once)
{
	static enum knob_case_id ids[] = { KNOB_TCP, KNOB_TCP_CLOSING, KNOB_UDP, KNOB_ICMP, KNOB_FRAG };

	return cr_make_param_array(enum knob_case_id, ids, ARRAY_SIZE(ids));
}

ParameterizedTest(enum knob_case_id *id, knobs, zero_expires_at_once, .fini = teardown)
{
	const struct knob_case *c = &knob_cases[*id];
	struct axdp_knobs knobs = AXDP_KNOBS_DEFAULT;

	load(NULL);
	knob_probe(*id, c->live);
	teardown();
	memset((char *)&knobs + c->knob, 0, sizeof(__u64));
	load(&knobs);
	knob_probe(*id, c->expired);
}
