// SPDX-License-Identifier: MIT
/*
 * The nftables backend, end to end: the real daemon in a throwaway server
 * namespace, judged by what the client namespace's TCP/UDP stack meets.
 * The behaviours both backends must share run once per backend (one
 * parameter: Backend=xdp or Backend=nftables in the daemon's config);
 * the rest is about nftables alone: falling back where XDP is taken,
 * moving between backends without a gap, never touching a user's ruleset,
 * running without the BPF object, the ways to reach nftables (libnftables
 * or the nft program) and neither.
 *
 * Every nft command runs inside a namespace the test created.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/wait.h>
#include <gelf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "autoxdp_abi.h"
#include "crit_fixture.h"
#include "crit_sock.h"
#include "crit_suite.h"
#include "daemon.h"
#include "flood.h"
#include "netns.h"
#include "nft.h"
#include "bans.h"
#include "denylist.h"
#include "nft_backend.h"
#include "packet.h"
#include "portsync.h"
#include "timing.h"
#include "util.h"

#define SERVER NETNS_SERVER
#define CLIENT NETNS_CLIENT

#define RECONCILE_S 2
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define READY_MS 10000
#define STOP_MS 10000
/* Bounds a reply that comes in microseconds: only a failure, or a machine other work stalls, waits it out. */
#define IO_MS 5000
/* Without a firewall the stack answers RST in microseconds: silence this long means dropped. */
#define DROPPED_MS 600
/*
 * Hang limits, not measures: how long the daemon may take to act on its
 * next reconcile pass (RECONCILE_S apart), and to open a port in nftables
 * mode (an event, then one nft transaction: milliseconds, logged), on a
 * machine other work keeps busy.
 */
#define RECONCILE_HANG_MS (RECONCILE_S * 1000L * 5)
#define NFT_OPEN_HANG_MS 10000
/* The prober: a SYN to each target this often, silence for this long counts as dropped. */
#define PROBE_INTERVAL_US 3000
#define PROBE_TIMEOUT_MS 150

#define CLOSED_PORT 9
#define EXCLUDED_PORT 9999

enum backend { XDP, NFT };
static const char *const backend_name[] = { [XDP] = "xdp", [NFT] = "nftables" };

static struct {
	struct netns_pair ns;
	struct axdpd d;
	struct probe probe;
	bool made;
} fx;

/* ---- fixture ---- */

static void teardown(void)
{
	char err[512];

	probe_stop(&fx.probe);
	if (!fx.made)
		return;
	cr_expect(axdpd_fixture_teardown(&fx.ns, &fx.d, err, sizeof(err)) == 0, "teardown: %s", err);
	fx.made = false;
}

CRIT_AFTER_ALL(axdpd_fixture_remove_stale())

CRIT_SUITE(nft, 60, NULL, teardown);
CRIT_SUITE(nft_cli, 15, NULL, NULL);

/* Namespaces and a daemon configured with Backend=backend plus extra (whole lines); started if start. */
static void setup(enum backend backend, const char *extra, bool start)
{
	char config[1024], err[1024];

	memset(&fx, 0, sizeof(fx));
	snprintf(config, sizeof(config), "[Daemon]\nReconcileIntervalSec=" STRINGIFY(RECONCILE_S) "\nBackend=%s\n%s",
		 backend_name[backend], extra ? extra : "");
	if (axdpd_fixture_setup(&fx.ns, &fx.d, config, err, sizeof(err)))
		cr_assert_fail("setup: %s", err);
	fx.made = true;
	crit_net_use(&fx.ns, IO_MS);
	if (start)
		cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "setup: starting autoxdpd (Backend=%s): %s",
			  backend_name[backend], fx.d.err);
}

/* ---- sockets ---- */

static const char *any_of(int af)
{
	return af == AF_INET ? "0.0.0.0" : "::";
}

/*
 * Fresh connects until one gets through; the ms from start until the SYN
 * that made it left, or -1 after bound_ms.  Each attempt waits attempt_ms;
 * the first is made whatever the clock says.
 */
static long reachable_after(int af, const char *addr, uint16_t port, long start, long bound_ms, int attempt_ms)
{
	do {
		long sent = now_ms();
		int rc = try_connect(af, addr, port, attempt_ms);

		if (rc == 0)
			return sent - start;
		cr_assert_eq(rc, ETIMEDOUT, "[%s]:%u: connect: %s (the SYN reached the stack without its listener)", addr,
			     port, strerror(rc));
	} while (now_ms() - start <= bound_ms);
	return -1;
}

/* Polls until a connect is dropped instead of answered; ms from start, or -1. */
static long dropped_after(int af, const char *addr, uint16_t port, long start, long bound_ms)
{
	while (now_ms() - start <= bound_ms) {
		long sent = now_ms();
		int rc = try_connect(af, addr, port, DROPPED_MS);

		if (rc == ETIMEDOUT)
			return sent - start;
		sleep_ms(20);
	}
	return -1;
}

/* ---- the daemon's side ---- */

static char *daemon_log(void)
{
	char *log = axdpd_read_log(&fx.d);

	cr_assert(log, "reading %s", fx.d.log);
	return log;
}

static bool log_has(const char *what)
{
	char *log = daemon_log();
	bool found = strstr(log, what) != NULL;

	free(log);
	return found;
}

static void ruleset(char *buf, size_t len)
{
	char err[1024];

	cr_assert(nftns_ruleset(fx.ns.name[SERVER], buf, len, err, sizeof(err)) == 0, "nft list ruleset in %s: %s",
		  fx.ns.name[SERVER], err);
}

struct ifaces_arg {
	char names[AXDP_MAX_IFACES][IF_NAMESIZE];
	int n;
	char err[512];
};

static int list_ifaces(void *arg)
{
	struct ifaces_arg *a = arg;

	a->n = axdp_nft_interfaces(a->names, AXDP_MAX_IFACES, a->err, sizeof(a->err));
	return a->n < 0 ? -1 : 0;
}

/* Is the server's veth in table inet autoxdp's interface set? */
static bool on_nftables(void)
{
	struct ifaces_arg a = { .n = 0 };
	char err[256];

	cr_assert(netns_call(fx.ns.name[SERVER], list_ifaces, &a, err, sizeof(err)) == 0, "listing %s: %s %s",
		  AXDP_NFT_SET_IFACES, err, a.err);
	for (int i = 0; i < a.n; i++)
		if (strcmp(a.names[i], fx.ns.ifname[SERVER]) == 0)
			return true;
	return false;
}

static int query_xdp(void *arg)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(fx.ns.ifindex[SERVER], 0, &q))
		return -1;
	*(__u32 *)arg = q.prog_id;
	return 0;
}

static __u32 xdp_prog_on_veth(void)
{
	__u32 id = 0;
	char err[256];

	cr_assert(netns_call(fx.ns.name[SERVER], query_xdp, &id, err, sizeof(err)) == 0, "querying XDP: %s", err);
	return id;
}

/* SIGHUP, then READY=1 after RELOADING=1. */
static void reload(const char *step)
{
	size_t from = axdpd_notes_end(&fx.d);

	cr_assert(axdpd_signal(&fx.d, SIGHUP) == 0, "%s: %s", step, fx.d.err);
	cr_assert(axdpd_wait_note(&fx.d, "RELOADING=1", &from, IO_MS * 3) == 0, "%s: %s", step, fx.d.err);
	cr_assert(axdpd_wait_note(&fx.d, "READY=1", &from, IO_MS * 5) == 0, "%s: %s", step, fx.d.err);
	cr_assert(!axdpd_exited(&fx.d), "%s: the daemon exited", step);
}

static void start_probe(int af)
{
	struct sockaddr_storage ss;
	socklen_t len;

	len = sockaddr_of(af, side_addr(SERVER, af), CLOSED_PORT, &ss);
	cr_assert(probe_target(&fx.probe, (struct sockaddr *)&ss, len) == 0, "%s", fx.probe.err);
	len = sockaddr_of(af, side_addr(SERVER, af), EXCLUDED_PORT, &ss);
	cr_assert(probe_target(&fx.probe, (struct sockaddr *)&ss, len) == 0, "%s", fx.probe.err);
	cr_assert(probe_start(&fx.probe, fx.ns.name[CLIENT], PROBE_INTERVAL_US, PROBE_TIMEOUT_MS) == 0, "%s",
		  fx.probe.err);
}

static void expect_no_hole(long since, const char *step)
{
	char why[512];

	/* Everything sent so far has been judged once the timeout has passed. */
	sleep_ms(PROBE_TIMEOUT_MS + 50);
	cr_expect(probe_verdict(&fx.probe, since, why, sizeof(why)) == 0, "%s: %s", step, why);
}

/*
 * The prober's verdict fails for each thing it checks when that thing is
 * broken, and passes only when nothing answered: nothing protects the
 * server (the daemon is not started), so its closed ports answer RST; a
 * target with no route fails every connect; an address on the link that
 * nobody holds stays silent, and a window no probe was sent in has no
 * judged probe.
 */
Test(nft, prober_verdict_fails_on_an_answer_an_error_or_no_probe)
{
	struct sockaddr_storage ss;
	char why[512], silent[INET_ADDRSTRLEN];
	socklen_t len;
	long since;

	setup(XDP, "", false);
	start_probe(AF_INET);
	/* More holes before the start than the prober keeps: they must not hide the ones after it. */
	while (probe_judged(&fx.probe) <= 2 * PROBE_HOLES_KEPT)
		sleep_ms(10);
	since = now_ms();
	sleep_ms(PROBE_TIMEOUT_MS * 2);
	probe_stop(&fx.probe);
	cr_expect_neq(probe_verdict(&fx.probe, since, why, sizeof(why)), 0, "closed ports answered, and the verdict passed");
	cr_expect(strstr(why, "answered"), "the verdict on answering ports: %s", why);

	memset(&fx.probe, 0, sizeof(fx.probe));
	len = sockaddr_of(AF_INET, "203.0.113.1", CLOSED_PORT, &ss); /* the client has no route there */
	cr_assert(probe_target(&fx.probe, (struct sockaddr *)&ss, len) == 0, "%s", fx.probe.err);
	cr_assert(probe_start(&fx.probe, fx.ns.name[CLIENT], PROBE_INTERVAL_US, PROBE_TIMEOUT_MS) == 0, "%s",
		  fx.probe.err);
	since = now_ms();
	sleep_ms(PROBE_TIMEOUT_MS * 2);
	probe_stop(&fx.probe);
	cr_expect_neq(probe_verdict(&fx.probe, since, why, sizeof(why)), 0, "every probe failed, and the verdict passed");
	cr_expect(strstr(why, "probes failed"), "the verdict on failing probes: %s", why);

	memset(&fx.probe, 0, sizeof(fx.probe));
	snprintf(silent, sizeof(silent), "10.200.%u.77", fx.ns.subnet);
	len = sockaddr_of(AF_INET, silent, CLOSED_PORT, &ss);
	cr_assert(probe_target(&fx.probe, (struct sockaddr *)&ss, len) == 0, "%s", fx.probe.err);
	cr_assert(probe_start(&fx.probe, fx.ns.name[CLIENT], PROBE_INTERVAL_US, PROBE_TIMEOUT_MS) == 0, "%s",
		  fx.probe.err);
	since = now_ms();
	sleep_ms(PROBE_TIMEOUT_MS * 2);
	probe_stop(&fx.probe);
	cr_expect_eq(probe_verdict(&fx.probe, since, why, sizeof(why)), 0, "silence was not judged a drop: %s", why);
	cr_expect_neq(probe_verdict(&fx.probe, now_ms() + 1, why, sizeof(why)), 0,
		      "a window no probe was sent in passed the verdict");
	cr_expect(strstr(why, "no probe"), "the verdict on a window without probes: %s", why);
}

/* ---- once per backend ---- */

struct bcase {
	enum backend backend;
	int af;
};

static struct bcase bcases[] = { { XDP, AF_INET }, { XDP, AF_INET6 }, { NFT, AF_INET }, { NFT, AF_INET6 } };
static enum backend backends[] = { XDP, NFT };

static const char *fam(int af)
{
	return af == AF_INET ? "IPv4" : "IPv6";
}

ParameterizedTestParameters(nft, listener_reachable_after_listen)
{
	return cr_make_param_array(struct bcase, bcases, sizeof(bcases) / sizeof(bcases[0]));
}

ParameterizedTest(struct bcase *c, nft, listener_reachable_after_listen)
{
	const uint16_t port = 8080;
	const char *srv;
	int listener, cli, conn, rc;
	long start, took, closed;

	setup(c->backend, NULL, true);
	srv = side_addr(SERVER, c->af);
	rc = try_connect(c->af, srv, port, DROPPED_MS);
	cr_assert_eq(rc, ETIMEDOUT, "%s/%s: before listen(), a connect to %u: %s", backend_name[c->backend], fam(c->af),
		     port, rc ? strerror(rc) : "connected");

	listener = serve(SERVER, c->af, SOCK_STREAM, any_of(c->af), port);
	start = now_ms();
	if (c->backend == XDP) {
		/* The hook opened the port inside listen(): the very first SYN passes, however slow the answer. */
		cli = sock(CLIENT, c->af, SOCK_STREAM);
		cr_assert_eq(connect_within(cli, c->af, srv, port, IO_MS), 0, "xdp/%s: connect after listen()",
			     fam(c->af));
		took = now_ms() - start;
		cr_assert_eq(retransmits(cli), 0, "xdp/%s: the first SYN after listen() was dropped", fam(c->af));
		close(cli);
	} else {
		/* The hook's event reaches the daemon, which applies one nft transaction. */
		took = reachable_after(c->af, srv, port, start, NFT_OPEN_HANG_MS, 5);
		cr_assert_geq(took, 0, "nftables/%s: port %u not reachable %d ms after listen()", fam(c->af), port,
			      NFT_OPEN_HANG_MS);
	}
	cr_log_info("%s/%s: reachable %ld ms after listen()", backend_name[c->backend], fam(c->af), took);
	accept_one(listener); /* the probe that got through */
	cli = sock(CLIENT, c->af, SOCK_STREAM);
	cr_assert_eq(connect_within(cli, c->af, srv, port, IO_MS), 0, "connect after open");
	conn = accept_one(listener);
	exchange(cli, conn, "open", fam(c->af));
	close(conn);
	close(cli);

	close(listener);
	start = now_ms();
	closed = dropped_after(c->af, srv, port, start, RECONCILE_HANG_MS);
	cr_assert_geq(closed, 0, "%s/%s: port %u still answered %d ms after its listener closed",
		      backend_name[c->backend], fam(c->af), port, (int)RECONCILE_HANG_MS);
}

ParameterizedTestParameters(nft, closed_ports_drop_until_axdp_off)
{
	return cr_make_param_array(enum backend, backends, 2);
}

ParameterizedTest(enum backend *b, nft, closed_ports_drop_until_axdp_off)
{
	char rules[65536];
	struct sockaddr_storage from;
	char buf[16];
	ssize_t n;
	int udp, rc;

	setup(*b, NULL, true);
	for (int af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0) {
		rc = try_connect(af, side_addr(SERVER, af), CLOSED_PORT, DROPPED_MS);
		cr_expect_eq(rc, ETIMEDOUT, "%s/%s: SYN to closed port %u: expected dropped, got %s", backend_name[*b],
			     fam(af), CLOSED_PORT, rc ? strerror(rc) : "connected");
	}
	/* A closed UDP port answers nothing either: no ICMP port unreachable comes back. */
	udp = sock(CLIENT, AF_INET, SOCK_DGRAM);
	{
		struct sockaddr_storage ss;
		socklen_t len = sockaddr_of(AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, &ss);

		cr_assert(connect(udp, (struct sockaddr *)&ss, len) == 0, "udp connect: %s", strerror(errno));
	}
	cr_assert(send(udp, "x", 1, 0) == 1, "udp send: %s", strerror(errno));
	cr_expect(!tsock_datagram_within(udp, buf, sizeof(buf), &n, &from, DROPPED_MS) && errno != ECONNREFUSED,
		  "%s: a datagram to closed UDP port %u was answered (%s)", backend_name[*b], CLOSED_PORT, strerror(errno));
	close(udp);
	ruleset(rules, sizeof(rules));
	cr_expect_eq(nft_has_table(rules, AXDP_NFT_FAMILY, AXDP_NFT_TABLE), *b == NFT,
		     "Backend=%s: table inet autoxdp %s:\n%s", backend_name[*b], *b == NFT ? "missing" : "present", rules);

	cr_assert_eq(axdpd_off(&fx.d), 0, "axdp off: %s", fx.d.err);
	rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, IO_MS);
	cr_expect_eq(rc, ECONNREFUSED, "%s: after axdp off a SYN to closed port %u was not answered with RST (%s)",
		     backend_name[*b], CLOSED_PORT, rc ? strerror(rc) : "connected");
	ruleset(rules, sizeof(rules));
	cr_expect(!nft_has_table(rules, AXDP_NFT_FAMILY, AXDP_NFT_TABLE), "axdp off left table inet autoxdp:\n%s", rules);
}

ParameterizedTestParameters(nft, established_sessions_survive_start_reload_restart)
{
	return cr_make_param_array(struct bcase, bcases, sizeof(bcases) / sizeof(bcases[0]));
}

ParameterizedTest(struct bcase *c, nft, established_sessions_survive_start_reload_restart)
{
	const uint16_t srv_port = 7001, cli_port = 7002;
	const char *srv, *cli_addr;
	int listener, cli_listener, in_cli, out_srv, in_srv, out_cli, rc;

	setup(c->backend, NULL, false);
	srv = side_addr(SERVER, c->af);
	cli_addr = side_addr(CLIENT, c->af);
	/*
	 * Inbound: client to a server listener.  Outbound: the server to a
	 * client listener; the client speaks first after each step, so that
	 * session's first packet is inbound to the server's ephemeral port and
	 * passes only as a known connection (for nftables: seeded at install,
	 * since conntrack never saw the handshake).
	 */
	listener = serve(SERVER, c->af, SOCK_STREAM, any_of(c->af), srv_port);
	cli_listener = serve(CLIENT, c->af, SOCK_STREAM, cli_addr, cli_port);
	in_cli = sock(CLIENT, c->af, SOCK_STREAM);
	out_srv = sock(SERVER, c->af, SOCK_STREAM);
	rc = connect_within(in_cli, c->af, srv, srv_port, IO_MS);
	cr_assert_eq(rc, 0, "inbound connect before the daemon: %s", strerror(rc));
	in_srv = accept_one(listener);
	rc = connect_within(out_srv, c->af, cli_addr, cli_port, IO_MS);
	cr_assert_eq(rc, 0, "outbound connect before the daemon: %s", strerror(rc));
	out_cli = accept_one(cli_listener);
	exchange(in_cli, in_srv, "no firewall", "inbound");
	exchange(out_cli, out_srv, "no firewall", "outbound");

	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "starting: %s", fx.d.err);
	cr_assert(log_has(c->backend == NFT ? "protected, nftables" : "protected, XDP"), "the log does not say %s",
		  backend_name[c->backend]);
	exchange(out_cli, out_srv, "daemon started", "outbound");
	exchange(in_cli, in_srv, "daemon started", "inbound");

	/* A reload that changes the port lists: the sets are rewritten, the sessions stay. */
	cr_assert(axdpd_dropin(&fx.d, "50-ports.conf", "[Ports]\nAllowTCP=4000-4010\nExcludeTCP=" STRINGIFY(EXCLUDED_PORT) "\n") == 0,
		  "%s", fx.d.err);
	reload("reload");
	exchange(out_cli, out_srv, "reloaded", "outbound");
	exchange(in_cli, in_srv, "reloaded", "inbound");
	rc = try_connect(c->af, srv, 4005, IO_MS);
	cr_expect_eq(rc, ECONNREFUSED, "AllowTCP=4000-4010 after reload: port 4005 expected open (RST), got %s",
		     rc ? strerror(rc) : "connected");

	/* A crash and a restart: what protects stays (pins, the table), the restart takes it over. */
	axdpd_stop(&fx.d, SIGKILL, STOP_MS);
	exchange(out_cli, out_srv, "daemon killed", "outbound");
	exchange(in_cli, in_srv, "daemon killed", "inbound");
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "restarting: %s", fx.d.err);
	exchange(out_cli, out_srv, "daemon restarted", "outbound");
	exchange(in_cli, in_srv, "daemon restarted", "inbound");
	rc = try_connect(c->af, srv, CLOSED_PORT, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "after the restart, closed port %u: %s", CLOSED_PORT, rc ? strerror(rc) : "connected");

	close(out_cli);
	close(out_srv);
	close(in_srv);
	close(in_cli);
	close(cli_listener);
	close(listener);
}

static uint16_t peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	cr_assert(getpeername(fd, (struct sockaddr *)&ss, &len) == 0, "getpeername: %s", strerror(errno));
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

ParameterizedTestParameters(nft, session_outlives_its_listener)
{
	return cr_make_param_array(struct bcase, bcases, sizeof(bcases) / sizeof(bcases[0]));
}

/*
 * The accepted session keeps passing once its listener closed and its port
 * is dropping SYNs: by a conntrack entry the daemon made (XDP), by the
 * kernel's conntrack (nftables, ct state established).
 */
ParameterizedTest(struct bcase *c, nft, session_outlives_its_listener)
{
	const uint16_t port = 7003;
	const char *srv;
	int listener, cli, conn, rc;
	long start;

	setup(c->backend, NULL, true);
	srv = side_addr(SERVER, c->af);
	listener = serve(SERVER, c->af, SOCK_STREAM, any_of(c->af), port);
	/* nftables opens the port a few ms after listen(): the probes that find it open are accepted and dropped. */
	cr_assert_geq(reachable_after(c->af, srv, port, now_ms(), NFT_OPEN_HANG_MS, 5), 0,
		      "%s/%s: tcp/%u not reachable after listen()", backend_name[c->backend], fam(c->af), port);
	cli = sock(CLIENT, c->af, SOCK_STREAM);
	rc = connect_within(cli, c->af, srv, port, IO_MS);
	cr_assert_eq(rc, 0, "%s/%s: connect: %s", backend_name[c->backend], fam(c->af), strerror(rc));
	while (peer_port(conn = accept_one(listener)) != local_port(cli))
		close(conn);
	exchange(cli, conn, "listening", fam(c->af));
	close(listener);

	start = now_ms();
	while ((rc = try_connect(c->af, srv, port, DROPPED_MS)) != ETIMEDOUT) {
		cr_assert_eq(rc, ECONNREFUSED, "%s/%s: probe connect to tcp/%u: %s", backend_name[c->backend], fam(c->af),
			     port, rc ? strerror(rc) : "connected");
		cr_assert_lt(now_ms() - start, RECONCILE_HANG_MS,
			     "%s/%s: tcp/%u still open after its listener closed", backend_name[c->backend], fam(c->af), port);
		sleep_ms(20);
	}
	exchange(cli, conn, "listener closed", fam(c->af));
	reload("reload");
	exchange(cli, conn, "reloaded", fam(c->af));
	axdpd_stop(&fx.d, SIGKILL, STOP_MS);
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "restarting: %s", fx.d.err);
	exchange(cli, conn, "daemon restarted", fam(c->af));
	close(conn);
	close(cli);
}

ParameterizedTestParameters(nft, udp_reply_passes_unsolicited_does_not)
{
	return cr_make_param_array(struct bcase, bcases, sizeof(bcases) / sizeof(bcases[0]));
}

ParameterizedTest(struct bcase *c, nft, udp_reply_passes_unsolicited_does_not)
{
	const uint16_t echo_port = 7777, other_port = 7778;
	const char *cli_addr;
	int echo, other, outbound;
	struct sockaddr_storage from;
	char buf[64];
	ssize_t n;
	uint16_t eph;

	setup(c->backend, NULL, true);
	cli_addr = side_addr(CLIENT, c->af);
	echo = serve(CLIENT, c->af, SOCK_DGRAM, cli_addr, echo_port);
	other = serve(CLIENT, c->af, SOCK_DGRAM, cli_addr, other_port);
	/* An ephemeral port: a client socket, which opens nothing. */
	outbound = serve(SERVER, c->af, SOCK_DGRAM, any_of(c->af), 0);
	eph = local_port(outbound);

	send_to(outbound, c->af, cli_addr, echo_port, "request");
	cr_assert(tsock_datagram_within(echo, buf, sizeof(buf), &n, &from, IO_MS) && n == 7, "the request did not arrive");
	cr_assert(sendto(echo, buf, (size_t)n, 0, (struct sockaddr *)&from,
			 from.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) == n,
		  "echo reply: %s", strerror(errno));
	cr_expect(tsock_datagram_within(outbound, buf, sizeof(buf), &n, &from, IO_MS) && n == 7,
		  "%s/%s: the reply to ephemeral port %u did not arrive", backend_name[c->backend], fam(c->af), eph);

	/* The same server port, from a port the server never wrote to: no flow, dropped. */
	send_to(other, c->af, side_addr(SERVER, c->af), eph, "unsolicited");
	cr_expect(!tsock_datagram_within(outbound, buf, sizeof(buf), &n, &from, DROPPED_MS),
		  "%s/%s: an unsolicited datagram to ephemeral port %u got in", backend_name[c->backend], fam(c->af), eph);
	close(outbound);
	close(other);
	close(echo);
}

ParameterizedTestParameters(nft, fragmented_datagrams_arrive_whole)
{
	return cr_make_param_array(struct bcase, bcases, sizeof(bcases) / sizeof(bcases[0]));
}

/*
 * Datagrams larger than the link's MTU, fragmented by the sender: to an
 * open port, and as the reply to one of the host's own flows.  Their
 * later fragments hold no ports; nftables judged them by their data
 * (the kernel's fast payload loads read it as a header) and dropped them
 * as udp_port_closed.
 */
ParameterizedTest(struct bcase *c, nft, fragmented_datagrams_arrive_whole)
{
	const uint16_t port = 5301, echo_port = 7779;
	static char big[3001];
	struct sockaddr_storage from;
	int srv, cli, echo, outbound;
	char buf[4096];
	ssize_t n;

	memset(big, 'f', sizeof(big) - 1);
	setup(c->backend, NULL, true);
	srv = serve(SERVER, c->af, SOCK_DGRAM, any_of(c->af), port);
	cli = sock(CLIENT, c->af, SOCK_DGRAM);
	/* Open once a datagram arrives (nftables: a transaction after bind()). */
	for (long start = now_ms();;) {
		send_to(cli, c->af, side_addr(SERVER, c->af), port, "probe");
		if (tsock_datagram_within(srv, buf, sizeof(buf), &n, &from, 100))
			break;
		cr_assert_lt(now_ms() - start, NFT_OPEN_HANG_MS, "udp/%u never opened", port);
	}
	send_to(cli, c->af, side_addr(SERVER, c->af), port, big);
	cr_expect(tsock_datagram_within(srv, buf, sizeof(buf), &n, &from, IO_MS) && n == (ssize_t)strlen(big),
		  "%s/%s: a fragmented datagram to open port %u did not arrive whole", backend_name[c->backend],
		  fam(c->af), port);

	echo = serve(CLIENT, c->af, SOCK_DGRAM, side_addr(CLIENT, c->af), echo_port);
	outbound = serve(SERVER, c->af, SOCK_DGRAM, any_of(c->af), 0);
	send_to(outbound, c->af, side_addr(CLIENT, c->af), echo_port, "request");
	cr_assert(tsock_datagram_within(echo, buf, sizeof(buf), &n, &from, IO_MS), "the request did not arrive");
	cr_assert(sendto(echo, big, strlen(big), 0, (struct sockaddr *)&from,
			 from.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) ==
			  (ssize_t)strlen(big),
		  "reply: %s", strerror(errno));
	cr_expect(tsock_datagram_within(outbound, buf, sizeof(buf), &n, &from, IO_MS) && n == (ssize_t)strlen(big),
		  "%s/%s: a fragmented reply to the host's own flow did not arrive whole", backend_name[c->backend],
		  fam(c->af));
	close(outbound);
	close(echo);
	close(cli);
	close(srv);
}

ParameterizedTestParameters(nft, udp_flow_older_than_the_daemon_keeps_its_replies)
{
	return cr_make_param_array(struct bcase, bcases, sizeof(bcases) / sizeof(bcases[0]));
}

/*
 * A connected UDP socket from before the daemon: its peer's datagrams pass
 * as a seeded connection (for nftables: its local port in udp_flow_ports
 * from the install on, the exact flow in seeded4/seeded6), though no
 * conntrack saw the request; another source's datagram to the same port
 * is dropped.
 */
ParameterizedTest(struct bcase *c, nft, udp_flow_older_than_the_daemon_keeps_its_replies)
{
	const uint16_t echo_port = 7777, other_port = 7778;
	const char *cli_addr;
	struct sockaddr_storage peer, from;
	socklen_t len;
	int echo, other, outbound;
	char buf[64];
	ssize_t n;
	uint16_t eph;

	setup(c->backend, NULL, false);
	cli_addr = side_addr(CLIENT, c->af);
	echo = serve(CLIENT, c->af, SOCK_DGRAM, cli_addr, echo_port);
	other = serve(CLIENT, c->af, SOCK_DGRAM, cli_addr, other_port);
	outbound = serve(SERVER, c->af, SOCK_DGRAM, any_of(c->af), 0);
	eph = local_port(outbound);
	len = sockaddr_of(c->af, cli_addr, echo_port, &peer);
	cr_assert_eq(connect(outbound, (struct sockaddr *)&peer, len), 0, "connect: %s", strerror(errno));
	cr_assert_eq(send(outbound, "request", 7, 0), 7, "send: %s", strerror(errno));
	cr_assert(tsock_datagram_within(echo, buf, sizeof(buf), &n, &from, IO_MS) && n == 7, "the request did not arrive");

	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "starting: %s", fx.d.err);
	cr_assert(sendto(echo, buf, (size_t)n, 0, (struct sockaddr *)&from,
			 from.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) == n,
		  "echo reply: %s", strerror(errno));
	cr_expect(tsock_datagram_within(outbound, buf, sizeof(buf), &n, NULL, IO_MS) && n == 7,
		  "%s/%s: the reply of a flow older than the daemon to port %u did not arrive", backend_name[c->backend],
		  fam(c->af), eph);
	/* The connected socket takes nothing from another source: the stack would answer port unreachable. */
	len = sockaddr_of(c->af, side_addr(SERVER, c->af), eph, &peer);
	cr_assert_eq(connect(other, (struct sockaddr *)&peer, len), 0, "connect: %s", strerror(errno));
	cr_assert_eq(send(other, "unsolicited", 11, 0), 11, "send: %s", strerror(errno));
	errno = 0;
	cr_expect(!tsock_datagram_within(other, buf, sizeof(buf), &n, NULL, DROPPED_MS) && errno != ECONNREFUSED,
		  "%s/%s: another source's datagram to port %u was not dropped (answered: %s)", backend_name[c->backend],
		  fam(c->af), eph, strerror(errno));
	close(outbound);
	close(other);
	close(echo);
}

ParameterizedTestParameters(nft, reloads_leave_no_gap)
{
	return cr_make_param_array(enum backend, backends, 2);
}

ParameterizedTest(enum backend *b, nft, reloads_leave_no_gap)
{
	int excluded;
	long since;

	setup(*b, "[Ports]\nExcludeTCP=" STRINGIFY(EXCLUDED_PORT) "\n", true);
	excluded = serve(SERVER, AF_INET, SOCK_STREAM, "0.0.0.0", EXCLUDED_PORT);
	start_probe(AF_INET);
	since = now_ms();
	for (int i = 0; i < 10; i++) {
		char text[128];

		snprintf(text, sizeof(text), "[Ports]\nAllowTCP=%d\nAllowUDP=%d-%d\n", 5000 + i, 6000, 6000 + i);
		cr_assert(axdpd_dropin(&fx.d, "50-reload.conf", text) == 0, "%s", fx.d.err);
		reload("reload");
		sleep_ms(30);
	}
	/* Closing and opening listeners while probing: the sets change under the prober too. */
	for (int i = 0; i < 5; i++)
		close(serve(SERVER, AF_INET, SOCK_STREAM, "0.0.0.0", (uint16_t)(8100 + i)));
	cr_log_info("%s: %ld probes judged in %ld ms of reloads", backend_name[*b], probe_judged(&fx.probe),
		    now_ms() - since);
	/* Enough probes to mean anything, however little CPU the prober got during the reloads. */
	for (long t0 = now_ms(); probe_judged(&fx.probe) <= 100 && now_ms() - t0 < RECONCILE_HANG_MS;)
		sleep_ms(20);
	expect_no_hole(since, "ten reloads");
	cr_expect_gt(probe_judged(&fx.probe), 100, "the prober judged only %ld probes in %ld ms", probe_judged(&fx.probe),
		     now_ms() - since);
	probe_stop(&fx.probe);
	close(excluded);
}

static int cmp_long(const void *a, const void *b)
{
	return (*(const long *)a > *(const long *)b) - (*(const long *)a < *(const long *)b);
}

/*
 * listen() to reachable in nftables mode, measured: the hook writes the
 * BPF allow-list inside listen(), its ring-buffer event wakes the daemon,
 * which sends the sets to nftables in one transaction.  Fresh connects every
 * 2 ms find the moment the first SYN gets through.
 */
Test(nft, listen_to_open_delay_is_reported)
{
	enum { ROUNDS = 15 };
	long took[ROUNDS];

	setup(NFT, NULL, true);
	for (int i = 0; i < ROUNDS; i++) {
		int listener = serve(SERVER, AF_INET, SOCK_STREAM, "0.0.0.0", (uint16_t)(8200 + i));
		long start = now_ms();

		took[i] = reachable_after(AF_INET, side_addr(SERVER, AF_INET), (uint16_t)(8200 + i), start, NFT_OPEN_HANG_MS, 2);
		cr_assert_geq(took[i], 0, "round %d: port %u not reachable %d ms after listen()", i, 8200 + i,
			      NFT_OPEN_HANG_MS);
		close(listener);
	}
	qsort(took, ROUNDS, sizeof(took[0]), cmp_long);
	cr_log_info("nftables: listen() to reachable over %d listeners: median %ld ms, max %ld ms (2 ms resolution)",
		    ROUNDS, took[ROUNDS / 2], took[ROUNDS - 1]);
	fprintf(stderr, "nftables: listen() to reachable: median %ld ms, max %ld ms over %d listeners\n", took[ROUNDS / 2],
		took[ROUNDS - 1], ROUNDS);
}

ParameterizedTestParameters(nft, denied_and_trusted_sources)
{
	return cr_make_param_array(enum backend, backends, 2);
}

/* DenyCIDR= drops a source before anything else; TrustCIDR= with TrustOpensAllTCP= reaches every TCP port. */
ParameterizedTest(enum backend *b, nft, denied_and_trusted_sources)
{
	char text[256];
	int listener, rc;

	setup(*b, NULL, false);
	snprintf(text, sizeof(text), "[Policy]\nDenyCIDR=%s\n", side_addr(CLIENT, AF_INET));
	cr_assert(axdpd_dropin(&fx.d, "50-policy.conf", text) == 0, "%s", fx.d.err);
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "starting: %s", fx.d.err);
	listener = serve(SERVER, AF_INET6, SOCK_STREAM, "::", 8080);
	rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), 8080, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "%s: a denied source reached an open port: %s", backend_name[*b],
		     rc ? strerror(rc) : "connected");
	rc = try_connect(AF_INET6, side_addr(SERVER, AF_INET6), 8080, IO_MS);
	cr_expect_eq(rc, 0, "%s: the client's IPv6 address is not denied, yet: %s", backend_name[*b], strerror(rc));

	/* A reload rewrites the source sets: the deny is lifted. */
	cr_assert(axdpd_dropin(&fx.d, "50-policy.conf", "[Policy]\nDenyCIDR=\n") == 0, "%s", fx.d.err);
	reload("deny lifted");
	rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), 8080, IO_MS);
	cr_expect_eq(rc, 0, "%s: the deny was lifted by the reload, yet: %s", backend_name[*b], strerror(rc));

	snprintf(text, sizeof(text), "[Policy]\nTrustCIDR=%s\nTrustOpensAllTCP=yes\n", side_addr(CLIENT, AF_INET6));
	cr_assert(axdpd_dropin(&fx.d, "50-policy.conf", text) == 0, "%s", fx.d.err);
	/* A restart, not a reload: TrustOpensAllTCP= is a knob of the object, which a reload must load anew. */
	cr_assert(axdpd_stop(&fx.d, SIGTERM, STOP_MS) == 0, "%s", fx.d.err);
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "restarting: %s", fx.d.err);
	rc = try_connect(AF_INET6, side_addr(SERVER, AF_INET6), CLOSED_PORT, IO_MS);
	cr_expect_eq(rc, ECONNREFUSED, "%s: a trusted source did not reach closed port %u (expected RST): %s",
		     backend_name[*b], CLOSED_PORT, rc ? strerror(rc) : "connected");
	rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "%s: an untrusted source reached closed port %u: %s", backend_name[*b], CLOSED_PORT,
		     rc ? strerror(rc) : "connected");
	close(listener);
}

/* ---- nftables alone ---- */

/*
 * Another XDP program holds the interface, so XDP cannot attach: auto
 * ends on nftables.  Across the start, a reload, the switch to XDP once
 * the interface is free, Backend=nftables, a crash and a restart, a
 * closed port never answers after the first READY=1.
 */
Test(nft, auto_falls_back_where_xdp_is_taken_and_switches_without_gap)
{
	char err[512], rules[65536];
	size_t from = 0;
	long since;
	int excluded, listener, rc;

	setup(NFT, "[Ports]\nExcludeTCP=" STRINGIFY(EXCLUDED_PORT) "\n", false);
	cr_assert(axdpd_dropin(&fx.d, "10-auto.conf", "[Daemon]\nBackend=auto\n") == 0, "%s", fx.d.err);
	cr_assert(xdp_blocker_attach(fx.ns.name[SERVER], fx.ns.ifindex[SERVER], err, sizeof(err)) == 0, "%s", err);
	excluded = serve(SERVER, AF_INET, SOCK_STREAM, "0.0.0.0", EXCLUDED_PORT);
	start_probe(AF_INET);

	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "starting with the interface taken: %s", fx.d.err);
	since = now_ms();
	cr_expect(log_has("protected, nftables (XDP failed"), "the log does not say why nftables protects");
	cr_expect(on_nftables(), "%s is not in table inet autoxdp's ifaces set", fx.ns.ifname[SERVER]);
	{
		char line[512] = "", want[64];
		bool named = false;

		snprintf(want, sizeof(want), "%s nftables", fx.ns.ifname[SERVER]);
		while (axdpd_next_note(&fx.d, "STATUS=", &from, line, sizeof(line)))
			named = named || strstr(line, want);
		cr_expect(named, "no STATUS= says '%s'; the last: %s", want, line);
	}
	listener = serve(SERVER, AF_INET, SOCK_STREAM, "0.0.0.0", 8080);
	cr_expect_geq(reachable_after(AF_INET, side_addr(SERVER, AF_INET), 8080, now_ms(), NFT_OPEN_HANG_MS, 5), 0,
		      "a new listener is not reachable on nftables");
	close(listener);
	reload("reload while XDP is taken");
	cr_expect(on_nftables(), "the reload took %s off nftables", fx.ns.ifname[SERVER]);
	expect_no_hole(since, "start and reload on nftables");

	/* The interface is free: the next reload moves it to XDP, attaching before leaving nftables. */
	cr_assert(xdp_blocker_detach(fx.ns.name[SERVER], fx.ns.ifindex[SERVER], err, sizeof(err)) == 0, "%s", err);
	reload("reload with the interface free");
	cr_expect(log_has("protected, XDP"), "the reload did not move to XDP");
	cr_expect_neq(xdp_prog_on_veth(), 0, "no XDP program on %s", fx.ns.ifname[SERVER]);
	ruleset(rules, sizeof(rules));
	cr_expect(!nft_has_table(rules, AXDP_NFT_FAMILY, AXDP_NFT_TABLE), "table inet autoxdp stayed after moving to XDP");
	expect_no_hole(since, "nftables to XDP");

	/* And back: Backend=nftables takes over before XDP goes. */
	cr_assert(axdpd_dropin(&fx.d, "10-auto.conf", "[Daemon]\nBackend=nftables\n") == 0, "%s", fx.d.err);
	reload("reload with Backend=nftables");
	cr_expect(on_nftables(), "Backend=nftables did not put %s on nftables", fx.ns.ifname[SERVER]);
	cr_expect_eq(xdp_prog_on_veth(), 0, "XDP stayed on %s under Backend=nftables", fx.ns.ifname[SERVER]);
	expect_no_hole(since, "XDP to nftables");

	/* A crash leaves the table; the restart (auto, interface free) replaces it by XDP. */
	axdpd_stop(&fx.d, SIGKILL, STOP_MS);
	cr_expect(on_nftables(), "the table went with the daemon");
	cr_assert(axdpd_dropin(&fx.d, "10-auto.conf", "[Daemon]\nBackend=auto\n") == 0, "%s", fx.d.err);
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "restarting: %s", fx.d.err);
	cr_expect_neq(xdp_prog_on_veth(), 0, "the restart (auto, interface free) did not attach XDP");
	cr_expect(!on_nftables(), "the restart left %s on nftables", fx.ns.ifname[SERVER]);
	expect_no_hole(since, "crash and restart");
	cr_log_info("%ld probes judged, none answered", probe_judged(&fx.probe));
	probe_stop(&fx.probe);
	close(excluded);

	rc = axdpd_off(&fx.d);
	cr_expect_eq(rc, 0, "axdp off: %s", fx.d.err);
}

/* A user's own ruleset is not ours: byte-identical across everything the daemon does. */
Test(nft, user_ruleset_stays_byte_identical)
{
	static const char user[] =
		"table inet user {\n"
		"\tset blocked { type ipv4_addr; flags interval; elements = { 192.0.2.0/24, 198.51.100.7 } }\n"
		"\tchain input { type filter hook input priority 10; policy accept; ip saddr @blocked drop; "
		"tcp dport 12345 accept; }\n"
		"\tchain pre { type filter hook prerouting priority -150; policy accept; meta mark 0x42 accept; }\n"
		"}\n"
		"table ip user4 {\n\tchain out { type filter hook output priority 0; policy accept; oifname \"lo\" accept; }\n}\n"
		"table netdev userdev {\n\tchain in { type filter hook ingress device \"lo\" priority 0; policy accept; }\n}\n";
	static const char *const load[] = { "-f", "-", NULL };
	static char before[65536], now[65536];
	char err[1024];
	int listener, rc;

	setup(NFT, NULL, false);
	rc = nftns(fx.ns.name[SERVER], load, user, NULL, 0, err, sizeof(err));
	cr_assert_eq(rc, 0, "loading the user's ruleset: %s", err);
	ruleset(before, sizeof(before));
	cr_assert(nft_has_table(before, "inet", "user"), "the user's table did not load:\n%s", before);

#define SAME_AS_BEFORE(step)                                                                                  \
	do {                                                                                                  \
		ruleset(now, sizeof(now));                                                                    \
		cr_expect(nft_has_table(now, AXDP_NFT_FAMILY, AXDP_NFT_TABLE), "%s: no table inet autoxdp", step); \
		nft_strip_table(now, AXDP_NFT_FAMILY, AXDP_NFT_TABLE);                                        \
		cr_expect_str_eq(now, before, "%s: the user's ruleset changed", step);                         \
	} while (0)

	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "starting: %s", fx.d.err);
	SAME_AS_BEFORE("start");
	listener = serve(SERVER, AF_INET, SOCK_STREAM, "0.0.0.0", 8080);
	cr_expect_geq(reachable_after(AF_INET, side_addr(SERVER, AF_INET), 8080, now_ms(), NFT_OPEN_HANG_MS, 5), 0,
		      "the listener did not open");
	close(listener);
	cr_assert(axdpd_wait_reconcile(&fx.d, (int)RECONCILE_HANG_MS) == 0, "%s", fx.d.err);
	SAME_AS_BEFORE("reconcile");
	cr_assert(axdpd_dropin(&fx.d, "50-ports.conf", "[Ports]\nAllowTCP=443\n") == 0, "%s", fx.d.err);
	reload("reload");
	SAME_AS_BEFORE("reload");
	cr_assert(axdpd_stop(&fx.d, SIGTERM, STOP_MS) == 0, "%s", fx.d.err);
	SAME_AS_BEFORE("stop");
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "restarting: %s", fx.d.err);
	SAME_AS_BEFORE("restart");
	cr_assert_eq(axdpd_off(&fx.d), 0, "axdp off: %s", fx.d.err);
	axdpd_stop(&fx.d, 0, STOP_MS);
	ruleset(now, sizeof(now));
	cr_expect_str_eq(now, before, "after axdp off the ruleset is not the user's as it was");
#undef SAME_AS_BEFORE
}

/* No BPF object at all: nftables protects, ports follow sock_diag at each poll. */
Test(nft, without_the_bpf_object_nftables_polls)
{
	const uint16_t port = 8081;
	char note[512] = "", rules[65536];
	size_t from = 0;
	long took;
	int listener, rc;

	setenv(AXDPD_OBJECT_ENV, "/nonexistent/autoxdp.bpf.o", 1);
	setup(NFT, NULL, false);
	cr_assert(axdpd_dropin(&fx.d, "10-auto.conf", "[Daemon]\nBackend=auto\n") == 0, "%s", fx.d.err);
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "starting without an object: %s", fx.d.err);
	cr_expect(log_has("protecting with nftables alone"), "the log does not say nftables protects alone");
	cr_expect(axdpd_next_note(&fx.d, "STATUS=", &from, note, sizeof(note)) && strstr(note, "polling"),
		  "STATUS does not say it polls: %s", note);
	cr_expect(on_nftables(), "%s not on nftables", fx.ns.ifname[SERVER]);
	rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "closed port %u: %s", CLOSED_PORT, rc ? strerror(rc) : "connected");

	listener = serve(SERVER, AF_INET, SOCK_STREAM, "0.0.0.0", port);
	took = reachable_after(AF_INET, side_addr(SERVER, AF_INET), port, now_ms(), RECONCILE_HANG_MS,
			       100);
	cr_expect_geq(took, 0, "a listener did not open within %ld ms (ReconcileIntervalSec=%d)", RECONCILE_HANG_MS,
		      RECONCILE_S);
	cr_log_info("no object: port open %ld ms after listen()", took);
	close(listener);
	cr_expect_geq(dropped_after(AF_INET, side_addr(SERVER, AF_INET), port, now_ms(), RECONCILE_HANG_MS),
		      0, "the port did not close");

	/* axdp off removes the table and the daemon, seeing its pin directory gone, exits. */
	cr_assert_eq(axdpd_off(&fx.d), 0, "axdp off: %s", fx.d.err);
	for (long start = now_ms(); !axdpd_exited(&fx.d) && now_ms() - start < RECONCILE_HANG_MS;)
		sleep_ms(50);
	cr_expect_eq(fx.d.pid, 0, "the daemon kept running after axdp off");
	ruleset(rules, sizeof(rules));
	cr_expect(!nft_has_table(rules, AXDP_NFT_FAMILY, AXDP_NFT_TABLE), "the table outlived axdp off:\n%s", rules);
}

/*
 * A copy of the object whose XDP program starts with an opcode no kernel
 * knows: the verifier refuses it the way Debian 11's 5.10 refuses the real
 * object (tests/verifier-matrix.sh: BPF atomics, "BPF_STX uses reserved
 * fields"), so the load fails in the kernel, not for a missing file.
 */
static void refused_object(const char *path)
{
	char cmd[1024];
	size_t shstrndx;
	off_t xdp = -1;
	Elf_Scn *scn = NULL;
	Elf *e;
	int fd;

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", axdpd_object(), path);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	fd = open(path, O_RDWR | O_CLOEXEC);
	cr_assert(fd >= 0 && elf_version(EV_CURRENT) != EV_NONE, "opening %s", path);
	e = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert(e && elf_getshdrstrndx(e, &shstrndx) == 0, "%s: %s", path, elf_errmsg(-1));
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && !strcmp(elf_strptr(e, shstrndx, sh.sh_name), "xdp"))
			xdp = (off_t)sh.sh_offset;
	}
	elf_end(e);
	cr_assert_geq(xdp, 0, "%s has no xdp section", path);
	cr_assert_eq(pwrite(fd, "\xff", 1, xdp), 1, "patching %s", path);
	close(fd);
}

/* A kernel that refuses the object: auto protects with nftables alone and says so in one line. */
Test(nft, object_the_kernel_refuses_nftables_alone)
{
	char path[AXDPD_PATH + 32];
	int rc;

	setup(NFT, NULL, false);
	snprintf(path, sizeof(path), "%s/refused.bpf.o", fx.d.dir);
	refused_object(path);
	setenv(AXDPD_OBJECT_ENV, path, 1);
	cr_assert(axdpd_dropin(&fx.d, "10-auto.conf", "[Daemon]\nBackend=auto\n") == 0, "%s", fx.d.err);
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "starting with an object the kernel refuses: %s", fx.d.err);
	/* One line (one axdp_log call): why the object did not load, then what protects instead. */
	cr_expect(log_has("the verifier refused it"), "the log does not say the load failed in the kernel");
	cr_expect(log_has("protecting with nftables alone"), "the log does not say nftables protects alone");
	cr_expect(on_nftables(), "%s not on nftables", fx.ns.ifname[SERVER]);
	rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "closed port %u: %s", CLOSED_PORT, rc ? strerror(rc) : "connected");
}

/*
 * The ways the daemon reaches nftables (nft_session.h): the library in
 * process; the nft program when the library cannot be loaded (a missing
 * name here, as on a host without it); the library alone when there is no
 * program.  Each opens and closes a port after the daemon gave up all but
 * CAP_BPF and CAP_NET_ADMIN, and says in its log which way it took.
 */
/* Arrays, not pointers: criterion hands parameters to a test over shared memory. */
struct session_case {
	char lib[64];   /* AXDP_LIBNFTABLES, empty: the default */
	char nft[64];   /* AXDP_NFT, empty: the default */
	char says[128]; /* in the log line */
};

static struct session_case session_cases[] = {
	{ "", "", "through " AXDP_NFT_LIB ", in process" },
	{ "/nonexistent/libnftables.so.1", "", "-f, one process per change (" AXDP_NFT_LIB " unusable: /nonexistent" },
	{ "", "/nonexistent/nft", "through " AXDP_NFT_LIB ", in process" },
};

ParameterizedTestParameters(nft, session_library_or_program_after_privilege_drop)
{
	return cr_make_param_array(struct session_case, session_cases, sizeof(session_cases) / sizeof(session_cases[0]));
}

/* CapEff of pid, from /proc. */
static unsigned long long cap_eff(pid_t pid)
{
	char path[64], line[256];
	unsigned long long caps = ~0ULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	cr_assert(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0)
			caps = strtoull(line + 7, NULL, 16);
	fclose(f);
	return caps;
}

ParameterizedTest(struct session_case *c, nft, session_library_or_program_after_privilege_drop)
{
	const uint16_t port = 8090;
	const char *srv;
	long took;
	int listener, rc;

	if (c->lib[0])
		setenv(AXDP_NFT_LIB_ENV, c->lib, 1);
	if (c->nft[0])
		setenv(AXDP_NFT_PATH_ENV, c->nft, 1);
	setup(NFT, NULL, true);
	srv = side_addr(SERVER, AF_INET);
	cr_expect(log_has(c->says), "the log does not say \"%s\" (%s=%s, %s=%s)", c->says, AXDP_NFT_LIB_ENV,
		  c->lib, AXDP_NFT_PATH_ENV, c->nft);
	/* READY=1 comes after the drop: everything below runs with CAP_BPF and CAP_NET_ADMIN alone. */
	cr_assert_eq(cap_eff(fx.d.pid), (1ULL << 39 /* CAP_BPF */) | (1ULL << 12 /* CAP_NET_ADMIN */),
		     "the daemon kept other capabilities: CapEff %llx", cap_eff(fx.d.pid));
	listener = serve(SERVER, AF_INET, SOCK_STREAM, "0.0.0.0", port);
	took = reachable_after(AF_INET, srv, port, now_ms(), NFT_OPEN_HANG_MS, 2);
	cr_assert_geq(took, 0, "port %u not reachable %d ms after listen()", port, NFT_OPEN_HANG_MS);
	accept_one(listener);
	close(listener);
	cr_assert_geq(dropped_after(AF_INET, srv, port, now_ms(), RECONCILE_HANG_MS), 0,
		      "port %u still answered after its listener closed", port);
	rc = try_connect(AF_INET, srv, CLOSED_PORT, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "closed port %u: %s", CLOSED_PORT, rc ? strerror(rc) : "connected");
}

/*
 * The session belongs to the namespace it was opened in: this process
 * asks in the server's (our table), the client's (none), then the
 * server's again.  One context reused across them would list the first
 * namespace's table everywhere, and change it.
 */
Test(nft, session_follows_the_callers_namespace)
{
	struct ifaces_arg a = { .n = 0 };
	char err[256];

	setup(NFT, NULL, true);
	cr_expect(on_nftables(), "%s not in the server's table", fx.ns.ifname[SERVER]);
	cr_assert(netns_call(fx.ns.name[CLIENT], list_ifaces, &a, err, sizeof(err)) == 0, "listing in %s: %s %s",
		  fx.ns.name[CLIENT], err, a.err);
	cr_expect_eq(a.n, 0, "the client's namespace has no table, yet %d interfaces were listed (%s)", a.n,
		     a.n ? a.names[0] : "");
	cr_expect(on_nftables(), "%s not in the server's table on the way back", fx.ns.ifname[SERVER]);
}

/*
 * The daemon's session outlives changes others make: a table deleted
 * behind its back (nft flush ruleset, say) is put back whole at the next
 * change, not met with a stale picture of it.
 */
Test(nft, table_deleted_outside_comes_back_at_the_next_change)
{
	static const char *const del[] = { "delete", "table", AXDP_NFT_FAMILY, AXDP_NFT_TABLE, NULL };
	const uint16_t port = 8091;
	char err[1024];
	int listener, rc;

	setup(NFT, NULL, true);
	cr_assert_eq(nftns(fx.ns.name[SERVER], del, NULL, NULL, 0, err, sizeof(err)), 0, "nft delete table: %s", err);
	listener = serve(SERVER, AF_INET, SOCK_STREAM, "0.0.0.0", port);
	/* Without a table everything is reachable: wait for the daemon's word, then judge. */
	for (long start = now_ms(); !log_has("had been changed or removed outside autoxdp; recreated it");) {
		cr_assert_lt(now_ms() - start, NFT_OPEN_HANG_MS, "the log does not say the table was recreated");
		sleep_ms(10);
	}
	cr_expect(on_nftables(), "%s not in the recreated table", fx.ns.ifname[SERVER]);
	cr_expect_geq(reachable_after(AF_INET, side_addr(SERVER, AF_INET), port, now_ms(), IO_MS, 2), 0,
		      "port %u not reachable in the recreated table", port);
	rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "closed port %u after the table came back: %s", CLOSED_PORT,
		     rc ? strerror(rc) : "connected");
	close(listener);
}

/* Neither libnftables nor an nft program: a clear error that names the package. */
Test(nft, missing_nft_names_the_package)
{
	char *log;

	setenv(AXDP_NFT_LIB_ENV, "/nonexistent/libnftables.so.1", 1);
	setenv(AXDP_NFT_PATH_ENV, "/nonexistent/nft", 1);
	setup(NFT, NULL, false);
	cr_assert_neq(axdpd_start(&fx.d, READY_MS), 0, "Backend=nftables started without nft");
	log = daemon_log();
	cr_expect(strstr(log, "install the nftables package"), "the error does not name the package:\n%s", log);
	free(log);
}

/* ---- the XDP path's policy, row by row (autoxdpd(8), "The two backends") ---- */

/* `axdp ARGS...` in the server namespace with the fixture's configuration and pins; its stdout in out. */
static void axdp_out(char *out, size_t len, const char *const args[])
{
	char program[AXDPD_PATH], err[4096];
	const char *argv[16] = { axdpd_program("axdp", program, sizeof(program)), "--config", fx.d.config, "--pin-dir",
				 fx.d.pin_dir };
	int n = 5, rc;

	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	rc = axdpd_exec(&fx.d, fx.ns.name[SERVER], argv, out, len, err, sizeof(err), IO_MS * 4);
	cr_assert_eq(rc, 0, "axdp %s: exit %d: %s %s", args[0], rc, err, fx.d.err);
}

/* In `axdp stats --json`, the total of reason's field ("packets" or "would_drop"). */
static unsigned long long total_of(const char *reason, const char *field)
{
	static const char *const args[] = { "stats", "--json", NULL };
	static char out[65536];
	char quoted[64];
	const char *p;

	axdp_out(out, sizeof(out), args);
	snprintf(quoted, sizeof(quoted), "\"%s\"", reason);
	p = strstr(out, "\"total\"");
	cr_assert(p, "axdp stats --json without a total:\n%s", out);
	p = strstr(p, quoted);
	cr_assert(p, "axdp stats --json: no reason %s in the total:\n%s", reason, out);
	snprintf(quoted, sizeof(quoted), "\"%s\"", field);
	p = strstr(p, quoted);
	cr_assert(p && (p = strchr(p, ':')), "axdp stats --json: no %s for %s:\n%s", field, reason, out);
	return strtoull(p + 1, NULL, 10);
}

/* A listener on port of the server's wildcard address, nonblocking, once the client reaches it. */
static int open_listener(uint16_t port)
{
	int fd = serve(SERVER, AF_INET, SOCK_STREAM, any_of(AF_INET), port);

	cr_assert_geq(reachable_after(AF_INET, side_addr(SERVER, AF_INET), port, now_ms(), NFT_OPEN_HANG_MS, 200), 0,
		      "port %u never opened", port);
	accept_one(fd);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static uint64_t server_tcp_out(void)
{
	uint64_t segs;
	char err[256];

	cr_assert(flood_tcp_segments_out(fx.ns.name[SERVER], &segs, err, sizeof(err)) == 0, "%s", err);
	return segs;
}

#define SYN_RATE 20
#define SYN_BURST 5
enum { BRUTE_SYNS = 1000, BRUTE_PPS = 2000 };

ParameterizedTestParameters(nft, syn_brute_force_is_held_to_the_rate_the_servers_stack_counts)
{
	return cr_make_param_array(enum backend, backends, 2);
}

/*
 * SYNPerSecond=/SYNBurst= per source and port: a brute force from one
 * address gets the burst and the rate through, as the server's own stack
 * counts them (a SYN-ACK each, perhaps retransmitted once while the test
 * reads: hence twice the bound).  Unlimited, all 1,000 would be answered.
 */
ParameterizedTest(enum backend *b, nft, syn_brute_force_is_held_to_the_rate_the_servers_stack_counts)
{
	struct flood_spec brute = { .kind = FLOOD_SYN, .src_count = 1, .dport_lo = 8080, .dport_hi = 8080,
				    .count = BRUTE_SYNS, .pps = BRUTE_PPS, .max_seconds = 30 };
	char src[INET_ADDRSTRLEN], err[512];
	struct flood fl = { .fd = -1 };
	struct flood_result res;
	uint64_t segs0, segs1, bound;
	int lfd;

	setup(*b, "[RateLimit]\nSYNPerSecond=" STRINGIFY(SYN_RATE) "\nSYNBurst=" STRINGIFY(SYN_BURST) "\n", true);
	lfd = open_listener(8080);
	snprintf(src, sizeof(src), "10.200.%u.50", fx.ns.subnet);
	brute.src = flood_ip4(src);
	brute.dst = flood_ip4(fx.ns.ip4[SERVER]);
	cr_assert(flood_open(&fl, &fx.ns, err, sizeof(err)) == 0, "%s", err);
	segs0 = server_tcp_out();
	cr_assert(flood_send(&fl, &brute, &res, err, sizeof(err)) == 0, "%s", err);
	sleep_ms(200);
	segs1 = server_tcp_out();
	flood_close(&fl);
	bound = SYN_BURST + (uint64_t)(SYN_RATE * res.seconds) + 1;
	cr_log_info("%s: %llu SYNs from one source in %.2f s, the server sent %llu segments (rate bound %llu)",
		    backend_name[*b], (unsigned long long)res.sent, res.seconds, (unsigned long long)(segs1 - segs0),
		    (unsigned long long)bound);
	cr_expect_leq(segs1 - segs0, 2 * bound, "%s: the server answered %llu SYNs of %llu; the rate allows %llu",
		      backend_name[*b], (unsigned long long)(segs1 - segs0), (unsigned long long)res.sent,
		      (unsigned long long)bound);
	cr_expect_geq(segs1 - segs0, SYN_BURST, "%s: the server answered %llu SYNs, fewer than the burst of %d",
		      backend_name[*b], (unsigned long long)(segs1 - segs0), SYN_BURST);
	cr_expect_geq(total_of("syn_rate_limited", "packets"), res.sent - 2 * bound, "%s: syn_rate_limited undercounts",
		      backend_name[*b]);
	close(lfd);
}

/* An ICMP echo request from the client's raw socket; the replies within ms counted. */
static int echo_burst(int n, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(AF_INET, side_addr(SERVER, AF_INET), 0, &ss);
	char err[256], buf[1500];
	int fd = netns_socket(fx.ns.name[CLIENT], AF_INET, SOCK_RAW, IPPROTO_ICMP, err, sizeof(err)), replies = 0;
	long end;

	cr_assert_geq(fd, 0, "raw ICMP socket: %s", err);
	for (int i = 0; i < n; i++) {
		uint8_t echo[16] = { 8, 0, 0, 0, 0x12, 0x34, (uint8_t)(i >> 8), (uint8_t)i };
		uint32_t sum = 0;

		for (size_t j = 0; j < sizeof(echo); j += 2)
			sum += (uint32_t)echo[j] << 8 | echo[j + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		echo[2] = (uint8_t)(~sum >> 8);
		echo[3] = (uint8_t)~sum;
		cr_assert(sendto(fd, echo, sizeof(echo), 0, (struct sockaddr *)&ss, len) == sizeof(echo), "sendto: %s",
			  strerror(errno));
	}
	for (end = now_ms() + ms; now_ms() < end;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, (int)(end - now_ms())) <= 0)
			break;
		/* The raw socket sees the IP header too, and every ICMP message: only echo replies count. */
		if (recv(fd, buf, sizeof(buf), 0) > 20 && buf[(buf[0] & 0xf) * 4] == 0)
			replies++;
	}
	close(fd);
	return replies;
}

#define ECHO_RATE 4
#define ECHO_BURST 4
#define ECHOES 60

ParameterizedTestParameters(nft, echo_requests_are_held_to_the_rate)
{
	return cr_make_param_array(enum backend, backends, 2);
}

/*
 * ICMPEchoPerSecond=/ICMPEchoBurst=: of 60 requests at once about the
 * burst is answered (XDP divides it among the CPUs, nftables keeps one
 * bucket: at most the burst, and the rate for the time it takes).
 */
ParameterizedTest(enum backend *b, nft, echo_requests_are_held_to_the_rate)
{
	int replies;

	setup(*b, "[RateLimit]\nICMPEchoPerSecond=" STRINGIFY(ECHO_RATE) "\nICMPEchoBurst=" STRINGIFY(ECHO_BURST) "\n", true);
	replies = echo_burst(ECHOES, 500);
	cr_log_info("%s: %d echo replies to %d requests", backend_name[*b], replies, ECHOES);
	cr_expect_geq(replies, 1, "%s: no echo request answered", backend_name[*b]);
	cr_expect_leq(replies, ECHO_BURST + ECHO_RATE, "%s: %d of %d echo requests answered, the burst is %d",
		      backend_name[*b], replies, ECHOES, ECHO_BURST);
	cr_expect_geq(total_of("icmp_rate_limited", "packets"), (unsigned long long)(ECHOES - replies),
		      "%s: icmp_rate_limited undercounts", backend_name[*b]);
}

#define UDP_RATE 5
#define UDP_BURST 5
#define DATAGRAMS 200

ParameterizedTestParameters(nft, udp_from_one_source_is_held_to_the_rate_the_server_receives)
{
	return cr_make_param_array(enum backend, backends, 2);
}

/* UDPPerSecond=/UDPBurst=: of 200 datagrams at once from one source, the server's socket receives about the burst. */
ParameterizedTest(enum backend *b, nft, udp_from_one_source_is_held_to_the_rate_the_server_receives)
{
	const uint16_t port = 5300;
	struct sockaddr_storage from;
	int srv, cli, received = 0;
	char buf[64];
	ssize_t n;

	setup(*b, "[RateLimit]\nUDPPerSecond=" STRINGIFY(UDP_RATE) "\nUDPBurst=" STRINGIFY(UDP_BURST) "\n", true);
	srv = serve(SERVER, AF_INET, SOCK_DGRAM, any_of(AF_INET), port);
	cli = sock(CLIENT, AF_INET, SOCK_DGRAM);
	/* Open once a datagram arrives (nftables: a transaction after bind()); then the bucket refills. */
	for (long start = now_ms();;) {
		send_to(cli, AF_INET, side_addr(SERVER, AF_INET), port, "probe");
		if (tsock_datagram_within(srv, buf, sizeof(buf), &n, &from, 100))
			break;
		cr_assert_lt(now_ms() - start, NFT_OPEN_HANG_MS, "udp/%u never opened", port);
	}
	sleep_ms(1000 * UDP_BURST / UDP_RATE + 200);
	while (tsock_datagram_within(srv, buf, sizeof(buf), &n, &from, 0))
		;
	for (int i = 0; i < DATAGRAMS; i++)
		send_to(cli, AF_INET, side_addr(SERVER, AF_INET), port, "x");
	while (tsock_datagram_within(srv, buf, sizeof(buf), &n, &from, 300))
		received++;
	cr_log_info("%s: the server received %d of %d datagrams", backend_name[*b], received, DATAGRAMS);
	cr_expect_geq(received, 1, "%s: nothing received", backend_name[*b]);
	cr_expect_leq(received, 2 * UDP_BURST + UDP_RATE, "%s: the server received %d of %d datagrams; the burst is %d",
		      backend_name[*b], received, DATAGRAMS, UDP_BURST);
	cr_expect_geq(total_of("udp_rate_limited", "packets"), (unsigned long long)(DATAGRAMS - received),
		      "%s: udp_rate_limited undercounts", backend_name[*b]);
	close(cli);
	close(srv);
}

ParameterizedTestParameters(nft, ipv6_martian_sources_drop_before_an_open_port)
{
	return cr_make_param_array(enum backend, backends, 2);
}

/*
 * IPv6 sources no link legitimately sees, each in a datagram to an open
 * port: multicast, loopback, v4-mapped and :: (which only ICMPv6 may
 * use).  Each is counted as a martian, on both backends, whose checks
 * differ (arithmetic on XDP; a first-byte compare and a lookup behind 64
 * zero bits on nftables); a datagram from the client's address gets its
 * answer.
 */
ParameterizedTest(enum backend *b, nft, ipv6_martian_sources_drop_before_an_open_port)
{
	static const char *const martians[] = { "ff02::1", "::1", "::ffff:192.0.2.1", "::" };
	struct flood fl = { .fd = -1 };
	unsigned long long before;
	bool arrived = false;
	char err[512];
	struct pkt p;
	int srv, cli;

	setup(*b, NULL, true);
	srv = serve(SERVER, AF_INET6, SOCK_DGRAM, "::", 8053);
	cli = sock(CLIENT, AF_INET6, SOCK_DGRAM);
	/* The port opens when the daemon sees the bind: a few ms on nftables. */
	for (int tries = 0; tries < 50 && !arrived; tries++) {
		struct pollfd pfd = { .fd = srv, .events = POLLIN };

		send_to(cli, AF_INET6, side_addr(SERVER, AF_INET6), 8053, "x");
		arrived = poll(&pfd, 1, 100) == 1;
	}
	cr_assert(arrived, "%s: a datagram from the client never reached the open port", backend_name[*b]);
	close(cli);
	before = total_of("martian_source", "packets");
	cr_assert(flood_open(&fl, &fx.ns, err, sizeof(err)) == 0, "%s", err);
	for (size_t i = 0; i < ARRAY_SIZE(martians); i++) {
		pkt_init(&p);
		pkt_eth(&p);
		pkt_ipv6(&p, &(struct pkt_ipv6_opts){ .src = martians[i], .dst = side_addr(SERVER, AF_INET6) });
		pkt_udp(&p, 4000, 8053);
		pkt_payload(&p, NULL, 8);
		cr_assert(flood_send_frame(&fl, p.data, p.len, err, sizeof(err)) == 0, "%s: %s", martians[i], err);
	}
	flood_close(&fl);
	sleep_ms(100);
	cr_expect_eq(total_of("martian_source", "packets") - before, ARRAY_SIZE(martians),
		     "%s: %llu of %zu martian sources counted", backend_name[*b], total_of("martian_source", "packets") - before,
		     ARRAY_SIZE(martians));
	close(srv);
}

ParameterizedTestParameters(nft, drops_are_counted_by_reason_in_stats_and_prometheus)
{
	return cr_make_param_array(enum backend, backends, 2);
}

/*
 * The verdict reasons as `axdp stats` shows them: a SYN and a datagram
 * to closed ports, and martian sources (127.0.0.0/8: the kernel would
 * drop them too, so only the counter can tell the firewall did).
 * Prometheus names the nftables backend's interfaces "nftables".
 */
ParameterizedTest(enum backend *b, nft, drops_are_counted_by_reason_in_stats_and_prometheus)
{
	static const char *const prom[] = { "stats", "--format", "prometheus", NULL };
	struct flood_spec martians = { .kind = FLOOD_SYN, .src = flood_ip4("127.0.0.0"), .src_count = 256,
				       .dport_lo = 8080, .dport_hi = 8080, .count = 100 };
	struct flood fl = { .fd = -1 };
	struct flood_result res;
	char out[262144], line[256], err[512];
	int udp, rc;

	setup(*b, NULL, true);
	rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "%s: SYN to a closed port: %s", backend_name[*b], rc ? strerror(rc) : "connected");
	udp = sock(CLIENT, AF_INET, SOCK_DGRAM);
	send_to(udp, AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, "x");
	close(udp);
	martians.dst = flood_ip4(fx.ns.ip4[SERVER]);
	cr_assert(flood_open(&fl, &fx.ns, err, sizeof(err)) == 0, "%s", err);
	cr_assert(flood_send(&fl, &martians, &res, err, sizeof(err)) == 0, "%s", err);
	flood_close(&fl);
	sleep_ms(100);
	cr_expect_geq(total_of("tcp_port_closed", "packets"), 1, "%s: tcp_port_closed not counted", backend_name[*b]);
	cr_expect_geq(total_of("udp_port_closed", "packets"), 1, "%s: udp_port_closed not counted", backend_name[*b]);
	cr_expect_geq(total_of("martian_source", "packets"), res.sent, "%s: martian_source counted fewer than %llu",
		      backend_name[*b], (unsigned long long)res.sent);
	axdp_out(out, sizeof(out), prom);
	snprintf(line, sizeof(line), "autoxdp_packets_total{action=\"drop\",reason=\"tcp_port_closed\",interface=\"%s\"} ",
		 *b == NFT ? "nftables" : fx.ns.ifname[SERVER]);
	cr_expect(strstr(out, line) && strtoull(strstr(out, line) + strlen(line), NULL, 10) >= 1,
		  "%s: no %s>= 1 in:\n%s", backend_name[*b], line, out);
}

/* The packets of the server's namespace that reached prerouting before conntrack (priority -300). */
static uint64_t reached_prerouting(void)
{
	static const char *const list[] = { "list", "counter", "inet", "axdp_test_probe", "reached", NULL };
	char out[1024], err[512];
	const char *p;

	cr_assert_eq(nftns(fx.ns.name[SERVER], list, NULL, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	p = strstr(out, "packets ");
	cr_assert(p, "%s", out);
	return strtoull(p + 8, NULL, 10);
}

/*
 * The ingress stage drops before conntrack: a spoofed SYN flood to
 * closed ports never reaches prerouting, where conntrack would look each
 * packet up, as a counter of the test's own (a table in the test's
 * namespace, before conntrack) shows; an ACK flood, which needs the host's
 * flows to judge, does reach it: the counter counts.
 */
Test(nft, syn_flood_to_closed_ports_never_reaches_conntrack)
{
	static const char *const load[] = { "-f", "-", NULL };
	static const char probe[] = "table inet axdp_test_probe {\n\tcounter reached {}\n"
				    "\tchain pre {\n\t\ttype filter hook prerouting priority -300; policy accept;\n"
				    "\t\tmeta l4proto tcp counter name \"reached\"\n\t}\n}\n";
	struct flood_spec syn = { .kind = FLOOD_SYN, .src = flood_ip4("198.18.0.0"), .src_count = 4096,
				  .dport_lo = 20000, .dport_hi = 29999, .count = 20000 };
	struct flood_spec ack = syn;
	struct flood fl = { .fd = -1 };
	struct flood_result rs, ra;
	uint64_t before, after_syn, after_ack, closed;
	char err[512];

	setup(NFT, NULL, true);
	cr_assert_eq(nftns(fx.ns.name[SERVER], load, probe, NULL, 0, err, sizeof(err)), 0, "%s", err);
	syn.dst = ack.dst = flood_ip4(fx.ns.ip4[SERVER]);
	ack.kind = FLOOD_ACK;
	cr_assert(flood_open(&fl, &fx.ns, err, sizeof(err)) == 0, "%s", err);
	closed = total_of("tcp_port_closed", "packets");
	before = reached_prerouting();
	cr_assert(flood_send(&fl, &syn, &rs, err, sizeof(err)) == 0, "%s", err);
	after_syn = reached_prerouting();
	cr_assert(flood_send(&fl, &ack, &ra, err, sizeof(err)) == 0, "%s", err);
	after_ack = reached_prerouting();
	flood_close(&fl);
	cr_expect_leq(after_syn - before, 10, "%llu of %llu spoofed SYNs to closed ports reached prerouting",
		      (unsigned long long)(after_syn - before), (unsigned long long)rs.sent);
	cr_expect_geq(after_ack - after_syn, ra.sent - ra.refused, "the probe missed ACKs: %llu of %llu",
		      (unsigned long long)(after_ack - after_syn), (unsigned long long)ra.sent);
	cr_expect_geq(total_of("tcp_port_closed", "packets") - closed, rs.sent - rs.refused,
		      "tcp_port_closed did not count the SYN flood");
}

/*
 * A datagram flood to closed ports is dropped at ingress too: a port the
 * host's own flows have not sent from lately (the output chain's
 * udp_flow_ports) expects no reply, so it needs no conntrack lookup; the
 * probe of the test's own, before conntrack, stays still.  (Replies to the
 * host's flows pass: udp_reply_passes_unsolicited_does_not.)
 */
Test(nft, udp_flood_to_closed_ports_never_reaches_conntrack)
{
	static const char *const load[] = { "-f", "-", NULL };
	static const char probe[] = "table inet axdp_test_probe {\n\tcounter reached {}\n"
				    "\tchain pre {\n\t\ttype filter hook prerouting priority -300; policy accept;\n"
				    "\t\tmeta l4proto udp counter name \"reached\"\n\t}\n}\n";
	struct flood_spec udp = { .kind = FLOOD_UDP, .src = flood_ip4("198.18.0.0"), .src_count = 4096,
				  .dport_lo = 20000, .dport_hi = 29999, .count = 20000 };
	struct flood fl = { .fd = -1 };
	struct flood_result r;
	uint64_t before, after, closed;
	char err[512];

	setup(NFT, NULL, true);
	cr_assert_eq(nftns(fx.ns.name[SERVER], load, probe, NULL, 0, err, sizeof(err)), 0, "%s", err);
	udp.dst = flood_ip4(fx.ns.ip4[SERVER]);
	cr_assert(flood_open(&fl, &fx.ns, err, sizeof(err)) == 0, "%s", err);
	closed = total_of("udp_port_closed", "packets");
	before = reached_prerouting();
	cr_assert(flood_send(&fl, &udp, &r, err, sizeof(err)) == 0, "%s", err);
	after = reached_prerouting();
	flood_close(&fl);
	cr_expect_geq(r.sent - r.refused, 1000, "the flood sent %llu", (unsigned long long)(r.sent - r.refused));
	cr_expect_leq(after - before, 10, "%llu of %llu datagrams to closed ports reached prerouting",
		      (unsigned long long)(after - before), (unsigned long long)r.sent);
	cr_expect_geq(total_of("udp_port_closed", "packets") - closed, r.sent - r.refused,
		      "udp_port_closed did not count the flood");
}

ParameterizedTestParameters(nft, audit_mode_passes_and_counts_what_it_would_drop)
{
	return cr_make_param_array(enum backend, backends, 2);
}

/*
 * Mode=audit, switched at a reload: before it a closed port drops, after
 * it answers (RST), and the drop is counted as a would-drop.  nftables
 * installs its table anew for the other mode; the counts so far carry over.
 */
ParameterizedTest(enum backend *b, nft, audit_mode_passes_and_counts_what_it_would_drop)
{
	unsigned long long closed;
	int rc;

	setup(*b, NULL, true);
	rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "%s, Mode=enforce: a SYN to a closed port: %s", backend_name[*b],
		     rc ? strerror(rc) : "connected");
	closed = total_of("tcp_port_closed", "packets");
	cr_expect_geq(closed, 1, "%s: the drop was not counted", backend_name[*b]);
	cr_assert(axdpd_dropin(&fx.d, "50-mode.conf", "[Daemon]\nMode=audit\n") == 0, "%s", fx.d.err);
	reload("Mode=audit");
	cr_expect_geq(total_of("tcp_port_closed", "packets"), closed, "%s: the reload lost the counts", backend_name[*b]);
	rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, IO_MS);
	cr_expect_eq(rc, ECONNREFUSED, "%s, Mode=audit: a SYN to a closed port was not answered with RST: %s",
		     backend_name[*b], rc ? strerror(rc) : "connected");
	cr_expect_geq(total_of("tcp_port_closed", "would_drop"), 1, "%s: the would-drop was not counted",
		      backend_name[*b]);
	cr_expect_gt(total_of("tcp_port_closed", "packets"), closed, "%s: the would-drop is not in the reason's count",
		     backend_name[*b]);
}

/* ---- rendering ---- */

static const char *rendered(bool full, const struct axdp_nft *nft, const struct axdp_port_state *st,
			    const struct axdp_config *cfg)
{
	static char *text;
	size_t len = 0;
	FILE *f;

	free(text);
	text = NULL;
	f = open_memstream(&text, &len);
	cr_assert(f && axdp_nft_render(f, full, nft, st, NULL, NULL, NULL, cfg) == 0 && fclose(f) == 0, "rendering");
	return text;
}

/*
 * Without a data path (no object: nftables alone) the chains hold
 * AllowDHCPClient=, so a reload rewrites them; with one, the daemon
 * refuses the change until a restart, as for every data-path setting.
 */
Test(nft, dhcp_client_rules_follow_reloads)
{
	static const char rule4[] = "udp sport 67 udp dport 68 counter name \"dhcp_reply\" accept",
			  rule6[] = "udp sport 547 udp dport 546 counter name \"dhcp_reply\" accept";
	char out[65536], err[1024];

	setenv(AXDPD_OBJECT_ENV, "/nonexistent/autoxdp.bpf.o", 1);
	setup(NFT, NULL, false);
	cr_assert(axdpd_dropin(&fx.d, "10-auto.conf", "[Daemon]\nBackend=auto\n") == 0, "%s", fx.d.err);
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "starting without an object: %s", fx.d.err);
	cr_assert_eq(nftns_ruleset(fx.ns.name[SERVER], out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_expect(strstr(out, rule4) && strstr(out, rule6), "AllowDHCPClient=yes (the default) without its rules:\n%s",
		  out);
	cr_assert(axdpd_dropin(&fx.d, "50-dhcp.conf", "[Policy]\nAllowDHCPClient=no\n") == 0, "%s", fx.d.err);
	reload("AllowDHCPClient=no");
	cr_assert_eq(nftns_ruleset(fx.ns.name[SERVER], out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_expect(!strstr(out, rule4) && !strstr(out, rule6), "AllowDHCPClient=no, yet the rules stay:\n%s", out);
	cr_assert(axdpd_dropin(&fx.d, "50-dhcp.conf", "[Policy]\nAllowDHCPClient=yes\n") == 0, "%s", fx.d.err);
	reload("AllowDHCPClient=yes");
	cr_assert_eq(nftns_ruleset(fx.ns.name[SERVER], out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_expect(strstr(out, rule4) && strstr(out, rule6), "AllowDHCPClient=yes again, yet no rules:\n%s", out);
}

Test(nft, rendered_ruleset_loads_and_merges_ranges)
{
	static const char *const list_tcp[] = { "list", "set", "inet", "autoxdp", "tcp_open6", NULL };
	static const char *const list_addr[] = { "list", "set", "inet", "autoxdp", "tcp_open_addr6", NULL };
	static const char *const load[] = { "-f", "-", NULL };
	struct axdp_port_state st = { .flags = calloc(AXDP_L4_COUNT * AXDP_PORTS, sizeof(uint32_t)) };
	struct axdp_addr_port ap[2] = {};
	struct axdp_nft nft = { .n = 0 };
	struct axdp_config cfg;
	char out[8192], err[1024];
	const char *text;

	setup(NFT, NULL, false);
	axdp_config_defaults(&cfg);
	cr_assert(st.flags);
	for (uint32_t p = 8000; p <= 8010; p++)
		st.flags[AXDP_L4_TCP * AXDP_PORTS + p] = AXDP_PORT_OPEN_ANY;
	st.flags[AXDP_L4_TCP * AXDP_PORTS + 22] = AXDP_PORT_OPEN_ANY;
	st.flags[AXDP_L4_TCP * AXDP_PORTS + 80] = AXDP_PORT_OPEN_ANY;
	st.flags[AXDP_L4_TCP * AXDP_PORTS + 81] = AXDP_PORT_OPEN_ANY | AXDP_PORT_OPEN_ADDR;
	st.flags[AXDP_L4_TCP * AXDP_PORTS + 9443] = AXDP_PORT_OPEN_ADDR;
	st.flags[AXDP_L4_UDP * AXDP_PORTS + 65535] = AXDP_PORT_OPEN_ANY;
	st.flags[AXDP_L4_TCP * AXDP_PORTS + 7] = AXDP_PORT_EXCLUDED;
	st.flags[AXDP_L4_TCP * AXDP_PORTS + 8443] = AXDP_PORT_OPEN_ANY4;
	st.flags[AXDP_L4_UDP * AXDP_PORTS + 5353] = AXDP_PORT_OPEN_ANY6;
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &ap[0].local);
	ap[0].port = 81;
	ap[0].l4 = AXDP_L4_TCP;
	inet_pton(AF_INET6, "2001:db8::1", &ap[1].local);
	ap[1].port = 9443;
	ap[1].l4 = AXDP_L4_TCP;
	st.addrs = ap;
	st.n_addrs = 2;
	cr_assert(axdp_nft_add(&nft, fx.ns.ifname[SERVER], err, sizeof(err)) == 0, "%s", err);
	cr_expect_neq(axdp_nft_add(&nft, "bad\"name", err, sizeof(err)), 0, "a quote in a name was accepted");

	text = rendered(true, &nft, &st, &cfg);
	/* Each family's set holds the both-family wildcards too, merged with its own into ranges. */
	cr_expect(strstr(text, "elements = { 22, 80-81, 8000-8010 }"), "tcp ranges not merged:\n%s", text);
	cr_expect(strstr(text, "elements = { 65535 }"), "udp/65535 missing:\n%s", text);
	cr_expect(strstr(text, "elements = { 10.1.2.3 . 81 }"), "v4 address pair missing:\n%s", text);
	cr_expect(strstr(text, "elements = { 2001:db8::1 . 9443 }"), "v6 address pair missing:\n%s", text);
	cr_expect(!strstr(text, " 7,") && !strstr(text, "{ 7 "), "excluded port 7 rendered open:\n%s", text);
	cr_expect(strstr(text, "set tcp_open4 {\n\t\ttype inet_service\n\t\tflags interval\n\t\telements = { 22, 80-81, "
			       "8000-8010, 8443 }") &&
		  strstr(text, "set tcp_open6 {\n\t\ttype inet_service\n\t\tflags interval\n\t\telements = { 22, 80-81, "
			       "8000-8010 }") &&
		  strstr(text, "set udp_open4 {\n\t\ttype inet_service\n\t\tflags interval\n\t\telements = { 65535 }") &&
		  strstr(text, "set udp_open6 {\n\t\ttype inet_service\n\t\tflags interval\n\t\telements = { 5353, 65535 }") &&
		  strstr(text, "meta nfproto ipv4 tcp dport @tcp_open4 counter name \"tcp_port_open\" accept") &&
		  strstr(text, "meta nfproto ipv6 udp dport @udp_open6 counter name \"udp_port_open\" accept"),
		  "a port open for one family only is not rendered for that family alone:\n%s", text);
	/* The ingress stage's maps: port 0, open ports, ports bound to an address of the family or not, DHCP's. */
	cr_expect(strstr(text, "elements = { 0 : goto ingress_tcp_malformed, 22 : goto ingress_syn_open, 80-81 : goto "
			       "ingress_syn_open, 8000-8010 : goto ingress_syn_open, 8443 : goto ingress_syn_open, 9443 "
			       ": goto ingress_syn_addr4 }") &&
			  strstr(text, "elements = { 0 : goto ingress_tcp_malformed, 22 : goto ingress_syn_open, 80-81 : "
				       "goto ingress_syn_open, 8000-8010 : goto ingress_syn_open, 9443 : goto "
				       "ingress_syn_addr6 }") &&
			  strstr(text, "map udp_ports4 {\n\t\ttype inet_service : verdict\n\t\tflags interval\n\t\t"
				       "elements = { 0 : goto ingress_udp_malformed, 68 : goto ingress_udp_addr4, 65535 : "
				       "goto ingress_udp_open }") &&
			  strstr(text, "elements = { 0 : goto ingress_udp_malformed, 546 : goto ingress_udp_addr6, 5353 : "
				       "goto ingress_udp_open, 65535 : goto ingress_udp_open }"),
		  "the port verdict maps:\n%s", text);
	/* An IPv6 source is masked to its SourcePrefixIPv6= (64) bits alone. */
	cr_expect(strstr(text, "ip6 saddr & ffff:ffff:ffff:ffff:: . tcp dport limit"), "IPv6 SYN meter's mask:\n%s",
		  text);
	cr_expect(strstr(text, "udp sport 67 udp dport 68 counter name \"dhcp_reply\" accept") &&
		  strstr(text, "ip6 saddr fe80::/10 udp sport 547 udp dport 546 counter name \"dhcp_reply\" accept"),
		  "AllowDHCPClient=yes (the default) without its rules:\n%s", text);
	cr_assert_eq(nftns(fx.ns.name[SERVER], load, text, NULL, 0, err, sizeof(err)), 0, "full ruleset: %s\n%s", err,
		     text);
	/* Twice: the install replaces its own table. */
	cr_assert_eq(nftns(fx.ns.name[SERVER], load, text, NULL, 0, err, sizeof(err)), 0, "second install: %s", err);
	cr_expect(strstr(text, "type filter hook ingress device") && !strstr(text, "chain ingress {"),
		  "no ingress chain for the interface, or chain ingress beside it:\n%s", text);
	/* A kernel without the inet ingress hook: the same rules, run from prerouting. */
	nft.no_ingress = true;
	text = rendered(true, &nft, &st, &cfg);
	cr_expect(!strstr(text, "hook ingress") && strstr(text, "chain protect {\n\t\tjump ingress\n"),
		  "without ingress hooks, protect does not run the ingress rules first:\n%s", text);
	cr_assert_eq(nftns(fx.ns.name[SERVER], load, text, NULL, 0, err, sizeof(err)), 0, "without ingress hooks: %s", err);
	nft.no_ingress = false;
	text = rendered(true, &nft, &st, &cfg);
	cr_assert_eq(nftns(fx.ns.name[SERVER], load, text, NULL, 0, err, sizeof(err)), 0, "third install: %s", err);

	st.flags[AXDP_L4_TCP * AXDP_PORTS + 22] = 0;
	st.n_addrs = 1;
	text = rendered(false, &nft, &st, &cfg);
	cr_expect(!strstr(text, "table"), "an update must not touch the table itself:\n%s", text);
	cr_assert_eq(nftns(fx.ns.name[SERVER], load, text, NULL, 0, err, sizeof(err)), 0, "update: %s\n%s", err, text);
	cr_assert_eq(nftns(fx.ns.name[SERVER], list_tcp, NULL, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_expect(strstr(out, "elements = { 80-81, 8000-8010 }"), "after the update: %s", out);
	cr_assert_eq(nftns(fx.ns.name[SERVER], list_addr, NULL, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_expect(!strstr(out, "elements"), "the v6 pair stayed after the update: %s", out);
	free(st.flags);
	axdp_config_free(&cfg);
}

static struct axdp_cidr_list cidrs(const char *const nets[], int n)
{
	struct axdp_cidr_list l = { .v = calloc((size_t)n, sizeof(struct axdp_cidr)), .n = (size_t)n };

	cr_assert(l.v);
	for (int i = 0; i < n; i++)
		cr_assert_eq(axdp_cidr_parse(nets[i], strlen(nets[i]), false, &l.v[i]), 0, "%s", nets[i]);
	axdp_cidr_list_unique(&l);
	return l;
}

/*
 * Deny and trust lists, and bans, whose networks hold one another (a
 * blocklist lists 10.0.0.0/8 and 10.1.2.3): nft refuses overlapping
 * intervals, so the held ones are left out; single addresses of the deny
 * lists go to a hash set of their own.  The table loads, and the client's
 * address in a held network is dropped.
 */
Test(nft, overlapping_lists_and_bans_load_and_deny)
{
	static const char *const load[] = { "-f", "-", NULL };
	static const char *const list[] = { "list", "set", "inet", "autoxdp", "denied_hosts4", NULL };
	const char *deny_nets[] = { "10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "192.0.2.7", "2001:db8::/32", "2001:db8::1" },
		   *trust_nets[] = { "198.51.100.0/24", "198.51.100.9", "::/0", "2001:db8::5" };
	struct axdp_cidr_list deny = cidrs(deny_nets, 6), trust = cidrs(trust_nets, 4), ban_nets;
	struct axdp_ban bans[3];
	struct axdp_nft_policy pol = { .trust = &trust, .deny = &deny };
	struct axdp_nft_bans nb = { .v = bans, .n = 3, .now = 1000 };
	struct axdp_port_state st = { .flags = calloc(AXDP_L4_COUNT * AXDP_PORTS, sizeof(uint32_t)) };
	struct axdp_nft nft = { .n = 0 };
	struct axdp_config cfg;
	char *text = NULL, out[4096], err[1024];
	size_t len = 0;
	FILE *f;

	ban_nets = cidrs((const char *const[]){ "203.0.113.0/24", "203.0.113.77", "10.200.0.0/16" }, 3);
	for (int i = 0; i < 3; i++)
		bans[i] = (struct axdp_ban){ .cidr = ban_nets.v[i], .expires = ban_nets.v[i].prefix == 96 + 24 ? 4600 : 0 };
	setup(NFT, NULL, false);
	axdp_config_defaults(&cfg);
	cr_assert(axdp_nft_add(&nft, fx.ns.ifname[SERVER], err, sizeof(err)) == 0, "%s", err);
	f = open_memstream(&text, &len);
	cr_assert(f && axdp_nft_render(f, true, &nft, &st, NULL, &pol, &nb, &cfg) == 0 && fclose(f) == 0, "rendering");
	cr_expect(strstr(text, "elements = { 10.0.0.0/8 }"), "10.1.0.0/16 inside 10.0.0.0/8 not left out:\n%s", text);
	cr_expect(strstr(text, "elements = { 10.1.2.3, 192.0.2.7 }"), "the single addresses not in their hash set:\n%s",
		  text);
	cr_expect(strstr(text, "elements = { 10.200.0.0/16, 203.0.113.0/24 timeout 3600s }"),
		  "bans not rendered with their time left, the held one left out:\n%s", text);
	cr_assert_eq(nftns(fx.ns.name[SERVER], load, text, NULL, 0, err, sizeof(err)), 0, "%s\n%s", err, text);
	cr_assert_eq(nftns(fx.ns.name[SERVER], list, NULL, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_expect(strstr(out, "192.0.2.7"), "denied_hosts4: %s", out);
	/* The client (10.200.X.2) is banned through 10.200.0.0/16. */
	cr_expect_eq(try_connect(AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, DROPPED_MS), ETIMEDOUT);
	free(text);
	free(st.flags);
	free(deny.v);
	free(trust.v);
	free(ban_nets.v);
	axdp_config_free(&cfg);
}

/* ---- the command line ---- */

Test(nft_cli, backend_option)
{
	struct axdpd d;
	char program[AXDPD_PATH], out[8192], err[2048];
	const char *ok[] = { axdpd_program("autoxdpd", program, sizeof(program)), "--config", NULL, "--backend",
			     "nftables", "--check-config", NULL };
	const char *bad[] = { program, "--config", NULL, "--backend", "ebpf", "--check-config", NULL };
	int rc;

	cr_assert(axdpd_init(&d, NULL, NULL, "[Daemon]\nBackend=xdp\n") == 0, "%s", d.err);
	ok[2] = bad[2] = d.config;
	rc = axdpd_exec(&d, NULL, ok, out, sizeof(out), err, sizeof(err), 5000);
	cr_expect_eq(rc, 0, "--backend nftables --check-config: exit %d: %s", rc, err);
	cr_expect(strstr(out, "\nBackend=nftables\n"), "the command line did not override Backend=xdp:\n%s", out);
	rc = axdpd_exec(&d, NULL, bad, out, sizeof(out), err, sizeof(err), 5000);
	cr_expect_neq(rc, 0, "--backend ebpf was accepted");
	cr_expect(strstr(err, "ebpf") && strstr(err, "auto, xdp or nftables"), "stderr: %s", err);
	axdpd_cleanup(&d);
}
