// SPDX-License-Identifier: MIT
/*
 * The XDP program's decision tree, branch by branch, IPv4 and IPv6.  Each
 * scenario is a short sequence of packets; every packet's verdict and the
 * one counter it moved are asserted.  Malformed packets go to open ports,
 * so only the malformation can be what drops them.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <string.h>
#include "datapath.h"
#include "util.h"


enum {
	OPEN_TCP = 22,
	CLOSED_TCP = 23,
	OPEN_UDP = 53,
	CLOSED_UDP = 54,
	ADDR_TCP = 8080,     /* open on PKT_LOCAL4 and PKT_LOCAL6 only */
	V4_TCP = 8004,       /* open on any IPv4 address: a listener on 0.0.0.0 */
	V6_TCP = 8006,       /* open on any IPv6 address: a listener on :: with IPV6_V6ONLY */
	EPHEMERAL = 40000,   /* the remote peer's port */
	ECHO_ID = 0x1234,
	FRAG_ID = 0x4242,
	FIRST_FRAG_LEN = 24, /* a TCP header and a little data */
};

static struct dpt T;

/* Criterion skips .fini when .init fails, so a failing setup cleans up itself. */
static void setup(void)
{
	int rc;

	cr_assert_eq(dpt_load(&T, NULL), 0, "loading the data path: %s", T.err);
	if ((rc = dpt_port_open(&T, AXDP_L4_TCP, OPEN_TCP)) || (rc = dpt_port_open(&T, AXDP_L4_UDP, OPEN_UDP)) ||
	    (rc = dpt_port_open_on(&T, AXDP_L4_TCP, ADDR_TCP, PKT_LOCAL4)) ||
	    (rc = dpt_port_open_on(&T, AXDP_L4_TCP, ADDR_TCP, PKT_LOCAL6)) ||
	    (rc = dpt_port_open_family(&T, AXDP_L4_TCP, V4_TCP, 4)) || (rc = dpt_port_open_family(&T, AXDP_L4_TCP, V6_TCP, 6))) {
		dpt_unload(&T);
		cr_assert_fail("opening the test's ports: %s", strerror(-rc));
	}
}

static void teardown(void)
{
	dpt_unload(&T);
}

/* One packet of a scenario: how to build it, where it goes, what it must do. */
struct step {
	void (*build)(struct pkt *p, const struct step *s);
	int family;         /* 4 or 6 */
	uint16_t port;      /* the destination port, for builders that take one */
	int arg;            /* the builder's own knob: VLAN tags, TCP flags, ICMP type, a damage */
	const char *addr;   /* destination address; NULL: the local one */
	const char *src;    /* source address; NULL: the remote peer */
	const char *chain;  /* IPv6 extension headers, see v6_chain */
	uint8_t l4;         /* fragment builders: IPPROTO_TCP (0) or IPPROTO_UDP */
	enum dpt_hook hook;
	int retval;
	int reason;
};

struct scenario {
	const char *name;
	struct step steps[3];
};

/* The verdict and the reason come together, so a pass can never be expected under a drop reason. */
#define PASS(why)   .hook = DPT_XDP, .retval = XDP_PASS, .reason = AXDP_PASS_##why
#define DROP(why)   .hook = DPT_XDP, .retval = XDP_DROP, .reason = AXDP_DROP_##why
#define EGRESS(why) .hook = DPT_TC, .retval = TC_ACT_UNSPEC, .reason = AXDP_EGRESS_##why
#define V4(fn)      .build = fn, .family = 4
#define V6(fn)      .build = fn, .family = 6
#define ICMP(type, code) ((type) << 8 | (code))

/* Ethernet, vlans tags (the outer one QinQ), and an IP header from the remote peer. */
static void ip_begin(struct pkt *p, const struct step *s, int vlans)
{
	int i;

	pkt_init(p);
	pkt_eth(p);
	for (i = 0; i < vlans; i++)
		pkt_vlan(p, i == 0 && vlans > 1 ? 0x88a8 : 0x8100, (uint16_t)(100 + i));
	if (s->family == 4)
		pkt_ipv4(p, &(struct pkt_ipv4_opts){ .src = s->src, .dst = s->addr });
	else
		pkt_ipv6(p, &(struct pkt_ipv6_opts){ .src = s->src, .dst = s->addr });
}

static void tcp_to(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	pkt_tcp(p, &(struct pkt_tcp_opts){ .sport = sport, .dport = dport, .flags = flags, .seq = 1000 });
}

static void arp(struct pkt *p, const struct step *s)
{
	(void)s;
	pkt_init(p);
	pkt_eth(p);
	pkt_arp_request(p, PKT_REMOTE4, PKT_LOCAL4);
}

/* The shortest frame a test run takes: an Ethernet header announcing IP. */
static void eth_only(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	pkt_truncate(p, 14);
}

static void vlan_cut(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 1);
	pkt_truncate(p, 16);
}

/* arg: VLAN tags. */
static void vlan_syn(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, s->arg);
	tcp_to(p, EPHEMERAL, s->port, PKT_TCP_SYN);
}

static void syn(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	tcp_to(p, EPHEMERAL, s->port, PKT_TCP_SYN);
}

/* A minimum-size Ethernet frame: the datagram is followed by padding. */
static void padded_syn(struct pkt *p, const struct step *s)
{
	syn(p, s);
	pkt_pad(p, 60);
}

/* arg: TCP flags. */
static void tcp_flags(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	tcp_to(p, EPHEMERAL, s->port, (uint8_t)s->arg);
}

static void tcp_from_port0(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	tcp_to(p, 0, s->port, PKT_TCP_SYN);
}

/* arg: TCP data offset, over a 20-byte header and 8 bytes of data. */
static void tcp_doff(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	pkt_tcp(p, &(struct pkt_tcp_opts){ .sport = EPHEMERAL, .dport = s->port, .flags = PKT_TCP_SYN,
					   .doff = (uint8_t)s->arg });
	pkt_payload(p, NULL, 8);
}

static void tcp_options(struct pkt *p, const struct step *s)
{
	/* MSS 1460, SACK permitted, window scale 7, NOP padding: doff 8. */
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 4, 2, 3, 3, 7, 1, 1, 1 };

	ip_begin(p, s, 0);
	pkt_tcp(p, &(struct pkt_tcp_opts){ .sport = EPHEMERAL, .dport = s->port, .flags = PKT_TCP_SYN,
					   .options = opts, .options_len = sizeof(opts) });
}

static void ipv4_options(struct pkt *p, const struct step *s)
{
	static const uint8_t router_alert[] = { 0x94, 4, 0, 0 };

	pkt_init(p);
	pkt_eth(p);
	pkt_ipv4(p, &(struct pkt_ipv4_opts){ .options = router_alert, .options_len = sizeof(router_alert) });
	tcp_to(p, EPHEMERAL, s->port, PKT_TCP_SYN);
}

enum ip_damage {
	BAD_VERSION,
	IHL_BELOW_5,
	LEN_BEYOND_FRAME,
	LEN_BELOW_HEADER,
	LEN_ZERO,
	RESERVED_FLAG,
	FRAME_ENDS_IN_HEADER,
};

/* arg: enum ip_damage, done to a SYN to an open port. */
static void ip_damaged(struct pkt *p, const struct step *s)
{
	size_t ip_len;

	pkt_init(p);
	pkt_eth(p);
	if (s->family == 4)
		pkt_ipv4(p, &(struct pkt_ipv4_opts){ .version = s->arg == BAD_VERSION ? 6 : 0,
						     .ihl = s->arg == IHL_BELOW_5 ? 4 : 0,
						     .reserved_flag = s->arg == RESERVED_FLAG });
	else
		pkt_ipv6(p, &(struct pkt_ipv6_opts){ .version = s->arg == BAD_VERSION ? 4 : 0 });
	tcp_to(p, EPHEMERAL, OPEN_TCP, PKT_TCP_SYN);
	ip_len = p->len - p->l3_off - (s->family == 6 ? 40 : 0);
	if (s->arg == LEN_BEYOND_FRAME)
		pkt_set_ip_len(p, (uint16_t)(ip_len + 1));
	else if (s->arg == LEN_BELOW_HEADER)
		pkt_set_ip_len(p, 19);
	else if (s->arg == LEN_ZERO)
		pkt_set_ip_len(p, 0);
	else if (s->arg == FRAME_ENDS_IN_HEADER)
		pkt_truncate(p, p->l3_off + 19);
}

static void push_chain(struct pkt *p, const char *chain)
{
	for (; *chain; chain++) {
		switch (*chain) {
		case 'H': pkt_ipv6_ext(p, IPPROTO_HOPOPTS, 8); break;
		case 'D': pkt_ipv6_ext(p, IPPROTO_DSTOPTS, 8); break;
		case 'R': pkt_ipv6_ext(p, IPPROTO_ROUTING, 8); break;
		case 'A': pkt_ipv6_ext(p, IPPROTO_AH, 24); break;
		case 'F': pkt_ipv6_frag(p, 0, false, FRAG_ID); break; /* atomic */
		case 'M': pkt_ipv6_frag(p, 0, true, FRAG_ID); break;  /* first: offset 0, more to come */
		default: cr_assert_fail("unknown extension header '%c' in a scenario", *chain);
		}
	}
}

/*
 * chain: extension headers in order, H hop-by-hop, D destination options,
 * R routing, A AH, F an atomic fragment header, M a first fragment's
 * (offset 0, more to come).  arg: what follows:
 * IPPROTO_TCP is a SYN to s->port, anything else a bare protocol number.
 */
static void v6_chain(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	push_chain(p, s->chain);
	if (s->arg == IPPROTO_TCP) {
		tcp_to(p, EPHEMERAL, s->port, PKT_TCP_SYN);
		return;
	}
	pkt_proto(p, (uint8_t)s->arg);
	pkt_payload(p, NULL, 16);
}

/* The datagram, and the frame with it, ends halfway into the last extension header. */
static void v6_chain_cut(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	push_chain(p, s->chain);
	pkt_truncate(p, p->len - 4);
	pkt_set_ip_len(p, (uint16_t)(p->len - p->l3_off - 40));
}

static void udp(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	pkt_udp(p, EPHEMERAL, s->port);
	pkt_payload(p, NULL, 16);
}

/* arg: the source port. */
static void udp_from(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	pkt_udp(p, (uint16_t)s->arg, s->port);
	pkt_payload(p, NULL, 300);
}

enum udp_damage {
	UDP_LEN_BELOW_HEADER,
	UDP_LEN_BEYOND_DATAGRAM,
	UDP_SPORT_0,
	UDP_DPORT_0,
};

/* arg: enum udp_damage, done to a datagram to an open port. */
static void udp_damaged(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	pkt_udp(p, s->arg == UDP_SPORT_0 ? 0 : EPHEMERAL, s->arg == UDP_DPORT_0 ? 0 : OPEN_UDP);
	pkt_payload(p, NULL, 16);
	if (s->arg == UDP_LEN_BELOW_HEADER)
		pkt_set_udp_len(p, 7);
	else if (s->arg == UDP_LEN_BEYOND_DATAGRAM)
		pkt_set_udp_len(p, 8 + 16 + 1);
}

/* arg: ICMP(type, code), ICMPv6 under IPv6. */
static void icmp(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	pkt_icmp(p, (uint8_t)(s->arg >> 8), (uint8_t)s->arg, ECHO_ID, 1);
	pkt_payload(p, NULL, 8);
}

/* The host's own datagram or segment from local port s->port to the peer's EPHEMERAL, as it leaves. */
static void sent_by_host(struct pkt *p, const struct step *s)
{
	pkt_init(p);
	pkt_eth(p);
	if (s->family == 4)
		pkt_ipv4(p, &(struct pkt_ipv4_opts){ .src = PKT_LOCAL4, .dst = PKT_REMOTE4 });
	else
		pkt_ipv6(p, &(struct pkt_ipv6_opts){ .src = PKT_LOCAL6, .dst = PKT_REMOTE6 });
	if (s->l4 == IPPROTO_UDP)
		pkt_udp(p, s->port, EPHEMERAL);
	else
		tcp_to(p, s->port, EPHEMERAL, PKT_TCP_SYN | PKT_TCP_ACK);
	pkt_payload(p, NULL, 16);
}

/*
 * arg: ICMP(type, code) of an error from the path about what the host
 * sent (sent_by_host with the same step): its IP header and first 8 bytes
 * quoted, as a router does.
 */
static void icmp_error(struct pkt *p, const struct step *s)
{
	struct pkt sent;

	sent_by_host(&sent, s);
	ip_begin(p, s, 0);
	pkt_icmp(p, (uint8_t)(s->arg >> 8), (uint8_t)s->arg, 0, 0);
	pkt_payload(p, sent.data + sent.l3_off, sent.l4_off - sent.l3_off + 8);
}

/* The frame ends halfway into the ICMP header. */
static void icmp_cut(struct pkt *p, const struct step *s)
{
	icmp(p, s);
	pkt_truncate(p, p->l4_off + 4);
	pkt_set_ip_len(p, (uint16_t)(4 + (s->family == 4 ? p->l3_hlen : 0)));
}

/* The host's own echo request, leaving through tc. */
static void echo_out(struct pkt *p, const struct step *s)
{
	pkt_init(p);
	pkt_eth(p);
	if (s->family == 4) {
		pkt_ipv4(p, &(struct pkt_ipv4_opts){ .src = PKT_LOCAL4, .dst = PKT_REMOTE4 });
		pkt_icmp(p, 8, 0, ECHO_ID, 1);
	} else {
		pkt_ipv6(p, &(struct pkt_ipv6_opts){ .src = PKT_LOCAL6, .dst = PKT_REMOTE6 });
		pkt_icmp(p, 128, 0, ECHO_ID, 1);
	}
	pkt_payload(p, NULL, 8);
}

/* arg: an IP protocol number with 16 bytes behind it. */
static void proto(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	pkt_proto(p, (uint8_t)s->arg);
	pkt_payload(p, NULL, 16);
}

/* The L4 header of l4 to an open port, its last 4 bytes beyond the IP length, in link padding. */
static void l4_in_padding(struct pkt *p, const struct step *s)
{
	ip_begin(p, s, 0);
	if (s->l4 == IPPROTO_TCP)
		tcp_to(p, EPHEMERAL, OPEN_TCP, PKT_TCP_SYN);
	else if (s->l4 == IPPROTO_UDP)
		pkt_udp(p, EPHEMERAL, OPEN_UDP);
	else
		pkt_icmp(p, s->family == 4 ? 8 : 128, 0, ECHO_ID, 1);
	pkt_shorten_ip(p, 4);
}

/* A TCP SYN (or, with l4, a UDP datagram) to s->port with 40 bytes of data. */
static void datagram(struct pkt *whole, const struct step *s)
{
	ip_begin(whole, s, 0);
	if (s->l4 == IPPROTO_UDP)
		pkt_udp(whole, EPHEMERAL, s->port);
	else
		tcp_to(whole, EPHEMERAL, s->port, PKT_TCP_SYN);
	pkt_payload(whole, NULL, 40);
}

/* arg, here and in frag_later: added to the fragment id, to make it another datagram's. */
static void frag_first(struct pkt *p, const struct step *s)
{
	struct pkt whole;

	datagram(&whole, s);
	pkt_fragment(p, &whole, 0, FIRST_FRAG_LEN, true, FRAG_ID + (uint32_t)s->arg);
}

/* Too short to hold the TCP header. */
static void frag_first_8(struct pkt *p, const struct step *s)
{
	struct pkt whole;

	datagram(&whole, s);
	pkt_fragment(p, &whole, 0, 8, true, FRAG_ID);
}

static void frag_later(struct pkt *p, const struct step *s)
{
	struct pkt whole;

	datagram(&whole, s);
	pkt_fragment(p, &whole, FIRST_FRAG_LEN, pkt_fragmentable_len(&whole) - FIRST_FRAG_LEN, false,
		     FRAG_ID + (uint32_t)s->arg);
}

/* A first fragment whose UDP header the IP length cuts after the ports; padding holds the rest. */
static void udp_first_frag_in_padding(struct pkt *p, const struct step *s)
{
	pkt_init(p);
	pkt_eth(p);
	if (s->family == 4) {
		pkt_ipv4(p, &(struct pkt_ipv4_opts){ .more_fragments = true, .id = FRAG_ID });
	} else {
		pkt_ipv6(p, &(struct pkt_ipv6_opts){ 0 });
		pkt_ipv6_frag(p, 0, true, FRAG_ID);
	}
	pkt_udp(p, EPHEMERAL, OPEN_UDP);
	pkt_set_udp_len(p, 8 + 64); /* the whole datagram's, as a first fragment's is */
	pkt_shorten_ip(p, 4);
}

static const struct scenario scenarios[] = {
	/* Link layer. */
	{ "ARP request", { { V4(arp), PASS(NON_IP) } } },
	{ "frame of an Ethernet header alone", { { V4(eth_only), DROP(IPV4_MALFORMED) } } },
	{ "frame of an Ethernet header alone", { { V6(eth_only), DROP(IPV6_MALFORMED) } } },
	{ "frame ends inside the VLAN tag", { { V4(vlan_cut), DROP(L2_MALFORMED) } } },
	{ "1 VLAN tag, SYN to an open port", { { V4(vlan_syn), .arg = 1, .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "2 VLAN tags, SYN to an open port", { { V4(vlan_syn), .arg = 2, .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "2 VLAN tags, SYN to an open port", { { V6(vlan_syn), .arg = 2, .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "2 VLAN tags, SYN to a closed port", { { V4(vlan_syn), .arg = 2, .port = CLOSED_TCP, DROP(TCP_CLOSED) } } },
	{ "3 VLAN tags", { { V4(vlan_syn), .arg = 3, .port = OPEN_TCP, DROP(VLAN_DEPTH) } } },
	{ "5 VLAN tags", { { V6(vlan_syn), .arg = 5, .port = OPEN_TCP, DROP(VLAN_DEPTH) } } },
	{ "datagram followed by Ethernet padding", { { V4(padded_syn), .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "datagram followed by Ethernet padding", { { V6(padded_syn), .port = OPEN_TCP, PASS(TCP_PORT) } } },

	/* IP headers. */
	{ "IPv4 ethertype, version 6", { { V4(ip_damaged), .arg = BAD_VERSION, DROP(IPV4_MALFORMED) } } },
	{ "IPv6 ethertype, version 4", { { V6(ip_damaged), .arg = BAD_VERSION, DROP(IPV6_MALFORMED) } } },
	{ "IHL 4", { { V4(ip_damaged), .arg = IHL_BELOW_5, DROP(IPV4_MALFORMED) } } },
	{ "IP length beyond the frame", { { V4(ip_damaged), .arg = LEN_BEYOND_FRAME, DROP(IPV4_MALFORMED) } } },
	{ "IP length beyond the frame", { { V6(ip_damaged), .arg = LEN_BEYOND_FRAME, DROP(IPV6_MALFORMED) } } },
	{ "total length below the IHL", { { V4(ip_damaged), .arg = LEN_BELOW_HEADER, DROP(IPV4_MALFORMED) } } },
	{ "total length 0", { { V4(ip_damaged), .arg = LEN_ZERO, DROP(IPV4_MALFORMED) } } },
	{ "payload length 0 (jumbogram)", { { V6(ip_damaged), .arg = LEN_ZERO, DROP(IPV6_MALFORMED) } } },
	{ "reserved flag set", { { V4(ip_damaged), .arg = RESERVED_FLAG, DROP(IPV4_MALFORMED) } } },
	{ "frame ends inside the IP header", { { V4(ip_damaged), .arg = FRAME_ENDS_IN_HEADER, DROP(IPV4_MALFORMED) } } },
	{ "frame ends inside the IP header", { { V6(ip_damaged), .arg = FRAME_ENDS_IN_HEADER, DROP(IPV6_MALFORMED) } } },
	{ "IPv4 options, SYN to an open port", { { V4(ipv4_options), .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "IPv4 options, SYN to a closed port", { { V4(ipv4_options), .port = CLOSED_TCP, DROP(TCP_CLOSED) } } },

	/* IPv6 extension headers. */
	{ "hop-by-hop, dstopts, routing, SYN to an open port",
	  { { V6(v6_chain), .chain = "HDR", .arg = IPPROTO_TCP, .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "hop-by-hop, dstopts, routing, SYN to a closed port",
	  { { V6(v6_chain), .chain = "HDR", .arg = IPPROTO_TCP, .port = CLOSED_TCP, DROP(TCP_CLOSED) } } },
	{ "hop-by-hop after dstopts", { { V6(v6_chain), .chain = "DH", .arg = IPPROTO_TCP, .port = OPEN_TCP, DROP(IPV6_EXTHDR) } } },
	{ "8 extension headers", { { V6(v6_chain), .chain = "HDDDDDDD", .arg = IPPROTO_TCP, .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "9 extension headers", { { V6(v6_chain), .chain = "HDDDDDDDD", .arg = IPPROTO_TCP, .port = OPEN_TCP, DROP(IPV6_EXTHDR) } } },
	{ "AH, SYN to an open port", { { V6(v6_chain), .chain = "A", .arg = IPPROTO_TCP, .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "AH, SYN to a closed port", { { V6(v6_chain), .chain = "DA", .arg = IPPROTO_TCP, .port = CLOSED_TCP, DROP(TCP_CLOSED) } } },
	{ "atomic fragment header, SYN to an open port",
	  { { V6(v6_chain), .chain = "F", .arg = IPPROTO_TCP, .port = OPEN_TCP, PASS(TCP_PORT) } } },
	/* A second fragment header, whatever either one says (RFC 8200 4.1: it occurs once). */
	{ "atomic fragment header, then another atomic one",
	  { { V6(v6_chain), .chain = "FF", .arg = IPPROTO_TCP, .port = OPEN_TCP, DROP(IPV6_EXTHDR) } } },
	{ "atomic fragment header, then a first fragment's",
	  { { V6(v6_chain), .chain = "FM", .arg = IPPROTO_TCP, .port = OPEN_TCP, DROP(IPV6_EXTHDR) } } },
	{ "first fragment's header, then an atomic one",
	  { { V6(v6_chain), .chain = "MF", .arg = IPPROTO_TCP, .port = OPEN_TCP, DROP(IPV6_EXTHDR) } } },
	{ "first fragment's header, then another first fragment's",
	  { { V6(v6_chain), .chain = "MM", .arg = IPPROTO_TCP, .port = OPEN_TCP, DROP(IPV6_EXTHDR) } } },
	{ "extension header cut by the payload length", { { V6(v6_chain_cut), .chain = "HD", DROP(IPV6_EXTHDR) } } },
	{ "no next header (59)", { { V6(v6_chain), .chain = "D", .arg = 59, DROP(PROTO) } } },
	{ "unassigned next header 253", { { V6(v6_chain), .chain = "", .arg = 253, DROP(PROTO) } } },

	/* TCP. */
	{ "SYN to an open port", { { V4(syn), .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "SYN to an open port", { { V6(syn), .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "SYN to a closed port", { { V4(syn), .port = CLOSED_TCP, DROP(TCP_CLOSED) } } },
	{ "SYN to a closed port", { { V6(syn), .port = CLOSED_TCP, DROP(TCP_CLOSED) } } },
	{ "ACK to an open port", { { V4(tcp_flags), .arg = PKT_TCP_ACK, .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "ACK to a closed port, no flow", { { V4(tcp_flags), .arg = PKT_TCP_ACK, .port = CLOSED_TCP, DROP(TCP_CLOSED) } } },
	{ "ACK to a closed port, no flow", { { V6(tcp_flags), .arg = PKT_TCP_ACK, .port = CLOSED_TCP, DROP(TCP_CLOSED) } } },
	{ "SYN-ACK to a closed port, no flow",
	  { { V4(tcp_flags), .arg = PKT_TCP_SYN | PKT_TCP_ACK, .port = CLOSED_TCP, DROP(TCP_CLOSED) } } },
	{ "RST to a closed port, no flow", { { V6(tcp_flags), .arg = PKT_TCP_RST, .port = CLOSED_TCP, DROP(TCP_CLOSED) } } },
	{ "NULL scan", { { V4(tcp_flags), .arg = 0, .port = OPEN_TCP, DROP(TCP_MALFORMED) } } },
	{ "XMAS scan", { { V4(tcp_flags), .arg = PKT_TCP_FIN | PKT_TCP_PSH | PKT_TCP_URG, .port = OPEN_TCP, DROP(TCP_MALFORMED) } } },
	{ "XMAS scan", { { V6(tcp_flags), .arg = PKT_TCP_FIN | PKT_TCP_PSH | PKT_TCP_URG, .port = OPEN_TCP, DROP(TCP_MALFORMED) } } },
	{ "SYN+FIN", { { V4(tcp_flags), .arg = PKT_TCP_SYN | PKT_TCP_FIN, .port = OPEN_TCP, DROP(TCP_MALFORMED) } } },
	{ "SYN+RST", { { V6(tcp_flags), .arg = PKT_TCP_SYN | PKT_TCP_RST, .port = OPEN_TCP, DROP(TCP_MALFORMED) } } },
	{ "source port 0", { { V4(tcp_from_port0), .port = OPEN_TCP, DROP(TCP_MALFORMED) } } },
	{ "destination port 0", { { V6(syn), .port = 0, DROP(TCP_MALFORMED) } } },
	{ "data offset 4", { { V4(tcp_doff), .arg = 4, .port = OPEN_TCP, DROP(TCP_MALFORMED) } } },
	{ "data offset past the datagram", { { V4(tcp_doff), .arg = 15, .port = OPEN_TCP, DROP(TCP_MALFORMED) } } },
	{ "data offset past the datagram", { { V6(tcp_doff), .arg = 8, .port = OPEN_TCP, DROP(TCP_MALFORMED) } } },
	{ "TCP options, SYN to an open port", { { V4(tcp_options), .port = OPEN_TCP, PASS(TCP_PORT) } } },
	{ "TCP header beyond the IP length", { { V4(l4_in_padding), .l4 = IPPROTO_TCP, DROP(TCP_MALFORMED) } } },
	{ "TCP header beyond the IP length", { { V6(l4_in_padding), .l4 = IPPROTO_TCP, DROP(TCP_MALFORMED) } } },
	{ "port open on that address", { { V4(syn), .addr = PKT_LOCAL4, .port = ADDR_TCP, PASS(TCP_PORT) } } },
	{ "port open on another address", { { V4(syn), .addr = PKT_OTHER4, .port = ADDR_TCP, DROP(TCP_CLOSED) } } },
	{ "port open on that address", { { V6(syn), .addr = PKT_LOCAL6, .port = ADDR_TCP, PASS(TCP_PORT) } } },
	{ "port open on another address", { { V6(syn), .addr = PKT_OTHER6, .port = ADDR_TCP, DROP(TCP_CLOSED) } } },

	/* UDP. */
	{ "UDP to an open port", { { V4(udp), .port = OPEN_UDP, PASS(UDP_PORT) } } },
	{ "UDP to an open port", { { V6(udp), .port = OPEN_UDP, PASS(UDP_PORT) } } },
	{ "UDP to a closed port", { { V4(udp), .port = CLOSED_UDP, DROP(UDP_CLOSED) } } },
	{ "UDP to a closed port", { { V6(udp), .port = CLOSED_UDP, DROP(UDP_CLOSED) } } },
	/* A wildcard listener of one family: ingress, egress and ICMP errors judge the other family closed. */
	{ "SYN to a port open on any IPv4 address", { { V4(syn), .port = V4_TCP, PASS(TCP_PORT) } } },
	{ "SYN to a port open on any IPv4 address", { { V6(syn), .port = V4_TCP, DROP(TCP_CLOSED) } } },
	{ "SYN to a port open on any IPv6 address", { { V6(syn), .port = V6_TCP, PASS(TCP_PORT) } } },
	{ "SYN to a port open on any IPv6 address", { { V4(syn), .port = V6_TCP, DROP(TCP_CLOSED) } } },
	{ "a reply from a port open on any IPv6 address", { { V6(sent_by_host), .port = V6_TCP, EGRESS(SERVER) } } },
	{ "a reply from a port open on any IPv6 address", { { V4(sent_by_host), .port = V6_TCP, EGRESS(TRACKED) } } },
	{ "parameter problem about a reply from a port open on any IPv4 address",
	  { { V4(icmp_error), .arg = ICMP(12, 0), .port = V4_TCP, PASS(ICMP_ERROR) } } },
	{ "parameter problem about a reply from a port open on any IPv4 address",
	  { { V6(icmp_error), .arg = ICMP(4, 0), .port = V4_TCP, DROP(ICMP_UNMATCHED) } } },
	/* DHCP replies reach a client that binds no port; requests and other sources do not. */
	{ "DHCP OFFER to the broadcast address",
	  { { V4(udp_from), .src = "192.0.2.1", .addr = "255.255.255.255", .arg = 67, .port = 68, PASS(DHCP_REPLY) } } },
	{ "DHCP OFFER to the offered address",
	  { { V4(udp_from), .src = "192.0.2.1", .arg = 67, .port = 68, PASS(DHCP_REPLY) } } },
	{ "DHCP request direction, client to server port",
	  { { V4(udp_from), .addr = "255.255.255.255", .arg = 68, .port = 67, DROP(UDP_CLOSED) } } },
	{ "DHCP server port to another closed port", { { V4(udp_from), .arg = 67, .port = 69, DROP(UDP_CLOSED) } } },
	{ "DHCPv6 reply from a link-local server",
	  { { V6(udp_from), .src = "fe80::1", .addr = "fe80::10", .arg = 547, .port = 546, PASS(DHCP_REPLY) } } },
	{ "DHCPv6 reply from the top of fe80::/10",
	  { { V6(udp_from), .src = "febf::1", .arg = 547, .port = 546, PASS(DHCP_REPLY) } } },
	{ "DHCPv6 reply from a global source", { { V6(udp_from), .arg = 547, .port = 546, DROP(UDP_CLOSED) } } },
	{ "DHCPv6 reply from just above fe80::/10",
	  { { V6(udp_from), .src = "fec0::1", .arg = 547, .port = 546, DROP(UDP_CLOSED) } } },
	{ "DHCPv6 request direction from link-local",
	  { { V6(udp_from), .src = "fe80::1", .addr = "ff02::1:2", .arg = 546, .port = 547, DROP(UDP_CLOSED) } } },
	{ "DHCP ports across families: 67 -> 68 over IPv6",
	  { { V6(udp_from), .src = "fe80::1", .arg = 67, .port = 68, DROP(UDP_CLOSED) } } },
	{ "DHCP ports across families: 547 -> 546 over IPv4",
	  { { V4(udp_from), .src = "192.0.2.1", .arg = 547, .port = 546, DROP(UDP_CLOSED) } } },
	{ "UDP length 7", { { V4(udp_damaged), .arg = UDP_LEN_BELOW_HEADER, DROP(UDP_MALFORMED) } } },
	{ "UDP length beyond the datagram", { { V4(udp_damaged), .arg = UDP_LEN_BEYOND_DATAGRAM, DROP(UDP_MALFORMED) } } },
	{ "UDP length beyond the datagram", { { V6(udp_damaged), .arg = UDP_LEN_BEYOND_DATAGRAM, DROP(UDP_MALFORMED) } } },
	{ "UDP source port 0", { { V4(udp_damaged), .arg = UDP_SPORT_0, DROP(UDP_MALFORMED) } } },
	{ "UDP destination port 0", { { V6(udp_damaged), .arg = UDP_DPORT_0, DROP(UDP_MALFORMED) } } },
	{ "UDP header beyond the IP length", { { V4(l4_in_padding), .l4 = IPPROTO_UDP, DROP(UDP_MALFORMED) } } },
	{ "UDP header beyond the IP length", { { V6(l4_in_padding), .l4 = IPPROTO_UDP, DROP(UDP_MALFORMED) } } },

	/* ICMP. */
	{ "fragmentation needed (3/4) about a reply from an open port",
	  { { V4(icmp_error), .arg = ICMP(3, 4), .port = OPEN_TCP, PASS(ICMP_ERROR) } } },
	{ "port unreachable (3/3) about a datagram of the host's UDP flow",
	  { { V4(sent_by_host), .l4 = IPPROTO_UDP, .port = EPHEMERAL + 1, EGRESS(TRACKED) },
	    { V4(icmp_error), .arg = ICMP(3, 3), .l4 = IPPROTO_UDP, .port = EPHEMERAL + 1, PASS(ICMP_ERROR) } } },
	{ "time exceeded (11) about a segment of the host's TCP flow",
	  { { V4(sent_by_host), .port = EPHEMERAL + 1, EGRESS(TRACKED) },
	    { V4(icmp_error), .arg = ICMP(11, 0), .port = EPHEMERAL + 1, PASS(ICMP_ERROR) } } },
	{ "parameter problem (12) about a reply from an open port",
	  { { V4(icmp_error), .arg = ICMP(12, 0), .port = OPEN_TCP, PASS(ICMP_ERROR) } } },
	{ "fragmentation needed about a segment the host never sent",
	  { { V4(icmp_error), .arg = ICMP(3, 4), .port = EPHEMERAL + 1, DROP(ICMP_UNMATCHED) } } },
	{ "port unreachable quoting nothing", { { V4(icmp), .arg = ICMP(3, 3), DROP(ICMP_MALFORMED) } } },
	{ "echo request", { { V4(icmp), .arg = ICMP(8, 0), PASS(ICMP_ECHO) } } },
	{ "echo reply without a request", { { V4(icmp), .arg = ICMP(0, 0), DROP(ICMP_OTHER) } } },
	{ "echo reply to the host's request",
	  { { V4(echo_out), EGRESS(TRACKED) }, { V4(icmp), .arg = ICMP(0, 0), PASS(ICMP_FLOW) } } },
	{ "redirect (5)", { { V4(icmp), .arg = ICMP(5, 1), DROP(ICMP_OTHER) } } },
	{ "source quench (4)", { { V4(icmp), .arg = ICMP(4, 0), DROP(ICMP_OTHER) } } },
	{ "timestamp request (13)", { { V4(icmp), .arg = ICMP(13, 0), DROP(ICMP_OTHER) } } },
	{ "ICMP header cut by the frame", { { V4(icmp_cut), DROP(ICMP_MALFORMED) } } },
	{ "ICMPv6 inside IPv4", { { V4(proto), .arg = IPPROTO_ICMPV6, DROP(PROTO) } } },

	/* ICMPv6. */
	{ "destination unreachable (1) about a reply from an open port",
	  { { V6(icmp_error), .arg = ICMP(1, 4), .port = OPEN_TCP, PASS(ICMP_ERROR) } } },
	{ "packet too big (2) about a datagram of the host's UDP flow",
	  { { V6(sent_by_host), .l4 = IPPROTO_UDP, .port = EPHEMERAL + 1, EGRESS(TRACKED) },
	    { V6(icmp_error), .arg = ICMP(2, 0), .l4 = IPPROTO_UDP, .port = EPHEMERAL + 1, PASS(ICMP_ERROR) } } },
	{ "time exceeded (3) about a segment of the host's TCP flow",
	  { { V6(sent_by_host), .port = EPHEMERAL + 1, EGRESS(TRACKED) },
	    { V6(icmp_error), .arg = ICMP(3, 0), .port = EPHEMERAL + 1, PASS(ICMP_ERROR) } } },
	{ "parameter problem (4) about a reply from an open port",
	  { { V6(icmp_error), .arg = ICMP(4, 1), .port = OPEN_TCP, PASS(ICMP_ERROR) } } },
	{ "packet too big about a datagram the host never sent",
	  { { V6(icmp_error), .arg = ICMP(2, 0), .l4 = IPPROTO_UDP, .port = EPHEMERAL + 1, DROP(ICMP_UNMATCHED) } } },
	{ "echo request (128)", { { V6(icmp), .arg = ICMP(128, 0), PASS(ICMP_ECHO) } } },
	{ "echo reply without a request (129)", { { V6(icmp), .arg = ICMP(129, 0), DROP(ICMP_OTHER) } } },
	{ "echo reply to the host's request",
	  { { V6(echo_out), EGRESS(TRACKED) }, { V6(icmp), .arg = ICMP(129, 0), PASS(ICMP_FLOW) } } },
	{ "router solicitation (133)", { { V6(icmp), .arg = ICMP(133, 0), PASS(NDP) } } },
	{ "router advertisement (134)", { { V6(icmp), .arg = ICMP(134, 0), PASS(NDP) } } },
	{ "neighbour solicitation (135)", { { V6(icmp), .arg = ICMP(135, 0), PASS(NDP) } } },
	{ "neighbour advertisement (136)", { { V6(icmp), .arg = ICMP(136, 0), PASS(NDP) } } },
	{ "MLD query (130)", { { V6(icmp), .arg = ICMP(130, 0), PASS(NDP) } } },
	{ "MLD report (131)", { { V6(icmp), .arg = ICMP(131, 0), PASS(NDP) } } },
	{ "MLD done (132)", { { V6(icmp), .arg = ICMP(132, 0), PASS(NDP) } } },
	{ "MLDv2 report (143)", { { V6(icmp), .arg = ICMP(143, 0), PASS(NDP) } } },
	{ "redirect (137)", { { V6(icmp), .arg = ICMP(137, 0), DROP(ICMP_OTHER) } } },
	{ "unassigned ICMPv6 type 200", { { V6(icmp), .arg = ICMP(200, 0), DROP(ICMP_OTHER) } } },
	{ "ICMPv6 header cut by the frame", { { V6(icmp_cut), DROP(ICMP_MALFORMED) } } },
	{ "ICMP (v4) inside IPv6", { { V6(proto), .arg = IPPROTO_ICMP, DROP(PROTO) } } },

	/* Other protocols. */
	{ "GRE", { { V4(proto), .arg = IPPROTO_GRE, DROP(PROTO) } } },
	{ "ESP", { { V4(proto), .arg = IPPROTO_ESP, DROP(PROTO) } } },
	{ "ESP", { { V6(proto), .arg = IPPROTO_ESP, DROP(PROTO) } } },
	{ "SCTP", { { V6(proto), .arg = IPPROTO_SCTP, DROP(PROTO) } } },

	/* Fragments: a later fragment follows the verdict on its first. */
	{ "first fragment to an open port, then a later one",
	  { { V4(frag_first), .port = OPEN_TCP, PASS(TCP_PORT) }, { V4(frag_later), .port = OPEN_TCP, PASS(FRAGMENT) } } },
	{ "first fragment to an open port, then a later one",
	  { { V6(frag_first), .port = OPEN_TCP, PASS(TCP_PORT) }, { V6(frag_later), .port = OPEN_TCP, PASS(FRAGMENT) } } },
	{ "UDP first fragment to an open port, then a later one",
	  { { V4(frag_first), .l4 = IPPROTO_UDP, .port = OPEN_UDP, PASS(UDP_PORT) },
	    { V4(frag_later), .l4 = IPPROTO_UDP, .port = OPEN_UDP, PASS(FRAGMENT) } } },
	{ "UDP first fragment to an open port, then a later one",
	  { { V6(frag_first), .l4 = IPPROTO_UDP, .port = OPEN_UDP, PASS(UDP_PORT) },
	    { V6(frag_later), .l4 = IPPROTO_UDP, .port = OPEN_UDP, PASS(FRAGMENT) } } },
	{ "later fragment without a first", { { V4(frag_later), .port = OPEN_TCP, DROP(FRAG_ORPHAN) } } },
	{ "later fragment without a first", { { V6(frag_later), .port = OPEN_TCP, DROP(FRAG_ORPHAN) } } },
	{ "later fragment before its first",
	  { { V4(frag_later), .port = OPEN_TCP, DROP(FRAG_ORPHAN) }, { V4(frag_first), .port = OPEN_TCP, PASS(TCP_PORT) },
	    { V4(frag_later), .port = OPEN_TCP, PASS(FRAGMENT) } } },
	{ "later fragment before its first",
	  { { V6(frag_later), .port = OPEN_TCP, DROP(FRAG_ORPHAN) }, { V6(frag_first), .port = OPEN_TCP, PASS(TCP_PORT) },
	    { V6(frag_later), .port = OPEN_TCP, PASS(FRAGMENT) } } },
	{ "first fragment to a closed port, then a later one",
	  { { V4(frag_first), .port = CLOSED_TCP, DROP(TCP_CLOSED) }, { V4(frag_later), .port = CLOSED_TCP, DROP(FRAG_ORPHAN) } } },
	{ "first fragment to a closed port, then a later one",
	  { { V6(frag_first), .port = CLOSED_TCP, DROP(TCP_CLOSED) }, { V6(frag_later), .port = CLOSED_TCP, DROP(FRAG_ORPHAN) } } },
	{ "later fragment of another datagram",
	  { { V4(frag_first), .port = OPEN_TCP, PASS(TCP_PORT) }, { V4(frag_later), .arg = 1, .port = OPEN_TCP, DROP(FRAG_ORPHAN) } } },
	{ "later fragment of another datagram",
	  { { V6(frag_first), .port = OPEN_TCP, PASS(TCP_PORT) }, { V6(frag_later), .arg = 1, .port = OPEN_TCP, DROP(FRAG_ORPHAN) } } },
	{ "first fragment too short for the TCP header",
	  { { V4(frag_first_8), .port = OPEN_TCP, DROP(TCP_MALFORMED) }, { V4(frag_later), .port = OPEN_TCP, DROP(FRAG_ORPHAN) } } },
	{ "first fragment too short for the TCP header",
	  { { V6(frag_first_8), .port = OPEN_TCP, DROP(TCP_MALFORMED) }, { V6(frag_later), .port = OPEN_TCP, DROP(FRAG_ORPHAN) } } },

	/*
	 * An L4 header read from link padding beyond the IP length: the kernel
	 * trims the padding and would find no header, so nothing may pass by it.
	 */
	{ "ICMP header beyond the IP length", { { V4(l4_in_padding), .l4 = IPPROTO_ICMP, DROP(ICMP_MALFORMED) } } },
	{ "ICMPv6 header beyond the IP length", { { V6(l4_in_padding), .l4 = IPPROTO_ICMPV6, DROP(ICMP_MALFORMED) } } },
	{ "UDP first fragment, header beyond the IP length", { { V4(udp_first_frag_in_padding), DROP(UDP_MALFORMED) } } },
	{ "UDP first fragment, header beyond the IP length", { { V6(udp_first_frag_in_padding), DROP(UDP_MALFORMED) } } },
};

ParameterizedTestParameters(ingress, scenario)
{
	static size_t index[ARRAY_SIZE(scenarios)];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(scenarios); i++)
		index[i] = i;
	return cr_make_param_array(size_t, index, ARRAY_SIZE(index));
}

ParameterizedTest(size_t *index, ingress, scenario, .init = setup, .fini = teardown)
{
	const struct scenario *sc = &scenarios[*index];
	const struct step *s;
	char why[256];
	struct pkt p;

	for (s = sc->steps; s < sc->steps + ARRAY_SIZE(sc->steps) && s->build; s++) {
		s->build(&p, s);
		cr_assert(!dpt_expect(&T, s->hook, &p, s->retval, s->reason, why, sizeof(why)),
			  "%s (IPv%d), packet %d of %d bytes: %s", sc->name, s->family, (int)(s - sc->steps) + 1,
			  (int)p.len, why);
	}
}

/* The allow-list is read per packet: a port closed by the daemon drops the next SYN. */
Test(ingress, closing_a_port, .init = setup, .fini = teardown)
{
	const struct step s = { V4(syn), .port = OPEN_TCP };
	char why[256];
	struct pkt p;

	syn(&p, &s);
	cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_PASS, AXDP_PASS_TCP_PORT, why, sizeof(why)), "port open: %s", why);
	cr_assert_eq(dpt_port_close(&T, AXDP_L4_TCP, OPEN_TCP), 0);
	cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_DROP, AXDP_DROP_TCP_CLOSED, why, sizeof(why)), "port closed: %s", why);
}

/* Only a first fragment that passes admits its datagram; the later ones add nothing. */
Test(ingress, fragment_state, .init = setup, .fini = teardown)
{
	const struct step closed = { V4(frag_first), .port = CLOSED_TCP }, open = { V4(frag_first), .port = OPEN_TCP };
	const struct step later = { V4(frag_later), .port = OPEN_TCP };
	char why[256];
	struct pkt p;

	frag_first(&p, &closed);
	cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_DROP, AXDP_DROP_TCP_CLOSED, why, sizeof(why)), "closed: %s", why);
	cr_assert_eq(dpt_frag_count(&T), 0, "a dropped first fragment admitted its datagram");
	frag_first(&p, &open);
	cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_PASS, AXDP_PASS_TCP_PORT, why, sizeof(why)), "open: %s", why);
	cr_assert_eq(dpt_frag_count(&T), 1, "a passed first fragment did not admit its datagram");
	frag_later(&p, &later);
	cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_PASS, AXDP_PASS_FRAGMENT, why, sizeof(why)), "later: %s", why);
	cr_assert_eq(dpt_frag_count(&T), 1, "a later fragment added state");
	cr_assert_eq(dpt_flow_count(&T), 0, "fragments created a flow");
}

/* The slot of an IPv6 datagram's copy in frag_cache6 (bpf/state.h), for a later fragment's step. */
static __u32 frag_copy_slot(const struct step *s, const __u32 *hash_key)
{
	struct axdp_frag_key key = { .src = dpt_addr(PKT_REMOTE6), .dst = dpt_addr(PKT_LOCAL6),
				     .id = htonl(FRAG_ID + (uint32_t)s->arg), .proto = IPPROTO_TCP };

	return axdp_hash_index(axdp_frag6_copy_hash(&key, hash_key), AXDP_FRAG_CACHE_BITS);
}

/*
 * Two IPv6 datagrams whose copies share a slot (found with the hash key
 * the test fixes): a later fragment of the second finds the first's copy
 * there and is still an orphan; once the second's first fragment passed,
 * both datagrams' later fragments pass, the first by its copy, the second
 * by its entry in fragments.
 */
Test(ingress, ipv6_datagrams_sharing_a_copy_slot)
{
	static const __u32 hash_key[AXDP_HASH_KEY_WORDS] = { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822,
							     0x299f31d0, 0x082efa98, 0xec4e6c89, 0x452821e6, 0x38d01377 };
	struct axdp_knobs knobs = AXDP_KNOBS_DEFAULT;
	struct step first = { V6(frag_first), .port = OPEN_TCP }, later = { V6(frag_later), .port = OPEN_TCP };
	struct step other_first = first, other_later = later;
	char why[256];
	struct pkt p;

	memcpy(knobs.hash_key, hash_key, sizeof(hash_key));
	cr_assert_eq(dpt_load(&T, &knobs), 0, "loading the data path: %s", T.err);
	cr_assert_eq(dpt_port_open(&T, AXDP_L4_TCP, OPEN_TCP), 0);
	for (other_later.arg = 1; other_later.arg < 1 << 20; other_later.arg++)
		if (frag_copy_slot(&other_later, hash_key) == frag_copy_slot(&later, hash_key))
			break;
	cr_assert_lt(other_later.arg, 1 << 20, "test bug: no fragment id shares the copy slot of %#x", FRAG_ID);
	other_first.arg = other_later.arg;

	frag_first(&p, &first);
	cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_PASS, AXDP_PASS_TCP_PORT, why, sizeof(why)), "first: %s", why);
	frag_later(&p, &other_later);
	cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_DROP, AXDP_DROP_FRAG_ORPHAN, why, sizeof(why)),
		  "a later fragment of another datagram in the first's slot: %s", why);
	frag_first(&p, &other_first);
	cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_PASS, AXDP_PASS_TCP_PORT, why, sizeof(why)), "other first: %s", why);
	frag_later(&p, &later);
	cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_PASS, AXDP_PASS_FRAGMENT, why, sizeof(why)), "later: %s", why);
	frag_later(&p, &other_later);
	cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_PASS, AXDP_PASS_FRAGMENT, why, sizeof(why)), "other later: %s", why);
	dpt_unload(&T);
}

/*
 * A SYN to an open port, cut at every length a test run accepts (an
 * Ethernet header and more): nothing passes, and the reason names the
 * layer the cut fell in.  relength also shrinks the IP length to the
 * frame once the IP header is whole, as a sender could, so the cut
 * reaches the extension headers and TCP instead of the IP length check.
 */
struct cut {
	int family;
	bool relength;
};

ParameterizedTestParameters(ingress, truncated)
{
	static struct cut cuts[] = { { 4, false }, { 4, true }, { 6, false }, { 6, true } };

	return cr_make_param_array(struct cut, cuts, ARRAY_SIZE(cuts));
}

static void options_syn(struct pkt *p, int family)
{
	static const uint8_t ip_opts[] = { 0x94, 4, 0, 0 };
	static const uint8_t tcp_opts[] = { 2, 4, 0x05, 0xb4 };

	pkt_init(p);
	pkt_eth(p);
	if (family == 4) {
		pkt_ipv4(p, &(struct pkt_ipv4_opts){ .options = ip_opts, .options_len = sizeof(ip_opts) });
	} else {
		pkt_ipv6(p, &(struct pkt_ipv6_opts){ 0 });
		pkt_ipv6_ext(p, IPPROTO_HOPOPTS, 8);
	}
	pkt_tcp(p, &(struct pkt_tcp_opts){ .sport = EPHEMERAL, .dport = OPEN_TCP, .flags = PKT_TCP_SYN,
					   .options = tcp_opts, .options_len = sizeof(tcp_opts) });
}

static int cut_reason(const struct pkt *whole, size_t len, bool relength)
{
	int ip_malformed = whole->ip_version == 4 ? AXDP_DROP_IPV4_MALFORMED : AXDP_DROP_IPV6_MALFORMED;

	if (!relength || len <= whole->l3_off + whole->l3_hlen)
		return ip_malformed;
	if (len < whole->l4_off)
		return AXDP_DROP_IPV6_EXTHDR;
	return AXDP_DROP_TCP_MALFORMED;
}

ParameterizedTest(struct cut *c, ingress, truncated, .init = setup, .fini = teardown)
{
	struct pkt whole, p;
	char why[256];
	size_t len;

	options_syn(&whole, c->family);
	cr_assert(!dpt_expect(&T, DPT_XDP, &whole, XDP_PASS, AXDP_PASS_TCP_PORT, why, sizeof(why)),
		  "IPv%d SYN before cutting: %s", c->family, why);
	for (len = 14; len < whole.len; len++) {
		p = whole;
		pkt_truncate(&p, len);
		if (c->relength && len > p.l3_off + p.l3_hlen)
			pkt_set_ip_len(&p, (uint16_t)(len - p.l3_off - (c->family == 6 ? p.l3_hlen : 0)));
		cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_DROP, cut_reason(&whole, len, c->relength), why, sizeof(why)),
			  "IPv%d SYN cut to %zu of %zu bytes%s: %s", c->family, len, whole.len,
			  c->relength ? ", IP length following" : "", why);
	}
}

/* A client that binds port 68 opens it: its replies pass as to any open port. */
Test(ingress, dhcp_reply_to_an_open_port, .init = setup, .fini = teardown)
{
	const struct step s = { V4(udp_from), .src = "192.0.2.1", .arg = 67, .port = 68 };
	char why[256];
	struct pkt p;

	cr_assert_eq(dpt_port_open(&T, AXDP_L4_UDP, 68), 0);
	udp_from(&p, &s);
	cr_assert(!dpt_expect(&T, DPT_XDP, &p, XDP_PASS, AXDP_PASS_UDP_PORT, why, sizeof(why)), "%s", why);
}
