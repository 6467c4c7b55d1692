/* SPDX-License-Identifier: MIT */
/*
 * CLOCK_MONOTONIC for deadlines and measured intervals: wall-clock steps
 * during a run must not fail a test.  Free of any test framework.
 */
#ifndef AXDP_TEST_TIMING_H
#define AXDP_TEST_TIMING_H

long now_ms(void);
double now_s(void);
/* Sleeps the whole of ms, signals or not. */
void sleep_ms(long ms);

#endif
