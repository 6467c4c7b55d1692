// SPDX-License-Identifier: MIT
/*
 * The NETLINK_SOCK_DIAG reply parser (axdp_sockdiag_parse) fed any bytes
 * as one recvmsg() worth, as listener and as connection dump, TCP and UDP.
 * Properties: no memory error; every socket it keeps has a family it asked
 * for and a v4-mapped address for AF_INET; a listening UDP socket kept has
 * no peer.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "fuzz_util.h"
#include "sockdiag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The kernel's buffer is aligned for nlmsghdr; so is malloc's. */
	uint8_t *buf = malloc(size ? size : 1);
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	FUZZ_ASSERT(buf, "out of memory");
	memcpy(buf, data, size);
	for (int i = 0; i < 4; i++) {
		struct axdp_socket_set out = { 0 };
		uint8_t proto = i & 1 ? IPPROTO_UDP : IPPROTO_TCP;
		bool listening = i & 2;
		int rc = axdp_sockdiag_parse(buf, size, 1, proto, listening, &out);

		FUZZ_ASSERT(rc >= -1 && rc <= 1, "rc %d", rc);
		for (size_t k = 0; k < out.n; k++) {
			const struct axdp_socket *s = &out.v[k];

			FUZZ_ASSERT(s->proto == proto, "proto %u", s->proto);
			if (s->family == AF_INET)
				FUZZ_ASSERT(!memcmp(s->addr, mapped, 12), "an AF_INET address not v4-mapped");
			if (listening && proto == IPPROTO_UDP)
				FUZZ_ASSERT(s->port && !s->remote_port, "a UDP client socket kept as a listener");
		}
		axdp_socket_set_free(&out);
	}
	free(buf);
	return 0;
}
