/* SPDX-License-Identifier: MIT */
/*
 * A checker of the Prometheus text exposition format (0.0.4), with the
 * lints promtool's "check metrics" applies (HELP and TYPE for every
 * family, counters named *_total), for systems without promtool.
 * Free of any test framework.
 */
#ifndef AXDP_TEST_PROMTEXT_H
#define AXDP_TEST_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* 0 when text is valid; else -1 and err says which line and why. */
int prom_check(const char *text, char *err, size_t errlen);

/* The value of the sample whose name and labels are spelled exactly series ("a{b=\"c\"}"). */
bool prom_sample(const char *text, const char *series, double *value);

#endif
