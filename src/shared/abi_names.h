/* SPDX-License-Identifier: MIT */
/*
 * How logs, metrics and axdp(8) spell the values of autoxdp_abi.h's enums:
 * the verdict reasons (from the AXDP_REASONS table itself), their actions
 * and the L4 protocols.  Each table once, so a label never differs
 * between 'axdp stats', the Prometheus text and the journal.
 */
#ifndef AXDP_ABI_NAMES_H
#define AXDP_ABI_NAMES_H

#include "autoxdp_abi.h"

struct axdp_reason_label {
	const char *action; /* "pass", "drop" or "egress": axdp_action_names[] */
	const char *name;   /* the reason's name column, e.g. "tcp_port_closed" */
};

extern const struct axdp_reason_label axdp_reason_labels[AXDP_REASON_COUNT];

/* Indexed by enum axdp_action. */
extern const char *const axdp_action_names[AXDP_ACTION_egress + 1];

/* Indexed by enum axdp_l4: "tcp", "udp". */
extern const char *const axdp_l4_names[AXDP_L4_COUNT];

#endif
