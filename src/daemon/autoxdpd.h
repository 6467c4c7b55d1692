/* SPDX-License-Identifier: MIT */
/*
 * autoxdpd's own parts (src/daemon), one concern a file: options.c (the
 * command line), knobs_from_config.c, ifmanager.c (interfaces and
 * backends), sync.c (maps and nftables kept equal to the host), status.c,
 * reload.c, privileges.c, timers.c; autoxdpd.c starts the daemon and runs
 * its event loop.
 */
#ifndef AXDP_AUTOXDPD_H
#define AXDP_AUTOXDPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include "config.h"
#include "ifaces.h"
#include "loader.h"
#include "mode_switch.h"
#include "nft_backend.h"
#include "policy.h"
#include "portsync.h"

#define ERRLEN 1024

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
	struct axdp_mode_switch mode; /* the other Mode='s program, ready to swap in */
	struct axdp_portsync ps;
	/* The allow-lists as last sent to nftables; each sync reuses the arrays. */
	struct axdp_port_state nft_ports;
	struct axdp_policy_maps pol;
	bool policy; /* pol is open: deny, trust and local address maps */
	struct ring_buffer *events;
	struct axdp_attachment att[AXDP_MAX_IFACES];
	int n_att;
	bool bpf;            /* the data path object loaded; without it nftables alone, sock_diag polling */
	struct axdp_nft nft; /* interfaces nftables protects (Backend=, or XDP failed on them) */
	bool nft_due;        /* a hook opened a port: the nftables sets follow at once */
	bool nft_in_use;     /* a sync has had a table to write: logged how (libnftables or nft), malloc tuned */
	bool nft_trim_due;   /* the last sync wrote the policy or bans sets: the next one trims the heap */
	bool pin_watch;      /* without a data path: the pin directory existed, 'axdp off' removes it */
	int epoll_fd, signal_fd, reconcile_fd, watchdog_fd, link_fd, metrics_fd;
	int proc_fd;       /* without socket hooks: the process connector, or -1 */
	int settle_fd;     /* one-shot: a burst of process events settled, reconcile */
	int bans_watch_fd; /* inotify on StateDirectory=: axdp changed the bans file */
	int bans_timer_fd; /* CLOCK_REALTIME, armed at the next ban's expiry */
	bool bans_synced;  /* the bans trie was made equal to the file once */
	bool settling;     /* settle_fd is armed */
	bool reconcile_due;
	bool renew_due; /* the periodic reconcile: idle sessions' conntrack entries get stamped */
	bool stop;
};

/* options.c: 0, or -1 on a bad command line (usage printed) or no memory; --help and --version exit here. */
int daemon_parse_cmdline(int argc, char **argv, struct cmdline *cmd);
/* The files, then the command line on top; *out as axdp_config_load() leaves it. */
int daemon_load_config(const struct cmdline *cmd, struct axdp_config *out, char *err, size_t errlen);

/* knobs_from_config.c: the knobs cfg compiles into the data path. */
struct axdp_knobs axdp_knobs_from_config(const struct axdp_config *cfg);

/* ifmanager.c */
void daemon_sync_interfaces(struct daemon *d);
void daemon_switch_backends(struct daemon *d, bool retry);
void daemon_adopt_nft(struct daemon *d);

/* sync.c */
bool daemon_turned_off(const struct daemon *d);
void daemon_nft_sync(struct daemon *d);
void daemon_update_bans(struct daemon *d, const struct axdp_config *lists);
void daemon_sync_policy(struct daemon *d, bool lists);
void daemon_reconcile(struct daemon *d, bool renew);
bool daemon_bans_file_changed(int fd);
void daemon_watch_bans(struct daemon *d);

/* status.c */
void daemon_notify_status(struct daemon *d);
void daemon_write_metrics(struct daemon *d);

/* reload.c */
void daemon_reload(struct daemon *d);

/* privileges.c */
int daemon_drop_privileges(char *err, size_t errlen);

/* timers.c: a periodic CLOCK_MONOTONIC timerfd, and a new period for one. */
int daemon_timer_fd(unsigned long long usec);
int daemon_set_interval(int fd, unsigned long long usec);

#endif
