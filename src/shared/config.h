/* SPDX-License-Identifier: MIT */
/*
 * autoxdpd configuration: systemd-style INI read from a main file plus
 * drop-ins.  Nothing here touches global state, so a reload can parse
 * into a fresh struct while the running one stays in use.
 */
#ifndef AXDP_CONFIG_H
#define AXDP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "address.h"
#include "autoxdp_abi.h"
#include "loader.h"

#define AXDP_CONFIG_FILE "/etc/autoxdp.conf"
#define AXDP_CONFIG_DROPIN_DIR "/etc/autoxdp.conf.d"

#define AXDP_DEFAULT_RECONCILE_INTERVAL_S 30
#define AXDP_DEFAULT_PID_FILE "/run/autoxdp/autoxdpd.pid"
#define AXDP_DEFAULT_STATE_DIR "/var/lib/autoxdp"
#define AXDP_DEFAULT_METRICS_INTERVAL_S 15
/* Conntrack defaults come from autoxdp_abi.h: the BPF object has the same ones. */

/* Own copies so this header needs neither <net/if.h> nor <limits.h>; config.c checks they agree. */
#define AXDP_IFNAMSIZ 16
#define AXDP_PATH_MAX 4096
/* Big enough for every message with a path of a sane length; longer ones are truncated. */
#define AXDP_CONFIG_ERRLEN 1024

#define AXDP_PORTSET_BYTES (AXDP_PORTS / 8)

/* Backend=: what enforces the policy on an interface (nft_backend.h has the nftables one). */
enum axdp_backend {
	AXDP_BACKEND_AUTO, /* XDP native, else generic, else nftables, per interface */
	AXDP_BACKEND_XDP,
	AXDP_BACKEND_NFTABLES,
};

/* Mode=: whether a verdict to drop drops (enforce) or is only counted and logged (audit). */
enum axdp_run_mode {
	AXDP_MODE_ENFORCE,
	AXDP_MODE_AUDIT,
};

/* The mode as Mode= spells it: "audit" or "enforce". */
const char *axdp_mode_name(bool audit);

/* The backend as Backend= spells it: "auto", "xdp" or "nftables". */
const char *axdp_backend_name(enum axdp_backend backend);

struct axdp_ifname_list {
	char (*v)[AXDP_IFNAMSIZ];
	size_t n, cap;
};

/* Process names (StrictProcesses=) are comm names: the same 15 characters as interface names. */
#define axdp_name_list axdp_ifname_list

struct axdp_path_list {
	char **v;
	size_t n, cap;
};

/* [RateLimit] defaults; 0 turns a limit off. */
#define AXDP_DEFAULT_SYN_PER_S 50
#define AXDP_DEFAULT_SYN_BURST 100
#define AXDP_DEFAULT_STRICT_SYN_PER_S 5
#define AXDP_DEFAULT_STRICT_SYN_BURST 10
#define AXDP_DEFAULT_ICMP_ECHO_PER_S 100
#define AXDP_DEFAULT_ICMP_ECHO_BURST 200
#define AXDP_DEFAULT_STRICT_PROCESSES "sshd mysqld mariadbd postgres redis-server mongod"

/*
 * Port sets: port p is bit (p & 7) of byte p / 8; port 0 is never set.
 * Indexed by enum axdp_l4, the same index the port_allow map uses.
 */
struct axdp_config {
	/* [Daemon] */
	struct axdp_ifname_list interfaces; /* empty: those of the default v4/v6 routes */
	char bpf_object[AXDP_PATH_MAX];
	char pin_dir[AXDP_PATH_MAX];
	enum axdp_xdp_mode xdp_mode;
	enum axdp_backend backend;
	enum axdp_run_mode mode;
	uint32_t reconcile_interval_s;
	char pid_file[AXDP_PATH_MAX];     /* written at READY, removed at exit; axdp(8) finds the daemon by it */
	char state_dir[AXDP_PATH_MAX];    /* runtime bans (bans.h), kept across restarts and reboots */
	char metrics_file[AXDP_PATH_MAX]; /* empty: no metrics file */
	uint32_t metrics_interval_s;

	/* [Ports] */
	uint8_t allow_ports[AXDP_L4_COUNT][AXDP_PORTSET_BYTES];
	uint8_t exclude_ports[AXDP_L4_COUNT][AXDP_PORTSET_BYTES];
	struct axdp_cidr_list exclude_bind;

	/* [Conntrack] */
	uint32_t tcp_timeout_s;
	uint32_t tcp_closing_timeout_s;
	uint32_t udp_timeout_s;
	uint32_t icmp_timeout_s;
	uint32_t frag_timeout_s;

	/* [Policy] */
	struct axdp_cidr_list deny_cidrs;
	struct axdp_path_list deny_list_files; /* read by the daemon (denylist.h), not by this parser */
	struct axdp_cidr_list trust_cidrs;
	bool trust_opens_all_tcp;
	bool drop_martians;
	bool allow_dhcp_client; /* DHCP server replies pass to a client that binds no port */

	/* [RateLimit]: per second and burst (units); per-port and echo rates are split across CPUs */
	uint32_t syn_per_s, syn_burst;
	uint32_t strict_syn_per_s, strict_syn_burst;
	struct axdp_name_list strict_processes;
	uint8_t strict_tcp[AXDP_PORTSET_BYTES];
	uint8_t unlimited_tcp[AXDP_PORTSET_BYTES];
	uint32_t source_prefix_v4, source_prefix_v6;
	uint32_t udp_per_s, udp_burst;
	uint32_t udp_port_packets_per_s, udp_port_bytes_per_s;
	uint32_t icmp_echo_per_s, icmp_echo_burst;
};

/* Initializes *c to the built-in defaults; does not free what *c held. */
void axdp_config_defaults(struct axdp_config *c);

/*
 * Defaults, then main_file (missing is fine), then every *.conf in
 * dropin_dir in byte order (missing dir is fine).  NULL selects
 * AXDP_CONFIG_FILE / AXDP_CONFIG_DROPIN_DIR.
 * *c is output only: on success it is overwritten without being freed,
 * on failure it is not written at all and err holds "FILE:LINE: ...".
 * Reload pattern: load into a new struct, on success free the old one and assign.
 */
int axdp_config_load(struct axdp_config *c, const char *main_file, const char *dropin_dir, char *err, size_t errlen);

/*
 * Applies one file on top of an initialized *c.  A missing file is an
 * error here.  All or nothing: on failure *c is unchanged.
 */
int axdp_config_parse_file(struct axdp_config *c, const char *path, char *err, size_t errlen);

/* Every key, in INI form that parses back to an equal config.  0, or -1 on a write error. */
int axdp_config_print(const struct axdp_config *c, FILE *out);

bool axdp_config_equal(const struct axdp_config *a, const struct axdp_config *b);

/*
 * Sets key (as the file names it) to value (as the file spells it), through
 * the key's own parser: a command-line option standing in for the key.  0,
 * or -1 with "ORIGIN: KEY=VALUE: what is wrong" in err.
 */
int axdp_config_set(struct axdp_config *c, const char *key, const char *value, const char *origin, char *err,
		    size_t errlen);

/* Frees the lists and leaves them empty; safe to call twice. */
void axdp_config_free(struct axdp_config *c);

/* s without the whitespace the file format skips around keys, values and comments; cuts s in place. */
char *axdp_config_trim(char *s);

/* True if a listener bound to addr16 must open nothing (ExcludeBindCIDR=). */
bool axdp_config_bind_excluded(const struct axdp_config *c, const uint8_t addr16[16]);

static inline bool axdp_port_in(const uint8_t set[AXDP_PORTSET_BYTES], uint16_t port)
{
	return set[port >> 3] & (1u << (port & 7));
}

/*
 * The next run of consecutive ports of set after *hi, as *lo..*hi: how a
 * port key prints ("22 80 8000-8010").  Start with *hi = 0; false after
 * the last run.
 */
bool axdp_port_next_run(const uint8_t set[AXDP_PORTSET_BYTES], uint32_t *lo, uint32_t *hi);

/* A run as a port key spells it, "22" or "8000-8010"; AXDP_PORT_RUN_STRLEN bytes suffice. */
#define AXDP_PORT_RUN_STRLEN 12
void axdp_port_run_format(char *buf, size_t len, uint32_t lo, uint32_t hi);

#endif
