/* SPDX-License-Identifier: MIT */
/*
 * Socket steps that tests and benchmarks take over and over, with the
 * waiting bounded: a firewall that drops shows as silence, and a test
 * must tell silence from an answer within its own time limit.
 *
 * Free of any test framework: each returns what went wrong and the
 * caller decides whether that fails a test.
 */
#ifndef AXDP_TEST_SOCK_H
#define AXDP_TEST_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Numeric addr and port (host order) as a sockaddr of family af; 0 when addr is no address of af. */
socklen_t tsock_addr(int af, const char *addr, uint16_t port, struct sockaddr_storage *ss);

/* SO_RCVTIMEO and SO_SNDTIMEO: a send or receive that would block longer fails instead. */
int tsock_timeouts(int fd, int ms);

/* The port fd is bound to (host order), or -1 with errno. */
int tsock_local_port(int fd);

/* SO_REUSEADDR, bind to ss, and listen with backlog unless it is 0 (datagram sockets). */
int tsock_bind(int fd, const struct sockaddr_storage *ss, socklen_t len, int backlog);

/*
 * Connects fd to ss, waiting at most ms: 0 when connected, else the
 * errno, ETIMEDOUT when nothing answered at all.  fd's flags are kept.
 */
int tsock_connect_within(int fd, const struct sockaddr_storage *ss, socklen_t len, int ms);

/* One datagram within ms into buf, its sender into from (may be NULL); false if none came. */
bool tsock_datagram_within(int fd, void *buf, size_t cap, ssize_t *len, struct sockaddr_storage *from, int ms);

#endif
