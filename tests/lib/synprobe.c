// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "sock.h"
#include "synprobe.h"
#include "timing.h"

static int listen_on(struct synprobe *p, int af, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = tsock_addr(af, af == AF_INET ? "0.0.0.0" : "::", p->port, &ss);
	int fd = netns_socket(p->ns->name[NETNS_SERVER], af, SOCK_STREAM, 0, err, errlen), one = 1;

	if (fd < 0)
		return -1;
	if (af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (tsock_bind(fd, &ss, len, 64) || fcntl(fd, F_SETFL, O_NONBLOCK)) {
		snprintf(err, errlen, "listening on port %u in %s: %s", p->port, p->ns->name[NETNS_SERVER], strerror(errno));
		close(fd);
		return -1;
	}
	p->listener[af == AF_INET6] = fd;
	return 0;
}

int synprobe_open(struct synprobe *p, const struct netns_pair *ns, uint16_t port, bool v6, char *err, size_t errlen)
{
	*p = (struct synprobe){ .ns = ns, .port = port, .listener = { -1, -1 } };
	if (listen_on(p, AF_INET, err, errlen) || (v6 && listen_on(p, AF_INET6, err, errlen))) {
		synprobe_close(p);
		return -1;
	}
	return 0;
}

void synprobe_close(struct synprobe *p)
{
	if (!p->ns)   /* never opened: a zeroed fixture */
		return;
	for (int i = 0; i < 2; i++)
		if (p->listener[i] >= 0)
			close(p->listener[i]);
	*p = (struct synprobe){ .listener = { -1, -1 } };
}

int synprobe_connect(struct synprobe *p, int af, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len = netns_sockaddr(p->ns, NETNS_SERVER, af, p->port, &ss);
	char err[256];
	int fd = netns_socket(p->ns->name[NETNS_CLIENT], af, SOCK_STREAM, 0, err, sizeof(err)), rc;

	if (fd < 0)
		return errno ? errno : EIO;
	rc = tsock_connect_within(fd, &ss, len, ms);
	close(fd);
	for (int i = 0; i < 2; i++)
		while (p->listener[i] >= 0 && (fd = accept4(p->listener[i], NULL, NULL, SOCK_NONBLOCK)) >= 0)
			close(fd);
	return rc;
}

bool synprobe_wait(struct synprobe *p, int af, bool want_dropped, int dropped_ms, long hang_ms)
{
	for (long end = now_ms() + hang_ms; now_ms() < end; sleep_ms(100)) {
		int rc = synprobe_connect(p, af, dropped_ms);

		if (want_dropped ? rc == ETIMEDOUT : rc == 0)
			return true;
	}
	return false;
}
