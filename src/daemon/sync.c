// SPDX-License-Identifier: MIT
/*
 * What the daemon keeps equal to the host: the allow-lists to the
 * listening sockets (reconcile), the nftables sets to the allow-lists, the
 * source policy to the configuration and the own addresses, the bans trie
 * to the bans file.
 */
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include "bans.h"
#include "autoxdpd.h"
#include "log.h"

/*
 * 'axdp off' removes the pins: the operator wants no firewall, so the daemon must not rebuild one.
 * Without a data path there is only the (empty) pin directory to go by.
 */
bool daemon_turned_off(const struct daemon *d)
{
	char path[AXDP_PATH_MAX + 32];

	if (!d->bpf && !d->pin_watch)
		return false;
	snprintf(path, sizeof(path), "%s/%s", d->cfg.pin_dir, d->bpf ? AXDP_MAP_PORT_ALLOW : "");
	return access(path, F_OK) != 0 && errno == ENOENT;
}

/*
 * Each nftables change allocates and frees the same large blocks
 * (libnftables' three 132 KiB cache tables, the reconcile's 512 KiB port
 * arrays).  Mapped afresh each time, their page faults and unmaps took
 * most of a change's 5 ms; kept in the heap, they are reused.  Only for
 * this backend: the XDP one keeps main()'s lower threshold and the
 * smaller resident set it gives.
 */
static void nft_keep_blocks(void)
{
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024);
}

/* The nftables sets follow the allow-lists (port_allow as the hooks left it); one transaction. */
void daemon_nft_sync(struct daemon *d)
{
	char err[ERRLEN];

	d->nft_due = false;
	if ((!d->nft.n && d->nft.absent) || !d->ps.slots || daemon_turned_off(d))
		return;
	if (d->nft.n && !d->nft_in_use) {
		d->nft_in_use = true;
		axdp_log(LOG_INFO, "nftables: changes go to the kernel through %s", axdp_nft_session_how());
		nft_keep_blocks();
	}
	if (axdp_portsync_state(&d->ps, &d->nft_ports, err, sizeof(err)) == 0) {
		bool lists = d->nft.policy_stale || d->nft.bans_stale;

		if (axdp_nft_sync(&d->nft, &d->nft_ports, &d->cfg, err, sizeof(err)))
			axdp_log(LOG_ERR, "nftables: %s", err);
		/*
		 * libnftables keeps what a transaction declared (a deny list's
		 * networks, about 650 bytes each) until its next one, and then
		 * the heap keeps the freed pages (nft_keep_blocks): the sync
		 * after the one that wrote the lists gives them back.  20,000
		 * networks: 23.6 MiB resident before, 9 MiB after.
		 */
		if (d->nft_trim_due)
			malloc_trim(0);
		d->nft_trim_due = lists;
	} else {
		axdp_log(LOG_ERR, "nftables: reading the allow-lists: %s", err);
	}
	/* No interface on nftables (the sync removed the table): nothing to reuse the arrays for. */
	if (!d->nft.n)
		axdp_port_state_free(&d->nft_ports);
}

/*
 * Runtime bans (bans.h): the expired ones out, the trie equal to the file
 * at the first run, deny_clear from what remains; with lists the
 * configuration's lists too, under the same lock.  The timer follows the
 * next expiry.
 */
void daemon_update_bans(struct daemon *d, const struct axdp_config *lists)
{
	struct itimerspec at = { 0 };
	char err[ERRLEN];
	int64_t next;

	/* nftables reads the file itself: its banned sets follow at the next sync, which comes at once. */
	d->nft.bans_stale = true;
	d->nft_due = d->nft.n > 0;
	if (axdp_bans_update(&d->pol, d->cfg.state_dir, lists, !d->bans_synced, &next, err, sizeof(err)) == 0)
		d->bans_synced = true;
	else
		axdp_log(LOG_ERR, "bans: %s", err);
	at.it_value.tv_sec = next;
	if (d->bans_timer_fd >= 0 && timerfd_settime(d->bans_timer_fd, TFD_TIMER_ABSTIME, &at, NULL))
		axdp_log(LOG_ERR, "bans: arming the expiry timer: %s; bans expire at the next change", strerror(errno));
}

/* Source policy: with lists, DenyCIDR=/DenyListFile=/TrustCIDR= and the bans too; always the host's own addresses. */
void daemon_sync_policy(struct daemon *d, bool lists)
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
		daemon_update_bans(d, &d->cfg); /* logs what it did */
	if (axdp_policy_sync_local(&d->pol, err, sizeof(err)))
		axdp_log(LOG_ERR, "own addresses for the martian check: %s", err);
}

void daemon_reconcile(struct daemon *d, bool renew)
{
	char err[ERRLEN];

	d->reconcile_due = d->renew_due = false;
	daemon_sync_policy(d, false);
	if (axdp_portsync_reconcile(&d->ps, &d->cfg, renew, err, sizeof(err)))
		axdp_log(LOG_ERR, "reconciling the allow-lists: %s; retrying at the next interval", err);
	/* The periodic reconcile writes every nftables set, so one flushed from outside comes back. */
	d->nft.resend |= renew;
	daemon_nft_sync(d);
}

/* Drains the inotify events of the state directory: did one name the bans file? */
bool daemon_bans_file_changed(int fd)
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
void daemon_watch_bans(struct daemon *d)
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
	daemon_update_bans(d, NULL);
}
