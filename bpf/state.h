/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Lookups of the allow-lists, the flows the host opened and the fragments
 * already admitted.  Ingress only reads flows; egress writes them.
 */
#ifndef AXDP_STATE_H
#define AXDP_STATE_H

#include "clock.h"
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

/*
 * A flow's key for its family's map: IPv4 flows in conntrack4 (a 16-byte
 * key), IPv6 ones in conntrack.  proto and local_port beside it for who
 * needs them without knowing the family.
 */
struct flow_key {
	bool ipv6;
	__u8 proto;
	__be16 local_port;
	union {
		struct axdp_flow4_key v4;
		struct axdp_flow_key v6;
	};
};

static __always_inline __u64 flow_timeout(const struct flow_key *key, const struct axdp_flow *f)
{
	if (key->proto == IPPROTO_TCP)
		return (f->flags & AXDP_FLOW_CLOSING) ? knobs.tcp_closing_timeout_ns : knobs.tcp_timeout_ns;
	if (key->proto == IPPROTO_UDP)
		return knobs.udp_timeout_ns;
	return knobs.icmp_timeout_ns;
}

static __always_inline struct axdp_flow *flow_entry(const struct flow_key *key)
{
	return key->ipv6 ? bpf_map_lookup_elem(&conntrack, &key->v6) : bpf_map_lookup_elem(&conntrack4, &key->v4);
}

/*
 * A flow entry past its timeout is as good as absent; the LRU reclaims it.
 * Signed: another CPU may stamp the entry after this one read the clock.
 */
static __always_inline struct axdp_flow *flow_lookup(const struct flow_key *key, __u64 now)
{
	struct axdp_flow *f = flow_entry(key);

	if (f && (__s64)(now - f->last_seen_ns) < (__s64)flow_timeout(key, f))
		return f;
	return NULL;
}

static __always_inline void flow_record(const struct flow_key *key, const struct axdp_flow *f)
{
	if (key->ipv6)
		bpf_map_update_elem(&conntrack, &key->v6, f, BPF_ANY);
	else
		bpf_map_update_elem(&conntrack4, &key->v4, f, BPF_ANY);
}

static __always_inline void flow_forget(const struct flow_key *key)
{
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
	key->v6 = (struct axdp_flow_key){ .remote = *remote, .local = *local, .remote_port = remote_port,
					  .local_port = local_port, .proto = proto };
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

static __always_inline struct axdp_frag_key fragment_key(const struct packet *p)
{
	return (struct axdp_frag_key){ .src = p->src, .dst = p->dst, .id = p->frag_id, .proto = p->frag_proto };
}

static __always_inline struct axdp_frag4_key fragment4_key(const struct packet *p)
{
	return (struct axdp_frag4_key){ .src = p->src.w[3], .dst = p->dst.w[3], .id_proto = p->frag_id << 8 | p->frag_proto };
}

/* The entry of the datagram this fragment belongs to, in its family's map, or NULL. */
static __always_inline struct axdp_frag *fragment_lookup(const struct packet *p)
{
	if (!p->ipv6) {
		struct axdp_frag4_key key = fragment4_key(p);

		return bpf_map_lookup_elem(&fragments4, &key);
	} else {
		struct axdp_frag_key key = fragment_key(p);

		return bpf_map_lookup_elem(&fragments, &key);
	}
}

static __always_inline void fragment_record(const struct packet *p, const struct axdp_frag *f)
{
	if (!p->ipv6) {
		struct axdp_frag4_key key = fragment4_key(p);

		bpf_map_update_elem(&fragments4, &key, f, BPF_ANY);
	} else {
		struct axdp_frag_key key = fragment_key(p);

		bpf_map_update_elem(&fragments, &key, f, BPF_ANY);
	}
}

#endif
