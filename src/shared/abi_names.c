// SPDX-License-Identifier: MIT
#include "abi_names.h"

const char *const axdp_action_names[AXDP_ACTION_egress + 1] = {
	[AXDP_ACTION_pass] = "pass",
	[AXDP_ACTION_drop] = "drop",
	[AXDP_ACTION_egress] = "egress",
};

const struct axdp_reason_label axdp_reason_labels[AXDP_REASON_COUNT] = {
#define AXDP_REASON_LABEL(number, id, action, name) [AXDP_##id] = { #action, #name },
	AXDP_REASONS(AXDP_REASON_LABEL)
#undef AXDP_REASON_LABEL
};

const char *const axdp_l4_names[AXDP_L4_COUNT] = {
	[AXDP_L4_TCP] = "tcp",
	[AXDP_L4_UDP] = "udp",
};
