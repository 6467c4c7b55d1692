/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Sampled drop events.  Nobody reading: one map read per drop.  Someone
 * reading: at most knobs.events_per_cpu events per second per CPU, the
 * rest only counted as skipped, so a flood never turns into a flood of
 * events.
 */
#ifndef AXDP_EVENTS_H
#define AXDP_EVENTS_H

#include "clock.h"
#include "maps.h"
#include "parse.h"

static __always_inline bool someone_listens(__u64 *now)
{
	__u32 zero = 0;
	struct axdp_event_ctl *ctl = bpf_map_lookup_elem(&event_ctl, &zero);

	if (!ctl || !ctl->listen_until_ns)
		return false;
	*now = coarse_now();
	return *now < ctl->listen_until_ns;
}

/* The per-CPU budget; returns how many drops went unsampled before this one, or -1 to skip it. */
static __always_inline long take_budget(__u64 now)
{
	__u32 zero = 0, skipped;
	struct axdp_event_budget *b = bpf_map_lookup_elem(&event_budget, &zero);

	if (!b)
		return -1;
	if (now - b->window_ns >= AXDP_NSEC_PER_SEC) {
		b->window_ns = now;
		b->sent = 0;
	}
	if (b->sent >= knobs.events_per_cpu) {
		b->skipped++;
		return -1;
	}
	b->sent++;
	skipped = b->skipped;
	b->skipped = 0;
	return skipped;
}

/*
 * Addresses and ports for the log, read again on the rare sampled packet
 * rather than carried through the hot path.  A light look: the ports of
 * an IPv6 packet behind extension headers stay 0.
 */
static __always_inline void describe(struct axdp_drop_event *e, void *data, void *end)
{
	struct ethhdr *eth = data;
	struct vlan_tag *tag = (void *)(eth + 1);
	void *pos = eth + 1, *l4 = NULL;
	__be16 proto;
	__be16 *ports;

	if (pos > end)
		return;
	proto = eth->h_proto;
	if ((proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) && (void *)(tag + 1) <= end) {
		proto = tag->encapsulated_proto;
		pos = tag + 1;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = pos;

		if ((void *)(iph + 1) > end)
			return;
		addr_from_ipv4(&e->src, iph->saddr);
		addr_from_ipv4(&e->dst, iph->daddr);
		e->proto = iph->protocol;
		if (!(bpf_ntohs(iph->frag_off) & IP_OFFSET_MASK))
			l4 = pos + iph->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = pos;

		if ((void *)(ip6 + 1) > end)
			return;
		__builtin_memcpy(&e->src, &ip6->saddr, sizeof(e->src));
		__builtin_memcpy(&e->dst, &ip6->daddr, sizeof(e->dst));
		e->proto = ip6->nexthdr;
		e->ipv6 = 1;
		l4 = ip6 + 1;
	}
	ports = l4;
	if (ports && (e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP) && (void *)(ports + 2) <= end) {
		e->sport = bpf_ntohs(ports[0]);
		e->dport = bpf_ntohs(ports[1]);
	}
}

static __always_inline void sample_drop(void *data, void *end, __u32 ifindex, enum axdp_reason reason)
{
	struct axdp_drop_event *e;
	__u64 now;
	long skipped;

	if (!knobs.events_per_cpu || !someone_listens(&now))
		return;
	skipped = take_budget(now);
	if (skipped < 0)
		return;
	e = bpf_ringbuf_reserve(&drop_events, sizeof(*e), 0);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->ifindex = ifindex;
	e->skipped = skipped;
	e->reason = reason;
	e->flags = knobs.audit ? AXDP_EVENT_WOULD_DROP : 0;
	describe(e, data, end);
	bpf_ringbuf_submit(e, 0);
}

#endif
