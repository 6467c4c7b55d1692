/* SPDX-License-Identifier: MIT */
/*
 * The data path attached for real, without the daemon: a netns_pair, the
 * object loaded into a pin directory of this process (/sys/fs/bpf/
 * PREFIX<pid>) from inside the server namespace and attached to the
 * server's veth.  The calling thread stays in the server namespace until
 * dpfix_detach, because the loader resolves interface names where it
 * runs.  Free of any test framework: 0, or -1 with a message in err.
 */
#ifndef AXDP_TEST_DPFIX_H
#define AXDP_TEST_DPFIX_H

#include <stddef.h>
#include "loader.h"
#include "netns.h"

struct dpfix {
	struct netns_pair ns;
	struct axdp_datapath dp;
	struct axdp_attachment att;
	char pin_dir[64];
	int home;        /* the thread's namespace before setup, -1 when it never left */
};

#define DPFIX_INIT { .home = -1, .dp = { .xdp_fd = -1, .tc_fd = -1 } }

/*
 * Leftovers of dead runs of pin_prefix removed first.  knobs NULL:
 * AXDP_KNOBS_DEFAULT.  After a failure dpfix_detach and
 * netns_pair_destroy still clean up whatever was made.
 */
int dpfix_setup(struct dpfix *f, const char *pin_prefix, const char *object, const struct axdp_knobs *knobs,
		enum axdp_xdp_mode mode, char *err, size_t errlen);

/*
 * Detached, pins removed, the thread back home; every step is tried and
 * err holds each that failed.  The namespaces stay for netns_pair_destroy.
 */
int dpfix_detach(struct dpfix *f, char *err, size_t errlen);

/* Namespaces and pin_prefix pin directories whose creating process is gone. */
void dpfix_remove_stale(const char *pin_prefix);

#endif
