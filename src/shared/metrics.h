/* SPDX-License-Identifier: MIT */
/*
 * The firewall's numbers as Prometheus metrics, one renderer for both
 * `axdp stats --format prometheus` and the daemon's MetricsFile=, from the
 * readers in map_readers.h.
 */
#ifndef AXDP_METRICS_H
#define AXDP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <net/if.h>
#include "autoxdp_abi.h"
#include "conntrack_map.h"
#include "map_readers.h"

/* Map fds the metrics come from; -1 leaves out the metrics of that map. */
struct axdp_metrics_maps {
	int counters;
	int iface_slots;
	int port_allow;
	struct axdp_conntrack conntrack;
	int event_budget;   /* not pinned: the daemon has it from its object, axdp through the XDP program */
	int audit_counters; /* the drops Mode=audit let pass */
	int audit;          /* the mode in force: 1 audit, 0 enforce, -1 unknown (no XDP program) */
	/*
	 * The nftables backend's counters (axdp_nft_counters), all its
	 * interfaces together, shown as interface AXDP_NFT_ROW; NULL: none.
	 */
	const struct axdp_counter *nft;
	const struct axdp_counter *nft_would;
};

#define AXDP_METRICS_MAPS_NONE                                          \
	{                                                               \
		-1, -1, -1, AXDP_CONNTRACK_NONE, -1, -1, -1, NULL, NULL \
	}

/* The interface label of the nftables backend's counters: they count its interfaces together. */
#define AXDP_NFT_ROW "nftables"

/* The Prometheus text exposition format (version 0.0.4). 0, or -1 with err. */
int axdp_metrics_render(FILE *out, const struct axdp_metrics_maps *m, char *err, size_t errlen);

/* The same, replacing path atomically, mode 0644 (node_exporter's textfile collector reads it). */
int axdp_metrics_write_file(const char *path, const struct axdp_metrics_maps *m, char *err, size_t errlen);

#endif
