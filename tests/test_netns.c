// SPDX-License-Identifier: MIT
/*
 * The data path end to end: attached by the loader to a real veth between
 * two throwaway network namespaces, judged by what the kernel's own stack
 * on each side sees (connects, replies, timeouts, errors) and by the
 * counters that say which branch of the decision tree did it.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <linux/errqueue.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "counters.h"
#include "crit_fixture.h"
#include "crit_suite.h"
#include "dpfix.h"
#include "loader.h"
#include "netns.h"
#include "sock.h"

#define SERVER NETNS_SERVER
#define CLIENT NETNS_CLIENT

/* Debian 12's UAPI headers predate TCX; the attach type is ABI. */
#define TEST_BPF_TCX_EGRESS 47

#define PIN_PREFIX "axdp-netns-"
#define OBJECT_ENV "AXDP_BPF_OBJECT"
#define OBJECT_DEFAULT "build/autoxdp.bpf.o"

/* A reply on a veth takes microseconds; this only bounds a failure, on a machine other work may stall for seconds. */
#define IO_TIMEOUT_MS 10000
/* Long enough for SYN retransmission not to matter, short enough for a suite. */
#define CLOSED_WAIT_MS 1500
/* Nothing listens there in a fresh namespace: without the firewall the kernel answers RST. */
#define CLOSED_PORT 9
#define CHUNK 4096

static struct dpfix fx = DPFIX_INIT;

/* ---- cleanup: pins and namespaces, also those of crashed or timed-out runs ---- */

static void teardown(void)
{
	char err[1024];

	cr_expect(dpfix_detach(&fx, err, sizeof(err)) == 0, "teardown: %s", err);
	cr_expect(netns_pair_destroy(&fx.ns, err, sizeof(err)) == 0, "teardown: %s", err);
}

CRIT_AFTER_ALL(dpfix_remove_stale(PIN_PREFIX))

/* ---- setup: namespaces, then the data path loaded and attached from inside the server side ---- */

static const char *object_path(void)
{
	const char *path = getenv(OBJECT_ENV);

	return path && *path ? path : OBJECT_DEFAULT;
}

static struct axdp_load_opts load_opts(void)
{
	return (struct axdp_load_opts){
		.object_path = object_path(), .pin_dir = fx.pin_dir, .knobs = AXDP_KNOBS_DEFAULT,
	};
}

static void setup(enum axdp_xdp_mode mode)
{
	char err[512];

	if (dpfix_setup(&fx, PIN_PREFIX, object_path(), NULL, mode, err, sizeof(err))) {
		teardown();
		cr_assert_fail("setup (%s XDP on %s in %s): %s", axdp_xdp_mode_name(mode), fx.ns.ifname[SERVER],
			       fx.ns.name[SERVER], err);
	}
}

static void setup_native(void)
{
	setup(AXDP_XDP_NATIVE);
}

static void setup_generic(void)
{
	setup(AXDP_XDP_GENERIC);
}

CRIT_SUITE(netns, 60, setup_native, teardown);
CRIT_SUITE(netns_generic, 60, setup_generic, teardown);

/* ---- the data path's maps ---- */

static int map_fd(const struct axdp_datapath *dp, const char *name)
{
	char err[256];
	int fd = axdp_datapath_map_fd(dp, name, err, sizeof(err));

	cr_assert(fd >= 0, "%s", err);
	return fd;
}

static void open_port(enum axdp_l4 l4, uint16_t port)
{
	struct axdp_port_slot slot = { .flags = AXDP_PORT_OPEN_ANY };
	struct bpf_map_info info = {};
	__u32 idx = l4 * AXDP_PORTS + port, len = sizeof(info);
	int fd = map_fd(&fx.dp, AXDP_MAP_PORT_ALLOW);

	/* The kernel copies value_size bytes from &slot: a stale ABI header must not feed it garbage. */
	cr_assert(bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.value_size == sizeof(slot),
		  "map %s: value is %u bytes, autoxdp_abi.h says %zu", AXDP_MAP_PORT_ALLOW, info.value_size,
		  sizeof(slot));
	cr_assert(bpf_map_update_elem(fd, &idx, &slot, BPF_ANY) == 0, "opening %s port %u in map %s: %s",
		  l4 == AXDP_L4_TCP ? "TCP" : "UDP", port, AXDP_MAP_PORT_ALLOW, strerror(errno));
}

/* A reason's packets over every per-interface block of the counters map: this pin dir's data path only. */
static uint64_t counter(enum axdp_reason reason)
{
	int ncpu = libbpf_num_possible_cpus(), fd = map_fd(&fx.dp, AXDP_MAP_COUNTERS);
	struct axdp_counter per_cpu[ncpu > 0 ? ncpu : 1];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	uint64_t sum = 0;

	cr_assert(ncpu > 0, "counting possible CPUs: %s", strerror(-ncpu));
	cr_assert(bpf_obj_get_info_by_fd(fd, &info, &len) == 0, "map %s: %s", AXDP_MAP_COUNTERS, strerror(errno));
	for (__u32 key = reason; key < info.max_entries; key += AXDP_COUNTER_SLOTS) {
		cr_assert(bpf_map_lookup_elem(fd, &key, per_cpu) == 0, "reading slot %u of map %s: %s", key,
			  AXDP_MAP_COUNTERS, strerror(errno));
		for (int i = 0; i < ncpu; i++)
			sum += per_cpu[i].packets;
	}
	return sum;
}

static __u32 obj_id(int fd, const char *what)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	/* id is the first field of prog, map and link info alike. */
	cr_assert(bpf_obj_get_info_by_fd(fd, &info, &len) == 0, "id of %s: %s", what, strerror(errno));
	return info.id;
}

static struct bpf_xdp_query_opts xdp_on_server(void)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	cr_assert(bpf_xdp_query(fx.ns.ifindex[SERVER], 0, &q) == 0, "bpf_xdp_query on %s: %s",
		  fx.ns.ifname[SERVER], strerror(errno));
	return q;
}

/* Programs on the server veth's tcx egress hook; *first gets the first one's id. */
static __u32 tcx_on_server(__u32 *first)
{
	__u32 ids[8] = {}, cnt = 8;

	cr_assert(bpf_prog_query(fx.ns.ifindex[SERVER], (enum bpf_attach_type)TEST_BPF_TCX_EGRESS, 0, NULL, ids, &cnt) == 0,
		  "querying tcx egress on %s: %s", fx.ns.ifname[SERVER], strerror(errno));
	*first = ids[0];
	return cnt;
}

/* ---- sockets on either side ---- */

/* Parameters are copied into a re-executed test process: no pointers, names inline. */
struct family {
	int af;
	char name[8];
};

static struct family families[] = { { AF_INET, "IPv4" }, { AF_INET6, "IPv6" } };

#define FAMILY_TEST(suite, test)                                                   \
	ParameterizedTestParameters(suite, test)                                   \
	{                                                                          \
		return cr_make_param_array(struct family, families, 2);            \
	}                                                                          \
	ParameterizedTest(struct family *f, suite, test)

static int sock(enum netns_side side, int af, int type, int proto)
{
	char err[512];
	int fd = netns_socket(fx.ns.name[side], af, type, proto, err, sizeof(err));

	cr_assert(fd >= 0, "%s", err);
	cr_assert(tsock_timeouts(fd, IO_TIMEOUT_MS) == 0, "socket timeouts in %s: %s", fx.ns.name[side],
		  strerror(errno));
	return fd;
}

static uint16_t local_port(int fd)
{
	int port = tsock_local_port(fd);

	cr_assert(port >= 0, "getsockname: %s", strerror(errno));
	return (uint16_t)port;
}

/* A socket of type bound to side's address on an ephemeral port. */
static int bound(enum netns_side side, int af, int type, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = netns_sockaddr(&fx.ns, side, af, 0, &ss);
	int fd = sock(side, af, type, 0);

	cr_assert(bind(fd, (struct sockaddr *)&ss, len) == 0, "binding in %s: %s", fx.ns.name[side], strerror(errno));
	if (type == SOCK_STREAM)
		cr_assert(listen(fd, 8) == 0, "listen in %s: %s", fx.ns.name[side], strerror(errno));
	*port = local_port(fd);
	return fd;
}

/* 0 when connected, else the errno: ETIMEDOUT means no answer at all within ms. */
static int connect_within(int fd, enum netns_side to, int af, uint16_t port, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len = netns_sockaddr(&fx.ns, to, af, port, &ss);

	return tsock_connect_within(fd, &ss, len, ms);
}

static int accept_one(int listener)
{
	int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);

	cr_assert(fd >= 0, "accept: %s", strerror(errno));
	return fd;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i % 251);
}

/* len bytes from one connected socket to the other, chunk by chunk so neither buffer fills. */
static void carry(int from, int to, size_t len, const char *what)
{
	uint8_t out[CHUNK], in[CHUNK];

	for (size_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK, got = 0;

		for (size_t i = 0; i < n; i++)
			out[i] = pattern(off + i);
		cr_assert(send(from, out, n, MSG_NOSIGNAL) == (ssize_t)n, "%s: send at byte %zu: %s", what, off,
			  strerror(errno));
		while (got < n) {
			ssize_t r = recv(to, in + got, n - got, 0);

			cr_assert(r > 0, "%s: receive at byte %zu: %s", what, off + got, r ? strerror(errno) : "EOF");
			got += (size_t)r;
		}
		cr_assert(memcmp(in, out, n) == 0, "%s: data differs in bytes %zu..%zu", what, off, off + n);
	}
}

/* ---- the cases ---- */

Test(netns, attaches_native_xdp_and_tcx)
{
	struct bpf_xdp_query_opts q = xdp_on_server();
	__u32 tc_id;

	cr_assert_eq(fx.att.xdp_mode, AXDP_XDP_NATIVE, "%s: attached %s, asked for native", fx.att.ifname,
		     axdp_xdp_mode_name(fx.att.xdp_mode));
	cr_assert_eq(fx.att.tc_mode, AXDP_TC_TCX, "%s: tc egress by %s, expected tcx", fx.att.ifname,
		     axdp_tc_mode_name(fx.att.tc_mode));
	cr_assert(!fx.att.adopted, "%s: first attach claims to have adopted links", fx.att.ifname);
	cr_assert_eq(q.attach_mode, XDP_ATTACHED_DRV, "%s: XDP attach mode %u, expected driver", fx.att.ifname,
		     q.attach_mode);
	cr_assert_eq(q.prog_id, obj_id(fx.dp.xdp_fd, AXDP_PROG_XDP), "%s: another XDP program is attached",
		     fx.att.ifname);
	cr_assert_eq(tcx_on_server(&tc_id), 1, "%s: expected exactly one tcx egress program", fx.att.ifname);
	cr_assert_eq(tc_id, obj_id(fx.dp.tc_fd, AXDP_PROG_TC), "%s: another tcx egress program is attached",
		     fx.att.ifname);
}

FAMILY_TEST(netns, tcp_to_open_port_connects)
{
	uint16_t port;
	int listener = bound(SERVER, f->af, SOCK_STREAM, &port), cli = sock(CLIENT, f->af, SOCK_STREAM, 0), srv;
	uint64_t before = counter(AXDP_PASS_TCP_PORT);
	int rc;

	open_port(AXDP_L4_TCP, port);
	rc = connect_within(cli, SERVER, f->af, port, IO_TIMEOUT_MS);
	cr_assert_eq(rc, 0, "%s: connect to open port %u: %s", f->name, port, strerror(rc));
	srv = accept_one(listener);
	carry(cli, srv, 64 * 1024, "client to server");
	carry(srv, cli, 64 * 1024, "server to client");
	cr_assert_gt(counter(AXDP_PASS_TCP_PORT), before, "%s: counter tcp_port_open did not grow", f->name);
	close(srv);
	close(cli);
	close(listener);
}

FAMILY_TEST(netns, tcp_syn_to_closed_port_is_dropped)
{
	int cli = sock(CLIENT, f->af, SOCK_STREAM, 0);
	uint64_t before = counter(AXDP_DROP_TCP_CLOSED);
	int rc = connect_within(cli, SERVER, f->af, CLOSED_PORT, CLOSED_WAIT_MS);

	/* ECONNREFUSED would mean the SYN reached the stack, which answered RST. */
	cr_assert_eq(rc, ETIMEDOUT, "%s: connect to closed port %u: expected a timeout, got %s", f->name, CLOSED_PORT,
		     rc ? strerror(rc) : "connected");
	cr_assert_gt(counter(AXDP_DROP_TCP_CLOSED), before, "%s: counter tcp_port_closed did not grow", f->name);
	close(cli);
}

FAMILY_TEST(netns, server_outbound_tcp_gets_replies)
{
	uint16_t port;
	int listener = bound(CLIENT, f->af, SOCK_STREAM, &port), srv = sock(SERVER, f->af, SOCK_STREAM, 0), cli;
	uint64_t before = counter(AXDP_PASS_TCP_FLOW);
	int rc;

	/* The SYN-ACK and everything after it pass only by the flow tc egress recorded. */
	rc = connect_within(srv, CLIENT, f->af, port, IO_TIMEOUT_MS);
	cr_assert_eq(rc, 0, "%s: server's connect to client port %u: %s", f->name, port, strerror(rc));
	cli = accept_one(listener);
	carry(srv, cli, 64 * 1024, "server to client");
	carry(cli, srv, 64 * 1024, "client to server");
	cr_assert_gt(counter(AXDP_PASS_TCP_FLOW), before, "%s: counter tcp_conntrack did not grow", f->name);
	close(cli);
	close(srv);
	close(listener);
}

FAMILY_TEST(netns, server_outbound_udp_gets_reply)
{
	uint16_t echo_port, srv_port;
	int echo = bound(CLIENT, f->af, SOCK_DGRAM, &echo_port), srv = bound(SERVER, f->af, SOCK_DGRAM, &srv_port);
	struct sockaddr_storage to, from;
	socklen_t to_len = netns_sockaddr(&fx.ns, CLIENT, f->af, echo_port, &to), from_len = sizeof(from);
	uint64_t before = counter(AXDP_PASS_UDP_FLOW);
	char buf[64];
	ssize_t n;

	cr_assert(sendto(srv, "request", 7, 0, (struct sockaddr *)&to, to_len) == 7, "%s: server's sendto: %s",
		  f->name, strerror(errno));
	/* The client side plays the echo server. */
	n = recvfrom(echo, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len);
	cr_assert_eq(n, 7, "%s: client's echo socket got no request: %s", f->name, strerror(errno));
	cr_assert(sendto(echo, buf, (size_t)n, 0, (struct sockaddr *)&from, from_len) == n, "%s: echo reply: %s",
		  f->name, strerror(errno));
	cr_assert(tsock_datagram_within(srv, buf, sizeof(buf), &n, NULL, IO_TIMEOUT_MS) && n == 7 && !memcmp(buf, "request", 7),
		  "%s: the reply to the server's UDP request did not arrive", f->name);
	cr_assert_gt(counter(AXDP_PASS_UDP_FLOW), before, "%s: counter udp_conntrack did not grow", f->name);
	close(echo);
	close(srv);
}

FAMILY_TEST(netns, unsolicited_udp_to_closed_port_is_dropped)
{
	uint16_t port, cli_port;
	int srv = bound(SERVER, f->af, SOCK_DGRAM, &port), cli = bound(CLIENT, f->af, SOCK_DGRAM, &cli_port);
	struct sockaddr_storage to;
	socklen_t to_len = netns_sockaddr(&fx.ns, SERVER, f->af, port, &to);
	uint64_t before = counter(AXDP_DROP_UDP_CLOSED);
	char buf[64];
	ssize_t n;

	cr_assert(sendto(cli, "knock", 5, 0, (struct sockaddr *)&to, to_len) == 5, "%s: client's sendto: %s", f->name,
		  strerror(errno));
	cr_assert(!tsock_datagram_within(srv, buf, sizeof(buf), &n, NULL, CLOSED_WAIT_MS),
		  "%s: a datagram to closed UDP port %u arrived", f->name, port);
	cr_assert_gt(counter(AXDP_DROP_UDP_CLOSED), before, "%s: counter udp_port_closed did not grow", f->name);

	/* The same datagram once the port is open: the socket itself was able to receive all along. */
	open_port(AXDP_L4_UDP, port);
	cr_assert(sendto(cli, "knock", 5, 0, (struct sockaddr *)&to, to_len) == 5, "%s: client's sendto: %s", f->name,
		  strerror(errno));
	cr_assert(tsock_datagram_within(srv, buf, sizeof(buf), &n, NULL, IO_TIMEOUT_MS) && n == 5,
		  "%s: a datagram to UDP port %u did not arrive after opening it", f->name, port);
	close(cli);
	close(srv);
}

/* ---- ICMP, through raw sockets: no ping binary, no ping_group_range ---- */

static uint16_t inet_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* The raw socket's protocol; an ICMPv6 raw socket gets its checksum from the kernel. */
static int icmp_proto(int af)
{
	return af == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
}

/* One echo request from one side to the other; true when its reply came back. */
static bool ping(enum netns_side from, enum netns_side to, int af)
{
	const uint8_t request = af == AF_INET ? 8 : 128, reply = af == AF_INET ? 0 : 129;
	const uint16_t id = htons((uint16_t)getpid()), seq = htons(1);
	int fd = sock(from, af, SOCK_RAW, icmp_proto(af));
	uint8_t msg[64] = { request }, buf[1500];
	struct timespec start, now;
	struct sockaddr_storage ss;
	socklen_t len = netns_sockaddr(&fx.ns, to, af, 0, &ss);
	bool answered = false;
	ssize_t n;

	memcpy(msg + 4, &id, 2);
	memcpy(msg + 6, &seq, 2);
	memcpy(msg + 8, "autoxdp echo", 12);
	if (af == AF_INET) {
		uint16_t csum = inet_csum(msg, sizeof(msg));

		memcpy(msg + 2, &csum, 2);
	}
	cr_assert(sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&ss, len) == sizeof(msg),
		  "echo request from %s: %s", fx.ns.name[from], strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* A raw socket sees all ICMP of its namespace: wait for our reply among whatever else comes. */
	for (;;) {
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = IO_TIMEOUT_MS - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		if (ms <= 0 || !tsock_datagram_within(fd, buf, sizeof(buf), &n, NULL, (int)ms))
			break;
		/* IPv4 raw sockets deliver the IP header, IPv6 ones do not. */
		size_t off = af == AF_INET ? (size_t)(buf[0] & 0x0f) * 4 : 0;

		if ((size_t)n >= off + 8 && buf[off] == reply && !memcmp(buf + off + 4, &id, 2) &&
		    !memcmp(buf + off + 6, &seq, 2)) {
			answered = true;
			break;
		}
	}
	close(fd);
	return answered;
}

FAMILY_TEST(netns, ping_to_server_is_answered)
{
	uint64_t before = counter(AXDP_PASS_ICMP_ECHO);

	cr_assert(ping(CLIENT, SERVER, f->af), "%s: the client's echo request to the server got no reply", f->name);
	cr_assert_gt(counter(AXDP_PASS_ICMP_ECHO), before, "%s: counter icmp_echo_request did not grow", f->name);
}

FAMILY_TEST(netns, server_ping_gets_replies)
{
	uint64_t before = counter(AXDP_PASS_ICMP_FLOW);

	cr_assert(ping(SERVER, CLIENT, f->af), "%s: the server's echo request to the client got no reply", f->name);
	cr_assert_gt(counter(AXDP_PASS_ICMP_FLOW), before, "%s: counter icmp_echo_reply did not grow", f->name);
}

struct too_big {
	int af;
	char name[32];
	uint8_t type, code;
	uint8_t origin;     /* SO_EE_ORIGIN_* the error queue reports */
	uint16_t mtu;
};

static struct too_big too_bigs[] = {
	{ AF_INET, "ICMP frag-needed", 3, 4, SO_EE_ORIGIN_ICMP, 1300 },
	{ AF_INET6, "ICMPv6 packet-too-big", 2, 0, SO_EE_ORIGIN_ICMP6, 1280 },
};

ParameterizedTestParameters(netns, path_mtu_error_reaches_server)
{
	return cr_make_param_array(struct too_big, too_bigs, 2);
}

/*
 * What a router on the path would send about a datagram the server sent:
 * the error, then the offending packet's IP header and its first 8 bytes.
 */
static size_t craft_too_big(const struct too_big *t, uint16_t srv_port, uint16_t cli_port, uint8_t *msg)
{
	struct sockaddr_storage srv, cli;
	uint16_t sport = htons(srv_port), dport = htons(cli_port), udp_len = htons(8 + 100), csum;
	size_t ip_len;

	netns_sockaddr(&fx.ns, SERVER, t->af, 0, &srv);
	netns_sockaddr(&fx.ns, CLIENT, t->af, 0, &cli);
	msg[0] = t->type;
	msg[1] = t->code;
	if (t->af == AF_INET) {
		uint16_t mtu = htons(t->mtu), tot = htons(20 + 8 + 100);
		uint8_t *ip = msg + 8;

		memcpy(msg + 6, &mtu, 2);
		ip[0] = 0x45;
		memcpy(ip + 2, &tot, 2);
		ip[6] = 0x40;        /* DF: why a router would answer frag-needed */
		ip[8] = 64;
		ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, &((struct sockaddr_in *)&srv)->sin_addr, 4);
		memcpy(ip + 16, &((struct sockaddr_in *)&cli)->sin_addr, 4);
		csum = inet_csum(ip, 20);
		memcpy(ip + 10, &csum, 2);
		ip_len = 20;
	} else {
		uint32_t mtu = htonl(t->mtu);
		uint16_t payload = htons(8 + 100);
		uint8_t *ip = msg + 8;

		memcpy(msg + 4, &mtu, 4);
		ip[0] = 0x60;
		memcpy(ip + 4, &payload, 2);
		ip[6] = IPPROTO_UDP;
		ip[7] = 64;
		memcpy(ip + 8, &((struct sockaddr_in6 *)&srv)->sin6_addr, 16);
		memcpy(ip + 24, &((struct sockaddr_in6 *)&cli)->sin6_addr, 16);
		ip_len = 40;
	}
	memcpy(msg + 8 + ip_len, &sport, 2);
	memcpy(msg + 8 + ip_len + 2, &dport, 2);
	memcpy(msg + 8 + ip_len + 4, &udp_len, 2);
	if (t->af == AF_INET) {
		csum = inet_csum(msg, 8 + ip_len + 8);
		memcpy(msg + 2, &csum, 2);
	}
	return 8 + ip_len + 8;
}

ParameterizedTest(struct too_big *t, netns, path_mtu_error_reaches_server)
{
	uint16_t srv_port, cli_port;
	/* The client's peer socket takes the server's datagram, so no port-unreachable crosses the test. */
	int peer_fd = bound(CLIENT, t->af, SOCK_DGRAM, &cli_port);
	int srv = bound(SERVER, t->af, SOCK_DGRAM, &srv_port), raw = sock(CLIENT, t->af, SOCK_RAW, icmp_proto(t->af));
	int level = t->af == AF_INET ? SOL_IP : SOL_IPV6, opt = t->af == AF_INET ? IP_RECVERR : IPV6_RECVERR, one = 1;
	struct sockaddr_storage peer, srv_addr;
	socklen_t peer_len = netns_sockaddr(&fx.ns, CLIENT, t->af, cli_port, &peer);
	socklen_t srv_len = netns_sockaddr(&fx.ns, SERVER, t->af, 0, &srv_addr);
	uint64_t before = counter(AXDP_PASS_ICMP_ERROR), unmatched = counter(AXDP_DROP_ICMP_UNMATCHED);
	struct sock_extended_err *ee = NULL;
	uint8_t msg[128] = {}, data[64], control[512];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	struct pollfd pfd = { .fd = srv };
	size_t len;

	/* A connected socket with RECVERR: the kernel hands it the error if, and only if, the ICMP arrived. */
	cr_assert(connect(srv, (struct sockaddr *)&peer, peer_len) == 0, "%s: connecting the server's UDP socket: %s",
		  t->name, strerror(errno));
	cr_assert(setsockopt(srv, level, opt, &one, sizeof(one)) == 0, "%s: RECVERR: %s", t->name, strerror(errno));
	len = craft_too_big(t, srv_port, cli_port, msg);

	/* Before the server sent anything, the error is a forgery: dropped, the socket hears nothing. */
	cr_assert(sendto(raw, msg, len, 0, (struct sockaddr *)&srv_addr, srv_len) == (ssize_t)len,
		  "%s: sending the forged error from the client: %s", t->name, strerror(errno));
	cr_assert(poll(&pfd, 1, 300) == 0, "%s: an error about a datagram never sent reached the socket", t->name);
	cr_assert_gt(counter(AXDP_DROP_ICMP_UNMATCHED), unmatched, "%s: icmp_error_unmatched did not count it", t->name);

	/* Once the server sent a datagram of that flow, the same error is about real traffic. */
	cr_assert(send(srv, "x", 1, 0) == 1, "%s: the server's datagram: %s", t->name, strerror(errno));
	cr_assert(sendto(raw, msg, len, 0, (struct sockaddr *)&srv_addr, srv_len) == (ssize_t)len,
		  "%s: sending it from the client: %s", t->name, strerror(errno));
	cr_assert(poll(&pfd, 1, IO_TIMEOUT_MS) == 1 && (pfd.revents & POLLERR),
		  "%s: the server's socket got no error: the ICMP did not reach the server", t->name);
	cr_assert(recvmsg(srv, &mh, MSG_ERRQUEUE) >= 0, "%s: reading the error queue: %s", t->name, strerror(errno));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == level && c->cmsg_type == opt)
			ee = (struct sock_extended_err *)CMSG_DATA(c);
	cr_assert(ee, "%s: no extended error in the error queue", t->name);
	cr_assert(ee->ee_errno == EMSGSIZE && ee->ee_origin == t->origin && ee->ee_info == t->mtu,
		  "%s: error queue has errno %u origin %u info %u, expected EMSGSIZE from ICMP with MTU %u", t->name,
		  ee->ee_errno, ee->ee_origin, ee->ee_info, t->mtu);
	cr_assert_gt(counter(AXDP_PASS_ICMP_ERROR), before, "%s: counter icmp_error did not grow", t->name);
	close(raw);
	close(srv);
	close(peer_fd);
}

/* ---- attachment life cycle ---- */

Test(netns_generic, generic_xdp_admits_open_and_drops_closed)
{
	struct bpf_xdp_query_opts q = xdp_on_server();

	cr_assert_eq(fx.att.xdp_mode, AXDP_XDP_GENERIC, "%s: attached %s, asked for generic", fx.att.ifname,
		     axdp_xdp_mode_name(fx.att.xdp_mode));
	cr_assert_eq(q.attach_mode, XDP_ATTACHED_SKB, "%s: XDP attach mode %u, expected generic (skb)", fx.att.ifname,
		     q.attach_mode);
	for (size_t i = 0; i < 2; i++) {
		const struct family *f = &families[i];
		uint16_t port;
		int listener = bound(SERVER, f->af, SOCK_STREAM, &port), cli = sock(CLIENT, f->af, SOCK_STREAM, 0), srv;
		int closed = sock(CLIENT, f->af, SOCK_STREAM, 0), rc;
		uint64_t dropped = counter(AXDP_DROP_TCP_CLOSED);

		open_port(AXDP_L4_TCP, port);
		rc = connect_within(cli, SERVER, f->af, port, IO_TIMEOUT_MS);
		cr_assert_eq(rc, 0, "%s: connect to open port %u: %s", f->name, port, strerror(rc));
		srv = accept_one(listener);
		carry(cli, srv, 64 * 1024, "client to server");
		rc = connect_within(closed, SERVER, f->af, CLOSED_PORT, CLOSED_WAIT_MS);
		cr_assert_eq(rc, ETIMEDOUT, "%s: connect to closed port %u: expected a timeout, got %s", f->name,
			     CLOSED_PORT, rc ? strerror(rc) : "connected");
		cr_assert_gt(counter(AXDP_DROP_TCP_CLOSED), dropped, "%s: counter tcp_port_closed did not grow", f->name);
		close(closed);
		close(srv);
		close(cli);
		close(listener);
	}
}

static __u32 pinned_link_id(const char *hook)
{
	char path[PATH_MAX];
	__u32 id;
	int fd;

	snprintf(path, sizeof(path), "%s/links/%s-%s", fx.pin_dir, hook, fx.ns.ifname[SERVER]);
	fd = bpf_obj_get(path);
	cr_assert(fd >= 0, "opening pinned link %s: %s", path, strerror(errno));
	id = obj_id(fd, path);
	close(fd);
	return id;
}

Test(netns, detach_and_remove_all_leave_nothing)
{
	__u32 links[] = { pinned_link_id("xdp"), pinned_link_id("tc") }, tc_id;
	struct bpf_xdp_query_opts q;
	char err[512];
	struct stat st;
	int cli, rc;

	cr_assert(axdp_detach(fx.pin_dir, fx.ns.ifname[SERVER], err, sizeof(err)) == 0, "axdp_detach: %s", err);
	cr_assert(axdp_remove_all(fx.pin_dir, err, sizeof(err)) == 0, "axdp_remove_all: %s", err);
	axdp_datapath_close(&fx.dp);

	cr_assert(stat(fx.pin_dir, &st) != 0 && errno == ENOENT, "pin directory %s still exists", fx.pin_dir);
	q = xdp_on_server();
	cr_assert(q.attach_mode == XDP_ATTACHED_NONE && q.prog_id == 0, "%s: XDP program %u still attached (mode %u)",
		  fx.ns.ifname[SERVER], q.prog_id, q.attach_mode);
	cr_assert_eq(tcx_on_server(&tc_id), 0, "%s: tcx egress program %u still attached", fx.ns.ifname[SERVER], tc_id);
	for (size_t i = 0; i < 2; i++) {
		int fd = bpf_link_get_fd_by_id(links[i]);

		cr_assert(fd < 0 && errno == ENOENT, "link %u still exists after removal", links[i]);
	}
	/* The stack answers for itself again: the timeout before was the firewall's doing. */
	cli = sock(CLIENT, AF_INET, SOCK_STREAM, 0);
	rc = connect_within(cli, SERVER, AF_INET, CLOSED_PORT, IO_TIMEOUT_MS);
	cr_assert_eq(rc, ECONNREFUSED, "connect to closed port %u without the firewall: expected refused, got %s",
		     CLOSED_PORT, rc ? strerror(rc) : "connected");
	close(cli);
}

/* ---- adoption: a second load takes over the pinned maps and links under live traffic ---- */

struct stream {
	int fd;
	atomic_bool stop;
	atomic_size_t moved;
	size_t total;
	char error[160];
};

/* Writes the pattern until told to stop, then closes its direction so the reader sees EOF. */
static void *write_stream(void *arg)
{
	struct stream *s = arg;
	const struct timespec pause = { .tv_nsec = 200 * 1000 };
	uint8_t buf[CHUNK];
	size_t off = 0;

	while (!atomic_load(&s->stop)) {
		for (size_t i = 0; i < CHUNK; i++)
			buf[i] = pattern(off + i);
		for (size_t done = 0; done < CHUNK;) {
			ssize_t n = send(s->fd, buf + done, CHUNK - done, MSG_NOSIGNAL);

			if (n <= 0) {
				snprintf(s->error, sizeof(s->error), "send at byte %zu: %s", off + done, strerror(errno));
				shutdown(s->fd, SHUT_WR);
				return NULL;
			}
			done += (size_t)n;
		}
		off += CHUNK;
		s->total = off;
		nanosleep(&pause, NULL);
	}
	shutdown(s->fd, SHUT_WR);
	return NULL;
}

static void *read_stream(void *arg)
{
	struct stream *s = arg;
	uint8_t buf[CHUNK];
	size_t off = 0;
	ssize_t n;

	while ((n = recv(s->fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(off + (size_t)i)) {
				snprintf(s->error, sizeof(s->error), "byte %zu is %u, expected %u", off + (size_t)i, buf[i],
					 pattern(off + (size_t)i));
				return NULL;
			}
		off += (size_t)n;
		atomic_store(&s->moved, off);
	}
	if (n < 0)
		snprintf(s->error, sizeof(s->error), "receive at byte %zu: %s", off, strerror(errno));
	return NULL;
}

static void wait_moved(struct stream *s, size_t more_than)
{
	for (int i = 0; i < IO_TIMEOUT_MS && atomic_load(&s->moved) <= more_than; i++)
		usleep(1000);
	cr_assert_gt(atomic_load(&s->moved), more_than, "the stream stalled at byte %zu", more_than);
}

Test(netns, second_load_adopts_links_without_losing_data)
{
	struct axdp_load_opts opts = load_opts();
	struct axdp_datapath dp2;
	struct axdp_attachment att2;
	struct stream out = {}, in = {};
	pthread_t writer, reader;
	struct tcp_info ti = {};
	socklen_t ti_len = sizeof(ti);
	uint16_t port;
	int listener = bound(SERVER, AF_INET, SOCK_STREAM, &port), cli = sock(CLIENT, AF_INET, SOCK_STREAM, 0);
	uint64_t dropped = counter(AXDP_DROP_TCP_CLOSED);
	size_t at_swap;
	__u32 tc_id;
	char err[512];
	int rc;

	open_port(AXDP_L4_TCP, port);
	rc = connect_within(cli, SERVER, AF_INET, port, IO_TIMEOUT_MS);
	cr_assert_eq(rc, 0, "connect to open port %u: %s", port, strerror(rc));
	out.fd = cli;
	in.fd = accept_one(listener);
	cr_assert(pthread_create(&reader, NULL, read_stream, &in) == 0 &&
		  pthread_create(&writer, NULL, write_stream, &out) == 0, "starting the stream threads");
	wait_moved(&in, 0);

	/* An open port only stays open if the new programs see the old port_allow: the maps must be reused. */
	rc = axdp_datapath_load(&dp2, &opts, err, sizeof(err));
	if (rc == 0)
		rc = axdp_attach(&dp2, fx.ns.ifname[SERVER], AXDP_XDP_NATIVE, &att2, err, sizeof(err));
	at_swap = atomic_load(&in.moved);
	if (rc == 0)
		wait_moved(&in, at_swap + 256 * 1024);
	atomic_store(&out.stop, true);
	pthread_join(writer, NULL);
	pthread_join(reader, NULL);
	if (rc && dp2.obj)
		axdp_datapath_close(&dp2);
	cr_assert_eq(rc, 0, "second load or attach under traffic: %s", err);
	getsockopt(cli, IPPROTO_TCP, TCP_INFO, &ti, &ti_len);

	cr_assert(att2.adopted, "%s: second attach created new links instead of adopting the pinned ones",
		  att2.ifname);
	cr_assert_eq(obj_id(map_fd(&dp2, AXDP_MAP_PORT_ALLOW), "new port_allow"),
		     obj_id(map_fd(&fx.dp, AXDP_MAP_PORT_ALLOW), "old port_allow"),
		     "second load created a new %s map instead of reusing the pinned one", AXDP_MAP_PORT_ALLOW);
	cr_assert_eq(xdp_on_server().prog_id, obj_id(dp2.xdp_fd, "new " AXDP_PROG_XDP),
		     "%s: the new XDP program is not the one attached", att2.ifname);
	cr_assert_eq(tcx_on_server(&tc_id), 1, "%s: expected exactly one tcx egress program", att2.ifname);
	cr_assert_eq(tc_id, obj_id(dp2.tc_fd, "new " AXDP_PROG_TC), "%s: the new tc program is not the one attached",
		     att2.ifname);
	axdp_datapath_close(&fx.dp);
	fx.dp = dp2;

	cr_assert(!out.error[0] && !in.error[0], "stream: writer: %s; reader: %s", out.error, in.error);
	cr_assert_eq(atomic_load(&in.moved), out.total, "stream: %zu bytes sent, %zu received", out.total,
		     atomic_load(&in.moved));
	/* TCP repairs losses by itself: a retransmission is the only trace a gap in the hook would leave. */
	cr_assert_eq(ti.tcpi_total_retrans, 0, "stream: %u retransmissions around the swap", ti.tcpi_total_retrans);
	cr_assert_eq(counter(AXDP_DROP_TCP_CLOSED), dropped, "stream: segments were dropped as to a closed port");
	close(in.fd);
	close(cli);
	close(listener);
}
