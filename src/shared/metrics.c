// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include "abi_names.h"
#include "atomicfile.h"
#include "counters.h"
#include "metrics.h"
#include "portsync.h"
#include "errbuf.h"

/* Label values escape backslash, quote and newline; interface names may hold the first two. */
static void label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One row of counters: an XDP interface slot, or the nftables backend's interfaces together. */
struct counter_row {
	const char *name;
	const struct axdp_counter *c, *would; /* would: NULL when nothing counts would-drops */
};

static void render_rows(FILE *out, const struct counter_row *rows, int n, bool would)
{
	for (int bytes = 0; bytes < 2; bytes++) {
		const char *name = bytes ? "autoxdp_bytes_total" : "autoxdp_packets_total";

		family(out, name, "counter",
		       bytes ? "Bytes judged by the data path, by action, reason and interface."
			     : "Packets judged by the data path, by action, reason and interface.");
		for (int i = 0; i < n; i++)
			for (int r = 0; r < AXDP_REASON_COUNT; r++) {
				fprintf(out, "%s{action=\"%s\",reason=\"%s\",interface=\"", name,
					axdp_reason_labels[r].action, axdp_reason_labels[r].name);
				label_value(out, rows[i].name);
				fprintf(out, "\"} %llu\n",
					(unsigned long long)(bytes ? rows[i].c[r].bytes : rows[i].c[r].packets));
			}
	}
	if (!would)
		return;
	family(out, "autoxdp_would_drop_packets_total", "counter",
	       "Packets judged a drop that passed because the data path ran in Mode=audit, by reason and interface.");
	for (int i = 0; i < n; i++)
		for (int r = 0; rows[i].would && r < AXDP_REASON_COUNT; r++) {
			if (!AXDP_REASON_DROPS(r))
				continue;
			fprintf(out, "autoxdp_would_drop_packets_total{reason=\"%s\",interface=\"",
				axdp_reason_labels[r].name);
			label_value(out, rows[i].name);
			fprintf(out, "\"} %llu\n", (unsigned long long)rows[i].would[r].packets);
		}
}

static int render_counters(FILE *out, const struct axdp_metrics_maps *m, char *err, size_t errlen)
{
	struct axdp_counter c[AXDP_IFACE_SLOTS][AXDP_REASON_COUNT], a[AXDP_IFACE_SLOTS][AXDP_REASON_COUNT];
	struct axdp_slot_iface ifs[AXDP_IFACE_SLOTS];
	struct counter_row rows[AXDP_IFACE_SLOTS + 1];
	bool xdp = m->counters >= 0 && m->iface_slots >= 0, would = m->audit_counters >= 0 || m->nft_would;
	int n = 0;

	if (xdp && axdp_slot_ifaces(m->iface_slots, ifs))
		return axdp_fail(err, errlen, "reading map %s: %s", AXDP_MAP_IFACE_SLOTS, strerror(errno));
	for (int s = 0; xdp && s < AXDP_IFACE_SLOTS; s++) {
		bool show = s != 0;

		if (!ifs[s].used)
			continue;
		if (axdp_counters_read(m->counters, s, c[s]))
			return axdp_fail(err, errlen, "reading map %s: %s", AXDP_MAP_COUNTERS, strerror(errno));
		if (m->audit_counters >= 0 && axdp_counters_read(m->audit_counters, s, a[s]))
			return axdp_fail(err, errlen, "reading map %s: %s", AXDP_MAP_AUDIT_COUNTERS, strerror(errno));
		/* Slot 0 only counts strays; an all-zero "other" is noise on every dashboard. */
		for (int r = 0; r < AXDP_REASON_COUNT && !show; r++)
			show = c[s][r].packets != 0;
		if (show)
			rows[n++] = (struct counter_row){ ifs[s].name, c[s], m->audit_counters >= 0 ? a[s] : NULL };
	}
	if (m->nft)
		rows[n++] = (struct counter_row){ AXDP_NFT_ROW, m->nft, m->nft_would };
	if (xdp || m->nft)
		render_rows(out, rows, n, would);
	return 0;
}

int axdp_metrics_render(FILE *out, const struct axdp_metrics_maps *m, char *err, size_t errlen)
{
	if (render_counters(out, m, err, errlen))
		return -1;
	if (m->port_allow >= 0) {
		unsigned int open[AXDP_L4_COUNT];

		if (axdp_open_ports_count(m->port_allow, open))
			return axdp_fail(err, errlen, "reading map %s: %s", AXDP_MAP_PORT_ALLOW, strerror(errno));
		family(out, "autoxdp_open_ports", "gauge", "Ports open to the outside, by protocol.");
		for (int l4 = 0; l4 < AXDP_L4_COUNT; l4++)
			fprintf(out, "autoxdp_open_ports{protocol=\"%s\"} %u\n", axdp_l4_names[l4], open[l4]);
	}
	if (axdp_conntrack_open(&m->conntrack)) {
		long n = axdp_conntrack_count(&m->conntrack);

		if (n < 0)
			return axdp_fail(err, errlen, "reading maps %s and %s: %s", AXDP_MAP_CONNTRACK,
					 AXDP_MAP_CONNTRACK4, strerror(errno));
		family(out, "autoxdp_conntrack_entries", "gauge",
		       "Entries in the connection table; idle ones stay until the table reuses them.");
		fprintf(out, "autoxdp_conntrack_entries %ld\n", n);
		family(out, "autoxdp_conntrack_capacity", "gauge",
		       "Size of each family's connection table (IPv4, IPv6).");
		fprintf(out, "autoxdp_conntrack_capacity %d\n", AXDP_CT_ENTRIES);
	}
	if (m->event_budget >= 0) {
		long long n = axdp_events_skipped(m->event_budget);

		if (n < 0)
			return axdp_fail(err, errlen, "reading map %s: %s", AXDP_MAP_EVENT_BUDGET, strerror(errno));
		family(out, "autoxdp_events_skipped", "gauge",
		       "Drops the event sampler left out since it last sampled one (only while axdp events runs).");
		fprintf(out, "autoxdp_events_skipped %lld\n", n);
	}
	if (m->audit >= 0) {
		family(out, "autoxdp_audit_mode", "gauge",
		       "1 while the data path runs in Mode=audit (drops nothing), 0 in enforce.");
		fprintf(out, "autoxdp_audit_mode %d\n", m->audit);
	}
	family(out, "autoxdp_build_info", "gauge", "Version of the program that wrote these metrics.");
	fprintf(out, "autoxdp_build_info{version=\"%s\"} 1\n", AXDP_VERSION);
	if (fflush(out) == EOF || ferror(out))
		return axdp_fail(err, errlen, "writing metrics: %s", strerror(errno ? errno : EIO));
	return 0;
}

int axdp_metrics_write_file(const char *path, const struct axdp_metrics_maps *m, char *err, size_t errlen)
{
	struct axdp_atomic_file a;

	if (axdp_atomic_open(&a, path, err, errlen))
		return -1;
	if (axdp_metrics_render(a.f, m, err, errlen)) {
		axdp_atomic_abort(&a);
		return -1;
	}
	return axdp_atomic_commit(&a, 0644, err, errlen);
}
