// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "autoxdp_abi.h"
#include "conntrack_seed.h"

/* Egress stamps an active flow at most this often too (bpf/egress.h FLOW_REFRESH_NS). */
#define REFRESH_NS AXDP_NSEC_PER_SEC

/* Adds the entry, or stamps an idle one now; true when it wrote. */
static bool keep_one(const struct axdp_conntrack *ct, const struct axdp_flow_key *key, __u64 now,
		     struct axdp_seed_counts *out)
{
	struct axdp_flow flow = { .last_seen_ns = now };

	if (axdp_conntrack_lookup(ct, key, &flow) != 0) {
		flow = (struct axdp_flow){ .last_seen_ns = now };
		if (axdp_conntrack_update(ct, key, &flow, BPF_NOEXIST) != 0)
			return false;
		out->added++;
		return true;
	}
	if ((__s64)(now - flow.last_seen_ns) <= (__s64)REFRESH_NS)
		return false;
	/*
	 * BPF_EXIST: an entry egress deleted since the lookup (the host sent
	 * a RST) stays deleted.  A FIN egress flagged in between loses its
	 * flag to this write; the entry then lives TCPTimeoutSec instead of
	 * TCPClosingTimeoutSec, for a socket the kernel still has.
	 */
	flow.last_seen_ns = now;
	if (axdp_conntrack_update(ct, key, &flow, BPF_EXIST) != 0)
		return false;
	out->refreshed++;
	return true;
}

int axdp_conntrack_keep(const struct axdp_conntrack *ct, int flow_ports_fd,
			bool (*served)(const struct axdp_socket *conn, const void *ctx), const void *ctx,
			struct axdp_seed_counts *out, char *err, size_t errlen)
{
	struct axdp_socket_set conns = {};
	struct timespec ts;
	__u64 now;

	memset(out, 0, sizeof(*out));
	if (axdp_connections_dump(&conns, err, errlen))
		return -1;
	/* The data path stamps flows with bpf_ktime_get_coarse_ns(): the monotonic clock. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (__u64)ts.tv_sec * AXDP_NSEC_PER_SEC + ts.tv_nsec;
	for (size_t i = 0; i < conns.n; i++) {
		const struct axdp_socket *c = &conns.v[i];
		struct axdp_flow_key key = {
			.remote_port = htons(c->remote_port),
			.local_port = htons(c->port),
			.proto = c->proto,
		};
		__u32 port_idx = (c->proto == IPPROTO_UDP ? AXDP_L4_UDP : AXDP_L4_TCP) * AXDP_PORTS + c->port;

		if (served && served(c, ctx))
			continue;
		memcpy(&key.remote, c->remote, sizeof(key.remote));
		memcpy(&key.local, c->addr, sizeof(key.local));
		/* The data path skips conntrack for ports without a recent mark (no_flow_possible). */
		if (keep_one(ct, &key, now, out))
			bpf_map_update_elem(flow_ports_fd, &port_idx, &now, BPF_ANY);
	}
	axdp_socket_set_free(&conns);
	return 0;
}
