/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The inbound decision tree.  Each function returns the reason of its
 * verdict; nothing passes for lack of a header to judge.
 */
#ifndef AXDP_INGRESS_H
#define AXDP_INGRESS_H

#include <linux/tcp.h>
#include <linux/udp.h>
#include "rate_limit.h"
#include "source_policy.h"
#include "state.h"

enum {
	ICMP_ECHOREPLY = 0,
	ICMP_DEST_UNREACH = 3,
	ICMP_ECHO = 8,
	ICMP_TIME_EXCEEDED = 11,
	ICMP_PARAMETERPROB = 12,
	ICMPV6_DEST_UNREACH = 1,
	ICMPV6_PKT_TOOBIG = 2,
	ICMPV6_TIME_EXCEED = 3,
	ICMPV6_PARAMPROB = 4,
	ICMPV6_ECHO_REQUEST = 128,
	ICMPV6_ECHO_REPLY = 129,
	ICMPV6_MGM_QUERY = 130,
	ICMPV6_MGM_REPORT = 131,
	ICMPV6_MGM_REDUCTION = 132,
	NDISC_ROUTER_SOLICITATION = 133,
	NDISC_ROUTER_ADVERTISEMENT = 134,
	NDISC_NEIGHBOUR_SOLICITATION = 135,
	NDISC_NEIGHBOUR_ADVERTISEMENT = 136,
	ICMPV6_MLD2_REPORT = 143,
};

/*
 * The packet belongs to a live flow the host opened: its copy says so,
 * or its conntrack entry does.  A copy past its timeout may be behind an
 * entry user space refreshed (the daemon seeds the kernel's connections),
 * so a miss of any kind asks conntrack.  A TCP or UDP port without a
 * recent flow skips that lookup: what a flood to closed ports pays.
 */
static __always_inline bool inbound_flow_alive(const struct packet *p, enum axdp_l4 l4, __be16 src_port,
					       __be16 dst_port)
{
	struct flow_key key;
	__u64 now = coarse_now();

	inbound_flow_key(&key, p, src_port, dst_port);
	if (flow_copy_alive(&key, now))
		return true;
	if (l4 != AXDP_L4_COUNT && no_flow_possible(l4, dst_port))
		return false;
	return flow_lookup(&key, now) != NULL;
}

/* Tiers spelled out so each rate is a constant the verifier can prune when it is off. */
static __always_inline bool syn_within_rate(const struct packet *p, __u16 port, __u32 tier)
{
	switch (tier) {
	case AXDP_TIER_NORMAL:
		return !knobs.syn[AXDP_TIER_NORMAL].interval_ns ||
		       source_within_rate(p, AXDP_L4_TCP, port, &knobs.syn[AXDP_TIER_NORMAL]);
	case AXDP_TIER_STRICT:
		return !knobs.syn[AXDP_TIER_STRICT].interval_ns ||
		       source_within_rate(p, AXDP_L4_TCP, port, &knobs.syn[AXDP_TIER_STRICT]);
	}
	return true;
}

static __always_inline enum axdp_reason judge_tcp(const struct packet *p, const struct axdp_policy *pol, void *end)
{
	const struct axdp_port_slot *slot;
	struct tcphdr *th = p->l4;
	__u32 doff;
	__u8 flags;

	if ((void *)(th + 1) > end)
		return AXDP_DROP_TCP_MALFORMED;
	doff = th->doff * 4;
	if (doff < sizeof(*th) || doff > p->l4_len || p->l4 + doff > end)
		return AXDP_DROP_TCP_MALFORMED;
	flags = ((__u8 *)th)[13];
	if (axdp_tcp_flags_malformed(flags) || !th->source || !th->dest)
		return AXDP_DROP_TCP_MALFORMED;

	slot = port_open(AXDP_L4_TCP, th->dest, &p->dst);
	if (slot) {
		if (source_is_local(pol, &p->src))
			return AXDP_DROP_MARTIAN;
		/* The bucket before the trust trie: a source within its rate never pays for the lookup. */
		if ((flags & (AXDP_TCP_SYN | AXDP_TCP_ACK)) == AXDP_TCP_SYN && !syn_within_rate(p, bpf_ntohs(th->dest), slot->tier) &&
		    !source_trusted(pol, &p->src))
			return AXDP_DROP_SYN_RATE;
		return AXDP_PASS_TCP_PORT;
	}
	if (knobs.trust_opens_tcp && source_trusted(pol, &p->src))
		return AXDP_PASS_TRUSTED;
	/* A bare SYN opens a connection; the host's own flows never receive one. */
	if ((flags & (AXDP_TCP_SYN | AXDP_TCP_ACK)) == AXDP_TCP_SYN)
		return AXDP_DROP_TCP_CLOSED;
	if (inbound_flow_alive(p, AXDP_L4_TCP, th->source, th->dest))
		return AXDP_PASS_TCP_FLOW;
	return AXDP_DROP_TCP_CLOSED;
}

/*
 * A reply from a DHCP server (or relay) to the host's DHCP client.  A
 * client that is acquiring or rebinding its lease listens on a raw or
 * packet socket and binds nothing to port 68 (546), so the port looks
 * closed; without its replies the host loses its address.  Only the
 * server-to-client direction, and for DHCPv6 only from a link-local
 * address, where RFC 8415 servers and relays answer from.
 */
static __always_inline bool dhcp_client_reply(const struct packet *p, const struct udphdr *uh)
{
	if (p->ipv6)
		return uh->source == bpf_htons(547) && uh->dest == bpf_htons(546) &&
		       (p->src.w[0] & bpf_htonl(0xffc00000)) == bpf_htonl(0xfe800000);
	return uh->source == bpf_htons(67) && uh->dest == bpf_htons(68);
}

static __always_inline enum axdp_reason judge_udp(const struct packet *p, const struct axdp_policy *pol, void *end)
{
	struct udphdr *uh = p->l4;
	__u32 len;

	if ((void *)(uh + 1) > end || p->l4_len < sizeof(*uh))
		return AXDP_DROP_UDP_MALFORMED;
	len = bpf_ntohs(uh->len);
	/* A first fragment carries only part of the datagram its length counts. */
	if (len < sizeof(*uh) || (p->frag == FRAG_NONE && len > p->l4_len) || !uh->source || !uh->dest)
		return AXDP_DROP_UDP_MALFORMED;

	if (port_open(AXDP_L4_UDP, uh->dest, &p->dst)) {
		if (source_is_local(pol, &p->src))
			return AXDP_DROP_MARTIAN;
		if (knobs.udp_source.interval_ns &&
		    !source_within_rate(p, AXDP_L4_UDP, bpf_ntohs(uh->dest), &knobs.udp_source) &&
		    !source_trusted(pol, &p->src))
			return AXDP_DROP_UDP_RATE;
		if ((knobs.udp_port_packets.interval_ns || knobs.udp_port_bytes.interval_ns) &&
		    !udp_port_within_budget(bpf_ntohs(uh->dest), p->l4_len))
			return AXDP_DROP_UDP_BUDGET;
		return AXDP_PASS_UDP_PORT;
	}
	if (knobs.dhcp_client && dhcp_client_reply(p, uh))
		return AXDP_PASS_DHCP_REPLY;
	if (inbound_flow_alive(p, AXDP_L4_UDP, uh->source, uh->dest))
		return AXDP_PASS_UDP_FLOW;
	return AXDP_DROP_UDP_CLOSED;
}

/*
 * Errors pass so path-MTU discovery and failing connects keep working;
 * echo requests pass (rate limits belong to flood defense); an echo reply
 * needs the request the host sent.  Everything else, redirects included,
 * is dropped.
 */
/*
 * An error must quote a packet the host sent: a reply from a port it
 * serves, or a packet of a flow it opened.  Anything else is someone
 * trying to lower a path MTU or reset a connection from afar.  A quoted
 * packet whose ports cannot be read (a later fragment, IPv6 extension
 * headers) passes: the kernel matches it to a socket or ignores it.
 */
static __always_inline enum axdp_reason judge_icmp_error(const struct packet *p, void *end)
{
	void *inner = p->l4 + sizeof(struct icmp_hdr), *l4;
	struct flow_key key;
	struct packet sent = { .ipv6 = p->ipv6 };
	__be16 *ports;

	if (p->ipv6) {
		struct ipv6hdr *ip6 = inner;

		if ((void *)(ip6 + 1) > end)
			return AXDP_DROP_ICMP_MALFORMED;
		__builtin_memcpy(&sent.src, &ip6->saddr, sizeof(sent.src));
		__builtin_memcpy(&sent.dst, &ip6->daddr, sizeof(sent.dst));
		sent.proto = ip6->nexthdr;
		l4 = ip6 + 1;
	} else {
		struct iphdr *iph = inner;

		if ((void *)(iph + 1) > end || iph->ihl < 5)
			return AXDP_DROP_ICMP_MALFORMED;
		if (bpf_ntohs(iph->frag_off) & IP_OFFSET_MASK)
			return AXDP_PASS_ICMP_ERROR;
		addr_from_ipv4(&sent.src, iph->saddr);
		addr_from_ipv4(&sent.dst, iph->daddr);
		sent.proto = iph->protocol;
		l4 = inner + iph->ihl * 4;
	}
	ports = l4;
	switch (sent.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		/* RFC 792 and 4443 quote at least the first 8 bytes of the packet. */
		if ((void *)(ports + 2) > end)
			return AXDP_DROP_ICMP_MALFORMED;
		if (port_open(sent.proto == IPPROTO_TCP ? AXDP_L4_TCP : AXDP_L4_UDP, ports[0], &sent.src))
			return AXDP_PASS_ICMP_ERROR;
		outbound_flow_key(&key, &sent, ports[0], ports[1]);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if ((void *)((struct icmp_hdr *)l4 + 1) > end)
			return AXDP_DROP_ICMP_MALFORMED;
		outbound_flow_key(&key, &sent, ((struct icmp_hdr *)l4)->echo_id, 0);
		break;
	default:
		return p->ipv6 ? AXDP_PASS_ICMP_ERROR : AXDP_DROP_ICMP_UNMATCHED;
	}
	if (flow_lookup(&key, coarse_now()))
		return AXDP_PASS_ICMP_ERROR;
	return AXDP_DROP_ICMP_UNMATCHED;
}

/* Echo requests are limited per CPU; trusted sources are exempt. */
static __always_inline enum axdp_reason echo_request(const struct packet *p, const struct axdp_policy *pol)
{
	if (knobs.icmp_echo.interval_ns && !source_trusted(pol, &p->src) && !echo_within_rate())
		return AXDP_DROP_ICMP_RATE;
	return AXDP_PASS_ICMP_ECHO;
}

static __always_inline enum axdp_reason judge_icmp(const struct packet *p, const struct axdp_policy *pol, void *end)
{
	struct icmp_hdr *ih = p->l4;

	/* Both bounds: bytes past the IP length are link padding, not header. */
	if ((void *)(ih + 1) > end || p->l4_len < sizeof(*ih))
		return AXDP_DROP_ICMP_MALFORMED;
	switch (ih->type) {
	case ICMP_DEST_UNREACH:
	case ICMP_TIME_EXCEEDED:
	case ICMP_PARAMETERPROB:
		return judge_icmp_error(p, end);
	case ICMP_ECHO:
		return echo_request(p, pol);
	case ICMP_ECHOREPLY:
		if (inbound_flow_alive(p, AXDP_L4_COUNT, 0, ih->echo_id))
			return AXDP_PASS_ICMP_FLOW;
	}
	return AXDP_DROP_ICMP_OTHER;
}

/*
 * As for ICMP, plus neighbour discovery and MLD, without which IPv6 does
 * not work at all.  Redirects are dropped in both families: a host with
 * one default router has no use for them, and they reroute its traffic.
 */
static __always_inline enum axdp_reason judge_icmpv6(const struct packet *p, const struct axdp_policy *pol, void *end)
{
	struct icmp_hdr *ih = p->l4;

	/* Both bounds: bytes past the IP length are link padding, not header. */
	if ((void *)(ih + 1) > end || p->l4_len < sizeof(*ih))
		return AXDP_DROP_ICMP_MALFORMED;
	switch (ih->type) {
	case ICMPV6_DEST_UNREACH:
	case ICMPV6_PKT_TOOBIG:
	case ICMPV6_TIME_EXCEED:
	case ICMPV6_PARAMPROB:
		return judge_icmp_error(p, end);
	case ICMPV6_ECHO_REQUEST:
		return echo_request(p, pol);
	case ICMPV6_MGM_QUERY:
	case ICMPV6_MGM_REPORT:
	case ICMPV6_MGM_REDUCTION:
	case ICMPV6_MLD2_REPORT:
	case NDISC_ROUTER_SOLICITATION:
	case NDISC_ROUTER_ADVERTISEMENT:
	case NDISC_NEIGHBOUR_SOLICITATION:
	case NDISC_NEIGHBOUR_ADVERTISEMENT:
		return AXDP_PASS_NDP;
	case ICMPV6_ECHO_REPLY:
		if (inbound_flow_alive(p, AXDP_L4_COUNT, 0, ih->echo_id))
			return AXDP_PASS_ICMP_FLOW;
	}
	return AXDP_DROP_ICMP_OTHER;
}

static __always_inline enum axdp_reason judge_later_fragment(const struct packet *p)
{
	struct axdp_frag *f = fragment_lookup(p);

	if (f && fragment_alive(f, coarse_now()))
		return AXDP_PASS_FRAGMENT;
	return AXDP_DROP_FRAG_ORPHAN;
}

static __always_inline void admit_fragments(const struct packet *p)
{
	struct axdp_frag f = { .first_seen_ns = coarse_now() };

	fragment_record(p, &f);
}

static __always_inline enum axdp_reason judge_l4(const struct packet *p, const struct axdp_policy *pol, void *end)
{
	switch (p->proto) {
	case IPPROTO_TCP:
		return judge_tcp(p, pol, end);
	case IPPROTO_UDP:
		return judge_udp(p, pol, end);
	case IPPROTO_ICMP:
		if (!p->ipv6)
			return judge_icmp(p, pol, end);
		break;
	case IPPROTO_ICMPV6:
		if (p->ipv6)
			return judge_icmpv6(p, pol, end);
		break;
	}
	return AXDP_DROP_PROTO;
}

/* The verdict on one frame; *bytes is what its counter counts (see struct packet). */
static __always_inline enum axdp_reason judge_inbound(void *data, void *end, __u32 *bytes)
{
	struct axdp_policy *pol;
	struct packet p;
	enum axdp_reason reason = parse_packet(data, end, &p);

	*bytes = p.bytes;
	if (reason != PARSED)
		return reason;
	/*
	 * Source policy first: a denied or impossible source gets no further
	 * look.  The policy entry always exists; its absence only satisfies
	 * the verifier, and then nothing passes.
	 */
	pol = policy_state();
	if (!pol || source_denied(pol, &p.src))
		return AXDP_DROP_DENIED;
	if (knobs.drop_martians && source_martian(&p))
		return AXDP_DROP_MARTIAN;
	if (p.frag == FRAG_LATER)
		return judge_later_fragment(&p);
	reason = judge_l4(&p, pol, end);
	if (p.frag == FRAG_FIRST && axdp_reason_action(reason) == AXDP_ACTION_pass)
		admit_fragments(&p);
	return reason;
}

#endif
