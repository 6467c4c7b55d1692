/* SPDX-License-Identifier: MIT */
/*
 * What an entry of the deny, bans and trust lists reaches: the family of
 * sources it judges, the source buckets the bans touch (see
 * axdp_deny_bucket() in the ABI header), whose complement is what the
 * data path may skip the bans trie for, and the state of each bucket of
 * a deny list (enum axdp_deny_state).  Computed from the entries alone,
 * so it can be checked without a kernel.
 */
#ifndef AXDP_DENY_BUCKETS_H
#define AXDP_DENY_BUCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "autoxdp_abi.h"

/*
 * A bitmap of AXDP_DENY_CLEAR_WORDS words with the bit of every bucket
 * that holds an address some key covers; malloc'd, NULL when out of
 * memory.
 */
uint64_t *axdp_deny_buckets_covered(const struct axdp_lpm_key *keys, size_t n);

/*
 * A deny list as the data path keeps it: single addresses in the exact
 * sets, IPv4 /25../31 too as their addresses (within a bound), the other
 * prefixes in the trie with their families.
 */
struct axdp_deny_layout {
	struct axdp_lpm_key *prefixes;
	__u8 *families;
	size_t nprefixes;
	/* Keys of the exact sets, and their values: the prefixlen of the entry each comes from. */
	__be32 *v4;
	__u8 *v4_prefixlen;
	size_t nv4;
	struct axdp_addr *v6;
	__u8 *v6_prefixlen;
	size_t nv6;
};

/* Lays out keys[0..n) with their trie values; 0, or -1 when out of memory.  Free with axdp_deny_layout_free(). */
int axdp_deny_layout(const struct axdp_lpm_key *keys, const __u8 *families, size_t n, struct axdp_deny_layout *l);
void axdp_deny_layout_free(struct axdp_deny_layout *l);

/* One generation's AXDP_DENY_GEN_WORDS words of deny_state for the list: states, then seen bits. */
void axdp_deny_state_fill(uint64_t *words, const struct axdp_deny_layout *l);

/* The value the entry's key gets in a trie. */
enum axdp_lpm_family axdp_lpm_family(const struct axdp_lpm_key *k);

/* A single address (/32, /128): it goes to an exact set, not to the trie. */
bool axdp_lpm_full_length(const struct axdp_lpm_key *k);

#endif
