/* SPDX-License-Identifier: MIT */
/*
 * Criterion-side pieces of the end-to-end suites' fixtures, for test
 * files only (the .c files of tests/lib stay free of any framework): the
 * helpers here fail the test themselves, since every caller would
 * assert the same.
 */
#ifndef AXDP_TEST_CRIT_FIXTURE_H
#define AXDP_TEST_CRIT_FIXTURE_H

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "autoxdp_abi.h"
#include "conntrack_map.h"
#include "counters.h"
#include "daemon.h"
#include "netns.h"
#include "nft_backend.h"

/*
 * stmt once after the last test: a run that crashed or timed out never
 * reached its teardown, so each suite removes such leftovers here.
 */
#define CRIT_AFTER_ALL(stmt)                                                \
	ReportHook(POST_ALL)(struct criterion_global_stats *stats)          \
	{                                                                   \
		(void)stats;                                                \
		stmt;                                                       \
	}

/* A scratch directory for a daemon that never starts: the command-line cases need no namespace. */
static inline void crit_scratch_setup(struct axdpd *d)
{
	cr_assert(axdpd_init(d, NULL, NULL, "") == 0, "setup: %s", d->err);
}

/* One of the daemon's pinned maps, opened. */
static inline int crit_pinned(const struct axdpd *d, const char *name)
{
	char path[AXDPD_PATH + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", d->pin_dir, name);
	fd = bpf_obj_get(path);
	cr_assert(fd >= 0, "opening pinned %s: %s", path, strerror(errno));
	return fd;
}

/* Both of the daemon's pinned conntrack maps, opened (axdp_conntrack_close). */
static inline struct axdp_conntrack crit_pinned_conntrack(const struct axdpd *d)
{
	return (struct axdp_conntrack){ crit_pinned(d, AXDP_MAP_CONNTRACK), crit_pinned(d, AXDP_MAP_CONNTRACK4) };
}

struct crit_nft_counts {
	struct axdp_counter c[AXDP_REASON_COUNT], would[AXDP_REASON_COUNT];
	int rc;
	char err[512];
};

static inline int crit_nft_read(void *arg)
{
	struct crit_nft_counts *n = arg;

	n->rc = axdp_nft_counters(n->c, n->would, n->err, sizeof(n->err));
	return n->rc < 0 ? -1 : 0;
}

/*
 * Packets the daemon counted for reason, over every interface and CPU:
 * from map (AXDP_MAP_COUNTERS, or AXDP_MAP_AUDIT_COUNTERS for the
 * would-drops of Mode=audit) and, for interfaces on nftables
 * (AXDPD_BACKEND_ENV), the matching named counters of its table in the
 * daemon's namespace.
 */
static inline uint64_t crit_counted(const struct axdpd *d, const char *map, enum axdp_reason reason)
{
	struct axdp_counter all[AXDP_REASON_COUNT];
	struct crit_nft_counts nft = { .rc = 0 };
	bool would = !strcmp(map, AXDP_MAP_AUDIT_COUNTERS);
	int fd = crit_pinned(d, map);
	char err[256];

	cr_assert_eq(axdp_counters_read(fd, AXDP_ALL_SLOTS, all), 0, "reading %s: %s", map, strerror(errno));
	close(fd);
	cr_assert_eq(netns_call(d->netns, crit_nft_read, &nft, err, sizeof(err)), 0, "reading the nftables counters: %s %s",
		     err, nft.err);
	return all[reason].packets + (nft.rc > 0 ? (would ? nft.would : nft.c)[reason].packets : 0);
}

/* Packets judged for reason, passed or dropped: crit_counted of AXDP_MAP_COUNTERS. */
static inline uint64_t crit_counter(const struct axdpd *d, enum axdp_reason reason)
{
	return crit_counted(d, AXDP_MAP_COUNTERS, reason);
}

#endif
