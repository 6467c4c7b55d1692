/* SPDX-License-Identifier: MIT */
/*
 * What the axdp commands share: the invocation (global options, the
 * effective configuration), exit codes, option parsing, access to the
 * pinned maps, the daemon's pid, and output helpers (units, colour,
 * addresses, JSON).  Only axdp links the cli_*.c files.
 */
#ifndef AXDP_CLI_H
#define AXDP_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "autoxdp_abi.h"
#include "abi_names.h"
#include "config.h"
#include "conntrack_map.h"

enum cli_exit {
	CLI_OK = 0,
	CLI_FAIL = 1,     /* something went wrong; the message says what */
	CLI_USAGE = 2,    /* bad command line */
	CLI_INACTIVE = 3, /* protection is not active (nothing pinned, or nothing attached) */
	CLI_NOPRIV = 4,   /* needs root (CAP_BPF) */
};

struct cli_command;

struct cli {
	const char *cmd;                   /* the command being run, for messages */
	const struct cli_command *command; /* ... and its row (CLI_COMMANDS) */
	const char *pin_dir;               /* --pin-dir, else the configuration's PinDir= */
	bool pin_dir_given;
	const char *config_file; /* --config, else /etc/autoxdp.conf */
	char dropin_dir[AXDP_PATH_MAX];
	bool json;
	bool tty;               /* stdout is a terminal */
	bool color;             /* ... and NO_COLOR is not set */
	struct axdp_config cfg; /* effective configuration; the defaults if it does not parse */
	bool cfg_loaded;
	bool cfg_ok;
	char cfg_err[AXDP_CONFIG_ERRLEN];
};

/* ---- command line ---- */

/* Option ids of the global options, accepted before and after the command. */
enum {
	CLI_OPT_PIN_DIR = 'p',
	CLI_OPT_CONFIG = 'c',
	CLI_OPT_HELP = 'h',
	CLI_OPT_VERSION = 'V',
	CLI_OPT_JSON = 0x100,
	CLI_OPT_FIRST_LOCAL = 0x200, /* commands number their own options from here */
	/* allow, exclude, trust and block: block hands what is not a ban to cmd_policy, which parses again. */
	CLI_OPT_COMMENT = CLI_OPT_FIRST_LOCAL,
	CLI_OPT_FORCE,
	CLI_OPT_FOR,
};

/* What those options say; cli_policy_opt() is the on_opt of all four. */
struct cli_policy_opts {
	const char *comment;
	const char *duration; /* block's --for */
	bool force;
};

int cli_policy_opt(struct cli *c, int id, const char *arg, void *st);

/* One option of a command: the row getopt matches and 'axdp help COMMAND' prints. */
struct cli_option {
	const char *name; /* --NAME */
	const char *arg;  /* the value's placeholder (N, S, IFACE), NULL for a flag */
	int id;           /* what on_opt receives: CLI_OPT_FIRST_LOCAL and up */
	const char *help; /* one line */
};

/*
 * A command: its line in 'axdp help', its help page, its options and what
 * runs it, defined beside its code (CLI_COMMANDS below lists them).  axdp.c
 * dispatches through them and writes every usage text from them, so help
 * and commands cannot drift apart.
 */
struct cli_command {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *synopsis;
	const char *summary;
	const char *help;                 /* what follows the summary in 'axdp help COMMAND', before the options */
	const struct cli_option *options; /* its own options, ending in { 0 }; NULL: none */
	bool json;                        /* takes --json */
};

/*
 * getopt_long over the arguments of c->command (argv[0] is its name): its
 * options and the global ones; --json only if it takes it.  Global options
 * are handled here; the command's own ones go to on_opt, which returns 0,
 * or a usage error from cli_usage().  On return *pos points at the
 * positional arguments and *npos counts them.  Returns -1 when the command
 * should exit with *rc (help printed, or usage error).
 */
int cli_getopt(struct cli *c, int argc, char **argv, int (*on_opt)(struct cli *c, int id, const char *arg, void *st),
	       void *st, char ***pos, int *npos, int *rc);

/* Options every command takes, before or after its name; those with a letter id have that short form. */
extern const struct cli_option cli_global_options[];

/* Room for a command's options and the global ones, and the { 0 } that ends them. */
#define CLI_MAX_OPTIONS 32

/*
 * getopt_long's view of local (NULL: none) and the global options: opts
 * (ending in { 0 }) and the short-option string, after prefix.
 */
void cli_getopt_tables(const struct cli_option *local, const char *prefix, struct option opts[CLI_MAX_OPTIONS],
		       char shorts[16]);

/* "axdp: CMD: reason" and the command's usage on stderr; returns CLI_USAGE. */
int cli_usage(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the command's usage from its row (NULL or no such command: the list of commands). */
void cli_print_usage(FILE *out, const char *cmd, bool full);

/* "axdp: CMD: message" on stderr; returns rc. */
int cli_error(struct cli *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cli_warn(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * What the command shows comes from the XDP data path alone: a note on
 * stderr, when interfaces are on nftables, of what it misses there.
 */
void cli_note_nftables(struct cli *c, const char *what);

/* Option values. */
int cli_parse_seconds(struct cli *c, const char *opt, const char *arg, double min, double *out);
int cli_parse_count(struct cli *c, const char *opt, const char *arg, unsigned long *out);

/* Loads the configuration once (read commands carry on with the defaults and a warning). */
void cli_load_config(struct cli *c);

/* ---- the firewall ---- */

/* CLI_OK, or the privilege message and CLI_NOPRIV. */
int cli_require_privileges(struct cli *c);

/* A pinned map of the pin directory; -1 with the reason printed and *rc set (CLI_INACTIVE, CLI_NOPRIV, CLI_FAIL). */
int cli_open_map(struct cli *c, const char *name, int *rc);
/* The same, quietly: -1 with errno when it is not there. */
int cli_try_map(const struct cli *c, const char *name);
/* Both conntrack maps, as cli_open_map opens one: 0, or -1 with *rc set and none open. */
int cli_open_conntrack(struct cli *c, struct axdp_conntrack *ct, int *rc);

struct bpf_map_info;
/*
 * A map of the XDP program in force that is not pinned (event_budget,
 * the .rodata libbpf names OBJECT.rodata), found through the pinned
 * links: the first whose name ends in name, its info in *info when not
 * NULL.  -1 when no XDP program runs or it has no such map.
 */
int cli_xdp_map(const struct cli *c, const char *name, struct bpf_map_info *info);
/* The same for the socket hooks' program: loaded from the same object, with the same .rodata. */
int cli_hook_map(const struct cli *c, const char *name, struct bpf_map_info *info);
/* The id of the XDP program in force on ifname (NULL: the first pinned link's), its interface in found; 0: none. */
__u32 cli_xdp_prog_id(const struct cli *c, const char *ifname, char *found, size_t len);

/* autoxdpd's pid from PidFile=, 0 when not running. */
pid_t cli_daemon_pid(struct cli *c);

/* ---- time ---- */

uint64_t cli_now_ns(int clock);
/* The data path's clock (bpf_ktime_get_coarse_ns) as wall time, "HH:MM:SS.mmm" or RFC 3339. */
void cli_format_mono(char *buf, size_t len, uint64_t mono_ns, bool rfc3339);
/* Sleeps up to seconds; false when interrupted by SIGINT/SIGTERM (cli_stop). */
bool cli_sleep(double seconds);
void cli_catch_signals(void);
extern volatile int cli_stop;

/* ---- output ---- */

enum cli_color { CLI_RESET, CLI_BOLD, CLI_RED, CLI_GREEN, CLI_YELLOW, CLI_DIM };
const char *cli_c(const struct cli *c, enum cli_color color);

/* 1234567 -> "1.2M"; below 1000 the exact number. */
void cli_si(char *buf, size_t len, double v, const char *unit);
/* Bytes: "412 B", "1.2 kB". */
void cli_bytes(char *buf, size_t len, double bytes);
/* Exact, in groups of three: "1,048,576". */
void cli_count(char *buf, size_t len, uint64_t v);

/* addr:port, [v6]:port; port 0 prints the address alone. */
void cli_addr_port(char *buf, size_t len, const struct axdp_addr *a, unsigned int port);
const char *cli_proto_name(unsigned int proto);

/* ---- JSON, compact, one document per line ---- */

struct json {
	FILE *out;
	int depth;
	bool need_comma[32];
};

void json_start(struct json *j, FILE *out);
void json_end(struct json *j); /* the newline after a document */
void json_obj(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *v); /* NULL: null */
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_num(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);

/* ---- open ports, for ports and status (cli_ports.c) ---- */

struct cli_listener {
	struct axdp_addr addr;
	bool wildcard;
	int pid; /* 0: not found (another namespace's process, or no permission) */
	char comm[16];
};

struct cli_port {
	uint8_t l4; /* enum axdp_l4 */
	uint16_t port;
	uint32_t flags;          /* the port_allow slot */
	bool allowed;            /* AllowTCP= / AllowUDP= */
	struct axdp_addr *addrs; /* open on these only (AXDP_PORT_OPEN_ADDR) */
	size_t n_addrs, cap_addrs;
	struct cli_listener *listeners;
	size_t n_listeners, cap_listeners;
};

struct cli_ports {
	struct cli_port *v;
	size_t n, cap;
};

/* The open ports from port_allow and addr_allow, with sock_diag's listeners; CLI_OK or an exit code. */
int cli_ports_collect(struct cli *c, struct cli_ports *out);
void cli_ports_free(struct cli_ports *p);
void cli_ports_print(const struct cli *c, const struct cli_ports *p);
void cli_ports_json(struct json *j, const struct cli_ports *p); /* the "ports" member */
/* The row of (l4, port), or NULL when it is not open. */
struct cli_port *cli_ports_find(const struct cli_ports *p, int l4, unsigned port);
/* Where a port is open and who listens, one line; and the same as a JSON object member key (NULL in arrays). */
void cli_port_detail(const struct cli *c, const struct cli_port *r);
void cli_port_json(struct json *j, const char *key, const struct cli_port *r);

/* ---- rate limits and source switches in force, for status (cli_knobs.c) ---- */

enum cli_limit {
	CLI_LIMIT_SYN, /* per source and port */
	CLI_LIMIT_STRICT_SYN,
	CLI_LIMIT_UDP,
	CLI_LIMIT_UDP_PORT_PACKETS, /* per port, shared by all sources */
	CLI_LIMIT_UDP_PORT_BYTES,
	CLI_LIMIT_ICMP_ECHO, /* per host */
	CLI_LIMIT_COUNT,
};

/* A limit as autoxdp.conf(5) writes it: per_s 0 is off; burst 0 when off or when it has none (per-port budgets). */
struct cli_rate {
	uint64_t per_s, burst;
};

struct cli_limit_values {
	struct cli_rate rate[CLI_LIMIT_COUNT];
	unsigned int source_prefix_v4, source_prefix_v6;
	bool drop_martians, allow_dhcp_client, trust_opens_all_tcp;
};

struct cli_limits {
	bool running; /* read from the XDP program in force; else the configuration's */
	struct cli_limit_values now;
	/* The configuration's numbers, and what they become in the data path: a restart applies them. */
	struct cli_limit_values configured, after_restart;
	bool timeouts_pending; /* the [Conntrack] timeouts differ too */
	bool restart_pending;  /* the daemon refuses to reload this configuration: a restart applies it */
};

/* The knobs from the .rodata map (fd, info) of an XDP program in force.  0, or -1 with err. */
int cli_knobs_from_rodata(int fd, const struct bpf_map_info *info, struct axdp_knobs *k, char *err, size_t errlen);

/*
 * Mode= in force: of the XDP program, else of the nftables table; 1
 * audit, 0 enforce, -1 when neither runs (or cannot be read).
 */
int cli_running_audit(const struct cli *c);
/* "audit", "enforce", or NULL for -1. */
const char *cli_mode_name(int audit);

/* Polls the data path in force (cli_running_audit) until it runs Mode=audit (or enforce), a few seconds at most. */
bool cli_wait_mode(const struct cli *c, bool audit);

/* From the XDP program in force, else from c->cfg (loaded).  0, or -1 with err. */
int cli_limits_collect(struct cli *c, struct cli_limits *l, char *err, size_t errlen);
void cli_limits_print(const struct cli *c, const struct cli_limits *l);
void cli_limits_json(struct json *j, const struct cli_limits *l); /* the "rate_limits" member */

/* ---- the commands ---- */

/*
 * Every command, in the order 'axdp help' lists them: each is a
 * cli_command_NAME defined beside its code in cli_*.c (on, off, reload,
 * version and help in axdp.c), and axdp.c's table is this list.  A new
 * command is its file and one entry here.
 */
/* clang-format off */
#define CLI_COMMANDS(X) \
	X(status) X(ports) X(conntrack) X(stats) X(watch) X(events) X(top) \
	X(allow) X(exclude) X(trust) X(block) X(audit) X(explain) \
	X(on) X(off) X(reload) X(version) X(help)
/* clang-format on */

#define CLI_COMMAND_DECLARE(name) extern const struct cli_command cli_command_##name;
CLI_COMMANDS(CLI_COMMAND_DECLARE)
#undef CLI_COMMAND_DECLARE

/* allow, trust and exclude; block runs it for what is not a runtime ban. */
int cmd_policy(struct cli *c, int argc, char **argv);

/* The runtime bans for 'block list': a table after the DenyCIDR= one, or the "bans" array of j. */
void cli_bans_list(struct cli *c, struct json *j);
/*
 * Guard rails: CLI_OK unless one of v[0..n) covers the client of
 * $SSH_CONNECTION or a default gateway; then the refusal ("refusing to
 * ACTION ...") and CLI_FAIL, or with force a warning and CLI_OK.
 */
int cli_guard(struct cli *c, const char *action, const struct axdp_cidr *v, size_t n, bool force);

#endif
