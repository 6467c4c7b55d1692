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
#include "config_keys.h"
#include "loader.h"

#define AXDP_CONFIG_FILE "/etc/autoxdp.conf"
#define AXDP_CONFIG_DROPIN_DIR "/etc/autoxdp.conf.d"

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

/* A key's member: the type, name and dimensions config_keys.h gives it. */
#define AXDP_CONFIG_FIELD(section, name, type, ctype, field, dims, ...) ctype field dims;
/* Indexed by enum axdp_l4, the same index the port_allow map uses. */
#define AXDP_CONFIG_PORTS_FIELD(section, tcp_name, udp_name, field) uint8_t field[AXDP_L4_COUNT][AXDP_PORTSET_BYTES];

/* One member per key, in config_keys.h's order: [Daemon], [Ports], [Conntrack], [Policy], [RateLimit]. */
struct axdp_config {
	AXDP_CONFIG_KEYS(AXDP_CONFIG_FIELD, AXDP_CONFIG_PORTS_FIELD)
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
