// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "parse_number.h"

int axdp_parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;
	bool over = false;

	if (!len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9)
			return -EINVAL;
		/* Keeps reading after an overflow: "99999999999x" is not a number, not out of range. */
		if (x > (UINT64_MAX - d) / 10)
			over = true;
		else
			x = x * 10 + d;
	}
	if (over || x > max)
		return -ERANGE;
	*out = x;
	return 0;
}

int axdp_parse_range(const char *s, size_t len, uint64_t max, uint64_t *lo, uint64_t *hi)
{
	const char *dash = memchr(s, '-', len);
	size_t lo_len = dash ? (size_t)(dash - s) : len;
	int r1, r2;

	r1 = axdp_parse_uint(s, lo_len, max, lo);
	if (!dash) {
		if (!r1)
			*hi = *lo;
		return r1;
	}
	r2 = axdp_parse_uint(dash + 1, len - lo_len - 1, max, hi);
	/* Bad syntax anywhere outranks a value out of range. */
	if (r1 == -EINVAL || r2 == -EINVAL)
		return -EINVAL;
	return r1 ? r1 : r2;
}
