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

/* Packets the daemon's data path counted for reason, over every interface and CPU. */
static inline uint64_t crit_counter(const struct axdpd *d, enum axdp_reason reason)
{
	struct axdp_counter all[AXDP_REASON_COUNT];
	int fd = crit_pinned(d, AXDP_MAP_COUNTERS);

	cr_assert_eq(axdp_counters_read(fd, AXDP_ALL_SLOTS, all), 0, "reading counters: %s", strerror(errno));
	close(fd);
	return all[reason].packets;
}

#endif
