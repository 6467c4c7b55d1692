/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Who may talk to the host at all: denied CIDRs, martian sources, trusted
 * CIDRs.  Against a deny list a source costs one word of deny_state, a
 * listed or near-listed address one hash lookup more; with bans one bit
 * of deny_clear more; an empty trust list one read of the policy entry;
 * the martian ranges are arithmetic.
 */
#ifndef AXDP_SOURCE_POLICY_H
#define AXDP_SOURCE_POLICY_H

#include "maps.h"
#include "parse.h"

static __always_inline struct axdp_policy *policy_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&policy, &zero);
}

/* No runtime ban is near this source: most sources, for a fraction of a trie lookup. */
static __always_inline bool ban_bucket_clear(const struct axdp_addr *src)
{
	__u32 bucket = axdp_deny_bucket(bpf_ntohl(src->w[0]), bpf_ntohl(src->w[1]), bpf_ntohl(src->w[2]),
					bpf_ntohl(src->w[3]));
	__u32 word = bucket / 64;
	__u64 *bits = bpf_map_lookup_elem(&deny_clear, &word);

	return bits && (*bits >> (bucket % 64)) & 1;
}

/* The trie has an entry for this source, of its family (enum axdp_lpm_family). */
static __always_inline bool source_listed(void *trie, const struct axdp_addr *src)
{
	struct axdp_lpm_key key = { .prefixlen = 128, .addr = *src };
	__u8 *family = bpf_map_lookup_elem(trie, &key);

	return family && (*family != AXDP_LPM_IPV6 || !axdp_addr_v4_mapped(src));
}

/* Word idx of generation gen's part of deny_state; 0 (look everything up) if absent, never: the array is whole. */
static __always_inline __u64 deny_word(__u32 gen, __u32 idx)
{
	__u32 key = gen * AXDP_DENY_GEN_WORDS + idx;
	__u64 *word = bpf_map_lookup_elem(&deny_state, &key);

	return word ? *word : 0;
}

/* The generation's exact set of the source's family holds it. */
static __always_inline bool exact_listed(__u32 gen, const struct axdp_addr *src, bool v4)
{
	void *set;

	if (v4) {
		set = bpf_map_lookup_elem(&deny_exact4, &gen);
		return set && bpf_map_lookup_elem(set, &src->w[3]);
	}
	set = bpf_map_lookup_elem(&deny_exact6, &gen);
	return set && bpf_map_lookup_elem(set, src);
}

/*
 * The live deny list denies this source: its bucket's state says where
 * to look (enum axdp_deny_state), and an address whose seen bit is clear
 * costs no hash lookup.
 */
static __always_inline bool deny_listed(__u32 gen, const struct axdp_addr *src)
{
	bool v4 = axdp_addr_v4_mapped(src);
	__u32 w0 = bpf_ntohl(src->w[0]), w3 = bpf_ntohl(src->w[3]), bucket, bit, state;

	if (v4) {
		bucket = w3 >> (32 - AXDP_DENY_BUCKET_BITS);
		bit = axdp_deny_seen_bit_v4(w3);
	} else {
		bucket = axdp_source_bucket_v6(w0, AXDP_DENY_STATE_V6_BITS);
		bit = axdp_deny_seen_bit_v6(w0, bpf_ntohl(src->w[1]), bpf_ntohl(src->w[2]), w3);
	}
	state = (deny_word(gen, bucket / 32) >> (bucket % 32 * 2)) & 3;
	if (state == AXDP_DENY_NONE)
		return false;
	if (state == AXDP_DENY_WHOLE)
		return true;
	if ((deny_word(gen, AXDP_DENY_STATE_WORDS + bit / 64) >> (bit % 64)) & 1 && exact_listed(gen, src, v4))
		return true;
	return state == AXDP_DENY_LOOKUP && (gen ? source_listed(&deny_1, src) : source_listed(&deny_0, src));
}

/*
 * Denied by the configuration's list or a runtime ban.  With neither, a
 * source costs nothing but the policy entry already read.
 */
static __always_inline bool source_denied(const struct axdp_policy *pol, const struct axdp_addr *src)
{
	if (pol->deny_entries && deny_listed(pol->deny_generation & 1, src))
		return true;
	return pol->bans && !ban_bucket_clear(src) && source_listed(&bans, src);
}

static __always_inline bool source_trusted(const struct axdp_policy *pol, const struct axdp_addr *src)
{
	return pol->trust_entries && source_listed(&trust, src);
}

/*
 * Sources no internet-facing link ever legitimately sees: this network,
 * loopback, multicast, class E and broadcast for IPv4; unspecified,
 * loopback, multicast and v4-mapped for IPv6.  RFC 1918, CGNAT and link-local stay
 * allowed: clouds use them for metadata, DNS, DHCP and NDP.
 */
static __always_inline bool source_martian(const struct packet *p)
{
	__u32 first;

	if (!p->ipv6) {
		first = bpf_ntohl(p->src.w[3]) >> 24;
		return first == 0 || first == 127 || first >= 224;
	}
	/* RFC 4291 2.5.5.2: never on the wire; it would pass for the IPv4 source in every list. */
	if (axdp_addr_v4_mapped(&p->src))
		return true;
	/* :: is the source of duplicate address detection and early MLD reports: ICMPv6 judges those. */
	if (!p->src.w[0] && !p->src.w[1] && !p->src.w[2] && !p->src.w[3])
		return p->proto != IPPROTO_ICMPV6;
	if (!p->src.w[0] && !p->src.w[1] && !p->src.w[2] && p->src.w[3] == bpf_htonl(1))
		return true;
	return (bpf_ntohl(p->src.w[0]) >> 24) == 0xff;
}

/* The host's own address arriving from outside is spoofed: checked only before a pass. */
static __always_inline bool source_is_local(const struct axdp_policy *pol, const struct axdp_addr *src)
{
	return knobs.drop_martians && pol->local_addrs && bpf_map_lookup_elem(&local_addrs, src) != NULL;
}

#endif
