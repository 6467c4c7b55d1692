/* SPDX-License-Identifier: MIT */
#ifndef AXDP_CONNTRACK_SEED_H
#define AXDP_CONNTRACK_SEED_H

#include <stddef.h>

/*
 * Enters the host's existing connections into conntrack, so a session
 * older than the firewall (the operator's SSH, a database link) carries
 * on without waiting for its next outbound packet.  Entries already
 * present are left as they are.  Returns the number added, or -1.
 */
int axdp_conntrack_seed(int conntrack_fd, int flow_ports_fd, char *err, size_t errlen);

#endif
