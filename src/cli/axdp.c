// SPDX-License-Identifier: MIT
/*
 * axdp: the operator's command line for the autoxdp firewall.  This file
 * dispatches commands and holds their help; the commands live in
 * cli_*.c, and on, off and reload, which only talk to the service, here.
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

#define ERRLEN 1024
/* How long 'on' waits for the pid file, 'reload' for the daemon to survive its reload. */
#define START_WAIT_S 10
#define RELOAD_WAIT_S 1

static int cmd_on(struct cli *c, int argc, char **argv);
static int cmd_off(struct cli *c, int argc, char **argv);
static int cmd_reload(struct cli *c, int argc, char **argv);
static int cmd_version(struct cli *c, int argc, char **argv);
static int cmd_help(struct cli *c, int argc, char **argv);

static const struct cli_option reload_options[] = {
	{ "force", NULL, CLI_OPT_FORCE,
	  "reload even a deny list that covers the source of $SSH_CONNECTION or a default gateway" },
	{ 0 },
};

/* Dispatch and every usage text: a command's options come from its table, never from prose. */
static const struct cli_command commands[] = {
	{ "status", cmd_status, "status [--json]", "daemon, interfaces, policy, limits, ports, counters (the default)",
	  "Whether protection is active: the daemon (through its PidFile=), each protected interface with its\n"
	  "backend, XDP mode and egress hook, the deny and trust lists, the rate limits the running XDP\n"
	  "program enforces (and any the configuration changes at the next restart), the open ports with\n"
	  "their listeners, and counter totals.\n"
	  "Exit status 3 when protection is not active.\n", NULL, true },
	{ "ports", cmd_ports, "ports [--json]", "ports open to the outside, with bind address and process",
	  "Every open port: protocol, the addresses it is open on (* for all), and the processes listening\n"
	  "on it, or 'AllowTCP=' / 'AllowUDP=' for a port the configuration opens.\n", NULL, true },
	{ "conntrack", cmd_conntrack, "conntrack [tcp|udp|icmp] [--limit N] [--json]",
	  "connections the host opened, newest first",
	  "The connection table the tc egress program fills: remote and local end, protocol, time since\n"
	  "the host last sent on it, and state (closing after the host's FIN; expired once idle past its\n"
	  "configured timeout, until the table reuses the entry).\n",
	  cli_conntrack_options, true },
	{ "stats", cmd_stats,
	  "stats [--rates] [--watch] [--interval S] [--count N] [--interface IFACE] [--format human|json|prometheus]",
	  "packets and bytes per action, reason and interface",
	  "Counters of every verdict and reason, summed over all interfaces or for one, and per interface.\n",
	  cli_stats_options, true },
	{ "watch", cmd_watch, "watch [--interval S] [--count N] [--interface IFACE] [--json]",
	  "live counters with rates (stats --watch --rates)", "The same as 'axdp stats --watch --rates'.\n",
	  cli_watch_options, true },
	{ "events", cmd_events, "events [--count N] [--timeout S] [--json]", "live log of dropped packets (sampled)",
	  "Dropped packets as they happen: time, interface, protocol, source, destination and reason.  The\n"
	  "data path samples at most a few events per second per CPU, and only while this command runs;\n"
	  "'N more drops not sampled' counts the drops left out before an event.\n",
	  cli_events_options, true },
	{ "top", cmd_top, "top [--interval S] [--limit N] [--json]", "top dropped sources and ports (sampled)",
	  "The sources and destination ports of the drops sampled over --interval seconds (default 5),\n"
	  "most frequent first, beside the exact number of drops the counters saw meanwhile.\n",
	  cli_top_options, true },
	{ "allow", cmd_policy, "allow add|remove tcp|udp PORT [--comment TEXT] | allow list [--json]",
	  "ports open even with nothing listening (AllowTCP=, AllowUDP=)",
	  "Changes AllowTCP= or AllowUDP= in FILE.d/50-axdp.conf, reloads the daemon and waits until the\n"
	  "port is open (or closed) in the data path.  PORT may be a range LOW-HIGH.\n",
	  cli_policy_options, true },
	{ "exclude", cmd_policy,
	  "exclude add|remove tcp|udp PORT | bind CIDR [--comment TEXT] | exclude list [--json]",
	  "ports, or bind networks, that never open (ExcludeTCP=, ExcludeUDP=, ExcludeBindCIDR=)",
	  "Changes ExcludeTCP=, ExcludeUDP= or ExcludeBindCIDR= in FILE.d/50-axdp.conf, reloads the daemon\n"
	  "and waits until the change is in force.\n",
	  cli_policy_options, true },
	{ "trust", cmd_policy, "trust add|remove CIDR [--comment TEXT] [--force] | trust list [--json]",
	  "trusted source networks (TrustCIDR=)",
	  "Changes TrustCIDR= in FILE.d/50-axdp.conf and reloads the daemon.  See autoxdp.conf(5).\n",
	  cli_trust_options, true },
	{ "block", cmd_block,
	  "block add CIDR [--for DURATION] [--comment TEXT] [--force] | block add - [--for DURATION] | "
	  "block remove CIDR|- | block list [--json] | block import FILE",
	  "source networks whose packets are dropped (runtime bans, DenyCIDR=)",
	  "With --for, or - (lines 'CIDR [DURATION]' on stdin, --for the default), add bans at run time: into\n"
	  "the data path at once and into StateDirectory=/bans, never into the configuration; they expire on\n"
	  "time, to the second, and survive restarts and reboots.  DURATION: 3600, 90s, 15m, 2h, 7d, 1w, 1h30m;\n"
	  "a line without one (and no --for) bans until removed.  remove lifts a ban (- reads CIDRs from\n"
	  "stdin); a CIDR that is not banned is removed from DenyCIDR= instead.  Without --for, add changes\n"
	  "DenyCIDR= in FILE.d/50-axdp.conf and reloads the daemon.  list shows both, bans with the seconds\n"
	  "left.  import checks a deny list file, copies it beside the drop-ins and names it in\n"
	  "DenyListFile= (autoxdp.conf(5)).\n",
	  cli_block_options, true },
	{ "audit", cmd_audit, "audit on|off", "drop nothing, count and log what would drop (Mode=audit), or enforce again",
	  "Writes Mode=audit (on) or Mode=enforce (off) to FILE.d/50-axdp-mode.conf, reloads the daemon and\n"
	  "waits until the XDP program in force runs that mode.  The daemon holds both modes' programs from\n"
	  "its start and swaps the one asked for into every interface's link atomically: no moment of another\n"
	  "protection, and conntrack, counters and rate buckets stay as they are.\n",
	  NULL, false },
	{ "explain", cmd_explain,
	  "explain tcp|udp|icmp SRC[:PORT] DST[:PORT] [--flags FLAGS] [--type TYPE] [--id N] [--interface IFACE] [--json]",
	  "the verdict the firewall gives a packet, and what decided it",
	  "Builds the packet, runs it through a private copy of the XDP program in force (its knobs, its\n"
	  "allow-lists, deny and trust lists, conntrack), and prints the verdict, the reason and the entries\n"
	  "that decided it: the open port and its listeners, the deny or trust entry, the rate tier and\n"
	  "bucket, the conntrack entry.  Real traffic is not affected: see axdp(8).\n"
	  "IPv6 addresses with a port are written [ADDR]:PORT; TCP and UDP need the destination port, the\n"
	  "source port defaults to 40000.  Bad arguments: exit status 2.\n",
	  cli_explain_options, true },
	{ "on", cmd_on, "on", "start the daemon (systemctl start autoxdp)",
	  "Starts the autoxdp service through systemd and waits for the daemon's pid file.\n", NULL, false },
	{ "off", cmd_off, "off", "remove protection completely: XDP, tc, socket hooks, pins",
	  "Removes every attachment recorded in the pin directory, the pinned maps and the directory.\n"
	  "Stop the service first ('systemctl stop autoxdp'), or systemd may start it again.\n", NULL, false },
	{ "reload", cmd_reload, "reload [--force]", "check the configuration, then make the daemon reload it",
	  "Parses the configuration as the daemon would; if it is valid, sends SIGHUP to the daemon\n"
	  "named by PidFile= and checks that it is still running.  A changed rate limit, timeout,\n"
	  "DropMartians=, AllowDHCPClient= or TrustOpensAllTCP= is compiled into the data path: then\n"
	  "it sends nothing and says to restart (systemctl restart autoxdp, without a gap).  A changed\n"
	  "Mode= is switched by the reload (see 'axdp help audit'), and axdp waits until the XDP program\n"
	  "in force runs it.  A deny list that would cover the source of $SSH_CONNECTION or a default\n"
	  "gateway is refused unless --force.\n",
	  reload_options, false },
	{ "version", cmd_version, "version [--json]", "print the version", "", NULL, true },
	{ "help", cmd_help, "help [COMMAND]", "this help, or a command's", "", NULL, false },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; name && i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
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
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
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
			fprintf(out, "%s %s--%s%s%s", o == cli_global_options ? "" : ";", lead, o->name, o->arg ? " " : "",
				o->arg ? o->arg : "");
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
		cli_warn(c, "autoxdpd (pid %d) exits when it finds its pins gone, but its service manager may start it "
			    "again: stop the service ('systemctl stop autoxdp')", (int)pid);
	return CLI_OK;
}

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
		return cli_error(c, CLI_FAIL, "systemd is not running here: start autoxdpd through your service "
					      "manager, or as root with 'autoxdpd &'");
	rc = run(start);
	if (rc)
		return cli_error(c, CLI_FAIL, "'systemctl start autoxdp' failed%s: see 'systemctl status autoxdp' "
					      "and 'journalctl -u autoxdp'", rc < 0 ? " to run" : "");
	for (int i = 0; i < START_WAIT_S * 10 && !(pid = cli_daemon_pid(c)); i++)
		cli_sleep(0.1);
	if (!pid)
		return cli_error(c, CLI_FAIL, "the service started, but no autoxdpd pid appeared in %s within %d s: "
					      "see 'journalctl -u autoxdp'", c->cfg.pid_file, START_WAIT_S);
	printf("autoxdpd running (pid %d)\n", (int)pid);
	return CLI_OK;
}

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
		return cli_error(c, CLI_INACTIVE, "autoxdpd is not running (no live pid in %s): start it with 'axdp on'",
				 c->cfg.pid_file);
	/* The daemon would refuse the whole configuration and say so only in its log. */
	if (cli_limits_collect(c, &limits, err, sizeof(err)) == 0 && limits.restart_pending)
		return cli_error(c, CLI_FAIL, "not reloading: %s changed, and data-path settings ([RateLimit], "
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
			return cli_error(c, CLI_FAIL, "Mode=%s did not take effect: the XDP program in force still runs "
					 "Mode=%s; see 'journalctl -u autoxdp' ('systemctl restart autoxdp' applies it)",
					 cli_mode_name(c->cfg.mode == AXDP_MODE_AUDIT), cli_mode_name(running));
		printf("Mode=%s in force%s\n", cli_mode_name(c->cfg.mode == AXDP_MODE_AUDIT),
		       c->cfg.mode == AXDP_MODE_AUDIT ? ": nothing is dropped, drops are counted and logged as would-drop"
						      : ": drops are enforced");
	}
	return CLI_OK;
}

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
		case CLI_OPT_PIN_DIR: c.pin_dir = optarg; c.pin_dir_given = true; break;
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
