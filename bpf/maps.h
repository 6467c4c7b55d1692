/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/* The maps the data path shares with user space, pinned by name so restarts keep state. */
#ifndef AXDP_MAPS_H
#define AXDP_MAPS_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "autoxdp_abi.h"

const volatile struct axdp_knobs knobs = AXDP_KNOBS_DEFAULT;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AXDP_IFACE_SLOTS * AXDP_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, struct axdp_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AXDP_L4_COUNT * AXDP_PORTS);
	__type(key, __u32);
	__type(value, struct axdp_port_slot);
	/* The daemon reconciles all 131072 slots through a mapping, not syscalls. */
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} port_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AXDP_ADDR_PORT_ENTRIES);
	__type(key, struct axdp_addr_port);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} addr_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AXDP_CT_ENTRIES);
	__type(key, struct axdp_flow_key);
	__type(value, struct axdp_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AXDP_CT_ENTRIES);
	__type(key, struct axdp_flow4_key);
	__type(value, struct axdp_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack4 SEC(".maps");

/*
 * Copies of conntrack's entries at the index of their key's keyed hash
 * (bpf/flows.h).  Not pinned: the hash key is drawn at each load, so the
 * slots of the previous program would mean nothing to the next.
 * Mappable so a test can clear them when it rewrites an entry.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << AXDP_FLOW_CACHE_BITS);
	__type(key, __u32);
	__type(value, struct axdp_flow_copy4);
	__uint(map_flags, BPF_F_MMAPABLE);
} flow_cache4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << AXDP_FLOW_CACHE_BITS);
	__type(key, __u32);
	__type(value, struct axdp_flow_copy6);
	__uint(map_flags, BPF_F_MMAPABLE);
} flow_cache6 SEC(".maps");

/* The same for the IPv6 datagrams in fragments (bpf/state.h): their key is as long as a flow's. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << AXDP_FRAG_CACHE_BITS);
	__type(key, __u32);
	__type(value, struct axdp_frag_copy6);
	__uint(map_flags, BPF_F_MMAPABLE);
} frag_cache6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AXDP_L4_COUNT * AXDP_PORTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flow_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_clock SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AXDP_FRAG_ENTRIES);
	__type(key, struct axdp_frag_key);
	__type(value, struct axdp_frag);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragments SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AXDP_FRAG_ENTRIES);
	__type(key, struct axdp_frag4_key);
	__type(value, struct axdp_frag);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragments4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, AXDP_BIND_EXCLUDE_ENTRIES);
	__type(key, struct axdp_lpm_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bind_exclude SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AXDP_SOCK_ENTRIES);
	__type(key, __u64);
	__type(value, struct axdp_sock_bind);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} udp_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, AXDP_SOCK_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sock_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct axdp_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy SEC(".maps");

#define LPM_MAP(name, entries)                                  \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);            \
		__uint(max_entries, entries);                   \
		__type(key, struct axdp_lpm_key);               \
		__type(value, __u8);                            \
		__uint(map_flags, BPF_F_NO_PREALLOC);           \
		__uint(pinning, LIBBPF_PIN_BY_NAME);            \
	} name SEC(".maps")

/* The deny list's prefixes, per generation; its single addresses are in the exact sets below. */
LPM_MAP(deny_0, AXDP_DENY_ENTRIES);
LPM_MAP(deny_1, AXDP_DENY_ENTRIES);
/* Runtime bans, changed entry by entry by axdp and the daemon's expiry (src/shared/bans.c); deny_clear gates them. */
LPM_MAP(bans, AXDP_BAN_ENTRIES);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AXDP_DENY_CLEAR_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	/* The daemon rewrites all 4 MiB at each change of the bans through a mapping, not syscalls. */
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} deny_clear SEC(".maps");

/* Per generation: what each source bucket may hold (enum axdp_deny_state), the seen bits; written through a mapping. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * AXDP_DENY_GEN_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} deny_state SEC(".maps");

/*
 * The exact sets of the two generations.  The daemon creates each one
 * sized to its list (the template's capacity means nothing) and puts it
 * at the generation's index; an empty index is an empty set.
 */
#define EXACT_SETS(name, key_type)                              \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);       \
		__uint(max_entries, 2);                         \
		__type(key, __u32);                             \
		__uint(pinning, LIBBPF_PIN_BY_NAME);            \
		__array(values, struct {                        \
			__uint(type, BPF_MAP_TYPE_HASH);        \
			__uint(max_entries, 1);                 \
			__type(key, key_type);                  \
			__type(value, __u8);                    \
			__uint(map_flags, 0);                   \
		});                                             \
	} name SEC(".maps")

EXACT_SETS(deny_exact4, __be32);
EXACT_SETS(deny_exact6, struct axdp_addr);

LPM_MAP(trust, AXDP_TRUST_ENTRIES);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AXDP_LOCAL_ADDR_ENTRIES);
	__type(key, struct axdp_addr);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} local_addrs SEC(".maps");

/*
 * Per-source buckets, shared by all CPUs and updated without a lock, so
 * racing CPUs can let a few extra through (see autoxdp.conf(5)).  A slot
 * names the source it holds; a source has the two slots of its set (one
 * cache line), so two sources hashed together both keep their buckets.
 * Not pinned: a new hash key comes with each load, so the slots of the
 * previous program would mean nothing to the next.
 */
struct rate_slot {
	struct axdp_addr source;  /* masked by the knobs' source prefix */
	__u32 port_l4;            /* port << 8 | l4; 0: unused (port 0 never gets here) */
	__u32 pad;
	__u64 tat;                /* theoretical arrival time, coarse clock */
};

struct rate_set {
	struct rate_slot way[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AXDP_RATE_SETS);
	__type(key, __u32);
	__type(value, struct rate_set);
} rate_sets SEC(".maps");

/* Per-CPU buckets: [port] for UDP packets and bytes, [0] of echo for ICMP. */
struct cpu_buckets {
	__u64 packets_tat;
	__u64 bytes_tat;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AXDP_PORTS);
	__type(key, __u32);
	__type(value, struct cpu_buckets);
} udp_port_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_buckets);
} echo_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AXDP_IFINDEX_KEYS);
	__type(key, __u32);
	__type(value, struct axdp_iface_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} iface_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct axdp_event_ctl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} event_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct axdp_event_budget);
} event_budget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, AXDP_DROP_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drop_events SEC(".maps");

/* Mode=audit: of the drops counted above, those that passed; same layout as counters. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AXDP_IFACE_SLOTS * AXDP_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, struct axdp_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} audit_counters SEC(".maps");

/* Per-CPU slots: counting never touches a cache line another CPU writes. */
static __always_inline enum axdp_reason count_in(void *map, enum axdp_reason reason, __u32 ifindex, __u64 bytes)
{
	__u32 idx = ifindex % AXDP_IFINDEX_KEYS;
	struct axdp_iface_slot *s = bpf_map_lookup_elem(&iface_slots, &idx);
	__u32 key = reason;
	struct axdp_counter *c;

	if (s && s->ifindex == ifindex && s->slot < AXDP_IFACE_SLOTS)
		key += s->slot * AXDP_COUNTER_SLOTS;
	c = bpf_map_lookup_elem(map, &key);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	return reason;
}

static __always_inline enum axdp_reason count(enum axdp_reason reason, __u32 ifindex, __u64 bytes)
{
	return count_in(&counters, reason, ifindex, bytes);
}

#endif
