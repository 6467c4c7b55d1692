// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "address.h"
#include "deny_buckets.h"

/* Below this prefix an IPv6 entry touches 65536 /32s or more: the whole IPv6 half is covered outright. */
#define V6_WALK_MIN_PREFIX 16

enum axdp_lpm_family axdp_lpm_family(const struct axdp_lpm_key *k)
{
	return k->prefixlen >= AXDP_V4_MAPPED_BITS && axdp_addr_is_v4(&k->addr) ? AXDP_LPM_IPV4 : AXDP_LPM_IPV6;
}

bool axdp_lpm_full_length(const struct axdp_lpm_key *k)
{
	return k->prefixlen == 128;
}

/*
 * Calls mark(ctx, first, count, whole) for the buckets (IPv6 /32s hashed
 * onto v6_bits bits) holding an address the key covers; whole: it covers
 * every address of them.
 */
static void reach(const struct axdp_lpm_key *k, uint32_t v6_bits,
		  void (*mark)(void *ctx, uint32_t first, uint32_t count, bool whole), void *ctx)
{
	uint32_t len = k->prefixlen, top32 = ntohl(k->addr.w[0]);

	if (axdp_lpm_family(k) == AXDP_LPM_IPV4) {
		uint32_t v4_len = len - 96, first = ntohl(k->addr.w[3]) >> (32 - AXDP_DENY_BUCKET_BITS);
		uint32_t count = v4_len >= AXDP_DENY_BUCKET_BITS ? 1 : 1u << (AXDP_DENY_BUCKET_BITS - v4_len);

		mark(ctx, first & ~(count - 1), count, v4_len <= AXDP_DENY_BUCKET_BITS);
	} else if (len >= 32) {
		mark(ctx, axdp_source_bucket_v6(top32, v6_bits), 1, false);
	} else if (len < V6_WALK_MIN_PREFIX) {
		mark(ctx, AXDP_DENY_V6_BUCKETS, 1u << v6_bits, false);
	} else {
		uint32_t span = 1u << (32 - len), base = top32 & ~(span - 1);

		for (uint32_t i = 0; i < span; i++)
			mark(ctx, axdp_source_bucket_v6(base + i, v6_bits), 1, false);
	}
}

static void set_bits(void *ctx, uint32_t from, uint32_t count, bool whole)
{
	uint64_t *bits = ctx;

	(void)whole;
	for (; count && from % 64; from++, count--)
		bits[from / 64] |= 1ULL << (from % 64);
	for (; count >= 64; from += 64, count -= 64)
		bits[from / 64] = ~0ULL;
	for (; count; from++, count--)
		bits[from / 64] |= 1ULL << (from % 64);
}

uint64_t *axdp_deny_buckets_covered(const struct axdp_lpm_key *keys, size_t n)
{
	uint64_t *bits = calloc(AXDP_DENY_CLEAR_WORDS, sizeof(*bits));

	for (size_t i = 0; bits && i < n; i++)
		reach(&keys[i], AXDP_DENY_CLEAR_V6_BITS, set_bits, bits);
	return bits;
}

/* One key's mark on the state words: a bucket keeps the strongest state any key gives it. */
struct state_mark {
	uint64_t *words;
	enum axdp_deny_state state; /* what the key gives a bucket it does not cover whole */
};

static void raise_state(void *ctx, uint32_t from, uint32_t count, bool whole)
{
	/* Weakest to strongest: none, exact set, exact set and trie, denied. */
	static const uint8_t rank[4] = {
		[AXDP_DENY_NONE] = 0, [AXDP_DENY_EXACT] = 1, [AXDP_DENY_LOOKUP] = 2, [AXDP_DENY_WHOLE] = 3
	};
	const struct state_mark *m = ctx;
	uint64_t want = whole ? AXDP_DENY_WHOLE : m->state;

	for (uint32_t b = from; b < from + count; b++) {
		uint64_t *w = &m->words[b / 32];
		unsigned shift = b % 32 * 2;

		if (rank[want] > rank[(*w >> shift) & 3])
			*w = (*w & ~(3ULL << shift)) | want << shift;
	}
}

/*
 * IPv4 prefixes longer than a bucket (/25../31) go to the exact set as
 * their addresses, so no IPv4 source needs the trie.  Public lists have
 * few of them; up to this many addresses in all, longest prefixes first,
 * the rest stay in the trie, where loading them costs less.
 */
#define V4_EXPAND_MAX (AXDP_DENY_ENTRIES / 2)

static uint32_t v4_long(const struct axdp_lpm_key *k, __u8 family)
{
	uint32_t v4_len = k->prefixlen - 96;

	return family == AXDP_LPM_IPV4 && v4_len > AXDP_DENY_BUCKET_BITS && v4_len < 32 ? v4_len : 0;
}

int axdp_deny_layout(const struct axdp_lpm_key *keys, const __u8 *families, size_t n, struct axdp_deny_layout *l)
{
	bool *expanded = calloc(n ? n : 1, sizeof(*expanded));
	size_t expand = 0;

	memset(l, 0, sizeof(*l));
	for (uint32_t len = 31; expanded && len > AXDP_DENY_BUCKET_BITS; len--)
		for (size_t i = 0; i < n; i++)
			if (v4_long(&keys[i], families[i]) == len && expand + (1u << (32 - len)) <= V4_EXPAND_MAX) {
				expanded[i] = true;
				expand += 1u << (32 - len);
			}
	l->prefixes = malloc((n ? n : 1) * sizeof(*l->prefixes));
	l->families = malloc(n ? n : 1);
	l->v4 = malloc((n + expand ? n + expand : 1) * sizeof(*l->v4));
	l->v4_prefixlen = malloc(n + expand ? n + expand : 1);
	l->v6 = malloc((n ? n : 1) * sizeof(*l->v6));
	l->v6_prefixlen = malloc(n ? n : 1);
	if (!expanded || !l->prefixes || !l->families || !l->v4 || !l->v4_prefixlen || !l->v6 || !l->v6_prefixlen) {
		free(expanded);
		axdp_deny_layout_free(l);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct axdp_lpm_key *k = &keys[i];

		if (expanded[i]) {
			for (uint32_t a = 0; a < 1u << (128 - k->prefixlen); a++) {
				l->v4_prefixlen[l->nv4] = (__u8)k->prefixlen;
				l->v4[l->nv4++] = htonl(ntohl(k->addr.w[3]) + a);
			}
		} else if (!axdp_lpm_full_length(k)) {
			l->families[l->nprefixes] = families[i];
			l->prefixes[l->nprefixes++] = *k;
		}
	}
	/* After the expanded prefixes: a listed address inside one names itself. */
	for (size_t i = 0; i < n; i++) {
		if (!axdp_lpm_full_length(&keys[i]))
			continue;
		if (families[i] == AXDP_LPM_IPV4) {
			l->v4_prefixlen[l->nv4] = 128;
			l->v4[l->nv4++] = keys[i].addr.w[3];
		} else {
			l->v6_prefixlen[l->nv6] = 128;
			l->v6[l->nv6++] = keys[i].addr;
		}
	}
	free(expanded);
	return 0;
}

void axdp_deny_layout_free(struct axdp_deny_layout *l)
{
	free(l->prefixes);
	free(l->families);
	free(l->v4);
	free(l->v4_prefixlen);
	free(l->v6);
	free(l->v6_prefixlen);
	memset(l, 0, sizeof(*l));
}

void axdp_deny_state_fill(uint64_t *words, const struct axdp_deny_layout *l)
{
	uint64_t *seen = words + AXDP_DENY_STATE_WORDS;
	struct state_mark exact = { words, AXDP_DENY_EXACT };

	for (size_t i = 0; i < AXDP_DENY_STATE_WORDS; i++)
		words[i] = ~0ULL; /* AXDP_DENY_NONE in every bucket */
	for (size_t i = 0; i < l->nprefixes; i++) {
		struct state_mark m = { words, AXDP_DENY_LOOKUP };

		reach(&l->prefixes[i], AXDP_DENY_STATE_V6_BITS, raise_state, &m);
	}
	memset(seen, 0, AXDP_DENY_SEEN_WORDS * sizeof(*seen));
	for (size_t i = 0; i < l->nv4; i++) {
		raise_state(&exact, ntohl(l->v4[i]) >> (32 - AXDP_DENY_BUCKET_BITS), 1, false);
		set_bits(seen, axdp_deny_seen_bit_v4(ntohl(l->v4[i])), 1, false);
	}
	for (size_t i = 0; i < l->nv6; i++) {
		const struct axdp_addr *a = &l->v6[i];

		raise_state(&exact, axdp_source_bucket_v6(ntohl(a->w[0]), AXDP_DENY_STATE_V6_BITS), 1, false);
		set_bits(seen, axdp_deny_seen_bit_v6(ntohl(a->w[0]), ntohl(a->w[1]), ntohl(a->w[2]), ntohl(a->w[3])), 1,
			 false);
	}
}
