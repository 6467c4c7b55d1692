// SPDX-License-Identifier: MIT
/*
 * axdp: the operator's command line for the autoxdp firewall.  This file
 * dispatches the commands CLI_COMMANDS lists (cli.h) and writes every
 * usage text from their rows; each command and its row live in cli_*.c,
 * and on, off and reload, which only talk to the service, version and
 * help here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "cli.h"
#include "denylist.h"
#include "loader.h"
#include "nft_backend.h"
#include "pidfile.h"
#include "util.h"

#define ERRLEN 1024
/* How long 'on' waits for the pid file, 'reload' for the daemon to survive its reload. */
#define START_WAIT_S 10
#define RELOAD_WAIT_S 1

/*
 * Dispatch and every usage text, in the order 'axdp help' lists them: a
 * command's options come from its table, never from prose.
 */
#define COMMAND_ROW(name) &cli_command_##name,
static const struct cli_command *const commands[] = { CLI_COMMANDS(COMMAND_ROW) };
#undef COMMAND_ROW

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(commands); i++)
		if (strcmp(name, commands[i]->name) == 0)
			return commands[i];
	return NULL;
}

/* The short form of an option, or 0: a letter id is one. */
static char short_form(const struct cli_option *o)
{
	return o->id < 0x80 ? (char)o->id : 0;
}

/*
 * "  --NAME ARG   help", the help aligned past the longest option; in a
 * table with short forms, "  -X, --NAME ARG" and "      --NAME" beside them.
 */
static void print_options(FILE *out, const struct cli_option *o)
{
	bool shorts = false;
	int width = 0;

	for (const struct cli_option *p = o; p && p->name; p++)
		shorts |= short_form(p) != 0;
	for (const struct cli_option *p = o; p && p->name; p++) {
		int w = (int)(strlen(p->name) + (p->arg ? 1 + strlen(p->arg) : 0)) + (shorts ? 4 : 0);

		width = w > width ? w : width;
	}
	for (; o && o->name; o++) {
		char flag[64], lead[8] = "";

		if (shorts)
			snprintf(lead, sizeof(lead), short_form(o) ? "-%c, " : "    ", short_form(o));
		snprintf(flag, sizeof(flag), "%s--%s%s%s", lead, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-*s %s\n", width + 4, flag, o->help);
	}
}

static void general_usage(FILE *out)
{
	fprintf(out, "Usage: axdp [-p DIR] [-c FILE] [--json] [COMMAND [ARG]...]\n"
		     "The autoxdp firewall's command line.  Without a command: status.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "\nGlobal options, before or after the command:\n");
	print_options(out, cli_global_options);
	fprintf(out, "\n'axdp help COMMAND' describes a command.  See axdp(8).\n");
}

void cli_print_usage(FILE *out, const char *name, bool full)
{
	const struct cli_command *cmd = find_command(name);

	if (!cmd) {
		general_usage(out);
		return;
	}
	fprintf(out, "Usage: axdp %s\n", cmd->synopsis);
	if (full) {
		fprintf(out, "%s: %s.\n\n%s", cmd->name, cmd->summary, cmd->help);
		print_options(out, cmd->options);
		fprintf(out, "%s", *cmd->help || cmd->options ? "\n" : "");
	}
	if (full) {
		fprintf(out, "Global options:");
		for (const struct cli_option *o = cli_global_options; o->name; o++) {
			char lead[8] = "";

			if (short_form(o))
				snprintf(lead, sizeof(lead), "-%c, ", short_form(o));
			fprintf(out, "%s %s--%s%s%s", o == cli_global_options ? "" : ";", lead, o->name,
				o->arg ? " " : "", o->arg ? o->arg : "");
		}
		fprintf(out, ".  See axdp(8).\n");
	} else
		fprintf(out, "'axdp help %s' for more.\n", cmd->name);
}

/* Commands without options of their own still take the global ones, and nothing else. */
static int no_arguments(struct cli *c, int argc, char **argv, int *rc)
{
	char **pos;
	int npos;

	if (cli_getopt(c, argc, argv, NULL, NULL, &pos, &npos, rc))
		return -1;
	if (npos)
		return *rc = cli_usage(c, "unexpected argument '%s'", pos[0]), -1;
	return 0;
}

static int cmd_version(struct cli *c, int argc, char **argv)
{
	struct json j;
	int rc;

	if (no_arguments(c, argc, argv, &rc))
		return rc;
	if (!c->json) {
		printf("axdp %s\n", AXDP_VERSION);
		return CLI_OK;
	}
	json_start(&j, stdout);
	json_obj(&j, NULL);
	json_str(&j, "version", AXDP_VERSION);
	json_obj_end(&j);
	json_end(&j);
	return CLI_OK;
}

const struct cli_command cli_command_version = {
	.name = "version",
	.run = cmd_version,
	.synopsis = "version [--json]",
	.summary = "print the version",
	.help = "",
	.json = true,
};

static int cmd_help(struct cli *c, int argc, char **argv)
{
	char **pos;
	int npos, rc;

	if (cli_getopt(c, argc, argv, NULL, NULL, &pos, &npos, &rc))
		return rc;
	if (npos > 1)
		return cli_usage(c, "unexpected argument '%s'", pos[1]);
	if (npos == 1 && !find_command(pos[0]))
		return cli_usage(c, "no command '%s'", pos[0]);
	cli_print_usage(stdout, npos ? pos[0] : NULL, true);
	return CLI_OK;
}

const struct cli_command cli_command_help = {
	.name = "help",
	.run = cmd_help,
	.synopsis = "help [COMMAND]",
	.summary = "this help, or a command's",
	.help = "",
};

static int cmd_off(struct cli *c, int argc, char **argv)
{
	char err[ERRLEN];
	pid_t pid;
	int rc;

	if (no_arguments(c, argc, argv, &rc))
		return rc;
	cli_load_config(c);
	if ((rc = cli_require_privileges(c)) != CLI_OK)
		return rc;
	pid = cli_daemon_pid(c);
	if (axdp_remove_all(c->pin_dir, err, sizeof(err)) || axdp_nft_remove(err, sizeof(err)))
		return cli_error(c, CLI_FAIL, "turning protection off: %s", err);
	printf("protection off: XDP, tc egress, socket hooks and pins under %s removed\n", c->pin_dir);
	if (pid)
		cli_warn(c,
			 "autoxdpd (pid %d) exits when it finds its pins gone, but its service manager may start it "
			 "again: stop the service ('systemctl stop autoxdp')",
			 (int)pid);
	return CLI_OK;
}

const struct cli_command cli_command_off = {
	.name = "off",
	.run = cmd_off,
	.synopsis = "off",
	.summary = "remove protection completely: XDP, tc, socket hooks, pins",
	.help = "Removes every attachment recorded in the pin directory, the pinned maps and the directory.\n"
		"Stop the service first ('systemctl stop autoxdp'), or systemd may start it again.\n",
};

/* Runs argv, waits; its exit status, or -1. */
static int run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The daemon refuses a configuration that does not parse: say why now, rather than start or signal it in vain. */
static int config_parses(struct cli *c, const char *consequence)
{
	struct axdp_config next;
	char err[AXDP_CONFIG_ERRLEN];

	if (axdp_config_load(&next, c->config_file, c->dropin_dir, err, sizeof(err)))
		return cli_error(c, CLI_FAIL, "%s: %s", err, consequence);
	axdp_config_free(&next);
	return CLI_OK;
}

static int cmd_on(struct cli *c, int argc, char **argv)
{
	char *const start[] = { "systemctl", "start", "autoxdp", NULL };
	pid_t pid;
	int rc;

	if (no_arguments(c, argc, argv, &rc))
		return rc;
	if ((rc = config_parses(c, "autoxdpd would refuse to start: fix it first")) != CLI_OK)
		return rc;
	pid = cli_daemon_pid(c);
	if (pid) {
		printf("autoxdpd is already running (pid %d)\n", (int)pid);
		return CLI_OK;
	}
	if ((rc = cli_require_privileges(c)) != CLI_OK)
		return rc;
	/* The test systemd itself uses for "booted with systemd" (sd_booted). */
	if (access("/run/systemd/system", F_OK))
		return cli_error(c, CLI_FAIL,
				 "systemd is not running here: start autoxdpd through your service "
				 "manager, or as root with 'autoxdpd &'");
	rc = run(start);
	if (rc)
		return cli_error(c, CLI_FAIL,
				 "'systemctl start autoxdp' failed%s: see 'systemctl status autoxdp' "
				 "and 'journalctl -u autoxdp'",
				 rc < 0 ? " to run" : "");
	for (int i = 0; i < START_WAIT_S * 10 && !(pid = cli_daemon_pid(c)); i++)
		cli_sleep(0.1);
	if (!pid)
		return cli_error(c, CLI_FAIL,
				 "the service started, but no autoxdpd pid appeared in %s within %d s: "
				 "see 'journalctl -u autoxdp'",
				 c->cfg.pid_file, START_WAIT_S);
	printf("autoxdpd running (pid %d)\n", (int)pid);
	return CLI_OK;
}

const struct cli_command cli_command_on = {
	.name = "on",
	.run = cmd_on,
	.synopsis = "on",
	.summary = "start the daemon (systemctl start autoxdp)",
	.help = "Starts the autoxdp service through systemd and waits for the daemon's pid file.\n",
};

static int force_opt(struct cli *c, int id, const char *arg, void *st)
{
	(void)c, (void)arg;
	if (id != CLI_OPT_FORCE)
		return CLI_USAGE;
	*(bool *)st = true;
	return CLI_OK;
}

/* The deny lists the reload would load must not cut the operator off (cli_guard). */
static int reload_guarded(struct cli *c, bool force)
{
	struct axdp_cidr_list deny;
	struct axdp_config next;
	char err[AXDP_CONFIG_ERRLEN];
	int rc;

	if (axdp_config_load(&next, c->config_file, c->dropin_dir, err, sizeof(err)))
		return cli_error(c, CLI_FAIL, "%s: not reloading", err);
	rc = axdp_denylist_collect(&next, &deny, err, sizeof(err));
	axdp_config_free(&next);
	if (rc) /* the daemon keeps its running list and logs why */
		return CLI_OK;
	rc = cli_guard(c, "reload, denying", deny.v, deny.n, force);
	free(deny.v);
	return rc;
}

static int cmd_reload(struct cli *c, int argc, char **argv)
{
	struct cli_limits limits;
	bool force = false;
	char err[512], **pos;
	pid_t pid;
	int rc, npos, running;

	if (cli_getopt(c, argc, argv, force_opt, &force, &pos, &npos, &rc))
		return rc;
	if (npos)
		return cli_usage(c, "unexpected argument '%s'", pos[0]);
	if ((rc = config_parses(c, "not reloading, autoxdpd keeps its running configuration")) != CLI_OK ||
	    (rc = reload_guarded(c, force)) != CLI_OK)
		return rc;
	pid = cli_daemon_pid(c);
	if (!pid)
		return cli_error(c, CLI_INACTIVE,
				 "autoxdpd is not running (no live pid in %s): start it with 'axdp on'",
				 c->cfg.pid_file);
	/* The daemon would refuse the whole configuration and say so only in its log. */
	if (cli_limits_collect(c, &limits, err, sizeof(err)) == 0 && limits.restart_pending)
		return cli_error(
			c, CLI_FAIL,
			"not reloading: %s changed, and data-path settings ([RateLimit], "
			"[Conntrack] timeouts, DropMartians=, AllowDHCPClient=, TrustOpensAllTCP=) apply only at restart, without a gap: "
			"systemctl restart autoxdp ('axdp status' shows what changes)",
			c->config_file);
	running = cli_running_audit(c);
	if (axdp_daemon_reload(pid, err, sizeof(err)))
		return cli_error(c, errno == EPERM ? CLI_NOPRIV : CLI_FAIL, "%s", err);
	cli_sleep(RELOAD_WAIT_S);
	if (cli_daemon_pid(c) != pid)
		return cli_error(c, CLI_FAIL, "autoxdpd (pid %d) is gone after the reload: see 'journalctl -u autoxdp'",
				 (int)pid);
	printf("autoxdpd (pid %d) reloaded %s\n", (int)pid, c->config_file);
	/* A changed Mode= is the one data-path setting a reload switches: say when it is in force, or that it is not. */
	if (c->cfg_ok && running >= 0 && running != (c->cfg.mode == AXDP_MODE_AUDIT)) {
		if (!cli_wait_mode(c, c->cfg.mode == AXDP_MODE_AUDIT))
			return cli_error(
				c, CLI_FAIL,
				"Mode=%s did not take effect: the XDP program in force still runs "
				"Mode=%s; see 'journalctl -u autoxdp' ('systemctl restart autoxdp' applies it)",
				cli_mode_name(c->cfg.mode == AXDP_MODE_AUDIT), cli_mode_name(running));
		printf("Mode=%s in force%s\n", cli_mode_name(c->cfg.mode == AXDP_MODE_AUDIT),
		       c->cfg.mode == AXDP_MODE_AUDIT
			       ? ": nothing is dropped, drops are counted and logged as would-drop"
			       : ": drops are enforced");
	}
	return CLI_OK;
}

static const struct cli_option reload_options[] = {
	{ "force", NULL, CLI_OPT_FORCE,
	  "reload even a deny list that covers the source of $SSH_CONNECTION or a default gateway" },
	{ 0 },
};

const struct cli_command cli_command_reload = {
	.name = "reload",
	.run = cmd_reload,
	.synopsis = "reload [--force]",
	.summary = "check the configuration, then make the daemon reload it",
	.help = "Parses the configuration as the daemon would; if it is valid, sends SIGHUP to the daemon\n"
		"named by PidFile= and checks that it is still running.  A changed rate limit, timeout,\n"
		"DropMartians=, AllowDHCPClient= or TrustOpensAllTCP= is compiled into the data path: then\n"
		"it sends nothing and says to restart (systemctl restart autoxdp, without a gap).  A changed\n"
		"Mode= is switched by the reload (see 'axdp help audit'), and axdp waits until the XDP program\n"
		"in force runs it.  A deny list that would cover the source of $SSH_CONNECTION or a default\n"
		"gateway is refused unless --force.\n",
	.options = reload_options,
};

int main(int argc, char **argv)
{
	static char *status_argv[] = { "status", NULL };
	struct option globals[CLI_MAX_OPTIONS];
	char shorts[16];
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
	struct cli c = { .config_file = AXDP_CONFIG_FILE, .pin_dir = AXDP_PIN_DIR_DEFAULT };
	const struct cli_command *cmd;
	bool help = false;
	int opt, rc;

	snprintf(c.dropin_dir, sizeof(c.dropin_dir), "%s.d", c.config_file);
	c.tty = isatty(STDOUT_FILENO);
	c.color = c.tty && !(no_color && *no_color) && !(term && strcmp(term, "dumb") == 0);
	opterr = 0;
	/* '+': options up to the command are global; the command parses the rest (globals included). */
	cli_getopt_tables(NULL, "+:", globals, shorts);
	while ((opt = getopt_long(argc, argv, shorts, globals, NULL)) != -1) {
		switch (opt) {
		case CLI_OPT_PIN_DIR:
			c.pin_dir = optarg;
			c.pin_dir_given = true;
			break;
		case CLI_OPT_CONFIG:
			c.config_file = optarg;
			snprintf(c.dropin_dir, sizeof(c.dropin_dir), "%s.d", optarg);
			break;
		case CLI_OPT_JSON: c.json = true; break;
		case CLI_OPT_HELP: help = true; break;
		case CLI_OPT_VERSION: printf("axdp %s\n", AXDP_VERSION); return CLI_OK;
		case ':': return cli_usage(&c, "option '%s' needs a value", argv[optind - 1]);
		default: return cli_usage(&c, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc) {
		if (help) {
			general_usage(stdout);
			return CLI_OK;
		}
		argc = 1;
		argv = status_argv;
		optind = 0;
	}
	cmd = find_command(argv[optind]);
	if (!cmd)
		return cli_usage(&c, "unknown command '%s'", argv[optind]);
	c.cmd = cmd->name;
	c.command = cmd;
	if (help) {
		cli_print_usage(stdout, cmd->name, true);
		return CLI_OK;
	}
	if (c.json && !cmd->json)
		return cli_usage(&c, "--json: this command has no JSON output");
	rc = cmd->run(&c, argc - optind, argv + optind);
	/* Freed although the process ends: the sanitizer build reports every leak, and a leak report is noise. */
	if (c.cfg_loaded)
		axdp_config_free(&c.cfg);
	return rc;
}
