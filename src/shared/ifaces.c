// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "errbuf.h"
#include "ifaces.h"
#include "netlink.h"

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
static int collect_route(const struct nlmsghdr *h, void *data)
{
	struct axdp_iface_list *l = data;
	const struct rtmsg *rt = mnl_nlmsg_get_payload(h);
	const struct nlattr *a;

	if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < mnl_nlmsg_size(sizeof(*rt)) || rt->rtm_dst_len != 0 ||
	    rt->rtm_table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	mnl_attr_for_each(a, h, sizeof(*rt))
	{
		if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_get_payload_len(a) >= sizeof(int)) {
			add_unique(l, (int)mnl_attr_get_u32(a));
		} else if (mnl_attr_get_type(a) == RTA_MULTIPATH) {
			const struct rtnexthop *nh = mnl_attr_get_payload(a);
			int left = mnl_attr_get_payload_len(a);

			for (; left >= (int)sizeof(*nh) && RTNH_OK(nh, left);
			     left -= NLMSG_ALIGN(nh->rtnh_len), nh = RTNH_NEXT(nh))
				add_unique(l, nh->rtnh_ifindex);
		}
	}
	return MNL_CB_OK;
}

int axdp_route_reply_parse(const void *buf, size_t len, struct axdp_iface_list *out)
{
	return axdp_nl_parse(buf, len, 0, 0, collect_route, out);
}

static int dump_routes(struct mnl_socket *nl, int family, struct axdp_iface_list *out, const char **what)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETROUTE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.rt = { .rtm_family = family },
	};
	int rc, tries = 0;

	/* An interrupted pass's interfaces were default routes a moment ago: keep them, add the next pass's. */
	while ((rc = axdp_nl_request(nl, &req.nh, collect_route, out, what)) == 1 && ++tries < AXDP_NL_DUMP_TRIES)
		;
	if (rc == 1) {
		*what = "dump (kept changing underneath)";
		errno = EAGAIN;
		return -1;
	}
	return rc;
}

int axdp_default_route_ifaces(struct axdp_iface_list *out, char *err, size_t errlen)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	const char *what = "socket";
	int rc = -1;

	out->n = 0;
	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == 0 && dump_routes(nl, AF_INET, out, &what) == 0 &&
	    dump_routes(nl, AF_INET6, out, &what) == 0)
		rc = 0;
	if (rc)
		snprintf(err, errlen, "reading the default routes (rtnetlink %s): %s", what, strerror(errno));
	if (nl)
		mnl_socket_close(nl);
	return rc;
}

int axdp_link_monitor_open(char *err, size_t errlen)
{
	/*
	 * Routes too: a default route often arrives (DHCP, RA) after its link came up.
	 * Addresses: the data path drops the host's own addresses as sources.
	 */
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE |
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

static int note_change(const struct nlmsghdr *h, void *data)
{
	bool *changed = data;

	*changed |= h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK || h->nlmsg_type == RTM_NEWADDR ||
		    h->nlmsg_type == RTM_DELADDR || h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE;
	return MNL_CB_OK;
}

int axdp_link_monitor_drain(int fd)
{
	bool changed = false;
	/* 1 on an overrun too: it lost messages we cannot name, so assume a change and resync. */
	int rc = axdp_nl_drain(fd, note_change, &changed);

	return rc ? rc : changed;
}
