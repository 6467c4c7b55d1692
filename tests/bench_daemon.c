// SPDX-License-Identifier: MIT
/*
 * The daemon's side of `make bench`: how long after listen() a port is
 * open (the promise is 0: open when listen() returns), how long after
 * close() it is closed again, and its CPU time per 1,000 listen/close
 * cycles; the daemon's resident memory with no deny list and with 100,000
 * entries spread over the IPv4 space, as published lists are (a reload
 * loads them); how long `axdp block add -` takes to put
 * 100,000 and 1,000,000 runtime bans into force, and `block remove -` to
 * lift them.  Everything runs in throwaway namespaces; it reports figures
 * and never asserts a time.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "autoxdp_abi.h"
#include "daemon.h"
#include "netns.h"
#include "run.h"

#define CYCLES 1000
#define FIRST_PORT 20000
#define POLL_LIMIT_NS (5 * 1000000000LL)
#define DENY_ENTRIES 100000

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool port_is_open(int port_allow_fd, __u16 port)
{
	__u32 idx = AXDP_L4_TCP * AXDP_PORTS + port;
	struct axdp_port_slot slot;

	return bpf_map_lookup_elem(port_allow_fd, &idx, &slot) == 0 &&
	       (slot.flags & AXDP_PORT_OPEN);
}

/* Nanoseconds until the port reaches the wanted state, 0 if it already has, -1 after the limit. */
static long long wait_port(int fd, __u16 port, bool open)
{
	long long start = now_ns();

	if (port_is_open(fd, port) == open)
		return 0;
	while (port_is_open(fd, port) != open) {
		if (now_ns() - start > POLL_LIMIT_NS)
			return -1;
		usleep(50);
	}
	return now_ns() - start;
}

static long proc_field(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			value = strtol(line + strlen(key), NULL, 10);
	if (f)
		fclose(f);
	return value;
}

/* utime + stime of the daemon, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
		return -1;
	return utime + stime;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int listener(const struct netns_pair *ns, __u16 port, char *err, size_t errlen)
{
	int one = 1, fd = netns_socket(ns->name[NETNS_SERVER], AF_INET, SOCK_STREAM, 0, err, errlen);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "bind port %u: %s", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int run(struct netns_pair *ns, struct axdpd *d)
{
	static long long open_ns[CYCLES], close_ns[CYCLES];
	char err[512], path[AXDPD_PATH + 32];
	int map_fd, open_at_return = 0, late = 0;
	long ticks_before, ticks_after;

	snprintf(path, sizeof(path), "%s/%s", d->pin_dir, AXDP_MAP_PORT_ALLOW);
	map_fd = bpf_obj_get(path);
	if (map_fd < 0)
		return fprintf(stderr, "bench: opening %s: %s\n", path, strerror(errno)), -1;
	ticks_before = cpu_ticks(d->pid);
	for (int i = 0; i < CYCLES; i++) {
		__u16 port = FIRST_PORT + i;
		int fd = listener(ns, port, err, sizeof(err));

		if (fd < 0 || listen(fd, 16) < 0)
			return fprintf(stderr, "bench: listener on port %u: %s\n", port, fd < 0 ? err : strerror(errno)), -1;
		open_at_return += port_is_open(map_fd, port);
		open_ns[i] = wait_port(map_fd, port, true);
		close(fd);
		close_ns[i] = wait_port(map_fd, port, false);
		late += open_ns[i] < 0 || close_ns[i] < 0;
	}
	ticks_after = cpu_ticks(d->pid);
	close(map_fd);
	qsort(open_ns, CYCLES, sizeof(open_ns[0]), cmp_ll);
	qsort(close_ns, CYCLES, sizeof(close_ns[0]), cmp_ll);

	printf("\nautoxdpd, %d listen/close cycles on the server side of a veth pair\n", CYCLES);
	printf("%-40s %12s\n", "measure", "value");
	printf("%-40s %11d%%\n", "port open when listen() returned", open_at_return * 100 / CYCLES);
	printf("%-40s %9lld us\n", "listen() to open, median", open_ns[CYCLES / 2] / 1000);
	printf("%-40s %9lld us\n", "listen() to open, 99th percentile", open_ns[CYCLES * 99 / 100] / 1000);
	printf("%-40s %9lld us\n", "close() to closed, median", close_ns[CYCLES / 2] / 1000);
	printf("%-40s %9lld us\n", "close() to closed, 99th percentile", close_ns[CYCLES * 99 / 100] / 1000);
	printf("%-40s %9ld ms\n", "daemon CPU time per 1,000 cycles",
	       (ticks_after - ticks_before) * 1000 / sysconf(_SC_CLK_TCK) * 1000 / CYCLES);
	if (late)
		printf("%d cycles did not settle within %lld s\n", late, POLL_LIMIT_NS / 1000000000);
	return 0;
}

/*
 * A list of n distinct /32s spread over the routable IPv4 space, as the
 * published lists are: multiplying by an odd constant is a bijection of
 * the 32-bit numbers, so no address repeats.
 */
static int write_deny_list(const char *path, unsigned n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return fprintf(stderr, "bench: %s: %s\n", path, strerror(errno)), -1;
	for (uint32_t i = 1, written = 0; written < n; i++) {
		uint32_t a = i * 2654435761u, top = a >> 24;

		if (top == 0 || top == 10 || top == 127 || top >= 224)
			continue;   /* not a source on the wire, or the namespaces' own 10.200.0.0/16 */
		fprintf(f, "%u.%u.%u.%u\n", top, (a >> 16) & 255, (a >> 8) & 255, a & 255);
		written++;
	}
	return fclose(f) ? -1 : 0;
}

/* The daemon's VmRSS with no deny list, then after a reload that loads DENY_ENTRIES. */
static int bench_memory(struct axdpd *d)
{
	char list[AXDPD_PATH + 16], dropin[AXDPD_PATH + 64], expect[64], *log;
	long empty_kb = proc_field(d->pid, "status", "VmRSS:"), listed_kb;
	size_t from;
	bool loaded;

	snprintf(list, sizeof(list), "%s/deny.txt", d->dir);
	snprintf(dropin, sizeof(dropin), "[Policy]\nDenyListFile=%s\n", list);
	if (write_deny_list(list, DENY_ENTRIES) || axdpd_dropin(d, "50-bench-deny.conf", dropin))
		return fprintf(stderr, "bench: writing the deny list: %s\n", d->err), -1;
	from = axdpd_notes_end(d);
	if (axdpd_signal(d, SIGHUP) || axdpd_wait_note(d, "READY=1", &from, 60000))
		return fprintf(stderr, "bench: reloading with %d deny entries: %s\n", DENY_ENTRIES, d->err), -1;
	listed_kb = proc_field(d->pid, "status", "VmRSS:");
	snprintf(expect, sizeof(expect), "deny list: %d entries", DENY_ENTRIES);
	log = axdpd_read_log(d);
	loaded = log && strstr(log, expect);
	if (!loaded)
		fprintf(stderr, "bench: the daemon's log has no '%s' after the reload:\n%s\n", expect, log ? log : "");
	free(log);
	if (!loaded)
		return -1;
	printf("\n%-40s %12s\n", "daemon resident memory (VmRSS)", "value");
	printf("%-40s %9ld KiB\n", "no deny list", empty_kb);
	printf("%-40s %9ld KiB\n", "100,000 deny entries (spread /32s)", listed_kb);
	return 0;
}

/* Milliseconds `axdp block SUB - < list` took, the process included; -1 on failure. */
static long long axdp_block(struct axdpd *d, const char *sub, const char *list)
{
	char program[AXDPD_PATH], script[3 * AXDPD_PATH + 128], err[512];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	long long start = now_ns();
	struct run r;
	int rc;

	snprintf(script, sizeof(script), "exec %s --config %s --pin-dir %s block %s - < %s",
		 axdpd_program("axdp", program, sizeof(program)), d->config, d->pin_dir, sub, list);
	rc = run_sync(&r, d->netns, argv, d->dir, 120000, err, sizeof(err));
	if (rc)
		fprintf(stderr, "bench: axdp block %s: %s%s\n", sub, rc < 0 ? err : "", r.err ? r.err : "");
	run_free(&r);
	return rc ? -1 : (now_ns() - start) / 1000000;
}

/* Runtime bans: n distinct /32s of 100.64.0.0/10 and beyond, an hour each. */
static int bench_bans(struct axdpd *d)
{
	static const unsigned counts[] = { 100000, 1000000 };
	char list[AXDPD_PATH + 16];

	snprintf(list, sizeof(list), "%s/bans.txt", d->dir);
	printf("\n%-40s %12s\n", "runtime bans (axdp block ... -)", "value");
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		FILE *f = fopen(list, "w");
		long long in, out;

		if (!f)
			return fprintf(stderr, "bench: %s: %s\n", list, strerror(errno)), -1;
		for (unsigned i = 0; i < counts[c]; i++)
			fprintf(f, "%u.%u.%u.%u 1h\n", 100 + (i >> 22), 64 + (i >> 16) % 64, (i >> 8) & 255, i & 255);
		if (fclose(f))
			return -1;
		in = axdp_block(d, "add", list);
		out = axdp_block(d, "remove", list);
		if (in < 0 || out < 0)
			return -1;
		printf("%-40s %9lld ms\n", counts[c] == 100000 ? "100,000 bans added" : "1,000,000 bans added", in);
		printf("%-40s %9lld ms\n", counts[c] == 100000 ? "100,000 bans removed" : "1,000,000 bans removed", out);
	}
	return 0;
}

int main(void)
{
	struct netns_pair ns = { 0 };
	struct axdpd d;
	char err[512];
	int rc = 1;

	netns_remove_stale();
	axdpd_remove_stale();
	if (netns_pair_create(&ns, err, sizeof(err))) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	if (axdpd_init(&d, ns.name[NETNS_SERVER], ns.ifname[NETNS_SERVER], "[Daemon]\nReconcileIntervalSec=30\n") ||
	    axdpd_start(&d, 10000))
		fprintf(stderr, "bench: starting autoxdpd: %s\n", d.err);
	else
		rc = run(&ns, &d) || bench_memory(&d) || bench_bans(&d) ? 1 : 0;
	axdpd_cleanup(&d);
	netns_pair_destroy(&ns, err, sizeof(err));
	return rc;
}
