// SPDX-License-Identifier: MIT
/*
 * autoxdpd's side of source policy, end to end in a throwaway server
 * namespace: DenyListFile= (500,000 entries; 10,000 on nftables) loaded
 * at start and replaced at reload, judged by a real client's connects and
 * the counters; each open port's rate-limit tier from the listening
 * process and the overrides; the host's own addresses kept in local_addrs
 * as they change.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "counters.h"
#include "crit_fixture.h"
#include "crit_suite.h"
#include "daemon.h"
#include "netns.h"
#include "policy.h"
#include "sock.h"
#include "timing.h"

#define SERVER NETNS_SERVER
#define CLIENT NETNS_CLIENT
#define READY_MS 15000
/* Bounds a reply that comes in microseconds: only a failure, or a machine other work stalls, waits it out. */
#define IO_MS 5000
#define DROPPED_MS 600
/* A hang limit on the daemon's reconcile passes and address events, not a measure of them. */
#define SETTLE_MS 10000
/*
 * CPU the daemon may spend from exec to READY=1 with a 500,000-entry
 * list (on nftables the smaller one, into the table too): loading the
 * data path and the list (test_policy.c bounds the list's part alone at
 * 2 s).  CPU time, not wall time: other work on the machine stretches the
 * one and not the other.
 */
#define START_CPU_MS 3000

static struct {
	struct netns_pair ns;
	struct axdpd d;
	pid_t child;
} fx;

static void teardown(void)
{
	char err[512];

	if (fx.child > 0) {
		kill(fx.child, SIGKILL);
		waitpid(fx.child, NULL, 0);
		fx.child = 0;
	}
	cr_expect(axdpd_fixture_teardown(&fx.ns, &fx.d, err, sizeof(err)) == 0, "teardown: %s", err);
}

CRIT_AFTER_ALL(axdpd_fixture_remove_stale())

static void setup(void)
{
	char err[1024];

	memset(&fx, 0, sizeof(fx));
	if (axdpd_fixture_setup(&fx.ns, &fx.d, "", err, sizeof(err)))
		cr_assert_fail("setup: %s", err);
}

CRIT_SUITE(policy_daemon, 60, setup, teardown);

static unsigned reconcile_s = 1;

/* The configuration, with a pid file of this run's own (several daemons run side by side). */
static void configure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void configure(const char *fmt, ...)
{
	char body[2048];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	f = fopen(fx.d.config, "we");
	cr_assert(f, "%s: %s", fx.d.config, strerror(errno));
	fprintf(f, "[Daemon]\nReconcileIntervalSec=%u\nPidFile=%s/autoxdpd.pid\n%s", reconcile_s, fx.d.dir, body);
	cr_assert_eq(fclose(f), 0);
}

static void start(void)
{
	cr_assert_eq(axdpd_start(&fx.d, READY_MS), 0, "starting autoxdpd: %s", fx.d.err);
}

static int pinned(const char *name)
{
	return crit_pinned(&fx.d, name);
}

static uint64_t counter(enum axdp_reason reason)
{
	return crit_counter(&fx.d, reason);
}

static int listen_on(uint16_t port)
{
	struct sockaddr_storage ss;
	char err[256];
	socklen_t len = tsock_addr(AF_INET, "0.0.0.0", port, &ss);
	int fd = netns_socket(fx.ns.name[SERVER], AF_INET, SOCK_STREAM, 0, err, sizeof(err));

	cr_assert(fd >= 0, "%s", err);
	cr_assert(tsock_bind(fd, &ss, len, 16) == 0, "listen on %u: %s", port, strerror(errno));
	return fd;
}

static int connect_within(uint16_t port, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len = netns_sockaddr(&fx.ns, SERVER, AF_INET, port, &ss);
	char err[256];
	int fd = netns_socket(fx.ns.name[CLIENT], AF_INET, SOCK_STREAM, 0, err, sizeof(err)), rc;

	cr_assert(fd >= 0, "%s", err);
	rc = tsock_connect_within(fd, &ss, len, ms);
	close(fd);
	return rc;
}

/* A published-list-shaped file of n entries (distinct /24s to /32s), with extra lines first. */
static void write_list(const char *path, size_t n, const char *extra)
{
	FILE *f = fopen(path, "we");

	cr_assert(f, "%s: %s", path, strerror(errno));
	fprintf(f, "; generated\n%s", extra);
	for (size_t i = 1; i <= n; i++) {
		uint32_t net = (uint32_t)(i * 2654435761u) % 0xd0000000u + 0x01000000u;

		net &= ~0xffu;
		if ((net >> 24) == 10 || (net >> 24) == 127)
			net ^= 0x20000000u; /* never the test's own 10.200.X.0/24 */
		fprintf(f, "%u.%u.%u.0/24\n", net >> 24, (net >> 16) & 255, (net >> 8) & 255);
	}
	cr_assert_eq(fclose(f), 0);
}

/* CPU time, user and system, the running daemon has used so far. */
static long daemon_cpu_ms(void)
{
	char path[64], stat[1024], *p;
	unsigned long utime, stime;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)fx.d.pid);
	f = fopen(path, "re");
	cr_assert(f && fgets(stat, sizeof(stat), f), "%s: %s", path, strerror(errno));
	fclose(f);
	/* After the ")" that ends the command name: state is field 3, utime and stime are 14 and 15. */
	p = strrchr(stat, ')');
	cr_assert(p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) == 2,
		  "%s: %s", path, stat);
	return (long)((utime + stime) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

/* The "loaded in N ms" of the last "deny list:" line of the log, -1 if none. */
static long deny_load_ms(size_t *entries)
{
	char *log = axdpd_read_log(&fx.d), *p, *last = NULL;
	unsigned long long n = 0, ms = 0;

	cr_assert(log, "reading the daemon's log");
	for (p = log; (p = strstr(p, "deny list: ")); p++)
		last = p;
	if (!last || sscanf(last, "deny list: %llu entries from DenyCIDR= and %*u DenyListFile= lists, loaded in %llu ms",
			    &n, &ms) != 2) {
		free(log);
		return -1;
	}
	free(log);
	*entries = n;
	return (long)ms;
}

/*
 * The list's networks besides the client.  nftables loads a big list far
 * slower than the data path (autoxdpd(8), NFTABLES BACKEND, row "Denied
 * sources": over a minute for 500,000 networks), so on it the same steps
 * run with a list that loads in seconds.
 */
#define BIG_LIST 499999
#define BIG_LIST_NFT 9999

Test(policy_daemon, big_deny_list_file_loads_fast_denies_and_follows_reloads)
{
	size_t n = fx.d.nftables ? BIG_LIST_NFT : BIG_LIST;
	char list[AXDPD_PATH + 32], extra[64];
	struct axdp_policy_usage u;
	size_t entries = 0, from;
	uint64_t denied;
	long ms, cpu_ms;
	int lfd;

	snprintf(list, sizeof(list), "%s/drop.list", fx.d.dir);
	snprintf(extra, sizeof(extra), "%s ; the test's client\n", fx.ns.ip4[CLIENT]);
	write_list(list, n, extra);
	configure("[Policy]\nDenyListFile=%s\n", list);
	start();
	cpu_ms = daemon_cpu_ms();
	ms = deny_load_ms(&entries);
	cr_assert_geq(ms, 0, "no 'deny list:' line in the log");
	cr_log_info("autoxdpd loaded %zu deny entries in %ld ms; %ld ms of CPU from exec to READY=1", entries, ms, cpu_ms);
	cr_expect_geq(entries, n * 4 / 5, "only %zu distinct entries of %zu", entries, n + 1);
	cr_expect_lt(cpu_ms, START_CPU_MS, "starting with %zu deny entries took %ld ms of CPU", entries, cpu_ms);

	char err[512];
	cr_assert_eq(axdp_policy_usage(fx.d.pin_dir, &u, err, sizeof(err)), 0, "%s", err);
	cr_log_info("deny: %u of %u entries, %llu bytes (%.0f per entry)", u.deny_entries, u.deny_max,
		    (unsigned long long)u.deny_bytes, (double)u.deny_bytes / (u.deny_entries ? u.deny_entries : 1));
	cr_expect_eq(u.deny_entries, entries);
	cr_expect_eq(u.deny_max, AXDP_DENY_ENTRIES);

	lfd = listen_on(8080);
	cr_assert_eq(axdpd_wait_reconcile(&fx.d, SETTLE_MS), 0, "%s", fx.d.err);
	denied = counter(AXDP_DROP_DENIED);
	cr_expect_eq(connect_within(8080, DROPPED_MS), ETIMEDOUT, "a client on the deny list connected");
	cr_expect_gt(counter(AXDP_DROP_DENIED), denied, "denied_source did not count the client's SYN");

	/* The list without the client: a reload replaces every entry and lets it in. */
	write_list(list, n, "");
	from = axdpd_notes_end(&fx.d);
	cr_assert_eq(axdpd_signal(&fx.d, SIGHUP), 0, "%s", fx.d.err);
	cr_assert_eq(axdpd_wait_note(&fx.d, "READY=1", &from, READY_MS), 0, "no READY=1 after the reload: %s", fx.d.err);
	cr_expect_eq(connect_within(8080, IO_MS), 0, "the client is off the list but still cannot connect");

	/* A list that no longer parses leaves the running one in force. */
	write_list(list, 10, "not-an-address\n");
	from = axdpd_notes_end(&fx.d);
	cr_assert_eq(axdpd_signal(&fx.d, SIGHUP), 0, "%s", fx.d.err);
	cr_assert_eq(axdpd_wait_note(&fx.d, "READY=1", &from, READY_MS), 0, "%s", fx.d.err);
	cr_assert_eq(axdp_policy_usage(fx.d.pin_dir, &u, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(u.deny_entries, entries - 1, "a broken list replaced the running one");
	close(lfd);
}

static enum axdp_tier tier_of(uint16_t port)
{
	struct axdp_port_slot slot;
	__u32 idx = AXDP_L4_TCP * AXDP_PORTS + port;
	int fd = pinned(AXDP_MAP_PORT_ALLOW);

	cr_assert_eq(bpf_map_lookup_elem(fd, &idx, &slot), 0, "slot of %u: %s", port, strerror(errno));
	close(fd);
	cr_assert(slot.flags & AXDP_PORT_OPEN_WILDCARD, "port %u is not open on every address", port);
	return (enum axdp_tier)slot.tier;
}

/*
 * A listener in a process of another name.  The socket is made and bound
 * here; the child only renames itself and calls listen(), so the socket
 * hook sees its name, and it uses nothing of the test framework.
 */
static pid_t listener_named(const char *comm, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = netns_sockaddr(&fx.ns, SERVER, AF_INET, port, &ss);
	char err[256], c;
	int ready[2], one = 1, fd = netns_socket(fx.ns.name[SERVER], AF_INET, SOCK_STREAM, 0, err, sizeof(err));
	pid_t pid;

	cr_assert(fd >= 0, "%s", err);
	((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_ANY);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert(bind(fd, (struct sockaddr *)&ss, len) == 0, "bind %u: %s", port, strerror(errno));
	cr_assert_eq(pipe(ready), 0);
	/* No assertion between fork and the child's branch: the child must never talk to the test runner. */
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, comm);
		if (listen(fd, 16) || write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	cr_assert(pid > 0, "fork: %s", strerror(errno));
	close(ready[1]);
	close(fd);
	cr_assert_eq(read(ready[0], &c, 1), 1, "the listener process did not start");
	close(ready[0]);
	return pid;
}

Test(policy_daemon, port_tiers_follow_the_listening_process_and_the_overrides)
{
	char comm[32] = "";
	FILE *f = fopen("/proc/self/comm", "re");
	int a, b, c;

	cr_assert(f && fgets(comm, sizeof(comm), f), "reading /proc/self/comm");
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	configure("[RateLimit]\nStrictProcesses=sshd %s\nStrictTCP=7002\nUnlimitedTCP=7003\n", comm);
	start();
	a = listen_on(7001);      /* a strict process by name */
	b = listen_on(7002);
	c = listen_on(7003);      /* a strict process, but UnlimitedTCP= names the port */
	fx.child = listener_named("webserver", 7004);
	cr_assert_eq(axdpd_wait_reconcile(&fx.d, SETTLE_MS), 0, "%s", fx.d.err);
	cr_assert_eq(axdpd_wait_reconcile(&fx.d, SETTLE_MS), 0, "%s", fx.d.err);
	cr_expect_eq(tier_of(7001), AXDP_TIER_STRICT, "listener process %s is in StrictProcesses=", comm);
	cr_expect_eq(tier_of(7002), AXDP_TIER_STRICT, "StrictTCP=7002");
	cr_expect_eq(tier_of(7003), AXDP_TIER_UNLIMITED, "UnlimitedTCP=7003 wins over the process name");
	cr_expect_eq(tier_of(7004), AXDP_TIER_NORMAL, "webserver is in no list");
	close(a);
	close(b);
	close(c);
}

static bool local_has(const char *addr)
{
	struct axdp_addr a = { .w = { 0, 0, htonl(0xffff), 0 } };
	__u8 v;
	int fd = pinned(AXDP_MAP_LOCAL_ADDRS);
	bool has;

	if (inet_pton(AF_INET, addr, &a.w[3]) != 1)
		cr_assert_eq(inet_pton(AF_INET6, addr, &a), 1, "test bug: %s", addr);
	has = bpf_map_lookup_elem(fd, &a, &v) == 0;
	close(fd);
	return has;
}

Test(policy_daemon, own_addresses_follow_address_changes)
{
	char added[INET_ADDRSTRLEN + 8], cmd[256];
	long t0;

	/* An hour between reconciles: only the address events can bring the change within SETTLE_MS. */
	reconcile_s = 3600;
	configure("%s", "");
	start();
	cr_expect(local_has(fx.ns.ip4[SERVER]), "%s missing from local_addrs", fx.ns.ip4[SERVER]);
	cr_expect(local_has(fx.ns.ip6[SERVER]), "%s missing from local_addrs", fx.ns.ip6[SERVER]);
	cr_expect(!local_has(fx.ns.ip4[CLIENT]), "the client's address is not the server's");
	snprintf(added, sizeof(added), "10.200.%u.77", fx.ns.subnet);
	snprintf(cmd, sizeof(cmd), "ip -n %s addr add %s/32 dev %s", fx.ns.name[SERVER], added, fx.ns.ifname[SERVER]);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	for (t0 = now_ms(); !local_has(added) && now_ms() - t0 < SETTLE_MS;)
		usleep(20000);
	cr_expect(local_has(added), "an address added at run time did not reach local_addrs within %d ms", SETTLE_MS);
	snprintf(cmd, sizeof(cmd), "ip -n %s addr del %s/32 dev %s", fx.ns.name[SERVER], added, fx.ns.ifname[SERVER]);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	for (t0 = now_ms(); local_has(added) && now_ms() - t0 < SETTLE_MS;)
		usleep(20000);
	cr_expect(!local_has(added), "a removed address stayed in local_addrs");
}
