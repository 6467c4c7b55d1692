/* SPDX-License-Identifier: MIT */
/*
 * Sockets on either side of the end-to-end suites' namespace pair, for
 * test files only: every step asserts, so a case reads as the traffic it
 * makes.  The suite names its pair and I/O bound once, in its setup,
 * with crit_net_use(); the helpers then need neither.
 */
#ifndef AXDP_TEST_CRIT_SOCK_H
#define AXDP_TEST_CRIT_SOCK_H

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "netns.h"
#include "sock.h"

static struct {
	const struct netns_pair *ns;
	int io_ms;   /* a send, receive or accept waits at most this long */
} crit_net;

static inline void crit_net_use(const struct netns_pair *ns, int io_ms)
{
	crit_net.ns = ns;
	crit_net.io_ms = io_ms;
}

static inline socklen_t sockaddr_of(int af, const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	socklen_t len = tsock_addr(af, addr, port, ss);

	cr_assert(len, "bad %s address %s", af == AF_INET ? "IPv4" : "IPv6", addr);
	return len;
}

/* The address of one side of the pair in family af. */
static inline const char *side_addr(enum netns_side side, int af)
{
	return af == AF_INET ? crit_net.ns->ip4[side] : crit_net.ns->ip6[side];
}

static inline void set_timeouts(int fd)
{
	cr_assert(tsock_timeouts(fd, crit_net.io_ms) == 0, "socket timeouts: %s", strerror(errno));
}

static inline int sock(enum netns_side side, int af, int type)
{
	char err[512];
	int fd = netns_socket(crit_net.ns->name[side], af, type, 0, err, sizeof(err));

	cr_assert(fd >= 0, "%s", err);
	set_timeouts(fd);
	return fd;
}

static inline uint16_t local_port(int fd)
{
	int port = tsock_local_port(fd);

	cr_assert(port >= 0, "getsockname: %s", strerror(errno));
	return (uint16_t)port;
}

/* A TCP listener or bound UDP socket on addr:port in side's namespace (port 0: the kernel picks). */
static inline int serve(enum netns_side side, int af, int type, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(af, addr, port, &ss);
	int fd = sock(side, af, type);

	cr_assert(tsock_bind(fd, &ss, len, 0) == 0, "binding [%s]:%u in %s: %s", addr, port, crit_net.ns->name[side],
		  strerror(errno));
	if (type == SOCK_STREAM)
		cr_assert(listen(fd, 64) == 0, "listen on [%s]:%u: %s", addr, port, strerror(errno));
	return fd;
}

/* 0 when connected, else the errno: ETIMEDOUT means no answer at all within ms. */
static inline int connect_within(int fd, int af, const char *addr, uint16_t port, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(af, addr, port, &ss);

	return tsock_connect_within(fd, &ss, len, ms);
}

/* A fresh client connect to addr:port: 0, ECONNREFUSED, or ETIMEDOUT when the SYN was dropped. */
static inline int try_connect(int af, const char *addr, uint16_t port, int ms)
{
	int fd = sock(NETNS_CLIENT, af, SOCK_STREAM), rc = connect_within(fd, af, addr, port, ms);

	close(fd);
	return rc;
}

/*
 * A datagram to addr:port from a fresh connected client socket:
 * ETIMEDOUT when nothing came back within ms (dropped), ECONNREFUSED when
 * an ICMP port unreachable did (it reached a stack with no socket there),
 * 0 for a reply; as try_connect tells a drop from a RST.
 */
static inline int try_datagram(int af, const char *addr, uint16_t port, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(af, addr, port, &ss);
	int fd = sock(NETNS_CLIENT, af, SOCK_DGRAM), rc = ETIMEDOUT;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[16];

	cr_assert(connect(fd, (struct sockaddr *)&ss, len) == 0 && send(fd, "hello", 5, 0) == 5,
		  "a datagram to [%s]:%u: %s", addr, port, strerror(errno));
	if (poll(&pfd, 1, ms) == 1)
		rc = recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 ? errno : 0;
	close(fd);
	return rc;
}

/*
 * Retransmissions of a connected socket's segments, SYN included: 0 after
 * a connect means its first SYN was answered, however long that took.
 */
static inline unsigned retransmits(int fd)
{
	struct tcp_info ti = {};
	socklen_t len = sizeof(ti);

	cr_assert(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0, "TCP_INFO: %s", strerror(errno));
	return ti.tcpi_total_retrans;
}

static inline int accept_one(int listener)
{
	struct pollfd pfd = { .fd = listener, .events = POLLIN };
	int fd;

	cr_assert(poll(&pfd, 1, crit_net.io_ms) == 1, "accept: no connection within %d ms", crit_net.io_ms);
	fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(fd >= 0, "accept: %s", strerror(errno));
	set_timeouts(fd);
	return fd;
}

/* One message each way, a first: proof the session still carries data in both directions. */
static inline void exchange(int a, int b, const char *step, const char *what)
{
	char out[64], in[64];
	int len = snprintf(out, sizeof(out), "%s/%s", step, what);

	for (int dir = 0; dir < 2; dir++) {
		int from = dir ? b : a, to = dir ? a : b;
		ssize_t got = 0, r;

		cr_assert(send(from, out, (size_t)len, MSG_NOSIGNAL) == len, "%s: %s: send: %s", step, what,
			  strerror(errno));
		while (got < len && (r = recv(to, in + got, (size_t)(len - got), 0)) > 0)
			got += r;
		cr_assert(got == len && memcmp(in, out, (size_t)len) == 0, "%s: %s: %s data did not arrive within %d ms (%s)",
			  step, what, dir ? "the answer" : "the first message", crit_net.io_ms,
			  got < len ? strerror(errno) : "garbled");
	}
}

static inline void send_to(int fd, int af, const char *addr, uint16_t port, const char *msg)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(af, addr, port, &ss);

	cr_assert(sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&ss, len) == (ssize_t)strlen(msg),
		  "sendto [%s]:%u: %s", addr, port, strerror(errno));
}

#endif
