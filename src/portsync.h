/* SPDX-License-Identifier: MIT */
/*
 * Keeps the allow-lists equal to the listening sockets: what sock_diag
 * reports, filtered by the configuration, is written to port_allow and
 * addr_allow.  The socket hooks open ports ahead of it; only this code
 * closes them, and only after sock_diag shows no listener is left.
 */
#ifndef AXDP_PORTSYNC_H
#define AXDP_PORTSYNC_H

#include <stdint.h>
#include "config.h"
#include "loader.h"

struct axdp_portsync {
	struct axdp_port_slot *slots;  /* port_allow, mapped */
	int addr_allow_fd;
	int bind_exclude_fd;
	uint16_t ephemeral_lo, ephemeral_hi;
};

int axdp_portsync_open(struct axdp_portsync *ps, const struct axdp_datapath *dp, char *err, size_t errlen);
void axdp_portsync_close(struct axdp_portsync *ps);

/* Brings port_allow, addr_allow and bind_exclude to what cfg and the sockets say; logs each change. */
int axdp_portsync_reconcile(struct axdp_portsync *ps, const struct axdp_config *cfg, char *err, size_t errlen);

/* Ports open to the outside per protocol, for status lines. */
void axdp_portsync_count(const struct axdp_portsync *ps, unsigned int open[AXDP_L4_COUNT]);

/* The kernel's ephemeral port range (net.ipv4.ip_local_port_range): UDP binds in it are clients. */
int axdp_ephemeral_range(uint16_t *lo, uint16_t *hi);

#endif
