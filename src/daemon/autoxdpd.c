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
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/capability.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>
#include "bans.h"
#include "config.h"
#include "ifaces.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "nft_backend.h"
#include "pidfile.h"
#include "policy.h"
#include "port_tier.h"
#include "portsync.h"
#include "proc_events.h"
#include "mode_switch.h"
#include "rate_knobs.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define ERRLEN 1024
/* Without socket hooks, how long process events may keep coming before one reconcile answers them all. */
#define PROC_SETTLE_MS 50

/* What the command line says; it overrides the configuration files, also across reloads. */
struct cmdline {
	const char *config_file;
	char dropin_dir[AXDP_PATH_MAX];
	const char *bpf_object;
	const char *pin_dir;
	const char *xdp_mode;
	const char *backend;
	struct axdp_ifname_list interfaces;
	bool check_config;
};

struct daemon {
	struct cmdline cmd;
	struct axdp_config cfg;
	struct axdp_datapath dp;
	struct axdp_mode_switch mode;   /* the other Mode='s program, ready to swap in */
	struct axdp_portsync ps;
	struct axdp_policy_maps pol;
	bool policy;           /* pol is open: deny, trust and local address maps */
	struct ring_buffer *events;
	struct axdp_attachment att[AXDP_MAX_IFACES];
	int n_att;
	bool bpf;              /* the data path object loaded; without it nftables alone, sock_diag polling */
	struct axdp_nft nft;   /* interfaces nftables protects (Backend=, or XDP failed on them) */
	bool nft_due;          /* a hook opened a port: the nftables sets follow at once */
	bool pin_watch;        /* without a data path: the pin directory existed, 'axdp off' removes it */
	int epoll_fd, signal_fd, reconcile_fd, watchdog_fd, link_fd, metrics_fd;
	int proc_fd;           /* without socket hooks: the process connector, or -1 */
	int settle_fd;         /* one-shot: a burst of process events settled, reconcile */
	int bans_watch_fd;     /* inotify on StateDirectory=: axdp changed the bans file */
	int bans_timer_fd;     /* CLOCK_REALTIME, armed at the next ban's expiry */
	bool bans_synced;      /* the bans trie was made equal to the file once */
	bool settling;         /* settle_fd is armed */
	bool reconcile_due;
	bool renew_due;        /* the periodic reconcile: idle sessions' conntrack entries get stamped */
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
		"  -b, --backend BACKEND    auto, xdp or nftables (default auto: XDP, else nftables)\n"
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
		{ "backend", required_argument, NULL, 'b' },
		{ "version", no_argument, NULL, 'V' },          { "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	cmd->config_file = AXDP_CONFIG_FILE;
	while ((c = getopt_long(argc, argv, "c:i:o:p:m:b:tVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cmd->config_file = optarg; break;
		case 'o': cmd->bpf_object = optarg; break;
		case 'p': cmd->pin_dir = optarg; break;
		case 'm': cmd->xdp_mode = optarg; break;
		case 'b': cmd->backend = optarg; break;
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
	if (cmd->backend) {
		static const char *const backends[] = { "auto", "xdp", "nftables" };
		size_t i;

		for (i = 0; i < 3 && strcmp(cmd->backend, backends[i]); i++)
			;
		if (i == 3) {
			axdp_config_free(&c);
			return snprintf(err, errlen, "--backend %s: expected auto, xdp or nftables", cmd->backend), -1;
		}
		c.backend = (enum axdp_backend)i;
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
		/* 0 would turn off the drop events 'axdp events' and 'axdp top' read. */
		.events_per_cpu = AXDP_DEFAULT_EVENTS_PER_CPU,
		.audit = cfg->mode == AXDP_MODE_AUDIT,
	};

	axdp_ephemeral_range(&k.ephemeral_lo, &k.ephemeral_hi);
	axdp_rate_knobs(&k, cfg, 0);
	return k;
}

static void notify_status(struct daemon *d)
{
	unsigned int open[AXDP_L4_COUNT];
	char ifs[512] = "";
	size_t len = 0;

	axdp_portsync_count(&d->ps, open);
	for (int i = 0; i < d->n_att && len < sizeof(ifs); i++)
		len += snprintf(ifs + len, sizeof(ifs) - len, "%s%s xdp %s", i ? ", " : "", d->att[i].ifname,
				axdp_xdp_mode_name(d->att[i].xdp_mode));
	for (int i = 0; i < d->nft.n && len < sizeof(ifs); i++)
		len += snprintf(ifs + len, sizeof(ifs) - len, "%s%s nftables", len ? ", " : "", d->nft.ifaces[i]);
	sd_notifyf(0, "STATUS=%s %s; %u tcp and %u udp ports open%s",
		   d->bpf && d->mode.audit ? "auditing (nothing dropped)" : "protecting", len ? ifs : "no interface yet",
		   open[AXDP_L4_TCP], open[AXDP_L4_UDP],
		   !d->bpf ? "; no data path object, polling" : d->dp.hooks ? "" : "; socket hooks unavailable, polling");
}

/*
 * 'axdp off' removes the pins: the operator wants no firewall, so the daemon must not rebuild one.
 * Without a data path there is only the (empty) pin directory to go by.
 */
static bool turned_off(const struct daemon *d)
{
	char path[AXDP_PATH_MAX + 32];

	if (!d->bpf && !d->pin_watch)
		return false;
	snprintf(path, sizeof(path), "%s/%s", d->cfg.pin_dir, d->bpf ? AXDP_MAP_PORT_ALLOW : "");
	return access(path, F_OK) != 0 && errno == ENOENT;
}

/* The nftables sets follow the allow-lists (port_allow as the hooks left it); one transaction. */
static void nft_sync(struct daemon *d)
{
	struct axdp_port_state st;
	char err[ERRLEN];

	d->nft_due = false;
	if ((!d->nft.n && d->nft.absent) || !d->ps.slots || turned_off(d))
		return;
	if (axdp_portsync_state(&d->ps, &st, err, sizeof(err)) == 0) {
		if (axdp_nft_sync(&d->nft, &st, &d->cfg, err, sizeof(err)))
			axdp_log(LOG_ERR, "nftables: %s", err);
		axdp_port_state_free(&st);
	} else {
		axdp_log(LOG_ERR, "nftables: reading the allow-lists: %s", err);
	}
}

/*
 * Runtime bans (bans.h): the expired ones out, the trie equal to the file
 * at the first run, deny_clear from what remains; with lists the
 * configuration's lists too, under the same lock.  The timer follows the
 * next expiry.
 */
static void update_bans(struct daemon *d, const struct axdp_config *lists)
{
	struct itimerspec at = { 0 };
	char err[ERRLEN];
	int64_t next;

	if (axdp_bans_update(&d->pol, d->cfg.state_dir, lists, !d->bans_synced, &next, err, sizeof(err)) == 0)
		d->bans_synced = true;
	else
		axdp_log(LOG_ERR, "bans: %s", err);
	at.it_value.tv_sec = next;
	if (d->bans_timer_fd >= 0 && timerfd_settime(d->bans_timer_fd, TFD_TIMER_ABSTIME, &at, NULL))
		axdp_log(LOG_ERR, "bans: arming the expiry timer: %s; bans expire at the next change", strerror(errno));
}

/* Source policy: with lists, DenyCIDR=/DenyListFile=/TrustCIDR= and the bans too; always the host's own addresses. */
static void sync_policy(struct daemon *d, bool lists)
{
	char err[ERRLEN];

	if (!d->bpf)
		return;
	if (!d->policy && axdp_policy_open(&d->pol, d->cfg.pin_dir, err, sizeof(err))) {
		axdp_log(LOG_ERR, "source policy: %s", err);
		return;
	}
	d->policy = true;
	if (lists)
		update_bans(d, &d->cfg); /* logs what it did */
	if (axdp_policy_sync_local(&d->pol, err, sizeof(err)))
		axdp_log(LOG_ERR, "own addresses for the martian check: %s", err);
}

static void reconcile(struct daemon *d, bool renew)
{
	char err[ERRLEN];

	d->reconcile_due = d->renew_due = false;
	sync_policy(d, false);
	if (axdp_portsync_reconcile(&d->ps, &d->cfg, renew, err, sizeof(err)))
		axdp_log(LOG_ERR, "reconciling the allow-lists: %s; retrying at the next interval", err);
	nft_sync(d);
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

static bool attach_xdp(struct daemon *d, const char *ifname, char *err, size_t errlen)
{
	struct axdp_attachment a;
	struct axdp_log_fields f = { .interface = ifname };

	if (!d->bpf)
		return snprintf(err, errlen, "%s: no data path object loaded", ifname), false;
	if (d->n_att == AXDP_MAX_IFACES)
		return snprintf(err, errlen, "%s: already %d interfaces on XDP", ifname, AXDP_MAX_IFACES), false;
	if (axdp_attach(&d->dp, ifname, d->cfg.xdp_mode, &a, err, errlen))
		return false;
	d->att[d->n_att++] = a;
	axdp_log_fields(LOG_INFO, &f, "%s: protected, XDP %s, egress %s%s", a.ifname, axdp_xdp_mode_name(a.xdp_mode),
			axdp_tc_mode_name(a.tc_mode), a.adopted ? " (existing links kept)" : "");
	return true;
}

/*
 * Moves interfaces between backends without a moment unprotected: the new
 * protection is in place before the old one goes.  XDP to nftables when
 * Backend=nftables; nftables to XDP when Backend=xdp, or with Backend=auto
 * when retry (start and reload) and XDP attaches now.
 */
static void switch_backends(struct daemon *d, bool retry)
{
	char err[ERRLEN], gone[AXDP_MAX_IFACES][IF_NAMESIZE];
	int n_gone = 0, n_nft = d->nft.n;

	if (d->cfg.backend == AXDP_BACKEND_XDP || (d->cfg.backend == AXDP_BACKEND_AUTO && retry)) {
		char names[AXDP_MAX_IFACES][IF_NAMESIZE];

		memcpy(names, d->nft.ifaces, sizeof(names));
		for (int i = 0; i < n_nft; i++) {
			char left[ERRLEN];

			if (attached(d, names[i]) || (if_nametoindex(names[i]) && attach_xdp(d, names[i], err, sizeof(err)))) {
				axdp_nft_del(&d->nft, names[i]);
				continue;
			}
			if (d->cfg.backend == AXDP_BACKEND_XDP)
				axdp_log_fields(LOG_ERR, &(struct axdp_log_fields){ .interface = names[i] },
						"%s: stays on nftables, XDP does not attach: %s", names[i],
						if_nametoindex(names[i]) ? err : "no such interface");
			/* What the attempt left (tc egress before XDP failed) goes; nftables still holds. */
			if (if_nametoindex(names[i]) && axdp_detach(d->cfg.pin_dir, names[i], left, sizeof(left)))
				axdp_log(LOG_WARNING, "%s", left);
		}
	}
	if (d->cfg.backend == AXDP_BACKEND_NFTABLES)
		for (int i = 0; i < d->n_att; i++)
			if (axdp_nft_add(&d->nft, d->att[i].ifname, err, sizeof(err)) == 0)
				snprintf(gone[n_gone++], IF_NAMESIZE, "%s", d->att[i].ifname);
	if (n_nft == d->nft.n && !n_gone)
		return;
	nft_sync(d);
	if (!d->nft.installed)
		return; /* XDP stays where nftables did not take over */
	for (int i = 0; i < n_gone; i++) {
		axdp_log_fields(LOG_NOTICE, &(struct axdp_log_fields){ .interface = gone[i] },
				"%s: protected, nftables (Backend=nftables; XDP removed)", gone[i]);
		if (axdp_detach(d->cfg.pin_dir, gone[i], err, sizeof(err)))
			axdp_log(LOG_WARNING, "%s", err);
		for (int j = 0; j < d->n_att; j++)
			if (strcmp(d->att[j].ifname, gone[i]) == 0)
				d->att[j--] = d->att[--d->n_att];
	}
}

/* Attaches to every wanted interface that exists and is not yet protected. */
static void sync_interfaces(struct daemon *d)
{
	struct axdp_iface_list want = { .n = 0 };
	char err[ERRLEN], moved[AXDP_MAX_IFACES][IF_NAMESIZE];
	int n_moved = 0;

	forget_vanished(d);
	if (d->cfg.interfaces.n) {
		for (size_t i = 0; i < d->cfg.interfaces.n && want.n < AXDP_MAX_IFACES; i++)
			snprintf(want.name[want.n++], IF_NAMESIZE, "%s", d->cfg.interfaces.v[i]);
	} else if (axdp_default_route_ifaces(&want, err, sizeof(err))) {
		axdp_log(LOG_ERR, "%s", err);
	}
	for (int i = 0; i < want.n; i++) {
		struct axdp_log_fields f = { .interface = want.name[i] };
		char why[ERRLEN];

		if (attached(d, want.name[i]) || axdp_nft_protects(&d->nft, want.name[i]) || !if_nametoindex(want.name[i]))
			continue;
		if (d->cfg.backend != AXDP_BACKEND_NFTABLES && attach_xdp(d, want.name[i], err, sizeof(err)))
			continue;
		if (d->cfg.backend == AXDP_BACKEND_XDP) {
			axdp_log_fields(LOG_ERR, &f, "%s", err);
			continue;
		}
		snprintf(why, sizeof(why), "%s%s", d->cfg.backend == AXDP_BACKEND_NFTABLES ? "Backend=nftables" : "XDP failed: ",
			 d->cfg.backend == AXDP_BACKEND_NFTABLES ? "" : err);
		if (axdp_nft_available(err, sizeof(err)) || axdp_nft_add(&d->nft, want.name[i], err, sizeof(err))) {
			axdp_log_fields(LOG_ERR, &f, "%s: not protected: %s%s%s", want.name[i], err,
					d->cfg.backend == AXDP_BACKEND_AUTO ? "; " : "",
					d->cfg.backend == AXDP_BACKEND_AUTO ? why : "");
			continue;
		}
		axdp_log_fields(d->cfg.backend == AXDP_BACKEND_AUTO ? LOG_WARNING : LOG_INFO, &f,
				"%s: protected, nftables (%s)", want.name[i], why);
		snprintf(moved[n_moved++], IF_NAMESIZE, "%s", want.name[i]);
	}
	if (n_moved) {
		nft_sync(d);
		/* Leftovers of an XDP attempt or an earlier run (tc egress, stale links) go once nftables holds. */
		for (int i = 0; i < n_moved && d->nft.installed; i++)
			if (axdp_detach(d->cfg.pin_dir, moved[i], err, sizeof(err)))
				axdp_log(LOG_WARNING, "%s", err);
	}
	if (!d->n_att && !d->nft.n)
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
	if (e->kind == AXDP_SOCK_OPENED) {
		axdp_log_fields(LOG_INFO, &f, "opened %s/%u for %s[%u] at %s", f.protocol, e->port, e->comm, e->pid,
				e->l4 == AXDP_L4_TCP ? "listen()" : "bind()");
		if (e->l4 == AXDP_L4_TCP && d->ps.slots)
			axdp_port_tier_store(d->ps.slots, e->port, axdp_port_tier_of(&d->cfg, e->port, e->comm));
		d->nft_due = d->nft.n > 0;
	} else
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

static int open_datapath(const struct axdp_config *cfg, struct axdp_datapath *dp, char *err, size_t errlen)
{
	struct axdp_load_opts opts = {
		.object_path = cfg->bpf_object,
		.pin_dir = cfg->pin_dir,
		.knobs = knobs_from(cfg),
		.hooks = true,
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
/*
 * The interfaces an earlier run left in our nftables table stay protected,
 * as pinned XDP links do; Backend= may move them to XDP (switch_backends).
 */
static void adopt_nft(struct daemon *d)
{
	char names[AXDP_MAX_IFACES][IF_NAMESIZE], err[ERRLEN];
	int n = axdp_nft_interfaces(names, AXDP_MAX_IFACES, err, sizeof(err));

	if (n < 0)
		axdp_log(LOG_WARNING, "nftables: reading the interfaces of an earlier run: %s", err);
	for (int i = 0; i < n; i++)
		if (axdp_nft_add(&d->nft, names[i], err, sizeof(err)) == 0)
			axdp_log_fields(LOG_INFO, &(struct axdp_log_fields){ .interface = names[i] },
					"%s: protected, nftables (kept from the earlier run)", names[i]);
}

static int start(struct daemon *d, char *err, size_t errlen)
{
	char seed_err[ERRLEN];

	d->bpf = open_datapath(&d->cfg, &d->dp, err, errlen) == 0;
	d->mode.audit = d->cfg.mode == AXDP_MODE_AUDIT;
	if (d->bpf && axdp_mode_prepare(&d->mode, &d->dp, d->cfg.bpf_object, seed_err, sizeof(seed_err)))
		axdp_log(LOG_WARNING, "loading the %s program beside the %s one: %s; a changed Mode= applies at restart only",
			 axdp_mode_name(!d->mode.audit), axdp_mode_name(d->mode.audit), seed_err);
	if (!d->bpf) {
		/* nftables alone still protects; XDP-only cannot. */
		if (d->cfg.backend == AXDP_BACKEND_XDP)
			return -1;
		if (axdp_nft_available(seed_err, sizeof(seed_err))) {
			snprintf(err + strlen(err), errlen - strlen(err), "; and %s", seed_err);
			return -1;
		}
		axdp_log(LOG_WARNING, "%s: protecting with nftables alone; ports open at each sock_diag poll (ReconcileIntervalSec=%u)",
			 err, d->cfg.reconcile_interval_s);
		d->pin_watch = (mkdir(d->cfg.pin_dir, 0700) == 0 || errno == EEXIST) && access(d->cfg.pin_dir, F_OK) == 0;
	} else if (d->cfg.backend == AXDP_BACKEND_NFTABLES && axdp_nft_available(err, errlen)) {
		return -1;
	}
	if (d->bpf && d->dp.migrated[0])
		axdp_log(LOG_NOTICE, "pinned maps of another definition taken over by %s: %s", d->cfg.bpf_object,
			 d->dp.migrated);
	if (axdp_portsync_open(&d->ps, d->bpf ? &d->dp : NULL, err, errlen) || (d->bpf && open_events(d, err, errlen)))
		return -1;
	if (d->bpf && !d->dp.hooks)
		axdp_log(LOG_WARNING, "socket hooks unavailable (%s): ports open at the next reconcile instead of at listen()",
			 d->dp.hooks_error);
	else if (d->bpf && axdp_attach_hooks(&d->dp, err, errlen))
		return -1;
	/* Seeds conntrack with the existing connections no open port serves. */
	if (axdp_portsync_reconcile(&d->ps, &d->cfg, true, err, errlen))
		return -1;
	/* Deny and trust lists before the first packet is judged. */
	sync_policy(d, true);
	adopt_nft(d);
	sync_interfaces(d);
	switch_backends(d, true);
	/* Installs our table whole (replacing an earlier run's in one transaction), or removes a stale one. */
	nft_sync(d);
	/* Links of interfaces not attached above get the new programs too; then the old maps go. */
	if (d->bpf && axdp_datapath_take_over(&d->dp, seed_err, sizeof(seed_err)))
		axdp_log(LOG_ERR, "completing the takeover of changed maps: %s; links still running the old programs keep the old maps",
			 seed_err);
	return 0;
}

/* MetricsFile=: rendered by metrics.c, as 'axdp stats --format prometheus' renders it. */
static void write_metrics(struct daemon *d)
{
	static bool failing;   /* log a failure once, not every interval */
	struct axdp_metrics_maps m = AXDP_METRICS_MAPS_NONE;
	char err[ERRLEN];

	if (!d->cfg.metrics_file[0])
		return;
	if (d->bpf) {
		m.counters = axdp_datapath_map_fd(&d->dp, AXDP_MAP_COUNTERS, err, sizeof(err));
		m.iface_slots = axdp_datapath_map_fd(&d->dp, AXDP_MAP_IFACE_SLOTS, err, sizeof(err));
		m.port_allow = axdp_datapath_map_fd(&d->dp, AXDP_MAP_PORT_ALLOW, err, sizeof(err));
		axdp_datapath_conntrack(&d->dp, &m.conntrack, err, sizeof(err));
		m.event_budget = axdp_datapath_map_fd(&d->dp, AXDP_MAP_EVENT_BUDGET, err, sizeof(err));
		m.audit_counters = axdp_datapath_map_fd(&d->dp, AXDP_MAP_AUDIT_COUNTERS, err, sizeof(err));
		m.audit = d->mode.audit;
	}
	if (axdp_metrics_write_file(d->cfg.metrics_file, &m, err, sizeof(err)) == 0)
		failing = false;
	else if (!failing && (failing = true))
		axdp_log(LOG_WARNING, "MetricsFile=%s: %s; retrying every %u s", d->cfg.metrics_file, err,
			 d->cfg.metrics_interval_s);
}

static void reload(struct daemon *d)
{
	struct axdp_knobs before = knobs_from(&d->cfg), after;
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
	if (strcmp(next.state_dir, d->cfg.state_dir) != 0) {
		snprintf(err, sizeof(err), "StateDirectory=%s: a new state directory takes effect at restart, not at reload",
			 next.state_dir);
		goto rejected_free;
	}
	after = knobs_from(&next);
	/* Mode= is the one knob the daemon switches itself: it holds both programs (mode_switch.h). */
	before.audit = after.audit;
	/*
	 * Timeouts, rate limits and the other knobs are compiled into the
	 * programs (.rodata), and loading programs that parse packets needs
	 * CAP_PERFMON, which the daemon gave up after start.  A restart
	 * applies them without a gap: the new daemon swaps its programs into
	 * the pinned links.
	 */
	if (d->bpf && (memcmp(&before, &after, sizeof(before)) != 0 || strcmp(next.bpf_object, d->cfg.bpf_object) != 0)) {
		snprintf(err, sizeof(err), "%s changed: data-path settings (BpfObject=, [Conntrack], [RateLimit], "
			 "DropMartians=, AllowDHCPClient=, TrustOpensAllTCP=) take effect at restart, without a gap: systemctl restart autoxdp",
			 strcmp(next.bpf_object, d->cfg.bpf_object) ? "BpfObject=" : "a data-path setting");
		goto rejected_free;
	}
	if (d->bpf && next.mode != d->cfg.mode) {
		bool audit = next.mode == AXDP_MODE_AUDIT;

		if (axdp_mode_switch(&d->mode, &d->dp, audit, d->att, d->n_att, err, sizeof(err))) {
			/* Interfaces already switched switch back: one mode, the one the running configuration names. */
			char back[ERRLEN];

			if (axdp_mode_switch(&d->mode, &d->dp, !audit, d->att, d->n_att, back, sizeof(back)))
				axdp_log(LOG_ERR, "switching back to Mode=%s: %s", axdp_mode_name(!audit), back);
			snprintf(err + strlen(err), sizeof(err) - strlen(err), "; Mode=%s applies at restart",
				 axdp_mode_name(audit));
			goto rejected_free;
		}
		axdp_log(LOG_NOTICE, "Mode=%s: %s", axdp_mode_name(audit),
			 audit ? "nothing is dropped, drops are counted and logged as would-drop" : "drops are enforced again");
	}
	if (next.reconcile_interval_s != d->cfg.reconcile_interval_s)
		set_interval(d->reconcile_fd, next.reconcile_interval_s * 1000000ULL);
	if (next.metrics_interval_s != d->cfg.metrics_interval_s)
		set_interval(d->metrics_fd, next.metrics_interval_s * 1000000ULL);
	if (strcmp(next.pid_file, d->cfg.pid_file) != 0) {
		axdp_pidfile_remove(d->cfg.pid_file, getpid());
		if (axdp_pidfile_write(next.pid_file, getpid(), err, sizeof(err)))
			axdp_log(LOG_WARNING, "PidFile=%s: %s; axdp(8) will not find the daemon", next.pid_file, err);
	}
	/* Without a data path only the nftables chains hold AllowDHCPClient=: rewrite the table, in one transaction. */
	if (next.allow_dhcp_client != d->cfg.allow_dhcp_client)
		d->nft.installed = false;
	axdp_config_free(&d->cfg);
	d->cfg = next;
	d->nft.policy_stale = true;
	sync_policy(d, true);
	sync_interfaces(d);
	switch_backends(d, true);
	reconcile(d, true);
	write_metrics(d);
	axdp_log(LOG_INFO, "configuration reloaded");
	goto ready;
rejected_free:
	axdp_config_free(&next);
rejected:
	axdp_log(LOG_ERR, "configuration rejected, the running one stays in force: %s", err);
ready:
	/* STATUS first: whoever waits for READY=1 finds the status already there. */
	notify_status(d);
	sd_notify(0, "READY=1");
}

/* Drains the inotify events of the state directory: did one name the bans file? */
static bool bans_file_changed(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			changed |= (e->len && !strcmp(e->name, AXDP_BANS_FILE)) || (e->mask & IN_Q_OVERFLOW);
		}
	return changed;
}

/* After start: the bans file and its directory exist (axdp_bans_update created them). */
static void watch_bans(struct daemon *d)
{
	if (!d->bpf)
		return;
	d->bans_timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	d->bans_watch_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (d->bans_watch_fd >= 0 &&
	    inotify_add_watch(d->bans_watch_fd, d->cfg.state_dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE) < 0) {
		axdp_log(LOG_ERR, "bans: watching %s: %s; bans axdp adds are enforced, but expire only after a reload",
			 d->cfg.state_dir, strerror(errno));
		close(d->bans_watch_fd);
		d->bans_watch_fd = -1;
	}
	/* The first run (in start) had no timer yet. */
	update_bans(d, NULL);
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
					d->reconcile_due = d->renew_due = true;
			} else if (fd == d->watchdog_fd) {
				if (read(fd, &ticks, sizeof(ticks)) > 0)
					sd_notify(0, "WATCHDOG=1");
			} else if (fd == d->metrics_fd) {
				if (read(fd, &ticks, sizeof(ticks)) > 0)
					write_metrics(d);
			} else if (fd == d->proc_fd) {
				/* A burst of execs and exits settles first: one reconcile, not one per process. */
				if (axdp_proc_events_drain(fd) > 0 && !d->settling) {
					struct itimerspec once = { .it_value = { 0, PROC_SETTLE_MS * 1000000L } };

					d->settling = timerfd_settime(d->settle_fd, 0, &once, NULL) == 0;
				}
			} else if (fd == d->settle_fd) {
				if (read(fd, &ticks, sizeof(ticks)) > 0) {
					d->settling = false;
					d->reconcile_due = true;
				}
			} else if (fd == d->bans_watch_fd) {
				if (bans_file_changed(fd))
					update_bans(d, NULL);
			} else if (fd == d->bans_timer_fd) {
				if (read(fd, &ticks, sizeof(ticks)) > 0)
					update_bans(d, NULL);
			} else if (fd == d->link_fd) {
				if (axdp_link_monitor_drain(fd) != 0) {
					sync_interfaces(d);
					sync_policy(d, false);
				}
			} else {
				ring_buffer__consume(d->events);
			}
		}
		if (d->reconcile_due) {
			reconcile(d, d->renew_due);
			notify_status(d);
		} else if (d->nft_due) {
			nft_sync(d);
			notify_status(d);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = { .epoll_fd = -1, .bans_watch_fd = -1, .bans_timer_fd = -1 };
	uint64_t watchdog_usec = 0;
	char err[ERRLEN];
	sigset_t mask;

	/*
	 * A fixed threshold: blocks of 128 KiB and more are mapped and given
	 * back whole when freed.  glibc's default raises the threshold to the
	 * largest block freed so far, so after libbpf freed the kernel's BTF
	 * (5 MB) the deny list's parse and bitmaps went to the heap and kept
	 * it resident for the daemon's life.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if (parse_cmdline(argc, argv, &d.cmd))
		return 2;
	if (load_config(&d.cmd, &d.cfg, err, sizeof(err))) {
		fprintf(stderr, "autoxdpd: %s\n", err);
		return 1;
	}
	if (d.cmd.check_config) {
		int rc = axdp_config_print(&d.cfg, stdout) ? 1 : 0;

		axdp_config_free(&d.cfg);
		free(d.cmd.interfaces.v);
		return rc;
	}

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
	d.metrics_fd = timer_fd(d.cfg.metrics_interval_s * 1000000ULL);
	d.link_fd = axdp_link_monitor_open(err, sizeof(err));
	d.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	watch_bans(&d);
	if (d.link_fd < 0)
		axdp_log(LOG_WARNING, "%s: interfaces that appear later are not protected until a reload", err);
	d.proc_fd = d.settle_fd = -1;
	if (!d.bpf || !d.dp.hooks) {
		d.proc_fd = axdp_proc_events_open(err, sizeof(err));
		d.settle_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (d.proc_fd < 0)
			axdp_log(LOG_WARNING, "%s: ports follow listeners at the periodic reconcile, every %u s",
				 err, d.cfg.reconcile_interval_s);
		else
			axdp_log(LOG_INFO, "without socket hooks: ports follow listeners within %d ms of a process starting or ending",
				 PROC_SETTLE_MS);
	}
	if (d.signal_fd < 0 || d.reconcile_fd < 0 || d.metrics_fd < 0 || d.epoll_fd < 0 ||
	    watch(d.epoll_fd, d.signal_fd) || watch(d.epoll_fd, d.metrics_fd) ||
	    watch(d.epoll_fd, d.reconcile_fd) || watch(d.epoll_fd, d.watchdog_fd) || watch(d.epoll_fd, d.link_fd) ||
	    watch(d.epoll_fd, d.proc_fd) || watch(d.epoll_fd, d.settle_fd) || watch(d.epoll_fd, d.bans_watch_fd) ||
	    watch(d.epoll_fd, d.bans_timer_fd) ||
	    watch(d.epoll_fd, d.events ? ring_buffer__epoll_fd(d.events) : -1)) {
		axdp_log(LOG_ERR, "setting up the event loop: %s", strerror(errno));
		return 1;
	}
	if (drop_privileges(err, sizeof(err))) {
		axdp_log(LOG_ERR, "%s", err);
		return 1;
	}
	reconcile(&d, false);   /* start() has just renewed */
	write_metrics(&d);
	/* Before READY=1: once systemd says started, axdp(8) finds the daemon. */
	if (axdp_pidfile_write(d.cfg.pid_file, getpid(), err, sizeof(err)))
		axdp_log(LOG_WARNING, "PidFile=%s: %s; axdp(8) will not find the daemon", d.cfg.pid_file, err);
	notify_status(&d);
	sd_notify(0, "READY=1");
	axdp_log(LOG_INFO, "autoxdpd %s running; protection stays in place when it stops", AXDP_VERSION);
	run(&d);
	axdp_pidfile_remove(d.cfg.pid_file, getpid());
	sd_notify(0, "STOPPING=1");
	axdp_log(LOG_INFO, "stopping; the data path keeps protecting (axdp off removes it)");
	ring_buffer__free(d.events);
	axdp_portsync_close(&d.ps);
	if (d.policy)
		axdp_policy_close(&d.pol);
	axdp_mode_close(&d.mode);
	axdp_datapath_close(&d.dp);
	axdp_config_free(&d.cfg);
	free(d.cmd.interfaces.v);
	return 0;
}
