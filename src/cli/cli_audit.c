// SPDX-License-Identifier: MIT
/*
 * axdp audit on|off: Mode= in a drop-in of its own, FILE.d/50-axdp-mode.conf,
 * then a reload.  The daemon holds the programs of both modes from its
 * start (mode_switch.h) and swaps the wanted one into every pinned XDP
 * link, one atomic update per interface: no packet meets a third state,
 * and conntrack, counters and rate buckets are the same maps before and
 * after.  The mode is then read back from the XDP program in force.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "dropin.h"
#include "pidfile.h"
#include "cli.h"

#define MODE_DROPIN_NAME "50-axdp-mode.conf"
#define SWITCH_WAIT_S 5
#define SWITCH_POLL_S 0.05

bool cli_wait_mode(const struct cli *c, bool audit)
{
	for (int i = 0; i < SWITCH_WAIT_S / SWITCH_POLL_S; i++) {
		if (cli_running_audit(c) == audit)
			return true;
		if (!cli_sleep(SWITCH_POLL_S))
			break;
	}
	return cli_running_audit(c) == audit;
}

/* The drop-in's text before the change, to put back; NULL when there was none. */
static char *read_whole(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = strdup("");
	}
	fclose(f);
	return text;
}

/* Writes Mode= and checks that the configuration the daemon will load says it; puts the old file back if not. */
static int set_mode(struct cli *c, bool audit, const char *path)
{
	char *old = read_whole(path), text[256], err[AXDP_CONFIG_ERRLEN];
	struct axdp_config cfg;
	int rc = CLI_OK;

	snprintf(text, sizeof(text), "# Written by 'axdp audit %s'; see axdp(8).\n[Daemon]\nMode=%s\n",
		 audit ? "on" : "off", cli_mode_name(audit));
	if (axdp_dropin_write(path, axdp_dropin_fill_text, NULL, text, err, sizeof(err))) {
		free(old);
		return cli_error(c, CLI_FAIL, "%s", err);
	}
	if (axdp_config_load(&cfg, c->config_file, c->dropin_dir, err, sizeof(err))) {
		rc = cli_error(c, CLI_FAIL, "the configuration would not parse with %s (%s); nothing changed", path,
			       err);
	} else {
		if ((cfg.mode == AXDP_MODE_AUDIT) != audit)
			rc = cli_error(c, CLI_FAIL,
				       "a file read after %s sets Mode= and overrides it: change it there (see "
				       "'autoxdpd --check-config'); nothing changed",
				       path);
		axdp_config_free(&cfg);
	}
	if (rc != CLI_OK &&
	    (old ? axdp_dropin_write(path, axdp_dropin_fill_text, NULL, old, err, sizeof(err)) : unlink(path)))
		cli_warn(c, "putting back %s: %s", path, old ? err : strerror(errno));
	free(old);
	return rc;
}

static int cmd_audit(struct cli *c, int argc, char **argv)
{
	char path[AXDP_PATH_MAX + 32], err[512];
	struct cli_limits limits;
	char **pos;
	int npos, rc, running;
	bool audit;
	pid_t pid;

	if (cli_getopt(c, argc, argv, NULL, NULL, &pos, &npos, &rc))
		return rc;
	if (npos != 1 || (strcmp(pos[0], "on") && strcmp(pos[0], "off")))
		return cli_usage(c, npos > 1 ? "unexpected argument '%s'" : "expected 'on' or 'off'%s",
				 npos > 1 ? pos[1] : "");
	audit = !strcmp(pos[0], "on");
	cli_load_config(c);
	if ((rc = cli_require_privileges(c)) != CLI_OK)
		return rc;
	if (!c->cfg_ok)
		return cli_error(c, CLI_FAIL, "the configuration does not parse (%s): fix it first", c->cfg_err);
	pid = cli_daemon_pid(c);
	/* The daemon refuses a whole reload that changes another data-path setting: say so before writing anything. */
	if (pid && cli_limits_collect(c, &limits, err, sizeof(err)) == 0 && limits.restart_pending)
		return cli_error(c, CLI_FAIL,
				 "%s already changes data-path settings that apply only at restart, and the "
				 "daemon refuses to reload it: 'systemctl restart autoxdp' first ('axdp status' shows "
				 "what changes); nothing changed",
				 c->config_file);
	if (mkdir(c->dropin_dir, 0755) && errno != EEXIST)
		return cli_error(c, CLI_FAIL, "creating %s: %s", c->dropin_dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", c->dropin_dir, MODE_DROPIN_NAME);
	if ((rc = set_mode(c, audit, path)) != CLI_OK)
		return rc;
	running = cli_running_audit(c);
	if (!pid) {
		printf("Mode=%s written to %s; autoxdpd is not running, it applies when it starts%s\n",
		       cli_mode_name(audit), path,
		       running >= 0 && running != audit ? " (the pinned data path keeps its mode until then)" : "");
		return CLI_OK;
	}
	if (axdp_daemon_reload(pid, err, sizeof(err)))
		return cli_error(c, errno == EPERM ? CLI_NOPRIV : CLI_FAIL, "%s", err);
	if (!cli_wait_mode(c, audit))
		return cli_error(
			c, CLI_FAIL,
			"Mode=%s is in %s, but the data path in force (XDP program or nftables table) still runs Mode=%s after %d s: "
			"see 'journalctl -u autoxdp'; 'systemctl restart autoxdp' applies it without a gap",
			cli_mode_name(audit), path, cli_mode_name(!audit), SWITCH_WAIT_S);
	printf("Mode=%s in force on every interface%s (written to %s)\n", cli_mode_name(audit),
	       audit ? ": nothing is dropped, drops are counted and logged as would-drop" : ": drops are enforced",
	       path);
	return CLI_OK;
}

const struct cli_command cli_command_audit = {
	.name = "audit",
	.run = cmd_audit,
	.synopsis = "audit on|off",
	.summary = "drop nothing, count and log what would drop (Mode=audit), or enforce again",
	.help = "Writes Mode=audit (on) or Mode=enforce (off) to FILE.d/50-axdp-mode.conf, reloads the daemon and\n"
		"waits until the XDP program in force runs that mode.  The daemon holds both modes' programs from\n"
		"its start and swaps the one asked for into every interface's link atomically: no moment of another\n"
		"protection, and conntrack, counters and rate buckets stay as they are.\n",
};
