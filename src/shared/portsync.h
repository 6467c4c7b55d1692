/* SPDX-License-Identifier: MIT */
/*
 * Keeps the allow-lists equal to the listening sockets: what sock_diag
 * reports, filtered by the configuration, is written to port_allow and
 * addr_allow.  The socket hooks open ports ahead of it; only this code
 * closes them, and only after sock_diag shows no listener is left and the
 * port's remaining connections are in conntrack.
 */
#ifndef AXDP_PORTSYNC_H
#define AXDP_PORTSYNC_H

#include <stdint.h>
#include "config.h"
#include "loader.h"
#include "port_tier.h"

struct axdp_portsync {
	struct axdp_port_slot *slots;    /* port_allow, mapped; without a data path, memory of our own */
	int addr_allow_fd;               /* -1 without a data path */
	int bind_exclude_fd;             /* -1 without a data path */
	struct axdp_conntrack conntrack; /* both -1 without a data path */
	int flow_ports_fd;               /* -1 without a data path */
	uint16_t ephemeral_lo, ephemeral_hi;
	/* Without a data path (nftables only, sock_diag polling): addr_allow kept here. */
	bool local;
	struct axdp_addr_port *local_addrs;
	size_t n_local_addrs;
	struct axdp_tier_cache tiers; /* listeners whose process named their port's rate-limit tier */
};

/*
 * The allow-lists as they stand, for backends other than XDP to render
 * (nft_backend.h).  flags: AXDP_L4_COUNT * AXDP_PORTS slots, index
 * l4 * AXDP_PORTS + port, of AXDP_PORT_* bits; addrs: the (address, port)
 * pairs of listeners bound to one address (AXDP_PORT_OPEN_ADDR).
 */
struct axdp_port_state {
	uint32_t *flags;
	uint8_t *tiers; /* enum axdp_tier of each slot, indexed as flags */
	struct axdp_addr_port *addrs;
	size_t n_addrs, cap_addrs;
};

/*
 * Where a port_allow slot's flags open it: "any address", "any IPv4
 * address", "any IPv6 address" or "bound addresses only"; with json
 * "any", "ipv4", "ipv6" or "addresses".
 */
const char *axdp_port_open_on(uint32_t flags, bool json);

/* dp NULL: no data path could load; the allow-lists live in this process only. */
int axdp_portsync_open(struct axdp_portsync *ps, const struct axdp_datapath *dp, char *err, size_t errlen);
void axdp_portsync_close(struct axdp_portsync *ps);

/*
 * Brings port_allow, addr_allow and bind_exclude to what cfg and the
 * sockets say; logs each change.  With a data path, when a port or an
 * address of one is about to close, or when renew is set (start, reload,
 * the periodic pass), first keeps every connection no open port serves in
 * conntrack (axdp_conntrack_keep), so a session whose listener closed
 * outlives its port and an idle one its timeout.  On failure nothing
 * closes.
 */
int axdp_portsync_reconcile(struct axdp_portsync *ps, const struct axdp_config *cfg, bool renew, char *err,
			    size_t errlen);

/*
 * A copy of the allow-lists now: the last reconcile plus whatever the
 * socket hooks opened since (read from port_allow and addr_allow).  out
 * is zeroed before the first call; later calls reuse its arrays (a
 * failure frees them).  Free with axdp_port_state_free.
 */
int axdp_portsync_state(const struct axdp_portsync *ps, struct axdp_port_state *out, char *err, size_t errlen);
void axdp_port_state_free(struct axdp_port_state *s);

/*
 * Ports open to the outside per protocol in slots (port_allow's layout:
 * AXDP_L4_COUNT * AXDP_PORTS of them): those with AXDP_PORT_OPEN, port 0
 * never.  The status line and the metrics count with it.
 */
void axdp_open_ports_tally(const struct axdp_port_slot *slots, unsigned int open[AXDP_L4_COUNT]);

/* axdp_open_ports_tally() of the daemon's own slots, for status lines. */
void axdp_portsync_count(const struct axdp_portsync *ps, unsigned int open[AXDP_L4_COUNT]);

/* The kernel's ephemeral port range (net.ipv4.ip_local_port_range): UDP binds in it are clients. */
int axdp_ephemeral_range(uint16_t *lo, uint16_t *hi);

#endif
