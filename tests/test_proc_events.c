// SPDX-License-Identifier: MIT
/* The process connector fallback: a task that ends is seen. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sched.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include "proc_events.h"

static void *nothing(void *arg)
{
	return arg;
}

/*
 * A task that ends: a thread's exit is an exit event too, and unlike a
 * child process it does not confuse criterion, which watches the test's
 * children itself.
 */
static void run_task(void)
{
	pthread_t t;

	cr_assert(pthread_create(&t, NULL, nothing, NULL) == 0, "pthread_create failed");
	cr_assert(pthread_join(t, NULL) == 0, "pthread_join failed");
}

Test(proc_events, exec_and_exit_are_seen)
{
	char err[256];
	int fd = axdp_proc_events_open(err, sizeof(err));
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int seen = 0;

	cr_assert(fd >= 0, "%s", err);
	run_task();
	/* A hang limit of 10 s: the event comes at once, but other work may stall this process. */
	for (int i = 0; i < 100 && !seen; i++) {
		cr_assert(poll(&pfd, 1, 100) >= 0, "poll: %s", strerror(errno));
		seen = axdp_proc_events_drain(fd);
		cr_assert(seen >= 0, "reading the process connector: %s", strerror(errno));
	}
	cr_assert_eq(seen, 1, "no exit event within 10 s of a thread ending");
	close(fd);
}

/* The daemon falls back to polling alone there: the failure must say why. */
Test(proc_events, refused_outside_the_initial_namespace)
{
	char err[256];

	cr_assert(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	cr_assert_eq(axdp_proc_events_open(err, sizeof(err)), -1, "the connector answered in a new network namespace");
	cr_assert(strstr(err, "initial network namespace"), "unhelpful error: %s", err);
}
