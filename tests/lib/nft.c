// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "errbuf.h"
#include "netns.h"
#include "nft.h"
#include "timing.h"

#define NETNS_RUN_DIR "/run/netns"

static void read_back(int fd, char *buf, size_t cap)
{
	ssize_t n;

	if (!buf || !cap)
		return;
	n = pread(fd, buf, cap - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
}

/* ---- nft in a namespace ---- */

int nftns(const char *netns, const char *const args[], const char *input, char *out, size_t outlen, char *err,
	  size_t errlen)
{
	char path[sizeof(NETNS_RUN_DIR) + 80];
	const char *argv[12] = { "nft" };
	int ns_fd, in_fd, out_fd, err_fd, status = 0, n = 1;
	pid_t pid;

	/* The host's ruleset is never ours to touch. */
	if (!netns || !*netns)
		return axdp_fail(err, errlen, "nftns: no network namespace given; refusing to run nft on the host");
	for (; args[n - 1] && n < 11; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", netns);
	ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return axdp_fail(err, errlen, "network namespace %s: %s", netns, strerror(errno));
	in_fd = memfd_create("nft-in", MFD_CLOEXEC);
	out_fd = memfd_create("nft-out", MFD_CLOEXEC);
	err_fd = memfd_create("nft-err", MFD_CLOEXEC);
	if (in_fd < 0 || out_fd < 0 || err_fd < 0 ||
	    (input && write(in_fd, input, strlen(input)) != (ssize_t)strlen(input))) {
		axdp_fail(err, errlen, "nftns: buffers: %s", strerror(errno));
		status = -1;
		goto out;
	}
	lseek(in_fd, 0, SEEK_SET);
	pid = fork();
	if (pid == 0) {
		/* Only async-signal-safe calls: the test process has threads. */
		if (setns(ns_fd, CLONE_NEWNET))
			_exit(125);
		if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
			_exit(124);
		execvp("nft", (char *const *)argv);
		_exit(127);
	}
	if (pid < 0) {
		axdp_fail(err, errlen, "fork: %s", strerror(errno));
		status = -1;
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	read_back(out_fd, out, outlen);
	if (!WIFEXITED(status)) {
		status = axdp_fail(err, errlen, "nft killed by signal %d", WTERMSIG(status));
	} else if ((status = WEXITSTATUS(status)) == 125 || status == 127) {
		axdp_fail(err, errlen, "nft: %s", status == 125 ? "setns failed" : "not found (install nftables)");
		status = -1;
	} else if (status) {
		read_back(err_fd, err, errlen);
	}
out:
	close(ns_fd);
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	return status;
}

int nftns_ruleset(const char *netns, char *out, size_t outlen, char *err, size_t errlen)
{
	static const char *const args[] = { "list", "ruleset", NULL };

	return nftns(netns, args, NULL, out, outlen, err, errlen) == 0 ? 0 : -1;
}

static char *table_start(const char *ruleset, const char *family, const char *name)
{
	char head[128];
	const char *p = ruleset;
	size_t len = (size_t)snprintf(head, sizeof(head), "table %s %s {", family, name);

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, head, len) == 0 && (p[len] == '\n' || p[len] == ' '))
			return (char *)p;
	return NULL;
}

bool nft_has_table(const char *ruleset, const char *family, const char *name)
{
	return table_start(ruleset, family, name) != NULL;
}

void nft_strip_table(char *ruleset, const char *family, const char *name)
{
	char *start = table_start(ruleset, family, name), *end;

	if (!start)
		return;
	/* The table's closing brace is the first line that is exactly "}". */
	end = strstr(start, "\n}\n");
	end = end ? end + 3 : start + strlen(start);
	if (*end == '\n')
		end++;
	memmove(start, end, strlen(end) + 1);
}

/* ---- an XDP program in the way ---- */

struct blocker_arg {
	int ifindex;
	int prog_fd;
	bool attach;
};

static int blocker_in_ns(void *arg)
{
	struct blocker_arg *a = arg;

	if (a->attach)
		return bpf_xdp_attach(a->ifindex, a->prog_fd, XDP_FLAGS_DRV_MODE, NULL);
	return bpf_xdp_detach(a->ifindex, XDP_FLAGS_DRV_MODE, NULL);
}

int xdp_blocker_attach(const char *netns, int ifindex, char *err, size_t errlen)
{
	/* r0 = XDP_PASS; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct blocker_arg a = { .ifindex = ifindex, .attach = true };
	char nserr[256];
	int rc;

	a.prog_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "axdp_blocker", "GPL", insns, 2, NULL);
	if (a.prog_fd < 0)
		return axdp_fail(err, errlen, "loading the blocker XDP program: %s", strerror(errno));
	rc = netns_call(netns, blocker_in_ns, &a, nserr, sizeof(nserr));
	close(a.prog_fd);
	if (rc)
		return axdp_fail(err, errlen, "attaching the blocker XDP program to ifindex %d in %s: %s %s", ifindex, netns,
			    rc < 0 ? strerror(-rc) : "", nserr);
	return 0;
}

int xdp_blocker_detach(const char *netns, int ifindex, char *err, size_t errlen)
{
	struct blocker_arg a = { .ifindex = ifindex };
	char nserr[256];
	int rc = netns_call(netns, blocker_in_ns, &a, nserr, sizeof(nserr));

	if (rc)
		return axdp_fail(err, errlen, "detaching the blocker XDP program in %s: %s %s", netns, rc < 0 ? strerror(-rc) : "",
			    nserr);
	return 0;
}

/* ---- hunting for holes ---- */

int probe_target(struct probe *p, const struct sockaddr *sa, socklen_t len)
{
	if (p->n_targets == PROBE_MAX_TARGETS)
		return axdp_fail(p->err, sizeof(p->err), "too many probe targets");
	memcpy(&p->target[p->n_targets], sa, len);
	p->target_len[p->n_targets++] = len;
	return 0;
}

struct inflight {
	int fd;
	int target;
	long sent_ms;
};

static void record(struct probe *p, const struct inflight *f, int error)
{
	pthread_mutex_lock(&p->lock);
	if (error == ETIMEDOUT) {
		p->dropped++;
	} else if (error == 0 || error == ECONNREFUSED) {
		/*
		 * The latest holes, not the first: holes before a step's start
		 * must not crowd out one after it, which would pass its verdict.
		 */
		p->kept[p->holes++ % PROBE_HOLES_KEPT] = (struct probe_hole){ f->sent_ms, f->target, error };
		if (p->n_kept < PROBE_HOLES_KEPT)
			p->n_kept++;
	} else {
		if (!p->errors++)
			p->first_error = error;
	}
	if (error == ETIMEDOUT || error == 0 || error == ECONNREFUSED)
		p->last_judged_ms = f->sent_ms > p->last_judged_ms ? f->sent_ms : p->last_judged_ms;
	pthread_mutex_unlock(&p->lock);
}

#define INFLIGHT_MAX 512

static void *probe_run(void *arg)
{
	struct probe *p = arg;
	static __thread struct inflight fl[INFLIGHT_MAX];
	struct pollfd pfd[INFLIGHT_MAX];
	char err[256];
	long next = now_ms();
	int n = 0;

	if (netns_enter(p->netns, err, sizeof(err))) {
		snprintf(p->err, sizeof(p->err), "%s", err);
		return NULL;
	}
	while (!atomic_load(&p->stop) || n) {
		long now = now_ms();

		for (int t = 0; !atomic_load(&p->stop) && now >= next && t < p->n_targets && n < INFLIGHT_MAX; t++) {
			int fd = socket(p->target[t].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			fl[n] = (struct inflight){ fd, t, now_ms() };
			pthread_mutex_lock(&p->lock);
			p->sent++;
			pthread_mutex_unlock(&p->lock);
			if (fd < 0) {
				record(p, &fl[n], errno);
				continue;
			}
			if (connect(fd, (struct sockaddr *)&p->target[t], p->target_len[t]) == 0) {
				record(p, &fl[n], 0);
				close(fd);
				continue;
			}
			if (errno != EINPROGRESS) {
				record(p, &fl[n], errno);
				close(fd);
				continue;
			}
			n++;
		}
		if (now >= next)
			next = now + (p->interval_us + 999) / 1000;
		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = fl[i].fd, .events = POLLOUT };
		poll(pfd, (nfds_t)n, 1);
		now = now_ms();
		for (int i = 0; i < n;) {
			int error = 0;
			socklen_t len = sizeof(error);

			if (pfd[i].revents) {
				getsockopt(fl[i].fd, SOL_SOCKET, SO_ERROR, &error, &len);
			} else if (now - fl[i].sent_ms >= p->timeout_ms) {
				error = ETIMEDOUT;
			} else {
				i++;
				continue;
			}
			record(p, &fl[i], error);
			close(fl[i].fd);
			fl[i] = fl[n - 1];
			pfd[i] = pfd[n - 1];
			n--;
		}
	}
	return NULL;
}

int probe_start(struct probe *p, const char *client_netns, int interval_us, int timeout_ms)
{
	snprintf(p->netns, sizeof(p->netns), "%s", client_netns);
	p->interval_us = interval_us;
	p->timeout_ms = timeout_ms;
	p->last_judged_ms = -1;
	atomic_store(&p->stop, false);
	pthread_mutex_init(&p->lock, NULL);
	if (pthread_create(&p->thread, NULL, probe_run, p))
		return axdp_fail(p->err, sizeof(p->err), "starting the prober thread");
	p->running = true;
	return 0;
}

void probe_stop(struct probe *p)
{
	if (!p->running)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	p->running = false;
}

/* Holes whose SYN left at or after since_ms; first (may be NULL) gets the first of them that was kept. */
/* Holes among the latest kept whose SYN left at or after since_ms; the earliest of them in *first. */
static long probe_holes_since(struct probe *p, long since_ms, struct probe_hole *first)
{
	long n = 0;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->n_kept; i++) {
		if (p->kept[i].sent_ms < since_ms)
			continue;
		if (n++ == 0 || p->kept[i].sent_ms < first->sent_ms)
			*first = p->kept[i];
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

long probe_judged(struct probe *p)
{
	long n;

	pthread_mutex_lock(&p->lock);
	n = p->dropped + p->holes;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int probe_verdict(struct probe *p, long since_ms, char *why, size_t whylen)
{
	struct probe_hole h = {};
	long holes = probe_holes_since(p, since_ms, &h), sent, errors, last;
	int first_error;

	pthread_mutex_lock(&p->lock);
	sent = p->sent;
	errors = p->errors;
	first_error = p->first_error;
	last = p->last_judged_ms;
	pthread_mutex_unlock(&p->lock);
	if (p->err[0])
		return axdp_fail(why, whylen, "the prober failed: %s", p->err);
	if (errors)
		return axdp_fail(why, whylen, "%ld probes failed (the first: %s), so silence proves nothing", errors,
				 strerror(first_error));
	if (holes)
		return axdp_fail(why, whylen, "SYNs to closed ports were answered (%ld of the latest %d holes kept); "
				 "one left %ld ms after the start, to port %u, answered %s", holes, PROBE_HOLES_KEPT,
				 h.sent_ms - since_ms,
				 ntohs(((struct sockaddr_in *)&p->target[h.target])->sin_port), /* sin6_port alike */
				 h.error ? strerror(h.error) : "by an accepted connection");
	if (last < since_ms)
		return axdp_fail(why, whylen, "no probe sent since the start was judged (%ld sent in all)", sent);
	return 0;
}
