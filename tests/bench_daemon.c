// SPDX-License-Identifier: MIT
/*
 * The daemon's side of `make bench`: how long after listen() a port is
 * open (the promise is 0 with XDP: open when listen() returns), how long
 * after close() it is closed again, the daemon's memory, and its CPU time
 * per 1,000 listen/close cycles, for XDP and for the nftables backend
 * (through libnftables in process, and through one nft per change as on a
 * host without the library).  With XDP also: resident memory with no deny
 * list and with 100,000 entries spread over the IPv4 space (a reload loads
 * them), and how long `axdp block add -` takes to put 100,000 and 1,000,000
 * runtime bans into force, and `block remove -` to lift them.  Everything runs in throwaway namespaces; it reports figures
 * and never asserts a time.
 *
 * The nftables backend once more with a deny list of 20,000 networks
 * (an interval set: libnftables 1.0.6 reads such a set's elements before
 * it adds elements anywhere).
 *
 * Open means: in the BPF allow-list for XDP; in nftables' set tcp_open4
 * for nftables (the listeners are IPv4 wildcards), listed through
 * libnftables (`list set`, about 0.1 ms a question) from inside the
 * server's namespace.
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
#include "nft_session.h"
#include "run.h"

#define CYCLES 1000
/* nft per change takes tens of ms a cycle: fewer cycles keep the bench short. */
#define CYCLES_NFT_PROGRAM 100
#define FIRST_PORT 20000
#define POLL_LIMIT_NS (5 * 1000000000LL)
#define DENY_ENTRIES 100000
#define DENY_NETS 20000

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Where a mode's port state is read: the BPF allow-list, or nftables' set in the server's namespace. */
struct probe {
	bool nft;
	int port_allow_fd;
	const char *netns;
};

static bool bpf_port_open(int port_allow_fd, __u16 port)
{
	__u32 idx = AXDP_L4_TCP * AXDP_PORTS + port;
	struct axdp_port_slot slot;

	return bpf_map_lookup_elem(port_allow_fd, &idx, &slot) == 0 &&
	       (slot.flags & AXDP_PORT_OPEN);
}

struct nft_ask {
	__u16 port;
	bool open;
};

/* Whether a listing of an inet_service interval set ("elements = { 22, 20000-20002 }") holds port. */
static bool port_listed(const char *text, unsigned port)
{
	const char *p = strstr(text, "elements = {");
	char *end;

	for (p = p ? p + 12 : NULL; p && *p && *p != '}'; p = end) {
		unsigned long lo, hi;

		lo = hi = strtoul(p, &end, 10);
		if (end == p) {
			end = (char *)p + 1; /* ", ", a line break */
			continue;
		}
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (lo <= port && port <= hi)
			return true;
	}
	return false;
}

static int nft_ask(void *arg)
{
	static const char cmd[] = "list set inet autoxdp tcp_open4\n";
	struct nft_ask *a = arg;
	char out[16384], err[512];

	/*
	 * The listeners are IPv4 wildcards: their ports go to tcp_open4 (with
	 * those of both families).  Listed, not "get element": libnftables
	 * 1.0.6 reads every set's elements for that, a deny list's included.
	 */
	a->open = axdp_nft_session_run(cmd, strlen(cmd), out, sizeof(out), err, sizeof(err)) == 0 &&
		  port_listed(out, a->port);
	return 0;
}

static bool port_is_open(const struct probe *p, __u16 port)
{
	struct nft_ask a = { .port = port };
	char err[256];

	if (!p->nft)
		return bpf_port_open(p->port_allow_fd, port);
	return netns_call(p->netns, nft_ask, &a, err, sizeof(err)) == 0 && a.open;
}

/*
 * Nanoseconds from start (when listen() or close() returned) until the
 * port was seen in the wanted state, the first question included (about
 * 1 us for the map, 0.1 ms for nftables); -1 after the limit.
 */
static long long wait_port(const struct probe *p, __u16 port, bool open, long long start)
{
	while (port_is_open(p, port) != open) {
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

/* utime + stime of the daemon and its waited-for children (nft runs), in clock ticks. */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	long cutime, cstime;
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
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld", &utime, &stime, &cutime,
			 &cstime) != 4)
		return -1;
	return (long)(utime + stime) + cutime + cstime;
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

/* One mode's figures. */
struct figures {
	int cycles, open_at_return, late;
	long long open_median, open_p99, close_median, close_p99;   /* ns */
	long rss_kb, cpu_ms_per_1000;
};

static int run(struct netns_pair *ns, struct axdpd *d, const struct probe *probe, int cycles, struct figures *fig)
{
	static long long open_ns[CYCLES], close_ns[CYCLES];
	long ticks_before, ticks_after;
	long long start;
	char err[512];

	memset(fig, 0, sizeof(*fig));
	fig->cycles = cycles;
	ticks_before = cpu_ticks(d->pid);
	for (int i = 0; i < cycles; i++) {
		__u16 port = FIRST_PORT + i;
		int fd = listener(ns, port, err, sizeof(err));

		if (fd < 0 || listen(fd, 16) < 0)
			return fprintf(stderr, "bench: listener on port %u: %s\n", port, fd < 0 ? err : strerror(errno)), -1;
		start = now_ns();
		fig->open_at_return += port_is_open(probe, port);
		open_ns[i] = wait_port(probe, port, true, start);
		close(fd);
		close_ns[i] = wait_port(probe, port, false, now_ns());
		fig->late += open_ns[i] < 0 || close_ns[i] < 0;
	}
	ticks_after = cpu_ticks(d->pid);
	fig->rss_kb = proc_field(d->pid, "status", "VmRSS:");
	qsort(open_ns, cycles, sizeof(open_ns[0]), cmp_ll);
	qsort(close_ns, cycles, sizeof(close_ns[0]), cmp_ll);
	fig->open_median = open_ns[cycles / 2];
	fig->open_p99 = open_ns[cycles * 99 / 100];
	fig->close_median = close_ns[cycles / 2];
	fig->close_p99 = close_ns[cycles * 99 / 100];
	fig->cpu_ms_per_1000 = (ticks_after - ticks_before) * 1000 / sysconf(_SC_CLK_TCK) * 1000 / cycles;
	return 0;
}

/*
 * A list of n distinct networks of prefix bits (/32s or /24s) spread over
 * the routable IPv4 space, as the published lists are: multiplying by an
 * odd constant is a bijection of the prefix-bit numbers, so none repeats.
 */
static int write_deny_list(const char *path, unsigned n, unsigned prefix)
{
	uint32_t mask = prefix == 32 ? ~0u : (1u << prefix) - 1;
	FILE *f = fopen(path, "w");

	if (!f)
		return fprintf(stderr, "bench: %s: %s\n", path, strerror(errno)), -1;
	for (uint32_t i = 1, written = 0; written < n; i++) {
		uint32_t a = ((i * 2654435761u) & mask) << (32 - prefix), top = a >> 24;

		if (top == 0 || top == 10 || top == 127 || top >= 224)
			continue;   /* not a source on the wire, or the namespaces' own 10.200.0.0/16 */
		fprintf(f, "%u.%u.%u.%u/%u\n", top, (a >> 16) & 255, (a >> 8) & 255, a & 255, prefix);
		written++;
	}
	return fclose(f) ? -1 : 0;
}

/* A reload with a deny list of n networks of prefix bits, its size checked in the log. */
static int load_deny_list(struct axdpd *d, unsigned n, unsigned prefix)
{
	char list[AXDPD_PATH + 16], dropin[AXDPD_PATH + 64], expect[64], *log;
	size_t from;
	bool loaded;

	snprintf(list, sizeof(list), "%s/deny.txt", d->dir);
	snprintf(dropin, sizeof(dropin), "[Policy]\nDenyListFile=%s\n", list);
	if (write_deny_list(list, n, prefix) || axdpd_dropin(d, "50-bench-deny.conf", dropin))
		return fprintf(stderr, "bench: writing the deny list: %s\n", d->err), -1;
	from = axdpd_notes_end(d);
	if (axdpd_signal(d, SIGHUP) || axdpd_wait_note(d, "READY=1", &from, 60000))
		return fprintf(stderr, "bench: reloading with %u deny entries: %s\n", n, d->err), -1;
	snprintf(expect, sizeof(expect), "deny list: %u entries", n);
	log = axdpd_read_log(d);
	loaded = log && strstr(log, expect);
	if (!loaded)
		fprintf(stderr, "bench: the daemon's log has no '%s' after the reload:\n%s\n", expect, log ? log : "");
	free(log);
	return loaded ? 0 : -1;
}

/* The daemon's VmRSS with no deny list, then after a reload that loads DENY_ENTRIES. */
static int bench_memory(struct axdpd *d)
{
	long empty_kb = proc_field(d->pid, "status", "VmRSS:"), listed_kb;

	if (load_deny_list(d, DENY_ENTRIES, 32))
		return -1;
	listed_kb = proc_field(d->pid, "status", "VmRSS:");
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

/* The modes compared, each with its own namespaces and daemon. */
static const struct mode {
	const char *name;
	const char *backend;
	const char *lib;       /* AXDP_LIBNFTABLES for the daemon; NULL: the default */
	int cycles;
	unsigned deny_nets;    /* a deny list of this many /24s, loaded before the cycles */
} modes[] = {
	{ "xdp", "xdp", NULL, CYCLES, 0 },
	{ "nft, libnftables", "nftables", NULL, CYCLES, 0 },
	{ "nft, nft per change", "nftables", "/nonexistent/" AXDP_NFT_LIB, CYCLES_NFT_PROGRAM, 0 },
	/* A deny list's networks fill an interval set, which libnftables may read at each change. */
	{ "nft, 20,000 deny /24s", "nftables", NULL, CYCLES, DENY_NETS },
};
#define N_MODES (int)(sizeof(modes) / sizeof(modes[0]))

static void print_row(const char *what, const struct figures *f, long long (*get)(const struct figures *), const char *unit)
{
	printf("%-36s", what);
	for (int m = 0; m < N_MODES; m++)
		printf(" %17lld %-3s", get(&f[m]), unit);
	printf("\n");
}

static long long at_return(const struct figures *f) { return f->open_at_return * 100LL / f->cycles; }
static long long open_med(const struct figures *f) { return f->open_median / 1000; }
static long long open_p99(const struct figures *f) { return f->open_p99 / 1000; }
static long long close_med(const struct figures *f) { return f->close_median / 1000; }
static long long close_p99(const struct figures *f) { return f->close_p99 / 1000; }
static long long rss(const struct figures *f) { return f->rss_kb; }
static long long cpu(const struct figures *f) { return f->cpu_ms_per_1000; }

/* One mode in fresh namespaces; the memory and bans benches with XDP's daemon. */
static int bench_mode(const struct mode *m, struct figures *fig, bool bans)
{
	struct netns_pair ns = { 0 };
	struct probe probe = { .nft = strcmp(m->backend, "nftables") == 0, .port_allow_fd = -1 };
	char config[256], err[512], path[AXDPD_PATH + 32];
	struct axdpd d;
	int rc = -1;

	if (netns_pair_create(&ns, err, sizeof(err))) {
		fprintf(stderr, "bench: %s\n", err);
		return -1;
	}
	snprintf(config, sizeof(config), "[Daemon]\nReconcileIntervalSec=30\nBackend=%s\n", m->backend);
	/* The daemon inherits the variable; this process's own session (the probe) keeps the library. */
	if (m->lib)
		setenv(AXDP_NFT_LIB_ENV, m->lib, 1);
	if (axdpd_init(&d, ns.name[NETNS_SERVER], ns.ifname[NETNS_SERVER], config) || axdpd_start(&d, 10000)) {
		fprintf(stderr, "bench: starting autoxdpd (%s): %s\n", m->name, d.err);
		unsetenv(AXDP_NFT_LIB_ENV);
		goto out;
	}
	unsetenv(AXDP_NFT_LIB_ENV);
	snprintf(path, sizeof(path), "%s/%s", d.pin_dir, AXDP_MAP_PORT_ALLOW);
	probe.port_allow_fd = bpf_obj_get(path);
	probe.netns = ns.name[NETNS_SERVER];
	if (probe.port_allow_fd < 0) {
		fprintf(stderr, "bench: opening %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (m->deny_nets && load_deny_list(&d, m->deny_nets, 24))
		rc = -1;
	else
		rc = run(&ns, &d, &probe, m->cycles, fig) || (bans && (bench_memory(&d) || bench_bans(&d))) ? -1 : 0;
	close(probe.port_allow_fd);
out:
	axdpd_cleanup(&d);
	netns_pair_destroy(&ns, err, sizeof(err));
	return rc;
}

int main(void)
{
	struct figures fig[N_MODES];

	netns_remove_stale();
	axdpd_remove_stale();
	for (int m = 0; m < N_MODES; m++)
		if (bench_mode(&modes[m], &fig[m], m == 0))
			return 1;
	printf("\nautoxdpd, listen/close cycles on the server side of a veth pair (");
	for (int m = 0; m < N_MODES; m++)
		printf("%s%d", m ? ", " : "", modes[m].cycles);
	printf(" cycles)\n");
	printf("%-36s", "measure");
	for (int m = 0; m < N_MODES; m++)
		printf(" %21s", modes[m].name);
	printf("\n");
	print_row("port open when listen() returned", fig, at_return, "%");
	print_row("listen() to open, median", fig, open_med, "us");
	print_row("listen() to open, 99th percentile", fig, open_p99, "us");
	print_row("close() to closed, median", fig, close_med, "us");
	print_row("close() to closed, 99th percentile", fig, close_p99, "us");
	print_row("daemon resident memory", fig, rss, "KiB");
	print_row("daemon CPU ms per 1,000 cycles", fig, cpu, "ms");
	for (int m = 0; m < N_MODES; m++)
		if (fig[m].late)
			printf("%s: %d cycles did not settle within %lld s\n", modes[m].name, fig[m].late,
			       POLL_LIMIT_NS / 1000000000);
	return 0;
}
