/* SPDX-License-Identifier: MIT */
/*
 * Readers of the data path's maps for the numbers `axdp stats`, `axdp
 * status` and the Prometheus metrics show: which interface a counter slot
 * belongs to, how many ports are open, how many drops the event sampler
 * left out (conntrack_map.c counts the connection table).
 */
#ifndef AXDP_MAP_READERS_H
#define AXDP_MAP_READERS_H

#include <stdbool.h>
#include <net/if.h>
#include "autoxdp_abi.h"

/* What a counter slot counts.  Slot 0 counts interfaces without a slot of their own: "other". */
struct axdp_slot_iface {
	bool used;
	__u32 ifindex;              /* 0 for slot 0 */
	char name[IF_NAMESIZE + 8]; /* "if12" when the index has no name in this network namespace */
};

#define AXDP_SLOT_OTHER "other"

/* Fills out[slot] for every slot; unused ones stay !used (slot 0 is always used). 0, or -1 with errno. */
int axdp_slot_ifaces(int iface_slots_fd, struct axdp_slot_iface out[AXDP_IFACE_SLOTS]);

/* Ports whose port_allow slot is open (any or bound addresses), per protocol.  0, or -1 with errno. */
int axdp_open_ports_count(int port_allow_fd, unsigned int out[AXDP_L4_COUNT]);

/* Drops the event sampler left out since it last sampled one, summed over CPUs; -1 with errno. */
long long axdp_events_skipped(int event_budget_fd);

#endif
