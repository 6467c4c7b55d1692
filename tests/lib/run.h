/* SPDX-License-Identifier: MIT */
/*
 * Commands run in a network namespace while the test goes on: `axdp
 * events` must be listening before the probe it is to report is sent.
 * Each run writes its output to files of its own, so several can run at
 * once.  The child gets PR_SET_PDEATHSIG, so a test that dies takes it
 * along.  Free of any test framework.
 */
#ifndef AXDP_TEST_RUN_H
#define AXDP_TEST_RUN_H

#include <stddef.h>
#include <sys/types.h>

struct run {
	pid_t pid;
	char out_path[300], err_path[300];
	char *out, *err;     /* after run_wait: everything written, NUL-terminated */
	int code;            /* exit code, 128+N for signal N */
	long ended_ms;       /* CLOCK_MONOTONIC ms at which run_wait saw it end */
};

/* Starts argv (a path, or a name on PATH) in netns (NULL: here), output into files under dir. */
int run_start(struct run *r, const char *netns, const char *const argv[], const char *dir, char *err, size_t errlen);

/* Waits up to timeout_ms (then SIGKILL); the exit code, or -1 with err. */
int run_wait(struct run *r, int timeout_ms, char *err, size_t errlen);

/* run_start + run_wait. */
int run_sync(struct run *r, const char *netns, const char *const argv[], const char *dir, int timeout_ms, char *err,
	     size_t errlen);

void run_free(struct run *r);

#endif
