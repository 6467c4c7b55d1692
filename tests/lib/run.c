// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "run.h"
#include "timing.h"

#define POLL_MS 5

int run_start(struct run *r, const char *netns, const char *const argv[], const char *dir, char *err, size_t errlen)
{
	static atomic_uint serial;
	unsigned n = atomic_fetch_add(&serial, 1);
	pid_t parent = getpid();
	int ns = -1, out, errfd;
	sigset_t none;

	memset(r, 0, sizeof(*r));
	snprintf(r->out_path, sizeof(r->out_path), "%s/run-%d-%u.out", dir, (int)parent, n);
	snprintf(r->err_path, sizeof(r->err_path), "%s/run-%d-%u.err", dir, (int)parent, n);
	if (netns && *netns) {
		char path[128];

		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		ns = open(path, O_RDONLY | O_CLOEXEC);
		if (ns < 0)
			return snprintf(err, errlen, "network namespace %s: %s", netns, strerror(errno)), -1;
	}
	out = open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	errfd = open(r->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0 || errfd < 0) {
		snprintf(err, errlen, "creating %s: %s", r->out_path, strerror(errno));
		r->pid = -1;
	} else {
		r->pid = fork();
	}
	if (r->pid == 0) {
		/* Async-signal-safe calls only: the test process has threads. */
		int null = open("/dev/null", O_RDONLY);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent || (ns >= 0 && setns(ns, CLONE_NEWNET)) ||
		    null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
			_exit(126);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (r->pid < 0 && out >= 0 && errfd >= 0)
		snprintf(err, errlen, "fork: %s", strerror(errno));
	if (ns >= 0)
		close(ns);
	if (out >= 0)
		close(out);
	if (errfd >= 0)
		close(errfd);
	return r->pid > 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (f) {
		FILE *m = open_memstream(&buf, &len);
		char chunk[4096];
		size_t got;

		while (m && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, got, m);
		if (m)
			fclose(m);
		fclose(f);
	}
	unlink(path);
	return buf ? buf : strdup("");
}

int run_wait(struct run *r, int timeout_ms, char *err, size_t errlen)
{
	long deadline = now_ms() + timeout_ms;
	int status = 0;
	bool killed = false;

	for (;;) {
		pid_t w = waitpid(r->pid, &status, WNOHANG);

		if (w == r->pid)
			break;
		if (w < 0 && errno != EINTR)
			return snprintf(err, errlen, "waitpid: %s", strerror(errno)), -1;
		if (!killed && now_ms() >= deadline) {
			kill(r->pid, SIGKILL);
			killed = true;
		}
		usleep(POLL_MS * 1000);
	}
	r->ended_ms = now_ms();
	r->pid = 0;
	r->out = slurp(r->out_path);
	r->err = slurp(r->err_path);
	r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (killed)
		return snprintf(err, errlen, "still running after %d ms: killed; stderr: %s", timeout_ms, r->err), -1;
	if (r->code == 127)
		return snprintf(err, errlen, "could not be executed"), -1;
	return r->code;
}

int run_sync(struct run *r, const char *netns, const char *const argv[], const char *dir, int timeout_ms, char *err,
	     size_t errlen)
{
	if (run_start(r, netns, argv, dir, err, errlen))
		return -1;
	return run_wait(r, timeout_ms, err, errlen);
}

void run_free(struct run *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->pid = 0;
}
