// SPDX-License-Identifier: MIT
/*
 * Flood defense end to end: the data path attached natively to a veth
 * between two throwaway namespaces, a packet generator of ours
 * (lib/flood.h) writing spoofed frames from the client side, and real
 * sockets on both.  Judged by what the sockets experience (no byte lost,
 * no reset, a new client still connects) and by the counters, which must
 * account for every frame the generator sent, less what veth dropped
 * before XDP saw it (the sender's tx_dropped).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/hooks.h>
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "counters.h"
#include "crit_fixture.h"
#include "crit_suite.h"
#include "dpfix.h"
#include "flood.h"
#include "loader.h"
#include "netns.h"
#include "rate_knobs.h"
#include "sock.h"
#include "timing.h"

#define SERVER NETNS_SERVER
#define CLIENT NETNS_CLIENT
#define PIN_PREFIX "axdp-flood-"

enum {
	SERVICE_PORT = 8000,
	STRICT_PORT = 2222,
	CONNECTIONS = 10,
	FLOOD_SYNS = 1000000,
	CLOSED_FLOOD = 300000,
	IO_MS = 3000,
	SEGMENT_SLACK = 8,   /* the client's own segments sent while the counters are read: extra counts */
};

static struct dpfix fx = DPFIX_INIT;
static struct flood fl = { .fd = -1 };

/* ---- fixture ---- */

static void teardown(void)
{
	char err[1024];

	flood_close(&fl);
	/* Only the namespaces count here: test_netns is where detaching is judged. */
	dpfix_detach(&fx, err, sizeof(err));
	cr_expect(netns_pair_destroy(&fx.ns, err, sizeof(err)) == 0, "teardown: %s", err);
}

CRIT_AFTER_ALL(dpfix_remove_stale(PIN_PREFIX))

/* The data path with the knobs the daemon would derive from a configuration changed by tweak. */
static void setup_with(void (*tweak)(struct axdp_config *))
{
	struct axdp_knobs knobs = AXDP_KNOBS_DEFAULT;
	const char *object = getenv("AXDP_BPF_OBJECT");
	struct axdp_config cfg;
	char err[512];

	axdp_config_defaults(&cfg);
	if (tweak)
		tweak(&cfg);
	axdp_rate_knobs(&knobs, &cfg, 0);
	axdp_config_free(&cfg);
	if (dpfix_setup(&fx, PIN_PREFIX, object && *object ? object : "build/autoxdp.bpf.o", &knobs, AXDP_XDP_NATIVE,
			err, sizeof(err)) ||
	    flood_open(&fl, &fx.ns, err, sizeof(err))) {
		teardown();
		cr_assert_fail("setup: %s", err);
	}
}

static int map_fd(const char *name)
{
	char err[256];
	int fd = axdp_datapath_map_fd(&fx.dp, name, err, sizeof(err));

	cr_assert(fd >= 0, "%s", err);
	return fd;
}

static void open_port(uint16_t port, enum axdp_tier tier)
{
	struct axdp_port_slot slot = { .flags = AXDP_PORT_OPEN_ANY, .tier = tier };
	__u32 idx = AXDP_L4_TCP * AXDP_PORTS + port;

	cr_assert(bpf_map_update_elem(map_fd(AXDP_MAP_PORT_ALLOW), &idx, &slot, BPF_ANY) == 0, "opening %u: %s", port,
		  strerror(errno));
}

static void counts(uint64_t out[AXDP_REASON_COUNT])
{
	struct axdp_counter all[AXDP_REASON_COUNT];

	cr_assert(axdp_counters_read(map_fd(AXDP_MAP_COUNTERS), AXDP_ALL_SLOTS, all) == 0, "counters: %s",
		  strerror(errno));
	for (int r = 0; r < AXDP_REASON_COUNT; r++)
		out[r] = all[r].packets;
}

static struct flood_link_stats client_link(void)
{
	struct flood_link_stats st;
	char err[256];

	cr_assert(flood_link_stats(fx.ns.name[CLIENT], fx.ns.ifname[CLIENT], &st, err, sizeof(err)) == 0, "%s", err);
	return st;
}

static uint64_t client_tcp_out(void)
{
	uint64_t segs;
	char err[256];

	cr_assert(flood_tcp_segments_out(fx.ns.name[CLIENT], &segs, err, sizeof(err)) == 0, "%s", err);
	return segs;
}

/* counts() once XDP has caught up: twice the same across a pause, or the last after a hang limit of 2 s. */
static void counts_settled(uint64_t out[AXDP_REASON_COUNT])
{
	uint64_t again[AXDP_REASON_COUNT];

	counts(out);
	for (int i = 0; i < 100; i++) {
		sleep_ms(20);
		counts(again);
		if (!memcmp(out, again, sizeof(again)))
			return;
		memcpy(out, again, sizeof(again));
	}
}

/*
 * Are all of sent flood frames and the client's segs own segments
 * accounted for, as counted by XDP or lost by veth before it?  The
 * snapshots are taken in an order that leaves only extra counts possible:
 * the counters before the client's segment count, and after it once XDP
 * has caught up (counts_settled), so a segment the client sends in between
 * is counted by XDP and not in segs.  Up to SEGMENT_SLACK of those; not
 * one frame fewer.
 */
static bool all_frames_accounted(uint64_t counted, uint64_t lost, uint64_t sent, uint64_t segs, char *why, size_t len)
{
	uint64_t seen = counted + lost, want = sent + segs;

	if (seen >= want && seen <= want + SEGMENT_SLACK)
		return true;
	snprintf(why, len, "counted %llu + dropped by veth %llu, expected %llu flood frames + %llu segments of the client "
		 "(and up to %d more)", (unsigned long long)counted, (unsigned long long)lost, (unsigned long long)sent,
		 (unsigned long long)segs, SEGMENT_SLACK);
	return false;
}

/* The check above fails on a single frame missing, and on more extra counts than the client could send. */
Test(flood_check, all_frames_accounted_is_one_sided)
{
	char why[256];

	cr_expect(all_frames_accounted(1000 + 20, 0, 1000, 20, why, sizeof(why)));
	cr_expect(all_frames_accounted(990 + 20, 10, 1000, 20, why, sizeof(why)));
	cr_expect(all_frames_accounted(1000 + 20 + SEGMENT_SLACK, 0, 1000, 20, why, sizeof(why)));
	cr_expect(!all_frames_accounted(1000 + 20 - 1, 0, 1000, 20, why, sizeof(why)), "one frame missing passed");
	cr_expect(!all_frames_accounted(1000 + 20 + SEGMENT_SLACK + 1, 0, 1000, 20, why, sizeof(why)),
		  "more extra counts than the slack passed");
}

/* ---- sockets ---- */

static int sock(enum netns_side side, int type)
{
	char err[256];
	int fd = netns_socket(fx.ns.name[side], AF_INET, type, 0, err, sizeof(err));

	cr_assert(fd >= 0, "%s", err);
	tsock_timeouts(fd, IO_MS);
	return fd;
}

static int listener(uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = netns_sockaddr(&fx.ns, SERVER, AF_INET, port, &ss);
	int fd = sock(SERVER, SOCK_STREAM);

	cr_assert(tsock_bind(fd, &ss, len, 128) == 0, "listening on %u: %s", port, strerror(errno));
	return fd;
}

/* 0 or the errno of a connect from the client side, ETIMEDOUT after ms. */
static int connect_within(int fd, uint16_t port, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len = netns_sockaddr(&fx.ns, SERVER, AF_INET, port, &ss);

	return tsock_connect_within(fd, &ss, len, ms);
}

/* ---- established connections carrying data through the flood ---- */

static uint8_t pattern(size_t i, int conn)
{
	return (uint8_t)((i * 7 + (size_t)conn) % 251);
}

struct conn {
	int id, cli, srv;
	atomic_bool *go, *stop;
	size_t sent, echoed;
	int error;            /* errno of the first failure, EBADMSG for a wrong byte */
	pthread_t client_th, server_th;
};

/* The server side echoes until the client shuts down its half. */
static void *echo(void *arg)
{
	struct conn *c = arg;
	char buf[16384];
	ssize_t n;

	while ((n = recv(c->srv, buf, sizeof(buf), 0)) > 0)
		for (ssize_t off = 0, w; off < n; off += w)
			if ((w = send(c->srv, buf + off, (size_t)(n - off), MSG_NOSIGNAL)) <= 0)
				return NULL;
	shutdown(c->srv, SHUT_WR);
	return NULL;
}

/* 4 KiB every 5 ms while the flood lasts, every echoed byte checked; then the rest drains. */
static void *talk(void *arg)
{
	struct conn *c = arg;
	uint8_t out[4096], in[16384];
	bool done_writing = false;
	double next;

	while (!atomic_load(c->go))
		usleep(1000);
	next = now_s();
	while (!c->error) {
		struct pollfd pfd = { .fd = c->cli, .events = POLLIN };
		ssize_t n;

		if (!done_writing && atomic_load(c->stop)) {
			shutdown(c->cli, SHUT_WR);
			done_writing = true;
		}
		if (!done_writing && now_s() >= next) {
			for (size_t i = 0; i < sizeof(out); i++)
				out[i] = pattern(c->sent + i, c->id);
			n = send(c->cli, out, sizeof(out), MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN)
				c->error = errno;
			c->sent += n > 0 ? (size_t)n : 0;
			next += 0.005;
		}
		if (poll(&pfd, 1, 2) < 0)
			continue;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(c->cli, in, sizeof(in), MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno != EAGAIN)
				c->error = errno;
			continue;
		}
		for (ssize_t i = 0; i < n && !c->error; i++)
			if (in[i] != pattern(c->echoed + (size_t)i, c->id))
				c->error = EBADMSG;
		c->echoed += (size_t)n;
	}
	return NULL;
}

struct new_client {
	double delay_s;
	int rc;
	double took_s;
};

static void *late_client(void *arg)
{
	struct new_client *n = arg;
	struct timespec ts = { 0, (long)(n->delay_s * 1e9) };
	int fd = sock(CLIENT, SOCK_STREAM);
	double t0;

	nanosleep(&ts, NULL);
	t0 = now_s();
	n->rc = connect_within(fd, SERVICE_PORT, IO_MS);
	n->took_s = now_s() - t0;
	close(fd);
	return NULL;
}

/* ---- the cases ---- */

static void coarse_sources(struct axdp_config *c)
{
	/* A spoofer's /16 falls into 256 buckets: the burst and rate per /24 show in the counters. */
	c->source_prefix_v4 = 24;
}

CRIT_SUITE(flood, 120, NULL, teardown);

Test(flood, spoofed_syn_flood_spares_established_connections_and_a_new_client)
{
	uint64_t before[AXDP_REASON_COUNT], after[AXDP_REASON_COUNT], segs0, segs1, tcp_counted, flood_passed, lost, bound;
	struct flood_spec spec = { .kind = FLOOD_SYN, .src = flood_ip4("100.64.0.0"), .src_count = 65536,
				   .dport_lo = SERVICE_PORT, .dport_hi = SERVICE_PORT, .count = FLOOD_SYNS,
				   .max_seconds = 40 };
	struct flood_link_stats l0, l1;
	struct conn conns[CONNECTIONS];
	struct new_client late = { .delay_s = 0.3, .rc = -1 };
	struct flood_result res;
	atomic_bool go = false, stop = false;
	struct timespec quiet = { 0, 300 * 1000000L };
	pthread_t late_th;
	char err[256], why[256];
	int lfd;

	setup_with(coarse_sources);
	spec.dst = flood_ip4(fx.ns.ip4[SERVER]);
	lfd = listener(SERVICE_PORT);
	open_port(SERVICE_PORT, AXDP_TIER_NORMAL);
	for (int i = 0; i < CONNECTIONS; i++) {
		conns[i] = (struct conn){ .id = i, .cli = sock(CLIENT, SOCK_STREAM), .go = &go, .stop = &stop };
		cr_assert_eq(connect_within(conns[i].cli, SERVICE_PORT, IO_MS), 0, "connection %d", i);
		conns[i].srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		cr_assert(conns[i].srv >= 0, "accept: %s", strerror(errno));
	}
	for (int i = 0; i < CONNECTIONS; i++)
		cr_assert(pthread_create(&conns[i].server_th, NULL, echo, &conns[i]) == 0 &&
			  pthread_create(&conns[i].client_th, NULL, talk, &conns[i]) == 0);

	/* Snapshots while the client's stack is quiet (no delayed ACK due), so no segment falls between two reads. */
	nanosleep(&quiet, NULL);
	counts(before);
	l0 = client_link();
	segs0 = client_tcp_out();
	atomic_store(&go, true);
	cr_assert(pthread_create(&late_th, NULL, late_client, &late) == 0);
	cr_assert(flood_send(&fl, &spec, &res, err, sizeof(err)) == 0, "%s", err);
	pthread_join(late_th, NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < CONNECTIONS; i++) {
		pthread_join(conns[i].client_th, NULL);
		pthread_join(conns[i].server_th, NULL);
	}
	nanosleep(&quiet, NULL);
	segs1 = client_tcp_out();
	l1 = client_link();
	counts_settled(after);

	cr_log_info("%llu SYNs in %.2f s (%.0f kpps); veth dropped %llu before XDP (%llu of them refused at sendmmsg); "
		    "syn_rate_limited %llu, tcp_port_open %llu (the client's own segments %llu); new client connected in %.0f ms",
		    (unsigned long long)res.sent, res.seconds, res.sent / res.seconds / 1e3,
		    (unsigned long long)(l1.tx_dropped - l0.tx_dropped), (unsigned long long)res.refused,
		    (unsigned long long)(after[AXDP_DROP_SYN_RATE] - before[AXDP_DROP_SYN_RATE]),
		    (unsigned long long)(after[AXDP_PASS_TCP_PORT] - before[AXDP_PASS_TCP_PORT]),
		    (unsigned long long)(segs1 - segs0), late.took_s * 1e3);
	cr_assert_eq(res.sent, FLOOD_SYNS, "the generator stopped after %llu frames", (unsigned long long)res.sent);
	for (int i = 0; i < CONNECTIONS; i++) {
		cr_expect_eq(conns[i].error, 0, "connection %d: %s", i, strerror(conns[i].error));
		cr_expect_eq(conns[i].echoed, conns[i].sent, "connection %d: %zu bytes sent, %zu came back", i,
			     conns[i].sent, conns[i].echoed);
		cr_expect_gt(conns[i].sent, 0, "connection %d carried nothing", i);
		close(conns[i].cli);
		close(conns[i].srv);
	}
	cr_expect_eq(late.rc, 0, "a new client during the flood: %s", strerror(late.rc));

	/*
	 * Every frame the generator and the client's stack sent is counted
	 * once, under these two reasons, unless veth dropped it before XDP
	 * (its tx_dropped, less the generator's own refused frames, which
	 * were never sent: a full ring refuses them at sendmmsg).
	 */
	lost = l1.tx_dropped - l0.tx_dropped - res.refused;
	tcp_counted = after[AXDP_DROP_SYN_RATE] - before[AXDP_DROP_SYN_RATE] + after[AXDP_PASS_TCP_PORT] -
		      before[AXDP_PASS_TCP_PORT];
	/* The client's stack keeps talking while the counters are read (a delayed ACK, a FIN): see all_frames_accounted. */
	cr_expect(all_frames_accounted(tcp_counted, lost, res.sent, segs1 - segs0, why, sizeof(why)), "%s", why);
	/* 256 buckets, each the burst and then the rate: the rest is dropped in XDP. */
	flood_passed = after[AXDP_PASS_TCP_PORT] - before[AXDP_PASS_TCP_PORT] - (segs1 - segs0 - lost);
	bound = 256 * (AXDP_DEFAULT_SYN_BURST + (uint64_t)(AXDP_DEFAULT_SYN_PER_S * res.seconds) + 1);
	cr_expect_leq(flood_passed, bound, "%llu flood SYNs passed, the rate limit allows %llu",
		      (unsigned long long)flood_passed, (unsigned long long)bound);
	cr_expect_gt(after[AXDP_DROP_SYN_RATE] - before[AXDP_DROP_SYN_RATE], res.sent / 2,
		     "most of a /16's SYNs in 256 /24 buckets should be over the rate");
	cr_expect_eq(after[AXDP_DROP_TCP_CLOSED] - before[AXDP_DROP_TCP_CLOSED], 0);
	close(lfd);
}

Test(flood, ack_flood_and_udp_flood_to_closed_ports_drop_in_xdp)
{
	struct flood_spec ack = { .kind = FLOOD_ACK, .src = flood_ip4("198.18.0.0"), .src_count = 131072,
				  .dport_lo = 20000, .dport_hi = 29999, .count = CLOSED_FLOOD, .max_seconds = 25 },
			  udp = { .kind = FLOOD_UDP, .src = flood_ip4("203.0.113.0"), .src_count = 256, .dport_lo = 30000,
				  .dport_hi = 39999, .count = CLOSED_FLOOD, .max_seconds = 25, .seed = 7 };
	uint64_t before[AXDP_REASON_COUNT], mid[AXDP_REASON_COUNT], after[AXDP_REASON_COUNT];
	struct flood_link_stats l0, l1, l2;
	struct flood_result ra, ru;
	char err[256];

	setup_with(NULL);
	ack.dst = udp.dst = flood_ip4(fx.ns.ip4[SERVER]);
	counts(before);
	l0 = client_link();
	cr_assert(flood_send(&fl, &ack, &ra, err, sizeof(err)) == 0, "%s", err);
	l1 = client_link();
	counts(mid);
	cr_assert(flood_send(&fl, &udp, &ru, err, sizeof(err)) == 0, "%s", err);
	l2 = client_link();
	counts(after);
	cr_log_info("ACK flood %llu frames in %.2f s, UDP flood %llu in %.2f s; veth dropped %llu and %llu",
		    (unsigned long long)ra.sent, ra.seconds, (unsigned long long)ru.sent, ru.seconds,
		    (unsigned long long)(l1.tx_dropped - l0.tx_dropped), (unsigned long long)(l2.tx_dropped - l1.tx_dropped));
	cr_expect_eq(mid[AXDP_DROP_TCP_CLOSED] - before[AXDP_DROP_TCP_CLOSED] + (l1.tx_dropped - l0.tx_dropped - ra.refused),
		     ra.sent,
		     "ACKs to closed ports: %llu counted, %llu sent",
		     (unsigned long long)(mid[AXDP_DROP_TCP_CLOSED] - before[AXDP_DROP_TCP_CLOSED]), (unsigned long long)ra.sent);
	cr_expect_eq(after[AXDP_DROP_UDP_CLOSED] - mid[AXDP_DROP_UDP_CLOSED] + (l2.tx_dropped - l1.tx_dropped - ru.refused),
		     ru.sent,
		     "datagrams to closed ports: %llu counted, %llu sent",
		     (unsigned long long)(after[AXDP_DROP_UDP_CLOSED] - mid[AXDP_DROP_UDP_CLOSED]), (unsigned long long)ru.sent);
	for (int r = 0; r < AXDP_REASON_COUNT; r++)
		if (axdp_reason_action(r) == AXDP_ACTION_pass && r != AXDP_PASS_NON_IP && r != AXDP_PASS_NDP)
			cr_expect_eq(after[r] - before[r], 0, "%llu packets passed as reason %d during the floods",
				     (unsigned long long)(after[r] - before[r]), r);
	cr_assert_eq(ra.sent + ru.sent, 2 * CLOSED_FLOOD);
}

enum { STRICT_RATE = 20, STRICT_BURST = 5, BRUTE_PPS = 2000, GOOD_PER_S = 15 };

static void strict_20_burst_5(struct axdp_config *c)
{
	c->strict_syn_per_s = STRICT_RATE;
	c->strict_syn_burst = STRICT_BURST;
}

struct good_client {
	atomic_bool *brute_done;
	int attempts, answered;
};

/*
 * Connects at most GOOD_PER_S a second, under the limit, until the brute
 * force is over and at least 2 x GOOD_PER_S times: each must be answered
 * at its first SYN (however slowly: the time is the machine's, the
 * retransmission count the firewall's).
 */
static void *good_client(void *arg)
{
	struct good_client *g = arg;

	for (g->attempts = 0; g->attempts < 2 * GOOD_PER_S || !atomic_load(g->brute_done); g->attempts++) {
		int fd = sock(CLIENT, SOCK_STREAM);
		struct timespec gap = { 0, 1000000000L / GOOD_PER_S };
		struct tcp_info ti = {};
		socklen_t len = sizeof(ti);

		g->answered += connect_within(fd, STRICT_PORT, IO_MS) == 0 &&
			       getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_total_retrans == 0;
		close(fd);
		nanosleep(&gap, NULL);
	}
	return NULL;
}

Test(flood, rate_limit_passes_a_good_client_and_holds_a_brute_force_to_the_rate)
{
	char brute_src[INET_ADDRSTRLEN];
	struct flood_spec brute = { .kind = FLOOD_SYN, .src_count = 1, .dport_lo = STRICT_PORT, .dport_hi = STRICT_PORT,
				    .count = 2 * BRUTE_PPS, .pps = BRUTE_PPS, .max_seconds = 30 };
	uint64_t before[AXDP_REASON_COUNT], after[AXDP_REASON_COUNT], segs0, segs1, passed, limited, bound, lost;
	atomic_bool brute_done = false;
	struct good_client good = { .brute_done = &brute_done };
	struct flood_link_stats l0, l1;
	struct flood_result res;
	pthread_t th;
	char err[256];
	int lfd;

	setup_with(strict_20_burst_5);
	/* An unused address of the client's subnet: the brute force has a bucket of its own. */
	snprintf(brute_src, sizeof(brute_src), "10.200.%u.50", fx.ns.subnet);
	brute.src = flood_ip4(brute_src);
	brute.dst = flood_ip4(fx.ns.ip4[SERVER]);
	lfd = listener(STRICT_PORT);
	open_port(STRICT_PORT, AXDP_TIER_STRICT);
	/* The listener takes the good client's connections; the brute force never finishes a handshake. */
	fcntl(lfd, F_SETFL, O_NONBLOCK);

	counts(before);
	l0 = client_link();
	segs0 = client_tcp_out();
	cr_assert(pthread_create(&th, NULL, good_client, &good) == 0);
	cr_assert(flood_send(&fl, &brute, &res, err, sizeof(err)) == 0, "%s", err);
	atomic_store(&brute_done, true);
	pthread_join(th, NULL);
	/* The last connection's FIN and ACKs settle before the counters are read. */
	nanosleep(&(struct timespec){ 0, 300 * 1000000L }, NULL);
	segs1 = client_tcp_out();
	l1 = client_link();
	counts(after);
	for (int fd; (fd = accept(lfd, NULL, NULL)) >= 0;)
		close(fd);

	lost = l1.tx_dropped - l0.tx_dropped - res.refused;
	limited = after[AXDP_DROP_SYN_RATE] - before[AXDP_DROP_SYN_RATE];
	passed = after[AXDP_PASS_TCP_PORT] - before[AXDP_PASS_TCP_PORT] - (segs1 - segs0);
	/*
	 * The documented bound: burst + rate x time, times the CPUs receiving
	 * the source (racing CPUs may each let one through).  Here one CPU
	 * receives: veth runs the peer's NAPI on the sender's CPU.
	 */
	bound = STRICT_BURST + (uint64_t)(STRICT_RATE * res.seconds) + 1;
	cr_log_info("brute force: %llu SYNs in %.2f s, %llu passed (bound %llu), %llu limited; good client %d of %d",
		    (unsigned long long)res.sent, res.seconds, (unsigned long long)passed, (unsigned long long)bound,
		    (unsigned long long)limited, good.answered, good.attempts);
	cr_expect_eq(good.answered, good.attempts, "the good client's first SYN was answered %d times of %d",
		     good.answered, good.attempts);
	cr_expect_eq(passed + limited + lost, res.sent, "brute force: %llu passed + %llu limited + %llu lost != %llu sent",
		     (unsigned long long)passed, (unsigned long long)limited, (unsigned long long)lost,
		     (unsigned long long)res.sent);
	cr_expect_leq(passed, bound, "%llu SYNs passed, more than the %llu the rate allows", (unsigned long long)passed,
		      (unsigned long long)bound);
	/*
	 * How many more than the burst pass depends on how evenly this busy
	 * machine let the generator send; that the limit holds back no one
	 * under the rate is the good client's part.
	 */
	cr_expect_geq(passed, STRICT_BURST, "%llu SYNs passed: less than the burst of %d", (unsigned long long)passed,
		      STRICT_BURST);
	close(lfd);
}
