/* SPDX-License-Identifier: MIT */
/*
 * What an entry of the deny and trust tries reaches: the family of
 * sources it judges, and the source buckets a deny list touches (see
 * axdp_deny_bucket() in the ABI header), whose complement is what the
 * data path may skip the trie for.  Computed from the entries alone, so
 * it can be checked without a kernel.
 */
#ifndef AXDP_DENY_BUCKETS_H
#define AXDP_DENY_BUCKETS_H

#include <stddef.h>
#include <stdint.h>
#include "autoxdp_abi.h"

/*
 * A bitmap of AXDP_DENY_CLEAR_WORDS words with the bit of every bucket
 * that holds an address some key covers; malloc'd, NULL when out of
 * memory.
 */
uint64_t *axdp_deny_buckets_covered(const struct axdp_lpm_key *keys, size_t n);

/* The value the entry's key gets in a trie. */
enum axdp_lpm_family axdp_lpm_family(const struct axdp_lpm_key *k);

#endif
