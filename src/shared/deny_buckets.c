// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include "address.h"
#include "deny_buckets.h"

/* Below this prefix an IPv6 entry touches 65536 /32s or more: the whole IPv6 half is covered outright. */
#define V6_WALK_MIN_PREFIX 16

static void set_bits(uint64_t *bits, uint32_t from, uint32_t count)
{
	for (; count && from % 64; from++, count--)
		bits[from / 64] |= 1ULL << (from % 64);
	for (; count >= 64; from += 64, count -= 64)
		bits[from / 64] = ~0ULL;
	for (; count; from++, count--)
		bits[from / 64] |= 1ULL << (from % 64);
}

enum axdp_lpm_family axdp_lpm_family(const struct axdp_lpm_key *k)
{
	return k->prefixlen >= AXDP_V4_MAPPED_BITS && axdp_addr_is_v4(&k->addr) ? AXDP_LPM_IPV4 : AXDP_LPM_IPV6;
}

static void cover(uint64_t *bits, const struct axdp_lpm_key *k)
{
	uint32_t len = k->prefixlen, top32 = ntohl(k->addr.w[0]);

	if (axdp_lpm_family(k) == AXDP_LPM_IPV4) {
		uint32_t v4_len = len - 96, first = ntohl(k->addr.w[3]) >> (32 - AXDP_DENY_BUCKET_BITS);
		uint32_t count = v4_len >= AXDP_DENY_BUCKET_BITS ? 1 : 1u << (AXDP_DENY_BUCKET_BITS - v4_len);

		set_bits(bits, first & ~(count - 1), count);
	} else if (len >= 32) {
		set_bits(bits, axdp_deny_bucket_v6(top32), 1);
	} else if (len < V6_WALK_MIN_PREFIX) {
		set_bits(bits, AXDP_DENY_V6_BUCKETS, AXDP_DENY_V6_BUCKETS);
	} else {
		uint32_t span = 1u << (32 - len), base = top32 & ~(span - 1);

		for (uint32_t i = 0; i < span; i++)
			set_bits(bits, axdp_deny_bucket_v6(base + i), 1);
	}
}

uint64_t *axdp_deny_buckets_covered(const struct axdp_lpm_key *keys, size_t n)
{
	uint64_t *bits = calloc(AXDP_DENY_CLEAR_WORDS, sizeof(*bits));

	for (size_t i = 0; bits && i < n; i++)
		cover(bits, &keys[i]);
	return bits;
}
