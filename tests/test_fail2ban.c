// SPDX-License-Identifier: MIT
/*
 * Debian's real fail2ban with autoxdp's action (config/fail2ban/
 * action.d/autoxdp.conf, what the packages install): a fail2ban-server of
 * the test's own (configuration, socket, pid file and database in the
 * scratch directory, run in the server namespace and stopped by its pid,
 * so a fail2ban of the host is never touched) watches a log file the test
 * writes.  Failures from the client's address ban it: its SYNs are
 * dropped in XDP; at the end of the bantime, and at
 * `fail2ban-client set JAIL unbanip`, they pass again.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include "crit_fixture.h"
#include "crit_suite.h"
#include "daemon.h"
#include "netns.h"
#include "synprobe.h"
#include "timing.h"
#include "run.h"
#include "sock.h"

#define SERVER NETNS_SERVER
#define CLIENT NETNS_CLIENT
#define PORT 8098
#define JAIL "axdp-test"
#define BANTIME_S 8
#define READY_MS 15000
#define CMD_MS 20000
#define DROPPED_MS 600
/* Generous hang limits, never time asserts: the promise is a second, the machine may be loaded. */
#define BAN_HANG_MS 20000
#define UNBAN_HANG_MS 30000

static struct {
	struct netns_pair ns;
	struct axdpd d;
	char f2b[AXDPD_PATH + 16];    /* fail2ban's configuration directory */
	char sock[AXDPD_PATH + 32];
	char authlog[AXDPD_PATH + 32];
	struct run server;            /* fail2ban-server -f */
	struct synprobe probe;
} fx;

static void stop_fail2ban(void)
{
	char err[256];

	if (fx.server.pid <= 0)
		return;
	kill(fx.server.pid, SIGTERM);
	if (run_wait(&fx.server, 10000, err, sizeof(err)) < 0)
		cr_log_warn("fail2ban-server: %s", err);
	run_free(&fx.server);
	fx.server.pid = 0;
}

static void teardown(void)
{
	char err[512];

	stop_fail2ban();
	synprobe_close(&fx.probe);
	cr_expect(axdpd_fixture_teardown(&fx.ns, &fx.d, err, sizeof(err)) == 0, "teardown: %s", err);
}

CRIT_AFTER_ALL(axdpd_fixture_remove_stale())

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[AXDPD_PATH + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	cr_assert(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* The action file of the source tree, as the packages install it. */
static void install_action(void)
{
	char src[512], cmd[1200];
	const char *srcdir = getenv("AXDP_SRCDIR");

	snprintf(src, sizeof(src), "%s/config/fail2ban/action.d/autoxdp.conf", srcdir && *srcdir ? srcdir : ".");
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/action.d %s/filter.d && cp %s %s/action.d/", fx.f2b, fx.f2b, src, fx.f2b);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void write_config(void)
{
	char text[4096], axdp[AXDPD_PATH];

	install_action();
	snprintf(text, sizeof(text),
		 "[Definition]\nloglevel = INFO\nlogtarget = %s/fail2ban.log\nsocket = %s\npidfile = %s/fail2ban.pid\n"
		 "dbfile = %s/fail2ban.sqlite3\ndbpurgeage = 1d\n",
		 fx.f2b, fx.sock, fx.f2b, fx.f2b);
	write_file(fx.f2b, "fail2ban.conf", text);
	write_file(fx.f2b, "filter.d/axdp-test.conf",
		   "[Definition]\nfailregex = ^ Failed password for \\S+ from <HOST>$\n"
		   "datepattern = {^LN-BEG}EPOCH\n");
	snprintf(text, sizeof(text),
		 "[DEFAULT]\nignoreself = false\nignoreip =\n"
		 "[" JAIL "]\nenabled = true\nbackend = polling\nfilter = axdp-test\nlogpath = %s\n"
		 "maxretry = 3\nfindtime = 600\nbantime = %d\n"
		 "action = autoxdp[axdp=\"%s --config %s --pin-dir %s\"]\n",
		 fx.authlog, BANTIME_S, axdpd_program("axdp", axdp, sizeof(axdp)), fx.d.config, fx.d.pin_dir);
	write_file(fx.f2b, "jail.conf", text);
	write_file(fx.d.dir, "auth.log", "");
}

static int client(const char *const *args, char *out, size_t outlen)
{
	char err[512];
	const char *argv[16] = { "fail2ban-client", "-c", fx.f2b, "-s", fx.sock };
	int n = 5;
	struct run r;
	int rc;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	rc = run_sync(&r, fx.ns.name[SERVER], argv, fx.d.dir, CMD_MS, err, sizeof(err));
	cr_assert_geq(rc, 0, "fail2ban-client: %s", err);
	if (out)
		snprintf(out, outlen, "%s%s", r.out ? r.out : "", r.err ? r.err : "");
	run_free(&r);
	return rc;
}

/* fail2ban-client ARGS must succeed; its output in out (4096 bytes). */
#define CLIENT_OK(out, ...)                                                                                 \
	do {                                                                                                \
		int rc_ = client((const char *const[]){ __VA_ARGS__, NULL }, out, 4096);                   \
		cr_assert_eq(rc_, 0, "fail2ban-client %s: exit %d: %s", #__VA_ARGS__, rc_, out);             \
	} while (0)

static void setup(void)
{
	const char *argv[] = { "fail2ban-server", "-f", "-x", "-c", fx.f2b, "-s", fx.sock, "-p", NULL, NULL };
	char err[sizeof(fx.d.err)], pid[AXDPD_PATH + 32], status[4096] = "";
	int i;

	memset(&fx, 0, sizeof(fx));
	if (axdpd_fixture_setup(&fx.ns, &fx.d, "[Daemon]\nReconcileIntervalSec=5\n", err, sizeof(err)))
		cr_assert_fail("setup: %s", err);
	snprintf(fx.f2b, sizeof(fx.f2b), "%s/fail2ban", fx.d.dir);
	snprintf(fx.sock, sizeof(fx.sock), "%s/fail2ban.sock", fx.d.dir);
	snprintf(fx.authlog, sizeof(fx.authlog), "%s/auth.log", fx.d.dir);
	snprintf(pid, sizeof(pid), "%s/fail2ban.pid", fx.d.dir);
	argv[8] = pid;
	if (axdpd_start(&fx.d, READY_MS)) {
		snprintf(err, sizeof(err), "%s", fx.d.err);
		teardown();
		cr_assert_fail("setup: %s", err);
	}
	write_config();
	cr_assert_eq(run_start(&fx.server, fx.ns.name[SERVER], argv, fx.d.dir, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < 100; i++) {
		if (client((const char *const[]){ "status", JAIL, NULL }, status, sizeof(status)) == 0)
			break;
		usleep(200 * 1000);
	}
	cr_assert_lt(i, 100, "fail2ban-server did not come up: %s", status);
	cr_assert(synprobe_open(&fx.probe, &fx.ns, PORT, false, err, sizeof(err)) == 0, "%s", err);
}

CRIT_SUITE(fail2ban, 180, setup, teardown);

/* Until the client's SYN is dropped (want_dropped) or passes; false after hang_ms. */
static bool wait_for(bool want_dropped, int hang_ms)
{
	return synprobe_wait(&fx.probe, AF_INET, want_dropped, DROPPED_MS, hang_ms);
}

/* axdp block list --json, as the operator would see it. */
static void bans_json(char *out, size_t len)
{
	char program[AXDPD_PATH], err[512];
	const char *argv[] = { axdpd_program("axdp", program, sizeof(program)), "--config", fx.d.config, "--pin-dir",
			       fx.d.pin_dir, "block", "list", "--json", NULL };
	struct run r;

	cr_assert_eq(run_sync(&r, fx.ns.name[SERVER], argv, fx.d.dir, CMD_MS, err, sizeof(err)), 0, "axdp: %s %s", err,
		     r.err ? r.err : "");
	snprintf(out, len, "%s", r.out);
	run_free(&r);
}

/* Three failed logins of the client, timestamped now, appended to the jail's log. */
static void fail_logins(void)
{
	FILE *f = fopen(fx.authlog, "ae");

	cr_assert(f);
	for (int i = 0; i < 3; i++)
		fprintf(f, "%lld Failed password for root from %s\n", (long long)time(NULL), fx.ns.ip4[CLIENT]);
	cr_assert_eq(fclose(f), 0);
}

/* The ban is the daemon's on either backend: the client's SYNs are judged, not a map. */
Test(fail2ban, failures_ban_until_the_bantime_ends_and_unbanip_lifts)
{
	char out[4096];

	/* XDP opens the port inside listen(); nftables a transaction later (autoxdpd(8), row "Open ports"). */
	cr_assert(wait_for(false, BAN_HANG_MS), "the client cannot connect before any failure");
	fail_logins();
	cr_assert(wait_for(true, BAN_HANG_MS), "no drop after fail2ban saw 3 failures");
	CLIENT_OK(out, "status", JAIL);
	cr_expect(strstr(out, fx.ns.ip4[CLIENT]), "fail2ban does not list the ban: %s", out);
	/* A runtime ban for the jail's bantime. */
	bans_json(out, sizeof(out));
	cr_expect(strstr(out, fx.ns.ip4[CLIENT]) && strstr(out, "\"remaining_s\":") && !strstr(out, "\"remaining_s\":null"),
		  "not a timed ban: %s", out);

	/* The bantime ends: fail2ban unbans, and autoxdpd would lift it anyway. */
	cr_assert(wait_for(false, UNBAN_HANG_MS), "the ban did not end after its bantime");

	/*
	 * autoxdpd may lift the ban a moment before fail2ban's own unban, and
	 * fail2ban ignores failures of an address it still counts as banned.
	 */
	for (long end = now_ms() + UNBAN_HANG_MS; now_ms() < end; usleep(200 * 1000)) {
		CLIENT_OK(out, "status", JAIL);
		if (!strstr(out, fx.ns.ip4[CLIENT]))
			break;
	}
	cr_assert(!strstr(out, fx.ns.ip4[CLIENT]), "fail2ban never unbanned: %s", out);

	/* Banned again, then lifted by hand. */
	fail_logins();
	cr_assert(wait_for(true, BAN_HANG_MS), "no drop after the second round of failures");
	CLIENT_OK(out, "set", JAIL, "unbanip", fx.ns.ip4[CLIENT]);
	cr_expect(wait_for(false, BAN_HANG_MS), "unbanip did not lift the ban");
}
