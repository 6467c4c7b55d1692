// SPDX-License-Identifier: MIT
/*
 * autoxdpd: loads the data path, attaches it to the internet-facing
 * interfaces and keeps the allow-lists equal to the listening sockets.
 * Protection outlives the daemon: links and maps are pinned, so a stop,
 * crash or upgrade leaves the last good state enforced.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/capability.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>
#include "config.h"
#include "conntrack_seed.h"
#include "ifaces.h"
#include "loader.h"
#include "log.h"
#include "portsync.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define ERRLEN 1024

/* What the command line says; it overrides the configuration files, also across reloads. */
struct cmdline {
	const char *config_file;
	char dropin_dir[AXDP_PATH_MAX];
	const char *bpf_object;
	const char *pin_dir;
	const char *xdp_mode;
	struct axdp_ifname_list interfaces;
	bool check_config;
};

struct daemon {
	struct cmdline cmd;
	struct axdp_config cfg;
	struct axdp_datapath dp;
	struct axdp_portsync ps;
	struct ring_buffer *events;
	struct axdp_attachment att[AXDP_MAX_IFACES];
	int n_att;
	int epoll_fd, signal_fd, reconcile_fd, watchdog_fd, link_fd;
	bool reconcile_due;
	bool stop;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: autoxdpd [OPTION]...\n"
		"The autoxdp firewall daemon: XDP drops what no listening socket asked for.\n\n"
		"  -c, --config FILE        configuration file (default %s; drop-ins in FILE.d/)\n"
		"  -i, --interface IFACE    protect IFACE (repeatable; default: the default routes' interfaces)\n"
		"  -o, --bpf-object PATH    data path object (default %s)\n"
		"  -p, --pin-dir DIR        bpffs directory for pinned maps and links (default %s)\n"
		"  -m, --xdp-mode MODE      auto, native or generic (default auto)\n"
		"  -t, --check-config       validate the configuration, print the effective one, exit\n"
		"  -V, --version            print the version and exit\n"
		"  -h, --help               print this help and exit\n\n"
		"Each option has a key in autoxdp.conf(5). SIGHUP reloads the configuration; SIGTERM stops\n"
		"the daemon and leaves protection in place ('axdp off' removes it). See autoxdpd(8).\n",
		AXDP_CONFIG_FILE, AXDP_OBJECT_DEFAULT, AXDP_PIN_DIR_DEFAULT);
}

static int parse_cmdline(int argc, char **argv, struct cmdline *cmd)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },     { "interface", required_argument, NULL, 'i' },
		{ "bpf-object", required_argument, NULL, 'o' }, { "pin-dir", required_argument, NULL, 'p' },
		{ "xdp-mode", required_argument, NULL, 'm' },   { "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },          { "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	cmd->config_file = AXDP_CONFIG_FILE;
	while ((c = getopt_long(argc, argv, "c:i:o:p:m:tVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cmd->config_file = optarg; break;
		case 'o': cmd->bpf_object = optarg; break;
		case 'p': cmd->pin_dir = optarg; break;
		case 'm': cmd->xdp_mode = optarg; break;
		case 't': cmd->check_config = true; break;
		case 'V': printf("autoxdpd %s\n", AXDP_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		case 'i':
			if (cmd->interfaces.n == cmd->interfaces.cap) {
				cmd->interfaces.cap = cmd->interfaces.cap ? cmd->interfaces.cap * 2 : 4;
				cmd->interfaces.v = realloc(cmd->interfaces.v, cmd->interfaces.cap * sizeof(*cmd->interfaces.v));
				if (!cmd->interfaces.v)
					return -1;
			}
			snprintf(cmd->interfaces.v[cmd->interfaces.n++], AXDP_IFNAMSIZ, "%s", optarg);
			break;
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "autoxdpd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	snprintf(cmd->dropin_dir, sizeof(cmd->dropin_dir), "%s.d", cmd->config_file);
	return 0;
}

/* Files first, then the command line on top, through the same key parsers as the files. */
static int load_config(const struct cmdline *cmd, struct axdp_config *out, char *err, size_t errlen)
{
	struct axdp_config c;

	if (axdp_config_load(&c, cmd->config_file, cmd->dropin_dir, err, errlen))
		return -1;
	if (cmd->interfaces.n) {
		free(c.interfaces.v);
		c.interfaces.v = malloc(cmd->interfaces.n * sizeof(*c.interfaces.v));
		if (!c.interfaces.v) {
			axdp_config_free(&c);
			return snprintf(err, errlen, "out of memory"), -1;
		}
		memcpy(c.interfaces.v, cmd->interfaces.v, cmd->interfaces.n * sizeof(*c.interfaces.v));
		c.interfaces.n = c.interfaces.cap = cmd->interfaces.n;
	}
	if (cmd->bpf_object)
		snprintf(c.bpf_object, sizeof(c.bpf_object), "%s", cmd->bpf_object);
	if (cmd->pin_dir)
		snprintf(c.pin_dir, sizeof(c.pin_dir), "%s", cmd->pin_dir);
	if (cmd->xdp_mode) {
		static const char *const modes[] = { "auto", "native", "generic" };
		size_t i;

		for (i = 0; i < 3 && strcmp(cmd->xdp_mode, modes[i]); i++)
			;
		if (i == 3) {
			axdp_config_free(&c);
			return snprintf(err, errlen, "--xdp-mode %s: expected auto, native or generic", cmd->xdp_mode), -1;
		}
		c.xdp_mode = (enum axdp_xdp_mode)i;
	}
	*out = c;
	return 0;
}

static uint64_t netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len);
		close(fd);
	}
	return cookie;
}

static struct axdp_knobs knobs_from(const struct axdp_config *cfg)
{
	struct axdp_knobs k = {
		.tcp_timeout_ns = cfg->tcp_timeout_s * AXDP_NSEC_PER_SEC,
		.tcp_closing_timeout_ns = cfg->tcp_closing_timeout_s * AXDP_NSEC_PER_SEC,
		.udp_timeout_ns = cfg->udp_timeout_s * AXDP_NSEC_PER_SEC,
		.icmp_timeout_ns = cfg->icmp_timeout_s * AXDP_NSEC_PER_SEC,
		.frag_timeout_ns = cfg->frag_timeout_s * AXDP_NSEC_PER_SEC,
		.netns_cookie = netns_cookie(),
	};

	axdp_ephemeral_range(&k.ephemeral_lo, &k.ephemeral_hi);
	return k;
}

static void notify_status(struct daemon *d)
{
	unsigned int open[AXDP_L4_COUNT];
	char ifs[512] = "";
	size_t len = 0;

	axdp_portsync_count(&d->ps, open);
	for (int i = 0; i < d->n_att && len < sizeof(ifs); i++)
		len += snprintf(ifs + len, sizeof(ifs) - len, "%s%s %s", i ? ", " : "", d->att[i].ifname,
				axdp_xdp_mode_name(d->att[i].xdp_mode));
	sd_notifyf(0, "STATUS=xdp on %s; %u tcp and %u udp ports open%s", d->n_att ? ifs : "no interface yet",
		   open[AXDP_L4_TCP], open[AXDP_L4_UDP], d->dp.hooks ? "" : "; socket hooks unavailable, polling");
}

/* 'axdp off' removes the pins: the operator wants no firewall, so the daemon must not rebuild one. */
static bool turned_off(const struct daemon *d)
{
	char path[AXDP_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", d->cfg.pin_dir, AXDP_MAP_PORT_ALLOW);
	return access(path, F_OK) != 0 && errno == ENOENT;
}

static void reconcile(struct daemon *d)
{
	char err[ERRLEN];

	d->reconcile_due = false;
	if (axdp_portsync_reconcile(&d->ps, &d->cfg, err, sizeof(err)))
		axdp_log(LOG_ERR, "reconciling the allow-lists: %s; retrying at the next interval", err);
}

static bool attached(const struct daemon *d, const char *ifname)
{
	for (int i = 0; i < d->n_att; i++)
		if (strcmp(d->att[i].ifname, ifname) == 0 && d->att[i].ifindex == (int)if_nametoindex(ifname))
			return true;
	return false;
}

static void forget_vanished(struct daemon *d)
{
	char err[ERRLEN];

	for (int i = 0; i < d->n_att;) {
		if ((int)if_nametoindex(d->att[i].ifname) == d->att[i].ifindex) {
			i++;
			continue;
		}
		axdp_log_fields(LOG_NOTICE, &(struct axdp_log_fields){ .interface = d->att[i].ifname },
				"%s: interface gone; protection resumes when it comes back", d->att[i].ifname);
		if (axdp_detach(d->dp.pin_dir, d->att[i].ifname, err, sizeof(err)))
			axdp_log(LOG_WARNING, "%s", err);
		d->att[i] = d->att[--d->n_att];
	}
}

/* Attaches to every wanted interface that exists and is not yet protected. */
static void sync_interfaces(struct daemon *d)
{
	struct axdp_iface_list want = { .n = 0 };
	char err[ERRLEN];

	forget_vanished(d);
	if (d->cfg.interfaces.n) {
		for (size_t i = 0; i < d->cfg.interfaces.n && want.n < AXDP_MAX_IFACES; i++)
			snprintf(want.name[want.n++], IF_NAMESIZE, "%s", d->cfg.interfaces.v[i]);
	} else if (axdp_default_route_ifaces(&want, err, sizeof(err))) {
		axdp_log(LOG_ERR, "%s", err);
	}
	for (int i = 0; i < want.n; i++) {
		struct axdp_attachment a;
		struct axdp_log_fields f = { .interface = want.name[i] };

		if (attached(d, want.name[i]) || !if_nametoindex(want.name[i]) || d->n_att == AXDP_MAX_IFACES)
			continue;
		if (axdp_attach(&d->dp, want.name[i], d->cfg.xdp_mode, &a, err, sizeof(err))) {
			axdp_log_fields(LOG_ERR, &f, "%s", err);
			continue;
		}
		d->att[d->n_att++] = a;
		axdp_log_fields(LOG_INFO, &f, "%s: protected, XDP %s, egress %s%s", a.ifname, axdp_xdp_mode_name(a.xdp_mode),
				axdp_tc_mode_name(a.tc_mode), a.adopted ? " (existing links kept)" : "");
	}
	if (!d->n_att)
		axdp_log(LOG_WARNING, "no interface to protect yet: waiting for %s",
			 d->cfg.interfaces.n ? "the configured interfaces" : "a default route");
}

static int handle_sock_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	const struct axdp_sock_event *e = data;
	struct axdp_log_fields f = { .protocol = e->l4 == AXDP_L4_TCP ? "tcp" : "udp", .port = e->port,
				     .process = e->comm };

	if (size < sizeof(*e))
		return 0;
	if (e->kind == AXDP_SOCK_OPENED)
		axdp_log_fields(LOG_INFO, &f, "opened %s/%u for %s[%u] at %s", f.protocol, e->port, e->comm, e->pid,
				e->l4 == AXDP_L4_TCP ? "listen()" : "bind()");
	else
		d->reconcile_due = true;
	return 0;
}

/* From here on only CAP_BPF and CAP_NET_ADMIN: map updates, attaching, reloading need no more. */
static int drop_privileges(char *err, size_t errlen)
{
	static const cap_value_t keep[] = { CAP_BPF, CAP_NET_ADMIN };
	cap_t caps = cap_init();
	int rc = -1;

	if (!caps)
		return snprintf(err, errlen, "cap_init: %s", strerror(errno)), -1;
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++)
		if (c != keep[0] && c != keep[1] && CAP_IS_SUPPORTED(c))
			cap_drop_bound(c);
	if (cap_set_flag(caps, CAP_PERMITTED, 2, keep, CAP_SET) == 0 &&
	    cap_set_flag(caps, CAP_EFFECTIVE, 2, keep, CAP_SET) == 0 && cap_set_proc(caps) == 0 &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		rc = 0;
	else
		snprintf(err, errlen, "dropping to CAP_BPF and CAP_NET_ADMIN: %s", strerror(errno));
	cap_free(caps);
	return rc;
}

static int watch(int epoll_fd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return fd < 0 ? 0 : epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static int set_interval(int fd, unsigned long long usec)
{
	struct itimerspec its = { .it_interval = { usec / 1000000, (usec % 1000000) * 1000 } };

	its.it_value = its.it_interval;
	return timerfd_settime(fd, 0, &its, NULL);
}

static int timer_fd(unsigned long long usec)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd >= 0 && set_interval(fd, usec) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_datapath(const struct axdp_config *cfg, bool hooks, struct axdp_datapath *dp, char *err, size_t errlen)
{
	struct axdp_load_opts opts = {
		.object_path = cfg->bpf_object,
		.pin_dir = cfg->pin_dir,
		.knobs = knobs_from(cfg),
		.hooks = hooks,
	};

	return axdp_datapath_load(dp, &opts, err, errlen);
}

/* Through the pin, so the ring outlives the object a reload replaces. */
static int open_events(struct daemon *d, char *err, size_t errlen)
{
	char path[AXDP_PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", d->cfg.pin_dir, AXDP_MAP_SOCK_EVENTS);
	fd = bpf_obj_get(path);
	d->events = fd < 0 ? NULL : ring_buffer__new(fd, handle_sock_event, d, NULL);
	if (!d->events)
		return snprintf(err, errlen, "opening ring buffer %s: %s", path, strerror(errno)), -1;
	return 0;
}

/*
 * Order matters for the operator's sessions: the allow-lists and the
 * conntrack seed are in place before XDP judges a single packet, and
 * egress tracks before ingress starts (axdp_attach).
 */
static int start(struct daemon *d, char *err, size_t errlen)
{
	char seed_err[ERRLEN];
	int seeded;

	if (open_datapath(&d->cfg, true, &d->dp, err, errlen) || axdp_portsync_open(&d->ps, &d->dp, err, errlen) ||
	    open_events(d, err, errlen))
		return -1;
	if (!d->dp.hooks)
		axdp_log(LOG_WARNING, "socket hooks unavailable (%s): ports open at the next reconcile instead of at listen()",
			 d->dp.hooks_error);
	else if (axdp_attach_hooks(&d->dp, err, errlen))
		return -1;
	if (axdp_portsync_reconcile(&d->ps, &d->cfg, err, errlen))
		return -1;
	seeded = axdp_conntrack_seed(bpf_map__fd(bpf_object__find_map_by_name(d->dp.obj, AXDP_MAP_CONNTRACK)),
				     bpf_map__fd(bpf_object__find_map_by_name(d->dp.obj, AXDP_MAP_FLOW_PORTS)),
				     seed_err, sizeof(seed_err));
	if (seeded < 0)
		axdp_log(LOG_WARNING, "seeding conntrack with existing connections: %s", seed_err);
	else
		axdp_log(LOG_INFO, "conntrack seeded with %d existing connections", seeded);
	sync_interfaces(d);
	return 0;
}

static void reload(struct daemon *d)
{
	struct axdp_knobs before = knobs_from(&d->cfg), after;
	struct axdp_datapath next_dp;
	struct axdp_config next;
	struct timespec ts;
	char err[ERRLEN];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	if (load_config(&d->cmd, &next, err, sizeof(err)))
		goto rejected;
	if (strcmp(next.pin_dir, d->cfg.pin_dir) != 0) {
		snprintf(err, sizeof(err), "PinDir=%s: a new pin directory takes effect at restart, not at reload", next.pin_dir);
		goto rejected_free;
	}
	after = knobs_from(&next);
	if (memcmp(&before, &after, sizeof(before)) != 0 || strcmp(next.bpf_object, d->cfg.bpf_object) != 0) {
		/*
		 * New programs go into the same links and maps (privileges no longer
		 * allow loading the tracing hook; the pinned one keeps running).
		 */
		if (open_datapath(&next, false, &next_dp, err, sizeof(err)))
			goto rejected_free;
		axdp_portsync_close(&d->ps);
		axdp_datapath_close(&d->dp);
		d->dp = next_dp;
		d->n_att = 0;
		if (axdp_portsync_open(&d->ps, &d->dp, err, sizeof(err)))
			axdp_log(LOG_ERR, "after reload: %s; the allow-lists stay as they are until a restart", err);
	}
	if (next.reconcile_interval_s != d->cfg.reconcile_interval_s)
		set_interval(d->reconcile_fd, next.reconcile_interval_s * 1000000ULL);
	axdp_config_free(&d->cfg);
	d->cfg = next;
	sync_interfaces(d);
	reconcile(d);
	axdp_log(LOG_INFO, "configuration reloaded");
	goto ready;
rejected_free:
	axdp_config_free(&next);
rejected:
	axdp_log(LOG_ERR, "configuration rejected, the running one stays in force: %s", err);
ready:
	sd_notify(0, "READY=1");
	notify_status(d);
}

static int run(struct daemon *d)
{
	struct epoll_event ev[8];

	while (!d->stop) {
		int n = epoll_wait(d->epoll_fd, ev, 8, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return axdp_log(LOG_ERR, "epoll_wait: %s", strerror(errno)), -1;
		if (turned_off(d)) {
			axdp_log(LOG_NOTICE, "protection was turned off (%s removed): exiting", d->cfg.pin_dir);
			return 0;
		}
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			uint64_t ticks;

			if (fd == d->signal_fd) {
				struct signalfd_siginfo si;

				if (read(fd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP)
					reload(d);
				else
					d->stop = true;
			} else if (fd == d->reconcile_fd) {
				if (read(fd, &ticks, sizeof(ticks)) > 0)
					d->reconcile_due = true;
			} else if (fd == d->watchdog_fd) {
				if (read(fd, &ticks, sizeof(ticks)) > 0)
					sd_notify(0, "WATCHDOG=1");
			} else if (fd == d->link_fd) {
				if (axdp_link_monitor_drain(fd) != 0)
					sync_interfaces(d);
			} else {
				ring_buffer__consume(d->events);
			}
		}
		if (d->reconcile_due) {
			reconcile(d);
			notify_status(d);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = { .epoll_fd = -1 };
	uint64_t watchdog_usec = 0;
	char err[ERRLEN];
	sigset_t mask;

	if (parse_cmdline(argc, argv, &d.cmd))
		return 2;
	if (load_config(&d.cmd, &d.cfg, err, sizeof(err))) {
		fprintf(stderr, "autoxdpd: %s\n", err);
		return 1;
	}
	if (d.cmd.check_config)
		return axdp_config_print(&d.cfg, stdout) ? 1 : 0;

	axdp_log_init();
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (start(&d, err, sizeof(err))) {
		axdp_log(LOG_ERR, "%s", err);
		sd_notifyf(0, "STATUS=failed: %s", err);
		return 1;
	}

	d.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d.reconcile_fd = timer_fd(d.cfg.reconcile_interval_s * 1000000ULL);
	d.watchdog_fd = sd_watchdog_enabled(0, &watchdog_usec) > 0 ? timer_fd(watchdog_usec / 2) : -1;
	d.link_fd = axdp_link_monitor_open(err, sizeof(err));
	d.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d.link_fd < 0)
		axdp_log(LOG_WARNING, "%s: interfaces that appear later are not protected until a reload", err);
	if (d.signal_fd < 0 || d.reconcile_fd < 0 || d.epoll_fd < 0 || watch(d.epoll_fd, d.signal_fd) ||
	    watch(d.epoll_fd, d.reconcile_fd) || watch(d.epoll_fd, d.watchdog_fd) || watch(d.epoll_fd, d.link_fd) ||
	    watch(d.epoll_fd, ring_buffer__epoll_fd(d.events))) {
		axdp_log(LOG_ERR, "setting up the event loop: %s", strerror(errno));
		return 1;
	}
	if (drop_privileges(err, sizeof(err))) {
		axdp_log(LOG_ERR, "%s", err);
		return 1;
	}
	reconcile(&d);
	sd_notify(0, "READY=1");
	notify_status(&d);
	axdp_log(LOG_INFO, "autoxdpd %s running; protection stays in place when it stops", AXDP_VERSION);
	run(&d);
	sd_notify(0, "STOPPING=1");
	axdp_log(LOG_INFO, "stopping; the data path keeps protecting (axdp off removes it)");
	ring_buffer__free(d.events);
	axdp_portsync_close(&d.ps);
	axdp_datapath_close(&d.dp);
	axdp_config_free(&d.cfg);
	return 0;
}
