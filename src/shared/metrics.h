/* SPDX-License-Identifier: MIT */
/*
 * The firewall's numbers as Prometheus metrics, one renderer for both
 * `axdp stats --format prometheus` and the daemon's MetricsFile=, and the
 * readers both need: which interface a counter slot belongs to, how many
 * ports are open, how full conntrack is.
 */
#ifndef AXDP_METRICS_H
#define AXDP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <net/if.h>
#include "autoxdp_abi.h"
#include "conntrack_map.h"

/* Map fds the metrics come from; -1 leaves out the metrics of that map. */
struct axdp_metrics_maps {
	int counters;
	int iface_slots;
	int port_allow;
	struct axdp_conntrack conntrack;
	int event_budget;   /* not pinned: the daemon has it from its object, axdp through the XDP program */
	int audit_counters; /* the drops Mode=audit let pass */
	int audit;          /* the mode in force: 1 audit, 0 enforce, -1 unknown (no XDP program) */
};

#define AXDP_METRICS_MAPS_NONE { -1, -1, -1, AXDP_CONNTRACK_NONE, -1, -1, -1 }

/* What a counter slot counts.  Slot 0 counts interfaces without a slot of their own: "other". */
struct axdp_slot_iface {
	bool used;
	__u32 ifindex;               /* 0 for slot 0 */
	char name[IF_NAMESIZE + 8];  /* "if12" when the index has no name in this network namespace */
};

#define AXDP_SLOT_OTHER "other"

/* Fills out[slot] for every slot; unused ones stay !used (slot 0 is always used). 0, or -1 with errno. */
int axdp_slot_ifaces(int iface_slots_fd, struct axdp_slot_iface out[AXDP_IFACE_SLOTS]);

/* Ports whose port_allow slot is open (any or bound addresses), per protocol.  0, or -1 with errno. */
int axdp_open_ports_count(int port_allow_fd, unsigned int out[AXDP_L4_COUNT]);

/* Drops the event sampler left out since it last sampled one, summed over CPUs; -1 with errno. */
long long axdp_events_skipped(int event_budget_fd);

/* The Prometheus text exposition format (version 0.0.4). 0, or -1 with err. */
int axdp_metrics_render(FILE *out, const struct axdp_metrics_maps *m, char *err, size_t errlen);

/* The same, replacing path atomically, mode 0644 (node_exporter's textfile collector reads it). */
int axdp_metrics_write_file(const char *path, const struct axdp_metrics_maps *m, char *err, size_t errlen);

#endif
