/* SPDX-License-Identifier: MIT */
/*
 * The policy drop-in of axdp(8), FILE.d/50-axdp.conf: the keys the policy
 * commands manage, the file read back with its comments, written anew,
 * and the effective configuration the daemon will load from it.  The
 * commands themselves are in cli_policy.c.
 */
#ifndef AXDP_CLI_DROPIN_H
#define AXDP_CLI_DROPIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "cli.h"
#include "config.h"

#define POL_DROPIN_NAME "50-axdp.conf"
/* allow tcp, allow udp, exclude tcp, udp and bind, trust, block: one key each. */
#define POL_NKEYS 7

enum pol_type { P_PORTS, P_CIDRS };

struct pol_key {
	const char *cmd;      /* allow, exclude, trust, block */
	const char *selector; /* tcp, udp, bind; NULL: the command takes a CIDR directly */
	const char *section;
	const char *name;
	enum pol_type type;
	int l4;
	size_t offset; /* into struct axdp_config */
};

struct pol_token {
	const struct pol_key *key;
	char *text;    /* "22", "8000-8010", "10.0.0.0/8", as the file spells it */
	char *comment; /* the comment lines right above it, without '#', or NULL */
};

struct pol_tokens {
	struct pol_token *v;
	size_t n, cap;
};

struct pol_dropin {
	char path[AXDP_PATH_MAX + 32];
	bool exists;
	bool has_key[POL_NKEYS];
	struct pol_tokens values; /* of the managed keys, in file order */
	char *other[2];           /* lines of other keys in [Ports] and [Policy], verbatim */
	char *other_sections;     /* whole sections we do not manage, verbatim */
};

struct pol_change {
	const struct pol_key *key;
	bool add;
	unsigned lo, hi;       /* P_PORTS */
	struct axdp_cidr cidr; /* P_CIDRS */
	char text[64];         /* the value as the files spell it */
	const char *comment;
};

extern const struct pol_key pol_keys[];

const uint8_t *pol_ports_of(const struct axdp_config *cfg, const struct pol_key *k);
const struct axdp_cidr_list *pol_cidrs_of(const struct axdp_config *cfg, const struct pol_key *k);

int pol_push_token(struct pol_tokens *t, const struct pol_key *k, const char *text, const char *comment);
void pol_free_tokens(struct pol_tokens *t);
/* The effective value of k as tokens, in the parser's own spelling (ranges merged, CIDRs canonical). */
int pol_tokens_of(const struct axdp_config *cfg, const struct pol_key *k, struct pol_tokens *out);
/* PORT or LOW-HIGH (parse_number.h's RANGE), 1 to 65535. */
bool pol_parse_range(const char *s, unsigned *lo, unsigned *hi);

/* d->path read back; a missing file is an empty one.  0, or -1 with errno. */
int pol_read_dropin(struct pol_dropin *d);
void pol_free_dropin(struct pol_dropin *d);
void pol_write_dropin(FILE *f, const struct pol_dropin *d, const char *config_file);

/* Does cfg already say what the change wants? */
bool pol_in_force(const struct axdp_config *cfg, const struct pol_change *ch);
/* The change applied to cfg's key.  0, or -1 out of memory. */
int pol_apply(struct axdp_config *cfg, const struct pol_change *ch);
/* The changed key's values as the new drop-in writes them, with their comments, appended to out. */
int pol_new_tokens(const struct pol_dropin *old, const struct pol_change *ch, const struct axdp_config *want,
		   const char *added, struct pol_tokens *out);
/*
 * The configuration the daemon will load once tmp replaces the drop-in;
 * overrider names the first later drop-in that undoes the change, if one
 * does.  0, or -1 with err (out is then not to be freed).
 */
int pol_effective_with(struct cli *c, const char *tmp, const struct pol_change *ch, struct axdp_config *out,
		       char *overrider, size_t olen, char *err, size_t errlen);

#endif
