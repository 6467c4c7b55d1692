/* SPDX-License-Identifier: MIT */
/*
 * Netlink request/reply and subscriptions, on libmnl: the one place that
 * receives from a netlink socket, so every reader gets the same checks
 * (only the kernel may send, a truncated datagram is an error, a reply
 * must carry the request's sequence number and our port id).
 */
#ifndef AXDP_NETLINK_H
#define AXDP_NETLINK_H

#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

/*
 * One receive's worth of a reply to request seq on port portid (0: either
 * unchecked, as a fuzzer feeds it): each data message to cb, which returns
 * MNL_CB_OK to go on or MNL_CB_ERROR with errno.  1: the reply is complete
 * (NLMSG_DONE, or an ack); 0: more to come; -1 with errno: the kernel's
 * error (an NLMSG_ERROR, or an NLMSG_DONE carrying one), EINTR when the
 * kernel flagged the dump inconsistent, EPROTO or ESRCH for a message of
 * another request or port, or cb's own.
 */
int axdp_nl_parse(const void *buf, size_t len, uint32_t seq, uint32_t portid, mnl_cb_t cb, void *data);

/* A dump walks live tables; one flagged inconsistent is rare and asking again is cheap, this often. */
#define AXDP_NL_DUMP_TRIES 3

/*
 * Sends req (a dump or a request with NLM_F_ACK; its sequence number is set
 * here) on nl and feeds the reply through cb until it ends.  0: done; 1: the
 * kernel flagged the dump inconsistent (the rest of it drained: ask again);
 * -1 with errno and *what naming the step that failed (the socket may still
 * hold the rest of the reply: close it).
 */
int axdp_nl_request(struct mnl_socket *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, const char **what);

/*
 * Reads what a non-blocking socket subscribed to multicast groups holds,
 * each message to cb (control messages too: the process connector sends
 * its events as NLMSG_DONE).  0 when it is empty; 1 when the kernel
 * dropped messages because the socket overran (ENOBUFS: whatever they said
 * is unknown); -1 with errno.
 */
int axdp_nl_drain(int fd, mnl_cb_t cb, void *data);

#endif
