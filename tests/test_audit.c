// SPDX-License-Identifier: MIT
/*
 * Mode=audit and axdp explain against the real daemon and the real data
 * path in a throwaway namespace pair: audit mode is judged by what the
 * client's TCP stack experiences (a refused connection is a RST from the
 * server's stack, so the SYN passed) and by the counters; explain by its
 * JSON (checked against man/axdp.8) and by the maps it must leave alone.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include "autoxdp_abi.h"
#include "counters.h"
#include "crit_fixture.h"
#include "crit_suite.h"
#include "daemon.h"
#include "jsoncheck.h"
#include "metrics.h"
#include "netns.h"
#include "run.h"
#include "sock.h"
#include "timing.h"

#define SERVER NETNS_SERVER
#define CLIENT NETNS_CLIENT

#define OPEN_PORT 8080
#define CLOSED_PORT 23
#define DENIED "192.0.2.0/24"
/* A single address and an IPv4 /25../31 live in the exact sets; explain names the entry all the same. */
#define DENIED_ONE "203.0.113.200"
#define DENIED_28 "203.0.113.16/28"
#define TRUSTED "198.51.100.0/24"
/* Small enough to run out within one test, with every other connection of the suite from other ports. */
#define SYN_BURST 2

#define READY_MS 10000
#define AXDP_MS 15000
/* A veth answers in microseconds: silence this long means dropped. */
#define DROPPED_MS 600

static struct {
	struct netns_pair ns;
	struct axdpd d;
} fx;

static void teardown(void)
{
	char err[512];

	cr_expect(axdpd_fixture_teardown(&fx.ns, &fx.d, err, sizeof(err)) == 0, "teardown: %s", err);
}

CRIT_AFTER_ALL(axdpd_fixture_remove_stale())

/* BpfObject= as the daemon's command line has it: explain loads the same object, absolute since axdp runs elsewhere. */
static void setup(void)
{
	char object[PATH_MAX], config[PATH_MAX + 512], err[sizeof(fx.d.err)];

	memset(&fx, 0, sizeof(fx));
	cr_assert_not_null(realpath(axdpd_object(), object), "%s: %s", axdpd_object(), strerror(errno));
	snprintf(config, sizeof(config),
		 "[Daemon]\nBpfObject=%s\n[Policy]\nDenyCIDR=" DENIED " " DENIED_ONE " " DENIED_28 "\nTrustCIDR=" TRUSTED "\n"
		 "[RateLimit]\nSYNPerSecond=1\nSYNBurst=%d\n",
		 object, SYN_BURST);
	if (axdpd_fixture_setup(&fx.ns, &fx.d, config, err, sizeof(err)))
		cr_assert_fail("setup: %s", err);
	if (axdpd_start(&fx.d, READY_MS)) {
		snprintf(err, sizeof(err), "%s", fx.d.err);
		teardown();
		cr_assert_fail("setup: %s", err);
	}
}

CRIT_SUITE(audit, 60, setup, teardown);
CRIT_SUITE(explain, 60, setup, teardown);

/* ---- axdp ---- */

/* axdp with the fixture's configuration and pin directory, in the server namespace; its exit code. */
static int axdp(struct run *r, const char *const *args)
{
	char program[AXDPD_PATH], err[512];
	const char *argv[24] = { axdpd_program("axdp", program, sizeof(program)), "--config", fx.d.config, "--pin-dir",
				 fx.d.pin_dir };
	int n = 5, rc;

	for (; *args && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	rc = run_sync(r, fx.ns.name[SERVER], argv, fx.d.dir, AXDP_MS, err, sizeof(err));
	cr_assert_geq(rc, 0, "axdp %s: %s", args[0], err);
	return rc;
}

#define AXDP(r, ...) axdp(r, (const char *const[]){ __VA_ARGS__, NULL })

#define AXDP_OK(r, ...)                                                                                         \
	do {                                                                                                    \
		int rc_ = AXDP(r, __VA_ARGS__);                                                                 \
		cr_assert_eq(rc_, 0, "axdp %s: exit %d\nstdout:\n%s\nstderr:\n%s", #__VA_ARGS__, rc_, (r)->out,  \
			     (r)->err);                                                                         \
	} while (0)

/* The first line of stdout, checked against the schema man/axdp.8 writes for command. */
static struct jv *documented(const char *command, const char *out)
{
	char path[512], err[1024], *line = strndup(out, strcspn(out, "\n"));
	const char *src = getenv("AXDP_SRCDIR");
	char *schema;
	struct jv *doc;

	snprintf(path, sizeof(path), "%s/man/axdp.8", src && *src ? src : ".");
	schema = jv_man_schema(path, command, err, sizeof(err));
	cr_assert_not_null(schema, "%s", err);
	doc = jv_parse(line, err, sizeof(err));
	cr_assert_not_null(doc, "axdp %s --json printed no valid JSON (%s):\n%s", command, err, line);
	cr_assert_eq(jv_check(schema, doc, err, sizeof(err)), 0, "axdp %s --json does not match man/axdp.8: %s\n%s",
		     command, err, line);
	free(schema);
	free(line);
	return doc;
}

/* axdp explain ARGS --json: the document, checked against the man page. */
static struct jv *explain(const char *const *args)
{
	const char *argv[16] = { "explain" };
	struct run r;
	struct jv *doc;
	int n = 1, rc;

	for (; *args && n < 14; args++)
		argv[n++] = *args;
	argv[n++] = "--json";
	argv[n] = NULL;
	rc = axdp(&r, argv);
	cr_assert_eq(rc, 0, "axdp explain %s %s: exit %d\n%s%s", argv[1], argv[2], rc, r.out, r.err);
	doc = documented("explain", r.out);
	run_free(&r);
	return doc;
}

#define EXPLAIN(...) explain((const char *const[]){ __VA_ARGS__, NULL })

static bool verdict_is(const struct jv *doc, const char *verdict, const char *reason)
{
	const char *v = jv_str(doc, "verdict"), *r = jv_str(doc, "reason");

	return v && r && !strcmp(v, verdict) && !strcmp(r, reason);
}

static void expect_verdict(const struct jv *doc, const char *verdict, const char *reason)
{
	cr_expect_str_eq(jv_str(doc, "verdict"), verdict);
	cr_expect_str_eq(jv_str(doc, "reason"), reason);
}

/* ---- the network ---- */

static char *endpoint(char *buf, size_t len, enum netns_side side, int af, unsigned port)
{
	const char *a = af == AF_INET ? fx.ns.ip4[side] : fx.ns.ip6[side];

	if (!port)
		snprintf(buf, len, "%s", a);
	else if (af == AF_INET)
		snprintf(buf, len, "%s:%u", a, port);
	else
		snprintf(buf, len, "[%s]:%u", a, port);
	return buf;
}

static int sock_in(enum netns_side side, int af, int type)
{
	char err[512];
	int fd = netns_socket(fx.ns.name[side], af, type, 0, err, sizeof(err));

	cr_assert(fd >= 0, "%s", err);
	return fd;
}

static int listen_on(enum netns_side side, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = tsock_addr(AF_INET, "0.0.0.0", port, &ss);
	int fd = sock_in(side, AF_INET, SOCK_STREAM);

	cr_assert(tsock_bind(fd, &ss, len, 16) == 0, "listening on port %u: %s", port, strerror(errno));
	return fd;
}

/* A connection attempt to the other side's port: 0, ECONNREFUSED (a RST came back), or ETIMEDOUT after silence. */
static int connect_from(enum netns_side from, uint16_t port, int *keep)
{
	struct sockaddr_storage ss;
	socklen_t len = netns_sockaddr(&fx.ns, from == CLIENT ? SERVER : CLIENT, AF_INET, port, &ss), optlen = sizeof(int);
	int fd = sock_in(from, AF_INET, SOCK_STREAM), rc = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&ss, len) && errno == EINPROGRESS) {
		if (poll(&pfd, 1, DROPPED_MS) == 0)
			rc = ETIMEDOUT;
		else
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &optlen);
	} else if (errno != EINPROGRESS) {
		rc = errno;
	}
	if (keep && rc == 0)
		*keep = fd;
	else
		close(fd);
	return rc;
}

/* An established connection the server opened to a listener of the client: its conntrack entry exists. */
struct flow {
	int listener, server_end, client_end;
	uint16_t server_port;
};

static void open_flow(struct flow *f, uint16_t client_port)
{
	f->listener = listen_on(CLIENT, client_port);
	cr_assert_eq(connect_from(SERVER, client_port, &f->server_end), 0, "the server's connection to the client");
	fcntl(f->server_end, F_SETFL, 0);
	f->client_end = accept(f->listener, NULL, NULL);
	cr_assert_geq(f->client_end, 0, "accept: %s", strerror(errno));
	f->server_port = (uint16_t)tsock_local_port(f->server_end);
}

/* Bytes from the client reach the server on the flow: the data path passed them. */
static void flow_passes(const struct flow *f)
{
	char buf[8];

	cr_assert_eq(send(f->client_end, "ping", 4, 0), 4);
	cr_assert_eq(tsock_timeouts(f->server_end, 2000), 0);
	cr_assert_eq(recv(f->server_end, buf, sizeof(buf), 0), 4, "the flow's data did not arrive: %s", strerror(errno));
}

static void close_flow(struct flow *f)
{
	close(f->client_end);
	close(f->server_end);
	close(f->listener);
}

/* ---- the maps ---- */

static uint64_t counted(const char *map, enum axdp_reason reason)
{
	return crit_counted(&fx.d, map, reason);
}

/* The data path's connection table; on nftables kernel conntrack judges (autoxdpd(8), row "Closed TCP, not SYN"). */
static long conntrack_entries(void)
{
	struct axdp_conntrack ct = crit_pinned_conntrack(&fx.d);
	long n = axdp_conntrack_count(&ct);

	axdp_conntrack_close(&ct);
	cr_assert_geq(n, 0, "counting conntrack: %s", strerror(errno));
	return n;
}

/*
 * On nftables there is no program for explain to run (autoxdpd(8),
 * NFTABLES BACKEND, row "axdp explain"): it says so, naming the
 * interface, and exits 3.  True after asserting that on nftables; the
 * explain cases are about the XDP program and end there.
 */
static bool explain_refused_on_nftables(void)
{
	char src[64], dst[64], want[96];
	struct run r;
	int rc;

	if (!fx.d.nftables)
		return false;
	rc = AXDP(&r, "explain", "tcp", endpoint(src, sizeof(src), CLIENT, AF_INET, 0),
		  endpoint(dst, sizeof(dst), SERVER, AF_INET, CLOSED_PORT));
	snprintf(want, sizeof(want), "no XDP program runs on %s: nftables protects it", fx.ns.ifname[SERVER]);
	cr_expect_eq(rc, 3, "axdp explain on nftables: exit %d, not 3\n%s%s", rc, r.out, r.err);
	cr_expect(strstr(r.err, want), "axdp explain on nftables does not say \"%s\":\n%s", want, r.err);
	run_free(&r);
	return true;
}

/* ---- audit mode ---- */

Test(audit, judges_as_enforce_and_drops_nothing)
{
	uint64_t closed = counted(AXDP_MAP_COUNTERS, AXDP_DROP_TCP_CLOSED);
	/*
	 * How often one dropped packet is counted in audit mode: on nftables
	 * the ingress stage lets it on to the second stage, which counts it
	 * again (autoxdpd(8), NFTABLES BACKEND, row "Mode=audit").
	 */
	const uint64_t per = fx.d.nftables ? 2 : 1;
	char metric[160], src[64], dst[64];
	struct run r;
	struct jv *doc;

	cr_assert_eq(connect_from(CLIENT, CLOSED_PORT, NULL), ETIMEDOUT, "enforce mode: the SYN to a closed port is dropped");
	cr_expect_eq(counted(AXDP_MAP_COUNTERS, AXDP_DROP_TCP_CLOSED), closed + 1);
	cr_expect_eq(counted(AXDP_MAP_AUDIT_COUNTERS, AXDP_DROP_TCP_CLOSED), 0, "enforce mode counts no would-drop");

	AXDP_OK(&r, "audit", "on");
	cr_expect(strstr(r.out, "Mode=audit in force"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(connect_from(CLIENT, CLOSED_PORT, NULL), ECONNREFUSED,
		     "audit mode: the SYN reaches the server's stack, whose RST comes back");
	cr_expect_eq(counted(AXDP_MAP_COUNTERS, AXDP_DROP_TCP_CLOSED), closed + 1 + per, "the same reason as in enforce mode");
	cr_expect_eq(counted(AXDP_MAP_AUDIT_COUNTERS, AXDP_DROP_TCP_CLOSED), per, "and counted as a would-drop");

	AXDP_OK(&r, "stats", "--json");
	doc = documented("stats", r.out);
	cr_expect_str_eq(jv_str(doc, "mode"), "audit");
	jv_free(doc);
	run_free(&r);
	AXDP_OK(&r, "status", "--json");
	doc = documented("status", r.out);
	cr_expect_str_eq(jv_str(jv_get(doc, "mode"), "running"), "audit");
	cr_expect_eq(jv_num(jv_get(jv_get(doc, "counters"), "would_drop"), "packets"), per);
	jv_free(doc);
	run_free(&r);
	AXDP_OK(&r, "stats", "--format", "prometheus");
	cr_expect(strstr(r.out, "\nautoxdp_audit_mode 1\n"), "%s", r.out);
	/* Interfaces on nftables count together as "nftables" (autoxdpd(8), NFTABLES BACKEND). */
	snprintf(metric, sizeof(metric),
		 "\nautoxdp_would_drop_packets_total{reason=\"tcp_port_closed\",interface=\"%s\"} %" PRIu64 "\n",
		 fx.d.nftables ? "nftables" : fx.ns.ifname[SERVER], per);
	cr_expect(strstr(r.out, metric), "no %s in\n%s", metric + 1, r.out);
	run_free(&r);

	/* explain copies the program in force, the daemon's audit one now. */
	if (!explain_refused_on_nftables()) {
		doc = EXPLAIN("tcp", endpoint(src, sizeof(src), CLIENT, AF_INET, 0),
			      endpoint(dst, sizeof(dst), SERVER, AF_INET, CLOSED_PORT));
		expect_verdict(doc, "would_drop", "tcp_port_closed");
		cr_expect_str_eq(jv_str(doc, "mode"), "audit");
		jv_free(doc);
	}

	AXDP_OK(&r, "audit", "off");
	run_free(&r);
	cr_assert_eq(connect_from(CLIENT, CLOSED_PORT, NULL), ETIMEDOUT, "enforce again: dropped");
	/* nftables' table has no would-drop counters in enforce mode (autoxdpd(8), row "Mode=audit"). */
	cr_expect_eq(counted(AXDP_MAP_AUDIT_COUNTERS, AXDP_DROP_TCP_CLOSED), fx.d.nftables ? 0 : per,
		     "the would-drops after audit mode ended");
}

Test(audit, switching_keeps_conntrack)
{
	struct flow f;
	uint64_t passed;
	long entries;
	struct run r;

	open_flow(&f, 7001);
	flow_passes(&f);
	/* On nftables the flow is kernel conntrack's, which the table's reinstall leaves alone. */
	entries = fx.d.nftables ? 0 : conntrack_entries();
	cr_assert(fx.d.nftables || entries >= 1, "the flow has no entry in the data path's conntrack");
	passed = counted(AXDP_MAP_COUNTERS, AXDP_PASS_TCP_FLOW);
	for (int i = 0; i < 2; i++) {
		AXDP_OK(&r, "audit", i ? "off" : "on");
		run_free(&r);
		if (!fx.d.nftables)
			cr_expect_eq(conntrack_entries(), entries, "the switch kept conntrack as it was");
		flow_passes(&f);
		cr_expect_gt(counted(AXDP_MAP_COUNTERS, AXDP_PASS_TCP_FLOW), passed, "the flow passes by its conntrack entry");
		passed = counted(AXDP_MAP_COUNTERS, AXDP_PASS_TCP_FLOW);
	}
	close_flow(&f);
}

Test(audit, reload_switches_a_changed_mode)
{
	struct run r;

	cr_assert_eq(axdpd_dropin(&fx.d, "60-mode.conf", "[Daemon]\nMode=audit\n"), 0, "%s", fx.d.err);
	AXDP_OK(&r, "reload");
	cr_expect(strstr(r.out, "Mode=audit in force"), "reload says what happened:\n%s", r.out);
	run_free(&r);
	cr_expect_eq(connect_from(CLIENT, CLOSED_PORT, NULL), ECONNREFUSED, "audit mode after the reload");
	/* The drop-in axdp writes comes earlier than ours: it cannot override it, and says so. */
	cr_expect_eq(AXDP(&r, "audit", "off"), 1, "a later file sets Mode=, yet axdp audit off succeeded:\n%s", r.out);
	cr_expect(strstr(r.err, "overrides it"), "%s", r.err);
	run_free(&r);
	cr_expect_eq(connect_from(CLIENT, CLOSED_PORT, NULL), ECONNREFUSED, "still audit mode");
}

/* ---- explain ---- */

Test(explain, open_port_and_its_listener)
{
	char src[64], dst[64];
	struct jv *doc;
	const struct jv *listener;
	int fd;

	if (explain_refused_on_nftables())
		return;
	fd = listen_on(SERVER, OPEN_PORT);
	/* The socket hook opened the port at listen(): no reconcile to wait for. */
	doc = EXPLAIN("tcp", endpoint(src, sizeof(src), CLIENT, AF_INET, 0),
		      endpoint(dst, sizeof(dst), SERVER, AF_INET, OPEN_PORT));
	expect_verdict(doc, "pass", "tcp_port_open");
	cr_expect_str_eq(jv_str(doc, "tier"), "normal");
	listener = jv_at(jv_get(jv_get(doc, "port"), "listeners"), 0);
	cr_assert_not_null(listener, "no listener named");
	cr_expect_eq(jv_num(listener, "pid"), getpid());
	cr_expect_str_eq(jv_str(listener, "address"), "0.0.0.0");
	cr_expect_eq(jv_num(doc, "rate_available"), SYN_BURST, "a fresh source has its whole burst");
	jv_free(doc);
	close(fd);
}

Test(explain, closed_port)
{
	char src[64], dst[64];
	struct jv *doc;

	if (explain_refused_on_nftables())
		return;
	doc = EXPLAIN("tcp", endpoint(src, sizeof(src), CLIENT, AF_INET, 0),
		      endpoint(dst, sizeof(dst), SERVER, AF_INET, CLOSED_PORT));
	expect_verdict(doc, "drop", "tcp_port_closed");
	cr_expect_eq(jv_get(doc, "port")->type, JV_NULL);
	jv_free(doc);
	/* IPv6, UDP */
	doc = EXPLAIN("udp", endpoint(src, sizeof(src), CLIENT, AF_INET6, 5353),
		      endpoint(dst, sizeof(dst), SERVER, AF_INET6, 53));
	expect_verdict(doc, "drop", "udp_port_closed");
	cr_expect_str_eq(jv_str(jv_get(doc, "packet"), "source"), fx.ns.ip6[CLIENT]);
	jv_free(doc);
}

Test(explain, conntrack_hit)
{
	char src[64], dst[64];
	struct flow f;
	struct jv *doc;

	if (explain_refused_on_nftables())
		return;
	open_flow(&f, 7002);
	doc = EXPLAIN("tcp", endpoint(src, sizeof(src), CLIENT, AF_INET, 7002),
		      endpoint(dst, sizeof(dst), SERVER, AF_INET, f.server_port), "--flags", "A");
	expect_verdict(doc, "pass", "tcp_conntrack");
	cr_assert_eq(jv_get(doc, "conntrack")->type, JV_OBJECT, "no conntrack entry named");
	cr_expect_eq(jv_get(jv_get(doc, "conntrack"), "expired")->type, JV_BOOL);
	cr_expect_not(jv_get(jv_get(doc, "conntrack"), "expired")->b, "a live flow's entry is not expired");
	jv_free(doc);
	close_flow(&f);
}

Test(explain, denied_trusted_martian_malformed)
{
	char dst[64];
	struct jv *doc;

	if (explain_refused_on_nftables())
		return;
	endpoint(dst, sizeof(dst), SERVER, AF_INET, CLOSED_PORT);
	doc = EXPLAIN("tcp", "192.0.2.7", dst);
	expect_verdict(doc, "drop", "denied_source");
	cr_expect_str_eq(jv_str(doc, "deny"), DENIED);
	jv_free(doc);
	doc = EXPLAIN("tcp", DENIED_ONE, dst);
	expect_verdict(doc, "drop", "denied_source");
	cr_expect_str_eq(jv_str(doc, "deny"), DENIED_ONE "/32");
	jv_free(doc);
	doc = EXPLAIN("tcp", "203.0.113.21", dst);
	expect_verdict(doc, "drop", "denied_source");
	cr_expect_str_eq(jv_str(doc, "deny"), DENIED_28);
	jv_free(doc);
	doc = EXPLAIN("tcp", "203.0.113.201", dst);
	expect_verdict(doc, "drop", "tcp_port_closed");
	jv_free(doc);

	doc = EXPLAIN("tcp", "198.51.100.5", dst);
	/* Trust alone opens no closed port (TrustOpensAllTCP= is off); the entry is still named. */
	expect_verdict(doc, "drop", "tcp_port_closed");
	cr_expect_str_eq(jv_str(doc, "trust"), TRUSTED);
	jv_free(doc);

	doc = EXPLAIN("tcp", "127.0.0.1", dst);
	expect_verdict(doc, "drop", "martian_source");
	jv_free(doc);

	doc = EXPLAIN("tcp", "203.0.113.9", dst, "--flags", "SF");
	expect_verdict(doc, "drop", "tcp_malformed");
	jv_free(doc);
}

Test(explain, trusted_source_opens_tcp)
{
	char dst[64];
	struct jv *doc;

	if (explain_refused_on_nftables())
		return;
	cr_assert_eq(axdpd_dropin(&fx.d, "60-trust.conf", "[Policy]\nTrustOpensAllTCP=yes\n"), 0, "%s", fx.d.err);
	/* A data-path switch: the daemon applies it at restart, which keeps the pinned state. */
	cr_assert_eq(axdpd_stop(&fx.d, SIGTERM, 5000), 0, "%s", fx.d.err);
	cr_assert_eq(axdpd_start(&fx.d, READY_MS), 0, "%s", fx.d.err);
	doc = EXPLAIN("tcp", "198.51.100.5", endpoint(dst, sizeof(dst), SERVER, AF_INET, CLOSED_PORT));
	expect_verdict(doc, "pass", "trusted_source");
	cr_expect_str_eq(jv_str(doc, "trust"), TRUSTED);
	jv_free(doc);
}

Test(explain, rate_limited_and_no_side_effects)
{
	int fd, keep[SYN_BURST + 1];
	uint64_t open, closed;
	long entries;
	char src[64], dst[64];
	struct jv *doc;

	if (explain_refused_on_nftables())
		return;
	fd = listen_on(SERVER, OPEN_PORT);
	open = counted(AXDP_MAP_COUNTERS, AXDP_PASS_TCP_PORT);
	closed = counted(AXDP_MAP_COUNTERS, AXDP_DROP_TCP_CLOSED);
	entries = conntrack_entries();
	endpoint(src, sizeof(src), CLIENT, AF_INET, 0);
	endpoint(dst, sizeof(dst), SERVER, AF_INET, OPEN_PORT);
	/* More explained SYNs than the burst: had they spent the bucket, the real connections below would fail. */
	for (int i = 0; i < SYN_BURST + 2; i++) {
		doc = EXPLAIN("tcp", src, dst);
		expect_verdict(doc, "pass", "tcp_port_open");
		jv_free(doc);
		jv_free(EXPLAIN("tcp", src, endpoint(dst, sizeof(dst), SERVER, AF_INET, CLOSED_PORT)));
		endpoint(dst, sizeof(dst), SERVER, AF_INET, OPEN_PORT);
	}
	cr_expect_eq(counted(AXDP_MAP_COUNTERS, AXDP_PASS_TCP_PORT), open, "explain moved a real counter");
	cr_expect_eq(counted(AXDP_MAP_COUNTERS, AXDP_DROP_TCP_CLOSED), closed, "explain moved a real counter");
	cr_expect_eq(conntrack_entries(), entries, "explain changed conntrack");

	/*
	 * SYNPerSecond=1: the spent burst gives its first SYN back 1 s after
	 * the burst's first SYN, so explain and the data path are compared
	 * only in a round that put both inside that second; a slower round
	 * (a loaded machine, explain loading its copy) is run again once the
	 * bucket has filled, at most ROUNDS times.
	 */
	enum { ROUNDS = 5, WINDOW_MS = 900, REFILL_MS = (SYN_BURST + 1) * 1000 };
	bool judged = false;

	for (int round = 0; round < ROUNDS && !judged; round++) {
		long start;
		bool limited;
		int rc;

		if (round)
			sleep_ms(REFILL_MS);
		start = now_ms();
		for (int i = 0; i < SYN_BURST; i++)
			cr_expect_eq(connect_from(CLIENT, OPEN_PORT, &keep[i]), 0, "connection %d of the burst", i + 1);
		doc = EXPLAIN("tcp", src, dst);
		limited = verdict_is(doc, "drop", "syn_rate_limited") && jv_num(doc, "rate_available") == 0;
		jv_free(doc);
		judged = now_ms() - start < WINDOW_MS;
		rc = connect_from(CLIENT, OPEN_PORT, NULL);
		for (int i = 0; i < SYN_BURST; i++)
			close(keep[i]);
		if (judged) {
			cr_expect(limited, "explain: the burst is spent (syn_rate_limited, rate_available 0)");
			cr_expect_eq(rc, ETIMEDOUT, "the data path agrees: the burst is spent");
		}
	}
	cr_expect(judged, "no round of burst, explain and probe fit in %d ms of %d", WINDOW_MS, ROUNDS);
	close(fd);
}

static uint64_t lease(void)
{
	struct axdp_event_ctl ctl = {};
	int fd = crit_pinned(&fx.d, AXDP_MAP_EVENT_CTL);
	__u32 zero = 0;

	cr_assert(bpf_map_lookup_elem(fd, &zero, &ctl) == 0, "reading event_ctl: %s", strerror(errno));
	close(fd);
	return ctl.listen_until_ns;
}

Test(explain, logs_no_drop_event)
{
	char program[AXDPD_PATH], err[512], src[64], dst[64];
	const char *argv[] = { axdpd_program("axdp", program, sizeof(program)), "--config", fx.d.config, "--pin-dir",
			       fx.d.pin_dir, "events", "--count", "1", "--timeout", "3", "--json", NULL };
	struct run events;
	int i;

	if (explain_refused_on_nftables())
		return;
	cr_assert_eq(run_start(&events, fx.ns.name[SERVER], argv, fx.d.dir, err, sizeof(err)), 0, "%s", err);
	/* Sampling starts once the reader holds the lease. */
	for (i = 0; i < 400 && !lease(); i++)
		usleep(5000);
	cr_assert(lease(), "axdp events took no lease");
	for (i = 0; i < 3; i++)
		jv_free(EXPLAIN("tcp", endpoint(src, sizeof(src), CLIENT, AF_INET, 0),
				endpoint(dst, sizeof(dst), SERVER, AF_INET, CLOSED_PORT)));
	cr_expect_eq(run_wait(&events, 10000, err, sizeof(err)), 1, "axdp events saw an event (or failed: %s):\n%s%s", err,
		     events.out, events.err);
	cr_expect_str_eq(events.out, "", "explained drops were logged as events");
	run_free(&events);
	/* The reader was live: a real drop is logged. */
	cr_assert_eq(run_start(&events, fx.ns.name[SERVER], argv, fx.d.dir, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < 400 && lease() <= 0; i++)
		usleep(5000);
	usleep(100000);
	cr_expect_eq(connect_from(CLIENT, CLOSED_PORT, NULL), ETIMEDOUT);
	cr_expect_eq(run_wait(&events, 10000, err, sizeof(err)), 0, "a real drop was not logged: %s\n%s", err, events.err);
	run_free(&events);
}

Test(explain, wrong_input_exits_2)
{
	static const char *const bad[][4] = {
		{ "sctp", "10.0.0.1", "10.0.0.2:1" },
		{ "tcp", "10.0.0.1", "10.0.0.2" },
		{ "tcp", "10.0.0.1:99999", "10.0.0.2:1" },
		{ "tcp", "10.0.0.1", "[fd00::1]:1" },
		{ "icmp", "10.0.0.1:5", "10.0.0.2" },
		{ "tcp", "10.0.0.1", "10.0.0.2:1", "--flags=SX" },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(AXDP(&r, "explain", bad[i][0], bad[i][1], bad[i][2], bad[i][3]), 2, "axdp explain %s %s %s: %s",
			     bad[i][0], bad[i][1], bad[i][2], r.out);
		cr_expect(r.err[0], "no message for %s %s %s", bad[i][0], bad[i][1], bad[i][2]);
		run_free(&r);
	}
}

/* ---- the command line alone ---- */

/* Completion of both commands is in test_axdp's completion table. */
Test(audit_cli, help_lists_explain_and_audit)
{
	char program[AXDPD_PATH], err[256], dir[] = "/tmp/axdp-audit-cli-XXXXXX";
	const char *argv[] = { axdpd_program("axdp", program, sizeof(program)), "--help", NULL };
	struct run r;

	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	cr_assert_eq(run_sync(&r, NULL, argv, dir, 5000, err, sizeof(err)), 0, "axdp --help: %s", err);
	cr_expect(strstr(r.out, "\n  explain ") && strstr(r.out, "\n  audit "), "axdp --help lists neither:\n%s", r.out);
	run_free(&r);
	rmdir(dir);
}
