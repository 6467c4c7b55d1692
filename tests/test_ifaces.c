// SPDX-License-Identifier: MIT
/*
 * Which interfaces the daemon protects without Interfaces=: those of the
 * default routes, read by an rtnetlink dump (netlink.c), IPv4 and IPv6,
 * multipath next hops included; and the link monitor that wakes it when a
 * route comes or goes.  In a throwaway namespace, against the kernel's own
 * route table.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "crit_suite.h"
#include "ifaces.h"
#include "netns.h"
#include "run.h"

static struct netns_pair ns;

static void setup(void)
{
	char err[512];

	cr_assert_eq(netns_pair_create(&ns, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	char err[512];

	netns_pair_destroy(&ns, err, sizeof(err));
}

CRIT_SUITE(ifaces, 60, setup, teardown);

/* `ip ARGS...` in the server's namespace; fails the test if ip does. */
static void ip(const char *const *args)
{
	const char *argv[16] = { "ip" };
	char err[512] = "";
	struct run r = { 0 };
	int n = 1, rc;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	rc = run_sync(&r, ns.name[NETNS_SERVER], argv, "/tmp", 10000, err, sizeof(err));
	cr_assert_eq(rc, 0, "ip %s %s: %s %s", argv[1], argv[2], err, r.err ? r.err : "");
	run_free(&r);
}

struct dump {
	struct axdp_iface_list list;
	char err[256];
	int rc;
};

static int dump_here(void *arg)
{
	struct dump *d = arg;

	d->rc = axdp_default_route_ifaces(&d->list, d->err, sizeof(d->err));
	return 0;
}

static struct dump dump(void)
{
	struct dump d = { .rc = -1 };
	char err[256];

	cr_assert_eq(netns_call(ns.name[NETNS_SERVER], dump_here, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.rc, 0, "%s", d.err);
	return d;
}

static bool listed(const struct dump *d, const char *name)
{
	for (int i = 0; i < d->list.n; i++)
		if (!strcmp(d->list.name[i], name))
			return true;
	return false;
}

Test(ifaces, default_routes_of_both_families_name_their_interface_once)
{
	struct dump d = dump();

	cr_expect_eq(d.list.n, 0, "no default route yet, and %d interfaces", d.list.n);
	ip((const char *const[]){ "route", "add", "default", "via", ns.ip4[NETNS_CLIENT], NULL });
	d = dump();
	cr_expect(d.list.n == 1 && listed(&d, ns.ifname[NETNS_SERVER]), "IPv4 default route: %d interfaces", d.list.n);
	ip((const char *const[]){ "-6", "route", "add", "default", "via", ns.ip6[NETNS_CLIENT], NULL });
	d = dump();
	cr_expect(d.list.n == 1 && listed(&d, ns.ifname[NETNS_SERVER]), "both families: %d interfaces", d.list.n);
}

Test(ifaces, a_multipath_default_route_names_every_next_hop)
{
	struct dump d;

	/* A second link, both ends in the namespace: veth, as the pair is (dummy may not be built). */
	ip((const char *const[]){ "link", "add", "axdp-hop", "type", "veth", "peer", "name", "axdp-hop-peer", NULL });
	ip((const char *const[]){ "link", "set", "axdp-hop", "up", NULL });
	ip((const char *const[]){ "link", "set", "axdp-hop-peer", "up", NULL });
	ip((const char *const[]){ "addr", "add", "192.0.2.1/24", "dev", "axdp-hop", NULL });
	ip((const char *const[]){ "route", "add", "default", "nexthop", "via", ns.ip4[NETNS_CLIENT], "nexthop", "via",
				  "192.0.2.2", NULL });
	d = dump();
	cr_expect(d.list.n == 2 && listed(&d, ns.ifname[NETNS_SERVER]) && listed(&d, "axdp-hop"),
		  "multipath over %s and axdp-hop: %d interfaces", ns.ifname[NETNS_SERVER], d.list.n);
}

static int monitor_here(void *arg)
{
	char *err = arg;

	return axdp_link_monitor_open(err, 256);
}

Test(ifaces, the_link_monitor_reports_a_new_route)
{
	char err[256], why[256] = "";
	struct pollfd pfd = { .events = POLLIN };
	int changed = 0;

	pfd.fd = netns_call(ns.name[NETNS_SERVER], monitor_here, why, err, sizeof(err));
	cr_assert_geq(pfd.fd, 0, "%s %s", err, why);
	cr_expect_eq(axdp_link_monitor_drain(pfd.fd), 0, "a change reported before any happened");
	ip((const char *const[]){ "route", "add", "default", "via", ns.ip4[NETNS_CLIENT], NULL });
	/* A hang limit of 10 s: the message comes at once, but a loaded machine may stall this process. */
	for (int i = 0; i < 100 && !changed; i++) {
		cr_assert_geq(poll(&pfd, 1, 100), 0, "poll: %s", strerror(errno));
		changed = axdp_link_monitor_drain(pfd.fd);
		cr_assert_geq(changed, 0, "reading the link monitor: %s", strerror(errno));
	}
	cr_expect_eq(changed, 1, "no route change reported within 10 s of 'ip route add default'");
	close(pfd.fd);
}
