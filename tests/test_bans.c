// SPDX-License-Identifier: MIT
/*
 * Runtime bans end to end: the real axdp adds them (one, or 100,000 from
 * stdin) to a real daemon's data path in a throwaway server namespace;
 * the client namespace's TCP stack says whether they are enforced; they
 * expire, survive a daemon restart and the loss of every pin (what a
 * reboot does), judge IPv6 as IPv4, and removing one leaves its bucket's
 * other bans in force.  And the guard rails: blocking the operator's own SSH source or
 * the default gateway is refused without --force.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "autoxdp_abi.h"
#include "bans.h"
#include <sys/socket.h>
#include "crit_fixture.h"
#include "crit_suite.h"
#include "daemon.h"
#include "jsoncheck.h"
#include "netns.h"
#include "synprobe.h"
#include "run.h"
#include "sock.h"

#define SERVER NETNS_SERVER
#define CLIENT NETNS_CLIENT
#define PORT 8097
#define READY_MS 15000
#define AXDP_MS 20000
/* A veth answers in microseconds: silence this long means dropped. */
#define DROPPED_MS 600
#define IO_MS 1000
/* Generous: how long a ban may take to lift after it ends (the spec is a second) on a loaded machine. */
#define EXPIRY_HANG_MS 15000

static struct {
	struct netns_pair ns;
	struct axdpd d;
	char state[AXDPD_PATH + 16];
	struct synprobe probe;
} fx;

static void teardown(void)
{
	char err[512];

	synprobe_close(&fx.probe);
	unsetenv("SSH_CONNECTION");
	cr_expect(axdpd_fixture_teardown(&fx.ns, &fx.d, err, sizeof(err)) == 0, "teardown: %s", err);
}

CRIT_AFTER_ALL(axdpd_fixture_remove_stale())

static void setup(void)
{
	char err[sizeof(fx.d.err)];

	memset(&fx, 0, sizeof(fx));
	if (axdpd_fixture_setup(&fx.ns, &fx.d, "[Daemon]\nReconcileIntervalSec=5\n", err, sizeof(err)))
		cr_assert_fail("setup: %s", err);
	snprintf(fx.state, sizeof(fx.state), "%s/state/bans", fx.d.dir);
	if (axdpd_start(&fx.d, READY_MS)) {
		snprintf(err, sizeof(err), "%s", fx.d.err);
		teardown();
		cr_assert_fail("setup: %s", err);
	}
	cr_assert(synprobe_open(&fx.probe, &fx.ns, PORT, true, err, sizeof(err)) == 0, "%s", err);
	/* XDP opens the port inside listen(); nftables (AXDP_TEST_BACKEND) a transaction later. */
	for (int af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0)
		cr_assert(synprobe_wait(&fx.probe, af, false, DROPPED_MS, EXPIRY_HANG_MS), "port %u never opened", PORT);
}

CRIT_SUITE(bans, 120, setup, teardown);

/* ---- running axdp ---- */

/* sh -c SCRIPT in the server namespace; "$AXDP" is axdp with the fixture's configuration and pin directory. */
static int sh(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int sh(struct run *r, const char *fmt, ...)
{
	char program[AXDPD_PATH], script[4096], body[2048], err[1024];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(script, sizeof(script), "AXDP='%s --config %s --pin-dir %s'; %s",
		 axdpd_program("axdp", program, sizeof(program)), fx.d.config, fx.d.pin_dir, body);
	cr_assert(run_start(r, fx.ns.name[SERVER], argv, fx.d.dir, err, sizeof(err)) == 0, "%s", err);
	rc = run_wait(r, AXDP_MS, err, sizeof(err));
	cr_assert_geq(rc, 0, "%s: %s", body, err);
	return rc;
}

#define SH_OK(r, ...)                                                                                       \
	do {                                                                                                \
		int rc_ = sh(r, __VA_ARGS__);                                                               \
		cr_assert_eq(rc_, 0, "%s: exit %d\nstdout:\n%s\nstderr:\n%s", #__VA_ARGS__, rc_, (r)->out, (r)->err); \
	} while (0)

/* ---- the network ---- */

/* A connection attempt from the client over af: 0, or ETIMEDOUT after ms of silence (dropped). */
static int connect_client_af(int af, int ms)
{
	return synprobe_connect(&fx.probe, af, ms);
}

static int connect_client(int ms)
{
	return connect_client_af(AF_INET, ms);
}

static void expect_dropped(const char *when)
{
	int rc = connect_client(DROPPED_MS);

	cr_expect_eq(rc, ETIMEDOUT, "%s: the client's SYN was not dropped: %s", when, strerror(rc));
}

static void expect_passes(const char *when)
{
	int rc = connect_client(IO_MS);

	cr_expect_eq(rc, 0, "%s: the client could not connect: %s", when, strerror(rc));
}

/* Until the client connects again, at most hang_ms; 0 when it did. */
static int wait_lifted(int hang_ms)
{
	return synprobe_wait(&fx.probe, AF_INET, false, DROPPED_MS, hang_ms) ? 0 : ETIMEDOUT;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return strdup("");
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

static size_t bans_in_map(void)
{
	struct axdp_lpm_key key, next;
	int fd = crit_pinned(&fx.d, AXDP_MAP_BANS);
	size_t n = 0;

	for (int rc = bpf_map_get_next_key(fd, NULL, &next); rc == 0; rc = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		n++;
	}
	close(fd);
	return n;
}

/* The data path's gate of the bans trie (struct axdp_policy.bans). */
static __u32 bans_flag(void)
{
	struct axdp_policy pol = {};
	__u32 zero = 0;
	int fd = crit_pinned(&fx.d, AXDP_MAP_POLICY);

	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &pol), 0, "map %s: %s", AXDP_MAP_POLICY, strerror(errno));
	close(fd);
	return pol.bans;
}

static struct jv *block_list_json(void)
{
	char man[512], err[1024], *schema;
	const char *src = getenv("AXDP_SRCDIR");
	struct jv *doc;
	struct run r;

	SH_OK(&r, "$AXDP block list --json");
	snprintf(man, sizeof(man), "%s/man/axdp.8", src && *src ? src : ".");
	schema = jv_man_schema(man, "block list", err, sizeof(err));
	cr_assert_not_null(schema, "%s", err);
	doc = jv_parse(r.out, err, sizeof(err));
	cr_assert_not_null(doc, "block list --json: %s\n%s", err, r.out);
	cr_assert_eq(jv_check(schema, doc, err, sizeof(err)), 0, "block list --json vs man/axdp.8: %s\n%s", err, r.out);
	free(schema);
	run_free(&r);
	return doc;
}

/* ---- timed bans ---- */

Test(bans, a_timed_ban_drops_at_once_survives_a_restart_and_expires)
{
	const char *client = fx.ns.ip4[CLIENT];
	const struct jv *bans, *ban;
	struct jv *doc;
	struct run r;
	char *text, *conf, want[64];

	expect_passes("before the ban");
	cr_expect_eq(bans_flag(), 0, "no ban yet, but the data path is told to look for bans");
	SH_OK(&r, "$AXDP block add %s --for 6s", client);
	cr_expect(strstr(r.out, "banned"), "%s", r.out);
	run_free(&r);
	cr_expect_neq(bans_flag(), 0, "a ban is in, but the data path is not told to look for bans");
	expect_dropped("right after 'block add --for 6s'");

	/* Listed with its remaining time, in the state file, and nowhere in the configuration. */
	doc = block_list_json();
	bans = jv_get(doc, "bans");
	cr_assert(bans && bans->n == 1, "one ban expected");
	ban = jv_at(bans, 0);
	snprintf(want, sizeof(want), "%s/32", client);
	cr_expect_str_eq(jv_str(ban, "cidr"), want);
	cr_expect(jv_num(ban, "remaining_s") >= 0 && jv_num(ban, "remaining_s") <= 6, "remaining_s %g",
		  jv_num(ban, "remaining_s"));
	jv_free(doc);
	text = slurp(fx.state);
	cr_expect(strstr(text, client), "%s:\n%s", fx.state, text);
	free(text);
	SH_OK(&r, "cat %s %s/* 2>/dev/null; true", fx.d.config, fx.d.dropins);
	cr_expect(!strstr(r.out, client), "a runtime ban was written into the configuration:\n%s", r.out);
	run_free(&r);

	/* A restart of the daemon keeps it. */
	cr_assert_eq(axdpd_stop(&fx.d, SIGTERM, 10000), 0, "%s", fx.d.err);
	cr_assert_eq(axdpd_start(&fx.d, READY_MS), 0, "%s", fx.d.err);
	expect_dropped("after a daemon restart");

	/* It ends by itself: the daemon lifts it from the data path and the file. */
	cr_assert_eq(wait_lifted(EXPIRY_HANG_MS), 0, "the ban did not expire");
	cr_expect_eq(bans_in_map(), 0);
	/* The gate closes right after the trie empties, in the same expiry pass. */
	for (int i = 0; i < 50 && bans_flag(); i++)
		usleep(100 * 1000);
	cr_expect_eq(bans_flag(), 0, "the last ban expired, but the data path still looks for bans");
	text = slurp(fx.state);
	cr_expect(!strstr(text, client), "expired ban still in %s:\n%s", fx.state, text);
	free(text);
	conf = axdpd_read_log(&fx.d);
	cr_expect(conf && strstr(conf, "bans: 1 expired"), "%s", conf);
	free(conf);
}

Test(bans, bans_come_back_after_every_pin_is_gone_as_after_a_reboot)
{
	struct run r;

	SH_OK(&r, "$AXDP block add %s --for 1h", fx.ns.ip4[CLIENT]);
	run_free(&r);
	expect_dropped("after block add");
	/* A reboot empties bpffs: only the state file remembers. */
	cr_assert_eq(axdpd_stop(&fx.d, SIGTERM, 10000), 0, "%s", fx.d.err);
	cr_assert_eq(axdpd_off(&fx.d), 0, "axdp off");
	cr_assert_eq(axdpd_start(&fx.d, READY_MS), 0, "%s", fx.d.err);
	cr_expect_eq(bans_in_map(), 1);
	expect_dropped("after the pins were rebuilt from nothing");
	SH_OK(&r, "$AXDP block remove %s", fx.ns.ip4[CLIENT]);
	cr_expect(strstr(r.out, "lifted 1 ban"), "%s", r.out);
	run_free(&r);
	expect_passes("after block remove");
}

/* 100,000 /32s from stdin, the client's address last, then all removed the same way. */
Test(bans, a_hundred_thousand_bans_from_stdin_in_and_out)
{
	char list[AXDPD_PATH + 16];
	FILE *f;
	struct run r;

	snprintf(list, sizeof(list), "%s/bans.txt", fx.d.dir);
	f = fopen(list, "we");
	cr_assert(f);
	fprintf(f, "# fail2ban-style batch\n");
	for (unsigned i = 0; i < 99999; i++)
		fprintf(f, "100.%u.%u.%u %s\n", 64 + i / 65536 % 64, i / 256 % 256, i % 256, i % 2 ? "1h" : "");
	fprintf(f, "%s 2h\n", fx.ns.ip4[CLIENT]);
	cr_assert_eq(fclose(f), 0);

	SH_OK(&r, "$AXDP block add - --for 30m < %s", list);
	cr_expect(strstr(r.out, "banned 100000 networks"), "%s", r.out);
	run_free(&r);
	cr_expect_eq(bans_in_map(), 100000);
	expect_dropped("after 100,000 bans");
	SH_OK(&r, "$AXDP block list | grep -c ' until '");
	cr_expect_eq(atoi(r.out), 100000, "%s", r.out);
	run_free(&r);

	SH_OK(&r, "grep -v '^#' %s | $AXDP block remove -", list);
	cr_expect(strstr(r.out, "lifted 100000 bans"), "%s", r.out);
	run_free(&r);
	cr_expect_eq(bans_in_map(), 0);
	expect_passes("after removing them all");
}

/* Is the deny_clear bit of the IPv4 address's bucket set (no entry near it, the trie is skipped)? */
static bool bucket_clear(const char *ip4)
{
	struct in_addr a;
	__u32 bucket, word;
	__u64 bits = 0;
	int fd = crit_pinned(&fx.d, AXDP_MAP_DENY_CLEAR);

	inet_pton(AF_INET, ip4, &a);
	bucket = ntohl(a.s_addr) >> (32 - AXDP_DENY_BUCKET_BITS);
	word = bucket / 64;
	cr_assert_eq(bpf_map_lookup_elem(fd, &word, &bits), 0, "reading deny_clear: %s", strerror(errno));
	close(fd);
	return (bits >> (bucket % 64)) & 1;
}

/* The daemon sets bits of deny_clear again after a removal: never the bit of a bucket with a ban left in it. */
Test(bans, removing_bans_keeps_the_rest_of_their_bucket_in_force)
{
	const char *far = "198.51.100.7";
	char partner[64];
	struct in_addr a;
	struct run r;
	int waited;

	/* The client's /31 partner shares its /24 bucket; far has a bucket of its own. */
	inet_pton(AF_INET, fx.ns.ip4[CLIENT], &a);
	a.s_addr = htonl(ntohl(a.s_addr) ^ 1);
	inet_ntop(AF_INET, &a, partner, sizeof(partner));
	cr_assert(bucket_clear(far), "no ban yet, yet %s's bucket is checked", far);
	SH_OK(&r, "printf '%s 1h\\n%s 1h\\n%s\\n' | $AXDP block add -", partner, fx.ns.ip4[CLIENT], far);
	run_free(&r);
	cr_expect(!bucket_clear(far) && !bucket_clear(fx.ns.ip4[CLIENT]), "a ban's bucket must be checked");
	expect_dropped("after the bans");
	SH_OK(&r, "printf '%s\\n%s\\n' | $AXDP block remove -", partner, far);
	cr_expect(strstr(r.out, "lifted 2 bans"), "%s", r.out);
	run_free(&r);
	/* The daemon follows the file: far's bucket is skipped again, the client's must not be. */
	for (waited = 0; waited < EXPIRY_HANG_MS && !bucket_clear(far); waited += 50)
		usleep(50 * 1000);
	cr_assert(bucket_clear(far), "the daemon never set the bit of an emptied bucket again");
	cr_expect(!bucket_clear(fx.ns.ip4[CLIENT]), "the bit of a bucket with a ban left was set");
	expect_dropped("after removing its neighbours");
	SH_OK(&r, "$AXDP block remove %s", fx.ns.ip4[CLIENT]);
	run_free(&r);
	expect_passes("after removing the last");
}

Test(bans, an_ipv6_ban_drops_that_source_and_no_ipv4)
{
	struct run r;
	int rc;

	rc = connect_client_af(AF_INET6, IO_MS);
	cr_assert_eq(rc, 0, "IPv6 before the ban: %s", strerror(rc));
	SH_OK(&r, "$AXDP block add %s --for 1h", fx.ns.ip6[CLIENT]);
	run_free(&r);
	rc = connect_client_af(AF_INET6, DROPPED_MS);
	cr_expect_eq(rc, ETIMEDOUT, "IPv6 SYN of a banned source: %s", strerror(rc));
	expect_passes("IPv4 of the same host, not banned");
	SH_OK(&r, "$AXDP block remove %s", fx.ns.ip6[CLIENT]);
	run_free(&r);
	rc = connect_client_af(AF_INET6, IO_MS);
	cr_expect_eq(rc, 0, "IPv6 after the ban was lifted: %s", strerror(rc));
}

Test(bans, wrong_input_is_refused_with_the_line)
{
	struct run r;

	cr_expect_eq(sh(&r, "printf '10.9.0.0/16 1h\\n10.9.1.1/16 1h\\n' | $AXDP block add -"), 2);
	cr_expect(strstr(r.err, "stdin:2:") && strstr(r.err, "10.9.0.0/16"), "%s", r.err);
	run_free(&r);
	cr_expect_eq(sh(&r, "printf '10.9.0.0/16 soon\\n' | $AXDP block add -"), 2);
	cr_expect(strstr(r.err, "stdin:1:") && strstr(r.err, "duration"), "%s", r.err);
	run_free(&r);
	cr_expect_eq(sh(&r, "$AXDP block add 10.9.0.0/16 --for 0"), 2);
	run_free(&r);
	cr_expect_eq(bans_in_map(), 0);
}

/* ---- guard rails (issue 11) ---- */

Test(bans, blocking_the_own_ssh_source_or_the_gateway_needs_force)
{
	const char *client = fx.ns.ip4[CLIENT];
	char env[128], cmd[256];
	struct run r;

	struct in_addr a;
	char net24[64];

	inet_pton(AF_INET, client, &a);
	a.s_addr &= htonl(0xffffff00);
	inet_ntop(AF_INET, &a, net24, sizeof(net24));
	snprintf(env, sizeof(env), "SSH_CONNECTION='%s 50000 %s 22'", client, fx.ns.ip4[SERVER]);
	cr_expect_eq(sh(&r, "%s $AXDP block add %s/24 --for 1h", env, net24), 1);
	cr_expect(strstr(r.err, "SSH session") && strstr(r.err, "--force"), "%s", r.err);
	run_free(&r);
	cr_expect_eq(sh(&r, "%s $AXDP block add %s", env, client), 1, "DenyCIDR= without --force");
	cr_expect(strstr(r.err, "SSH session"), "%s", r.err);
	run_free(&r);
	cr_expect_eq(bans_in_map(), 0);
	expect_passes("after the refusals");

	/* A trust entry of the session's source stays unless forced. */
	SH_OK(&r, "$AXDP trust add %s", client);
	run_free(&r);
	cr_expect_eq(sh(&r, "%s $AXDP trust remove %s", env, client), 1);
	cr_expect(strstr(r.err, "SSH session"), "%s", r.err);
	run_free(&r);
	SH_OK(&r, "%s $AXDP trust remove %s --force", env, client);
	run_free(&r);

	/* A reload whose deny list covers it. */
	snprintf(cmd, sizeof(cmd), "[Policy]\nDenyCIDR=%s/32\n", client);
	cr_assert_eq(axdpd_dropin(&fx.d, "60-deny.conf", cmd), 0);
	cr_expect_eq(sh(&r, "%s $AXDP reload", env), 1);
	cr_expect(strstr(r.err, "refusing to reload") && strstr(r.err, "SSH session"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(axdpd_dropin(&fx.d, "60-deny.conf", NULL), 0);

	/* The default gateway, without any SSH session. */
	SH_OK(&r, "ip route add default via %s", client);
	run_free(&r);
	cr_expect_eq(sh(&r, "$AXDP block add %s --for 1h", client), 1);
	cr_expect(strstr(r.err, "default gateway"), "%s", r.err);
	run_free(&r);
	SH_OK(&r, "$AXDP block add %s --for 1h --force", client);
	cr_expect(strstr(r.err, "--force"), "a forced block says what it did: %s", r.err);
	run_free(&r);
	expect_dropped("after the forced ban");
}

/* ---- the state file and durations, without a kernel ---- */

static char scratch[64];

static void unit_setup(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/axdp-bans-XXXXXX");
	cr_assert(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
}

static void unit_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	cr_expect_eq(system(cmd), 0);
}

CRIT_SUITE(bans_state, 10, unit_setup, unit_teardown);

Test(bans_state, durations)
{
	static const struct { const char *s; uint64_t want; } ok[] = {
		{ "90", 90 }, { "90s", 90 }, { "15m", 900 }, { "2h", 7200 }, { "7d", 604800 }, { "1w", 604800 },
		{ "1h30m", 5400 },
	};
	static const char *const bad[] = { "", "0", "0s", "-5", "5x", "h", "1.5h", "99999999999w" };
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_expect(axdp_duration_parse(ok[i].s, &v), "'%s' refused", ok[i].s);
		cr_expect_eq(v, ok[i].want, "'%s': %llu", ok[i].s, (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!axdp_duration_parse(bad[i], &v), "'%s' accepted", bad[i]);
}

static struct axdp_ban ban(const char *cidr, int64_t expires)
{
	struct axdp_ban b = { .expires = expires };

	cr_assert_eq(axdp_cidr_parse(cidr, strlen(cidr), false, &b.cidr), 0, "%s", cidr);
	return b;
}

/* The last ban of a network wins, the file keeps them across opens, and expiry takes exactly the due ones. */
Test(bans_state, merge_save_reopen_and_expire)
{
	struct axdp_ban in[] = { ban("192.0.2.1", 100), ban("2001:db8::/48", 0), ban("192.0.2.1", 300),
				 ban("198.51.100.0/24", 200) };
	struct axdp_cidr *gone;
	struct axdp_bans b;
	char err[512];
	ssize_t n;

	cr_assert_eq(axdp_bans_open(&b, scratch, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(axdp_bans_merge(&b, in, 4), 0);
	cr_expect_eq(b.n, 3);
	cr_assert_eq(axdp_bans_save(&b, err, sizeof(err)), 0, "%s", err);
	axdp_bans_close(&b);

	cr_assert_eq(axdp_bans_open(&b, scratch, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(b.n, 3);
	cr_expect_eq(axdp_bans_next_expiry(&b), 200, "192.0.2.1 ends at 300 now, the /24 at 200");
	n = axdp_bans_drop(&b, NULL, 0, 250, &gone);
	cr_expect_eq(n, 1);
	cr_expect(n == 1 && gone[0].prefix == 96 + 24, "the /24 expired");
	free(gone);
	cr_expect_eq(axdp_bans_next_expiry(&b), 300);
	n = axdp_bans_drop(&b, (struct axdp_cidr[]){ ban("2001:db8::/48", 0).cidr }, 1, 0, &gone);
	cr_expect_eq(n, 1);
	free(gone);
	cr_expect_eq(b.n, 1);
	axdp_bans_close(&b);
}

Test(bans_state, a_damaged_file_is_refused_with_its_line)
{
	struct axdp_bans b;
	char path[128], err[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/" AXDP_BANS_FILE, scratch);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("# header\n192.0.2.1/32 100\n192.0.2.2/32 soon\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(axdp_bans_open(&b, scratch, err, sizeof(err)), -1);
	cr_expect(strstr(err, "/bans:3:"), "%s", err);
}
