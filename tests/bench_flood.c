// SPDX-License-Identifier: MIT
/*
 * make bench, second half: receiver CPU per dropped packet under a flood,
 * for no firewall, the nftables backend, XDP generic and XDP native.
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
 * path's udp_port_closed counter.  See ../shared/MEASURING.md.
 *
 * It reports and never judges a time.  usage: bench_flood [packets]
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

#define DEFAULT_PACKETS 10000000
#define CHUNK 250000
#define CLOSED_UDP 9
#define GEN_CPU 0
#define RX_CPU 1

enum mode { NONE, NFT, XDP_GENERIC, XDP_NATIVE, MODES };

static const struct {
	const char *name;
	const char *config;   /* NULL: no daemon */
} modes[MODES] = {
	[NONE] = { "no firewall", NULL },
	[NFT] = { "nftables backend", "[Daemon]\nBackend=nftables\n" },
	[XDP_GENERIC] = { "XDP generic", "[Daemon]\nBackend=xdp\nXdpMode=generic\n" },
	[XDP_NATIVE] = { "XDP native", "[Daemon]\nBackend=xdp\nXdpMode=native\n" },
};

struct run {
	struct netns_pair ns;
	struct axdpd d;
	bool daemon;
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
	long sent;
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
	};
	struct flood_result res;
	struct flood fl;

	if (flood_open(&fl, s->ns, s->err, sizeof(s->err)))
		return;
	if (flood_send(&fl, &spec, &res, s->err, sizeof(s->err)) == 0)
		s->sent = (long)res.sent;
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
	if (s->gen == PACKET_SOCKET)
		packet_socket_flood(s);
	else if (netns_call(s->ns->name[NETNS_CLIENT], live_frames_in_ns, s, err, sizeof(err)) && !s->err[0])
		snprintf(s->err, sizeof(s->err), "%s", err);
	return NULL;
}

/* ---- one mode ---- */

struct result {
	unsigned long long dropped, cpu;
	double seconds;
};

static int run_mode(enum mode m, enum generator gen, long packets, struct result *res)
{
	struct run r = { .d.notify_fd = -1 };
	struct sender f = { .gen = gen, .ns = &r.ns, .packets = packets };
	struct feature gro = { .cmd = ETHTOOL_SGRO, .on = 1 }, tso = { .cmd = ETHTOOL_STSO, .on = 0 };
	struct ifreq srv_mac = {}, cli_mac = {};
	unsigned long long drop0, cpu0;
	struct timespec t0, t1;
	pthread_t th;
	char err[512];
	int rc = -1;

	if (netns_pair_create(&r.ns, r.err, sizeof(r.err)))
		goto out;
	/*
	 * veth passes an skb to the receiver's NAPI only while the sender has no
	 * TSO; before the daemon starts, since native XDP on the peer makes TSO
	 * fixed (off) at the sender.
	 */
	tso.ifname = r.ns.ifname[NETNS_CLIENT];
	if (gen == PACKET_SOCKET && netns_call(r.ns.name[NETNS_CLIENT], set_feature, &tso, err, sizeof(err))) {
		failf(&r, "TSO off on %s: %s %s", tso.ifname, err, strerror(errno));
		goto out;
	}
	if (axdpd_init(&r.d, r.ns.name[NETNS_SERVER], r.ns.ifname[NETNS_SERVER], modes[m].config ? modes[m].config : "")) {
		failf(&r, "%s", r.d.err);
		goto out;
	}
	if (modes[m].config) {
		if (axdpd_start(&r.d, 10000)) {
			failf(&r, "starting autoxdpd: %s", r.d.err);
			goto out;
		}
		r.daemon = true;
	}
	gro.ifname = r.ns.ifname[NETNS_SERVER];
	if (netns_call(r.ns.name[NETNS_SERVER], set_feature, &gro, err, sizeof(err))) {
		failf(&r, "GRO on %s: %s %s", gro.ifname, err, strerror(errno));
		goto out;
	}
	if (threaded_napi(&r))
		goto out;
	snprintf(srv_mac.ifr_name, IFNAMSIZ, "%s", r.ns.ifname[NETNS_SERVER]);
	snprintf(cli_mac.ifr_name, IFNAMSIZ, "%s", r.ns.ifname[NETNS_CLIENT]);
	if (netns_call(r.ns.name[NETNS_SERVER], mac_of, &srv_mac, err, sizeof(err)) ||
	    netns_call(r.ns.name[NETNS_CLIENT], mac_of, &cli_mac, err, sizeof(err))) {
		failf(&r, "reading MAC addresses: %s", err);
		goto out;
	}
	pkt_udp4(&f.pkt, r.ns.ip4[NETNS_CLIENT], r.ns.ip4[NETNS_SERVER], 40000, CLOSED_UDP);
	memcpy(f.pkt.data, srv_mac.ifr_hwaddr.sa_data, 6);
	memcpy(f.pkt.data + 6, cli_mac.ifr_hwaddr.sa_data, 6);

	drop0 = dropped(&r, m);
	cpu0 = cpu_ns(r.napi);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pthread_create(&th, NULL, sender_thread, &f)) {
		failf(&r, "starting the sender thread");
		goto out;
	}
	pthread_join(th, NULL);
	usleep(200000); /* the receiver drains its ring */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (f.err[0]) {
		failf(&r, "%s", f.err);
		goto out;
	}
	res->dropped = dropped(&r, m) - drop0;
	res->cpu = cpu_ns(r.napi) - cpu0;
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_flood: %s: %s\n", modes[m].name, r.err);
	axdpd_cleanup(&r.d);
	netns_pair_destroy(&r.ns, err, sizeof(err));
	return rc;
}

int main(int argc, char **argv)
{
	long packets = argc > 1 ? strtol(argv[1], NULL, 10) : DEFAULT_PACKETS;
	struct result res[MODES] = {};
	enum generator gen = LIVE_FRAMES;
	bool ok[MODES] = {};
	int failed = 0, live_err;

	if (packets < CHUNK)
		packets = CHUNK;
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
	printf("Receiver CPU per dropped packet: UDP to a closed port, %ld %s per mode, receive work on\n"
	       "CPU %d (threaded NAPI), sender on CPU %d.\n\n", packets, generator_name[gen], RX_CPU, GEN_CPU);
	printf("%-18s %12s %12s %14s %10s\n", "MODE", "DROPPED", "RX CPU ms", "ns/PACKET", "vs NONE");
	for (int m = 0; m < MODES; m++) {
		ok[m] = run_mode(m, gen, packets, &res[m]) == 0 && res[m].dropped > 0;
		if (!ok[m]) {
			printf("%-18s %12s\n", modes[m].name, "failed");
			failed++;
			continue;
		}
		double per = (double)res[m].cpu / (double)res[m].dropped;
		double base = ok[NONE] ? (double)res[NONE].cpu / (double)res[NONE].dropped : 0;

		printf("%-18s %12llu %12.1f %14.0f %9.2fx\n", modes[m].name, res[m].dropped, res[m].cpu / 1e6, per,
		       base > 0 ? per / base : 0.0);
		/* The sender outruns every receiver; the rest overflow the veth ring, by design. */
		if (res[m].dropped < (unsigned long long)packets / 1000)
			printf("%-18s   (only %llu of %ld frames reached the receiver: too few to trust)\n", "",
			       res[m].dropped, packets);
	}
	printf("\nOne run's figures: compare the ratios, not the absolute times (see MEASURING.md).\n");
	return failed ? 1 : 0;
}
