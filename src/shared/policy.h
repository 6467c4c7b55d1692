/* SPDX-License-Identifier: MIT */
/*
 * The source policy maps from user space: the deny tries (two
 * generations, replaced whole), the bans trie (entry by entry), the trust
 * trie, the host's own addresses and the policy entry that counts them
 * (bpf/source_policy.h reads it).  The daemon writes them all; axdp(8)
 * reads the usage and adds and removes bans (under the lock of bans.h).
 */
#ifndef AXDP_POLICY_H
#define AXDP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"

struct axdp_policy_maps {
	int policy, deny[2], deny_state, deny_exact[2], deny_clear, bans, trust,
		local_addrs;        /* fds of the pinned maps */
	uint64_t *deny_clear_words; /* deny_clear mapped, while a ban is being set */
	int rcu_wait, rcu_inner;    /* a map-in-map whose update waits for running programs; -1: sleep instead */
	bool no_batch;              /* the kernel refused BPF_MAP_*_BATCH on the tries: one syscall per entry */
	/* What the daemon last loaded into deny, so a reload with the same lists rewrites nothing. */
	uint64_t deny_digest;
	bool deny_loaded;
};

/* Nothing open yet; deny_exact[0] is deny_exact4, [1] deny_exact6. */
#define AXDP_POLICY_MAPS_CLOSED                                                                                 \
	{                                                                                                       \
		.policy = -1, .deny = { -1, -1 }, .deny_state = -1, .deny_exact = { -1, -1 }, .deny_clear = -1, \
		.bans = -1, .trust = -1, .local_addrs = -1, .rcu_wait = -1, .rcu_inner = -1                     \
	}

/* Opens the maps pinned in pin_dir.  0, or -1 with err; close is safe either way. */
int axdp_policy_open(struct axdp_policy_maps *m, const char *pin_dir, char *err, size_t errlen);
void axdp_policy_close(struct axdp_policy_maps *m);

/*
 * Replaces the deny list with v[0..n) (unique, see axdp_cidr_list_unique)
 * without a moment in which neither list is live: the idle generation's
 * exact sets (new ones, sized to the list), trie and deny_state words are
 * filled, the policy entry names the new generation and its count in one
 * update, running programs finish, then the old generation is emptied.
 */
int axdp_policy_set_deny(struct axdp_policy_maps *m, const struct axdp_cidr *v, size_t n, char *err, size_t errlen);

/*
 * Runtime bans (bans.h keeps their state and lock).  Adding clears the
 * deny_clear bits of the entries' buckets before the entries go live;
 * removing leaves the bits cleared until axdp_policy_refresh_clear().
 * sync makes the trie hold exactly v[0..n).
 */
int axdp_policy_ban_add(struct axdp_policy_maps *m, const struct axdp_cidr *v, size_t n, char *err, size_t errlen);
int axdp_policy_ban_remove(struct axdp_policy_maps *m, const struct axdp_cidr *v, size_t n, char *err, size_t errlen);
int axdp_policy_ban_sync(struct axdp_policy_maps *m, const struct axdp_cidr *v, size_t n, char *err, size_t errlen);
/* Sets the deny_clear bit of every bucket bans_covered (see axdp_deny_buckets_covered()) leaves out. */
int axdp_policy_refresh_clear(struct axdp_policy_maps *m, const uint64_t *bans_covered, char *err, size_t errlen);

/*
 * The entry of generation gen's exact sets (exact[0] the fd of
 * deny_exact4, [1] of deny_exact6) holding this address: its prefixlen
 * (128 for a single address, 96 + N for an IPv4 /N expanded), 0 when
 * none does, -1 with errno.  For axdp, which reads what is live.
 */
int axdp_deny_exact_entry(const int exact[2], __u32 gen, const struct axdp_addr *addr);

/* Trust: new entries go in before the count, stale ones leave after it. */
int axdp_policy_set_trust(struct axdp_policy_maps *m, const struct axdp_cidr *v, size_t n, char *err, size_t errlen);

/* The host's addresses, v4-mapped like the data path's (getifaddrs() of this network namespace). */
int axdp_host_addrs(struct axdp_addr **out, size_t *n, char *err, size_t errlen);
int axdp_policy_set_local(struct axdp_policy_maps *m, const struct axdp_addr *v, size_t n, char *err, size_t errlen);

/*
 * The daemon's whole step, at start and reload: DenyCIDR= and the
 * DenyListFile= lists into deny (left as it is when a list cannot be
 * read: the running list is the last good one), TrustCIDR= into trust.
 * Logs what it loaded.  0, or -1 with err.
 */
int axdp_policy_apply(struct axdp_policy_maps *m, const struct axdp_config *cfg, char *err, size_t errlen);
/* local_addrs equal to the host's addresses; the daemon calls it at start, reconcile and address changes. */
int axdp_policy_sync_local(struct axdp_policy_maps *m, char *err, size_t errlen);

/*
 * For `axdp status`: entries live and the maps' capacity, and the kernel's
 * own figure of the memory the tries use (memlock in fdinfo).
 */
struct axdp_policy_usage {
	uint32_t deny_entries, deny_max, deny_generation;
	uint32_t trust_entries, trust_max;
	uint32_t local_addrs, local_max;
	uint64_t deny_bytes, trust_bytes; /* both generations of deny, deny_state, deny_clear and the bans together */
};

int axdp_policy_usage(const char *pin_dir, struct axdp_policy_usage *u, char *err, size_t errlen);

#endif
