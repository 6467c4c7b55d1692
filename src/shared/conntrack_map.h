/* SPDX-License-Identifier: MIT */
/*
 * The connection table as one: the data path keeps IPv4 flows in
 * conntrack4 (a 16-byte key, cheaper to hash) and IPv6 flows in
 * conntrack; here both take the same axdp_flow_key, IPv4 addresses
 * v4-mapped, and the family picks the map.
 */
#ifndef AXDP_CONNTRACK_MAP_H
#define AXDP_CONNTRACK_MAP_H

#include <stdbool.h>
#include "autoxdp_abi.h"

struct axdp_conntrack {
	int fd;  /* AXDP_MAP_CONNTRACK: IPv6 flows; -1 when not open */
	int fd4; /* AXDP_MAP_CONNTRACK4: IPv4 flows; -1 when not open */
};

#define AXDP_CONNTRACK_NONE \
	{                   \
		-1, -1      \
	}

/* The key is an IPv4 flow's (both addresses v4-mapped), and its form in conntrack4. */
bool axdp_flow_key_is_v4(const struct axdp_flow_key *key);
struct axdp_flow4_key axdp_flow4_key_of(const struct axdp_flow_key *key);

/* Both maps open (neither fd is -1). */
bool axdp_conntrack_open(const struct axdp_conntrack *ct);
void axdp_conntrack_close(struct axdp_conntrack *ct);

/*
 * bpf_map_lookup_elem and _update_elem on the key's family's map: 0, or -1 with errno.  No delete: the
 * data path's copies of entries (bpf/flows.h) go only with the egress that removes an entry.
 */
int axdp_conntrack_lookup(const struct axdp_conntrack *ct, const struct axdp_flow_key *key, struct axdp_flow *flow);
int axdp_conntrack_update(const struct axdp_conntrack *ct, const struct axdp_flow_key *key,
			  const struct axdp_flow *flow, __u64 flags);

/*
 * Calls each(key, flow, ctx) for every entry, IPv4 ones first, in batches
 * where the kernel has them; a nonzero return stops the walk and is
 * returned.  0, or -1 with errno when reading a map failed.
 */
int axdp_conntrack_foreach(const struct axdp_conntrack *ct,
			   int (*each)(const struct axdp_flow_key *key, const struct axdp_flow *flow, void *ctx),
			   void *ctx);

/* Entries in both maps (idle ones stay until the LRU reuses them), or -1 with errno. */
long axdp_conntrack_count(const struct axdp_conntrack *ct);

/*
 * Versions before conntrack4 kept IPv4 flows in conntrack too: copies
 * those into conntrack4 where it lacks them (an entry there is newer),
 * and with forget removes them from conntrack.  Entries copied, or -1
 * with errno.
 */
long axdp_conntrack_carry_v4(const struct axdp_conntrack *ct, bool forget);

#endif
