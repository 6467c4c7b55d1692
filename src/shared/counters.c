// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "counters.h"

int axdp_counters_read(int fd, int slot, struct axdp_counter out[AXDP_REASON_COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	int first = slot == AXDP_ALL_SLOTS ? 0 : slot, last = slot == AXDP_ALL_SLOTS ? AXDP_IFACE_SLOTS - 1 : slot;
	struct axdp_counter *percpu;

	if (ncpu <= 0 || first < 0 || last >= AXDP_IFACE_SLOTS) {
		errno = EINVAL;
		return -1;
	}
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -1;
	memset(out, 0, AXDP_REASON_COUNT * sizeof(*out));
	for (int s = first; s <= last; s++)
		for (__u32 r = 0; r < AXDP_REASON_COUNT; r++) {
			__u32 key = s * AXDP_COUNTER_SLOTS + r;

			if (bpf_map_lookup_elem(fd, &key, percpu)) {
				free(percpu);
				return -1;
			}
			for (int cpu = 0; cpu < ncpu; cpu++) {
				out[r].packets += percpu[cpu].packets;
				out[r].bytes += percpu[cpu].bytes;
			}
		}
	free(percpu);
	return 0;
}
