// SPDX-License-Identifier: MIT
/*
 * What the daemon reports: its status line to the service manager and the
 * MetricsFile= for node_exporter.
 */
#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include "autoxdpd.h"
#include "log.h"
#include "metrics.h"

void daemon_notify_status(struct daemon *d)
{
	unsigned int open[AXDP_L4_COUNT];
	char ifs[512] = "";
	size_t len = 0;

	axdp_portsync_count(&d->ps, open);
	for (int i = 0; i < d->n_att && len < sizeof(ifs); i++)
		len += snprintf(ifs + len, sizeof(ifs) - len, "%s%s xdp %s", i ? ", " : "", d->att[i].ifname,
				axdp_xdp_mode_name(d->att[i].xdp_mode));
	for (int i = 0; i < d->nft.n && len < sizeof(ifs); i++)
		len += snprintf(ifs + len, sizeof(ifs) - len, "%s%s nftables", len ? ", " : "", d->nft.ifaces[i]);
	sd_notifyf(0, "STATUS=%s %s; %u tcp and %u udp ports open%s",
		   d->bpf && d->mode.audit ? "auditing (nothing dropped)" : "protecting",
		   len ? ifs : "no interface yet", open[AXDP_L4_TCP], open[AXDP_L4_UDP],
		   !d->bpf       ? "; no data path object, polling"
		   : d->dp.hooks ? ""
				 : "; socket hooks unavailable, polling");
}

/* MetricsFile=: rendered by metrics.c, as 'axdp stats --format prometheus' renders it. */
void daemon_write_metrics(struct daemon *d)
{
	static bool failing; /* log a failure once, not every interval */
	struct axdp_metrics_maps m = AXDP_METRICS_MAPS_NONE;
	struct axdp_counter nft[AXDP_REASON_COUNT], nft_would[AXDP_REASON_COUNT];
	char err[ERRLEN];

	if (!d->cfg.metrics_file[0])
		return;
	if (d->bpf) {
		m.counters = axdp_datapath_map_fd(&d->dp, AXDP_MAP_COUNTERS, err, sizeof(err));
		m.iface_slots = axdp_datapath_map_fd(&d->dp, AXDP_MAP_IFACE_SLOTS, err, sizeof(err));
		m.port_allow = axdp_datapath_map_fd(&d->dp, AXDP_MAP_PORT_ALLOW, err, sizeof(err));
		axdp_datapath_conntrack(&d->dp, &m.conntrack, err, sizeof(err));
		m.event_budget = axdp_datapath_map_fd(&d->dp, AXDP_MAP_EVENT_BUDGET, err, sizeof(err));
		m.audit_counters = axdp_datapath_map_fd(&d->dp, AXDP_MAP_AUDIT_COUNTERS, err, sizeof(err));
		m.audit = d->mode.audit;
	}
	/* nftables interfaces: the table's counters, one nftables query per interval. */
	if (d->nft.installed && axdp_nft_counters(nft, nft_would, err, sizeof(err)) > 0) {
		m.nft = nft;
		m.nft_would = d->cfg.mode == AXDP_MODE_AUDIT ? nft_would : NULL;
	}
	if (axdp_metrics_write_file(d->cfg.metrics_file, &m, err, sizeof(err)) == 0)
		failing = false;
	else if (!failing && (failing = true))
		axdp_log(LOG_WARNING, "MetricsFile=%s: %s; retrying every %u s", d->cfg.metrics_file, err,
			 d->cfg.metrics_interval_s);
}
