/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Who may talk to the host at all: denied CIDRs, martian sources, trusted
 * CIDRs.  A source far from every denied network and ban costs one bit
 * of deny_clear; an empty trust list one read of the policy entry; the
 * martian ranges are arithmetic.
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

/* The deny list has nothing near this source: most sources, for a fraction of a trie lookup. */
static __always_inline bool deny_bucket_clear(const struct axdp_addr *src)
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

/*
 * Denied by the configuration's list or a runtime ban.  deny_clear covers
 * both, so a source far from every entry costs the one bitmap read, also
 * when both are empty (every bit set).
 */
static __always_inline bool source_denied(const struct axdp_policy *pol, const struct axdp_addr *src)
{
	if (deny_bucket_clear(src))
		return false;
	if (pol->deny_entries &&
	    (pol->deny_generation ? source_listed(&deny_1, src) : source_listed(&deny_0, src)))
		return true;
	return source_listed(&bans, src);
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
