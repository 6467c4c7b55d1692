// SPDX-License-Identifier: MIT
/*
 * make bench, second half: the receiver's CPU under a flood of UDP to a
 * closed port, for no firewall, the nftables backend, XDP generic, XDP
 * native and the floor: a bare XDP program that counts the frame in a
 * per-CPU array and drops it, attached natively, the least any XDP drop
 * can cost.  Two tables, each the median of several interleaved rounds
 * (every round runs every mode, so a busy moment of the machine does not
 * land on one mode alone):
 *  - CPU per dropped packet, the sender flooding as fast as it can, with
 *    autoxdp native over the floor;
 *  - the receiver's CPU % at a fixed offered rate (FIXED_PPS, the sender
 *    paced), and no firewall's CPU over each mode's.  On a shared machine
 *    the paced sender can fall short of the rate; the CPU % is then also
 *    given scaled to FIXED_PPS (CPU per packet at the rate reached, times
 *    FIXED_PPS), and the ratios use that.
 *
 * Two throwaway namespaces joined by a veth pair.  The sender floods UDP
 * datagrams to a closed port with an XDP_TX program run through
 * BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: millions of frames a
 * second without building skbs, so the sender is never the bottleneck.
 * Where the kernel refuses live frames (EPERM before it even checks the
 * arguments: seen on 6.18 microVM kernels, a policy of the host kernel, not
 * of this program), it says why and floods through the AF_PACKET
 * generator of lib/flood.c instead, with TSO off at the sender so that veth
 * still hands the skbs to the receiver's NAPI; those figures include
 * veth's copy of each skb before native XDP, so they understate native
 * XDP's gain.
 * The receiving veth has GRO on (so it has NAPI, which frames sent by XDP
 * need) and threaded NAPI, its kthread pinned to one CPU; that thread does
 * all the receive work, and its CPU time from /proc/PID/schedstat divided
 * by the packets dropped is the figure.  Each mode counts its own drops:
 * the stack's Udp NoPorts, the nftables counter udp_port_closed, the data
 * path's udp_port_closed counter, the floor's array (every frame: the
 * odd IPv6 neighbour solicitation too).  See ../shared/MEASURING.md.
 *
 * The fixed rate always comes from the AF_PACKET generator (live frames
 * cannot be paced).  It reports and never judges a time.
 * usage: bench_flood [packets per saturating run [rounds]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "autoxdp_abi.h"
#include "daemon.h"
#include "flood.h"
#include "netns.h"
#include "nft.h"
#include "packet.h"

#define DEFAULT_PACKETS 1000000
#define CHUNK 250000
#define ROUNDS_DEFAULT 3
#define ROUNDS_MAX 15
#define FIXED_PPS 300000
#define FIXED_SECONDS 2
#define CLOSED_UDP 9
#define GEN_CPU 0
#define RX_CPU 1

enum mode { NONE, NFT, XDP_GENERIC, XDP_NATIVE, FLOOR, MODES };

static const struct {
	const char *name;
	const char *config;   /* NULL: no daemon */
} modes[MODES] = {
	[NONE] = { "no firewall", NULL },
	[NFT] = { "nftables backend", "[Daemon]\nBackend=nftables\n" },
	[XDP_GENERIC] = { "autoxdp generic", "[Daemon]\nBackend=xdp\nXdpMode=generic\n" },
	[XDP_NATIVE] = { "autoxdp native", "[Daemon]\nBackend=xdp\nXdpMode=native\n" },
	[FLOOR] = { "floor (XDP_DROP)", NULL },
};

struct run {
	enum mode mode;
	struct netns_pair ns;
	struct axdpd d;
	int floor_count;   /* FLOOR: the per-CPU array its program counts in */
	int floor_prog;
	pid_t napi;
	char err[1024];
};

static int failf(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- the receiver ---- */

struct feature {
	const char *ifname;
	__u32 cmd;   /* ETHTOOL_SGRO, ETHTOOL_STSO... */
	__u32 on;
};

static int set_feature(void *arg)
{
	const struct feature *ft = arg;
	struct ethtool_value ev = { .cmd = ft->cmd, .data = ft->on };
	struct ifreq ifr = { .ifr_data = (void *)&ev };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ft->ifname);
	rc = fd < 0 ? -1 : ioctl(fd, SIOCETHTOOL, &ifr);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int mac_of(void *arg)
{
	struct ifreq *ifr = arg;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	rc = fd < 0 ? -1 : ioctl(fd, SIOCGIFHWADDR, ifr);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* pids of kernel threads named napi/... */
static int napi_threads(pid_t *out, int cap)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (dir && (de = readdir(dir)) && n < cap) {
		char path[64], comm[32] = "";
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && strncmp(comm, "napi/", 5) == 0)
			out[n++] = atoi(de->d_name);
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return n;
}

static bool listed(const pid_t *v, int n, pid_t pid)
{
	for (int i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

/* Threaded NAPI on the receiving veth (its sysfs needs the namespace's view: ip netns exec), pinned. */
static int threaded_napi(struct run *r)
{
	char cmd[128], out[256], err[256];
	const char *argv[] = { "ip", "netns", "exec", r->ns.name[NETNS_SERVER], "sh", "-c", cmd, NULL };
	pid_t before[512], after[512];
	int nb = napi_threads(before, 512), na, rc;
	cpu_set_t cpus;

	snprintf(cmd, sizeof(cmd), "echo 1 > /sys/class/net/%s/threaded", r->ns.ifname[NETNS_SERVER]);
	rc = axdpd_exec(&r->d, NULL, argv, out, sizeof(out), err, sizeof(err), 5000);
	if (rc)
		return failf(r, "threaded NAPI on %s: %s %s", r->ns.ifname[NETNS_SERVER], err, rc < 0 ? r->d.err : "");
	na = napi_threads(after, 512);
	r->napi = 0;
	for (int i = 0; i < na; i++)
		if (!listed(before, nb, after[i]))
			r->napi = after[i];
	if (!r->napi)
		return failf(r, "no new napi/ kthread after enabling threaded NAPI on %s", r->ns.ifname[NETNS_SERVER]);
	CPU_ZERO(&cpus);
	CPU_SET(RX_CPU, &cpus);
	if (sched_setaffinity(r->napi, sizeof(cpus), &cpus))
		return failf(r, "pinning napi thread %d: %s", (int)r->napi, strerror(errno));
	return 0;
}

static unsigned long long cpu_ns(pid_t pid)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%llu", &ns) != 1)
			ns = 0;
		fclose(f);
	}
	return ns;
}

/* ---- the floor ---- */

/* Counts the frame in slot 0 of the per-CPU array count_fd, then drops it. */
static int floor_prog(int count_fd)
{
	const struct bpf_insn insns[] = {
		/* *(u32 *)(r10 - 4) = 0: the key */
		{ .code = BPF_ST | BPF_MEM | BPF_W, .dst_reg = BPF_REG_10, .off = -4, .imm = 0 },
		/* r1 = the map */
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1, .src_reg = BPF_PSEUDO_MAP_FD, .imm = count_fd },
		{ 0 },
		/* r2 = r10 - 4 */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_10 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = -4 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_map_lookup_elem },
		/* if (r0) (*(u64 *)r0)++ */
		{ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = BPF_REG_0, .off = 3, .imm = 0 },
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_0 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_1, .imm = 1 },
		{ .code = BPF_STX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_1 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_DROP },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "axdp_floor", "GPL", insns, sizeof(insns) / sizeof(insns[0]), NULL);
}

static int attach_floor_in_ns(void *arg)
{
	struct run *r = arg;

	return bpf_xdp_attach(r->ns.ifindex[NETNS_SERVER], r->floor_prog, XDP_FLAGS_DRV_MODE, NULL) ? -1 : 0;
}

/* The floor program, attached natively to the receiving veth; it goes with the namespace. */
static int attach_floor(struct run *r)
{
	char err[256];

	r->floor_count = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "axdp_floor", sizeof(__u32), sizeof(__u64), 1, NULL);
	if (r->floor_count < 0)
		return failf(r, "creating the floor's per-CPU array: %s", strerror(errno));
	r->floor_prog = floor_prog(r->floor_count);
	if (r->floor_prog < 0)
		return failf(r, "loading the floor program: %s", strerror(errno));
	if (netns_call(r->ns.name[NETNS_SERVER], attach_floor_in_ns, r, err, sizeof(err)))
		return failf(r, "attaching the floor program natively to %s: %s %s", r->ns.ifname[NETNS_SERVER], err,
			     strerror(errno));
	return 0;
}

/* ---- what each mode dropped ---- */

static int read_noports(void *arg)
{
	unsigned long long *out = arg;
	char line[1024], head[1024] = "";
	FILE *f = fopen("/proc/thread-self/net/snmp", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Udp: ", 5) != 0)
			continue;
		if (!head[0]) {
			snprintf(head, sizeof(head), "%s", line);
			continue;
		}
		/* The second Udp: line holds the values, in the order the first names them. */
		char *hs = NULL, *vs = NULL, *h = strtok_r(head, " \n", &hs), *v = strtok_r(line, " \n", &vs);

		for (; h && v; h = strtok_r(NULL, " \n", &hs), v = strtok_r(NULL, " \n", &vs))
			if (strcmp(h, "NoPorts") == 0)
				*out = strtoull(v, NULL, 10);
	}
	fclose(f);
	return 0;
}

static unsigned long long xdp_dropped(struct run *r)
{
	char path[AXDPD_PATH + 32];
	int ncpu = libbpf_num_possible_cpus(), fd;
	unsigned long long sum = 0;
	struct axdp_counter *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));

	snprintf(path, sizeof(path), "%s/%s", r->d.pin_dir, AXDP_MAP_COUNTERS);
	fd = bpf_obj_get(path);
	for (__u32 slot = 0; fd >= 0 && v && slot < AXDP_IFACE_SLOTS; slot++) {
		__u32 key = slot * AXDP_COUNTER_SLOTS + AXDP_DROP_UDP_CLOSED;

		if (bpf_map_lookup_elem(fd, &key, v) == 0)
			for (int c = 0; c < ncpu; c++)
				sum += v[c].packets;
	}
	if (fd >= 0)
		close(fd);
	free(v);
	return sum;
}

static unsigned long long floor_dropped(struct run *r)
{
	int ncpu = libbpf_num_possible_cpus();
	unsigned long long sum = 0, *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));
	__u32 key = 0;

	if (v && bpf_map_lookup_elem(r->floor_count, &key, v) == 0)
		for (int c = 0; c < ncpu; c++)
			sum += v[c];
	free(v);
	return sum;
}

static unsigned long long dropped(struct run *r, enum mode m)
{
	static const char *const args[] = { "list", "counter", "inet", "autoxdp", "udp_port_closed", NULL };
	unsigned long long n = 0;
	char out[1024], err[512];
	const char *p;

	switch (m) {
	case NONE:
		netns_call(r->ns.name[NETNS_SERVER], read_noports, &n, err, sizeof(err));
		return n;
	case NFT:
		if (nftns(r->ns.name[NETNS_SERVER], args, NULL, out, sizeof(out), err, sizeof(err)) == 0 &&
		    (p = strstr(out, "packets ")))
			n = strtoull(p + 8, NULL, 10);
		return n;
	case FLOOR:
		return floor_dropped(r);
	default:
		return xdp_dropped(r);
	}
}

/* ---- the sender ---- */

enum generator { LIVE_FRAMES, PACKET_SOCKET };

static const char *const generator_name[] = {
	[LIVE_FRAMES] = "XDP live frames",
	[PACKET_SOCKET] = "AF_PACKET frames",
};

struct sender {
	enum generator gen;
	const struct netns_pair *ns;
	struct pkt pkt;
	long packets;
	uint32_t pps;   /* PACKET_SOCKET only: paced to this rate; 0: as fast as it goes */
	long sent;
	double seconds;   /* PACKET_SOCKET: how long the sending took */
	char err[256];
};

static int xdp_prog(__s32 action)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = action },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "axdp_flood", "GPL", insns, 2, NULL);
}

/*
 * Whether BPF_PROG_TEST_RUN takes live frames here: one frame through an
 * XDP_DROP program, which sends nothing anywhere.  0, or the errno.
 */
static int live_frames_error(void)
{
	uint8_t frame[64] = { [12] = 0x08 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame), .repeat = 1,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	int fd = xdp_prog(XDP_DROP), rc;

	if (fd < 0)
		return errno;
	rc = bpf_prog_test_run_opts(fd, &opts) ? errno : 0;
	close(fd);
	return rc;
}

static int live_frames_in_ns(void *arg)
{
	struct sender *s = arg;
	int fd = xdp_prog(XDP_TX);

	if (fd < 0)
		return snprintf(s->err, sizeof(s->err), "loading the XDP_TX program: %s", strerror(errno)), -1;
	while (s->sent < s->packets) {
		struct xdp_md ctx = { .data_end = (__u32)s->pkt.len,
				      .ingress_ifindex = (__u32)s->ns->ifindex[NETNS_CLIENT] };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = s->pkt.data, .data_size_in = (__u32)s->pkt.len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = CHUNK,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (bpf_prog_test_run_opts(fd, &opts)) {
			snprintf(s->err, sizeof(s->err), "BPF_PROG_TEST_RUN with live frames: %s", strerror(errno));
			close(fd);
			return -1;
		}
		s->sent += CHUNK;
	}
	close(fd);
	return 0;
}

static void packet_socket_flood(struct sender *s)
{
	struct flood_spec spec = {
		.kind = FLOOD_UDP,
		.src = flood_ip4(s->ns->ip4[NETNS_CLIENT]),
		.dst = flood_ip4(s->ns->ip4[NETNS_SERVER]),
		.dport_lo = CLOSED_UDP,
		.dport_hi = CLOSED_UDP,
		.count = (uint64_t)s->packets,
		.pps = s->pps,
	};
	struct flood_result res;
	struct flood fl;

	if (flood_open(&fl, s->ns, s->err, sizeof(s->err)))
		return;
	if (flood_send(&fl, &spec, &res, s->err, sizeof(s->err)) == 0) {
		s->sent = (long)res.sent;
		s->seconds = res.seconds;
	}
	flood_close(&fl);
}

static void *sender_thread(void *arg)
{
	struct sender *s = arg;
	cpu_set_t cpus;
	char err[256];

	CPU_ZERO(&cpus);
	CPU_SET(GEN_CPU, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	/*
	 * A paced sender sleeps most of the time but must wake on time to hold
	 * the rate on a busy machine: the lowest real-time priority.  Refused,
	 * it runs as it is, and the table shows the rate it reached.
	 */
	if (s->pps) {
		struct sched_param sp = { .sched_priority = 1 };

		pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	}
	if (s->gen == PACKET_SOCKET)
		packet_socket_flood(s);
	else if (netns_call(s->ns->name[NETNS_CLIENT], live_frames_in_ns, s, err, sizeof(err)) && !s->err[0])
		snprintf(s->err, sizeof(s->err), "%s", err);
	return NULL;
}

/* ---- one mode ---- */

static void teardown(struct run *r)
{
	char err[512];

	axdpd_cleanup(&r->d);
	netns_pair_destroy(&r->ns, err, sizeof(err));
	if (r->floor_prog >= 0)
		close(r->floor_prog);
	if (r->floor_count >= 0)
		close(r->floor_count);
	r->floor_prog = r->floor_count = -1;
}

/* Namespaces, the mode's firewall, GRO and threaded NAPI at the receiver, and the frame to send. */
static int setup(struct run *r, enum mode m, struct pkt *pkt)
{
	struct feature gro = { .cmd = ETHTOOL_SGRO, .on = 1 }, tso = { .cmd = ETHTOOL_STSO, .on = 0 };
	struct ifreq srv_mac = {}, cli_mac = {};
	char err[512];

	memset(r, 0, sizeof(*r));
	r->mode = m;
	r->d.notify_fd = -1;
	r->floor_prog = r->floor_count = -1;
	if (netns_pair_create(&r->ns, r->err, sizeof(r->err)))
		return -1;
	/*
	 * veth passes an skb to the receiver's NAPI only while the sender has no
	 * TSO; before the daemon starts, since native XDP on the peer makes TSO
	 * fixed (off) at the sender.  The fixed rate always sends skbs.
	 */
	tso.ifname = r->ns.ifname[NETNS_CLIENT];
	if (netns_call(r->ns.name[NETNS_CLIENT], set_feature, &tso, err, sizeof(err)))
		return failf(r, "TSO off on %s: %s %s", tso.ifname, err, strerror(errno));
	if (axdpd_init(&r->d, r->ns.name[NETNS_SERVER], r->ns.ifname[NETNS_SERVER],
		       modes[m].config ? modes[m].config : ""))
		return failf(r, "%s", r->d.err);
	if (modes[m].config && axdpd_start(&r->d, 10000))
		return failf(r, "starting autoxdpd: %s", r->d.err);
	if (m == FLOOR && attach_floor(r))
		return -1;
	gro.ifname = r->ns.ifname[NETNS_SERVER];
	if (netns_call(r->ns.name[NETNS_SERVER], set_feature, &gro, err, sizeof(err)))
		return failf(r, "GRO on %s: %s %s", gro.ifname, err, strerror(errno));
	if (threaded_napi(r))
		return -1;
	snprintf(srv_mac.ifr_name, IFNAMSIZ, "%s", r->ns.ifname[NETNS_SERVER]);
	snprintf(cli_mac.ifr_name, IFNAMSIZ, "%s", r->ns.ifname[NETNS_CLIENT]);
	if (netns_call(r->ns.name[NETNS_SERVER], mac_of, &srv_mac, err, sizeof(err)) ||
	    netns_call(r->ns.name[NETNS_CLIENT], mac_of, &cli_mac, err, sizeof(err)))
		return failf(r, "reading MAC addresses: %s", err);
	pkt_udp4(pkt, r->ns.ip4[NETNS_CLIENT], r->ns.ip4[NETNS_SERVER], 40000, CLOSED_UDP);
	memcpy(pkt->data, srv_mac.ifr_hwaddr.sa_data, 6);
	memcpy(pkt->data + 6, cli_mac.ifr_hwaddr.sa_data, 6);
	return 0;
}

struct result {
	unsigned long long sent, dropped, cpu;   /* cpu: ns of the receive thread */
	double seconds;                          /* of sending */
};

/* One flood through r: packets frames from gen, paced to pps (0: unpaced). */
static int flood(struct run *r, enum generator gen, const struct pkt *pkt, long packets, uint32_t pps,
		 struct result *res)
{
	struct sender f = { .gen = gen, .ns = &r->ns, .pkt = *pkt, .packets = packets, .pps = pps };
	unsigned long long drop0, cpu0;
	struct timespec t0, t1;
	pthread_t th;

	drop0 = dropped(r, r->mode);
	cpu0 = cpu_ns(r->napi);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pthread_create(&th, NULL, sender_thread, &f))
		return failf(r, "starting the sender thread");
	pthread_join(th, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	usleep(200000); /* the receiver drains its ring */
	if (f.err[0])
		return failf(r, "%s", f.err);
	res->sent = (unsigned long long)f.sent;
	res->dropped = dropped(r, r->mode) - drop0;
	res->cpu = cpu_ns(r->napi) - cpu0;
	res->seconds = gen == PACKET_SOCKET ? f.seconds : (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	return res->dropped ? 0 : failf(r, "nothing was dropped of %llu frames sent", res->sent);
}

/* ---- the tables ---- */

/* One figure of one mode, per round; ok: that round measured it. */
struct samples {
	double v[ROUNDS_MAX];
	bool ok[ROUNDS_MAX];
};

static struct {
	struct samples per_packet;   /* saturated: receive CPU ns per dropped packet */
	struct samples dropped;      /* saturated: packets dropped */
	struct samples cpu_pct;      /* fixed rate: receive CPU % over the sending time */
	struct samples offered;      /* fixed rate: the rate the paced sender reached */
	struct samples at_rate;      /* fixed rate: CPU per packet times FIXED_PPS, in % */
} fig[MODES];

static void sample(struct samples *s, int round, double v)
{
	s->v[round] = v;
	s->ok[round] = true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median, lowest and highest of the rounds that measured it. */
struct spread {
	double median, lo, hi;
	int n;
};

static struct spread spread_of(const struct samples *s, int rounds)
{
	double sorted[ROUNDS_MAX];
	struct spread sp = { 0 };

	for (int i = 0; i < rounds; i++)
		if (s->ok[i])
			sorted[sp.n++] = s->v[i];
	if (!sp.n)
		return sp;
	qsort(sorted, sp.n, sizeof(sorted[0]), cmp_double);
	sp.median = sp.n % 2 ? sorted[sp.n / 2] : (sorted[sp.n / 2 - 1] + sorted[sp.n / 2]) / 2;
	sp.lo = sorted[0];
	sp.hi = sorted[sp.n - 1];
	return sp;
}

/* One mode in one round: a saturating flood, then the fixed rate, on the same setup.  0 or -1. */
static int measure(enum mode m, int round, enum generator gen, long packets)
{
	struct result res;
	struct run r;
	struct pkt pkt;
	int rc = -1;

	if (setup(&r, m, &pkt) == 0 && flood(&r, gen, &pkt, packets, 0, &res) == 0) {
		sample(&fig[m].per_packet, round, (double)res.cpu / (double)res.dropped);
		sample(&fig[m].dropped, round, (double)res.dropped);
		if (flood(&r, PACKET_SOCKET, &pkt, (long)FIXED_PPS * FIXED_SECONDS, FIXED_PPS, &res) == 0) {
			sample(&fig[m].cpu_pct, round, 100.0 * (double)res.cpu / (res.seconds * 1e9));
			sample(&fig[m].offered, round, (double)res.sent / res.seconds);
			sample(&fig[m].at_rate, round, 100.0 * (double)res.cpu / (double)res.dropped * FIXED_PPS / 1e9);
			rc = 0;
		}
	}
	if (rc)
		fprintf(stderr, "bench_flood: %s, round %d: %s\n", modes[m].name, round + 1, r.err);
	teardown(&r);
	return rc;
}

static void print_saturated(enum generator gen, long packets, int rounds)
{
	struct spread pp[MODES], ratio;
	struct samples native_floor = { 0 };

	printf("Receiver CPU per dropped packet: UDP to a closed port, %ld %s per mode and round, receive\n"
	       "work on CPU %d (threaded NAPI), sender on CPU %d; median (lowest-highest) of %d interleaved rounds.\n\n",
	       packets, generator_name[gen], RX_CPU, GEN_CPU, rounds);
	printf("%-18s %12s %22s %10s %10s\n", "MODE", "DROPPED", "ns/PACKET", "vs NONE", "vs FLOOR");
	for (int m = 0; m < MODES; m++)
		pp[m] = spread_of(&fig[m].per_packet, rounds);
	for (int m = 0; m < MODES; m++) {
		struct spread dropped = spread_of(&fig[m].dropped, rounds);
		char range[48];

		if (!pp[m].n) {
			printf("%-18s %12s\n", modes[m].name, "failed");
			continue;
		}
		snprintf(range, sizeof(range), "%.0f (%.0f-%.0f)", pp[m].median, pp[m].lo, pp[m].hi);
		printf("%-18s %12.0f %22s %9.2fx %9.2fx\n", modes[m].name, dropped.lo, range,
		       pp[NONE].n ? pp[m].median / pp[NONE].median : 0.0,
		       pp[FLOOR].n ? pp[m].median / pp[FLOOR].median : 0.0);
		/* The sender outruns every receiver; the rest overflow the veth ring, by design. */
		if (dropped.lo < packets / 1000.0)
			printf("%-18s   (only %.0f of %ld frames reached the receiver: too few to trust)\n", "", dropped.lo,
			       packets);
	}
	/* Round by round: the two ran moments apart, under the same load of the machine. */
	for (int i = 0; i < rounds; i++)
		if (fig[XDP_NATIVE].per_packet.ok[i] && fig[FLOOR].per_packet.ok[i])
			sample(&native_floor, i, fig[XDP_NATIVE].per_packet.v[i] / fig[FLOOR].per_packet.v[i]);
	ratio = spread_of(&native_floor, rounds);
	if (ratio.n)
		printf("\nautoxdp native / floor: %.2f, median of %d rounds' ratios (lowest-highest %.2f-%.2f)\n",
		       ratio.median, ratio.n, ratio.lo, ratio.hi);
}

static void print_fixed_rate(int rounds)
{
	struct spread at_rate[MODES];
	char head[32];

	printf("\nReceiver CPU at a fixed offered rate: %d pps of 64-byte UDP frames to a closed port for %d s\n"
	       "(AF_PACKET, paced), median (lowest-highest) of %d interleaved rounds.  Where the paced sender fell\n"
	       "short of the rate (a shared machine), AT %d kpps scales the CPU per packet to it; the ratio uses that.\n\n",
	       FIXED_PPS, FIXED_SECONDS, rounds, FIXED_PPS / 1000);
	snprintf(head, sizeof(head), "AT %d kpps", FIXED_PPS / 1000);
	printf("%-18s %12s %20s %20s %12s\n", "MODE", "OFFERED pps", "RX CPU %", head, "NONE / MODE");
	for (int m = 0; m < MODES; m++)
		at_rate[m] = spread_of(&fig[m].at_rate, rounds);
	for (int m = 0; m < MODES; m++) {
		struct spread pct = spread_of(&fig[m].cpu_pct, rounds), offered = spread_of(&fig[m].offered, rounds);
		char range[48], scaled[48];

		if (!pct.n) {
			printf("%-18s %12s\n", modes[m].name, "failed");
			continue;
		}
		snprintf(range, sizeof(range), "%.1f (%.1f-%.1f)", pct.median, pct.lo, pct.hi);
		snprintf(scaled, sizeof(scaled), "%.1f (%.1f-%.1f)", at_rate[m].median, at_rate[m].lo, at_rate[m].hi);
		printf("%-18s %12.0f %20s %20s %11.2fx\n", modes[m].name, offered.median, range, scaled,
		       at_rate[NONE].n && at_rate[m].median > 0 ? at_rate[NONE].median / at_rate[m].median : 0.0);
	}
}

int main(int argc, char **argv)
{
	long packets = argc > 1 ? strtol(argv[1], NULL, 10) : DEFAULT_PACKETS;
	int rounds = argc > 2 ? atoi(argv[2]) : ROUNDS_DEFAULT;
	enum generator gen = LIVE_FRAMES;
	int failed = 0, live_err;

	if (packets < CHUNK)
		packets = CHUNK;
	if (rounds < 1 || rounds > ROUNDS_MAX)
		rounds = ROUNDS_DEFAULT;
	axdpd_remove_stale();
	netns_remove_stale();
	live_err = live_frames_error();
	if (live_err == EPERM) {
		struct utsname u = {};

		uname(&u);
		printf("Kernel %s refuses BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES (EPERM, even for one frame\n"
		       "through an XDP_DROP program): flooding with AF_PACKET sendmmsg instead, about 1 Mpps of skbs that\n"
		       "veth copies before native XDP sees them, so XDP native's gain is understated.\n\n", u.release);
		gen = PACKET_SOCKET;
	} else if (live_err) {
		fprintf(stderr, "bench_flood: BPF_PROG_TEST_RUN with live frames (one frame, XDP_DROP): %s\n",
			strerror(live_err));
		return 1;
	}
	/* Interleaved: every round runs every mode, so a busy moment of the machine does not land on one mode. */
	for (int round = 0; round < rounds; round++)
		for (int m = 0; m < MODES; m++)
			failed += measure(m, round, gen, packets) != 0;
	print_saturated(gen, packets, rounds);
	print_fixed_rate(rounds);
	printf("\nOne run's figures: compare the ratios, not the absolute times (see MEASURING.md).\n");
	return failed ? 1 : 0;
}
