/* SPDX-License-Identifier: MIT */
#ifndef AXDP_CONNTRACK_SEED_H
#define AXDP_CONNTRACK_SEED_H

#include <stdbool.h>
#include <stddef.h>
#include "conntrack_map.h"
#include "sockdiag.h"

struct axdp_seed_counts {
	unsigned int added;     /* connections that had no entry */
	unsigned int refreshed; /* entries idle for over a second, stamped now */
};

/*
 * Keeps the host's connections in conntrack for as long as the kernel has
 * them: a session older than the firewall (the operator's SSH, a database
 * link), or one whose listener closed, carries on without waiting for its
 * next outbound packet, and an idle one does not time out while its socket
 * lives.  Every connection sock_diag lists that served() does not cover
 * (NULL: none is) gets an entry if it has none; an entry present is only
 * stamped with the time, its flags (AXDP_FLOW_CLOSING) kept.  Entries come
 * from the kernel's socket table alone: no packet can make or keep one here.
 * Returns 0 with the counts in *out, or -1 when the dump failed.
 */
int axdp_conntrack_keep(const struct axdp_conntrack *ct, int flow_ports_fd,
			bool (*served)(const struct axdp_socket *conn, const void *ctx), const void *ctx,
			struct axdp_seed_counts *out, char *err, size_t errlen);

#endif
