/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Outbound tracking: the flows the host opens are recorded before their
 * first packet leaves, so the reply finds its entry.  Only egress creates
 * or removes flows, which is why a spoofed inbound RST or FIN cannot tear
 * one down.
 */
#ifndef AXDP_EGRESS_H
#define AXDP_EGRESS_H

#include <linux/tcp.h>
#include <linux/udp.h>
#include "ingress.h"

/* Refreshing an entry at most this often keeps egress from writing it per packet. */
#define FLOW_REFRESH_NS AXDP_NSEC_PER_SEC

/* Keeps flow_ports and egress_clock current for no_flow_possible(), at most once a second each. */
static __always_inline void mark_flow_port(const struct flow_key *key, __u64 now)
{
	__u32 zero = 0, idx = (key->proto == IPPROTO_UDP ? AXDP_L4_UDP : AXDP_L4_TCP) * AXDP_PORTS +
			      bpf_ntohs(key->local_port);
	__u64 *seen = bpf_map_lookup_elem(&flow_ports, &idx);
	__u64 *clock = bpf_map_lookup_elem(&egress_clock, &zero);

	if (seen && (__s64)(now - *seen) > (__s64)CLOCK_STEP_NS)
		*seen = now;
	if (clock && (__s64)(now - *clock) > (__s64)CLOCK_STEP_NS)
		*clock = now;
}

/* flags are added to the entry's, after clearing those not in keep. */
static __always_inline enum axdp_reason record_flow(const struct flow_key *key, __u32 flags, __u32 keep)
{
	__u64 now = coarse_now();
	struct axdp_flow *f = flow_lookup(key, now);
	struct axdp_flow fresh = { .last_seen_ns = now, .flags = flags };
	__u32 next;

	if (key->proto == IPPROTO_TCP || key->proto == IPPROTO_UDP)
		mark_flow_port(key, now);
	if (!f) {
		flow_record(key, &fresh, now);
		return AXDP_EGRESS_TRACKED;
	}
	next = (f->flags & keep) | flags;
	if (next != f->flags)
		f->flags = next;
	if ((__s64)(now - f->last_seen_ns) > (__s64)FLOW_REFRESH_NS)
		f->last_seen_ns = now;
	flow_copy_keep(key, f, now);
	return AXDP_EGRESS_TRACKED;
}

static __always_inline enum axdp_reason track_tcp(const struct packet *p, void *end)
{
	struct flow_key key;
	struct tcphdr *th = p->l4;

	if ((void *)(th + 1) > end)
		return AXDP_EGRESS_OTHER;
	/* Replies from a listening port pass inbound by the allow-list already. */
	if (port_open(AXDP_L4_TCP, th->source, &p->src))
		return AXDP_EGRESS_SERVER;
	outbound_flow_key(&key, p, th->source, th->dest);
	if (th->rst) {
		flow_forget(&key);
		return AXDP_EGRESS_CLOSED;
	}
	/* A new connection on a reused tuple starts with the full timeout again. */
	if (th->syn && !th->ack)
		return record_flow(&key, 0, 0);
	return record_flow(&key, th->fin ? AXDP_FLOW_CLOSING : 0, ~0u);
}

static __always_inline enum axdp_reason track_udp(const struct packet *p, void *end)
{
	struct flow_key key;
	struct udphdr *uh = p->l4;

	if ((void *)(uh + 1) > end)
		return AXDP_EGRESS_OTHER;
	if (port_open(AXDP_L4_UDP, uh->source, &p->src))
		return AXDP_EGRESS_SERVER;
	outbound_flow_key(&key, p, uh->source, uh->dest);
	return record_flow(&key, 0, ~0u);
}

/* An echo request awaits its reply under its identifier, as if it were a port. */
static __always_inline enum axdp_reason track_echo(const struct packet *p, void *end)
{
	struct flow_key key;
	struct icmp_hdr *ih = p->l4;
	__u8 echo = p->ipv6 ? ICMPV6_ECHO_REQUEST : ICMP_ECHO;

	if ((void *)(ih + 1) > end || ih->type != echo)
		return AXDP_EGRESS_OTHER;
	outbound_flow_key(&key, p, ih->echo_id, 0);
	return record_flow(&key, 0, ~0u);
}

static __always_inline enum axdp_reason track_outbound(void *data, void *end)
{
	struct packet p;

	if (parse_packet(data, end, &p) != PARSED || p.frag == FRAG_LATER)
		return AXDP_EGRESS_OTHER;
	switch (p.proto) {
	case IPPROTO_TCP:
		return track_tcp(&p, end);
	case IPPROTO_UDP:
		return track_udp(&p, end);
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return track_echo(&p, end);
	}
	return AXDP_EGRESS_OTHER;
}

#endif
