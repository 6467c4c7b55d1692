// SPDX-License-Identifier: MIT
/*
 * Upgrades across changed map definitions: the data path attached for
 * real on a veth, then a second object built from the same sources with
 * other map sizes (build/autoxdp-resized.bpf.o: conntrack, the deny tries
 * and the counters differ) takes over, the way a package upgrade's new
 * daemon does: load, attach (the links swap programs), take over.  A
 * session that only conntrack lets in keeps carrying data at every step,
 * and what the old maps held is in the new ones.  A takeover that fails
 * (build/autoxdp-badmap.bpf.o, whose conntrack cannot be created) leaves
 * the old programs and maps enforcing.  The daemon does the same when it
 * restarts onto the resized object.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <netinet/tcp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "counters.h"
#include "crit_fixture.h"
#include "crit_sock.h"
#include "crit_suite.h"
#include "dpfix.h"
#include "loader.h"
#include "run.h"

#define SERVER NETNS_SERVER
#define CLIENT NETNS_CLIENT
#define PIN_PREFIX "axdp-upg-"
#define IO_TIMEOUT_MS 2000
/* Long enough for SYN retransmission not to matter. */
#define DROP_WAIT_MS 1500
/* Nothing listens there. */
#define CLOSED_PORT 9
/* The client's second address, on the deny list. */
#define DENIED_HOST 3
/* What the resized object's maps hold (Makefile, UPGRADE_OBJS). */
#define RESIZED_CT_ENTRIES 131072
#define RESIZED_DENY_ENTRIES 524288
/* Loading and verifying the object takes a few hundred ms; this only bounds a failure. */
#define READY_MS 20000
#define STOP_MS 5000

static struct dpfix fx = DPFIX_INIT;
/* The running case's fixture, for the daemon suite. */
static struct netns_pair dns;
static struct axdpd axd;
/* Where the case's maps are pinned: the dpfix's or the daemon's. */
static const char *pins;

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

static const char *build_object(const char *file)
{
	static char path[2][256];
	static int turn;

	turn ^= 1;
	snprintf(path[turn], sizeof(path[turn]), "%s/%s", env_or("AXDP_BUILD", "build"), file);
	return path[turn];
}

static void teardown(void)
{
	char err[1024];

	cr_expect(dpfix_detach(&fx, err, sizeof(err)) == 0, "teardown: %s", err);
	cr_expect(netns_pair_destroy(&fx.ns, err, sizeof(err)) == 0, "teardown: %s", err);
}

CRIT_AFTER_ALL(dpfix_remove_stale(PIN_PREFIX); axdpd_fixture_remove_stale())

static void setup(void)
{
	char err[512];

	if (dpfix_setup(&fx, PIN_PREFIX, env_or("AXDP_BPF_OBJECT", "build/autoxdp.bpf.o"), NULL, AXDP_XDP_NATIVE, err,
			sizeof(err))) {
		teardown();
		cr_assert_fail("setup: %s", err);
	}
	crit_net_use(&fx.ns, IO_TIMEOUT_MS);
	pins = fx.pin_dir;
}

CRIT_SUITE(upgrade, 90, setup, teardown);

static void daemon_teardown(void)
{
	char err[512];

	cr_expect(axdpd_fixture_teardown(&dns, &axd, err, sizeof(err)) == 0, "teardown: %s", err);
}

static void daemon_setup(void)
{
	char err[1024];

	if (axdpd_fixture_setup(&dns, &axd, "", err, sizeof(err)) || axdpd_start(&axd, READY_MS)) {
		snprintf(err + strlen(err), sizeof(err) - strlen(err), "%s", axd.err);
		daemon_teardown();
		cr_assert_fail("setup: %s", err);
	}
	crit_net_use(&dns, IO_TIMEOUT_MS);
	pins = axd.pin_dir;
}

CRIT_SUITE(upgrade_daemon, 90, daemon_setup, daemon_teardown);

/* ---- the pinned maps, as any later reader finds them ---- */

static int pinned(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pins, name);
	fd = bpf_obj_get(path);
	cr_assert(fd >= 0, "opening pinned map %s: %s", path, strerror(errno));
	return fd;
}

static struct bpf_map_info pinned_info(const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = pinned(name);

	cr_assert(bpf_obj_get_info_by_fd(fd, &info, &len) == 0, "map %s: %s", name, strerror(errno));
	close(fd);
	return info;
}

static __u32 xdp_prog_id(void)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	cr_assert(bpf_xdp_query(crit_net.ns->ifindex[SERVER], 0, &q) == 0, "querying XDP on %s: %s",
		  crit_net.ns->ifname[SERVER], strerror(errno));
	return q.prog_id;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	cr_assert(bpf_obj_get_info_by_fd(fd, &info, &len) == 0, "program info: %s", strerror(errno));
	return info.id;
}

static uint64_t counted(enum axdp_reason reason)
{
	struct axdp_counter all[AXDP_REASON_COUNT];
	int fd = pinned(AXDP_MAP_COUNTERS);

	cr_assert(axdp_counters_read(fd, AXDP_ALL_SLOTS, all) == 0, "reading counters: %s", strerror(errno));
	close(fd);
	return all[reason].packets;
}

/* The flow's entry, in whichever map its family's flows live. */
static bool has_flow(const struct axdp_flow_key *key, struct axdp_flow *flow)
{
	struct axdp_conntrack ct = { pinned(AXDP_MAP_CONNTRACK), pinned(AXDP_MAP_CONNTRACK4) };
	bool found = axdp_conntrack_lookup(&ct, key, flow) == 0;

	axdp_conntrack_close(&ct);
	return found;
}

static struct axdp_addr v4_mapped(const char *ip)
{
	struct axdp_addr a = { .w = { 0, 0, htonl(0xffff), 0 } };

	cr_assert(inet_pton(AF_INET, ip, &a.w[3]) == 1, "bad address %s", ip);
	return a;
}

/* ---- the scene: a session only conntrack admits, an open port, a denied source ---- */

/*
 * The server side connected out to a listener on the client side: the
 * client's segments come in only because egress recorded the flow.  A
 * thread on the client keeps sending into it, a byte every half
 * millisecond, so a moment without the data path's verdict shows.
 */
struct session {
	int out;           /* the server's socket */
	int in;            /* the client's accepted end */
	uint16_t port;     /* the client listener's */
	pthread_t thread;
	atomic_bool stop;
	atomic_ulong sent;
	unsigned long received;
	char error[128];
};

static void *keep_sending(void *arg)
{
	struct session *s = arg;

	while (!atomic_load(&s->stop)) {
		if (send(s->in, "x", 1, MSG_NOSIGNAL) != 1) {
			snprintf(s->error, sizeof(s->error), "send after %lu bytes: %s", atomic_load(&s->sent),
				 strerror(errno));
			return NULL;
		}
		atomic_fetch_add(&s->sent, 1);
		usleep(500);
	}
	return NULL;
}

static void session_start(struct session *s)
{
	int listener = serve(CLIENT, AF_INET, SOCK_STREAM, side_addr(CLIENT, AF_INET), 0), rc;

	s->port = local_port(listener);
	s->out = sock(SERVER, AF_INET, SOCK_STREAM);
	rc = connect_within(s->out, AF_INET, side_addr(CLIENT, AF_INET), s->port, IO_TIMEOUT_MS);
	cr_assert_eq(rc, 0, "the server connecting out to %s:%u: %s", side_addr(CLIENT, AF_INET), s->port, strerror(rc));
	s->in = accept_one(listener);
	close(listener);
	cr_assert(pthread_create(&s->thread, NULL, keep_sending, s) == 0, "starting the sender");
}

/* Everything sent so far arrives, and more after it: the session carries data now. */
static void session_flows(struct session *s, const char *step)
{
	unsigned long want = atomic_load(&s->sent) + 20;
	char buf[4096];

	while (s->received < want) {
		ssize_t n = recv(s->out, buf, sizeof(buf), 0);

		cr_assert(n > 0, "%s: the session stalled after %lu of %lu bytes (%s; sender: %s)", step, s->received,
			  atomic_load(&s->sent), n < 0 ? strerror(errno) : "closed", s->error[0] ? s->error : "ok");
		s->received += (unsigned long)n;
	}
}

static void session_stop(struct session *s)
{
	struct tcp_info ti = {};
	socklen_t len = sizeof(ti);

	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	cr_assert(!s->error[0], "session: %s", s->error);
	/* TCP repairs a lost segment by itself: a retransmission is the only trace a gap would leave. */
	cr_assert(getsockopt(s->in, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0, "TCP_INFO: %s", strerror(errno));
	cr_assert_eq(ti.tcpi_total_retrans, 0, "session: %u retransmissions", ti.tcpi_total_retrans);
	close(s->in);
	close(s->out);
}

static struct axdp_flow_key session_key(const struct session *s)
{
	return (struct axdp_flow_key){
		.remote = v4_mapped(side_addr(CLIENT, AF_INET)),
		.local = v4_mapped(side_addr(SERVER, AF_INET)),
		.remote_port = htons(s->port),
		.local_port = htons(local_port(s->out)),
		.proto = IPPROTO_TCP,
	};
}

static void open_port(uint16_t port)
{
	struct axdp_port_slot slot = { .flags = AXDP_PORT_OPEN_ANY };
	__u32 idx = AXDP_L4_TCP * AXDP_PORTS + port;
	int fd = pinned(AXDP_MAP_PORT_ALLOW);

	cr_assert(bpf_map_update_elem(fd, &idx, &slot, BPF_ANY) == 0, "opening tcp/%u: %s", port, strerror(errno));
	close(fd);
}

static char denied_ip[INET_ADDRSTRLEN];

/* A second address on the client side, and the live deny generation listing it. */
static void deny_second_client_address(void)
{
	struct axdp_lpm_key key = { .prefixlen = 128 };
	struct axdp_policy pol = { .deny_generation = 0, .deny_entries = 1 };
	char cidr[INET_ADDRSTRLEN + 4], err[512];
	__u8 v4 = AXDP_LPM_IPV4;
	__u32 zero = 0;
	struct run r;
	int fd;

	snprintf(denied_ip, sizeof(denied_ip), "10.200.%u.%d", crit_net.ns->subnet, DENIED_HOST);
	snprintf(cidr, sizeof(cidr), "%s/24", denied_ip);
	const char *argv[] = { "ip", "-n", crit_net.ns->name[CLIENT], "addr", "add", cidr, "dev", crit_net.ns->ifname[CLIENT],
			       NULL };
	cr_assert_eq(run_sync(&r, NULL, argv, "/tmp", 10000, err, sizeof(err)), 0, "ip addr add %s: %s %s", cidr, err,
		     r.err ? r.err : "");
	run_free(&r);
	key.addr = v4_mapped(denied_ip);
	fd = pinned(AXDP_MAP_DENY_0);
	cr_assert(bpf_map_update_elem(fd, &key, &v4, BPF_ANY) == 0, "deny_0: %s", strerror(errno));
	close(fd);
	fd = pinned(AXDP_MAP_POLICY);
	cr_assert(bpf_map_update_elem(fd, &zero, &pol, BPF_ANY) == 0, "policy: %s", strerror(errno));
	close(fd);
}

/* A SYN from the denied address to the open port gets no answer, and the data path says why. */
static void denied_source_dropped(uint16_t port, const char *step)
{
	struct sockaddr_storage ss;
	uint64_t before = counted(AXDP_DROP_DENIED);
	int fd = sock(CLIENT, AF_INET, SOCK_STREAM), rc;

	cr_assert(tsock_bind(fd, &ss, sockaddr_of(AF_INET, denied_ip, 0, &ss), 0) == 0, "binding %s: %s", denied_ip,
		  strerror(errno));
	rc = connect_within(fd, AF_INET, side_addr(SERVER, AF_INET), port, DROP_WAIT_MS);
	close(fd);
	cr_assert_eq(rc, ETIMEDOUT, "%s: denied %s connecting to open port %u: expected no answer, got %s", step,
		     denied_ip, port, rc ? strerror(rc) : "connected");
	cr_assert_gt(counted(AXDP_DROP_DENIED), before, "%s: denied_source did not count the drop", step);
}

static void open_port_answers(uint16_t port, const char *step)
{
	int rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), port, IO_TIMEOUT_MS);

	cr_assert_eq(rc, 0, "%s: connecting to open port %u: %s", step, port, strerror(rc));
}

static void closed_port_dropped(const char *step)
{
	uint64_t before = counted(AXDP_DROP_TCP_CLOSED);
	int rc = try_connect(AF_INET, side_addr(SERVER, AF_INET), CLOSED_PORT, DROP_WAIT_MS);

	cr_assert_eq(rc, ETIMEDOUT, "%s: closed port %u: expected no answer, got %s", step, CLOSED_PORT,
		     rc ? strerror(rc) : "connected");
	cr_assert_gt(counted(AXDP_DROP_TCP_CLOSED), before, "%s: tcp_port_closed did not count the drop", step);
}

struct scene {
	struct session s;
	int listener;
	uint16_t port;
};

/* deny: list a source behind the daemon's back (a daemon would replace the list with its configuration's). */
static void scene_start(struct scene *sc, bool deny)
{
	sc->listener = serve(SERVER, AF_INET, SOCK_STREAM, side_addr(SERVER, AF_INET), 0);
	sc->port = local_port(sc->listener);
	open_port(sc->port);
	open_port_answers(sc->port, "before");
	if (deny) {
		deny_second_client_address();
		denied_source_dropped(sc->port, "before");
	}
	session_start(&sc->s);
	session_flows(&sc->s, "before");
	cr_assert_gt(counted(AXDP_PASS_TCP_FLOW), 0, "before: the session's segments were not passed by conntrack");
}

/* ---- the takeover ---- */

Test(upgrade, changed_maps_are_taken_over_without_a_gap)
{
	struct axdp_load_opts opts = { .object_path = build_object("autoxdp-resized.bpf.o"), .pin_dir = fx.pin_dir,
				       .knobs = AXDP_KNOBS_DEFAULT };
	struct bpf_map_info ct_before = pinned_info(AXDP_MAP_CONNTRACK);
	struct axdp_datapath dp2;
	struct axdp_attachment att2;
	struct axdp_flow flow;
	struct axdp_flow_key key;
	struct scene sc = {};
	uint64_t passed, closed_drops;
	char err[1024];

	scene_start(&sc, true);
	key = session_key(&sc.s);
	passed = counted(AXDP_PASS_TCP_FLOW);
	closed_drops = counted(AXDP_DROP_TCP_CLOSED);

	cr_assert_eq(axdp_datapath_load(&dp2, &opts, err, sizeof(err)), 0, "loading the resized object: %s", err);
	cr_log_info("taken over: %s", dp2.migrated);
	cr_assert(strstr(dp2.migrated, AXDP_MAP_CONNTRACK " (131072 entries") && strstr(dp2.migrated, AXDP_MAP_DENY_0) &&
		  strstr(dp2.migrated, AXDP_MAP_COUNTERS), "the load did not report the changed maps: '%s'", dp2.migrated);
	session_flows(&sc.s, "after the load (pins replaced, old programs still attached)");
	cr_assert_eq(pinned_info(AXDP_MAP_CONNTRACK).max_entries, RESIZED_CT_ENTRIES,
		     "the conntrack pin does not name the new map");
	cr_assert_neq(pinned_info(AXDP_MAP_CONNTRACK).id, ct_before.id, "conntrack: still the old map");
	cr_assert_eq(pinned_info(AXDP_MAP_DENY_0).max_entries, RESIZED_DENY_ENTRIES, "the deny_0 pin does not name the new map");

	cr_assert_eq(axdp_attach(&dp2, fx.ns.ifname[SERVER], AXDP_XDP_NATIVE, &att2, err, sizeof(err)), 0,
		     "attaching the new programs: %s", err);
	cr_assert(att2.adopted, "the new programs did not go into the pinned links");
	session_flows(&sc.s, "after the swap");
	cr_assert_eq(axdp_datapath_take_over(&dp2, err, sizeof(err)), 0, "completing the takeover: %s", err);
	session_flows(&sc.s, "after the takeover");
	axdp_datapath_close(&fx.dp);
	fx.dp = dp2;

	cr_assert_eq(xdp_prog_id(), prog_id(dp2.xdp_fd), "the new XDP program is not the one attached");
	cr_assert(has_flow(&key, &flow), "the session's flow is not in the new conntrack: %s", strerror(errno));
	cr_assert_gt(counted(AXDP_PASS_TCP_FLOW), passed, "tcp_conntrack lost its count: %lu before",
		     (unsigned long)passed);
	open_port_answers(sc.port, "after the takeover");
	denied_source_dropped(sc.port, "after the takeover");
	session_flows(&sc.s, "at the end");
	session_stop(&sc.s);
	/* The session's segments would have been judged closed-port without their flow. */
	cr_assert_eq(counted(AXDP_DROP_TCP_CLOSED), closed_drops, "segments were dropped as to a closed port");
	close(sc.listener);
}

/*
 * Before conntrack4 both families' flows lived in conntrack, which an
 * upgrade keeps (its definition did not change): the takeover moves the
 * IPv4 ones, so a UDP flow of the old install still lets its reply in.
 */
Test(upgrade, ipv4_flows_of_an_older_version_move_to_conntrack4)
{
	struct axdp_load_opts opts = { .object_path = env_or("AXDP_BPF_OBJECT", "build/autoxdp.bpf.o"),
				       .pin_dir = fx.pin_dir, .knobs = AXDP_KNOBS_DEFAULT };
	int srv = serve(SERVER, AF_INET, SOCK_DGRAM, side_addr(SERVER, AF_INET), 0);
	int peer = serve(CLIENT, AF_INET, SOCK_DGRAM, side_addr(CLIENT, AF_INET), 0);
	struct axdp_flow_key v4 = {
		.remote = v4_mapped(side_addr(CLIENT, AF_INET)),
		.local = v4_mapped(side_addr(SERVER, AF_INET)),
		.remote_port = htons(local_port(peer)),
		.local_port = htons(local_port(srv)),
		.proto = IPPROTO_UDP,
	};
	struct axdp_flow_key v6 = { .remote.w = { htonl(0x20010db8), 0, 0, htonl(1) },
				    .local.w = { htonl(0x20010db8), 0, 0, htonl(2) },
				    .remote_port = htons(53), .local_port = htons(41000), .proto = IPPROTO_UDP };
	__u32 port_idx = AXDP_L4_UDP * AXDP_PORTS + local_port(srv), zero = 0;
	int old = pinned(AXDP_MAP_CONNTRACK), ports = pinned(AXDP_MAP_FLOW_PORTS), clock = pinned(AXDP_MAP_EGRESS_CLOCK);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = v4.local_port, .sin_addr.s_addr = v4.local.w[3] };
	struct axdp_datapath dp2;
	struct axdp_attachment att2;
	struct axdp_flow flow;
	struct timespec ts;
	uint64_t passed;
	char err[1024], buf[16];

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	flow = (struct axdp_flow){ .last_seen_ns = (__u64)ts.tv_sec * AXDP_NSEC_PER_SEC + ts.tv_nsec };
	/* As the older version's egress left them: both flows in conntrack, the local port marked. */
	cr_assert(bpf_map_update_elem(old, &v4, &flow, BPF_NOEXIST) == 0 &&
		  bpf_map_update_elem(old, &v6, &flow, BPF_NOEXIST) == 0, "old-style entries: %s", strerror(errno));
	cr_assert(bpf_map_update_elem(ports, &port_idx, &flow.last_seen_ns, BPF_ANY) == 0 &&
		  bpf_map_update_elem(clock, &zero, &flow.last_seen_ns, BPF_ANY) == 0, "marking the port: %s",
		  strerror(errno));
	passed = counted(AXDP_PASS_UDP_FLOW);

	cr_assert_eq(axdp_datapath_load(&dp2, &opts, err, sizeof(err)), 0, "loading the object again: %s", err);
	cr_assert(has_flow(&v4, &flow), "the load did not copy the IPv4 flow into conntrack4");
	cr_assert_eq(bpf_map_lookup_elem(old, &v4, &flow), 0, "the load removed the IPv4 flow the old programs still use");
	cr_assert_eq(axdp_attach(&dp2, fx.ns.ifname[SERVER], AXDP_XDP_NATIVE, &att2, err, sizeof(err)), 0,
		     "attaching the new programs: %s", err);
	cr_assert_eq(axdp_datapath_take_over(&dp2, err, sizeof(err)), 0, "completing the takeover: %s", err);
	axdp_datapath_close(&fx.dp);
	fx.dp = dp2;

	cr_assert(has_flow(&v4, &flow), "the IPv4 flow is not in conntrack4 after the takeover");
	cr_assert_neq(bpf_map_lookup_elem(old, &v4, &flow), 0, "the IPv4 flow stayed in conntrack too");
	cr_assert_eq(bpf_map_lookup_elem(old, &v6, &flow), 0, "the IPv6 flow left conntrack: %s", strerror(errno));
	cr_assert(sendto(peer, "reply", 5, 0, (struct sockaddr *)&to, sizeof(to)) == 5, "sending the reply: %s",
		  strerror(errno));
	cr_assert(recv(srv, buf, sizeof(buf), 0) == 5, "the reply to the carried flow did not arrive: %s", strerror(errno));
	cr_assert_gt(counted(AXDP_PASS_UDP_FLOW), passed, "the reply did not pass as udp_conntrack");
	close(old);
	close(ports);
	close(clock);
	close(srv);
	close(peer);
}

Test(upgrade, failed_takeover_keeps_the_old_state)
{
	struct axdp_load_opts opts = { .object_path = build_object("autoxdp-badmap.bpf.o"), .pin_dir = fx.pin_dir,
				       .knobs = AXDP_KNOBS_DEFAULT };
	struct bpf_map_info ct_before;
	struct axdp_datapath dp2;
	struct axdp_flow flow;
	struct axdp_flow_key key;
	struct scene sc = {};
	__u32 prog_before;
	char err[1024];

	scene_start(&sc, true);
	key = session_key(&sc.s);
	ct_before = pinned_info(AXDP_MAP_CONNTRACK);
	prog_before = xdp_prog_id();

	cr_assert_neq(axdp_datapath_load(&dp2, &opts, err, sizeof(err)), 0, "the object with a bogus conntrack loaded");
	cr_log_info("refused: %s", err);
	cr_assert(strstr(err, fx.pin_dir) && strstr(err, "stays in force"), "the error does not say the old state stays: %s",
		  err);
	session_flows(&sc.s, "after the failed load");
	cr_assert_eq(pinned_info(AXDP_MAP_CONNTRACK).id, ct_before.id, "the conntrack pin moved after a failed load");
	cr_assert_eq(xdp_prog_id(), prog_before, "the XDP program changed after a failed load");
	cr_assert(has_flow(&key, &flow), "the session's flow left conntrack: %s", strerror(errno));
	closed_port_dropped("after the failed load");
	denied_source_dropped(sc.port, "after the failed load");
	open_port_answers(sc.port, "after the failed load");
	session_flows(&sc.s, "at the end");
	session_stop(&sc.s);
	close(sc.listener);
}

/* ---- the daemon restarting onto changed maps, as after a package upgrade ---- */

Test(upgrade_daemon, restart_onto_changed_maps_keeps_the_session)
{
	struct axdp_flow flow;
	struct axdp_flow_key key;
	struct scene sc = {};
	uint64_t passed, closed_drops;
	char *log;

	scene_start(&sc, false);
	key = session_key(&sc.s);
	passed = counted(AXDP_PASS_TCP_FLOW);
	closed_drops = counted(AXDP_DROP_TCP_CLOSED);

	/* Stopping leaves the pinned data path in force, as dpkg's restart does between the two daemons. */
	cr_assert_eq(axdpd_stop(&axd, SIGTERM, STOP_MS), 0, "%s", axd.err);
	session_flows(&sc.s, "with the daemon stopped");
	cr_assert_eq(setenv(AXDPD_OBJECT_ENV, build_object("autoxdp-resized.bpf.o"), 1), 0, "setenv");
	cr_assert_eq(axdpd_start(&axd, READY_MS), 0, "restarting onto the resized object: %s", axd.err);
	session_flows(&sc.s, "after the restart");

	log = axdpd_read_log(&axd);
	cr_assert(log && strstr(log, "pinned maps of another definition taken over") &&
		  strstr(log, AXDP_MAP_CONNTRACK " (131072 entries"),
		  "the daemon did not report the takeover:\n%s", log ? log : "(no log)");
	cr_assert(!strstr(log, "completing the takeover"), "the takeover did not complete:\n%s", log);
	free(log);
	cr_assert_eq(pinned_info(AXDP_MAP_CONNTRACK).max_entries, RESIZED_CT_ENTRIES,
		     "the conntrack pin does not name the new map");
	cr_assert(has_flow(&key, &flow), "the session's flow is not in the new conntrack: %s", strerror(errno));
	cr_assert_gt(counted(AXDP_PASS_TCP_FLOW), passed, "tcp_conntrack lost its count: %lu before",
		     (unsigned long)passed);
	open_port_answers(sc.port, "after the restart");
	session_flows(&sc.s, "at the end");
	session_stop(&sc.s);
	cr_assert_eq(counted(AXDP_DROP_TCP_CLOSED), closed_drops, "segments were dropped as to a closed port");
	close(sc.listener);
}
