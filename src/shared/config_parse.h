/* SPDX-License-Identifier: MIT */
/*
 * Inside the configuration parser, shared by its files and by no one
 * else (config.h is the interface): the shape of a key (config.c holds
 * the table and reads files), and one parser, printer and comparer per
 * value type (config_parse.c).  A new key of an existing type is one
 * line in config_keys.h: its field of struct axdp_config and its row of
 * config.c's table.
 */
#ifndef AXDP_CONFIG_PARSE_H
#define AXDP_CONFIG_PARSE_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

enum section { SEC_DAEMON, SEC_PORTS, SEC_CONNTRACK, SEC_POLICY, SEC_RATELIMIT, SEC_COUNT };

enum type { T_IFNAMES, T_PATH, T_ENUM, T_UINT, T_PORTS, T_CIDRS, T_BOOL, T_PATHS, T_NAMES, T_COUNT };

struct key {
	enum section section;
	const char *name;
	enum type type;
	size_t offset;
	/* Bounds of the value (T_UINT, T_PORTS) or of its length (T_PATH, T_PATHS, T_IFNAMES, T_NAMES). */
	uint32_t min, max;
	const char *const *names; /* T_ENUM: value i is spelled names[i], NULL-terminated */
	const char *def;          /* spelled as in the file, so defaults go through the parsers */
};

/* Where the line being parsed came from, and where its error goes. */
struct pos {
	const char *file;
	unsigned long line; /* 0: the error is about the whole file */
	char *err;
	size_t errlen;
};
struct type_ops {
	/* Lists: the first assignment in a file replaces, later ones append. */
	bool list;
	/* Scalars store the value; lists add it to what is there. */
	int (*parse)(void *f, const struct key *k, const char *v, const struct pos *p);
	void (*print)(FILE *out, const void *f, const struct key *k);
	bool (*equal)(const void *a, const void *b);
	void (*reset)(void *f); /* lists: to empty, keeping the allocation */
	/* Heap-owning types only: dst is a shallow copy of src on entry. */
	int (*dup)(void *dst);
	void (*release)(void *f);
};

/* Indexed by enum type. */
extern const struct type_ops conf_types[T_COUNT];

/* Writes "FILE:LINE: message" (or "FILE: message" for line 0) into p's buffer; returns -1. */
int conf_fail(const struct pos *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int conf_oom(const struct pos *p);

/* How much of a len-byte token an error quotes back: the rest of a garbage line helps nobody. */
int conf_qlen(size_t len);

/* Splits a list value at whitespace: the next token of *s into tok and len, false at the end. */
bool conf_next_token(const char **s, const char **tok, size_t *len);

#endif
