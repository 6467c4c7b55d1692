// SPDX-License-Identifier: MIT
/*
 * axdp, the operator's command line, end to end: the real binary runs
 * against a real daemon in a throwaway server namespace, and is judged by
 * what its JSON says (checked against the schema written in man/axdp.8),
 * by what the client namespace's TCP stack experiences after a policy
 * change, and by the files it writes.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "autoxdp_abi.h"
#include "crit_fixture.h"
#include "crit_suite.h"
#include "daemon.h"
#include "jsoncheck.h"
#include "netns.h"
#include "promtext.h"
#include "run.h"
#include "sock.h"
#include "timing.h"

#define SERVER NETNS_SERVER
#define CLIENT NETNS_CLIENT

/* Ports of the fixture's configuration: one allowed with nothing listening, one excluded. */
#define ALLOWED_PORT 2222
#define EXCLUDED_PORT 8081
#define STR_(x) #x
#define STR(x) STR_(x)
#define CONFIG                                                              \
	"[Daemon]\nReconcileIntervalSec=2\nMetricsIntervalSec=1\n"          \
	"[Ports]\nAllowTCP=" STR(ALLOWED_PORT) "\nExcludeTCP=" STR(EXCLUDED_PORT) "\n"

#define READY_MS 10000
#define AXDP_MS 10000
/* A veth answers in microseconds: silence this long means dropped. */
#define DROPPED_MS 600
/* Bounds a reply that comes in microseconds: only a failure, or a machine other work stalls, waits it out. */
#define IO_MS 5000
/*
 * Hang limits on what the daemon and axdp do by their own clocks (an
 * event read, a metrics file written every second, a reader taking the
 * event lease), not measures: other work may delay them by seconds.
 * How long an event took is logged.
 */
#define HANG_MS 15000
#define HANG_S "15"

static struct {
	struct netns_pair ns;
	struct axdpd d;
	char metrics[AXDPD_PATH + 32];
	char dropin[AXDPD_PATH + 32];    /* config.d/50-axdp.conf, what the policy commands write */
} fx;

/* ---- fixture ---- */

static void teardown(void)
{
	char err[512];

	cr_expect(axdpd_fixture_teardown(&fx.ns, &fx.d, err, sizeof(err)) == 0, "teardown: %s", err);
}

CRIT_AFTER_ALL(axdpd_fixture_remove_stale())

static void setup(void)
{
	char err[sizeof(fx.d.err)], metrics_conf[AXDPD_PATH + 64];

	memset(&fx, 0, sizeof(fx));
	if (axdpd_fixture_setup(&fx.ns, &fx.d, CONFIG, err, sizeof(err)))
		cr_assert_fail("setup: %s", err);
	snprintf(fx.metrics, sizeof(fx.metrics), "%s/autoxdp.prom", fx.d.dir);
	snprintf(fx.dropin, sizeof(fx.dropin), "%s/50-axdp.conf", fx.d.dropins);
	snprintf(metrics_conf, sizeof(metrics_conf), "[Daemon]\nMetricsFile=%s\n", fx.metrics);
	if (axdpd_dropin(&fx.d, "10-metrics.conf", metrics_conf) || axdpd_start(&fx.d, READY_MS)) {
		snprintf(err, sizeof(err), "%s", fx.d.err);
		teardown();
		cr_assert_fail("setup: %s", err);
	}
}

/* Command-line cases need no daemon and no namespace: a scratch directory for the output is all. */
static void setup_cli(void)
{
	memset(&fx, 0, sizeof(fx));
	crit_scratch_setup(&fx.d);
}

static void teardown_cli(void)
{
	axdpd_cleanup(&fx.d);
}

CRIT_SUITE(axdp, 90, setup, teardown);
CRIT_SUITE(axdp_cli, 15, setup_cli, teardown_cli);

/* ---- running axdp ---- */

/* axdp with the fixture's configuration and pin directory, then args (NULL-terminated), in the server namespace. */
static void axdp_start(struct run *r, const char *const *args)
{
	char program[AXDPD_PATH], err[512];
	const char *argv[24] = { axdpd_program("axdp", program, sizeof(program)), "--config", fx.d.config, "--pin-dir",
				 fx.d.pin_dir };
	int n = 5;

	for (; *args && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	cr_assert(run_start(r, fx.ns.name[SERVER], argv, fx.d.dir, err, sizeof(err)) == 0, "starting axdp: %s", err);
}

static int axdp_wait(struct run *r, int timeout_ms)
{
	char err[1024];
	int rc = run_wait(r, timeout_ms, err, sizeof(err));

	cr_assert_geq(rc, 0, "axdp: %s", err);
	return rc;
}

#define AXDP(r, ...) axdp_run(r, (const char *const[]){ __VA_ARGS__, NULL })

static int axdp_run(struct run *r, const char *const *args)
{
	axdp_start(r, args);
	return axdp_wait(r, AXDP_MS);
}

/* axdp ARGS must succeed; its stdout is in r->out. */
#define AXDP_OK(r, ...)                                                                                        \
	do {                                                                                                   \
		int rc_ = AXDP(r, __VA_ARGS__);                                                                \
		cr_assert_eq(rc_, 0, "axdp %s: exit %d\nstdout:\n%s\nstderr:\n%s", #__VA_ARGS__, rc_, (r)->out, \
			     (r)->err);                                                                        \
	} while (0)

static const char *man_page(char *buf, size_t len)
{
	const char *src = getenv("AXDP_SRCDIR");

	snprintf(buf, len, "%s/man/axdp.8", src && *src ? src : ".");
	return buf;
}

/*
 * One JSON document (a line of output) checked against the schema that
 * man/axdp.8 documents for command; the parsed document, to be freed.
 */
static struct jv *documented(const char *command, const char *line)
{
	char path[512], err[1024];
	char *schema = jv_man_schema(man_page(path, sizeof(path)), command, err, sizeof(err));
	struct jv *doc;

	cr_assert_not_null(schema, "%s", err);
	doc = jv_parse(line, err, sizeof(err));
	cr_assert_not_null(doc, "axdp %s --json printed no valid JSON (%s):\n%s", command, err, line);
	cr_assert_eq(jv_check(schema, doc, err, sizeof(err)), 0, "axdp %s --json does not match man/axdp.8: %s\n%s",
		     command, err, line);
	free(schema);
	return doc;
}

/* The first line of text, a copy. */
static char *first_line(const char *text)
{
	return strndup(text, strcspn(text, "\n"));
}

/* An independent parser agrees it is JSON (`make deps` installs python3). */
static void python_agrees(const char *json)
{
	char path[AXDPD_PATH + 32], err[512];
	const char *argv[] = { "/usr/bin/python3", "-m", "json.tool", path, NULL };
	struct run r;
	FILE *f;

	cr_assert_eq(access(argv[0], X_OK), 0, "%s: %s: the JSON cross-check needs it (make deps installs it)", argv[0],
		     strerror(errno));
	snprintf(path, sizeof(path), "%s/doc.json", fx.d.dir);
	f = fopen(path, "w");
	cr_assert(f && fputs(json, f) >= 0 && fclose(f) == 0, "writing %s", path);
	cr_expect_eq(run_sync(&r, NULL, argv, fx.d.dir, 10000, err, sizeof(err)), 0, "python3 -m json.tool: %s %s", err,
		     r.err ? r.err : "");
	run_free(&r);
}

/* ---- the data path and the network ---- */

static uint64_t coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
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

/*
 * Starts an axdp reader of drop events and waits until it holds the
 * lease: only then does the data path sample drops.  The lease of an
 * earlier reader may still run, so it must be a newer one.
 */
static void start_reader(struct run *r, const char *const *args)
{
	uint64_t before = lease();

	axdp_start(r, args);
	for (long t0 = now_ms(); now_ms() - t0 < HANG_MS; usleep(5000)) {
		uint64_t now = lease();

		if (now > before && now > coarse_now_ns())
			return;
	}
	cr_assert_fail("axdp %s took no event lease within %d ms", args[0], HANG_MS);
}

static const char *ip(enum netns_side side, int af)
{
	return af == AF_INET ? fx.ns.ip4[side] : fx.ns.ip6[side];
}

static int sock_in(enum netns_side side, int af, int type)
{
	char err[512];
	int fd = netns_socket(fx.ns.name[side], af, type, 0, err, sizeof(err));

	cr_assert(fd >= 0, "%s", err);
	return fd;
}

/* A wildcard TCP listener in side's namespace. */
static int listen_on(enum netns_side side, int af, uint16_t port)
{
	struct sockaddr_storage ss;
	/* The wildcard address, not the side's own: a wildcard listener opens the port on every address. */
	socklen_t len = tsock_addr(af, af == AF_INET ? "0.0.0.0" : "::", port, &ss);
	int fd = sock_in(side, af, SOCK_STREAM), one = 1;

	if (af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	cr_assert(tsock_bind(fd, &ss, len, 16) == 0, "listening on port %u: %s", port, strerror(errno));
	return fd;
}

/* A connection attempt from `from` to the other side's port: 0, ECONNREFUSED, or ETIMEDOUT after ms of silence. */
static int connect_from(enum netns_side from, int af, uint16_t port, int ms)
{
	enum netns_side to = from == CLIENT ? SERVER : CLIENT;
	struct sockaddr_storage ss;
	socklen_t len = netns_sockaddr(&fx.ns, to, af, port, &ss), optlen = sizeof(int);
	int fd = sock_in(from, af, SOCK_STREAM), rc;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		close(fd);
		return 0;
	}
	cr_assert_eq(errno, EINPROGRESS, "connect: %s", strerror(errno));
	if (poll(&pfd, 1, ms) == 0) {
		close(fd);
		return ETIMEDOUT;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &optlen);
	close(fd);
	return rc;
}

/* A SYN to the server's port and nothing else: the caller looks at what the firewall made of it. */
static int send_syn(int af, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = netns_sockaddr(&fx.ns, SERVER, af, port, &ss);
	int fd = sock_in(CLIENT, af, SOCK_STREAM);

	fcntl(fd, F_SETFL, O_NONBLOCK);
	cr_assert(connect(fd, (struct sockaddr *)&ss, len) < 0 && errno == EINPROGRESS, "connect: %s", strerror(errno));
	return fd;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

static const struct jv *iface_stats(const struct jv *doc, const char *name)
{
	const struct jv *ifs = jv_get(doc, "interfaces");

	for (size_t i = 0; ifs && i < ifs->n; i++)
		if (jv_str(jv_at(ifs, i), "name") && !strcmp(jv_str(jv_at(ifs, i), "name"), name))
			return jv_at(ifs, i);
	return NULL;
}

static double reason_packets(const struct jv *reasons_holder, const char *reason)
{
	const struct jv *rs = jv_get(reasons_holder, "reasons");

	for (size_t i = 0; rs && i < rs->n; i++)
		if (!strcmp(jv_str(jv_at(rs, i), "reason"), reason))
			return jv_num(jv_at(rs, i), "packets");
	return NAN;
}

/*
 * The interface row that counts the server's packets: on nftables all
 * interfaces on it count together as "nftables" (autoxdpd(8), NFTABLES
 * BACKEND).
 */
static const char *counted_as(void)
{
	return fx.d.nftables ? "nftables" : fx.ns.ifname[SERVER];
}

/* On nftables a command that shows only the XDP data path's records says what it misses there. */
static void expect_nft_note(const struct run *r, const char *what)
{
	char want[128];

	snprintf(want, sizeof(want), ": note: on nftables (%s), %s", fx.ns.ifname[SERVER], what);
	cr_expect(strstr(r->err, want), "axdp on nftables does not say \"%s\":\n%s", want, r->err);
}

/* ---- reading ---- */

Test(axdp, status_json_is_documented_and_says_protected)
{
	const struct jv *ifs, *daemon, *f = NULL, *ports;
	struct run r;
	struct jv *doc;
	bool allowed = false;

	AXDP_OK(&r, "status", "--json");
	python_agrees(r.out);
	doc = documented("status", r.out);
	cr_expect_str_eq(jv_str(doc, "protection"), "active");
	daemon = jv_get(doc, "daemon");
	cr_expect(jv_get(daemon, "running")->b, "status: daemon not running");
	cr_expect_eq(jv_num(daemon, "pid"), fx.d.pid, "status: daemon pid %g, the fixture started %d", jv_num(daemon, "pid"),
		     (int)fx.d.pid);
	cr_expect_str_eq(jv_str(daemon, "pid_file"), fx.d.pid_file);
	ifs = jv_get(doc, "interfaces");
	for (size_t i = 0; ifs && i < ifs->n; i++)
		if (!strcmp(jv_str(jv_at(ifs, i), "name"), fx.ns.ifname[SERVER]))
			f = jv_at(ifs, i);
	cr_assert_not_null(f, "status lists no %s:\n%s", fx.ns.ifname[SERVER], r.out);
	if (fx.d.nftables) {
		/* The table judges both directions, nothing is attached to the interface (axdp(8), status JSON). */
		cr_expect_str_eq(jv_str(f, "backend"), "nftables");
		cr_expect(jv_get(f, "xdp_mode")->type == JV_NULL, "%s", r.out);
		cr_expect_str_eq(jv_str(f, "egress"), "nftables");
	} else {
		cr_expect_str_eq(jv_str(f, "backend"), "xdp");
		cr_expect_str_eq(jv_str(f, "xdp_mode"), "native", "veth runs native XDP");
		cr_expect_str_eq(jv_str(f, "egress"), "tcx");
	}
	cr_expect(jv_get(f, "protected")->b);
	cr_expect_eq(jv_num(f, "ifindex"), fx.ns.ifindex[SERVER]);
	ports = jv_get(doc, "ports");
	for (size_t i = 0; ports && i < ports->n; i++)
		allowed |= jv_num(jv_at(ports, i), "port") == ALLOWED_PORT && jv_get(jv_at(ports, i), "allowed_by_config")->b;
	cr_expect(allowed, "status does not list tcp/%d as allowed by the configuration:\n%s", ALLOWED_PORT, r.out);
	jv_free(doc);
	run_free(&r);

	/* The human form, and the default command. */
	AXDP_OK(&r, "status");
	cr_expect(strstr(r.out, "protection active"), "%s", r.out);
	cr_expect(strstr(r.out, fx.ns.ifname[SERVER]), "%s", r.out);
	run_free(&r);
	cr_assert_eq(AXDP(&r, "--json"), 0, "axdp --json: %s", r.err);
	jv_free(documented("status", r.out));
	run_free(&r);
}

Test(axdp, ports_name_the_listening_process)
{
	char comm[32] = "";
	int fd = listen_on(SERVER, AF_INET, 8092);
	const struct jv *ports, *p = NULL, *ls;
	FILE *f = fopen("/proc/self/comm", "re");
	struct run r;
	struct jv *doc;

	cr_assert(f && fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	AXDP_OK(&r, "ports", "--json");
	python_agrees(r.out);
	doc = documented("ports", r.out);
	ports = jv_get(doc, "ports");
	for (size_t i = 0; i < ports->n; i++)
		if (jv_num(jv_at(ports, i), "port") == 8092)
			p = jv_at(ports, i);
	cr_assert_not_null(p, "ports lacks tcp/8092:\n%s", r.out);
	cr_expect_str_eq(jv_str(p, "open_on"), "ipv4", "a listener on 0.0.0.0 opens IPv4 only");
	ls = jv_get(p, "listeners");
	cr_assert_eq(ls->n, 1, "%s", r.out);
	cr_expect_str_eq(jv_str(jv_at(ls, 0), "address"), "0.0.0.0");
	cr_expect_eq(jv_num(jv_at(ls, 0), "pid"), getpid());
	cr_expect_str_eq(jv_str(jv_at(ls, 0), "process"), comm);
	jv_free(doc);
	run_free(&r);

	/* The human form keeps "PROTO PORT how" on the first line, for scripts. */
	AXDP_OK(&r, "ports");
	cr_expect(strstr(r.out, "tcp     8092  any IPv4 address\n"), "%s", r.out);
	cr_expect(strstr(r.out, comm), "%s", r.out);
	run_free(&r);
	close(fd);
}

/*
 * A process names itself with any bytes (prctl PR_SET_NAME): the JSON stays valid, each byte outside a
 * well-formed UTF-8 sequence becoming U+FFFD, well-formed ones kept.  Bytes 0xf5-0xff, an overlong form,
 * a surrogate, a truncated sequence and one above U+10FFFF.
 */
Test(axdp, ports_json_stays_valid_whatever_a_process_names_itself)
{
	static const char name[] = "a\xf5\xff\xc0\xaf\xed\xa0\x80\xe2\x82\xf4\x90\xc3\xa9z";
	static const char fffd[] = "\xef\xbf\xbd";
	char want[128] = "a";
	const struct jv *ports, *p = NULL;
	struct run r;
	struct jv *doc;
	int fd;

	for (int i = 0; i < 11; i++)
		strcat(want, fffd);
	strcat(want, "\xc3\xa9z");
	cr_assert_eq(prctl(PR_SET_NAME, name), 0, "prctl PR_SET_NAME: %m");
	fd = listen_on(SERVER, AF_INET, 8093);
	AXDP_OK(&r, "ports", "--json");
	python_agrees(r.out);
	doc = documented("ports", r.out);
	ports = jv_get(doc, "ports");
	for (size_t i = 0; i < ports->n; i++)
		if (jv_num(jv_at(ports, i), "port") == 8093)
			p = jv_at(ports, i);
	cr_assert_not_null(p, "ports lacks tcp/8093:\n%s", r.out);
	cr_expect_str_eq(jv_str(jv_at(jv_get(p, "listeners"), 0), "process"), want, "%s", r.out);
	jv_free(doc);
	run_free(&r);
	close(fd);
}

Test(axdp, conntrack_lists_a_connection_the_host_opened)
{
	int l = listen_on(CLIENT, AF_INET, 7000), rc;
	const struct jv *entries, *e = NULL;
	struct run r;
	struct jv *doc;
	char *line;

	rc = connect_from(SERVER, AF_INET, 7000, IO_MS);
	cr_assert_eq(rc, 0, "server -> client connect: %s", strerror(rc));
	AXDP_OK(&r, "conntrack", "tcp", "--json");
	python_agrees(r.out);
	line = first_line(r.out);
	doc = documented("conntrack", line);
	entries = jv_get(doc, "entries");
	for (size_t i = 0; i < entries->n; i++)
		if (!strcmp(jv_str(jv_at(entries, i), "remote"), fx.ns.ip4[CLIENT]) &&
		    jv_num(jv_at(entries, i), "remote_port") == 7000)
			e = jv_at(entries, i);
	cr_expect_geq(jv_num(doc, "total"), jv_num(doc, "shown"));
	if (fx.d.nftables) {
		/* Kernel conntrack holds it, not the data path's table that axdp conntrack shows (autoxdpd(8), row "axdp conntrack"). */
		cr_expect_null(e, "on nftables the data path's table lists %s:7000:\n%s", fx.ns.ip4[CLIENT], r.out);
		expect_nft_note(&r, "kernel conntrack tracks the flows");
	} else {
		cr_assert_not_null(e, "conntrack lacks %s:7000:\n%s", fx.ns.ip4[CLIENT], r.out);
		cr_expect_str_eq(jv_str(e, "protocol"), "tcp");
		cr_expect_str_eq(jv_str(e, "local"), fx.ns.ip4[SERVER]);
		cr_expect(jv_num(e, "age_s") < 10, "%s", r.out);
	}
	jv_free(doc);
	free(line);
	run_free(&r);

	AXDP_OK(&r, "conntrack", "udp", "--json", "--limit", "5");
	jv_free(documented("conntrack", r.out));
	run_free(&r);
	close(l);
}

Test(axdp, stats_and_watch_are_documented_per_interface_and_total)
{
	struct run r;
	struct jv *doc;
	char *save = NULL, *line;
	int records = 0;

	AXDP_OK(&r, "stats", "--json");
	python_agrees(r.out);
	doc = documented("stats", r.out);
	cr_assert_not_null(iface_stats(doc, counted_as()), "stats has no %s:\n%s", counted_as(), r.out);
	cr_expect(jv_get(doc, "interval_s")->type == JV_NULL, "no --rates, yet an interval");
	jv_free(doc);
	run_free(&r);

	/* --json after --watch, global options after the command: one record per line. */
	AXDP_OK(&r, "watch", "--interval", "0.3", "--count", "3", "--json");
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), records++) {
		doc = documented("stats", line);
		cr_expect(jv_get(doc, "interval_s")->type == JV_NUMBER, "watch record %d without an interval", records);
		cr_expect(jv_get(jv_at(jv_get(jv_get(doc, "total"), "reasons"), 0), "pps")->type == JV_NUMBER,
			  "watch record %d without rates", records);
		jv_free(doc);
	}
	cr_expect_eq(records, 3, "watch --count 3 printed %d records", records);
	run_free(&r);

	AXDP_OK(&r, "stats", "--rates", "--interval", "0.2", "--interface", counted_as());
	cr_expect(strstr(r.out, "PPS") && strstr(r.out, "tcp_port_closed"), "%s", r.out);
	run_free(&r);
	cr_expect_eq(AXDP(&r, "stats", "--interface", "no-such-if0"), 1, "%s", r.err);
	run_free(&r);
}

/*
 * On nftables the table samples no drops: axdp events and axdp top see
 * none from its interfaces, the counters count them all (autoxdpd(8),
 * row "Drop events").  A reader there ends at a short --timeout, which
 * it reports as a failure: that no event came is the assertion, not how
 * long it waited.
 */
#define NO_EVENTS_S "1"
#define NFT_NO_EVENTS "drops produce no events"

static void expect_no_events(struct run *r, const char *count)
{
	char want[64];

	snprintf(want, sizeof(want), ": 0 of %s events within " NO_EVENTS_S " s", count);
	cr_expect_eq(axdp_wait(r, HANG_MS + AXDP_MS), 1, "axdp events on nftables:\n%s%s", r->out, r->err);
	cr_expect(strstr(r->err, want), "axdp events on nftables does not say \"%s\":\n%s%s", want, r->out, r->err);
	expect_nft_note(r, NFT_NO_EVENTS);
}

/* A probe to a closed port reaches `axdp events` (how soon is logged), and the counters. */
static void probe_shows_up(int af, uint16_t port)
{
	const char *timeout = fx.d.nftables ? NO_EVENTS_S : HANG_S;
	const char *const args[] = { "events", "--count", "1", "--timeout", timeout, "--json", NULL };
	struct run r, s;
	struct jv *doc, *stats;
	long sent;
	double before;
	int fd;

	AXDP_OK(&s, "stats", "--json");
	stats = documented("stats", s.out);
	before = reason_packets(iface_stats(stats, counted_as()), "tcp_port_closed");
	jv_free(stats);
	run_free(&s);

	start_reader(&r, args);
	sent = now_ms();
	fd = send_syn(af, port);
	if (fx.d.nftables) {
		expect_no_events(&r, "1");
		goto counted;
	}
	cr_assert_eq(axdp_wait(&r, HANG_MS + AXDP_MS), 0, "axdp events: %s", r.err);
	cr_log_info("%s: the event came %ld ms after the probe", af == AF_INET ? "IPv4" : "IPv6", r.ended_ms - sent);
	python_agrees(r.out);
	doc = documented("events", r.out);
	cr_expect_str_eq(jv_str(doc, "interface"), fx.ns.ifname[SERVER]);
	cr_expect_str_eq(jv_str(doc, "protocol"), "tcp");
	cr_expect_str_eq(jv_str(doc, "source"), ip(CLIENT, af));
	cr_expect_str_eq(jv_str(doc, "destination"), ip(SERVER, af));
	cr_expect_eq(jv_num(doc, "destination_port"), port);
	cr_expect_str_eq(jv_str(doc, "reason"), "tcp_port_closed");
	jv_free(doc);
counted:
	run_free(&r);
	close(fd);

	AXDP_OK(&s, "stats", "--json");
	stats = documented("stats", s.out);
	cr_expect_gt(reason_packets(iface_stats(stats, counted_as()), "tcp_port_closed"), before,
		     "stats: tcp_port_closed on %s did not count the probe:\n%s", counted_as(), s.out);
	cr_expect_gt(reason_packets(jv_get(stats, "total"), "tcp_port_closed"), before);
	jv_free(stats);
	run_free(&s);
}

Test(axdp, events_report_a_probe_within_a_second)
{
	probe_shows_up(AF_INET, 9);
	probe_shows_up(AF_INET6, 13);
}

Test(axdp, events_human_and_timeout)
{
	const char *const args[] = { "events", "--count", "2", "--timeout", fx.d.nftables ? NO_EVENTS_S : HANG_S, NULL };
	struct run r;
	int fd[2];

	start_reader(&r, args);
	fd[0] = send_syn(AF_INET, 19);
	fd[1] = send_syn(AF_INET, 21);
	if (fx.d.nftables) {
		expect_no_events(&r, "2");
	} else {
		cr_assert_eq(axdp_wait(&r, HANG_MS + AXDP_MS), 0, "axdp events: %s", r.err);
		cr_expect(strstr(r.out, ":19 ") && strstr(r.out, ":21 ") && strstr(r.out, "tcp_port_closed"), "%s",
			  r.out);
	}
	run_free(&r);
	close(fd[0]);
	close(fd[1]);

	/* --timeout ends it short of --count, which is a failure. */
	cr_expect_eq(AXDP(&r, "events", "--count", "100000", "--timeout", "0.5"), 1, "%s", r.out);
	cr_expect(strstr(r.err, " of 100000 events within 0.5 s"), "%s", r.err);
	run_free(&r);
}

Test(axdp, top_names_the_prober)
{
	/* The SYNs go out right after the reader took the lease: well inside the interval, unless the machine stalls. */
	const char *const args[] = { "top", "--interval", "5", "--json", NULL };
	const struct jv *sources, *ports;
	struct run r;
	struct jv *doc;
	int fd[3];
	bool port_seen = false;

	start_reader(&r, args);
	fd[0] = send_syn(AF_INET, 23);
	fd[1] = send_syn(AF_INET, 23);
	fd[2] = send_syn(AF_INET, 25);
	cr_assert_eq(axdp_wait(&r, 5000 + AXDP_MS), 0, "axdp top: %s", r.err);
	python_agrees(r.out);
	doc = documented("top", r.out);
	sources = jv_get(doc, "sources");
	ports = jv_get(doc, "ports");
	if (fx.d.nftables) {
		/* No drop events from the table (autoxdpd(8), row "Drop events"): nothing sampled, no one named. */
		cr_expect_eq(jv_num(doc, "sampled"), 0, "%s", r.out);
		cr_expect_eq(sources->n, 0, "%s", r.out);
		cr_expect_eq(ports->n, 0, "%s", r.out);
		expect_nft_note(&r, NFT_NO_EVENTS);
		goto out;
	}
	cr_assert_geq(sources->n, 1, "%s", r.out);
	cr_expect_str_eq(jv_str(jv_at(sources, 0), "address"), fx.ns.ip4[CLIENT]);
	cr_expect_geq(jv_num(doc, "sampled"), 3);
	cr_expect_geq(jv_num(doc, "drops"), 3);
	for (size_t i = 0; i < ports->n; i++)
		port_seen |= jv_num(jv_at(ports, i), "port") == 23 && jv_num(jv_at(ports, i), "events") >= 2;
	cr_expect(port_seen, "top lacks tcp/23 twice:\n%s", r.out);
out:
	jv_free(doc);
	run_free(&r);
	for (int i = 0; i < 3; i++)
		close(fd[i]);
}

/* ---- metrics ---- */

Test(axdp, prometheus_output_and_metrics_file_are_valid)
{
	char series[256], err[512], *text = NULL;
	double v, before = -1;
	struct run r;
	int fd;

	AXDP_OK(&r, "stats", "--format", "prometheus");
	cr_expect_eq(prom_check(r.out, err, sizeof(err)), 0, "axdp stats --format prometheus: %s\n%s", err, r.out);
	snprintf(series, sizeof(series), "autoxdp_packets_total{action=\"drop\",reason=\"tcp_port_closed\",interface=\"%s\"}",
		 counted_as());
	cr_expect(prom_sample(r.out, series, &v), "no %s:\n%s", series, r.out);
	cr_expect(prom_sample(r.out, "autoxdp_open_ports{protocol=\"tcp\"}", &v) && v >= 1, "%s", r.out);
	cr_expect(prom_sample(r.out, "autoxdp_conntrack_entries", &v), "%s", r.out);
	/* No event sampler on nftables (autoxdpd(8), row "Drop events"; axdp(8), autoxdp_events_skipped). */
	cr_expect(prom_sample(r.out, "autoxdp_events_skipped", &v) != fx.d.nftables, "%s", r.out);
	run_free(&r);

	/* The daemon's MetricsFile=, every MetricsIntervalSec=1: valid, and it moves with the traffic. */
	for (long t0 = now_ms(); !(text = read_file(fx.metrics)) && now_ms() - t0 < HANG_MS;)
		usleep(100000);
	cr_assert_not_null(text, "no %s after %d ms", fx.metrics, HANG_MS);
	cr_expect_eq(prom_check(text, err, sizeof(err)), 0, "%s: %s", fx.metrics, err);
	cr_expect(prom_sample(text, series, &before), "%s lacks %s", fx.metrics, series);
	free(text);
	fd = send_syn(AF_INET, 27);
	for (long t0 = now_ms(); now_ms() - t0 < HANG_MS; usleep(100000)) {
		text = read_file(fx.metrics);
		if (text && prom_sample(text, series, &v) && v > before)
			break;
		free(text);
		text = NULL;
	}
	cr_expect_not_null(text, "%s did not count the probe within %d ms", fx.metrics, HANG_MS);
	free(text);
	close(fd);
}

/* ---- policy ---- */

Test(axdp, allow_opens_and_remove_closes_again)
{
	int l = listen_on(SERVER, AF_INET, EXCLUDED_PORT), rc;
	char line[64], *text;
	const struct jv *keys, *values;
	struct run r;
	struct jv *doc;
	bool found = false;

	rc = connect_from(CLIENT, AF_INET, EXCLUDED_PORT, DROPPED_MS);
	cr_assert_eq(rc, ETIMEDOUT, "tcp/%d is excluded, yet a connect got %s", EXCLUDED_PORT, strerror(rc));

	AXDP_OK(&r, "allow", "add", "tcp", STR(EXCLUDED_PORT), "--comment", "test window");
	cr_expect(strstr(r.out, "in force"), "%s", r.out);
	run_free(&r);
	rc = connect_from(CLIENT, AF_INET, EXCLUDED_PORT, IO_MS);
	cr_expect_eq(rc, 0, "after allow add, connect to tcp/%d: %s", EXCLUDED_PORT, strerror(rc));
	text = read_file(fx.dropin);
	cr_assert_not_null(text, "allow add wrote no %s", fx.dropin);
	cr_expect(strstr(text, "[Ports]\n"), "%s", text);
	cr_expect(strstr(text, "# test window\nAllowTCP=" STR(EXCLUDED_PORT) "\n"), "%s", text);
	/* The drop-in replaces AllowTCP=: the main file's port must be in it too. */
	cr_expect(strstr(text, "\nAllowTCP=" STR(ALLOWED_PORT) "\n"), "%s", text);
	free(text);

	AXDP_OK(&r, "allow", "list", "--json");
	python_agrees(r.out);
	doc = documented("list", r.out);
	keys = jv_get(doc, "keys");
	cr_assert_eq(keys->n, 2, "%s", r.out);
	cr_expect_str_eq(jv_str(jv_at(keys, 0), "key"), "AllowTCP");
	values = jv_get(jv_at(keys, 0), "values");
	for (size_t i = 0; i < values->n; i++)
		found |= !strcmp(jv_str(jv_at(values, i), "value"), STR(EXCLUDED_PORT)) &&
			 jv_str(jv_at(values, i), "comment") && !strcmp(jv_str(jv_at(values, i), "comment"), "test window") &&
			 jv_get(jv_at(values, i), "in_dropin")->b;
	cr_expect(found, "allow list lacks %d with its comment:\n%s", EXCLUDED_PORT, r.out);
	jv_free(doc);
	run_free(&r);

	/* Adding it again changes nothing. */
	AXDP_OK(&r, "allow", "add", "tcp", STR(EXCLUDED_PORT));
	cr_expect(strstr(r.out, "nothing changed"), "%s", r.out);
	run_free(&r);

	AXDP_OK(&r, "allow", "remove", "tcp", STR(EXCLUDED_PORT));
	run_free(&r);
	rc = connect_from(CLIENT, AF_INET, EXCLUDED_PORT, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "after allow remove, connect to tcp/%d got %s", EXCLUDED_PORT, strerror(rc));
	text = read_file(fx.dropin);
	snprintf(line, sizeof(line), "AllowTCP=%d\n", EXCLUDED_PORT);
	cr_expect(text && !strstr(text, line), "%s still says %s", fx.dropin, text);
	cr_expect(text && strstr(text, "\nAllowTCP=" STR(ALLOWED_PORT) "\n"), "%s", text);
	free(text);
	/* The port the main file allows is still open (refused: nothing listens), not dropped. */
	rc = connect_from(CLIENT, AF_INET, ALLOWED_PORT, IO_MS);
	cr_expect_eq(rc, ECONNREFUSED, "tcp/%d: %s", ALLOWED_PORT, strerror(rc));
	close(l);
}

Test(axdp, exclude_closes_a_listening_port_and_remove_reopens_it)
{
	int l = listen_on(SERVER, AF_INET6, 8093), rc;
	char *text;
	struct run r;

	rc = connect_from(CLIENT, AF_INET6, 8093, IO_MS);
	cr_assert_eq(rc, 0, "connect to a listening port: %s", strerror(rc));
	AXDP_OK(&r, "exclude", "add", "tcp", "8093");
	run_free(&r);
	rc = connect_from(CLIENT, AF_INET6, 8093, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "after exclude add: %s", strerror(rc));
	text = read_file(fx.dropin);
	cr_expect(text && strstr(text, "\nExcludeTCP=" STR(EXCLUDED_PORT) "\n") && strstr(text, "\nExcludeTCP=8093\n"),
		  "%s", text);
	free(text);
	AXDP_OK(&r, "exclude", "remove", "tcp", "8093");
	run_free(&r);
	rc = connect_from(CLIENT, AF_INET6, 8093, IO_MS);
	cr_expect_eq(rc, 0, "after exclude remove: %s", strerror(rc));

	/* bind networks: written, listed, removed. */
	AXDP_OK(&r, "exclude", "add", "bind", "192.0.2.0/24", "--comment", "lab");
	run_free(&r);
	AXDP_OK(&r, "exclude", "list", "--json");
	jv_free(documented("list", r.out));
	cr_expect(strstr(r.out, "\"value\":\"192.0.2.0/24\",\"comment\":\"lab\""), "%s", r.out);
	run_free(&r);
	AXDP_OK(&r, "exclude", "remove", "bind", "192.0.2.0/24");
	run_free(&r);
	close(l);
}

Test(axdp, block_drops_a_source_and_trust_is_written)
{
	int l = listen_on(SERVER, AF_INET, 8094), rc;
	char *text;
	struct run r;

	rc = connect_from(CLIENT, AF_INET, 8094, IO_MS);
	cr_assert_eq(rc, 0, "connect: %s", strerror(rc));
	AXDP_OK(&r, "block", "add", fx.ns.ip4[CLIENT], "--comment", "the client");
	run_free(&r);
	rc = connect_from(CLIENT, AF_INET, 8094, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "after block add: %s", strerror(rc));
	text = read_file(fx.dropin);
	cr_expect(text && strstr(text, "[Policy]\n# the client\nDenyCIDR="), "%s", text);
	free(text);
	AXDP_OK(&r, "block", "list", "--json");
	jv_free(documented("block list", r.out));
	run_free(&r);
	AXDP_OK(&r, "block", "remove", fx.ns.ip4[CLIENT]);
	run_free(&r);
	rc = connect_from(CLIENT, AF_INET, 8094, IO_MS);
	cr_expect_eq(rc, 0, "after block remove: %s", strerror(rc));

	AXDP_OK(&r, "trust", "add", "2001:db8::/48");
	run_free(&r);
	AXDP_OK(&r, "trust", "list");
	cr_expect(strstr(r.out, "2001:db8::/48"), "%s", r.out);
	run_free(&r);
	AXDP_OK(&r, "trust", "remove", "2001:db8::/48");
	run_free(&r);
	text = read_file(fx.dropin);
	cr_expect(text && strstr(text, "\nTrustCIDR=\n") && strstr(text, "\nDenyCIDR=\n"), "%s", text);
	free(text);
	close(l);
}

/*
 * "in force" means in force on the backend that protects the interface.
 * On nftables the daemon writes the maps axdp reads first and the table
 * after them, and a big deny list makes that second write slow (the set
 * is sent again whole): the client's connect right after `block add`
 * returns must already meet the table's drop.
 */
#define IN_FORCE_LIST 20000

Test(axdp, block_is_in_force_on_the_backend_when_axdp_returns)
{
	char list[AXDPD_PATH + 32], dropin[AXDPD_PATH + 64];
	FILE *f;
	int l = listen_on(SERVER, AF_INET, 8096), rc;
	struct run r;

	snprintf(list, sizeof(list), "%s/deny.list", fx.d.dir);
	f = fopen(list, "we");
	cr_assert(f, "%s: %s", list, strerror(errno));
	/* Single addresses in 11.0.0.0/8, never the test's own 10.200.X.0/24: on nftables the set of single addresses. */
	for (unsigned i = 1; i <= IN_FORCE_LIST; i++)
		fprintf(f, "11.%u.%u.%u\n", i >> 16, (i >> 8) & 255, i & 255);
	cr_assert_eq(fclose(f), 0);
	snprintf(dropin, sizeof(dropin), "[Policy]\nDenyListFile=%s\n", list);
	cr_assert(axdpd_dropin(&fx.d, "20-list.conf", dropin) == 0, "%s", fx.d.err);
	AXDP_OK(&r, "reload");
	run_free(&r);
	rc = connect_from(CLIENT, AF_INET, 8096, IO_MS);
	cr_assert_eq(rc, 0, "connect before block add: %s", strerror(rc));

	AXDP_OK(&r, "block", "add", fx.ns.ip4[CLIENT]);
	cr_expect(strstr(r.out, "in force"), "%s", r.out);
	run_free(&r);
	rc = connect_from(CLIENT, AF_INET, 8096, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "axdp said the block is in force, yet a connect got %s", strerror(rc));

	AXDP_OK(&r, "block", "remove", fx.ns.ip4[CLIENT]);
	run_free(&r);
	rc = connect_from(CLIENT, AF_INET, 8096, DROPPED_MS);
	cr_expect_eq(rc, 0, "axdp said the block is removed, yet a connect got %s", strerror(rc));
	close(l);
}

/*
 * Hand edits in the drop-in survive a policy command as the parser reads
 * them: a BOM, "Key = value" of another key, an empty assignment that
 * empties a list (found by fuzz_dropin).
 */
Test(axdp, policy_change_keeps_hand_edits_of_the_dropin)
{
	static const char hand[] = "\xef\xbb\xbf[Policy]\nTrustCIDR=192.0.2.0/24\nTrustCIDR=\n"
				   "DropMartians = yes\n";
	struct run r;
	char *text;
	FILE *f = fopen(fx.dropin, "we");

	cr_assert(f && fputs(hand, f) >= 0 && fclose(f) == 0, "writing %s", fx.dropin);
	AXDP_OK(&r, "allow", "add", "tcp", "8444");
	run_free(&r);
	text = read_file(fx.dropin);
	cr_assert_not_null(text);
	cr_expect(strstr(text, "\nDropMartians = yes\n"), "a hand-written line lost its value:\n%s", text);
	cr_expect(!strstr(text, "192.0.2.0/24"), "an emptied list came back:\n%s", text);
	cr_expect(!strstr(text, "\xef\xbb\xbf"), "the BOM became part of a line:\n%s", text);
	free(text);
}

Test(axdp, policy_change_overridden_by_a_later_file_is_refused)
{
	char *before, *after;
	struct run r;

	cr_assert(axdpd_dropin(&fx.d, "60-local.conf", "[Ports]\nAllowUDP=5000\n") == 0, "%s", fx.d.err);
	before = read_file(fx.dropin);
	cr_expect_eq(AXDP(&r, "allow", "add", "udp", "5001"), 1, "%s", r.out);
	cr_expect(strstr(r.err, "60-local.conf"), "the message does not name the file that overrides: %s", r.err);
	run_free(&r);
	after = read_file(fx.dropin);
	cr_expect((!before && !after) || (before && after && !strcmp(before, after)), "the drop-in changed anyway");
	free(before);
	free(after);
}

/* ---- the daemon ---- */

Test(axdp, reload_checks_the_configuration_first)
{
	struct run r;

	AXDP_OK(&r, "reload");
	cr_expect(strstr(r.out, "reloaded"), "%s", r.out);
	run_free(&r);
	cr_assert(axdpd_dropin(&fx.d, "99-broken.conf", "[Ports]\nAllowTCP=http\n") == 0, "%s", fx.d.err);
	cr_expect_eq(AXDP(&r, "reload"), 1, "%s", r.out);
	cr_expect(strstr(r.err, "99-broken.conf:2"), "%s", r.err);
	run_free(&r);
	cr_expect(!axdpd_exited(&fx.d), "the daemon died");
	cr_assert(axdpd_dropin(&fx.d, "99-broken.conf", NULL) == 0, "%s", fx.d.err);
	/* `on` must find the fixture's daemon: otherwise it would start the host's service. */
	AXDP_OK(&r, "status", "--json");
	cr_assert(strstr(r.out, "\"running\":true"), "status does not see the daemon:\n%s", r.out);
	run_free(&r);
	AXDP_OK(&r, "on");
	cr_expect(strstr(r.out, "already running"), "%s", r.out);
	run_free(&r);
}

/* The SYN limit as status --json reports it: read from the running program, and whether a restart changes it. */
static void expect_syn(const struct jv *limits, double per_s, double burst, bool pending, const char *out)
{
	const struct jv *syn = jv_get(limits, "syn");

	cr_expect_str_eq(jv_str(limits, "from"), "running", "%s", out);
	cr_expect_eq(jv_num(syn, "per_second"), per_s, "status: SYN %g/s, the running program has %g:\n%s",
		     jv_num(syn, "per_second"), per_s, out);
	cr_expect_eq(jv_num(syn, "burst"), burst, "status: SYN burst %g, the running program has %g:\n%s",
		     jv_num(syn, "burst"), burst, out);
	cr_expect_eq(jv_get(limits, "restart_pending")->b, pending, "status: restart_pending should be %d:\n%s", pending,
		     out);
}

/* A deny list, and a SYN limit off the default. */
#define LIMITS(syn_per_s) "[Policy]\nDenyCIDR=203.0.113.0/24\n[RateLimit]\nSYNPerSecond=" syn_per_s "\nSYNBurst=9\n"

Test(axdp, status_shows_the_deny_list_and_the_limits_the_program_runs_with)
{
	const struct jv *deny, *rl;
	struct run r;
	struct jv *doc;
	size_t from;
	char *log;

	/* Rate limits are compiled into the program: the daemon takes them at start. */
	cr_assert(axdpd_dropin(&fx.d, "20-limits.conf", LIMITS("7")) == 0, "%s", fx.d.err);
	cr_assert_eq(axdpd_stop(&fx.d, SIGTERM, 5000), 0, "%s", fx.d.err);
	cr_assert_eq(axdpd_start(&fx.d, READY_MS), 0, "restarting with SYNPerSecond=7: %s", fx.d.err);

	AXDP_OK(&r, "status", "--json");
	doc = documented("status", r.out);
	deny = jv_get(jv_get(doc, "policy"), "deny");
	cr_assert_not_null(deny, "status has no policy.deny:\n%s", r.out);
	cr_expect_eq(jv_num(deny, "entries"), 1, "%s", r.out);
	cr_expect_eq(jv_num(deny, "capacity"), AXDP_DENY_ENTRIES, "%s", r.out);
	cr_expect_gt(jv_num(deny, "bytes"), 0, "%s", r.out);
	rl = jv_get(doc, "rate_limits");
	cr_assert_not_null(rl, "status has no rate_limits:\n%s", r.out);
	expect_syn(rl, 7, 9, false, r.out);
	/* Untouched limits come back as their defaults: the inversion is exact for them. */
	cr_expect_eq(jv_num(jv_get(rl, "strict_syn"), "per_second"), 5, "%s", r.out);
	cr_expect_eq(jv_num(jv_get(rl, "strict_syn"), "burst"), 10, "%s", r.out);
	cr_expect_eq(jv_num(jv_get(rl, "icmp_echo"), "per_second"), 100, "%s", r.out);
	cr_expect_eq(jv_num(jv_get(rl, "udp"), "per_second"), 0, "%s", r.out);
	cr_expect(jv_get(jv_get(rl, "udp"), "burst")->type == JV_NULL, "UDP is off, yet a burst:\n%s", r.out);
	cr_expect_eq(jv_num(rl, "source_prefix_ipv4"), 32, "%s", r.out);
	cr_expect_eq(jv_num(rl, "source_prefix_ipv6"), 64, "%s", r.out);
	cr_expect(jv_get(rl, "drop_martians")->b, "%s", r.out);
	cr_expect(jv_get(rl, "allow_dhcp_client")->b, "%s", r.out);
	jv_free(doc);
	run_free(&r);
	AXDP_OK(&r, "status");
	cr_expect(strstr(r.out, "\npolicy      deny 1 of 1,048,576 entries ("), "%s", r.out);
	cr_expect(strstr(r.out, "\nlimits      per /32 or /64 source and port: SYN 7/s burst 9, "), "%s", r.out);
	cr_expect(!strstr(r.out, "restart pending"), "%s", r.out);
	run_free(&r);

	/*
	 * The daemon refuses the new rate at reload: the program keeps 7/s,
	 * and status says a restart would change it.  axdp reload refuses it
	 * up front, rather than report a reload that did not happen.
	 */
	cr_assert(axdpd_dropin(&fx.d, "20-limits.conf", LIMITS("8")) == 0, "%s", fx.d.err);
	cr_expect_eq(AXDP(&r, "reload"), 1, "%s", r.out);
	cr_expect(strstr(r.err, "apply only at restart"), "%s", r.err);
	run_free(&r);
	from = axdpd_notes_end(&fx.d);
	cr_assert_eq(kill(fx.d.pid, SIGHUP), 0);
	cr_assert_eq(axdpd_wait_note(&fx.d, "READY=1", &from, READY_MS), 0, "no READY=1 after the reload: %s", fx.d.err);
	log = axdpd_read_log(&fx.d);
	cr_expect(log && strstr(log, "take effect at restart"), "the daemon did not refuse the new rate at reload:\n%s", log);
	free(log);
	AXDP_OK(&r, "status");
	cr_expect(strstr(r.out, "\nlimits      per /32 or /64 source and port: SYN 7/s burst 9, "), "%s", r.out);
	cr_expect(strstr(r.out, "\nconfigured  SYN 8/s burst 9: restart pending, 'systemctl restart autoxdp' applies it\n"),
		  "%s", r.out);
	run_free(&r);
	AXDP_OK(&r, "status", "--json");
	doc = documented("status", r.out);
	expect_syn(jv_get(doc, "rate_limits"), 7, 9, true, r.out);
	jv_free(doc);
	run_free(&r);

	/* A timeout is compiled in as well: with the rate back, only it keeps a restart pending. */
	cr_assert(axdpd_dropin(&fx.d, "20-limits.conf", LIMITS("7") "[Conntrack]\nTCPTimeoutSec=1234\n") == 0, "%s",
		  fx.d.err);
	cr_expect_eq(AXDP(&r, "reload"), 1, "%s", r.out);
	cr_expect(strstr(r.err, "apply only at restart"), "%s", r.err);
	run_free(&r);
	AXDP_OK(&r, "status");
	cr_expect(strstr(r.out, "\nconfigured  [Conntrack] timeouts: restart pending"), "%s", r.out);
	run_free(&r);
	cr_assert(axdpd_dropin(&fx.d, "20-limits.conf", LIMITS("7")) == 0, "%s", fx.d.err);
	AXDP_OK(&r, "reload");
	run_free(&r);
}

Test(axdp, status_follows_the_daemon_and_off)
{
	char text[32];
	struct stat st;
	struct run r;
	struct jv *doc;
	FILE *f;

	cr_assert(stat(fx.d.pid_file, &st) == 0, "no pid file %s while the daemon runs", fx.d.pid_file);
	cr_assert_eq(axdpd_stop(&fx.d, SIGTERM, 5000), 0, "%s", fx.d.err);
	cr_expect(stat(fx.d.pid_file, &st) != 0 && errno == ENOENT, "the daemon left its pid file");

	/* Stopped: the pinned data path still protects. */
	AXDP_OK(&r, "status", "--json");
	doc = documented("status", r.out);
	cr_expect_str_eq(jv_str(doc, "protection"), "active");
	cr_expect(!jv_get(jv_get(doc, "daemon"), "running")->b);
	jv_free(doc);
	run_free(&r);

	/* A stale pid file naming a live process that is not autoxdpd. */
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	f = fopen(fx.d.pid_file, "w");
	cr_assert(f && fputs(text, f) >= 0 && fclose(f) == 0);
	AXDP_OK(&r, "status", "--json");
	doc = documented("status", r.out);
	cr_expect(!jv_get(jv_get(doc, "daemon"), "running")->b, "a stale pid file counts as running");
	jv_free(doc);
	run_free(&r);
	cr_expect_eq(AXDP(&r, "reload"), 3, "reload without a daemon: %s", r.err);
	run_free(&r);

	AXDP_OK(&r, "off");
	run_free(&r);
	cr_expect_eq(AXDP(&r, "status", "--json"), 3, "status after off: %s", r.err);
	doc = documented("status", r.out);
	cr_expect_str_eq(jv_str(doc, "protection"), "inactive");
	/* Nothing pinned, no program: no lists, and the limits are the configuration's. */
	cr_expect(jv_get(doc, "policy")->type == JV_NULL, "status after off has policy:\n%s", r.out);
	cr_expect_str_eq(jv_str(jv_get(doc, "rate_limits"), "from"), "configuration", "%s", r.out);
	cr_expect_eq(jv_num(jv_get(jv_get(doc, "rate_limits"), "syn"), "per_second"), 50, "%s", r.out);
	jv_free(doc);
	run_free(&r);
	cr_expect_eq(AXDP(&r, "status"), 3, "status after off: %s", r.err);
	cr_expect(strstr(r.out, "\nlimits      as configured: no data path program runs\n") && !strstr(r.out, "\npolicy "), "%s",
		  r.out);
	run_free(&r);
	cr_expect_eq(AXDP(&r, "stats"), 3, "stats after off: %s", r.err);
	run_free(&r);
}

/* ---- the command line ---- */

struct bad_case {
	const char *args[8];
	const char *why;   /* expected in the one-line reason */
};

static struct bad_case bad_cases[] = {
	{ { "frobnicate" }, "unknown command" },
	{ { "--frobnicate" }, "unknown option" },
	{ { "--pin-dir" }, "needs a value" },
	{ { "stats", "--bogus" }, "unknown option" },
	{ { "stats", "--interval" }, "needs a value" },
	{ { "stats", "--interval", "0" }, "--interval" },
	{ { "stats", "--count", "3" }, "--watch" },
	{ { "stats", "--format", "xml" }, "--format" },
	{ { "stats", "--format", "prometheus", "--watch" }, "prometheus" },
	{ { "conntrack", "sctp" }, "sctp" },
	{ { "conntrack", "--limit", "-1" }, "--limit" },
	{ { "events", "--count", "x" }, "--count" },
	{ { "status", "extra" }, "extra" },
	{ { "allow" }, "add, remove or list" },
	{ { "allow", "add", "tcp" }, "missing" },
	{ { "allow", "add", "tcp", "70000" }, "70000" },
	{ { "allow", "add", "sctp", "80" }, "sctp" },
	{ { "allow", "remove", "tcp", "80", "--comment", "x" }, "--comment" },
	{ { "allow", "add", "tcp", "80", "--json" }, "--json" },
	{ { "exclude", "add", "bind", "10.0.0.1/8" }, "10.0.0.0/8" },
	{ { "trust", "add", "not-an-address" }, "not-an-address" },
	{ { "block", "add" }, "missing" },
	{ { "off", "--json" }, "--json" },
	{ { "help", "nosuch" }, "nosuch" },
};

static int table_index[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25 };

ParameterizedTestParameters(axdp_cli, bad_arguments_exit_2_with_usage)
{
	_Static_assert(sizeof(bad_cases) / sizeof(bad_cases[0]) <= sizeof(table_index) / sizeof(table_index[0]),
		       "bad_cases is longer than table_index");
	return cr_make_param_array(int, table_index, sizeof(bad_cases) / sizeof(bad_cases[0]));
}

static int run_here(struct run *r, const char *const *args)
{
	char program[AXDPD_PATH], err[512];
	const char *argv[16] = { axdpd_program("axdp", program, sizeof(program)) };
	int n = 1, rc;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	rc = run_sync(r, NULL, argv, fx.d.dir, AXDP_MS, err, sizeof(err));
	cr_assert_geq(rc, 0, "axdp: %s", err);
	return rc;
}

ParameterizedTest(int *i, axdp_cli, bad_arguments_exit_2_with_usage)
{
	const struct bad_case *c = &bad_cases[*i];
	const char *nl;
	struct run r;
	int rc = run_here(&r, c->args);

	cr_expect_eq(rc, 2, "axdp %s ...: exit %d, expected 2; stderr:\n%s", c->args[0], rc, r.err);
	cr_expect_eq(strncmp(r.err, "axdp: ", 6), 0, "%s", r.err);
	nl = strchr(r.err, '\n');
	cr_expect(nl && memmem(r.err, (size_t)(nl - r.err), c->why, strlen(c->why)),
		  "axdp %s ...: the first line does not say '%s':\n%s", c->args[0], c->why, r.err);
	cr_expect(strstr(r.err, "Usage: axdp"), "no usage after the reason:\n%s", r.err);
	cr_expect_str_empty(r.out, "axdp %s ...: printed to stdout:\n%s", c->args[0], r.out);
	run_free(&r);
}

Test(axdp_cli, help_version_and_global_options_after_the_command)
{
	struct run r;
	struct jv *doc;

	cr_expect_eq(run_here(&r, (const char *const[]){ "help", "events", NULL }), 0);
	cr_expect(strstr(r.out, "Usage: axdp events") && strstr(r.out, "--count"), "%s", r.out);
	run_free(&r);
	cr_expect_eq(run_here(&r, (const char *const[]){ "stats", "--help", NULL }), 0);
	cr_expect(strstr(r.out, "--rates"), "%s", r.out);
	run_free(&r);
	cr_expect_eq(run_here(&r, (const char *const[]){ "version", "--json", NULL }), 0);
	doc = documented("version", r.out);
	cr_expect_str_eq(jv_str(doc, "version"), AXDP_VERSION);
	jv_free(doc);
	run_free(&r);
	/* --pin-dir after the command is the one used. */
	cr_expect_eq(run_here(&r, (const char *const[]){ "ports", "--pin-dir", "/sys/fs/bpf/axdp-no-such-dir", NULL }), 3);
	cr_expect(strstr(r.err, "/sys/fs/bpf/axdp-no-such-dir/port_allow"), "%s", r.err);
	run_free(&r);
	cr_expect_eq(run_here(&r, (const char *const[]){ "--pin-dir", "/sys/fs/bpf/axdp-no-such-dir", "--json", "status", NULL }), 3);
	doc = documented("status", r.out);
	cr_expect_str_eq(jv_str(doc, "protection"), "inactive");
	jv_free(doc);
	run_free(&r);
}

Test(axdp_cli, without_root_says_so)
{
	char program[AXDPD_PATH], err[512];
	const char *argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
			       axdpd_program("axdp", program, sizeof(program)), "stats", NULL };
	struct run r;
	int rc = run_sync(&r, NULL, argv, fx.d.dir, AXDP_MS, err, sizeof(err));

	cr_assert_geq(rc, 0, "setpriv: %s", err);
	cr_expect_eq(rc, 4, "exit %d: %s", rc, r.err);
	cr_expect_str_eq(r.err, "axdp: reading the firewall's maps needs root (CAP_BPF)\n");
	run_free(&r);
}

Test(axdp_cli, bash_completion_completes_commands_subcommands_and_options)
{
	static const struct {
		const char *words;
		const char *want;
	} cases[] = {
		{ "axdp st", "status stats" },
		{ "axdp allow ''", "add remove list" },
		{ "axdp exclude add ''", "tcp udp bind" },
		{ "axdp stats --r", "--rates" },
		{ "axdp -p /tmp stats --format p", "prometheus" },
		{ "axdp help wa", "watch" },
		{ "axdp au", "audit" },
		{ "axdp audit ''", "on off" },
		{ "axdp ex", "explain exclude" },
		{ "axdp explain ''", "tcp udp icmp" },
		{ "axdp explain tcp 1.2.3.4 5.6.7.8:22 --fl", "--flags" },
		{ "axdp explain icmp 1.2.3.4 5.6.7.8 --type echo-rep", "echo-reply" },
	};
	char script[1024], path[512];
	const char *src = getenv("AXDP_SRCDIR");

	snprintf(path, sizeof(path), "%s/completion/axdp.bash", src && *src ? src : ".");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = { "bash", "--norc", "-c", script, NULL };
		char err[256];
		struct run r;

		snprintf(script, sizeof(script),
			 "source '%s' && COMP_WORDS=(%s) && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _axdp && "
			 "echo \"${COMPREPLY[*]}\"",
			 path, cases[i].words);
		cr_assert_eq(run_sync(&r, NULL, argv, fx.d.dir, 5000, err, sizeof(err)), 0, "%s: %s %s", cases[i].words, err,
			     r.err ? r.err : "");
		cr_expect_eq(strncmp(r.out, cases[i].want, strlen(cases[i].want)), 0, "%s: completed to '%s'", cases[i].words,
			     r.out);
		run_free(&r);
	}
}

/* The words of bash's completion of words (a shell array body), as one line. */
static void completed(const char *words, char *out, size_t len)
{
	char script[1024], path[512], err[256];
	const char *src = getenv("AXDP_SRCDIR");
	const char *argv[] = { "bash", "--norc", "-c", script, NULL };
	struct run r;

	snprintf(path, sizeof(path), "%s/completion/axdp.bash", src && *src ? src : ".");
	snprintf(script, sizeof(script),
		 "source '%s' && COMP_WORDS=(%s) && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _axdp && "
		 "echo \" ${COMPREPLY[*]} \"",
		 path, words);
	cr_assert_eq(run_sync(&r, NULL, argv, fx.d.dir, 5000, err, sizeof(err)), 0, "%s: %s %s", words, err,
		     r.err ? r.err : "");
	snprintf(out, len, "%s", r.out ? r.out : "");
	run_free(&r);
}

/*
 * The command table that dispatches writes 'axdp help': every command it
 * lists and every option of each complete in bash and are in axdp(8).
 */
Test(axdp_cli, help_completion_and_man_page_name_the_same_commands_and_options)
{
	char path[512], *man = NULL, names[64][16], reply[2048], want[64];
	size_t man_len = 0;
	FILE *f = fopen(man_page(path, sizeof(path)), "r");
	const char *p;
	struct run r;
	int n = 0, options = 0;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_geq(getdelim(&man, &man_len, '\0', f), 0, "reading %s", path);
	fclose(f);
	cr_assert_eq(run_here(&r, (const char *const[]){ "help", NULL }), 0);
	p = strstr(r.out, "Commands:\n");
	cr_assert_not_null(p, "%s", r.out);
	for (p += strlen("Commands:\n"); n < 64 && sscanf(p, "  %15s", names[n]) == 1 && p[0] == ' '; n++)
		p = strchr(p, '\n') + 1;
	run_free(&r);
	cr_assert_geq(n, 10, "axdp help lists %d commands", n);
	completed("axdp ''", reply, sizeof(reply));
	for (int i = 0; i < n; i++) {
		char words[64];

		snprintf(want, sizeof(want), " %s ", names[i]);
		cr_expect(strstr(reply, want), "bash completes no command %s: %s", names[i], reply);
		snprintf(want, sizeof(want), "Cm %s\n", names[i]);
		snprintf(words, sizeof(words), "Cm %s ", names[i]);
		cr_expect(strstr(man, want) || strstr(man, words), "axdp(8) has no command %s", names[i]);
	}
	for (int i = 0; i < n; i++) {
		char words[64];

		cr_assert_eq(run_here(&r, (const char *const[]){ "help", names[i], NULL }), 0);
		snprintf(words, sizeof(words), "axdp %s --", names[i]);
		completed(words, reply, sizeof(reply));
		for (p = r.out; (p = strstr(p, "\n  --")); p++) {
			char opt[32];

			cr_assert_eq(sscanf(p + 3, "%31s", opt), 1);
			options++;
			snprintf(want, sizeof(want), " %s ", opt);
			cr_expect(strstr(reply, want), "axdp %s %s: not completed in bash: %s", names[i], opt, reply);
			snprintf(want, sizeof(want), "Fl %s", opt + 1);
			cr_expect(strstr(man, want), "axdp %s %s: not in axdp(8)", names[i], opt);
		}
		run_free(&r);
	}
	cr_expect_geq(options, 20, "the help pages list %d options", options);
	free(man);
}
