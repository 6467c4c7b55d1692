// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "atomicfile.h"
#include "counters.h"
#include "metrics.h"

struct reason_label {
	const char *action;
	const char *name;
};

static const struct reason_label reason_labels[AXDP_REASON_COUNT] = {
#define AXDP_REASON_LABEL(number, id, action, name) [AXDP_##id] = { #action, #name },
	AXDP_REASONS(AXDP_REASON_LABEL)
#undef AXDP_REASON_LABEL
};

static const char *const l4_names[AXDP_L4_COUNT] = { "tcp", "udp" };

int axdp_slot_ifaces(int fd, struct axdp_slot_iface out[AXDP_IFACE_SLOTS])
{
	memset(out, 0, AXDP_IFACE_SLOTS * sizeof(*out));
	out[0].used = true;
	snprintf(out[0].name, sizeof(out[0].name), AXDP_SLOT_OTHER);
	for (__u32 key = 0; key < AXDP_IFINDEX_KEYS; key++) {
		struct axdp_iface_slot s;
		char name[IF_NAMESIZE];
		bool live;

		if (bpf_map_lookup_elem(fd, &key, &s))
			return -1;
		if (!s.ifindex || s.slot == 0 || s.slot >= AXDP_IFACE_SLOTS)
			continue;
		live = if_indextoname(s.ifindex, name) != NULL;
		/* A slot whose interface vanished may have been handed to a live one: the live one wins. */
		if (out[s.slot].used && !live)
			continue;
		out[s.slot].used = true;
		out[s.slot].ifindex = s.ifindex;
		if (live)
			snprintf(out[s.slot].name, sizeof(out[s.slot].name), "%s", name);
		else
			snprintf(out[s.slot].name, sizeof(out[s.slot].name), "if%u", s.ifindex);
	}
	return 0;
}

static bool slot_open(__u32 flags)
{
	return flags & AXDP_PORT_OPEN;
}

int axdp_open_ports_count(int fd, unsigned int out[AXDP_L4_COUNT])
{
	size_t len = (size_t)AXDP_L4_COUNT * AXDP_PORTS * sizeof(struct axdp_port_slot);
	/* 131072 slots: one mapping instead of as many syscalls (the map is BPF_F_MMAPABLE). */
	const struct axdp_port_slot *slots = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);

	memset(out, 0, AXDP_L4_COUNT * sizeof(*out));
	for (__u32 idx = 0; idx < AXDP_L4_COUNT * AXDP_PORTS; idx++) {
		struct axdp_port_slot s;

		if (slots != MAP_FAILED)
			s = slots[idx];
		else if (bpf_map_lookup_elem(fd, &idx, &s))
			return -1;
		if (idx % AXDP_PORTS && slot_open(s.flags))
			out[idx / AXDP_PORTS]++;
	}
	if (slots != MAP_FAILED)
		munmap((void *)slots, len);
	return 0;
}

long long axdp_events_skipped(int fd)
{
	int ncpu = libbpf_num_possible_cpus();
	struct axdp_event_budget *b;
	long long sum = 0;
	__u32 zero = 0;

	if (ncpu <= 0)
		return -1;
	b = calloc(ncpu, sizeof(*b));
	if (!b)
		return -1;
	if (bpf_map_lookup_elem(fd, &zero, b)) {
		free(b);
		return -1;
	}
	for (int cpu = 0; cpu < ncpu; cpu++)
		sum += b[cpu].skipped;
	free(b);
	return sum;
}

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

static int render_counters(FILE *out, const struct axdp_metrics_maps *m, char *err, size_t errlen)
{
	struct axdp_counter c[AXDP_IFACE_SLOTS][AXDP_REASON_COUNT];
	struct axdp_slot_iface ifs[AXDP_IFACE_SLOTS];
	bool show[AXDP_IFACE_SLOTS];

	if (axdp_slot_ifaces(m->iface_slots, ifs))
		return snprintf(err, errlen, "reading map %s: %s", AXDP_MAP_IFACE_SLOTS, strerror(errno)), -1;
	for (int s = 0; s < AXDP_IFACE_SLOTS; s++) {
		show[s] = false;
		if (!ifs[s].used)
			continue;
		if (axdp_counters_read(m->counters, s, c[s]))
			return snprintf(err, errlen, "reading map %s: %s", AXDP_MAP_COUNTERS, strerror(errno)), -1;
		/* Slot 0 only counts strays; an all-zero "other" is noise on every dashboard. */
		show[s] = s != 0;
		for (int r = 0; r < AXDP_REASON_COUNT && !show[s]; r++)
			show[s] = c[s][r].packets != 0;
	}
	for (int bytes = 0; bytes < 2; bytes++) {
		const char *name = bytes ? "autoxdp_bytes_total" : "autoxdp_packets_total";

		family(out, name, "counter",
		       bytes ? "Bytes judged by the data path, by action, reason and interface."
			     : "Packets judged by the data path, by action, reason and interface.");
		for (int s = 0; s < AXDP_IFACE_SLOTS; s++) {
			for (int r = 0; show[s] && r < AXDP_REASON_COUNT; r++) {
				fprintf(out, "%s{action=\"%s\",reason=\"%s\",interface=\"", name, reason_labels[r].action,
					reason_labels[r].name);
				label_value(out, ifs[s].name);
				fprintf(out, "\"} %llu\n",
					(unsigned long long)(bytes ? c[s][r].bytes : c[s][r].packets));
			}
		}
	}
	if (m->audit_counters < 0)
		return 0;
	family(out, "autoxdp_would_drop_packets_total", "counter",
	       "Packets judged a drop that passed because the data path ran in Mode=audit, by reason and interface.");
	for (int s = 0; s < AXDP_IFACE_SLOTS; s++) {
		struct axdp_counter a[AXDP_REASON_COUNT];

		if (!show[s])
			continue;
		if (axdp_counters_read(m->audit_counters, s, a))
			return snprintf(err, errlen, "reading map %s: %s", AXDP_MAP_AUDIT_COUNTERS, strerror(errno)), -1;
		for (int r = 0; r < AXDP_REASON_COUNT; r++) {
			if (!AXDP_REASON_DROPS(r))
				continue;
			fprintf(out, "autoxdp_would_drop_packets_total{reason=\"%s\",interface=\"", reason_labels[r].name);
			label_value(out, ifs[s].name);
			fprintf(out, "\"} %llu\n", (unsigned long long)a[r].packets);
		}
	}
	return 0;
}

int axdp_metrics_render(FILE *out, const struct axdp_metrics_maps *m, char *err, size_t errlen)
{
	if (m->counters >= 0 && m->iface_slots >= 0 && render_counters(out, m, err, errlen))
		return -1;
	if (m->port_allow >= 0) {
		unsigned int open[AXDP_L4_COUNT];

		if (axdp_open_ports_count(m->port_allow, open))
			return snprintf(err, errlen, "reading map %s: %s", AXDP_MAP_PORT_ALLOW, strerror(errno)), -1;
		family(out, "autoxdp_open_ports", "gauge", "Ports open to the outside, by protocol.");
		for (int l4 = 0; l4 < AXDP_L4_COUNT; l4++)
			fprintf(out, "autoxdp_open_ports{protocol=\"%s\"} %u\n", l4_names[l4], open[l4]);
	}
	if (axdp_conntrack_open(&m->conntrack)) {
		long n = axdp_conntrack_count(&m->conntrack);

		if (n < 0)
			return snprintf(err, errlen, "reading maps %s and %s: %s", AXDP_MAP_CONNTRACK, AXDP_MAP_CONNTRACK4,
					strerror(errno)), -1;
		family(out, "autoxdp_conntrack_entries", "gauge",
		       "Entries in the connection table; idle ones stay until the table reuses them.");
		fprintf(out, "autoxdp_conntrack_entries %ld\n", n);
		family(out, "autoxdp_conntrack_capacity", "gauge", "Size of each family's connection table (IPv4, IPv6).");
		fprintf(out, "autoxdp_conntrack_capacity %d\n", AXDP_CT_ENTRIES);
	}
	if (m->event_budget >= 0) {
		long long n = axdp_events_skipped(m->event_budget);

		if (n < 0)
			return snprintf(err, errlen, "reading map %s: %s", AXDP_MAP_EVENT_BUDGET, strerror(errno)), -1;
		family(out, "autoxdp_events_skipped", "gauge",
		       "Drops the event sampler left out since it last sampled one (only while axdp events runs).");
		fprintf(out, "autoxdp_events_skipped %lld\n", n);
	}
	if (m->audit >= 0) {
		family(out, "autoxdp_audit_mode", "gauge", "1 while the data path runs in Mode=audit (drops nothing), 0 in enforce.");
		fprintf(out, "autoxdp_audit_mode %d\n", m->audit);
	}
	family(out, "autoxdp_build_info", "gauge", "Version of the program that wrote these metrics.");
	fprintf(out, "autoxdp_build_info{version=\"%s\"} 1\n", AXDP_VERSION);
	if (fflush(out) == EOF || ferror(out))
		return snprintf(err, errlen, "writing metrics: %s", strerror(errno ? errno : EIO)), -1;
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
