// SPDX-License-Identifier: MIT
/*
 * Addresses and CIDRs (address.h: axdp_cidr_parse, as the *CIDR= keys and deny lists
 * take them) and the deny-list file format (axdp_denylist_read).
 * Properties: an accepted CIDR has no host bits set and its printed form
 * parses back to itself; a list either fails with FILE:LINE or yields
 * entries that are each valid CIDRs, still so after axdp_cidr_list_unique.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "denylist.h"
#include "fuzz_util.h"

static void host_bits_clear(const struct axdp_cidr *c)
{
	FUZZ_ASSERT(c->prefix <= 128, "prefix %u", c->prefix);
	for (unsigned bit = c->prefix; bit < 128; bit++)
		FUZZ_ASSERT(!(c->addr[bit / 8] & (0x80 >> (bit % 8))), "host bit %u set past /%u", bit, c->prefix);
}

static void round_trip(const struct axdp_cidr *c)
{
	struct axdp_cidr back;
	char text[64];

	host_bits_clear(c);
	axdp_cidr_format(text, sizeof(text), c);
	FUZZ_ASSERT(axdp_cidr_parse(text, strlen(text), false, &back) == 0, "printed as %s, which does not parse", text);
	FUZZ_ASSERT(back.prefix == c->prefix && !memcmp(back.addr, c->addr, 16), "%s parses to another CIDR", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct axdp_cidr_list l = { 0 };
	struct axdp_cidr c;
	char err[512] = "";
	const char *path;

	for (int mask = 0; mask < 2; mask++)
		if (axdp_cidr_parse((const char *)data, size, mask, &c) == 0)
			round_trip(&c);

	path = fuzz_file("deny.list", data, size);
	if (axdp_denylist_read(path, &l, err, sizeof(err)) < 0) {
		FUZZ_ASSERT(strstr(err, path) && strchr(err, ':'), "a refusal that names no line: %s", err);
		FUZZ_ASSERT(l.n == 0, "a refused list left %zu entries", l.n);
	} else {
		axdp_cidr_list_unique(&l);
		for (size_t i = 0; i < l.n; i++) {
			round_trip(&l.v[i]);
			if (i)
				FUZZ_ASSERT(memcmp(&l.v[i - 1], &l.v[i], sizeof(c)), "a repeat after unique");
		}
	}
	free(l.v);
	return 0;
}
