/* SPDX-License-Identifier: MIT */
/*
 * The rate-limit tier of each TCP port (enum axdp_tier in port_allow's
 * .tier): StrictTCP=/UnlimitedTCP= by port, else strict when a process
 * named in StrictProcesses= listens, else normal.  The socket hooks only
 * OR a slot's flags, so .tier is written here alone, field by field.
 */
#ifndef AXDP_PORT_TIER_H
#define AXDP_PORT_TIER_H

#include <stdint.h>
#include "config.h"
#include "sockdiag.h"

/* Listener sockets already named, so a reconcile scans /proc only for new ones. */
struct axdp_tier_cache {
	struct axdp_tier_seen *v;
	size_t n;
};

/* comm: the listener's command name, NULL when unknown. */
enum axdp_tier axdp_port_tier_of(const struct axdp_config *cfg, uint16_t port, const char *comm);

/* Writes the tier of TCP port into slots (port_allow, mapped) if it differs. */
void axdp_port_tier_store(struct axdp_port_slot *slots, uint16_t port, enum axdp_tier tier);

/*
 * Every TCP port's tier from cfg and the listeners in socks.  A listener
 * whose process cannot be found (another user's, once the daemon dropped
 * its privileges) leaves the tier the socket hook's event set.
 */
void axdp_port_tiers_sync(struct axdp_port_slot *slots, const struct axdp_config *cfg,
			  const struct axdp_socket_set *socks, struct axdp_tier_cache *cache);
void axdp_tier_cache_free(struct axdp_tier_cache *cache);

#endif
