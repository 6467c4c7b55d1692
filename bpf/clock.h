/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The coarse monotonic clock without a helper call per packet.
 * bpf_ktime_get_coarse_ns() is a call, and calls are what a packet pays
 * for most on kernels that return through a mitigation thunk.  The
 * coarse clock only moves when the tick advances jiffies, and
 * bpf_jiffies64() is inlined into a single load: so each CPU keeps the
 * coarse time it read at the last jiffy it saw and calls the helper
 * again only when jiffies moves on.  The value is the helper's, at worst
 * one tick behind it (read in the instant between the two updates).
 */
#ifndef AXDP_CLOCK_H
#define AXDP_CLOCK_H

#include "maps.h"

struct tick_cache {
	__u64 jiffies;
	__u64 coarse_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tick_cache);
} tick_cache SEC(".maps");

static __always_inline __u64 coarse_now(void)
{
	__u32 zero = 0;
	struct tick_cache *t = bpf_map_lookup_elem(&tick_cache, &zero);
	__u64 j = bpf_jiffies64();

	if (!t)
		return bpf_ktime_get_coarse_ns();
	if (t->jiffies != j) {
		t->coarse_ns = bpf_ktime_get_coarse_ns();
		t->jiffies = j;
	}
	return t->coarse_ns;
}

#endif
