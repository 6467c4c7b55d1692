/* SPDX-License-Identifier: MIT */
/*
 * CRIT_SUITE(name, seconds, init, fini): a criterion suite whose tests each
 * end after a hang limit of seconds, init and fini being the suite's
 * fixtures (NULL for none).
 *
 * Not criterion's own .timeout: in criterion 2.4.1 (Debian 12) a worker that
 * times out makes its runner deadlock.  The worker's death callback then
 * sends the runner two messages, each waiting for an acknowledgement, and
 * the runner, which took the first as the test's end, waits for the callback
 * to return before it reads the second (Snaipe/Criterion#345, PR #468).  The
 * suite then hangs with the failure unreported until CI stops the whole run.
 * A worker that ends by a signal sends one message, so the limit is an
 * alarm in the worker: SIGALRM ends it, and criterion reports the test as a
 * crash by its name, after the line below says why.
 */
#ifndef AXDP_TEST_CRIT_SUITE_H
#define AXDP_TEST_CRIT_SUITE_H

#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static inline void crit_say(const char *s)
{
	ssize_t n = write(STDERR_FILENO, s, strlen(s));

	(void)n;
}

static inline void crit_hang_limit_reached(int sig)
{
	crit_say("[FAIL] ");
	crit_say(criterion_current_suite ? criterion_current_suite->name : "?");
	crit_say("::");
	crit_say(criterion_current_test ? criterion_current_test->name : "?");
	crit_say(": still running at its suite's hang limit (CRIT_SUITE): ended by SIGALRM\n");
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Arms the limit (init, fixture and teardown together), then runs the suite's own init. */
static inline void crit_hang_limit_then(unsigned int seconds, void (*init)(void))
{
	signal(SIGALRM, crit_hang_limit_reached);
	alarm(seconds);
	if (init)
		init();
}

/* The parameters are not named init and fini: TestSuite's designators are. */
#define CRIT_SUITE(name, seconds, init_fn, fini_fn)                \
	static void crit_suite_init_##name(void)                  \
	{                                                         \
		crit_hang_limit_then((seconds), (init_fn));       \
	}                                                         \
	TestSuite(name, .init = crit_suite_init_##name, .fini = (fini_fn))

#endif
