// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autoxdp_abi.h"
#include "crit_suite.h"
#include "sockdiag.h"

/* Criterion forks per test, so the netns is private to each test and the host's is never touched. */
static void netns_setup(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	cr_assert_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0, "lo up: %s", strerror(errno));
	close(fd);
}

CRIT_SUITE(listeners, 60, netns_setup, NULL);

static void addr16(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out + 12) == 1)
		out[10] = out[11] = 0xff;
	else
		cr_assert_eq(inet_pton(AF_INET6, s, out), 1, "bad address %s", s);
}

/* Creates a socket bound to addr:0; returns fd and the kernel-chosen port. */
static int bound(int type, const char *addr, uint16_t *port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		sl = sizeof(*s4);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
		sl = sizeof(*s6);
	}
	int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, sl), 0, "bind %s: %s", addr, strerror(errno));
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	*port = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
	return fd;
}

static int tcp_listener(const char *addr, uint16_t *port)
{
	int fd = bound(SOCK_STREAM, addr, port);
	cr_assert_eq(listen(fd, 16), 0);
	return fd;
}

static struct axdp_socket_set dump(void)
{
	struct axdp_socket_set s = { 0 };
	char err[256] = "";
	cr_assert_eq(axdp_listeners_dump(&s, err, sizeof(err)), 0, "dump: %s", err);
	return s;
}

static const struct axdp_socket *find(const struct axdp_socket_set *s, uint8_t proto,
					uint16_t port)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].proto == proto && s->v[i].port == port)
			return &s->v[i];
	return NULL;
}

static size_t count_port(const struct axdp_socket_set *s, uint16_t port)
{
	size_t c = 0;
	for (size_t i = 0; i < s->n; i++)
		c += s->v[i].port == port;
	return c;
}

Test(listeners, tcp_v4_wildcard_with_inode_and_cookie)
{
	uint16_t port;
	int fd = tcp_listener("0.0.0.0", &port);
	struct axdp_socket_set s = dump();
	const struct axdp_socket *l = find(&s, IPPROTO_TCP, port);
	cr_assert_not_null(l);
	uint8_t want[16];
	addr16("0.0.0.0", want);
	cr_assert(l->wildcard);
	cr_assert_eq(l->family, AF_INET);
	cr_assert_arr_eq(l->addr, want, 16);

	struct stat st;
	uint64_t cookie = 0;
	socklen_t cl = sizeof(cookie);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &cl), 0);
	cr_assert_eq(l->inode, (uint64_t)st.st_ino);
	cr_assert_eq(l->cookie, cookie);
	axdp_socket_set_free(&s);
	close(fd);
}

Test(listeners, tcp_v4_loopback_address)
{
	uint16_t port;
	int fd = tcp_listener("127.0.0.1", &port);
	struct axdp_socket_set s = dump();
	const struct axdp_socket *l = find(&s, IPPROTO_TCP, port);
	uint8_t want[16];
	addr16("127.0.0.1", want);
	cr_assert_not_null(l);
	cr_assert_not(l->wildcard);
	cr_assert_arr_eq(l->addr, want, 16);
	axdp_socket_set_free(&s);
	close(fd);
}

Test(listeners, tcp_v6_wildcard)
{
	uint16_t port;
	int fd = tcp_listener("::", &port);
	struct axdp_socket_set s = dump();
	const struct axdp_socket *l = find(&s, IPPROTO_TCP, port);
	uint8_t zero[16] = { 0 };
	cr_assert_not_null(l);
	cr_assert(l->wildcard);
	cr_assert_eq(l->family, AF_INET6);
	cr_assert_arr_eq(l->addr, zero, 16);
	axdp_socket_set_free(&s);
	close(fd);
}

Test(listeners, tcp_bound_not_listening_absent)
{
	uint16_t port;
	int fd = bound(SOCK_STREAM, "0.0.0.0", &port);
	struct axdp_socket_set s = dump();
	cr_assert_eq(count_port(&s, port), 0);
	axdp_socket_set_free(&s);
	close(fd);
}

Test(listeners, tcp_connected_client_and_accepted_absent)
{
	uint16_t lport, cport;
	int lfd = tcp_listener("127.0.0.1", &lport);
	int cfd = bound(SOCK_STREAM, "127.0.0.1", &cport);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(lport),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int afd = accept(lfd, NULL, NULL);
	cr_assert_geq(afd, 0);
	struct axdp_socket_set s = dump();
	cr_assert_eq(count_port(&s, lport), 1, "only the listener, not the accepted socket");
	cr_assert_eq(count_port(&s, cport), 0);
	axdp_socket_set_free(&s);
	close(afd);
	close(cfd);
	close(lfd);
}

Test(listeners, udp_bound_present_v4_v6)
{
	uint16_t p4, p6;
	int f4 = bound(SOCK_DGRAM, "0.0.0.0", &p4);
	int f6 = bound(SOCK_DGRAM, "::1", &p6);
	struct axdp_socket_set s = dump();
	const struct axdp_socket *l4 = find(&s, IPPROTO_UDP, p4);
	const struct axdp_socket *l6 = find(&s, IPPROTO_UDP, p6);
	uint8_t lo6[16];
	addr16("::1", lo6);
	cr_assert_not_null(l4);
	cr_assert(l4->wildcard);
	cr_assert_not_null(l6);
	cr_assert_not(l6->wildcard);
	cr_assert_arr_eq(l6->addr, lo6, 16);
	cr_assert_null(find(&s, IPPROTO_TCP, p4));
	axdp_socket_set_free(&s);
	close(f4);
	close(f6);
}

Test(listeners, udp_connected_absent)
{
	uint16_t sport, cport;
	int srv = bound(SOCK_DGRAM, "127.0.0.1", &sport);
	int cli = bound(SOCK_DGRAM, "127.0.0.1", &cport);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(sport),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(connect(cli, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct axdp_socket_set s = dump();
	cr_assert_not_null(find(&s, IPPROTO_UDP, sport));
	cr_assert_eq(count_port(&s, cport), 0);
	axdp_socket_set_free(&s);
	close(cli);
	close(srv);
}

Test(listeners, closed_listener_gone)
{
	uint16_t port;
	int fd = tcp_listener("0.0.0.0", &port);
	struct axdp_socket_set s = dump();
	cr_assert_not_null(find(&s, IPPROTO_TCP, port));
	axdp_socket_set_free(&s);
	close(fd);
	s = dump();
	cr_assert_null(find(&s, IPPROTO_TCP, port));
	axdp_socket_set_free(&s);
}

Test(listeners, many_listeners)
{
	enum { N = 200 };
	int fds[N];
	uint16_t ports[N];
	for (int i = 0; i < N; i++)
		fds[i] = tcp_listener(i % 2 ? "::" : "127.0.0.1", &ports[i]);
	struct axdp_socket_set s = dump();
	cr_assert_geq(s.n, N);
	for (int i = 0; i < N; i++)
		cr_assert_not_null(find(&s, IPPROTO_TCP, ports[i]), "port %u missing", ports[i]);
	axdp_socket_set_free(&s);
	for (int i = 0; i < N; i++)
		close(fds[i]);
}

Test(listeners, unique_and_contains)
{
	uint16_t port;
	int one = 1;
	int a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	cr_assert_eq(setsockopt(a, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	cr_assert_eq(setsockopt(b, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	cr_assert_eq(bind(a, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(a, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	cr_assert_eq(bind(b, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(a, 4), 0);
	cr_assert_eq(listen(b, 4), 0);

	struct axdp_socket_set s = dump();
	cr_assert_eq(count_port(&s, port), 2);
	size_t before = s.n;
	cr_assert_eq(axdp_socket_set_unique(&s), before - 1);
	cr_assert_eq(count_port(&s, port), 1);
	uint8_t lo[16], other[16];
	addr16("127.0.0.1", lo);
	addr16("127.0.0.2", other);
	cr_assert(axdp_socket_set_contains(&s, IPPROTO_TCP, port, lo));
	cr_assert_not(axdp_socket_set_contains(&s, IPPROTO_UDP, port, lo));
	cr_assert_not(axdp_socket_set_contains(&s, IPPROTO_TCP, port, other));
	axdp_socket_set_free(&s);
	cr_assert_not(axdp_socket_set_contains(&s, IPPROTO_TCP, port, lo));
	close(a);
	close(b);
}

Test(listeners, process_name_of_own_socket)
{
	uint16_t port;
	int fd = tcp_listener("127.0.0.1", &port);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);

	char self[64] = "";
	FILE *f = fopen("/proc/self/comm", "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(self, sizeof(self), f));
	fclose(f);
	self[strcspn(self, "\n")] = '\0';

	char comm[64] = "";
	cr_assert_eq(axdp_socket_process_name(st.st_ino, comm, sizeof(comm)), 0);
	cr_assert_str_eq(comm, self);

	char tiny[4];
	cr_assert_eq(axdp_socket_process_name(st.st_ino, tiny, sizeof(tiny)), 0);
	cr_assert_eq(strlen(tiny), 3);
	close(fd);

	errno = 0;
	cr_assert_eq(axdp_socket_process_name(UINT64_MAX, comm, sizeof(comm)), -1);
	cr_assert_eq(errno, ENOENT);
}

Test(listeners, fresh_netns_is_empty_and_dump_appends)
{
	struct axdp_socket_set s = dump();
	cr_assert_eq(s.n, 0, "test netns should start with no sockets");
	cr_assert_eq(axdp_socket_set_unique(&s), 0);
	uint16_t port;
	int fd = bound(SOCK_DGRAM, "::", &port);
	char err[128];
	cr_assert_eq(axdp_listeners_dump(&s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(axdp_listeners_dump(&s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.n, 2, "second dump appends");
	cr_assert_eq(axdp_socket_set_unique(&s), 1);
	axdp_socket_set_free(&s);
	close(fd);
}

/* An IPv6 socket with IPV6_V6ONLY, bound to [::]:0. */
static int v6only_socket(int type, uint16_t *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	socklen_t sl = sizeof(sa);
	int one = 1, fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	cr_assert_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sl), 0, "bind [::]:0: %s", strerror(errno));
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin6_port);
	return fd;
}

/* A wildcard listener opens the families its socket receives: IPV6_V6ONLY comes from INET_DIAG_SKV6ONLY. */
Test(listeners, wildcards_by_family)
{
	uint16_t tcp6only, udp6only, dual, v4, mapped;
	int fds[] = {
		v6only_socket(SOCK_STREAM, &tcp6only), v6only_socket(SOCK_DGRAM, &udp6only),
		tcp_listener("::", &dual), tcp_listener("0.0.0.0", &v4), bound(SOCK_DGRAM, "::ffff:0.0.0.0", &mapped),
	};
	struct axdp_socket_set s;
	const struct axdp_socket *l;

	cr_assert_eq(listen(fds[0], 16), 0);
	s = dump();
	cr_assert_not_null(l = find(&s, IPPROTO_TCP, tcp6only));
	cr_expect(l->wildcard && l->v6only, "TCP [::] with IPV6_V6ONLY: wildcard %d, v6only %d", l->wildcard, l->v6only);
	cr_expect_eq(axdp_socket_wildcard_bit(l), AXDP_PORT_OPEN_ANY6);
	cr_assert_not_null(l = find(&s, IPPROTO_UDP, udp6only));
	cr_expect(l->wildcard && l->v6only, "UDP [::] with IPV6_V6ONLY: wildcard %d, v6only %d", l->wildcard, l->v6only);
	cr_expect_eq(axdp_socket_wildcard_bit(l), AXDP_PORT_OPEN_ANY6);
	cr_assert_not_null(l = find(&s, IPPROTO_TCP, dual));
	cr_expect(l->wildcard && !l->v6only);
	cr_expect_eq(axdp_socket_wildcard_bit(l), AXDP_PORT_OPEN_ANY);
	cr_assert_not_null(l = find(&s, IPPROTO_TCP, v4));
	cr_expect(l->wildcard && !l->v6only);
	cr_expect_eq(axdp_socket_wildcard_bit(l), AXDP_PORT_OPEN_ANY4);
	cr_assert_not_null(l = find(&s, IPPROTO_UDP, mapped));
	cr_expect(l->wildcard && l->family == AF_INET6, "UDP [::ffff:0.0.0.0]: wildcard %d, family %d", l->wildcard,
		  l->family);
	cr_expect_eq(axdp_socket_wildcard_bit(l), AXDP_PORT_OPEN_ANY4);
	axdp_socket_set_free(&s);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
}
