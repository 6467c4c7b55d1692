// SPDX-License-Identifier: MIT
/*
 * SIGHUP: the configuration read again and applied where it can be without
 * a restart; a configuration that cannot leaves the running one in force.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <systemd/sd-daemon.h>
#include "autoxdpd.h"
#include "log.h"
#include "pidfile.h"

/*
 * A reload writes the maps first and the nftables table after them, so
 * the maps alone do not say a change is in force.  The reload holds PinDir
 * locked (flock, exclusive) from start to end: axdp(8) calls a change in
 * force when the maps show it and it can take the lock shared.
 */
static int lock_pin_dir(const char *pin_dir)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || flock(fd, LOCK_EX)) {
		axdp_log(LOG_WARNING, "locking %s for the reload: %s; axdp may report the change in force early",
			 pin_dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

void daemon_reload(struct daemon *d)
{
	struct axdp_knobs before = axdp_knobs_from_config(&d->cfg), after;
	int lock = d->bpf ? lock_pin_dir(d->cfg.pin_dir) : -1;
	struct axdp_config next;
	struct timespec ts;
	char err[ERRLEN];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	if (daemon_load_config(&d->cmd, &next, err, sizeof(err)))
		goto rejected;
	if (strcmp(next.pin_dir, d->cfg.pin_dir) != 0) {
		snprintf(err, sizeof(err), "PinDir=%s: a new pin directory takes effect at restart, not at reload",
			 next.pin_dir);
		goto rejected_free;
	}
	if (strcmp(next.state_dir, d->cfg.state_dir) != 0) {
		snprintf(err, sizeof(err),
			 "StateDirectory=%s: a new state directory takes effect at restart, not at reload",
			 next.state_dir);
		goto rejected_free;
	}
	after = axdp_knobs_from_config(&next);
	/* Mode= is the one knob the daemon switches itself: it holds both programs (mode_switch.h). */
	before.audit = after.audit;
	/*
	 * Timeouts, rate limits and the other knobs are compiled into the
	 * programs (.rodata), and loading programs that parse packets needs
	 * CAP_PERFMON, which the daemon gave up after start.  A restart
	 * applies them without a gap: the new daemon swaps its programs into
	 * the pinned links.
	 */
	if (d->bpf &&
	    (memcmp(&before, &after, sizeof(before)) != 0 || strcmp(next.bpf_object, d->cfg.bpf_object) != 0)) {
		snprintf(
			err, sizeof(err),
			"%s changed: data-path settings (BpfObject=, [Conntrack], [RateLimit], "
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
			 audit ? "nothing is dropped, drops are counted and logged as would-drop"
			       : "drops are enforced again");
	}
	if (next.reconcile_interval_s != d->cfg.reconcile_interval_s)
		daemon_set_interval(d->reconcile_fd, next.reconcile_interval_s * 1000000ULL);
	if (next.metrics_interval_s != d->cfg.metrics_interval_s)
		daemon_set_interval(d->metrics_fd, next.metrics_interval_s * 1000000ULL);
	if (strcmp(next.pid_file, d->cfg.pid_file) != 0) {
		axdp_pidfile_remove(d->cfg.pid_file, getpid());
		if (axdp_pidfile_write(next.pid_file, getpid(), err, sizeof(err)))
			axdp_log(LOG_WARNING, "PidFile=%s: %s; axdp(8) will not find the daemon", next.pid_file, err);
	}
	axdp_config_free(&d->cfg);
	d->cfg = next;
	d->nft.policy_stale = true;
	daemon_sync_policy(d, true);
	daemon_sync_interfaces(d);
	daemon_switch_backends(d, true);
	daemon_reconcile(d, true);
	daemon_write_metrics(d);
	axdp_log(LOG_INFO, "configuration reloaded");
	goto ready;
rejected_free:
	axdp_config_free(&next);
rejected:
	axdp_log(LOG_ERR, "configuration rejected, the running one stays in force: %s", err);
ready:
	/* STATUS first: whoever waits for READY=1 finds the status already there. */
	daemon_notify_status(d);
	sd_notify(0, "READY=1");
	if (lock >= 0)
		close(lock);
}
