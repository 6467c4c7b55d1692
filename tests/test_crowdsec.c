// SPDX-License-Identifier: MIT
/*
 * Debian's real CrowdSec with autoxdp's bouncer configuration
 * (config/crowdsec/: what the packages install): a crowdsec local API of
 * the test's own (configuration, database and credentials in the scratch
 * directory, no central API, listening on 127.0.0.1 of the server
 * namespace, so nothing of the host is reached) and crowdsec-custom-
 * bouncer calling crowdsec-action, both started and stopped by pid.
 * Decisions added with cscli (--ip and --range) are enforced in XDP,
 * deleted ones stop being, and a restart of the bouncer, of crowdsec or
 * of autoxdpd loses none.
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
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>
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
#define PORT 8099
/* In the server namespace: the host's 8080 is another port altogether. */
#define LAPI "127.0.0.1:8080"
#define READY_MS 15000
#define CMD_MS 30000
#define DROPPED_MS 600
/* Generous hang limits, never time asserts: the promise is the poll interval (1 s here). */
#define HANG_MS 30000
#define RANGE "198.51.100.0/24"

static struct {
	struct netns_pair ns;
	struct axdpd d;
	char cs[AXDPD_PATH + 16];     /* crowdsec's configuration, database and logs */
	char config[AXDPD_PATH + 32];
	char key[128];
	struct run lapi, bouncer;
	struct synprobe probe;
} fx;

static void stop(struct run *r)
{
	char err[256];

	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	if (run_wait(r, 10000, err, sizeof(err)) < 0)
		cr_log_warn("%s", err);
	run_free(r);
	r->pid = 0;
}

static void teardown(void)
{
	char err[512];

	stop(&fx.bouncer);
	stop(&fx.lapi);
	synprobe_close(&fx.probe);
	cr_expect(axdpd_fixture_teardown(&fx.ns, &fx.d, err, sizeof(err)) == 0, "teardown: %s", err);
}

CRIT_AFTER_ALL(axdpd_fixture_remove_stale())

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	cr_assert(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* The source tree, absolute: the bouncer runs its binary from crowdsec's directory. */
static const char *srcdir(void)
{
	static char dir[PATH_MAX];
	const char *s = getenv("AXDP_SRCDIR");

	cr_assert(realpath(s && *s ? s : ".", dir), "the source directory: %s", strerror(errno));
	return dir;
}

/* cscli with the test's configuration, in the server namespace; its stdout in out. */
static int cscli(char *out, size_t len, const char *const *args)
{
	const char *argv[24] = { "cscli", "-c", fx.config };
	char err[512];
	struct run r;
	int n = 3, rc;

	for (; *args && n < 23; args++)
		argv[n++] = *args;
	rc = run_sync(&r, fx.ns.name[SERVER], argv, fx.cs, CMD_MS, err, sizeof(err));
	cr_assert_geq(rc, 0, "cscli: %s", err);
	/* On failure the caller's message shows stderr too. */
	if (out)
		snprintf(out, len, "%s%s", r.out ? r.out : "", rc && r.err ? r.err : "");
	run_free(&r);
	return rc;
}

#define CSCLI(out, ...) cscli(out, sizeof(out), (const char *const[]){ __VA_ARGS__, NULL })

static void configure_crowdsec(void)
{
	char text[4096], path[AXDPD_PATH + 64];

	snprintf(text, sizeof(text),
		 "common:\n  daemonize: false\n  log_media: file\n  log_level: info\n  log_dir: %1$s/\n"
		 "  working_dir: %1$s/\n"
		 "config_paths:\n  config_dir: %1$s/\n  data_dir: %1$s/data/\n  simulation_path: %1$s/simulation.yaml\n"
		 "  hub_dir: %1$s/hub/\n  index_path: %1$s/hub/.index.json\n  notification_dir: %1$s/notifications/\n"
		 "  plugin_dir: /usr/lib/crowdsec/plugins/\n"
		 "crowdsec_service:\n  acquisition_path: %1$s/acquis.yaml\n"
		 "db_config:\n  type: sqlite\n  db_path: %1$s/data/crowdsec.db\n  use_wal: true\n  log_level: info\n"
		 "api:\n  client:\n    credentials_path: %1$s/local_api_credentials.yaml\n"
		 "  server:\n    log_level: info\n    listen_uri: " LAPI "\n    profiles_path: %1$s/profiles.yaml\n"
		 "    trusted_ips: [127.0.0.1]\n"
		 "prometheus:\n  enabled: false\n",
		 fx.cs);
	write_file(fx.config, text);
	snprintf(path, sizeof(path), "%s/simulation.yaml", fx.cs);
	write_file(path, "simulation: false\n");
	snprintf(path, sizeof(path), "%s/profiles.yaml", fx.cs);
	write_file(path, "name: default_ip_remediation\nfilters:\n - Alert.Remediation == true && Alert.GetScope() == \"Ip\"\n"
			 "decisions:\n - type: ban\n   duration: 4h\non_success: break\n");
	snprintf(path, sizeof(path), "mkdir -p %1$s/data %1$s/hub && echo '{}' > %1$s/hub/.index.json", fx.cs);
	cr_assert_eq(system(path), 0);
}

/* The shipped bouncer configuration, with the test's key, local API, poll interval and paths in its .local. */
static void configure_bouncer(void)
{
	char text[2048], cmd[2 * AXDPD_PATH + 600];

	snprintf(cmd, sizeof(cmd), "cp %s/config/crowdsec/autoxdp.yaml %s/bouncer.yaml", srcdir(), fx.cs);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	snprintf(text, sizeof(text),
		 "api_key: %s\napi_url: http://" LAPI "/\nupdate_frequency: 1s\nbin_path: %s/config/crowdsec/crowdsec-action\n"
		 "log_dir: %s/\npiddir: %s/\n",
		 fx.key, srcdir(), fx.cs, fx.cs);
	snprintf(cmd, sizeof(cmd), "%s/bouncer.yaml.local", fx.cs);
	write_file(cmd, text);
}

static void start_lapi(void)
{
	const char *argv[] = { "crowdsec", "-c", fx.config, "-no-cs", NULL };
	char err[512], out[4096];
	int i;

	cr_assert_eq(run_start(&fx.lapi, fx.ns.name[SERVER], argv, fx.cs, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < 100 && CSCLI(out, "decisions", "list", "-o", "json") != 0; i++)
		usleep(200 * 1000);
	cr_assert_lt(i, 100, "crowdsec's local API did not come up");
}

static void start_bouncer(void)
{
	const char *argv[] = { "crowdsec-custom-bouncer", "-c", NULL, NULL };
	char err[512], path[AXDPD_PATH + 32];

	snprintf(path, sizeof(path), "%s/bouncer.yaml", fx.cs);
	argv[2] = path;
	cr_assert_eq(run_start(&fx.bouncer, fx.ns.name[SERVER], argv, fx.cs, err, sizeof(err)), 0, "%s", err);
}

static void setup(void)
{
	char err[sizeof(fx.d.err)], axdp[3 * AXDPD_PATH], program[AXDPD_PATH], creds[AXDPD_PATH + 64];

	memset(&fx, 0, sizeof(fx));
	if (axdpd_fixture_setup(&fx.ns, &fx.d, "[Daemon]\nReconcileIntervalSec=5\n", err, sizeof(err)))
		cr_assert_fail("setup: %s", err);
	if (axdpd_start(&fx.d, READY_MS)) {
		snprintf(err, sizeof(err), "%s", fx.d.err);
		teardown();
		cr_assert_fail("setup: %s", err);
	}
	snprintf(fx.cs, sizeof(fx.cs), "%s/crowdsec", fx.d.dir);
	snprintf(fx.config, sizeof(fx.config), "%s/config.yaml", fx.cs);
	cr_assert_eq(mkdir(fx.cs, 0700), 0);
	configure_crowdsec();
	snprintf(creds, sizeof(creds), "%s/local_api_credentials.yaml", fx.cs);
	cr_assert_eq(CSCLI(err, "machines", "add", "autoxdp-test", "--auto", "--force", "-f", creds), 0, "%s", err);
	cr_assert_eq(CSCLI(fx.key, "bouncers", "add", "autoxdp", "-o", "raw"), 0, "%s", fx.key);
	fx.key[strcspn(fx.key, "\n")] = '\0';
	configure_bouncer();
	/* crowdsec-action reaches the fixture's daemon through $AXDP; the bouncer passes its environment on. */
	snprintf(axdp, sizeof(axdp), "%s --config %s --pin-dir %s", axdpd_program("axdp", program, sizeof(program)),
		 fx.d.config, fx.d.pin_dir);
	setenv("AXDP", axdp, 1);
	start_lapi();
	start_bouncer();
	cr_assert(synprobe_open(&fx.probe, &fx.ns, PORT, false, err, sizeof(err)) == 0, "%s", err);
}

CRIT_SUITE(crowdsec, 240, setup, teardown);

static int connect_client(int ms)
{
	return synprobe_connect(&fx.probe, AF_INET, ms);
}

/* Until the client's SYN is dropped (want_dropped) or passes; false after the hang limit. */
static bool wait_for(bool want_dropped)
{
	return synprobe_wait(&fx.probe, AF_INET, want_dropped, DROPPED_MS, HANG_MS);
}

/* axdp block list --json. */
static void bans(char *out, size_t len)
{
	char program[AXDPD_PATH], err[512];
	const char *argv[] = { axdpd_program("axdp", program, sizeof(program)), "--config", fx.d.config, "--pin-dir",
			       fx.d.pin_dir, "block", "list", "--json", NULL };
	struct run r;

	cr_assert_eq(run_sync(&r, fx.ns.name[SERVER], argv, fx.d.dir, CMD_MS, err, sizeof(err)), 0, "axdp: %s", err);
	snprintf(out, len, "%s", r.out);
	run_free(&r);
}

/* Until axdp lists (or no longer lists) the network; false after the hang limit. */
static bool wait_listed(const char *cidr, bool want)
{
	char out[8192];

	for (long end = now_ms() + HANG_MS; now_ms() < end; usleep(200 * 1000)) {
		bans(out, sizeof(out));
		if ((strstr(out, cidr) != NULL) == want)
			return true;
	}
	return false;
}

/* The bans are the daemon's on either backend: the client's SYNs are judged, not a map. */
Test(crowdsec, decisions_are_enforced_deleted_ones_lifted_and_restarts_lose_none)
{
	char out[8192], client32[64];

	snprintf(client32, sizeof(client32), "\"%s/32\"", fx.ns.ip4[CLIENT]);
	/* XDP opens the port inside listen(); nftables a transaction later (autoxdpd(8), row "Open ports"). */
	cr_assert(wait_for(false), "the client cannot connect before any decision");
	cr_assert_eq(CSCLI(out, "decisions", "add", "--ip", fx.ns.ip4[CLIENT], "--duration", "1h"), 0, "%s", out);
	cr_assert_eq(CSCLI(out, "decisions", "add", "--range", RANGE, "--duration", "2h"), 0, "%s", out);
	cr_assert(wait_for(true), "the --ip decision was not enforced");
	cr_assert(wait_listed("\"" RANGE "\"", true), "the --range decision is not a ban");
	bans(out, sizeof(out));
	cr_expect(strstr(out, client32) && !strstr(out, "\"remaining_s\":null"), "decisions are timed bans: %s", out);

	/* The bouncer restarts: it fetches the decisions again, the bans stay. */
	stop(&fx.bouncer);
	start_bouncer();
	cr_expect_eq(connect_client(DROPPED_MS), ETIMEDOUT, "the ban went with the bouncer's restart");

	/* crowdsec restarts: its database keeps the decisions, the bouncer reconnects. */
	stop(&fx.lapi);
	start_lapi();
	cr_assert_eq(CSCLI(out, "decisions", "list", "-o", "json"), 0, "%s", out);
	cr_expect(strstr(out, fx.ns.ip4[CLIENT]) && strstr(out, RANGE), "decisions lost in crowdsec's restart: %s", out);

	/* autoxdpd restarts: the bans come back from its state file. */
	cr_assert_eq(axdpd_stop(&fx.d, SIGTERM, 10000), 0, "%s", fx.d.err);
	cr_assert_eq(axdpd_start(&fx.d, READY_MS), 0, "%s", fx.d.err);
	cr_expect_eq(connect_client(DROPPED_MS), ETIMEDOUT, "the ban went with autoxdpd's restart");

	/* A deleted decision stops being enforced; the other stays. */
	cr_assert_eq(CSCLI(out, "decisions", "delete", "--ip", fx.ns.ip4[CLIENT]), 0, "%s", out);
	cr_expect(wait_for(false), "the deleted decision is still enforced");
	cr_expect(wait_listed(client32, false), "the deleted decision is still a ban");
	bans(out, sizeof(out));
	cr_expect(strstr(out, RANGE), "the --range ban went too: %s", out);
	cr_assert_eq(CSCLI(out, "decisions", "delete", "--range", RANGE), 0, "%s", out);
	cr_expect(wait_listed("\"" RANGE "\"", false), "the deleted --range decision is still a ban");
}
