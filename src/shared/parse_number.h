/* SPDX-License-Identifier: MIT */
/*
 * The one number grammar of autoxdp's files and command lines:
 *
 *   NUMBER = DIGIT+        DIGIT = "0" .. "9"
 *   RANGE  = NUMBER [ "-" NUMBER ]
 *
 * Decimal only, nothing around it: no sign, no white space, no "0x"
 * (strtoul() would take "-1", "+5", " 7" and "0x10").  Leading zeros
 * are fine ("007" is 7).  A value above the caller's maximum is out of
 * range, however many digits it has.
 */
#ifndef AXDP_PARSE_NUMBER_H
#define AXDP_PARSE_NUMBER_H

#include <stddef.h>
#include <stdint.h>

/* s[0..len) as a NUMBER of at most max.  0; -EINVAL when it is not a NUMBER; -ERANGE when it is above max. */
int axdp_parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out);

/*
 * s[0..len) as a RANGE whose ends are at most max; a lone NUMBER is the
 * range N-N.  0, -EINVAL or -ERANGE as axdp_parse_uint(); lo > hi is the
 * caller's to judge.
 */
int axdp_parse_range(const char *s, size_t len, uint64_t max, uint64_t *lo, uint64_t *hi);

#endif
