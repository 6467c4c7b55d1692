// SPDX-License-Identifier: MIT
/*
 * autoxdpd: loads the data path, attaches it to the internet-facing
 * interfaces and keeps the allow-lists equal to the listening sockets.
 * Protection outlives the daemon: links and maps are pinned, so a stop,
 * crash or upgrade leaves the last good state enforced.  This file starts
 * the daemon and runs its event loop; autoxdpd.h names the other parts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>
#include "abi_names.h"
#include "autoxdpd.h"
#include "log.h"
#include "pidfile.h"
#include "port_tier.h"
#include "proc_events.h"
#include "util.h"

/* Without socket hooks, how long process events may keep coming before one reconcile answers them all. */
#define PROC_SETTLE_MS 50

static int handle_sock_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	const struct axdp_sock_event *e = data;
	struct axdp_log_fields f = { .protocol = axdp_l4_names[e->l4 % AXDP_L4_COUNT],
				     .port = e->port,
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

static int watch(int epoll_fd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return fd < 0 ? 0 : epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static int open_datapath(const struct axdp_config *cfg, struct axdp_datapath *dp, char *err, size_t errlen)
{
	struct axdp_load_opts opts = {
		.object_path = cfg->bpf_object,
		.pin_dir = cfg->pin_dir,
		.knobs = axdp_knobs_from_config(cfg),
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
static int start(struct daemon *d, char *err, size_t errlen)
{
	char seed_err[ERRLEN];

	d->bpf = open_datapath(&d->cfg, &d->dp, err, errlen) == 0;
	d->mode.audit = d->cfg.mode == AXDP_MODE_AUDIT;
	if (d->bpf && axdp_mode_prepare(&d->mode, &d->dp, d->cfg.bpf_object, seed_err, sizeof(seed_err)))
		axdp_log(LOG_WARNING,
			 "loading the %s program beside the %s one: %s; a changed Mode= applies at restart only",
			 axdp_mode_name(!d->mode.audit), axdp_mode_name(d->mode.audit), seed_err);
	if (!d->bpf) {
		/* nftables alone still protects; XDP-only cannot. */
		if (d->cfg.backend == AXDP_BACKEND_XDP)
			return -1;
		if (axdp_nft_available(seed_err, sizeof(seed_err))) {
			snprintf(err + strlen(err), errlen - strlen(err), "; and %s", seed_err);
			return -1;
		}
		axdp_log(
			LOG_WARNING,
			"%s: protecting with nftables alone; ports open at each sock_diag poll (ReconcileIntervalSec=%u)",
			err, d->cfg.reconcile_interval_s);
		d->pin_watch =
			(mkdir(d->cfg.pin_dir, 0700) == 0 || errno == EEXIST) && access(d->cfg.pin_dir, F_OK) == 0;
	} else if (d->cfg.backend == AXDP_BACKEND_NFTABLES && axdp_nft_available(err, errlen)) {
		return -1;
	}
	if (d->bpf && d->dp.migrated[0])
		axdp_log(LOG_NOTICE, "pinned maps of another definition taken over by %s: %s", d->cfg.bpf_object,
			 d->dp.migrated);
	if (axdp_portsync_open(&d->ps, d->bpf ? &d->dp : NULL, err, errlen) || (d->bpf && open_events(d, err, errlen)))
		return -1;
	if (d->bpf && !d->dp.hooks)
		axdp_log(LOG_WARNING,
			 "socket hooks unavailable (%s): ports open at the next reconcile instead of at listen()",
			 d->dp.hooks_error);
	else if (d->bpf && axdp_attach_hooks(&d->dp, err, errlen))
		return -1;
	/* Seeds conntrack with the existing connections no open port serves. */
	if (axdp_portsync_reconcile(&d->ps, &d->cfg, true, err, errlen))
		return -1;
	/* Deny and trust lists before the first packet is judged. */
	daemon_sync_policy(d, true);
	daemon_adopt_nft(d);
	daemon_sync_interfaces(d);
	daemon_switch_backends(d, true);
	/* Installs our table whole (replacing an earlier run's in one transaction), or removes a stale one. */
	daemon_nft_sync(d);
	/* Links of interfaces not attached above get the new programs too; then the old maps go. */
	if (d->bpf && axdp_datapath_take_over(&d->dp, seed_err, sizeof(seed_err)))
		axdp_log(
			LOG_ERR,
			"completing the takeover of changed maps: %s; links still running the old programs keep the old maps",
			seed_err);
	return 0;
}

static int run(struct daemon *d)
{
	struct epoll_event ev[8];

	while (!d->stop) {
		int n = epoll_wait(d->epoll_fd, ev, ARRAY_SIZE(ev), -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return axdp_log(LOG_ERR, "epoll_wait: %s", strerror(errno)), -1;
		if (daemon_turned_off(d)) {
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
					daemon_reload(d);
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
					daemon_write_metrics(d);
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
				if (daemon_bans_file_changed(fd))
					daemon_update_bans(d, NULL);
			} else if (fd == d->bans_timer_fd) {
				if (read(fd, &ticks, sizeof(ticks)) > 0)
					daemon_update_bans(d, NULL);
			} else if (fd == d->link_fd) {
				if (axdp_link_monitor_drain(fd) != 0) {
					daemon_sync_interfaces(d);
					daemon_sync_policy(d, false);
				}
			} else {
				ring_buffer__consume(d->events);
			}
		}
		if (d->reconcile_due) {
			daemon_reconcile(d, d->renew_due);
			daemon_notify_status(d);
		} else if (d->nft_due) {
			daemon_nft_sync(d);
			daemon_notify_status(d);
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
	 * it resident for the daemon's life.  The nftables backend raises it
	 * (daemon_nft_sync).
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if (daemon_parse_cmdline(argc, argv, &d.cmd))
		return 2;
	if (daemon_load_config(&d.cmd, &d.cfg, err, sizeof(err))) {
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
	d.reconcile_fd = daemon_timer_fd(d.cfg.reconcile_interval_s * 1000000ULL);
	d.watchdog_fd = sd_watchdog_enabled(0, &watchdog_usec) > 0 ? daemon_timer_fd(watchdog_usec / 2) : -1;
	d.metrics_fd = daemon_timer_fd(d.cfg.metrics_interval_s * 1000000ULL);
	d.link_fd = axdp_link_monitor_open(err, sizeof(err));
	d.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	daemon_watch_bans(&d);
	if (d.link_fd < 0)
		axdp_log(LOG_WARNING, "%s: interfaces that appear later are not protected until a reload", err);
	d.proc_fd = d.settle_fd = -1;
	if (!d.bpf || !d.dp.hooks) {
		d.proc_fd = axdp_proc_events_open(err, sizeof(err));
		d.settle_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (d.proc_fd < 0)
			axdp_log(LOG_WARNING, "%s: ports follow listeners at the periodic reconcile, every %u s", err,
				 d.cfg.reconcile_interval_s);
		else
			axdp_log(
				LOG_INFO,
				"without socket hooks: ports follow listeners within %d ms of a process starting or ending",
				PROC_SETTLE_MS);
	}
	if (d.signal_fd < 0 || d.reconcile_fd < 0 || d.metrics_fd < 0 || d.epoll_fd < 0 ||
	    watch(d.epoll_fd, d.signal_fd) || watch(d.epoll_fd, d.metrics_fd) || watch(d.epoll_fd, d.reconcile_fd) ||
	    watch(d.epoll_fd, d.watchdog_fd) || watch(d.epoll_fd, d.link_fd) || watch(d.epoll_fd, d.proc_fd) ||
	    watch(d.epoll_fd, d.settle_fd) || watch(d.epoll_fd, d.bans_watch_fd) ||
	    watch(d.epoll_fd, d.bans_timer_fd) || watch(d.epoll_fd, d.events ? ring_buffer__epoll_fd(d.events) : -1)) {
		axdp_log(LOG_ERR, "setting up the event loop: %s", strerror(errno));
		return 1;
	}
	if (daemon_drop_privileges(err, sizeof(err))) {
		axdp_log(LOG_ERR, "%s", err);
		return 1;
	}
	daemon_reconcile(&d, false); /* start() has just renewed */
	daemon_write_metrics(&d);
	/* Before READY=1: once systemd says started, axdp(8) finds the daemon. */
	if (axdp_pidfile_write(d.cfg.pid_file, getpid(), err, sizeof(err)))
		axdp_log(LOG_WARNING, "PidFile=%s: %s; axdp(8) will not find the daemon", d.cfg.pid_file, err);
	daemon_notify_status(&d);
	sd_notify(0, "READY=1");
	axdp_log(LOG_INFO, "autoxdpd %s running; protection stays in place when it stops", AXDP_VERSION);
	run(&d);
	axdp_pidfile_remove(d.cfg.pid_file, getpid());
	sd_notify(0, "STOPPING=1");
	axdp_log(LOG_INFO, "stopping; the data path keeps protecting (axdp off removes it)");
	ring_buffer__free(d.events);
	axdp_portsync_close(&d.ps);
	axdp_port_state_free(&d.nft_ports);
	if (d.policy)
		axdp_policy_close(&d.pol);
	axdp_mode_close(&d.mode);
	axdp_datapath_close(&d.dp);
	axdp_config_free(&d.cfg);
	free(d.cmd.interfaces.v);
	return 0;
}
