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

static __always_inline bool source_within_rate(const struct packet *p, enum axdp_l4 l4, __u16 port,
					       const volatile struct axdp_rate *r)
{
	const volatile struct axdp_addr *mask = p->ipv6 ? &knobs.source_mask_v6 : &knobs.source_mask_v4;
	struct axdp_rate_key key = {
		.source.w = { p->src.w[0] & mask->w[0], p->src.w[1] & mask->w[1],
			      p->src.w[2] & mask->w[2], p->src.w[3] & mask->w[3] },
		.port = port,
		.l4 = l4,
	};
	__u64 now = bpf_ktime_get_coarse_ns(), *tat = bpf_map_lookup_elem(&rate_sources, &key);
	__u64 first = now + r->interval_ns;

	if (!tat) {
		bpf_map_update_elem(&rate_sources, &key, &first, BPF_ANY);
		return true;
	}
	return gcra_allow(tat, r, now, 1);
}

static __always_inline bool udp_port_within_budget(__u16 port, __u32 bytes)
{
	__u32 key = port;
	struct cpu_buckets *b = bpf_map_lookup_elem(&udp_port_buckets, &key);
	__u64 now = bpf_ktime_get_coarse_ns();

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

	return !b || gcra_allow(&b->packets_tat, &knobs.icmp_echo, bpf_ktime_get_coarse_ns(), 1);
}

#endif
