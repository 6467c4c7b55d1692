/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Lookups of the allow-lists and the fragments already admitted; the
 * flows the host opened are in flows.h.
 */
#ifndef AXDP_STATE_H
#define AXDP_STATE_H

#include "clock.h"
#include "flows.h"
#include "maps.h"
#include "parse.h"

/* The port's slot if the port is open for this local address, else NULL. */
static __always_inline const struct axdp_port_slot *port_open(enum axdp_l4 l4, __be16 port_be,
							       const struct axdp_addr *local)
{
	__u16 port = bpf_ntohs(port_be);
	__u32 idx = l4 * AXDP_PORTS + port;
	struct axdp_port_slot *slot = bpf_map_lookup_elem(&port_allow, &idx);
	struct axdp_addr_port key = {};

	if (!slot || !slot->flags)
		return NULL;
	if (slot->flags & axdp_port_open_for(local))
		return slot;
	if (!(slot->flags & AXDP_PORT_OPEN_ADDR))
		return NULL;
	key.local = *local;
	key.port = port;
	key.l4 = l4;
	return bpf_map_lookup_elem(&addr_allow, &key) ? slot : NULL;
}

/* The IPv6 key in whole words (see flow_key_of), for the hash and the compare of its copy. */
static __always_inline void fragment_key(struct axdp_frag_key *key, const struct packet *p)
{
	axdp_word *w = (axdp_word *)key;

	__builtin_memcpy(w, &p->src, 16);
	__builtin_memcpy(w + 4, &p->dst, 16);
	w[8] = p->frag_id;
	w[9] = axdp_proto_word(p->frag_proto);
}

static __always_inline struct axdp_frag4_key fragment4_key(const struct packet *p)
{
	return (struct axdp_frag4_key){ .src = p->src.w[3], .dst = p->dst.w[3], .id_proto = p->frag_id << 8 | p->frag_proto };
}

/* The datagram's first fragment passed less than the fragment timeout before now. */
static __always_inline bool fragment_alive(const struct axdp_frag *f, __u64 now)
{
	return (__s64)(now - f->first_seen_ns) < (__s64)knobs.frag_timeout_ns;
}

/*
 * The slot of an IPv6 datagram's copy in frag_cache6, and whether it
 * holds this datagram's: an IPv6 key is long enough that the kernel's
 * hash of it costs more than the rest of a later fragment's verdict.
 * The copies work as flows' do (flows.h); ingress writes them.
 */
static __always_inline struct axdp_frag_copy6 *fragment_slot(const struct axdp_frag_key *key, __u64 h, bool *mine)
{
	__u32 idx = axdp_hash_index(h, AXDP_FRAG_CACHE_BITS);
	struct axdp_frag_copy6 *c = bpf_map_lookup_elem(&frag_cache6, &idx);

	*mine = c && c->check == (h | 1) && same_key(&c->key, key, sizeof(*key));
	return c;
}

/* The entry of the datagram this fragment belongs to: its IPv6 copy, or the entry in its family's map, or NULL. */
static __always_inline struct axdp_frag *fragment_lookup(const struct packet *p)
{
	if (!p->ipv6) {
		struct axdp_frag4_key key = fragment4_key(p);

		return bpf_map_lookup_elem(&fragments4, &key);
	} else {
		struct axdp_frag_key key __attribute__((aligned(8)));
		struct axdp_frag_copy6 *c;
		bool mine;

		fragment_key(&key, p);
		c = fragment_slot(&key, axdp_frag6_copy_hash(&key, knobs.hash_key), &mine);
		if (c && mine)
			return &c->frag;
		return bpf_map_lookup_elem(&fragments, &key);
	}
}

/* A copy takes a slot that is empty, its own, or another datagram's past the fragment timeout. */
static __always_inline void fragment_record(const struct packet *p, const struct axdp_frag *f)
{
	if (!p->ipv6) {
		struct axdp_frag4_key key = fragment4_key(p);

		bpf_map_update_elem(&fragments4, &key, f, BPF_ANY);
	} else {
		struct axdp_frag_key key __attribute__((aligned(8)));
		struct axdp_frag_copy6 *c;
		bool mine;
		__u64 h;

		fragment_key(&key, p);
		bpf_map_update_elem(&fragments, &key, f, BPF_ANY);
		h = axdp_frag6_copy_hash(&key, knobs.hash_key);
		c = fragment_slot(&key, h, &mine);
		if (c && (mine || !c->check || !fragment_alive(&c->frag, f->first_seen_ns)))
			*c = (struct axdp_frag_copy6){ .check = h | 1, .frag = *f, .key = key };
	}
}

#endif
