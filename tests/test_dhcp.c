// SPDX-License-Identifier: MIT
/*
 * A DHCP client on the protected side of a veth pair, its server on the
 * other, the real daemon's XDP program in between (AllowDHCPClient=, the
 * default): the real clients (busybox udhcpc, ISC dhclient) get a lease,
 * renew it, and rebind it when the server does not answer the renewal.
 * Clients acquiring or rebinding a lease receive on packet sockets and
 * bind nothing to port 68, so without the exception every OFFER and ACK
 * meets a closed port.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "autoxdp_abi.h"
#include "crit_fixture.h"
#include "crit_suite.h"
#include "daemon.h"
#include "netns.h"
#include "nft.h"
#include "run.h"
#include "timing.h"

#define SERVER NETNS_SERVER   /* the protected host: the DHCP client runs here */
#define CLIENT NETNS_CLIENT   /* the other end of the link: the DHCP server */

#define READY_MS 10000
/* The first discovers can go out before the link carries them; these only bound a failure. */
#define LEASE_MS 30000
#define RENEW_MS 15000
/* dhclient renews by itself at half the lease (T1). */
#define LEASE_S 20
#define NATURAL_RENEW_MS ((LEASE_S + 20) * 1000)

static struct {
	struct netns_pair ns;
	struct axdpd d;
	char events[AXDPD_PATH + 16];   /* one line per client script call: "EVENT ADDRESS" */
	char script[AXDPD_PATH + 16];
	struct run server;
} fx;

CRIT_AFTER_ALL(axdpd_fixture_remove_stale())

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	cr_assert(f && fputs(text, f) >= 0 && fclose(f) == 0, "writing %s: %s", path, strerror(errno));
	cr_assert(chmod(path, mode) == 0, "chmod %s: %s", path, strerror(errno));
}

static void teardown(void)
{
	char err[512];

	if (fx.server.pid > 0) {
		kill(fx.server.pid, SIGTERM);
		run_wait(&fx.server, 3000, err, sizeof(err));
	}
	run_free(&fx.server);
	cr_expect(axdpd_fixture_teardown(&fx.ns, &fx.d, err, sizeof(err)) == 0, "teardown: %s", err);
}

/* The configuration under test is the default one: an empty file. */
static void setup(void)
{
	char err[1024];

	memset(&fx, 0, sizeof(fx));
	if (axdpd_fixture_setup(&fx.ns, &fx.d, "", err, sizeof(err)))
		cr_assert_fail("setup: %s", err);
	if (axdpd_start(&fx.d, READY_MS)) {
		snprintf(err, sizeof(err), "%s", fx.d.err);
		teardown();
		cr_assert_fail("setup: starting autoxdpd in %s: %s", fx.ns.name[SERVER], err);
	}
	snprintf(fx.events, sizeof(fx.events), "%s/dhcp-events", fx.d.dir);
	snprintf(fx.script, sizeof(fx.script), "%s/dhcp-script", fx.d.dir);
}

CRIT_SUITE(dhcp, 180, setup, teardown);

/*
 * The clients' hook, for both: udhcpc passes the event as $1 and the
 * address as $ip, dhclient sets $reason and $new_ip_address.  It
 * configures the address, as a client's own script would, so that a
 * renewal can be sent from it and its ACK delivered to it.
 */
static void write_script(void)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "event=${1:-$reason} address=${ip:-$new_ip_address}\n"
		 "echo \"$event $address\" >> '%s'\n"
		 "case $event in\n"
		 "bound|renew|BOUND|RENEW|REBIND|REBOOT) ip addr replace \"$address/24\" dev \"$interface\" ;;\n"
		 "esac\n"
		 "exit 0\n",
		 fx.events);
	write_file(fx.script, text, 0755);
}

/* busybox udhcpd on the far end, leases of LEASE_S seconds from .100 to .110 of the link's /24. */
static void start_server(void)
{
	char conf[AXDPD_PATH + 16], leases[AXDPD_PATH + 16], pid[AXDPD_PATH + 16], text[1024], err[512];
	const char *argv[] = { "busybox", "udhcpd", "-f", conf, NULL };
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/udhcpd.conf", fx.d.dir);
	snprintf(leases, sizeof(leases), "%s/udhcpd.leases", fx.d.dir);
	snprintf(pid, sizeof(pid), "%s/udhcpd.pid", fx.d.dir);
	snprintf(text, sizeof(text),
		 "start 10.200.%u.100\nend 10.200.%u.110\ninterface %s\nlease_file %s\npidfile %s\n"
		 "min_lease 5\noption subnet 255.255.255.0\noption lease %d\n",
		 fx.ns.subnet, fx.ns.subnet, fx.ns.ifname[CLIENT], leases, pid, LEASE_S);
	write_file(conf, text, 0644);
	/* udhcpd keeps its leases across a restart only in this file, and needs it to exist. */
	f = fopen(leases, "a");
	cr_assert(f && fclose(f) == 0, "creating %s: %s", leases, strerror(errno));
	cr_assert(run_start(&fx.server, fx.ns.name[CLIENT], argv, fx.d.dir, err, sizeof(err)) == 0, "udhcpd: %s", err);
}

/* Lines of the events file that start with event (case-insensitive: the clients spell them differently). */
static int events(const char *event)
{
	char line[256];
	size_t n = strlen(event);
	FILE *f = fopen(fx.events, "r");
	int count = 0;

	while (f && fgets(line, sizeof(line), f))
		count += !strncasecmp(line, event, n) && line[n] == ' ';
	if (f)
		fclose(f);
	return count;
}

/* Polls until the client reported event more than `before` times; false after ms. */
static bool event_within(const char *event, int before, long ms)
{
	long start = now_ms();

	while (now_ms() - start <= ms) {
		if (events(event) > before)
			return true;
		sleep_ms(100);
	}
	return false;
}

/* What a run wrote so far, for messages. */
static const char *output_of(const struct run *r, char *buf, size_t len)
{
	FILE *f = fopen(r->err_path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static bool output_has(const struct run *r, const char *text)
{
	char buf[8192];

	return strstr(output_of(r, buf, sizeof(buf)), text) != NULL;
}

/* Unicast to the server's own address dropped in its namespace: the client's renewal goes unanswered. */
static void block_unicast_to_server(void)
{
	char rule[128], err[512];
	const char *table[] = { "add", "table", "ip", "dhcp_test", NULL };
	const char *chain[] = { "add", "chain", "ip", "dhcp_test", "in", "{ type filter hook input priority 0 ; }", NULL };
	const char *drop[] = { "add", "rule", "ip", "dhcp_test", "in", rule, NULL };

	snprintf(rule, sizeof(rule), "ip daddr %s udp dport 67 drop", fx.ns.ip4[CLIENT]);
	cr_assert(nftns(fx.ns.name[CLIENT], table, NULL, NULL, 0, err, sizeof(err)) == 0, "nft add table: %s", err);
	cr_assert(nftns(fx.ns.name[CLIENT], chain, NULL, NULL, 0, err, sizeof(err)) == 0, "nft add chain: %s", err);
	cr_assert(nftns(fx.ns.name[CLIENT], drop, NULL, NULL, 0, err, sizeof(err)) == 0, "nft add rule: %s", err);
}

/* What a DHCP reply to the client can pass as, all together (see the rebinding below). */
static uint64_t reply_passes(void)
{
	return crit_counter(&fx.d, AXDP_PASS_DHCP_REPLY) + crit_counter(&fx.d, AXDP_PASS_UDP_PORT) +
	       crit_counter(&fx.d, AXDP_PASS_UDP_FLOW);
}

Test(dhcp, udhcpc_leases_renews_and_rebinds)
{
	const char *argv[] = { "busybox", "udhcpc", "-f", "-i", fx.ns.ifname[SERVER], "-s", fx.script,
			       "-T", "1", "-t", "30", NULL };
	struct run client = {};
	char err[512], out[8192];
	uint64_t replies, passed, closed;
	int renewals;

	write_script();
	start_server();
	cr_assert(run_start(&client, fx.ns.name[SERVER], argv, fx.d.dir, err, sizeof(err)) == 0, "udhcpc: %s", err);

	cr_expect(event_within("bound", 0, LEASE_MS), "udhcpc got no lease through the firewall:\n%s",
		  output_of(&client, out, sizeof(out)));
	replies = crit_counter(&fx.d, AXDP_PASS_DHCP_REPLY);
	cr_expect_gt(replies, 0, "the OFFER and ACK did not pass as dhcp_reply");

	/* Renewing: SIGUSR1 makes udhcpc unicast a REQUEST from its new address to the server. */
	renewals = events("renew");
	cr_assert(kill(client.pid, SIGUSR1) == 0, "SIGUSR1 to udhcpc: %s", strerror(errno));
	cr_expect(event_within("renew", renewals, RENEW_MS), "udhcpc did not renew its lease:\n%s",
		  output_of(&client, out, sizeof(out)));

	/*
	 * Rebinding: the renewal goes unanswered, so udhcpc stops listening on
	 * port 68 and broadcasts its REQUEST; the server's ACK comes back to a
	 * packet socket.
	 */
	block_unicast_to_server();
	passed = reply_passes();
	closed = crit_counter(&fx.d, AXDP_DROP_UDP_CLOSED);
	renewals = events("renew");
	cr_assert(kill(client.pid, SIGUSR1) == 0, "SIGUSR1 to udhcpc: %s", strerror(errno));
	cr_expect(event_within("renew", renewals, RENEW_MS), "udhcpc did not rebind its lease:\n%s",
		  output_of(&client, out, sizeof(out)));
	cr_expect(output_has(&client, "broadcasting renew"), "udhcpc never rebound (no broadcast renewal):\n%s",
		  output_of(&client, out, sizeof(out)));
	cr_expect(events("deconfig") <= 1, "udhcpc lost its lease on the way:\n%s", output_of(&client, out, sizeof(out)));
	/*
	 * The ACK to the broadcast passes as dhcp_reply, or as udp_port_open
	 * when it beats the daemon closing port 68 after the renewal's socket
	 * went away, or as udp_conntrack: it comes from the address and port
	 * the unanswered unicast renewal went to, so it is that flow's reply.
	 * Never is it dropped.
	 */
	cr_expect_gt(reply_passes(), passed,
		     "no reply passed while rebinding (dhcp_reply %llu, udp_port_open %llu, udp_conntrack %llu)",
		     (unsigned long long)crit_counter(&fx.d, AXDP_PASS_DHCP_REPLY),
		     (unsigned long long)crit_counter(&fx.d, AXDP_PASS_UDP_PORT),
		     (unsigned long long)crit_counter(&fx.d, AXDP_PASS_UDP_FLOW));
	cr_expect_eq(crit_counter(&fx.d, AXDP_DROP_UDP_CLOSED), closed, "a DHCP reply was dropped while rebinding");

	kill(client.pid, SIGTERM);
	run_wait(&client, 3000, err, sizeof(err));
	run_free(&client);
}

/*
 * ISC dhclient, as Debian's ifupdown runs it: a lease, then its own
 * renewal at half of it.  dhclient keeps a UDP socket on port 68 besides
 * its packet socket, so its replies pass to an open port with or without
 * the exception (checked: AllowDHCPClient=no passes this test too); what
 * this proves is that nothing in the firewall's way breaks it.
 */
Test(dhcp, dhclient_leases_and_renews)
{
	char conf[AXDPD_PATH + 16], leases[AXDPD_PATH + 16], pid[AXDPD_PATH + 16], err[512], out[8192];
	const char *argv[] = { "dhclient", "-d", "-4", "-v", "-cf", conf, "-lf", leases, "-pf", pid, "-sf", fx.script,
			       fx.ns.ifname[SERVER], NULL };
	struct run client = {};

	snprintf(conf, sizeof(conf), "%s/dhclient.conf", fx.d.dir);
	snprintf(leases, sizeof(leases), "%s/dhclient.leases", fx.d.dir);
	snprintf(pid, sizeof(pid), "%s/dhclient.pid", fx.d.dir);
	write_file(conf, "", 0644);
	write_script();
	start_server();
	cr_assert(run_start(&client, fx.ns.name[SERVER], argv, fx.d.dir, err, sizeof(err)) == 0, "dhclient: %s", err);

	cr_expect(event_within("BOUND", 0, LEASE_MS), "dhclient got no lease through the firewall:\n%s",
		  output_of(&client, out, sizeof(out)));
	cr_expect(event_within("RENEW", 0, NATURAL_RENEW_MS), "dhclient did not renew its %d s lease:\n%s", LEASE_S,
		  output_of(&client, out, sizeof(out)));

	kill(client.pid, SIGTERM);
	run_wait(&client, 3000, err, sizeof(err));
	run_free(&client);
}
