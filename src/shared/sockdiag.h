/* SPDX-License-Identifier: MIT */
#ifndef AXDP_SOCKDIAG_H
#define AXDP_SOCKDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One socket as seen by NETLINK_SOCK_DIAG in the caller's netns. */
struct axdp_socket {
	uint8_t proto;        /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family;       /* AF_INET or AF_INET6: the socket's own family */
	bool wildcard;        /* bound to 0.0.0.0, ::ffff:0.0.0.0 or :: */
	bool v6only;          /* AF_INET6 with IPV6_V6ONLY: receives no IPv4 */
	uint16_t port;        /* local port, host byte order */
	uint8_t addr[16];     /* network order; AF_INET stored as ::ffff:a.b.c.d */
	uint64_t inode;       /* socket inode, matches /proc/PID/fd "socket:[N]" */
	uint64_t cookie;      /* matches getsockopt(SO_COOKIE) */
	uint16_t remote_port; /* connections only: the peer, host byte order */
	uint8_t remote[16];   /* connections only: the peer, as addr */
};

struct axdp_socket_set {
	struct axdp_socket *v;
	size_t n, cap;
};

/*
 * Appends every TCP LISTEN socket and every bound, unconnected UDP socket
 * (IPv4 and IPv6) to *out, which must be zeroed or previously used.
 * Returns 0, or -1 with errno set and a message in err (may be NULL).
 * On failure *out keeps whatever it held before the call.
 */
int axdp_listeners_dump(struct axdp_socket_set *out, char *err, size_t errlen);

/*
 * Appends the host's connections: TCP sockets past the handshake or in
 * it, and connected UDP sockets, both families.  The daemon seeds them
 * into conntrack at start so no session stalls.  Same contract as above.
 */
int axdp_connections_dump(struct axdp_socket_set *out, char *err, size_t errlen);

void axdp_socket_set_free(struct axdp_socket_set *s);

/* The port_allow bit a wildcard listener sets (axdp_wildcard_bit), 0 for one bound to an address. */
uint32_t axdp_socket_wildcard_bit(const struct axdp_socket *s);

/*
 * One recvmsg() of a NETLINK_SOCK_DIAG dump of proto, len bytes: the
 * sockets in messages of seq appended to out (listening: only what serves
 * a port).  As axdp_nl_parse: 0: the dump goes on; 1: it is done; -1 with
 * errno (EINTR: the kernel flagged it inconsistent).  Apart from the dump
 * itself so a fuzzer can feed it bytes.
 */
int axdp_sockdiag_parse(const void *buf, size_t len, uint32_t seq, uint8_t proto, bool listening,
			struct axdp_socket_set *out);

/*
 * Sorts by key (proto, port, addr) and drops entries with an equal
 * key (e.g. SO_REUSEPORT groups); the first entry's inode/cookie survive.
 * Returns the new count.
 */
size_t axdp_socket_set_unique(struct axdp_socket_set *s);

/* Exact key lookup; the set must have gone through axdp_socket_set_unique. */
bool axdp_socket_set_contains(const struct axdp_socket_set *s, uint8_t proto, uint16_t port, const uint8_t addr[16]);

/*
 * Finds a process holding socket inode and copies its comm into comm.
 * Slow (scans /proc/<pid>/fd); meant for log messages only.
 * Returns 0, or -1 with errno (ENOENT when no visible process holds it).
 */
int axdp_socket_process_name(uint64_t inode, char *comm, size_t len);

/* A socket some process holds, as axdp_proc_sockets() finds it. */
struct axdp_proc_socket {
	uint64_t inode;
	const char *pid; /* the process's directory in /proc */
	int proc_fd;     /* /proc */
	char comm[16];   /* read by axdp_proc_socket_comm(), once per process */
};

enum axdp_proc_walk {
	AXDP_PROC_NEXT_FD,
	AXDP_PROC_NEXT_PROCESS,
	AXDP_PROC_STOP,
};

/*
 * fn for every socket of every process, in one pass over /proc/PID/fd
 * however many sockets a caller looks for.  Best effort: processes come
 * and go, and those of other users are skipped once privileges are
 * dropped.
 */
void axdp_proc_sockets(enum axdp_proc_walk (*fn)(void *ctx, struct axdp_proc_socket *s), void *ctx);

/* The holding process's command name; NULL when the process is gone. */
const char *axdp_proc_socket_comm(struct axdp_proc_socket *s);

#endif
