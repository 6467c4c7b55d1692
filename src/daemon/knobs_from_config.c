// SPDX-License-Identifier: MIT
/*
 * The data path's .rodata knobs a configuration asks for: what the
 * loader writes into the object before loading it.
 */
#include <stdint.h>
#include <unistd.h>
#include <sys/socket.h>
#include "autoxdpd.h"
#include "portsync.h"
#include "rate_knobs.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static uint64_t netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len);
		close(fd);
	}
	return cookie;
}

struct axdp_knobs axdp_knobs_from_config(const struct axdp_config *cfg)
{
	struct axdp_knobs k = {
		.tcp_timeout_ns = cfg->tcp_timeout_s * AXDP_NSEC_PER_SEC,
		.tcp_closing_timeout_ns = cfg->tcp_closing_timeout_s * AXDP_NSEC_PER_SEC,
		.udp_timeout_ns = cfg->udp_timeout_s * AXDP_NSEC_PER_SEC,
		.icmp_timeout_ns = cfg->icmp_timeout_s * AXDP_NSEC_PER_SEC,
		.frag_timeout_ns = cfg->frag_timeout_s * AXDP_NSEC_PER_SEC,
		.netns_cookie = netns_cookie(),
		/* 0 would turn off the drop events 'axdp events' and 'axdp top' read. */
		.events_per_cpu = AXDP_DEFAULT_EVENTS_PER_CPU,
		.audit = cfg->mode == AXDP_MODE_AUDIT,
	};

	axdp_ephemeral_range(&k.ephemeral_lo, &k.ephemeral_hi);
	axdp_rate_knobs(&k, cfg, 0);
	return k;
}
