/* SPDX-License-Identifier: MIT */
/*
 * Runtime bans: networks denied for a while (`axdp block add CIDR --for
 * DURATION`, fail2ban, CrowdSec) without touching the configuration.
 *
 * The state file StateDirectory=/bans is the truth: one "CIDR EXPIRES"
 * line per ban (Unix time in seconds, 0 for none), replaced whole and
 * synced, so bans survive a restart and a reboot.  Whoever changes bans
 * holds an exclusive flock on the state directory: axdp writes the pinned
 * bans trie and the file itself (fast: no round trip through the daemon),
 * the daemon expires bans on a timer, loads the file into the trie at
 * start, and writes deny_clear, the bitmap of buckets without a ban.  Its
 * rule: a bucket's bit is cleared before an entry in it goes live, and set
 * only by the daemon, under the lock, from the entries that remain
 * (axdp_bans_update()).
 */
#ifndef AXDP_BANS_H
#define AXDP_BANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "policy.h"

#define AXDP_BANS_FILE "bans"

struct axdp_ban {
	struct axdp_cidr cidr;
	int64_t expires; /* Unix time, seconds; 0: until removed */
};

/* The state directory, locked, and the bans of its file sorted by network. */
struct axdp_bans {
	char path[AXDP_PATH_MAX + 16];
	int lock;
	struct axdp_ban *v;
	size_t n;
	bool changed; /* since read: axdp_bans_save() writes */
};

/* Creates the directory if needed, locks it (waits for another holder) and reads the file.  0, or -1 with err. */
int axdp_bans_open(struct axdp_bans *b, const char *state_dir, char *err, size_t errlen);
/* Writes the file if changed (atomically, synced).  0, or -1 with err. */
int axdp_bans_save(struct axdp_bans *b, char *err, size_t errlen);
/* Unlocks and frees; nothing is written. */
void axdp_bans_close(struct axdp_bans *b);

/* Adds v[0..n) (any order; a later one of the same network wins), replacing the expiry of bans already there. */
int axdp_bans_merge(struct axdp_bans *b, struct axdp_ban *v, size_t n);
/*
 * Removes the bans of the networks in v[0..n) (exactly those networks),
 * or with v NULL those expired at now; the networks removed go to
 * *gone (malloc'd, NULL when none) and their count is returned, -1 when
 * out of memory.
 */
ssize_t axdp_bans_drop(struct axdp_bans *b, const struct axdp_cidr *v, size_t n, int64_t now, struct axdp_cidr **gone);
/* The earliest expiry, 0 if no ban expires. */
int64_t axdp_bans_next_expiry(const struct axdp_bans *b);
/* The networks as a plain array (malloc'd; NULL when out of memory). */
struct axdp_cidr *axdp_bans_networks(const struct axdp_bans *b);

/*
 * "90", "90s", "15m", "2h", "7d", "1w", or sums such as "1h30m", in
 * seconds; false if s is none of them or 0.
 */
bool axdp_duration_parse(const char *s, uint64_t *seconds);

/*
 * The daemon's step, holding the lock: expires what is due (from the
 * trie and the file), with sync makes the trie equal to the file (at
 * start), sets deny_clear again from what remains, and with cfg applies
 * the configuration's lists (axdp_policy_apply()).  *next: the next expiry, 0 for none.  Logs what it did; 0, or
 * -1 with err.
 */
int axdp_bans_update(struct axdp_policy_maps *m, const char *state_dir, const struct axdp_config *cfg, bool sync,
		     int64_t *next, char *err, size_t errlen);

#endif
