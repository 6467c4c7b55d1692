/* SPDX-License-Identifier: MIT */
/*
 * Deny lists in the shape public DROP lists have: one address or CIDR per
 * line, comments from '#' or ';' to the end of the line, blank lines.
 * The daemon reads DenyListFile= through this; `axdp block import` checks
 * a list, copies it under the drop-in directory and names it in a drop-in.
 */
#ifndef AXDP_DENYLIST_H
#define AXDP_DENYLIST_H

#include <stddef.h>
#include <sys/types.h>
#include "config.h"

/*
 * Appends the entries of the list file at path to *out.  Host bits set
 * in an entry are cleared (the list's author meant the network); a line
 * that is not an address or CIDR fails the whole file, so a truncated or
 * wrong file never replaces a good list.  0, or -1 with "FILE:LINE: why".
 */
int axdp_denylist_read(const char *path, struct axdp_cidr_list *out, char *err, size_t errlen);

/* Sorts by address then prefix and drops repeats. */
void axdp_cidr_list_unique(struct axdp_cidr_list *l);

/*
 * Everything cfg denies: DenyCIDR= plus every DenyListFile=, unique.
 * On failure *out is left empty.
 */
int axdp_denylist_collect(const struct axdp_config *cfg, struct axdp_cidr_list *out, char *err, size_t errlen);

/* Where an import went and what it did. */
struct axdp_denylist_import {
	char list_path[AXDP_PATH_MAX];   /* the copy: DROPIN_DIR/deny-NAME.list */
	char dropin_path[AXDP_PATH_MAX]; /* DROPIN_DIR/90-axdp-import.conf */
	size_t entries;                  /* in the imported file, after removing repeats */
	pid_t reloaded;                  /* the daemon sent SIGHUP; 0: none running, applies at its start */
};

#define AXDP_DENYLIST_IMPORT_DROPIN "90-axdp-import.conf"

/*
 * `axdp block import FILE`: checks FILE parses, copies it to
 * dropin_dir/deny-BASENAME.list (replacing an earlier import of that
 * name), and writes the drop-in AXDP_DENYLIST_IMPORT_DROPIN so that
 * DenyListFile= is the effective list of config_file and its drop-ins
 * plus the copy.  Then the running daemon (PidFile=) reloads.
 * 0, or -1 with a message in err; nothing changes unless the whole
 * configuration still parses with the new drop-in.
 */
int axdp_denylist_import(const char *file, const char *config_file, const char *dropin_dir,
			 struct axdp_denylist_import *res, char *err, size_t errlen);

#endif
