/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Rate limits by the generic cell rate algorithm: one timestamp per
 * bucket, no lock.  Per-source buckets are shared between CPUs and updated
 * with a plain store, so CPUs racing on one source can each let a unit
 * through: the limit holds within a factor of the CPUs receiving that
 * source.  Per-port and echo budgets are per CPU: each CPU gets the
 * configured rate divided by the number of CPUs.
 */
#ifndef AXDP_RATE_LIMIT_H
#define AXDP_RATE_LIMIT_H

#include "clock.h"
#include "maps.h"
#include "parse.h"

/* Returns true if cost units fit; moves the theoretical arrival time *tat when they do. */
static __always_inline bool gcra_allow(__u64 *tat, const volatile struct axdp_rate *r, __u64 now, __u64 cost)
{
	__u64 t = *tat > now ? *tat : now;

	if (t - now > r->tolerance_ns)
		return false;
	*tat = t + cost * r->interval_ns;
	return true;
}

static __always_inline bool slot_holds(const struct rate_slot *s, const struct axdp_addr *src, __u32 port_l4)
{
	return s->port_l4 == port_l4 && s->source.w[0] == src->w[0] && s->source.w[1] == src->w[1] &&
	       s->source.w[2] == src->w[2] && s->source.w[3] == src->w[3];
}

/*
 * The bucket of a source is an array slot, read inline, where a hash map
 * would cost a call and a hash per packet.  A source in neither slot of
 * its set takes the one idle longer (the earlier arrival time), as if an
 * LRU had evicted it: so a collision can only let a source begin a fresh
 * burst, never limit it by someone else's traffic, and a flood of
 * spoofed sources cannot lock a real client out.
 */
static __always_inline bool source_within_rate(const struct packet *p, enum axdp_l4 l4, __u16 port,
					       const volatile struct axdp_rate *r)
{
	const volatile struct axdp_addr *mask = p->ipv6 ? &knobs.source_mask_v6 : &knobs.source_mask_v4;
	struct axdp_addr src = { { p->src.w[0] & mask->w[0], p->src.w[1] & mask->w[1], p->src.w[2] & mask->w[2],
				   p->src.w[3] & mask->w[3] } };
	__u32 port_l4 = (__u32)port << 8 | l4;
	__u32 idx = axdp_rate_set(&src, port_l4, knobs.hash_key);
	struct rate_set *set = bpf_map_lookup_elem(&rate_sets, &idx);
	__u64 now = coarse_now();
	struct rate_slot *s;

	if (!set)
		return true;
	s = &set->way[0];
	if (!slot_holds(s, &src, port_l4)) {
		s = &set->way[1];
		if (!slot_holds(s, &src, port_l4)) {
			s = set->way[0].tat <= set->way[1].tat ? &set->way[0] : &set->way[1];
			s->source = src;
			s->port_l4 = port_l4;
			s->tat = now + r->interval_ns;
			return true;
		}
	}
	return gcra_allow(&s->tat, r, now, 1);
}

static __always_inline bool udp_port_within_budget(__u16 port, __u32 bytes)
{
	__u32 key = port;
	struct cpu_buckets *b = bpf_map_lookup_elem(&udp_port_buckets, &key);
	__u64 now = coarse_now();

	if (!b)
		return true;
	if (knobs.udp_port_packets.interval_ns && !gcra_allow(&b->packets_tat, &knobs.udp_port_packets, now, 1))
		return false;
	return !knobs.udp_port_bytes.interval_ns || gcra_allow(&b->bytes_tat, &knobs.udp_port_bytes, now, bytes);
}

static __always_inline bool echo_within_rate(void)
{
	__u32 zero = 0;
	struct cpu_buckets *b = bpf_map_lookup_elem(&echo_buckets, &zero);

	return !b || gcra_allow(&b->packets_tat, &knobs.icmp_echo, coarse_now(), 1);
}

#endif
