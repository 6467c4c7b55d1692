/* SPDX-License-Identifier: MIT */
/*
 * Mode=enforce|audit at runtime.  Loading a program needs CAP_PERFMON,
 * which the daemon gives up after start, so it loads the XDP program of
 * the other mode too while it still may, sharing every map of its own
 * (conntrack, counters, rate buckets and their hash key).  A switch is
 * then one atomic link update per interface: no moment unprotected, no
 * state lost.
 */
#ifndef AXDP_MODE_SWITCH_H
#define AXDP_MODE_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "loader.h"
#include "xdp_copy.h"

struct axdp_mode_switch {
	struct axdp_xdp_copy other; /* xdp_ingress with knobs.audit flipped */
	bool audit;                 /* the mode dp->xdp_fd judges in */
};

/*
 * After axdp_datapath_load(), with ms->audit the mode it was loaded in:
 * the other mode's program.  0, or -1 with err (switching then needs a restart).
 */
int axdp_mode_prepare(struct axdp_mode_switch *ms, struct axdp_datapath *dp, const char *object_path, char *err,
		      size_t errlen);

/*
 * Makes dp->xdp_fd the program of the wanted mode (what later
 * attachments get) and swaps it into the pinned XDP links of the n attachments att.
 * 0, or -1 with err naming the interface that still runs the old mode.
 */
int axdp_mode_switch(struct axdp_mode_switch *ms, struct axdp_datapath *dp, bool audit,
		     const struct axdp_attachment *att, int n, char *err, size_t errlen);

void axdp_mode_close(struct axdp_mode_switch *ms);

#endif
