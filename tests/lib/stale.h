/* SPDX-License-Identifier: MIT */
/*
 * Pin and scratch directories: removed whole, and those left by test runs
 * that crashed or timed out found by the creating process's pid in their
 * names.  Free of any test framework.
 */
#ifndef AXDP_TEST_STALE_H
#define AXDP_TEST_STALE_H

/*
 * path and what is below it, down to depth levels, by plain unlinks:
 * safe from any namespace, and a BPF link whose last pin goes is
 * released with it.
 */
void rmtree(const char *path, int depth);

/*
 * Every entry of parent named prefix, a pid, then after_pid ("" for
 * nothing, else what must follow, then anything), whose process is gone.
 * A parallel run's entries stay: its process is alive.
 */
void stale_remove(const char *parent, const char *prefix, const char *after_pid, int depth);

#endif
