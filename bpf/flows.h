/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The flows the host opened.  conntrack and conntrack4 are the record:
 * egress creates, refreshes and removes their entries; ingress only reads
 * them.  A lookup there is a call into the kernel's hash table, whose
 * hashing, bucket walk and key compare are most of what a packet of an
 * established flow costs, so egress also keeps a copy of each entry in
 * flow_cache4 or flow_cache6, at the index of the key's keyed hash: for
 * ingress an inlined array read and a compare.  A copy is written only
 * where egress writes the entry, so it never says more than conntrack
 * did; a miss (another flow holds the slot) falls back to conntrack.
 */
#ifndef AXDP_FLOWS_H
#define AXDP_FLOWS_H

#include "clock.h"
#include "maps.h"
#include "parse.h"

/*
 * A flow's key for its family's map: IPv4 flows in conntrack4 (a 16-byte
 * key), IPv6 ones in conntrack.  proto and local_port beside it for who
 * needs them without knowing the family.  The keys first, 8-byte
 * aligned: copies are compared a double word at a time.
 */
struct flow_key {
	union {
		struct axdp_flow4_key v4;
		struct axdp_flow_key v6;
	} __attribute__((aligned(8)));
	bool ipv6;
	__u8 proto;
	__be16 local_port;
};

static __always_inline __u64 flow_timeout(__u8 proto, const struct axdp_flow *f)
{
	if (proto == IPPROTO_TCP)
		return (f->flags & AXDP_FLOW_CLOSING) ? knobs.tcp_closing_timeout_ns : knobs.tcp_timeout_ns;
	if (proto == IPPROTO_UDP)
		return knobs.udp_timeout_ns;
	return knobs.icmp_timeout_ns;
}

/*
 * A flow past its timeout is as good as absent; the LRU reclaims its
 * entry.  Signed: another CPU may stamp the entry after this one read
 * the clock.
 */
static __always_inline bool flow_alive(__u8 proto, const struct axdp_flow *f, __u64 now)
{
	return (__s64)(now - f->last_seen_ns) < (__s64)flow_timeout(proto, f);
}

static __always_inline struct axdp_flow *flow_entry(const struct flow_key *key)
{
	return key->ipv6 ? bpf_map_lookup_elem(&conntrack, &key->v6) : bpf_map_lookup_elem(&conntrack4, &key->v4);
}

/* The flow's live conntrack entry, or NULL. */
static __always_inline struct axdp_flow *flow_lookup(const struct flow_key *key, __u64 now)
{
	struct axdp_flow *f = flow_entry(key);

	return f && flow_alive(key->proto, f, now) ? f : NULL;
}

/* ---- copies ---- */

static __always_inline __u64 flow_hash(const struct flow_key *key)
{
	return key->ipv6 ? axdp_flow6_copy_hash(&key->v6, knobs.hash_key) : axdp_flow4_copy_hash(&key->v4, knobs.hash_key);
}

/* Double words of keys written a word or less at a time. */
typedef __u64 __attribute__((may_alias)) key_dword;

static __always_inline bool same_key(const void *copy_key, const void *key, __u32 size)
{
	const key_dword *a = copy_key, *b = key;

	for (__u32 i = 0; i < size / 8; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/*
 * The slot of the flow's hash in its family's table: its index, whether
 * it holds this flow's copy, and the protocol of the flow whose copy it
 * holds.  The check word settles most mismatches and guards a slot read
 * while egress rewrote it: a key pieced from two flows still has to hash
 * to the check of one of them.
 */
struct copy_slot {
	struct axdp_flow_copy *copy;
	__u32 idx;
	bool mine;
	__u8 proto;
};

static __always_inline struct copy_slot flow_slot(const struct flow_key *key, __u64 h)
{
	__u32 idx = axdp_hash_index(h, AXDP_FLOW_CACHE_BITS);

	if (key->ipv6) {
		struct axdp_flow_copy6 *c = bpf_map_lookup_elem(&flow_cache6, &idx);

		if (!c)
			return (struct copy_slot){};
		return (struct copy_slot){ &c->copy, idx,
					   c->copy.check == (h | 1) && same_key(&c->key, &key->v6, sizeof(key->v6)),
					   c->key.proto };
	}
	struct axdp_flow_copy4 *c = bpf_map_lookup_elem(&flow_cache4, &idx);

	if (!c)
		return (struct copy_slot){};
	return (struct copy_slot){ &c->copy, idx, c->copy.check == (h | 1) && same_key(&c->key, &key->v4, sizeof(key->v4)),
				   (__u8)c->key.proto };
}

/*
 * Egress brings the flow's copy in line with its conntrack entry f.  It
 * takes a slot that is empty, holds a dead flow or its own, and leaves
 * one that another live flow holds: that flow keeps its copy, this one
 * is found in conntrack.  Nothing is written while the copy is current,
 * so a flow's copy changes when its entry does, at most once a second.
 */
static __always_inline void flow_copy_keep(const struct flow_key *key, const struct axdp_flow *f, __u64 now)
{
	__u64 h = flow_hash(key);
	struct copy_slot s = flow_slot(key, h);

	if (!s.copy)
		return;
	if (s.mine) {
		if (s.copy->flow.last_seen_ns != f->last_seen_ns || s.copy->flow.flags != f->flags)
			s.copy->flow = *f;
		return;
	}
	if (s.copy->check && flow_alive(s.proto, &s.copy->flow, now))
		return;
	if (key->ipv6) {
		struct axdp_flow_copy6 copy = { .copy = { .check = h | 1, .flow = *f }, .key = key->v6 };

		bpf_map_update_elem(&flow_cache6, &s.idx, &copy, BPF_ANY);
	} else {
		struct axdp_flow_copy4 copy = { .copy = { .check = h | 1, .flow = *f }, .key = key->v4 };

		bpf_map_update_elem(&flow_cache4, &s.idx, &copy, BPF_ANY);
	}
}

/* The flow's copy says it is alive. */
static __always_inline bool flow_copy_alive(const struct flow_key *key, __u64 now)
{
	struct copy_slot s = flow_slot(key, flow_hash(key));

	return s.mine && flow_alive(key->proto, &s.copy->flow, now);
}

static __always_inline void flow_record(const struct flow_key *key, const struct axdp_flow *f, __u64 now)
{
	if (key->ipv6)
		bpf_map_update_elem(&conntrack, &key->v6, f, BPF_ANY);
	else
		bpf_map_update_elem(&conntrack4, &key->v4, f, BPF_ANY);
	flow_copy_keep(key, f, now);
}

/* The entry and its copy go together: a copy left behind would keep the flow open. */
static __always_inline void flow_forget(const struct flow_key *key)
{
	struct copy_slot s = flow_slot(key, flow_hash(key));

	if (s.mine)
		s.copy->check = 0;
	if (key->ipv6)
		bpf_map_delete_elem(&conntrack, &key->v6);
	else
		bpf_map_delete_elem(&conntrack4, &key->v4);
}

/* Writes less often than this keep egress from dirtying shared cache lines per packet. */
#define CLOCK_STEP_NS AXDP_NSEC_PER_SEC

/*
 * True when no flow from this local port was recorded within the longest
 * timeout, by the clock egress keeps.  A stale clock (a quiet host) only
 * makes this answer false more often: it never hides a live flow.
 */
static __always_inline bool no_flow_possible(enum axdp_l4 l4, __be16 local_port)
{
	__u64 longest = l4 == AXDP_L4_UDP ? knobs.udp_timeout_ns
			: knobs.tcp_timeout_ns > knobs.tcp_closing_timeout_ns ? knobs.tcp_timeout_ns
									      : knobs.tcp_closing_timeout_ns;
	__u32 idx = l4 * AXDP_PORTS + bpf_ntohs(local_port), zero = 0;
	__u64 *seen = bpf_map_lookup_elem(&flow_ports, &idx);
	__u64 *clock = bpf_map_lookup_elem(&egress_clock, &zero);

	if (!seen || !clock)
		return false;
	return !*seen || (__s64)(*clock - *seen) > (__s64)(longest + 2 * CLOCK_STEP_NS);
}

/* The key of the flow of a packet of this family between these ends. */
static __always_inline void flow_key_of(struct flow_key *key, bool ipv6, __u8 proto,
					const struct axdp_addr *remote, __be16 remote_port,
					const struct axdp_addr *local, __be16 local_port)
{
	key->ipv6 = ipv6;
	key->proto = proto;
	key->local_port = local_port;
	if (!ipv6) {
		key->v4 = (struct axdp_flow4_key){ .remote = remote->w[3], .local = local->w[3],
						   .ports = axdp_flow4_ports(remote_port, local_port), .proto = proto };
		return;
	}
	axdp_word *w = (axdp_word *)&key->v6;
	__builtin_memcpy(w, remote, 16);
	__builtin_memcpy(w + 4, local, 16);
	w[8] = axdp_flow4_ports(remote_port, local_port);
	w[9] = axdp_proto_word(proto);
}

/* The key of the flow an outbound packet belongs to. */
static __always_inline void outbound_flow_key(struct flow_key *key, const struct packet *p,
					      __be16 src_port, __be16 dst_port)
{
	flow_key_of(key, p->ipv6, p->proto, &p->dst, dst_port, &p->src, src_port);
}

/* The key of the flow an inbound packet belongs to. */
static __always_inline void inbound_flow_key(struct flow_key *key, const struct packet *p,
					     __be16 src_port, __be16 dst_port)
{
	flow_key_of(key, p->ipv6, p->proto, &p->src, src_port, &p->dst, dst_port);
}

#endif
