/* SPDX-License-Identifier: MIT */
/*
 * Is a source let in?  A listener on the server side of a netns_pair and
 * connection attempts from the client side: a connect that completes
 * passed, one met by silence was dropped.  Every accepted connection is
 * closed at once, so a full accept queue never drops SYNs itself and
 * passes for a ban.  Free of any test framework.
 */
#ifndef AXDP_TEST_SYNPROBE_H
#define AXDP_TEST_SYNPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "netns.h"

struct synprobe {
	const struct netns_pair *ns;
	uint16_t port;
	int listener[2];   /* IPv4, IPv6 (-1: none) */
};

/* Listens on the server's wildcard address of IPv4, and of IPv6 too with v6. */
int synprobe_open(struct synprobe *p, const struct netns_pair *ns, uint16_t port, bool v6, char *err, size_t errlen);
/* Safe on a zeroed struct and twice. */
void synprobe_close(struct synprobe *p);

/* One attempt from the client over af: 0 when it connected, ETIMEDOUT after ms of silence, else errno. */
int synprobe_connect(struct synprobe *p, int af, int ms);

/* Attempts until one is dropped (want_dropped) or connects, each waiting dropped_ms; false after hang_ms. */
bool synprobe_wait(struct synprobe *p, int af, bool want_dropped, int dropped_ms, long hang_ms);

#endif
