/* SPDX-License-Identifier: MIT */
#ifndef AXDP_COUNTERS_H
#define AXDP_COUNTERS_H

#include "autoxdp_abi.h"

#define AXDP_ALL_SLOTS (-1)

/*
 * Reads the per-CPU counters map (fd) into out, summed over CPUs, for
 * one interface slot or AXDP_ALL_SLOTS.  Returns 0, or -1 with errno.
 */
int axdp_counters_read(int fd, int slot, struct axdp_counter out[AXDP_REASON_COUNT]);

#endif
