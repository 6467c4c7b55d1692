// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdalign.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "errbuf.h"
#include "ifaces.h"

static void add_unique(struct axdp_iface_list *l, int ifindex)
{
	char name[IF_NAMESIZE];

	if (ifindex <= 1 || !if_indextoname(ifindex, name))
		return;
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->name[i], name) == 0)
			return;
	if (l->n < AXDP_MAX_IFACES)
		snprintf(l->name[l->n++], IF_NAMESIZE, "%s", name);
}

/*
 * Every output interface of a default route, multipath routes' next hops included.  Lengths are checked
 * before each read: the kernel's messages always pass, a short or corrupt one is ignored.
 */
static void collect_route(struct axdp_iface_list *l, const struct nlmsghdr *h)
{
	struct rtmsg *rt = NLMSG_DATA(h);
	int len = RTM_PAYLOAD(h);

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)) || rt->rtm_dst_len != 0 || rt->rtm_table != RT_TABLE_MAIN ||
	    rt->rtm_type != RTN_UNICAST)
		return;
	for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(int)) {
			add_unique(l, *(int *)RTA_DATA(a));
		} else if (a->rta_type == RTA_MULTIPATH) {
			struct rtnexthop *nh = RTA_DATA(a);
			int left = RTA_PAYLOAD(a);

			for (; left >= (int)sizeof(*nh) && RTNH_OK(nh, left);
			     left -= NLMSG_ALIGN(nh->rtnh_len), nh = RTNH_NEXT(nh))
				add_unique(l, nh->rtnh_ifindex);
		}
	}
}

int axdp_route_reply_parse(const void *buf, size_t len, struct axdp_iface_list *out)
{
	long n = len > INT_MAX ? INT_MAX : (long)len;

	for (const struct nlmsghdr *h = buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			errno = h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) ? EPROTO : axdp_netlink_errno(e->error);
			return -1;
		}
		if (h->nlmsg_type == RTM_NEWROUTE)
			collect_route(out, h);
	}
	return 0;
}

static int dump_routes(int fd, int family, struct axdp_iface_list *out)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETROUTE, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = family },
		.rt = { .rtm_family = family },
	};
	alignas(struct nlmsghdr) char buf[32768];

	if (send(fd, &req, sizeof(req), 0) < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		int rc = axdp_route_reply_parse(buf, (size_t)n, out);

		if (rc)
			return rc < 0 ? -1 : 0;
	}
}

int axdp_default_route_ifaces(struct axdp_iface_list *out, char *err, size_t errlen)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int rc = -1;

	out->n = 0;
	if (fd >= 0 && dump_routes(fd, AF_INET, out) == 0 && dump_routes(fd, AF_INET6, out) == 0)
		rc = 0;
	if (rc)
		snprintf(err, errlen, "reading the default routes (rtnetlink): %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

int axdp_link_monitor_open(char *err, size_t errlen)
{
	/*
	 * Routes too: a default route often arrives (DHCP, RA) after its link came up.
	 * Addresses: the data path drops the host's own addresses as sources.
	 */
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE |
									 RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "subscribing to link changes (rtnetlink): %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int axdp_link_monitor_drain(int fd)
{
	alignas(struct nlmsghdr) char buf[16384];
	bool changed = false;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return changed;
		/* An overrun lost messages we cannot name: assume a change and resync. */
		if (n < 0 && errno == ENOBUFS)
			return 1;
		if (n <= 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
			changed |= h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK ||
				   h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR ||
				   h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE;
	}
}
