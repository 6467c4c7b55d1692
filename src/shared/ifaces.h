/* SPDX-License-Identifier: MIT */
/* Which interfaces to protect, and news of interfaces coming and going. */
#ifndef AXDP_IFACES_H
#define AXDP_IFACES_H

#include <net/if.h>
#include <stddef.h>

#define AXDP_MAX_IFACES 32

struct axdp_iface_list {
	char name[AXDP_MAX_IFACES][IF_NAMESIZE];
	int n;
};

/* The interfaces of the default IPv4 and IPv6 routes (the internet-facing ones). */
int axdp_default_route_ifaces(struct axdp_iface_list *out, char *err, size_t errlen);

/*
 * One recv() of an RTM_GETROUTE dump, len bytes: the interfaces of the
 * default routes in it added to out.  0: the dump goes on; 1: it is done;
 * -1 with errno from an NLMSG_ERROR.  Apart so a fuzzer can feed it bytes.
 */
int axdp_route_reply_parse(const void *buf, size_t len, struct axdp_iface_list *out);

/* A netlink socket subscribed to link, route and address changes; readable when one happened. */
int axdp_link_monitor_open(char *err, size_t errlen);

/* Drains the monitor socket; returns 1 if a link, route or address appeared, vanished or changed, 0 if not, -1 on error. */
int axdp_link_monitor_drain(int fd);

#endif
