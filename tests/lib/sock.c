// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "sock.h"

socklen_t tsock_addr(int af, const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return inet_pton(AF_INET, addr, &sin->sin_addr) == 1 ? sizeof(*sin) : 0;
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	return inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1 ? sizeof(*sin6) : 0;
}

int tsock_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	       setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ? -1 : 0;
}

int tsock_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

int tsock_bind(int fd, const struct sockaddr_storage *ss, socklen_t len, int backlog)
{
	int one = 1;

	/* A port of an earlier case may still be in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len))
		return -1;
	return backlog ? listen(fd, backlog) : 0;
}

int tsock_connect_within(int fd, const struct sockaddr_storage *ss, socklen_t len, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t optlen = sizeof(int);
	int flags = fcntl(fd, F_GETFL), rc;

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	rc = connect(fd, (const struct sockaddr *)ss, len) == 0 ? 0 : errno;
	if (rc == EINPROGRESS) {
		if (poll(&pfd, 1, ms) == 0)
			rc = ETIMEDOUT;
		else
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &optlen);
	}
	fcntl(fd, F_SETFL, flags);
	return rc;
}

bool tsock_datagram_within(int fd, void *buf, size_t cap, ssize_t *len, struct sockaddr_storage *from, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	socklen_t flen = sizeof(*from);

	if (poll(&pfd, 1, ms) <= 0)
		return false;
	/* Readable, so never blocking: a datagram the kernel dropped again is "none came". */
	*len = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)from, from ? &flen : NULL);
	return *len >= 0;
}
