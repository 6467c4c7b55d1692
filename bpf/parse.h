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
#include <bpf/bpf_endian.h>
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
	__u8 proto;       /* L4 protocol */
	__u8 frag_proto;  /* protocol field the fragment ids belong to */
	__u8 frag;        /* enum frag_kind */
	__u8 ipv6;
};

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
	total = bpf_ntohs(iph->tot_len);
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
	return PARSED;
}

/*
 * Walks the extension-header chain up to AXDP_MAX_IPV6_EXTHDRS.  A chain
 * that is longer, truncated, or runs past the payload length is dropped:
 * the kernel would walk it too, and we must not judge a packet by a
 * header we did not reach.
 */
static __always_inline enum axdp_reason parse_ipv6(void *pos, void *end, struct packet *p)
{
	struct ipv6hdr *ip6 = pos;
	void *payload_end;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > end || ip6->version != 6)
		return AXDP_DROP_IPV6_MALFORMED;
	/* Payload length 0 announces a jumbogram, which has no place on the internet. */
	payload_end = (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len);
	if (payload_end == (void *)(ip6 + 1) || payload_end > end)
		return AXDP_DROP_IPV6_MALFORMED;

	__builtin_memcpy(&p->src, &ip6->saddr, sizeof(p->src));
	__builtin_memcpy(&p->dst, &ip6->daddr, sizeof(p->dst));
	p->ipv6 = 1;
	p->frag = FRAG_NONE;
	nexthdr = ip6->nexthdr;
	pos = ip6 + 1;

	for (i = 0; i < AXDP_MAX_IPV6_EXTHDRS; i++) {
		struct ipv6_opt_hdr *opt = pos;
		struct ipv6_frag_hdr *fh = pos;
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
			pos += (opt->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH:
			if ((void *)(opt + 1) > end)
				return AXDP_DROP_IPV6_EXTHDR;
			nexthdr = opt->nexthdr;
			pos += (opt->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if ((void *)(fh + 1) > end || p->frag != FRAG_NONE)
				return AXDP_DROP_IPV6_EXTHDR;
			frag_off = bpf_ntohs(fh->frag_off);
			p->frag_id = fh->identification;
			p->frag_proto = fh->nexthdr;
			nexthdr = fh->nexthdr;
			pos = fh + 1;
			if (frag_off & IP6_OFFSET_MASK)
				p->frag = FRAG_LATER;
			else if (frag_off & IP6_MORE_FRAGMENTS)
				p->frag = FRAG_FIRST;
			/* else an atomic fragment (RFC 6946): a whole packet */
			break;
		default:
			goto chain_end;
		}
		if (pos > payload_end)
			return AXDP_DROP_IPV6_EXTHDR;
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
	p->l4 = pos;
	p->l4_len = payload_end - pos;
	return PARSED;
}

/* Ethernet, then at most AXDP_MAX_VLAN_DEPTH tags, then IPv4 or IPv6. */
static __always_inline enum axdp_reason parse_packet(void *data, void *end, struct packet *p)
{
	struct ethhdr *eth = data;
	void *pos = eth + 1;
	__be16 proto;
	int i;

	if (pos > end)
		return AXDP_DROP_L2_MALFORMED;
	proto = eth->h_proto;

	for (i = 0; i < AXDP_MAX_VLAN_DEPTH; i++) {
		struct vlan_tag *tag = pos;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > end)
			return AXDP_DROP_L2_MALFORMED;
		proto = tag->encapsulated_proto;
		pos = tag + 1;
	}

	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(pos, end, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(pos, end, p);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return AXDP_DROP_VLAN_DEPTH;
	/* ARP and the rest: the stack has no IP handler that could be reached through them. */
	return AXDP_PASS_NON_IP;
}

#endif
