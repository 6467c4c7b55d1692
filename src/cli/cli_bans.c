// SPDX-License-Identifier: MIT
/*
 * axdp block: runtime bans (add --for, add -, remove, the bans part of
 * list) and import; a ban without --for, a removal of a network that is
 * not banned and list go on to cli_policy.c, which edits DenyCIDR=.
 *
 * axdp changes bans itself, under the state directory's lock (bans.h):
 * into the pinned trie, then the state file; the daemon notices the file
 * (inotify), expires bans on time and sets deny_clear again after
 * removals.  No round trip: 100,000 bans take one batch of syscalls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bans.h"
#include "cli.h"
#include "conf_files.h"
#include "denylist.h"
#include "nft_backend.h"
#include "policy.h"
#include "util.h"

/* A network as runtime bans take it; line 0: a command-line argument. */
static int parse_network(struct cli *c, const char *s, size_t len, size_t line, struct axdp_cidr *out)
{
	struct axdp_cidr net;
	char want[AXDP_CIDR_STRLEN], where[32] = "";

	if (axdp_cidr_parse(s, len, false, out) == 0)
		return CLI_OK;
	if (line)
		snprintf(where, sizeof(where), "stdin:%zu: ", line);
	if (axdp_cidr_parse(s, len, true, &net) == 0) {
		axdp_cidr_format(want, sizeof(want), &net);
		return cli_usage(c, "%s'%.*s' has host bits set: did you mean %s?", where, (int)len, s, want);
	}
	return cli_usage(c, "%s'%.*s': expected an IPv4 or IPv6 address, optionally with /PREFIX", where, (int)len, s);
}

/*
 * "CIDR [DURATION]" lines, '#' comments and blank lines.  A line without
 * a duration takes dflt (0: no expiry); for a removal the duration is
 * ignored, so what went into 'add -' takes the bans out again.
 */
static int read_stdin(struct cli *c, bool with_duration, uint64_t dflt, int64_t now, struct axdp_ban **out, size_t *n)
{
	char *line, err[256];
	struct axdp_lines lines;
	size_t len, cap = 0;
	int rc = CLI_OK, got = 0;

	*out = NULL;
	*n = 0;
	axdp_lines_init(&lines, stdin, "stdin");
	while (rc == CLI_OK && (got = axdp_lines_next(&lines, &line, &len, err, sizeof(err))) > 0) {
		char *p = line, *word, *dur = NULL;
		size_t lineno = lines.lineno;
		uint64_t seconds = dflt;
		struct axdp_ban ban;

		line[strcspn(line, "#")] = '\0';
		word = p + strspn(p, " \t");
		if (!*word)
			continue;
		p = word + strcspn(word, " \t");
		if (*p) {
			*p++ = '\0';
			dur = p + strspn(p, " \t");
			dur[strcspn(dur, " \t")] = '\0';
		}
		if ((rc = parse_network(c, word, strlen(word), lineno, &ban.cidr)) != CLI_OK)
			break;
		if (with_duration && dur && *dur && !axdp_duration_parse(dur, &seconds)) {
			rc = cli_usage(c, "stdin:%zu: '%s': expected a duration such as 3600, 90s, 15m, 2h, 7d", lineno,
				       dur);
			break;
		}
		ban.expires = seconds ? now + (int64_t)seconds : 0;
		if (AXDP_GROW(*out, cap, *n)) {
			rc = cli_error(c, CLI_FAIL, "reading stdin: out of memory");
			break;
		}
		(*out)[(*n)++] = ban;
	}
	axdp_lines_free(&lines);
	if (got < 0 && rc == CLI_OK)
		rc = cli_error(c, CLI_FAIL, "%s", err);
	return rc;
}

/* The pinned maps; without a data path the bans go into the file alone and apply when the daemon starts. */
static bool open_maps(struct cli *c, struct axdp_policy_maps *m)
{
	char err[AXDP_PATH_MAX + 256];

	if (axdp_policy_open(m, c->pin_dir, err, sizeof(err)) == 0)
		return true;
	cli_warn(c, "%s: the bans apply when autoxdpd starts", err);
	return false;
}

static void print_until(char *buf, size_t len, int64_t expires)
{
	time_t t = (time_t)expires;
	struct tm tm;

	if (!expires) {
		snprintf(buf, len, "until removed");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, len, "until %Y-%m-%d %H:%M:%S %Z", &tm);
}

/* The nftables backend's banned sets follow the file at once, under its lock; the daemon would at its next step. */
static void nft_follow(struct cli *c, const struct axdp_bans *b)
{
	struct axdp_nft_bans bans = { .v = b->v, .n = b->n, .now = time(NULL) };
	char err[1024];

	if (axdp_nft_apply_bans(&bans, err, sizeof(err)))
		cli_warn(c, "table %s %s: %s; autoxdpd applies the bans at its next step", AXDP_NFT_FAMILY,
			 AXDP_NFT_TABLE, err);
}

static int add(struct cli *c, struct axdp_ban *v, size_t n, bool force)
{
	struct axdp_policy_maps m;
	struct axdp_cidr *nets = malloc((n ? n : 1) * sizeof(*nets));
	struct axdp_bans b;
	char err[AXDP_PATH_MAX + 512], text[AXDP_CIDR_STRLEN], until[64];
	bool maps;
	int rc;

	if (!nets)
		return cli_error(c, CLI_FAIL, "out of memory");
	for (size_t i = 0; i < n; i++)
		nets[i] = v[i].cidr;
	if ((rc = cli_guard(c, "block", nets, n, force)) != CLI_OK) {
		free(nets);
		return rc;
	}
	maps = open_maps(c, &m);
	if (axdp_bans_open(&b, c->cfg.state_dir, err, sizeof(err))) {
		rc = cli_error(c, CLI_FAIL, "%s", err);
		goto out;
	}
	if (b.n + n > AXDP_BAN_ENTRIES) {
		rc = cli_error(c, CLI_FAIL, "%zu bans in force and %zu more: the data path holds %u; remove some first",
			       b.n, n, AXDP_BAN_ENTRIES);
	} else if (maps && axdp_policy_ban_add(&m, nets, n, err, sizeof(err))) {
		rc = cli_error(c, CLI_FAIL, "%s; no ban added to %s", err, b.path);
	} else if (axdp_bans_merge(&b, v, n)) {
		rc = cli_error(c, CLI_FAIL, "out of memory");
	} else if (axdp_bans_save(&b, err, sizeof(err))) {
		/* In the trie but not in the file: the daemon's next start drops them again. */
		rc = cli_error(c, CLI_FAIL, "%s: the bans are in force until autoxdpd restarts", err);
	} else {
		nft_follow(c, &b);
		if (n == 1) {
			axdp_cidr_format(text, sizeof(text), &v[0].cidr);
			print_until(until, sizeof(until), v[0].expires);
			printf("banned %s %s%s\n", text, until, maps ? "" : " (from autoxdpd's start)");
		} else {
			printf("banned %zu networks; %zu bans in force%s\n", n, b.n,
			       maps ? "" : " (from autoxdpd's start)");
		}
	}
	axdp_bans_close(&b);
out:
	if (maps)
		axdp_policy_close(&m);
	free(nets);
	return rc;
}

/* Removes the bans of v[0..n); *removed counts those there were. */
static int remove_bans(struct cli *c, const struct axdp_cidr *v, size_t n, size_t *removed)
{
	struct axdp_policy_maps m;
	struct axdp_cidr *gone = NULL;
	struct axdp_bans b;
	char err[AXDP_PATH_MAX + 512];
	bool maps = open_maps(c, &m);
	ssize_t count;
	int rc = CLI_OK;

	*removed = 0;
	if (axdp_bans_open(&b, c->cfg.state_dir, err, sizeof(err))) {
		rc = cli_error(c, CLI_FAIL, "%s", err);
		goto out;
	}
	count = axdp_bans_drop(&b, v, n, 0, &gone);
	if (count < 0)
		rc = cli_error(c, CLI_FAIL, "out of memory");
	else if (count && maps && axdp_policy_ban_remove(&m, gone, (size_t)count, err, sizeof(err)))
		rc = cli_error(c, CLI_FAIL, "%s; %s is unchanged", err, b.path);
	else if (axdp_bans_save(&b, err, sizeof(err)))
		rc = cli_error(c, CLI_FAIL, "%s: the bans are lifted until autoxdpd restarts", err);
	else {
		*removed = (size_t)count;
		nft_follow(c, &b);
	}
	free(gone);
	axdp_bans_close(&b);
out:
	if (maps)
		axdp_policy_close(&m);
	return rc;
}

void cli_bans_list(struct cli *c, struct json *j)
{
	struct axdp_bans b;
	char err[AXDP_PATH_MAX + 256], text[AXDP_CIDR_STRLEN], until[64];
	int64_t now = (int64_t)time(NULL);

	if (axdp_bans_open(&b, c->cfg.state_dir, err, sizeof(err))) {
		cli_warn(c, "runtime bans: %s", err);
		b.n = 0;
	}
	if (j)
		json_arr(j, "bans");
	else if (b.n)
		printf("\n%s%-43s %-12s %s%s\n", cli_c(c, CLI_BOLD), "BANNED (runtime)", "REMAINING", "UNTIL",
		       cli_c(c, CLI_RESET));
	for (size_t i = 0; i < b.n; i++) {
		const struct axdp_ban *ban = &b.v[i];
		/* Due but not yet expired by the daemon: shown as 0, it goes within a second. */
		int64_t left = ban->expires ? (ban->expires > now ? ban->expires - now : 0) : -1;

		axdp_cidr_format(text, sizeof(text), &ban->cidr);
		if (j) {
			json_obj(j, NULL);
			json_str(j, "cidr", text);
			if (ban->expires) {
				json_i64(j, "expires", ban->expires);
				json_i64(j, "remaining_s", left);
			} else {
				json_null(j, "expires");
				json_null(j, "remaining_s");
			}
			json_obj_end(j);
			continue;
		}
		print_until(until, sizeof(until), ban->expires);
		if (left < 0)
			printf("%-43s %-12s %s\n", text, "-", until);
		else
			printf("%-43s %-12lld %s\n", text, (long long)left, until);
	}
	if (j)
		json_arr_end(j);
	if (b.lock >= 0)
		axdp_bans_close(&b);
}

static int import(struct cli *c, const char *file)
{
	struct axdp_denylist_import res;
	char err[AXDP_PATH_MAX * 2 + 256];

	if (axdp_denylist_import(file, c->config_file, c->dropin_dir, &res, err, sizeof(err)))
		return cli_error(c, CLI_FAIL, "%s; nothing changed", err);
	printf("imported %zu entries of %s into %s, named in %s; %s\n", res.entries, file, res.list_path,
	       res.dropin_path,
	       res.reloaded ? "autoxdpd reloaded" : "autoxdpd is not running: it applies at its start");
	return CLI_OK;
}

static const struct cli_option block_options[] = {
	{ "for", "DURATION", CLI_OPT_FOR, "ban for this long" },
	{ "force", NULL, CLI_OPT_FORCE,
	  "block even a network with the source of $SSH_CONNECTION or a default gateway" },
	{ "comment", "TEXT", CLI_OPT_COMMENT, "the comment written above DenyCIDR= in the drop-in" },
	{ 0 },
};

static int cmd_block(struct cli *c, int argc, char **argv)
{
	struct cli_policy_opts o = {};
	struct axdp_ban *bans = NULL, one;
	uint64_t seconds = 0;
	size_t n = 0, removed;
	const char *sub;
	char **pos;
	int npos, rc;
	bool batch;

	if (cli_getopt(c, argc, argv, cli_policy_opt, &o, &pos, &npos, &rc))
		return rc;
	sub = npos ? pos[0] : "";
	batch = npos == 2 && !strcmp(pos[1], "-");
	if (!strcmp(sub, "import")) {
		if (npos != 2 || o.duration || o.force)
			return cli_usage(c, "import takes one FILE and no options");
		if (geteuid() != 0)
			return cli_error(c, CLI_NOPRIV, "import needs root: it writes to %s", c->dropin_dir);
		return import(c, pos[1]);
	}
	/* DenyCIDR= in the configuration, as for allow, exclude and trust. */
	if (!o.duration && !batch && (strcmp(sub, "remove") || npos != 2))
		return cmd_policy(c, argc, argv);
	if (o.duration && strcmp(sub, "add"))
		return cli_usage(c, "--for goes with add");
	if (o.comment)
		return cli_usage(c, "--comment is written above DenyCIDR=: it goes with add without --for or -");
	if (npos != 2)
		return cli_usage(c, "%s: expected one CIDR, or - to read them from stdin", sub);
	if (c->json)
		return cli_usage(c, "--json: only 'list' has JSON output");
	if (o.duration && !axdp_duration_parse(o.duration, &seconds))
		return cli_usage(c, "--for '%s': expected a duration such as 3600, 90s, 15m, 2h, 7d", o.duration);
	if (geteuid() != 0)
		return cli_error(c, CLI_NOPRIV, "bans need root: they go into the data path's maps");
	cli_load_config(c);
	if (!c->cfg_ok)
		return cli_error(c, CLI_FAIL, "the configuration does not parse (%s): fix it first", c->cfg_err);
	if (batch) {
		rc = read_stdin(c, !strcmp(sub, "add"), seconds, (int64_t)time(NULL), &bans, &n);
	} else {
		rc = parse_network(c, pos[1], strlen(pos[1]), 0, &one.cidr);
		one.expires = (int64_t)time(NULL) + (int64_t)seconds;
		bans = &one;
		n = 1;
	}
	if (rc == CLI_OK && !strcmp(sub, "add")) {
		rc = add(c, bans, n, o.force);
	} else if (rc == CLI_OK) {
		struct axdp_cidr *nets = malloc((n ? n : 1) * sizeof(*nets));

		for (size_t i = 0; nets && i < n; i++)
			nets[i] = bans[i].cidr;
		rc = nets ? remove_bans(c, nets, n, &removed) : cli_error(c, CLI_FAIL, "out of memory");
		free(nets);
		if (rc == CLI_OK && !batch && !removed)
			rc = cmd_policy(c, argc, argv); /* not a ban: maybe DenyCIDR= */
		else if (rc == CLI_OK)
			printf("lifted %zu ban%s\n", removed, removed == 1 ? "" : "s");
	}
	if (bans != &one)
		free(bans);
	return rc;
}

const struct cli_command cli_command_block = {
	.name = "block",
	.run = cmd_block,
	.synopsis = "block add CIDR [--for DURATION] [--comment TEXT] [--force] | block add - [--for DURATION] | "
		    "block remove CIDR|- | block list [--json] | block import FILE",
	.summary = "source networks whose packets are dropped (runtime bans, DenyCIDR=)",
	.help = "With --for, or - (lines 'CIDR [DURATION]' on stdin, --for the default), add bans at run time: into\n"
		"the data path at once and into StateDirectory=/bans, never into the configuration; they expire on\n"
		"time, to the second, and survive restarts and reboots.  DURATION: 3600, 90s, 15m, 2h, 7d, 1w, 1h30m;\n"
		"a line without one (and no --for) bans until removed.  remove lifts a ban (- reads CIDRs from\n"
		"stdin); a CIDR that is not banned is removed from DenyCIDR= instead.  Without --for, add changes\n"
		"DenyCIDR= in FILE.d/50-axdp.conf and reloads the daemon.  list shows both, bans with the seconds\n"
		"left.  import checks a deny list file, copies it beside the drop-ins and names it in\n"
		"DenyListFile= (autoxdp.conf(5)).\n",
	.options = block_options,
	.json = true,
};
