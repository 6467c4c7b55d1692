// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "map_readers.h"
#include "portsync.h"

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

int axdp_open_ports_count(int fd, unsigned int out[AXDP_L4_COUNT])
{
	size_t n = (size_t)AXDP_L4_COUNT * AXDP_PORTS, len = n * sizeof(struct axdp_port_slot);
	/* 131072 slots: one mapping instead of as many syscalls (the map is BPF_F_MMAPABLE). */
	struct axdp_port_slot *slots = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);

	if (slots != MAP_FAILED) {
		axdp_open_ports_tally(slots, out);
		munmap(slots, len);
		return 0;
	}
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -1;
	for (__u32 idx = 0; idx < n; idx++)
		if (bpf_map_lookup_elem(fd, &idx, &slots[idx])) {
			free(slots);
			return -1;
		}
	axdp_open_ports_tally(slots, out);
	free(slots);
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
