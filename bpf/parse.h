/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Header parsing shared by ingress and egress.  Every malformed shape ends
 * in a drop reason here; only a packet whose headers are all sound comes
 * back as PARSED with its addresses and L4 header located.
 */
#ifndef AXDP_PARSE_H
#define AXDP_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "autoxdp_abi.h"

#define PARSED AXDP_REASON_COUNT

#define IP_RESERVED_FLAG 0x8000
#define IP_MORE_FRAGMENTS 0x2000
#define IP_OFFSET_MASK 0x1fff
#define IP6_OFFSET_MASK 0xfff8
#define IP6_MORE_FRAGMENTS 0x0001

enum frag_kind {
	FRAG_NONE,
	FRAG_FIRST, /* offset 0, more to come: judged by its L4 header */
	FRAG_LATER, /* no L4 header: follows the verdict of its first fragment */
};

struct vlan_tag {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* ICMP and ICMPv6 share this first word (linux/icmp.h drags in libc headers). */
struct icmp_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 echo_id;
	__be16 echo_seq;
};

struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

struct packet {
	struct axdp_addr src;
	struct axdp_addr dst;
	void *l4;         /* L4 header, unless FRAG_LATER */
	__u32 l4_len;     /* L4 bytes the IP header claims in this packet */
	__be32 frag_id;
	__u32 bytes;      /* link header plus IP datagram: what counters count */
	__u8 proto;       /* L4 protocol */
	__u8 frag_proto;  /* protocol field the fragment ids belong to */
	__u8 frag;        /* enum frag_kind */
	__u8 ipv6;
};

/*
 * A 16-bit length read from the wire, for adding to a packet pointer.
 * The 6.1 verifier forgets all bounds across the byte swap of bpf_ntohs
 * and refuses the addition; the mask restores them, and the barrier
 * keeps clang from dropping a mask it knows to be redundant.
 */
static __always_inline __u32 wire_len16(__be16 v)
{
	__u32 len = bpf_ntohs(v);

	barrier_var(len);
	return len & 0xffff;
}

/*
 * Zero, in a writable global that nothing writes: the verifier cannot
 * know its value.  opaque(v, mask) is v (mask must cover every value v
 * takes) to the CPU; to the verifier it is anything within mask.  Headers
 * located through it look alike to the verifier whatever came before them
 * (the number of VLAN tags, the mix of IPv6 extension headers), so it
 * checks what follows once instead of once per variant: that took 6.1's
 * verifier past its 1M instructions.  Costs a load and two ALU ops.
 */
__u32 opaque_zero SEC(".bss");

static __always_inline __u32 opaque(__u32 v, __u32 mask)
{
	return (v + opaque_zero) & mask;
}

/* Covers the link header: Ethernet and AXDP_MAX_VLAN_DEPTH tags. */
#define L2_OFF_MASK 0x1f
_Static_assert(ETH_HLEN + AXDP_MAX_VLAN_DEPTH * 4 <= L2_OFF_MASK, "L2_OFF_MASK must cover the link header");

/* Covers every L4 offset: the link header, an IPv6 header, extension headers of at most 2048 bytes. */
#define L4_OFF_MASK 0x7fff
_Static_assert(L2_OFF_MASK + 40 + AXDP_MAX_IPV6_EXTHDRS * 2048 <= L4_OFF_MASK, "L4_OFF_MASK must cover every L4 offset");

static __always_inline void addr_from_ipv4(struct axdp_addr *a, __be32 ip)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0xffff);
	a->w[3] = ip;
}

static __always_inline enum axdp_reason parse_ipv4(void *pos, void *end, struct packet *p)
{
	struct iphdr *iph = pos;
	__u32 hlen, total;
	__u16 frag_off;

	if ((void *)(iph + 1) > end || iph->version != 4 || iph->ihl < 5)
		return AXDP_DROP_IPV4_MALFORMED;
	hlen = iph->ihl * 4;
	total = wire_len16(iph->tot_len);
	if (total < hlen || pos + total > end)
		return AXDP_DROP_IPV4_MALFORMED;

	frag_off = bpf_ntohs(iph->frag_off);
	if (frag_off & IP_RESERVED_FLAG)
		return AXDP_DROP_IPV4_MALFORMED;
	if (frag_off & IP_OFFSET_MASK)
		p->frag = FRAG_LATER;
	else if (frag_off & IP_MORE_FRAGMENTS)
		p->frag = FRAG_FIRST;
	else
		p->frag = FRAG_NONE;

	addr_from_ipv4(&p->src, iph->saddr);
	addr_from_ipv4(&p->dst, iph->daddr);
	p->ipv6 = 0;
	p->proto = iph->protocol;
	p->frag_proto = iph->protocol;
	p->frag_id = iph->id;
	p->l4 = pos + hlen;
	p->l4_len = total - hlen;
	p->bytes += total;
	return PARSED;
}

/*
 * Walks the extension-header chain up to AXDP_MAX_IPV6_EXTHDRS.  A chain
 * that is longer, truncated, or runs past the payload length is dropped:
 * the kernel would walk it too, and we must not judge a packet by a
 * header we did not reach.
 *
 * The walk carries the offset of the header in hand, cur, rather than a
 * pointer: a pointer's variable part would differ for every mix of
 * header kinds behind it, and the verifier would check the rest of the
 * program once per mix (see opaque()).  ip6 is at data + off.
 */
static __always_inline enum axdp_reason parse_ipv6(void *data, __u32 off, void *end, struct packet *p)
{
	struct ipv6hdr *ip6 = data + off;
	__u32 left; /* payload bytes behind cur; a scalar, since subtracting packet pointers needs CAP_PERFMON */
	__u32 cur = off + sizeof(*ip6);
	bool frag_hdr_seen = false; /* apart from p->frag: an atomic fragment leaves that FRAG_NONE */
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > end || ip6->version != 6)
		return AXDP_DROP_IPV6_MALFORMED;
	/* Payload length 0 announces a jumbogram, which has no place on the internet. */
	left = wire_len16(ip6->payload_len);
	if (!left || (void *)(ip6 + 1) + left > end)
		return AXDP_DROP_IPV6_MALFORMED;
	p->bytes += sizeof(*ip6) + left;

	__builtin_memcpy(&p->src, &ip6->saddr, sizeof(p->src));
	__builtin_memcpy(&p->dst, &ip6->daddr, sizeof(p->dst));
	p->ipv6 = 1;
	p->frag = FRAG_NONE;
	nexthdr = ip6->nexthdr;

	for (i = 0; i < AXDP_MAX_IPV6_EXTHDRS; i++) {
		struct ipv6_opt_hdr *opt = data + cur;
		struct ipv6_frag_hdr *fh = data + cur;
		__u32 hdr_len;
		__u16 frag_off;

		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
			if (i != 0) /* RFC 8200 4.1: only directly after the IPv6 header */
				return AXDP_DROP_IPV6_EXTHDR;
			/* fall through */
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if ((void *)(opt + 1) > end)
				return AXDP_DROP_IPV6_EXTHDR;
			nexthdr = opt->nexthdr;
			hdr_len = (opt->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH:
			if ((void *)(opt + 1) > end)
				return AXDP_DROP_IPV6_EXTHDR;
			nexthdr = opt->nexthdr;
			hdr_len = (opt->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			/* RFC 8200 4.1: at most once, whatever the first one said. */
			if ((void *)(fh + 1) > end || frag_hdr_seen)
				return AXDP_DROP_IPV6_EXTHDR;
			frag_hdr_seen = true;
			frag_off = bpf_ntohs(fh->frag_off);
			p->frag_id = fh->identification;
			p->frag_proto = fh->nexthdr;
			nexthdr = fh->nexthdr;
			hdr_len = sizeof(*fh);
			if (frag_off & IP6_OFFSET_MASK)
				p->frag = FRAG_LATER;
			else if (frag_off & IP6_MORE_FRAGMENTS)
				p->frag = FRAG_FIRST;
			/* else an atomic fragment (RFC 6946): a whole packet */
			break;
		default:
			goto chain_end;
		}
		if (hdr_len > left)
			return AXDP_DROP_IPV6_EXTHDR;
		left -= hdr_len;
		cur = opaque(cur + hdr_len, L4_OFF_MASK);
		if (p->frag == FRAG_LATER)
			goto chain_end;
	}
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_FRAGMENT:
		return AXDP_DROP_IPV6_EXTHDR;
	}
chain_end:
	p->proto = nexthdr;
	p->l4 = data + cur;
	p->l4_len = left;
	return PARSED;
}

/* Ethernet, then at most AXDP_MAX_VLAN_DEPTH tags, then IPv4 or IPv6. */
static __always_inline enum axdp_reason parse_packet(void *data, void *end, struct packet *p)
{
	struct ethhdr *eth = data;
	void *pos = eth + 1;
	__u32 off = sizeof(*eth);
	__be16 proto;
	int i;

	p->bytes = 0;
	if (pos > end)
		return AXDP_DROP_L2_MALFORMED;
	p->bytes = sizeof(*eth);
	proto = eth->h_proto;

	for (i = 0; i < AXDP_MAX_VLAN_DEPTH; i++) {
		struct vlan_tag *tag = pos;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > end)
			return AXDP_DROP_L2_MALFORMED;
		proto = tag->encapsulated_proto;
		pos = tag + 1;
		off += sizeof(*tag);
		p->bytes += sizeof(*tag);
	}

	off = opaque(off, L2_OFF_MASK);
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data + off, end, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, off, end, p);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return AXDP_DROP_VLAN_DEPTH;
	/* ARP and the rest: the stack has no IP handler that could be reached through them. */
	return AXDP_PASS_NON_IP;
}

#endif
