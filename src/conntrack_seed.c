// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "autoxdp_abi.h"
#include "conntrack_seed.h"
#include "sockdiag.h"

int axdp_conntrack_seed(int conntrack_fd, int flow_ports_fd, char *err, size_t errlen)
{
	struct axdp_socket_set conns = {};
	struct timespec ts;
	int added = 0;

	if (axdp_connections_dump(&conns, err, errlen))
		return -1;
	/* The data path stamps flows with bpf_ktime_get_coarse_ns(): the monotonic clock. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	for (size_t i = 0; i < conns.n; i++) {
		const struct axdp_socket *c = &conns.v[i];
		struct axdp_flow flow = { .last_seen_ns = ts.tv_sec * AXDP_NSEC_PER_SEC + ts.tv_nsec };
		struct axdp_flow_key key = {
			.remote_port = htons(c->remote_port),
			.local_port = htons(c->port),
			.proto = c->proto,
		};

		__u32 port_idx = (c->proto == IPPROTO_UDP ? AXDP_L4_UDP : AXDP_L4_TCP) * AXDP_PORTS + c->port;

		memcpy(&key.remote, c->remote, sizeof(key.remote));
		memcpy(&key.local, c->addr, sizeof(key.local));
		/* The port mark first: the data path skips conntrack for ports without one. */
		bpf_map_update_elem(flow_ports_fd, &port_idx, &flow.last_seen_ns, BPF_ANY);
		if (bpf_map_update_elem(conntrack_fd, &key, &flow, BPF_NOEXIST) == 0)
			added++;
	}
	axdp_socket_set_free(&conns);
	return added;
}
