// SPDX-License-Identifier: MIT
/*
 * autoxdpd, the zero-config daemon, end to end: the real binary runs in a
 * throwaway server namespace and is judged by what the client namespace's
 * TCP/UDP stack experiences (first SYN answered, SYNs dropped instead of
 * refused, sessions surviving restarts), by the pinned maps and by what it
 * tells systemd, its log and the operator's tools.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "counters.h"
#include "autoxdp_abi.h"
#include "crit_fixture.h"
#include "crit_sock.h"
#include "crit_suite.h"
#include "daemon.h"
#include "flood.h"
#include "netns.h"
#include "nft.h"
#include "portsync.h"
#include "sockdiag.h"
#include "timing.h"

#define SERVER NETNS_SERVER
#define CLIENT NETNS_CLIENT

/* Debian 12's UAPI headers predate TCX; the attach type is ABI. */
#define TEST_BPF_TCX_EGRESS 47

/* Short, so "closes within the reconcile bound" is measurable; the hooks should beat it anyway. */
#define RECONCILE_S 2
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define CONFIG "[Daemon]\nReconcileIntervalSec=" STRINGIFY(RECONCILE_S) "\n"

/* Loading and verifying the object takes a few hundred ms; this only bounds a failure. */
#define READY_MS 10000
#define STOP_MS 10000
/* A reply on a veth takes microseconds; these only bound a failure, on a machine other work may stall. */
#define IO_MS 5000
/* Without the firewall the stack answers RST in microseconds: silence this long means dropped. */
#define DROPPED_MS 600
/*
 * Hang limits on what the daemon does by its own clock (a reconcile pass
 * every RECONCILE_S, events as they come), not measures of it: other work
 * on the machine may delay it by seconds.
 */
#define RECONCILE_HANG_MS (RECONCILE_S * 1000 * 5)
#define SETTLE_MS 10000
/* How long a UDP client waits for its query to arrive before it sends it again. */
#define UDP_RETRY_MS 200

/* CAP_BPF (39) and CAP_NET_ADMIN (12): what the daemon keeps after start. */
#define CAPS_WANTED 0x0000008000001000ULL

static struct {
	struct netns_pair ns;
	struct axdpd d;
	char addr2[2][INET6_ADDRSTRLEN];   /* the server's second address, by family index */
} fx;

/* ---- fixture ---- */

static void teardown(void)
{
	char err[512];

	cr_expect(axdpd_fixture_teardown(&fx.ns, &fx.d, err, sizeof(err)) == 0, "teardown: %s", err);
}

CRIT_AFTER_ALL(axdpd_fixture_remove_stale())

static void setup_stopped(void)
{
	char err[1024];

	memset(&fx, 0, sizeof(fx));
	if (axdpd_fixture_setup(&fx.ns, &fx.d, CONFIG, err, sizeof(err)))
		cr_assert_fail("setup: %s", err);
	snprintf(fx.addr2[0], sizeof(fx.addr2[0]), "10.200.%u.11", fx.ns.subnet);
	snprintf(fx.addr2[1], sizeof(fx.addr2[1]), "fd00:200:%u::11", fx.ns.subnet);
	crit_net_use(&fx.ns, IO_MS);
}

static void setup_running(void)
{
	char err[sizeof(fx.d.err)];

	setup_stopped();
	if (axdpd_start(&fx.d, READY_MS)) {
		snprintf(err, sizeof(err), "%s", fx.d.err);
		teardown();
		cr_assert_fail("setup: starting autoxdpd in %s: %s", fx.ns.name[SERVER], err);
	}
}

/* The command-line cases need no namespace: a scratch directory for the configuration is all. */
static void setup_cli(void)
{
	memset(&fx, 0, sizeof(fx));
	crit_scratch_setup(&fx.d);
}

static void teardown_cli(void)
{
	axdpd_cleanup(&fx.d);
}

CRIT_SUITE(daemon, 30, setup_running, teardown);
CRIT_SUITE(daemon_lifecycle, 30, setup_stopped, teardown);
CRIT_SUITE(daemon_cli, 15, setup_cli, teardown_cli);

/* ---- the daemon's pinned maps ---- */

static int pinned(const char *name)
{
	return crit_pinned(&fx.d, name);
}

static uint64_t counter(enum axdp_reason reason)
{
	return crit_counter(&fx.d, reason);
}

static uint32_t port_flags(enum axdp_l4 l4, uint16_t port)
{
	struct axdp_port_slot slot = {};
	__u32 idx = l4 * AXDP_PORTS + port;
	int fd = pinned(AXDP_MAP_PORT_ALLOW);

	cr_assert(bpf_map_lookup_elem(fd, &idx, &slot) == 0, "reading port_allow[%u]: %s", idx, strerror(errno));
	close(fd);
	return slot.flags;
}

/* `axdp ports` as the operator runs it: how it lists l4/port ("" when it does not). */
static const char *axdp_ports_says(const char *l4, uint16_t port, char *how, size_t len)
{
	char program[AXDPD_PATH], out[16384], err[1024];
	const char *argv[] = { axdpd_program("axdp", program, sizeof(program)), "--pin-dir", fx.d.pin_dir, "ports", NULL };
	int rc = axdpd_exec(&fx.d, NULL, argv, out, sizeof(out), err, sizeof(err), 5000);
	char *save = NULL;

	cr_assert_eq(rc, 0, "axdp ports: exit %d: %s%s", rc, err, rc < 0 ? fx.d.err : "");
	how[0] = '\0';
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char proto[8];
		unsigned p;
		int end = 0;

		if (sscanf(line, "%7s %u %n", proto, &p, &end) == 2 && !strcmp(proto, l4) && p == port) {
			snprintf(how, len, "%s", line + end);
			break;
		}
	}
	return how;
}

/* ---- sockets on either side ---- */

struct family {
	int af;
	int idx;            /* into fx.addr2 */
	const char *name;
	const char *loopback;
	const char *any;
};

static struct family families[] = {
	{ AF_INET, 0, "IPv4", "127.0.0.1", "0.0.0.0" },
	{ AF_INET6, 1, "IPv6", "::1", "::" },
};

/*
 * Parameters are indexes into tables, not the entries: criterion may run a
 * test in a freshly exec'd worker, where a parameter's pointers to string
 * literals would point into another address space.
 */
static int table_index[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

#define TABLE_PARAMS(table)                                                                             \
	_Static_assert(sizeof(table) / sizeof(table[0]) <= sizeof(table_index) / sizeof(table_index[0]), \
		       #table " is longer than table_index");                                           \
	return cr_make_param_array(int, table_index, sizeof(table) / sizeof(table[0]))

/* The body sees const struct family *f. */
#define FAMILY_TEST(suite, test)                                                   \
	static void suite##_##test##_body(const struct family *f);                 \
	ParameterizedTestParameters(suite, test)                                   \
	{                                                                          \
		TABLE_PARAMS(families);                                            \
	}                                                                          \
	ParameterizedTest(int *i, suite, test)                                     \
	{                                                                          \
		suite##_##test##_body(&families[*i]);                              \
	}                                                                          \
	static void suite##_##test##_body(const struct family *f)

/* `ip ARGS` in the host namespace (the arguments name ours with -n); asserts success. */
static void ip(const char *const argv[])
{
	char err[1024];
	int rc = axdpd_exec(&fx.d, NULL, argv, NULL, 0, err, sizeof(err), 5000);

	cr_assert_eq(rc, 0, "ip %s %s %s %s: exit %d: %s%s", argv[1], argv[2], argv[3], argv[4], rc, err,
		     rc < 0 ? fx.d.err : "");
}

/* ---- instant open, prompt close ---- */

/*
 * Polls with fresh connects until one is dropped (times out) rather than
 * refused; the ms from start it took, or -1 if still refused at bound_ms.
 */
static long dropped_within(int af, const char *addr, uint16_t port, long start, long bound_ms)
{
	while (now_ms() - start <= bound_ms) {
		long sent = now_ms();
		int rc = try_connect(af, addr, port, DROPPED_MS);

		cr_assert_neq(rc, 0, "[%s]:%u: connected with no listener", addr, port);
		if (rc == ETIMEDOUT)
			return sent - start;
		cr_assert_eq(rc, ECONNREFUSED, "[%s]:%u: connect: %s", addr, port, strerror(rc));
		sleep_ms(20);
	}
	return -1;
}

FAMILY_TEST(daemon, listener_started_after_ready_gets_first_syn)
{
	const uint16_t port = 8080;
	const char *srv = side_addr(SERVER, f->af);
	uint64_t closed_before = counter(AXDP_DROP_TCP_CLOSED);
	int listener = serve(SERVER, f->af, SOCK_STREAM, f->any, port);
	int cli = sock(CLIENT, f->af, SOCK_STREAM), conn, rc;
	long start = now_ms(), took, closed;
	unsigned lost;

	/* No sleep between listen() and connect(): the point is that nothing needs to wait. */
	rc = connect_within(cli, f->af, srv, port, IO_MS);
	took = now_ms() - start;
	cr_assert_eq(rc, 0, "%s: connect to a fresh listener on %u: %s", f->name, port, strerror(rc));
	lost = retransmits(cli);
	cr_log_info("%s: connect to a fresh listener took %ld ms, %u SYNs retransmitted", f->name, took, lost);
	/*
	 * XDP opens the port inside listen().  nftables gets it a transaction
	 * later (autoxdpd(8), NFTABLES BACKEND, row "Open ports"): a first SYN
	 * in that window is dropped, counted and retried.
	 */
	if (!fx.d.nftables)
		cr_expect_eq(lost, 0, "%s: the client retransmitted: the first SYN was dropped", f->name);
	cr_expect_eq(counter(AXDP_DROP_TCP_CLOSED) - closed_before, lost,
		     "%s: tcp_port_closed grew by other than the %u retransmitted SYNs while port %u listened", f->name, lost,
		     port);
	conn = accept_one(listener);
	exchange(cli, conn, "fresh listener", f->name);
	close(conn);
	close(cli);

	close(listener);
	start = now_ms();
	closed = dropped_within(f->af, srv, port, start, RECONCILE_HANG_MS);
	cr_assert_geq(closed, 0, "%s: port %u still answered %d ms after its listener closed (ReconcileIntervalSec=%d)",
		      f->name, port, RECONCILE_HANG_MS, RECONCILE_S);
	cr_log_info("%s: port %u dropped SYNs %ld ms after the listener closed", f->name, port, closed);
	cr_expect_gt(counter(AXDP_DROP_TCP_CLOSED), closed_before, "%s: tcp_port_closed did not count the drop", f->name);
	cr_expect_eq(port_flags(AXDP_L4_TCP, port) & AXDP_PORT_OPEN, 0,
		     "%s: port_allow still has tcp/%u open", f->name, port);
}

FAMILY_TEST(daemon, udp_server_opens_udp_client_does_not)
{
	const uint16_t service = 5353, echo_port = 7777;
	const char *srv = side_addr(SERVER, f->af), *cli_addr = side_addr(CLIENT, f->af);
	int server = serve(SERVER, f->af, SOCK_DGRAM, f->any, service);
	int client = sock(CLIENT, f->af, SOCK_DGRAM);
	int echo = serve(CLIENT, f->af, SOCK_DGRAM, cli_addr, echo_port);
	/* An explicit bind to port 0: the bind hook sees the ephemeral port and must leave it closed. */
	int outbound = serve(SERVER, f->af, SOCK_DGRAM, f->any, 0);
	uint16_t eph = local_port(outbound), lo = 0, hi = 0;
	uint64_t flow_before = counter(AXDP_PASS_UDP_FLOW);
	struct sockaddr_storage from;
	char buf[64], how[64];
	ssize_t n;

	/*
	 * XDP opens the port inside bind(): the first datagram arrives.
	 * nftables opens it a transaction later (autoxdpd(8), NFTABLES
	 * BACKEND, row "Open ports"), so the client asks again, as UDP
	 * clients do, until it is answered.
	 */
	for (int sent = 0;; sent++) {
		send_to(client, f->af, srv, service, "query");
		if (tsock_datagram_within(server, buf, sizeof(buf), &n, &from, fx.d.nftables ? UDP_RETRY_MS : IO_MS))
			break;
		cr_assert(fx.d.nftables && sent * UDP_RETRY_MS < IO_MS, "%s: the %s datagram to UDP %u did not arrive",
			  f->name, sent ? "last" : "first", service);
	}
	cr_assert_eq(n, 5, "%s: a datagram of %zd bytes arrived for the 5 sent to UDP %u", f->name, n, service);

	cr_assert(axdp_ephemeral_range(&lo, &hi) == 0 && eph >= lo && eph <= hi, "%s: port %u is not ephemeral (%u-%u)",
		  f->name, eph, lo, hi);
	send_to(outbound, f->af, cli_addr, echo_port, "request");
	cr_assert(tsock_datagram_within(echo, buf, sizeof(buf), &n, &from, IO_MS) && n == 7,
		  "%s: the client's echo did not get the server's request", f->name);
	cr_assert(sendto(echo, buf, (size_t)n, 0, (struct sockaddr *)&from,
			 from.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) == n,
		  "echo reply: %s", strerror(errno));
	cr_assert(tsock_datagram_within(outbound, buf, sizeof(buf), &n, &from, IO_MS) && n == 7,
		  "%s: the echo's reply to ephemeral port %u did not arrive", f->name, eph);
	cr_expect_gt(counter(AXDP_PASS_UDP_FLOW), flow_before, "%s: the reply did not pass by udp_conntrack", f->name);

	/* After a reconcile too: sock_diag lists the outbound socket as bound and unconnected. */
	cr_assert(axdpd_wait_reconcile(&fx.d, RECONCILE_HANG_MS) == 0, "%s", fx.d.err);
	cr_expect_str_eq(axdp_ports_says("udp", service, how, sizeof(how)),
			 f->af == AF_INET ? "any IPv4 address" : "any address",
			 "%s: axdp ports does not list udp/%u as open on any address", f->name, service);
	cr_expect_str_empty(axdp_ports_says("udp", eph, how, sizeof(how)),
			    "%s: axdp ports lists the client socket's ephemeral udp/%u: %s", f->name, eph, how);
	close(outbound);
	close(echo);
	close(client);
	close(server);
}

FAMILY_TEST(daemon, bound_addresses_open_only_themselves)
{
	const uint16_t lo_port = 6001, addr_port = 6002;
	const char *srv = side_addr(SERVER, f->af), *second = fx.addr2[f->idx];
	char cidr[64], how[64];
	const char *add[] = { "ip", "-n", fx.ns.name[SERVER], "addr", "add", cidr, "dev", fx.ns.ifname[SERVER],
			      f->af == AF_INET6 ? "nodad" : NULL, NULL };
	int on_lo, on_second, cli, conn, rc;

	snprintf(cidr, sizeof(cidr), "%s/%d", second, f->af == AF_INET ? 24 : 64);
	ip(add);
	on_lo = serve(SERVER, f->af, SOCK_STREAM, f->loopback, lo_port);
	on_second = serve(SERVER, f->af, SOCK_STREAM, second, addr_port);
	cr_expect_eq(port_flags(AXDP_L4_TCP, lo_port), 0, "%s: listen() on %s opened tcp/%u", f->name, f->loopback,
		     lo_port);

	cli = sock(CLIENT, f->af, SOCK_STREAM);
	rc = connect_within(cli, f->af, second, addr_port, IO_MS);
	cr_assert_eq(rc, 0, "%s: connect to the listener on [%s]:%u: %s", f->name, second, addr_port, strerror(rc));
	conn = accept_one(on_second);
	exchange(cli, conn, "second address", f->name);
	close(conn);
	close(cli);

	/* Refused would mean the SYN reached the stack; dropped is the firewall's answer. */
	rc = try_connect(f->af, srv, addr_port, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "%s: [%s]:%u (no listener on that address): expected dropped, got %s", f->name,
		     srv, addr_port, rc ? strerror(rc) : "connected");
	rc = try_connect(f->af, srv, lo_port, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "%s: [%s]:%u (listener on %s only): expected dropped, got %s", f->name, srv,
		     lo_port, f->loopback, rc ? strerror(rc) : "connected");

	/* The reconcile applies the same rule from sock_diag and must agree with the hooks. */
	cr_assert(axdpd_wait_reconcile(&fx.d, RECONCILE_HANG_MS) == 0, "%s", fx.d.err);
	cr_expect_str_empty(axdp_ports_says("tcp", lo_port, how, sizeof(how)), "%s: axdp ports lists tcp/%u: %s",
			    f->name, lo_port, how);
	cr_expect_str_eq(axdp_ports_says("tcp", addr_port, how, sizeof(how)), "bound addresses only",
			 "%s: axdp ports on tcp/%u", f->name, addr_port);
	rc = try_connect(f->af, srv, addr_port, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "%s: after a reconcile, [%s]:%u: expected dropped, got %s", f->name, srv, addr_port,
		     rc ? strerror(rc) : "connected");
	close(on_second);
	close(on_lo);
}

/* ---- wildcard listeners open the families they receive ---- */

/* A socket of side's namespace on [::]:port with IPV6_V6ONLY; a TCP one listens. */
static int serve_v6only(int type, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(AF_INET6, "::", port, &ss);
	int one = 1, fd = sock(SERVER, AF_INET6, type);

	cr_assert(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0, "IPV6_V6ONLY: %s", strerror(errno));
	cr_assert(tsock_bind(fd, &ss, len, type == SOCK_STREAM ? 64 : 0) == 0, "binding [::]:%u: %s", port,
		  strerror(errno));
	return fd;
}

/* A connect from the client to the server's address of af: 0 (connected) or the errno, ETIMEDOUT when dropped. */
static int connect_to_server(int af, uint16_t port)
{
	return try_connect(af, side_addr(SERVER, af), port, DROPPED_MS);
}

/* One datagram from the client to the server's address of af and port; whether server got it. */
static bool datagram_arrives(int server, int af, uint16_t port)
{
	int client = sock(CLIENT, af, SOCK_DGRAM);
	struct sockaddr_storage from;
	char buf[16];
	ssize_t n;
	bool got;

	send_to(client, af, side_addr(SERVER, af), port, "hello");
	got = tsock_datagram_within(server, buf, sizeof(buf), &n, &from, DROPPED_MS);
	close(client);
	return got;
}

/*
 * What the hooks set at listen() and bind(), then what the reconcile
 * finds through sock_diag: an IPv6 socket with IPV6_V6ONLY opens its
 * port for IPv6 alone, one on 0.0.0.0 for IPv4 alone, one on :: for
 * both, one on a v4-mapped address for that IPv4 address alone.
 */
Test(daemon, wildcard_listeners_open_their_families_only)
{
	const uint16_t tcp6 = 7101, udp6 = 7102, tcp4 = 7103, dual = 7104, mapped = 7105;
	int l6 = serve_v6only(SOCK_STREAM, tcp6), u6 = serve_v6only(SOCK_DGRAM, udp6);
	int l4 = serve(SERVER, AF_INET, SOCK_STREAM, "0.0.0.0", tcp4), ld = serve(SERVER, AF_INET6, SOCK_STREAM, "::", dual);
	char v4mapped[64], how[64];
	int lm, rc;

	snprintf(v4mapped, sizeof(v4mapped), "::ffff:%s", side_addr(SERVER, AF_INET));
	lm = serve(SERVER, AF_INET6, SOCK_STREAM, v4mapped, mapped);
	for (int pass = 0; pass < 2; pass++) {
		const char *when = pass ? "after a reconcile" : "at listen()";
		uint64_t tcp_closed = counter(AXDP_DROP_TCP_CLOSED), udp_closed = counter(AXDP_DROP_UDP_CLOSED);
		uint64_t udp_open = counter(AXDP_PASS_UDP_PORT);

		rc = connect_to_server(AF_INET6, tcp6);
		cr_expect_eq(rc, 0, "%s: IPv6 to the IPV6_V6ONLY listener on tcp/%u: %s", when, tcp6, strerror(rc));
		rc = connect_to_server(AF_INET, tcp6);
		cr_expect_eq(rc, ETIMEDOUT, "%s: IPv4 to the IPV6_V6ONLY listener on tcp/%u: expected dropped, got %s",
			     when, tcp6, rc ? strerror(rc) : "connected");
		cr_expect_gt(counter(AXDP_DROP_TCP_CLOSED), tcp_closed, "%s: tcp_port_closed did not count the IPv4 SYN",
			     when);
		cr_expect(datagram_arrives(u6, AF_INET6, udp6), "%s: IPv6 to the IPV6_V6ONLY socket on udp/%u was lost",
			  when, udp6);
		cr_expect_eq(counter(AXDP_PASS_UDP_PORT), udp_open + 1, "%s: the IPv6 datagram did not pass as udp_port_open",
			     when);
		rc = try_datagram(AF_INET, side_addr(SERVER, AF_INET), udp6, DROPPED_MS);
		cr_expect_eq(rc, ETIMEDOUT, "%s: IPv4 to the IPV6_V6ONLY socket on udp/%u: expected dropped, got %s", when,
			     udp6, rc == ECONNREFUSED ? "ICMP port unreachable" : rc ? strerror(rc) : "a reply");
		cr_expect_eq(counter(AXDP_DROP_UDP_CLOSED), udp_closed + 1,
			     "%s: the IPv4 datagram to the IPV6_V6ONLY socket on udp/%u was not dropped as udp_port_closed",
			     when, udp6);

		rc = connect_to_server(AF_INET, tcp4);
		cr_expect_eq(rc, 0, "%s: IPv4 to the 0.0.0.0 listener on tcp/%u: %s", when, tcp4, strerror(rc));
		rc = connect_to_server(AF_INET6, tcp4);
		cr_expect_eq(rc, ETIMEDOUT, "%s: IPv6 to the 0.0.0.0 listener on tcp/%u: expected dropped, got %s", when,
			     tcp4, rc ? strerror(rc) : "connected");

		rc = connect_to_server(AF_INET, dual);
		cr_expect_eq(rc, 0, "%s: IPv4 to the :: listener on tcp/%u: %s", when, dual, strerror(rc));
		rc = connect_to_server(AF_INET6, dual);
		cr_expect_eq(rc, 0, "%s: IPv6 to the :: listener on tcp/%u: %s", when, dual, strerror(rc));

		rc = connect_to_server(AF_INET, mapped);
		cr_expect_eq(rc, 0, "%s: IPv4 to the [%s] listener on tcp/%u: %s", when, v4mapped, mapped, strerror(rc));
		rc = connect_to_server(AF_INET6, mapped);
		cr_expect_eq(rc, ETIMEDOUT, "%s: IPv6 to the [%s] listener on tcp/%u: expected dropped, got %s", when,
			     v4mapped, mapped, rc ? strerror(rc) : "connected");

		cr_expect_eq(port_flags(AXDP_L4_TCP, tcp6) & AXDP_PORT_OPEN, AXDP_PORT_OPEN_ANY6, "%s: tcp/%u", when, tcp6);
		cr_expect_eq(port_flags(AXDP_L4_UDP, udp6) & AXDP_PORT_OPEN, AXDP_PORT_OPEN_ANY6, "%s: udp/%u", when, udp6);
		cr_expect_eq(port_flags(AXDP_L4_TCP, tcp4) & AXDP_PORT_OPEN, AXDP_PORT_OPEN_ANY4, "%s: tcp/%u", when, tcp4);
		cr_expect_eq(port_flags(AXDP_L4_TCP, dual) & AXDP_PORT_OPEN, AXDP_PORT_OPEN_ANY, "%s: tcp/%u", when, dual);
		cr_expect_eq(port_flags(AXDP_L4_TCP, mapped) & AXDP_PORT_OPEN, AXDP_PORT_OPEN_ADDR, "%s: tcp/%u", when,
			     mapped);
		if (!pass)
			cr_assert(axdpd_wait_reconcile(&fx.d, RECONCILE_HANG_MS) == 0, "%s", fx.d.err);
	}
	cr_expect_str_eq(axdp_ports_says("tcp", tcp6, how, sizeof(how)), "any IPv6 address");
	cr_expect_str_eq(axdp_ports_says("tcp", tcp4, how, sizeof(how)), "any IPv4 address");
	close(lm);
	close(ld);
	close(l4);
	close(u6);
	close(l6);
}

/* ---- sessions across the daemon's life ---- */

static void assert_running(const char *step)
{
	cr_assert(!axdpd_exited(&fx.d), "%s: the daemon exited", step);
}

FAMILY_TEST(daemon_lifecycle, established_sessions_survive_start_reload_crash_restart)
{
	const uint16_t srv_port = 7001, cli_port = 7002;
	const char *srv = side_addr(SERVER, f->af), *cli_addr = side_addr(CLIENT, f->af);
	/*
	 * Inbound: client to a server listener; outbound: the server to a client
	 * listener.  The client always speaks first, so after each step the
	 * first packet of the outbound session is inbound to the server's
	 * ephemeral port and passes only by the conntrack entry seeded at start
	 * (or kept in the pinned map), never by one egress just made.
	 */
	int listener = serve(SERVER, f->af, SOCK_STREAM, f->any, srv_port);
	int cli_listener = serve(CLIENT, f->af, SOCK_STREAM, cli_addr, cli_port);
	int in_cli = sock(CLIENT, f->af, SOCK_STREAM), out_srv = sock(SERVER, f->af, SOCK_STREAM), in_srv, out_cli, rc;
	char broken[AXDPD_PATH + 64], *log;
	size_t from;

	rc = connect_within(in_cli, f->af, srv, srv_port, IO_MS);
	cr_assert_eq(rc, 0, "%s: inbound connect before the daemon: %s", f->name, strerror(rc));
	in_srv = accept_one(listener);
	rc = connect_within(out_srv, f->af, cli_addr, cli_port, IO_MS);
	cr_assert_eq(rc, 0, "%s: outbound connect before the daemon: %s", f->name, strerror(rc));
	out_cli = accept_one(cli_listener);
	exchange(in_cli, in_srv, "no firewall", "inbound");
	exchange(out_cli, out_srv, "no firewall", "outbound");

	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "%s: starting: %s", f->name, fx.d.err);
	exchange(in_cli, in_srv, "daemon started", "inbound");
	exchange(out_cli, out_srv, "daemon started", "outbound");

	/* A broken drop-in: the reload is refused, the running configuration stays. */
	from = axdpd_notes_end(&fx.d);
	cr_assert(axdpd_dropin(&fx.d, "50-broken.conf", CONFIG "this line is broken\n") == 0,
		  "%s", fx.d.err);
	cr_assert(axdpd_signal(&fx.d, SIGHUP) == 0, "%s", fx.d.err);
	cr_assert(axdpd_wait_note(&fx.d, "RELOADING=1", &from, IO_MS * 3) == 0, "%s: after SIGHUP: %s", f->name, fx.d.err);
	cr_assert(axdpd_wait_note(&fx.d, "READY=1", &from, IO_MS * 3) == 0, "%s: READY=1 after RELOADING=1: %s", f->name,
		  fx.d.err);
	assert_running("broken reload");
	snprintf(broken, sizeof(broken), "%s/50-broken.conf:3:", fx.d.dropins);
	log = axdpd_read_log(&fx.d);
	cr_expect(log && strstr(log, broken), "%s: the log does not name %s; it says:\n%s", f->name, broken, log);
	free(log);
	exchange(in_cli, in_srv, "broken reload", "inbound");
	exchange(out_cli, out_srv, "broken reload", "outbound");

	/* A crash: nothing runs, the pinned data path keeps judging. */
	axdpd_stop(&fx.d, SIGKILL, STOP_MS);
	cr_assert(WIFSIGNALED(fx.d.status) && WTERMSIG(fx.d.status) == SIGKILL, "%s: SIGKILL did not end the daemon",
		  f->name);
	exchange(in_cli, in_srv, "daemon killed", "inbound");
	exchange(out_cli, out_srv, "daemon killed", "outbound");

	/* The restart adopts the pinned links (on nftables: the table): no gap, no new attachment. */
	cr_assert(axdpd_dropin(&fx.d, "50-broken.conf", NULL) == 0, "%s", fx.d.err);
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "%s: restarting: %s", f->name, fx.d.err);
	log = axdpd_read_log(&fx.d);
	cr_expect(log && strstr(log, fx.d.nftables ? "nftables (kept from the earlier run)" : "existing links kept"),
		  "%s: the restart did not adopt the %s; the log says:\n%s", f->name, fx.d.nftables ? "table" : "links",
		  log);
	free(log);
	exchange(in_cli, in_srv, "daemon restarted", "inbound");
	exchange(out_cli, out_srv, "daemon restarted", "outbound");

	close(out_cli);
	close(out_srv);
	close(in_srv);
	close(in_cli);
	close(cli_listener);
	close(listener);
}

/* ---- sessions whose listener closed ---- */


/*
 * What `systemctl stop ssh` does to a logged-in operator: the server
 * accepted the session, then closed its listener.  Leaves the listener
 * closed and the session idle, the server having sent nothing since, so
 * egress has recorded nothing: whatever lets the client's next segment
 * in, the daemon put there.
 */
static void orphan_session(const struct family *f, uint16_t port, int *cli, int *srv)
{
	int listener = serve(SERVER, f->af, SOCK_STREAM, f->any, port), rc;

	*cli = sock(CLIENT, f->af, SOCK_STREAM);
	rc = connect_within(*cli, f->af, side_addr(SERVER, f->af), port, IO_MS);
	cr_assert_eq(rc, 0, "%s: connect to tcp/%u: %s", f->name, port, strerror(rc));
	*srv = accept_one(listener);
	exchange(*cli, *srv, "listening", f->name);
	close(listener);
}

/* Until port_allow has tcp/port closed and a probe SYN is dropped; asserts within a few reconciles. */
static void wait_port_closed(const struct family *f, uint16_t port, int reconcile_s)
{
	long start = now_ms(), bound = reconcile_s * 1000L * 5;
	int rc;

	while (port_flags(AXDP_L4_TCP, port) & AXDP_PORT_OPEN) {
		cr_assert_lt(now_ms() - start, bound, "%s: tcp/%u still open %ld ms after its listener closed", f->name,
			     port, bound);
		sleep_ms(50);
	}
	/* XDP reads port_allow itself; nftables (AXDP_TEST_BACKEND) gets its sets a transaction later. */
	while ((rc = try_connect(f->af, side_addr(SERVER, f->af), port, DROPPED_MS)) != ETIMEDOUT && now_ms() - start < bound)
		sleep_ms(20);
	cr_assert_eq(rc, ETIMEDOUT, "%s: a probe connect to the closed tcp/%u: expected dropped, got %s", f->name, port,
		     rc ? strerror(rc) : "connected");
}

static void addr16_of(const struct sockaddr_storage *ss, uint8_t out[16], __be16 *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &sin->sin_addr, 4);
		*port = sin->sin_port;
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		memcpy(out, &sin6->sin6_addr, 16);
		*port = sin6->sin6_port;
	}
}

/* The conntrack entry of the server's side of a session; false when there is none. */
static bool session_entry(int srv, struct axdp_flow *flow)
{
	struct sockaddr_storage local, remote;
	socklen_t llen = sizeof(local), rlen = sizeof(remote);
	struct axdp_flow_key key = { .proto = IPPROTO_TCP };
	struct axdp_conntrack ct = crit_pinned_conntrack(&fx.d);
	bool found;

	cr_assert(getsockname(srv, (struct sockaddr *)&local, &llen) == 0 &&
		  getpeername(srv, (struct sockaddr *)&remote, &rlen) == 0, "the session's addresses: %s", strerror(errno));
	addr16_of(&local, (uint8_t *)&key.local, &key.local_port);
	addr16_of(&remote, (uint8_t *)&key.remote, &key.remote_port);
	found = axdp_conntrack_lookup(&ct, &key, flow) == 0;
	axdp_conntrack_close(&ct);
	return found;
}

struct on_port {
	uint16_t port;
	int n;
};

static int count_on_port(const struct axdp_flow_key *key, const struct axdp_flow *flow, void *ctx)
{
	struct on_port *o = ctx;

	(void)flow;
	o->n += ntohs(key->local_port) == o->port;
	return 0;
}

/* conntrack entries whose local port is port. */
static int entries_on_port(uint16_t port)
{
	struct axdp_conntrack ct = crit_pinned_conntrack(&fx.d);
	struct on_port o = { .port = port };

	cr_assert_eq(axdp_conntrack_foreach(&ct, count_on_port, &o), 0, "reading conntrack: %s", strerror(errno));
	axdp_conntrack_close(&ct);
	return o.n;
}

static void axdp_reload(void)
{
	char program[AXDPD_PATH], out[4096], err[4096];
	const char *argv[] = { axdpd_program("axdp", program, sizeof(program)), "--config", fx.d.config,
			       "--pin-dir", fx.d.pin_dir, "reload", NULL };
	int rc = axdpd_exec(&fx.d, NULL, argv, out, sizeof(out), err, sizeof(err), 10000);

	cr_assert_eq(rc, 0, "axdp reload: exit %d: %s%s%s", rc, out, err, rc < 0 ? fx.d.err : "");
}

FAMILY_TEST(daemon, session_outlives_its_listener)
{
	const uint16_t port = 7101;
	uint64_t by_flow;
	int cli, srv;

	orphan_session(f, port, &cli, &srv);
	wait_port_closed(f, port, RECONCILE_S);
	by_flow = counter(AXDP_PASS_TCP_FLOW);
	exchange(cli, srv, "listener closed", f->name);
	cr_expect_gt(counter(AXDP_PASS_TCP_FLOW), by_flow, "%s: the client's segment did not pass by tcp_conntrack",
		     f->name);
	/* Still there a reconcile later: the session, not the moment of closing, keeps it. */
	cr_assert(axdpd_wait_reconcile(&fx.d, RECONCILE_HANG_MS) == 0, "%s", fx.d.err);
	exchange(cli, srv, "a reconcile later", f->name);
	close(srv);
	close(cli);
}

/*
 * The entry is the kernel's socket, not the port: segments of any other
 * tuple to the closed port are still dropped and make no entry.  IPv4
 * frames from an address of the client's subnet the client does not have.
 */
#define SPOOFED 40

Test(daemon, spoofed_segments_to_a_closed_port_stay_dropped)
{
	const struct family *f = &families[0];
	const uint16_t port = 7102;
	struct flood_spec spec = {
		.kind = FLOOD_ACK,
		.src = flood_ip4(side_addr(CLIENT, AF_INET)) + 50,
		.dst = flood_ip4(side_addr(SERVER, AF_INET)),
		.dport_lo = port, .dport_hi = port,
		.count = SPOOFED, .pps = 1000,
	};
	struct flood_result r;
	struct flood fl;
	char err[256];
	uint64_t closed;
	int cli, srv;

	orphan_session(f, port, &cli, &srv);
	wait_port_closed(f, port, RECONCILE_S);
	cr_assert(flood_open(&fl, &fx.ns, err, sizeof(err)) == 0, "%s", err);
	closed = counter(AXDP_DROP_TCP_CLOSED);
	cr_assert(flood_send(&fl, &spec, &r, err, sizeof(err)) == 0, "%s", err);
	flood_close(&fl);
	cr_expect_geq(counter(AXDP_DROP_TCP_CLOSED) - closed, r.sent - r.refused,
		      "%" PRIu64 " spoofed ACKs to the closed tcp/%u, tcp_port_closed grew by %" PRIu64, r.sent - r.refused,
		      port, counter(AXDP_DROP_TCP_CLOSED) - closed);
	cr_assert(axdpd_wait_reconcile(&fx.d, RECONCILE_HANG_MS) == 0, "%s", fx.d.err);
	cr_expect_eq(entries_on_port(port), 1, "conntrack has %d entries for tcp/%u, expected the session's alone",
		     entries_on_port(port), port);
	exchange(cli, srv, "after the spoofed segments", f->name);
	close(srv);
	close(cli);
}

FAMILY_TEST(daemon_lifecycle, session_outlives_its_listener_across_reload_and_restart)
{
	const uint16_t port = 7103, port_down = 7104;
	int cli, srv, cli_down, srv_down, listener_down, rc;

	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "%s: starting: %s", f->name, fx.d.err);
	orphan_session(f, port, &cli, &srv);
	wait_port_closed(f, port, RECONCILE_S);
	exchange(cli, srv, "listener closed", f->name);

	axdp_reload();
	exchange(cli, srv, "axdp reload", f->name);

	/* A second session whose listener closes while no daemon runs: the start closes its port. */
	listener_down = serve(SERVER, f->af, SOCK_STREAM, f->any, port_down);
	cli_down = sock(CLIENT, f->af, SOCK_STREAM);
	rc = connect_within(cli_down, f->af, side_addr(SERVER, f->af), port_down, IO_MS);
	cr_assert_eq(rc, 0, "%s: connect to tcp/%u: %s", f->name, port_down, strerror(rc));
	srv_down = accept_one(listener_down);
	exchange(cli_down, srv_down, "listening", f->name);

	axdpd_stop(&fx.d, SIGKILL, STOP_MS);
	close(listener_down);
	exchange(cli, srv, "daemon killed", f->name);
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "%s: restarting: %s", f->name, fx.d.err);
	wait_port_closed(f, port_down, RECONCILE_S);
	exchange(cli, srv, "daemon restarted", f->name);
	exchange(cli_down, srv_down, "listener closed while no daemon ran", f->name);

	close(srv_down);
	close(cli_down);
	close(srv);
	close(cli);
}

/* Short enough to outwait in a test: an idle session is kept by the reconcile, not by its traffic. */
#define IDLE_TIMEOUT_S 3
#define IDLE_RECONCILE_S 1

/* The data path's entries of both sessions outlived their timeout, stamped by the reconcile, flags kept. */
static void idle_entries_refreshed(const struct family *f, int srv, int half_srv, const struct axdp_flow *before,
				   const struct axdp_flow *half_before)
{
	struct axdp_flow after, half_after;

	cr_assert(session_entry(srv, &after), "%s: the idle session's entry is gone", f->name);
	cr_expect_gt(after.last_seen_ns, before->last_seen_ns, "%s: the reconcile did not refresh the idle entry",
		     f->name);
	cr_expect_eq(after.flags, before->flags, "%s: the refresh changed the entry's flags %#x to %#x", f->name,
		     before->flags, after.flags);
	cr_assert(session_entry(half_srv, &half_after), "%s: the half-closed session's entry is gone", f->name);
	cr_expect_gt(half_after.last_seen_ns, half_before->last_seen_ns,
		     "%s: the reconcile did not refresh the half-closed entry", f->name);
	cr_expect_eq(half_after.flags, half_before->flags,
		     "%s: the refresh changed the half-closed entry's flags %#x to %#x", f->name, half_before->flags,
		     half_after.flags);
}

/*
 * Two idle sessions whose port closed, one of them half-closed by the
 * server (its FIN flags the entry closing): both outlive their timeout,
 * the stamps keep the flag.
 */
FAMILY_TEST(daemon_lifecycle, idle_session_outlives_tcp_timeout)
{
	const uint16_t port = 7105, half_port = 7106;
	struct axdp_flow before = {}, half_before = {};
	char buf[64];
	int cli, srv, half_cli, half_srv;

	cr_assert(axdpd_dropin(&fx.d, "50-short.conf", "[Daemon]\nReconcileIntervalSec=" STRINGIFY(IDLE_RECONCILE_S)
				"\n[Conntrack]\nTCPTimeoutSec=" STRINGIFY(IDLE_TIMEOUT_S)
				"\nTCPClosingTimeoutSec=" STRINGIFY(IDLE_TIMEOUT_S) "\n") == 0, "%s", fx.d.err);
	cr_assert(axdpd_start(&fx.d, READY_MS) == 0, "%s: starting: %s", f->name, fx.d.err);
	orphan_session(f, port, &cli, &srv);
	orphan_session(f, half_port, &half_cli, &half_srv);
	wait_port_closed(f, port, IDLE_RECONCILE_S);
	wait_port_closed(f, half_port, IDLE_RECONCILE_S);
	cr_assert(shutdown(half_srv, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
	cr_assert_eq(recv(half_cli, buf, sizeof(buf), 0), 0, "%s: the server's FIN did not reach the client", f->name);
	/*
	 * On nftables kernel conntrack judges these segments, with its own
	 * timeouts, [Conntrack] applying only to the seeds (autoxdpd(8),
	 * NFTABLES BACKEND, row "Closed TCP, not SYN"): no entry of the data
	 * path keeps the sessions there, so only what the peers see is judged.
	 */
	if (!fx.d.nftables) {
		cr_assert(session_entry(srv, &before), "%s: no conntrack entry for the session after tcp/%u closed",
			  f->name, port);
		cr_assert(session_entry(half_srv, &half_before) && (half_before.flags & AXDP_FLOW_CLOSING),
			  "%s: the half-closed session has no entry flagged closing", f->name);
	}

	/* Idle for twice the timeout: no segment either way, so no one but the daemon stamps the entries. */
	sleep_ms(2 * IDLE_TIMEOUT_S * 1000L);
	if (!fx.d.nftables)
		idle_entries_refreshed(f, srv, half_srv, &before, &half_before);
	exchange(cli, srv, "idle past TCPTimeoutSec", f->name);
	cr_assert(send(half_cli, "late", 4, MSG_NOSIGNAL) == 4, "send: %s", strerror(errno));
	cr_expect_eq(recv(half_srv, buf, sizeof(buf), 0), 4, "%s: the half-closed session's data did not arrive (%s)",
		     f->name, strerror(errno));
	close(half_srv);
	close(half_cli);
	close(srv);
	close(cli);
}

/* ---- many listeners coming and going ---- */

#define CHURN_CYCLES 1000
#define CHURN_BASE_PORT 20000
#define CHURN_PORTS 500
/* Every KEEP_EVERY-th socket stays open, so the end state is not simply "all closed". */
#define CHURN_KEEP_EVERY 97

enum churn_addr { CHURN_ANY, CHURN_SERVER, CHURN_LOOPBACK };

/* Sockets differ only in this: family, type, what they bind to. */
static const struct churn_kind {
	int af, type;
	enum churn_addr addr;
} churn_kinds[] = {
	{ AF_INET, SOCK_STREAM, CHURN_ANY },      { AF_INET6, SOCK_STREAM, CHURN_ANY },
	{ AF_INET, SOCK_STREAM, CHURN_SERVER },   { AF_INET6, SOCK_STREAM, CHURN_SERVER },
	{ AF_INET, SOCK_STREAM, CHURN_LOOPBACK }, { AF_INET, SOCK_DGRAM, CHURN_ANY },
	{ AF_INET6, SOCK_DGRAM, CHURN_SERVER },
};

static struct {
	int kept[CHURN_CYCLES / CHURN_KEEP_EVERY + 1];
	int n_kept;
	char err[256];
} churn;

/* Runs inside the server namespace: plain socket calls, no setns per socket. */
static int churn_run(void *arg)
{
	(void)arg;
	for (int i = 0; i < CHURN_CYCLES; i++) {
		const struct churn_kind *k = &churn_kinds[i % (sizeof(churn_kinds) / sizeof(churn_kinds[0]))];
		/* A stride coprime to CHURN_PORTS visits every port and revisits kept ones (SO_REUSEPORT groups). */
		uint16_t port = CHURN_BASE_PORT + (uint16_t)((i * 7) % CHURN_PORTS);
		const char *addr = k->addr == CHURN_LOOPBACK ? (k->af == AF_INET ? "127.0.0.1" : "::1")
				 : k->addr == CHURN_SERVER  ? side_addr(SERVER, k->af)
				 : (k->af == AF_INET ? "0.0.0.0" : "::");
		struct sockaddr_storage ss;
		socklen_t len = sockaddr_of(k->af, addr, port, &ss);
		int fd = socket(k->af, k->type | SOCK_CLOEXEC, 0), one = 1;

		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
		    (k->af == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
		    bind(fd, (struct sockaddr *)&ss, len) || (k->type == SOCK_STREAM && listen(fd, 4))) {
			snprintf(churn.err, sizeof(churn.err), "cycle %d: %s [%s]:%u: %s", i,
				 k->type == SOCK_STREAM ? "tcp" : "udp", addr, port, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if (i % CHURN_KEEP_EVERY == 0)
			churn.kept[churn.n_kept++] = fd;
		else
			close(fd);
	}
	return 0;
}

static int dump_listeners(void *arg)
{
	struct axdp_socket_set *set = arg;

	return axdp_listeners_dump(set, churn.err, sizeof(churn.err));
}

static bool is_loopback16(const uint8_t a[16])
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, v6_loopback, 16) || (!memcmp(a, v4_mapped, 12) && a[12] == 127);
}

/* The documented rule, written independently of the daemon's: loopback opens nothing, nor does a UDP client. */
static bool opens_port(const struct axdp_socket *s, uint16_t eph_lo, uint16_t eph_hi)
{
	return !is_loopback16(s->addr) && !(s->proto == IPPROTO_UDP && s->port >= eph_lo && s->port <= eph_hi);
}

/* Compares port_allow and addr_allow with what sock_diag reports: "" when equal, else the first difference. */
static void compare_with_sockdiag(const struct axdp_port_slot *slots, char *diff, size_t len)
{
	const uint32_t open_bits = AXDP_PORT_OPEN;
	struct axdp_socket_set set = {};
	static uint32_t want[AXDP_L4_COUNT * AXDP_PORTS];
	struct axdp_addr_port key, next;
	uint16_t lo = 0, hi = 0;
	char err[256];
	size_t n_addr = 0, n_map = 0;
	int fd, rc;

	diff[0] = '\0';
	cr_assert(netns_call(fx.ns.name[SERVER], dump_listeners, &set, err, sizeof(err)) == 0,
		  "sock_diag in %s: %s %s", fx.ns.name[SERVER], err, churn.err);
	cr_assert(axdp_ephemeral_range(&lo, &hi) == 0, "reading the ephemeral port range");
	memset(want, 0, sizeof(want));
	fd = pinned(AXDP_MAP_ADDR_ALLOW);
	for (size_t i = 0; i < set.n; i++) {
		const struct axdp_socket *s = &set.v[i];
		enum axdp_l4 l4 = s->proto == IPPROTO_TCP ? AXDP_L4_TCP : AXDP_L4_UDP;
		uint8_t one;

		if (!opens_port(s, lo, hi))
			continue;
		/* 0.0.0.0 (or ::ffff:0.0.0.0) receives IPv4, :: with IPV6_V6ONLY IPv6, :: without both. */
		if (s->wildcard) {
			want[l4 * AXDP_PORTS + s->port] |= s->addr[10] == 0xff ? AXDP_PORT_OPEN_ANY4
							  : s->v6only       ? AXDP_PORT_OPEN_ANY6
									    : AXDP_PORT_OPEN_ANY;
			continue;
		}
		want[l4 * AXDP_PORTS + s->port] |= AXDP_PORT_OPEN_ADDR;
		memset(&key, 0, sizeof(key));
		memcpy(&key.local, s->addr, 16);
		key.port = s->port;
		key.l4 = l4;
		if (bpf_map_lookup_elem(fd, &key, &one) && !diff[0])
			snprintf(diff, len, "addr_allow lacks %s/%u on its bound address",
				 l4 == AXDP_L4_TCP ? "tcp" : "udp", s->port);
	}
	/* sock_diag lists each socket of a SO_REUSEPORT group: count distinct keys in the map instead. */
	for (rc = bpf_map_get_next_key(fd, NULL, &next); rc == 0; rc = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		n_map++;
	}
	close(fd);
	axdp_socket_set_unique(&set);
	for (size_t i = 0; i < set.n; i++)
		n_addr += !set.v[i].wildcard && opens_port(&set.v[i], lo, hi);
	axdp_socket_set_free(&set);
	for (uint32_t idx = 0; idx < AXDP_L4_COUNT * AXDP_PORTS && !diff[0]; idx++)
		if ((slots[idx].flags & open_bits) != want[idx])
			snprintf(diff, len, "%s/%u: port_allow has flags %#x, sock_diag says %#x",
				 idx < AXDP_PORTS ? "tcp" : "udp", idx % AXDP_PORTS, slots[idx].flags & open_bits,
				 want[idx]);
	if (!diff[0] && n_map != n_addr)
		snprintf(diff, len, "addr_allow has %zu entries, sock_diag has %zu bound-address listeners", n_map,
			 n_addr);
}

/* Polls until the allow-lists equal sock_diag's view or SETTLE_MS pass; "" or the last difference. */
static long settle(const struct axdp_port_slot *slots, char *diff, size_t len)
{
	long start = now_ms();

	for (;;) {
		compare_with_sockdiag(slots, diff, len);
		if (!diff[0] || now_ms() - start > SETTLE_MS)
			return now_ms() - start;
		sleep_ms(50);
	}
}

Test(daemon, allow_list_equals_sockdiag_after_listener_churn)
{
	size_t size = (size_t)AXDP_L4_COUNT * AXDP_PORTS * sizeof(struct axdp_port_slot);
	int fd = pinned(AXDP_MAP_PORT_ALLOW);
	const struct axdp_port_slot *slots = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	char err[256], diff[256];
	long took;

	cr_assert(slots != MAP_FAILED, "mapping port_allow: %s", strerror(errno));
	close(fd);
	churn.n_kept = 0;
	cr_assert(netns_call(fx.ns.name[SERVER], churn_run, NULL, err, sizeof(err)) == 0, "churn: %s %s", err, churn.err);
	took = settle(slots, diff, sizeof(diff));
	cr_expect(!diff[0], "after %d listen/close cycles (%d kept), still different after %d ms: %s", CHURN_CYCLES,
		  churn.n_kept, SETTLE_MS, diff);
	cr_log_info("churn: allow-lists equal to sock_diag %ld ms after the last cycle", took);

	for (int i = 0; i < churn.n_kept; i++)
		close(churn.kept[i]);
	churn.n_kept = 0;
	took = settle(slots, diff, sizeof(diff));
	cr_expect(!diff[0], "after closing the kept sockets, still different after %d ms: %s", SETTLE_MS, diff);
	munmap((void *)slots, size);
}

/*
 * A listen() racing a reconcile: closing one listener makes the daemon
 * reconcile, and a second service's listen() lands while it does (between
 * its sock_diag dump and its write of port_allow).  The hook has opened
 * the port; the reconcile must not close it again, or the service is
 * unreachable until the next ReconcileIntervalSec.
 */
#define RACE_ROUNDS 120
#define RACE_BASE_PORT 30000
/* Sweeps listen() across the daemon's wake-up, dump and write; measured to hit the window on a veth. */
#define RACE_MAX_DELAY_US 300
#define RACE_SETTLE_MS 20
#define RACE_REPORT_MAX 3

static struct {
	int listener;
	uint16_t next_port;
	long delay_us;
	char err[256];
} race = { .listener = -1 };

/* In the server namespace: the next listener is bound, the old one closed, then after delay_us it listens. */
static int race_swap(void *arg)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(race.next_port) };
	struct timespec ts = { 0, race.delay_us * 1000L };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	(void)arg;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		snprintf(race.err, sizeof(race.err), "binding port %u: %s", race.next_port, strerror(errno));
		return -1;
	}
	close(race.listener);
	nanosleep(&ts, NULL);
	race.listener = fd;
	if (listen(fd, 4)) {
		snprintf(race.err, sizeof(race.err), "listen on port %u: %s", race.next_port, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The rounds run with a periodic reconcile this far apart: a port the
 * racing reconcile closed stays closed past every hang limit below, so no
 * later reconcile can hide it.
 */
#define RACE_RECONCILE_S 300

/*
 * nftables opens a port a transaction or two after listen() (autoxdpd(8),
 * NFTABLES BACKEND, row "Open ports"; here tens of ms, the close's
 * reconcile going first): fresh connects RACE_NFT_ATTEMPT_MS apart until
 * one is answered, or IO_MS.
 */
#define RACE_NFT_ATTEMPT_MS 10

static int race_reachable_on_nftables(const char *srv, uint16_t port)
{
	long start = now_ms();
	int rc;

	while ((rc = try_connect(AF_INET, srv, port, RACE_NFT_ATTEMPT_MS)) == ETIMEDOUT && now_ms() - start < IO_MS)
		;
	return rc;
}

Test(daemon, listener_opened_during_a_reconcile_stays_open)
{
	static const char race_config[] = "[Daemon]\nReconcileIntervalSec=" STRINGIFY(RACE_RECONCILE_S) "\n";
	const char *srv = side_addr(SERVER, AF_INET);
	char err[256], lost[256] = "";
	size_t used = 0, from = axdpd_notes_end(&fx.d);
	int n_lost = 0, rc, cli;

	cr_assert(axdpd_dropin(&fx.d, "50-race.conf", race_config) == 0, "%s", fx.d.err);
	cr_assert(axdpd_signal(&fx.d, SIGHUP) == 0, "%s", fx.d.err);
	cr_assert(axdpd_wait_note(&fx.d, "RELOADING=1", &from, SETTLE_MS) == 0, "after SIGHUP: %s", fx.d.err);
	cr_assert(axdpd_wait_note(&fx.d, "READY=1", &from, SETTLE_MS) == 0, "no READY=1 after the reload: %s", fx.d.err);
	race.listener = serve(SERVER, AF_INET, SOCK_STREAM, "0.0.0.0", RACE_BASE_PORT - 1);
	for (int i = 0; i < RACE_ROUNDS && n_lost < RACE_REPORT_MAX; i++) {
		race.next_port = RACE_BASE_PORT + i;
		race.delay_us = (long)(i % 13) * RACE_MAX_DELAY_US / 12;
		cr_assert(netns_call(fx.ns.name[SERVER], race_swap, NULL, err, sizeof(err)) == 0, "round %d: %s %s", i, err,
			  race.err);
		/*
		 * The reconcile the close started is most likely over by now; the
		 * port must still be open: the first SYN answered, however slowly.
		 */
		sleep_ms(RACE_SETTLE_MS);
		if (fx.d.nftables) {
			rc = race_reachable_on_nftables(srv, race.next_port);
		} else {
			cli = sock(CLIENT, AF_INET, SOCK_STREAM);
			rc = connect_within(cli, AF_INET, srv, race.next_port, IO_MS);
			if (!rc && retransmits(cli))
				rc = ETIMEDOUT; /* dropped first, reopened by a later reconcile */
			close(cli);
		}
		if (rc == 0)
			continue;
		n_lost++;
		used += snprintf(lost + used, sizeof(lost) - used, "%s%u (listen %ld us after the close: %s, port_allow %#x)",
				 used ? "; " : "", race.next_port, race.delay_us, strerror(rc),
				 port_flags(AXDP_L4_TCP, race.next_port));
	}
	close(race.listener);
	race.listener = -1;
	cr_expect_eq(n_lost, 0, "listening ports closed by a concurrent reconcile (stopped after %d): %s",
		     RACE_REPORT_MAX, lost);
}

/* ---- what systemd and the operator see ---- */

/* A field of /proc/PID/status: "\nName:\t" then the value in base. */
static unsigned long long status_field(const char *status, const char *name, int base)
{
	const char *p = strstr(status, name);

	cr_assert(p, "no %s in /proc/%d/status", name, (int)fx.d.pid);
	return strtoull(p + strlen(name), NULL, base);
}

Test(daemon, runs_with_cap_bpf_and_cap_net_admin_only)
{
	char path[64], status[8192];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)fx.d.pid);
	f = fopen(path, "re");
	cr_assert(f, "%s: %s", path, strerror(errno));
	n = fread(status, 1, sizeof(status) - 1, f);
	fclose(f);
	status[n] = '\0';
	cr_expect_eq(status_field(status, "\nCapEff:\t", 16), CAPS_WANTED,
		     "CapEff %#llx, expected CAP_BPF|CAP_NET_ADMIN %#llx", status_field(status, "\nCapEff:\t", 16), CAPS_WANTED);
	cr_expect_eq(status_field(status, "\nCapPrm:\t", 16), CAPS_WANTED, "CapPrm %#llx, expected %#llx",
		     status_field(status, "\nCapPrm:\t", 16), CAPS_WANTED);
	cr_expect_eq(status_field(status, "\nNoNewPrivs:\t", 10), 1, "NoNewPrivs is not set");
}

Test(daemon, notifies_ready_and_status_naming_the_interface)
{
	size_t from = 0;
	char line[512] = "";

	cr_expect(axdpd_noted(&fx.d, "READY=1"), "no READY=1 on NOTIFY_SOCKET");
	/* Every STATUS= line so far: one of them must name the protected interface. */
	while (axdpd_next_note(&fx.d, "STATUS=", &from, line, sizeof(line)))
		if (strstr(line, fx.ns.ifname[SERVER]))
			return;
	cr_assert_fail("no STATUS= line names %s; the last was '%s'", fx.ns.ifname[SERVER], line);
}

/* ---- turning it off ---- */

struct hooked {
	__u32 xdp_prog;
	__u32 tcx_count;
};

static int query_hooks(void *arg)
{
	struct hooked *h = arg;
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 ids[8], cnt = 8;

	if (bpf_xdp_query(fx.ns.ifindex[SERVER], 0, &q))
		return -1;
	h->xdp_prog = q.prog_id;
	if (bpf_prog_query(fx.ns.ifindex[SERVER], (enum bpf_attach_type)TEST_BPF_TCX_EGRESS, 0, NULL, ids, &cnt))
		return -1;
	h->tcx_count = cnt;
	return 0;
}

static struct hooked hooks_on_veth(void)
{
	struct hooked h = {};
	char err[256];

	cr_assert(netns_call(fx.ns.name[SERVER], query_hooks, &h, err, sizeof(err)) == 0, "querying %s: %s %s",
		  fx.ns.ifname[SERVER], err, strerror(errno));
	return h;
}

/* Link ids behind every pin in PIN_DIR/links: what `bpftool link` would show as ours. */
static size_t pinned_link_ids(__u32 *ids, size_t cap)
{
	char dir[AXDPD_PATH + 16], path[AXDPD_PATH * 2];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/links", fx.d.pin_dir);
	d = opendir(dir);
	cr_assert(d, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) && n < cap) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = bpf_obj_get(path);
		cr_assert(fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0, "link %s: %s", path, strerror(errno));
		ids[n++] = info.id;
		close(fd);
	}
	closedir(d);
	return n;
}

/* Is there an nftables table of ours in the server namespace? */
static bool has_own_table(void)
{
	static char ruleset[1 << 20];
	char err[512];

	cr_assert_eq(nftns_ruleset(fx.ns.name[SERVER], ruleset, sizeof(ruleset), err, sizeof(err)), 0,
		     "nft list ruleset in %s: %s", fx.ns.name[SERVER], err);
	return nft_has_table(ruleset, "inet", "autoxdp");
}

Test(daemon, axdp_off_after_stop_leaves_nothing)
{
	__u32 links[16];
	size_t n = pinned_link_ids(links, 16);
	struct hooked h = hooks_on_veth();
	struct stat st;
	int rc;

	/* XDP, tc egress and four socket hooks; on nftables the socket hooks and the table, nothing on the interface. */
	cr_assert_geq(n, fx.d.nftables ? 4 : 6, "only %zu pinned links under %s/links", n, fx.d.pin_dir);
	cr_assert(fx.d.nftables ? !h.xdp_prog && !h.tcx_count : h.xdp_prog && h.tcx_count == 1,
		  "while running on %s: XDP prog %u, %u tcx programs on %s", fx.d.nftables ? "nftables" : "XDP",
		  h.xdp_prog, h.tcx_count, fx.ns.ifname[SERVER]);
	cr_assert(!fx.d.nftables || has_own_table(), "while running on nftables: no table inet autoxdp");

	cr_assert(axdpd_stop(&fx.d, SIGTERM, STOP_MS) == 0, "%s", fx.d.err);
	cr_expect(WIFEXITED(fx.d.status) && WEXITSTATUS(fx.d.status) == 0, "SIGTERM: the daemon ended with status %#x",
		  fx.d.status);
	/* Stopping is not turning off. */
	cr_assert_eq(hooks_on_veth().xdp_prog, h.xdp_prog, "SIGTERM removed or replaced XDP on %s", fx.ns.ifname[SERVER]);
	cr_assert(stat(fx.d.pin_dir, &st) == 0, "SIGTERM removed %s", fx.d.pin_dir);
	cr_assert_eq(has_own_table(), fx.d.nftables, "SIGTERM changed whether table inet autoxdp exists");
	cr_expect_eq(try_connect(AF_INET, side_addr(SERVER, AF_INET), 9, DROPPED_MS), ETIMEDOUT,
		     "after SIGTERM a SYN to closed port 9 was not dropped");
	cr_expect_eq(try_datagram(AF_INET, side_addr(SERVER, AF_INET), 9, DROPPED_MS), ETIMEDOUT,
		     "after SIGTERM a datagram to closed udp/9 was not dropped");

	rc = axdpd_off(&fx.d);
	cr_assert_eq(rc, 0, "axdp off: %s", fx.d.err);
	cr_expect(stat(fx.d.pin_dir, &st) != 0 && errno == ENOENT, "axdp off left %s", fx.d.pin_dir);
	h = hooks_on_veth();
	cr_expect_eq(h.xdp_prog, 0, "axdp off left XDP prog %u on %s", h.xdp_prog, fx.ns.ifname[SERVER]);
	cr_expect_eq(h.tcx_count, 0, "axdp off left %u tcx programs on %s", h.tcx_count, fx.ns.ifname[SERVER]);
	cr_expect(!has_own_table(), "axdp off left table inet autoxdp");
	for (size_t i = 0; i < n; i++) {
		long start = now_ms();
		int fd;

		/* A link's id is released once its last reference is gone, which may trail the unpin by a moment. */
		while ((fd = bpf_link_get_fd_by_id(links[i])) >= 0 && now_ms() - start < IO_MS) {
			close(fd);
			sleep_ms(20);
		}
		if (fd >= 0)
			close(fd);
		cr_expect(fd < 0 && errno == ENOENT, "axdp off left link %u alive", links[i]);
	}
	cr_expect_eq(try_connect(AF_INET, side_addr(SERVER, AF_INET), 9, IO_MS), ECONNREFUSED,
		     "after axdp off a SYN to closed port 9 was not answered with RST");
	cr_expect_eq(try_datagram(AF_INET, side_addr(SERVER, AF_INET), 9, IO_MS), ECONNREFUSED,
		     "after axdp off a datagram to closed udp/9 was not answered with ICMP port unreachable");
}

/* ---- the command line ---- */

/* "@CONFIG@" in args stands for the scratch configuration file. */
struct cli_case {
	const char *name;
	const char *config;
	const char *dropin;              /* config.d/10-test.conf, or NULL */
	const char *args[6];
	int exit;                        /* -1: any non-zero */
	const char *out;                 /* expected in stdout, or NULL */
	const char *err;                 /* expected in stderr; "@CONFIG@" and "@DROPIN@" expand */
};

static struct cli_case cli_cases[] = {
	{ "check-config, syntax error", CONFIG "this line is broken\n", NULL,
	  { "--config", "@CONFIG@", "--check-config" }, -1, NULL, "@CONFIG@:3:" },
	{ "check-config, bad value", "[Daemon]\nReconcileIntervalSec=soon\n", NULL,
	  { "--config", "@CONFIG@", "--check-config" }, -1, NULL, "@CONFIG@:2:" },
	{ "check-config, broken drop-in", CONFIG, "[Ports]\nAllowTCP=http\n",
	  { "--config", "@CONFIG@", "--check-config" }, -1, NULL, "@DROPIN@:2:" },
	{ "check-config, good file", "[Daemon]\nReconcileIntervalSec=7\n[Ports]\nAllowTCP=22 8000-8010\n", NULL,
	  { "--config", "@CONFIG@", "--check-config" }, 0, "ReconcileIntervalSec=7", NULL },
	{ "check-config, drop-in on top", CONFIG, "[Ports]\nAllowUDP=53\n",
	  { "--config", "@CONFIG@", "--check-config" }, 0, "AllowUDP=53", NULL },
	{ "check-config, command line on top", CONFIG, NULL,
	  { "--config", "@CONFIG@", "--interface", "eth9", "--check-config" }, 0, "Interfaces=eth9", NULL },
	{ "help", "", NULL, { "--help" }, 0, "Usage: autoxdpd", NULL },
	{ "unknown option", "", NULL, { "--no-such-option" }, 2, NULL, NULL },
	{ "unexpected argument", "", NULL, { "--config", "@CONFIG@", "--check-config", "stray" }, 2, NULL, "stray" },
	{ "bad xdp mode", "", NULL, { "--config", "@CONFIG@", "--xdp-mode", "turbo", "--check-config" }, -1, NULL, "turbo" },
};

ParameterizedTestParameters(daemon_cli, options)
{
	TABLE_PARAMS(cli_cases);
}

static const char *expand(const char *s, char *buf, size_t len)
{
	char dropin[AXDPD_PATH + 32];
	const char *at = s ? strchr(s, '@') : NULL;

	if (!at)
		return s;
	snprintf(dropin, sizeof(dropin), "%s/10-test.conf", fx.d.dropins);
	if (!strncmp(at, "@CONFIG@", 8))
		snprintf(buf, len, "%.*s%s%s", (int)(at - s), s, fx.d.config, at + 8);
	else if (!strncmp(at, "@DROPIN@", 8))
		snprintf(buf, len, "%.*s%s%s", (int)(at - s), s, dropin, at + 8);
	else
		snprintf(buf, len, "%s", s);
	return buf;
}

ParameterizedTest(int *i, daemon_cli, options)
{
	const struct cli_case *c = &cli_cases[*i];
	char program[AXDPD_PATH], cfg[AXDPD_PATH + 32], args[6][AXDPD_PATH + 32], want_err[AXDPD_PATH + 64];
	char out[8192], err[4096], path[AXDPD_PATH + 32];
	const char *argv[8] = { axdpd_program("autoxdpd", program, sizeof(program)) };
	FILE *f;
	int rc;

	snprintf(cfg, sizeof(cfg), "%s", fx.d.config);
	f = fopen(cfg, "we");
	cr_assert(f && fputs(c->config, f) >= 0 && fclose(f) == 0, "writing %s", cfg);
	if (c->dropin) {
		snprintf(path, sizeof(path), "10-test.conf");
		cr_assert(axdpd_dropin(&fx.d, path, c->dropin) == 0, "%s", fx.d.err);
	}
	for (int i = 0; i < 6 && c->args[i]; i++)
		argv[i + 1] = expand(c->args[i], args[i], sizeof(args[i]));
	rc = axdpd_exec(&fx.d, NULL, argv, out, sizeof(out), err, sizeof(err), 5000);
	cr_assert_geq(rc, 0, "%s: %s", c->name, fx.d.err);
	if (c->exit < 0)
		cr_expect_neq(rc, 0, "%s: exited 0; stdout:\n%s", c->name, out);
	else
		cr_expect_eq(rc, c->exit, "%s: exit %d, expected %d; stderr:\n%s", c->name, rc, c->exit, err);
	if (c->out)
		cr_expect(strstr(out, c->out), "%s: stdout lacks '%s':\n%s", c->name, c->out, out);
	if (c->err) {
		const char *want = expand(c->err, want_err, sizeof(want_err));

		cr_expect(strstr(err, want), "%s: stderr lacks '%s':\n%s", c->name, want, err);
	}
}

