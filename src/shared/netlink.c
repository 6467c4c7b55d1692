// SPDX-License-Identifier: MIT
#include "netlink.h"
#include "errbuf.h"

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <string.h>
#include <sys/socket.h>

/* The kernel caps a dump skb at 32 KiB (netlink max_recvmsg_len), so a reply never truncates. */
#define RECV_BUF (32 * 1024)

/*
 * One datagram from the kernel into buf: its length, or -1 with errno
 * (EMSGSIZE: truncated; EPROTO: end of file).  Datagrams another process
 * sent to our port are skipped: only the kernel answers or notifies.
 */
static ssize_t recv_from_kernel(int fd, void *buf, size_t len, const char **what)
{
	for (;;) {
		struct sockaddr_nl from = { .nl_family = AF_NETLINK };
		struct iovec iov = { buf, len };
		struct msghdr msg = {
			.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1
		};
		ssize_t n = recvmsg(fd, &msg, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*what = "recvmsg";
			return -1;
		}
		if (msg.msg_flags & MSG_TRUNC) {
			*what = "recvmsg (reply truncated)";
			errno = EMSGSIZE;
			return -1;
		}
		if (n == 0) {
			*what = "recvmsg (unexpected EOF)";
			errno = EPROTO;
			return -1;
		}
		if (from.nl_pid == 0)
			return n;
	}
}

/*
 * How many bytes of buf hold whole messages, each padded to its alignment.  libmnl trusts nlmsg_len: one
 * above INT_MAX passes its check and sends the walk astray, and its attribute walk reads up to the aligned
 * end.  The kernel's messages are always whole and aligned (nlmsg_end); bytes from elsewhere may not be.
 */
static int well_formed(const void *buf, size_t len)
{
	size_t off = 0;

	len = len > INT_MAX ? INT_MAX : len;
	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *h = (const void *)((const char *)buf + off);

		/* The first test keeps MNL_ALIGN from wrapping around. */
		if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - off || MNL_ALIGN(h->nlmsg_len) > len - off)
			break;
		off += MNL_ALIGN(h->nlmsg_len);
	}
	return (int)off;
}

/* NLMSG_ERROR: an ack ends a request; anything else is the kernel's -errno (EPROTO if it is not one). */
static int error_message(const struct nlmsghdr *h, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

	(void)data;
	if (h->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	errno = axdp_netlink_errno(e->error);
	return MNL_CB_ERROR;
}

/* NLMSG_DONE ends a dump; a dump that failed half-way says so in its status. */
static int done_message(const struct nlmsghdr *h, void *data)
{
	int status = 0;

	(void)data;
	if (h->nlmsg_len >= mnl_nlmsg_size(sizeof(status)))
		memcpy(&status, mnl_nlmsg_get_payload(h), sizeof(status));
	if (status < 0) {
		errno = axdp_netlink_errno(status);
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

int axdp_nl_parse(const void *buf, size_t len, uint32_t seq, uint32_t portid, mnl_cb_t cb, void *data)
{
	static mnl_cb_t control[NLMSG_MIN_TYPE] = {
		/* not const: libmnl takes a plain pointer */
		[NLMSG_ERROR] = error_message,
		[NLMSG_DONE] = done_message,
	};
	int rc = mnl_cb_run2(buf, well_formed(buf, len), seq, portid, cb, data, control, NLMSG_MIN_TYPE);

	return rc == MNL_CB_STOP ? 1 : rc == MNL_CB_OK ? 0 : -1;
}

/* Throws away the rest of an abandoned reply to seq, up to its NLMSG_DONE or NLMSG_ERROR. */
static int skip_reply(int fd, void *buf, size_t len, uint32_t seq, const char **what)
{
	for (;;) {
		ssize_t n = recv_from_kernel(fd, buf, len, what);
		int left;

		if (n < 0)
			return -1;
		left = well_formed(buf, (size_t)n);
		for (const struct nlmsghdr *h = (const void *)buf; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
			if (h->nlmsg_seq == seq && (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR))
				return 0;
	}
}

int axdp_nl_request(struct mnl_socket *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, const char **what)
{
	static uint32_t last_seq; /* callers may be threads of their own, each with its socket */
	alignas(struct nlmsghdr) char buf[RECV_BUF];
	int fd = mnl_socket_get_fd(nl);
	ssize_t n;
	int rc;

	req->nlmsg_seq = __atomic_add_fetch(&last_seq, 1, __ATOMIC_RELAXED);
	do
		n = mnl_socket_sendto(nl, req, req->nlmsg_len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		*what = "sendto";
		return -1;
	}
	do {
		if ((n = recv_from_kernel(fd, buf, sizeof(buf), what)) < 0)
			return -1;
		rc = axdp_nl_parse(buf, (size_t)n, req->nlmsg_seq, mnl_socket_get_portid(nl), cb, data);
	} while (rc == 0);
	if (rc < 0 && errno == EINTR)
		return skip_reply(fd, buf, sizeof(buf), req->nlmsg_seq, what) < 0 ? -1 : 1;
	if (rc < 0)
		*what = "reply";
	return rc < 0 ? -1 : 0;
}

int axdp_nl_drain(int fd, mnl_cb_t cb, void *data)
{
	alignas(struct nlmsghdr) char buf[RECV_BUF];
	const char *what;

	for (;;) {
		ssize_t n = recv_from_kernel(fd, buf, sizeof(buf), &what);
		int left;

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno == ENOBUFS ? 1 : -1;
		left = well_formed(buf, (size_t)n);
		for (const struct nlmsghdr *h = (const void *)buf; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
			if (cb(h, data) == MNL_CB_ERROR)
				return -1;
	}
}
