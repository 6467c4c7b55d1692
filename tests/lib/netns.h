/* SPDX-License-Identifier: MIT */
/*
 * Two throwaway network namespaces joined by a veth pair, a server side
 * and a client side, so tests and benchmarks send real traffic through
 * the data path without ever touching the host's interfaces.
 *
 * Sockets keep the namespace they were created in: one process creates
 * the server's socket in one namespace and the client's in the other and
 * then drives both.  Namespaces are switched per thread with setns(), so
 * bpffs pins stay visible (unlike `ip netns exec`, which remounts /sys).
 *
 * Free of any test framework: the benchmark links this file too.
 */
#ifndef AXDP_TEST_NETNS_H
#define AXDP_TEST_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define NETNS_NAME_MAX 40

enum netns_side {
	NETNS_SERVER,
	NETNS_CLIENT,
};

struct netns_pair {
	char name[2][NETNS_NAME_MAX];   /* by enum netns_side: axdp-srv-PID-N, axdp-cli-PID-N */
	char ifname[2][IF_NAMESIZE];    /* the veth end inside each namespace */
	int ifindex[2];
	unsigned subnet;                /* X of 10.200.X.0/24 and fd00:200:X::/64 */
	char ip4[2][INET_ADDRSTRLEN];   /* 10.200.X.1 server, .2 client */
	char ip6[2][INET6_ADDRSTRLEN];  /* fd00:200:X::1 server, ::2 client */
	bool created[2];
};

/*
 * Both namespaces, lo up in each, the veth pair (MTU 1500, as native XDP
 * on veth needs) up with both address families; IPv6 without DAD, so
 * the addresses are usable at once.  On failure whatever was made is
 * removed again and err says which step failed.
 */
int netns_pair_create(struct netns_pair *p, char *err, size_t errlen);

/* Deletes both namespaces, and with them the veth.  Safe to call twice. */
int netns_pair_destroy(struct netns_pair *p, char *err, size_t errlen);

/* Namespaces of this naming scheme whose creating process is gone: left by a crash or a timeout. */
void netns_remove_stale(void);

/* Does /run/netns/NAME exist? */
bool netns_exists(const char *name);

/* Is the process that created a resource tagged with pid still running? */
bool netns_pid_alive(long pid);

/* The calling thread's network namespace, as an fd for netns_return(). */
int netns_current(char *err, size_t errlen);
/* Back into the namespace of fd, and close it. */
int netns_return(int fd, char *err, size_t errlen);
/* The calling thread moves into the named namespace (/run/netns/NAME). */
int netns_enter(const char *name, char *err, size_t errlen);

/* A socket created inside the named namespace; the calling thread stays where it was. */
int netns_socket(const char *name, int domain, int type, int protocol, char *err, size_t errlen);

/* fn(arg) run inside the named namespace; its return value, or -1 if switching failed. */
int netns_call(const char *name, int (*fn)(void *arg), void *arg, char *err, size_t errlen);

/* The address of one side in family (AF_INET or AF_INET6) with port (host order). */
socklen_t netns_sockaddr(const struct netns_pair *p, enum netns_side side, int family, uint16_t port,
			 struct sockaddr_storage *ss);

#endif
