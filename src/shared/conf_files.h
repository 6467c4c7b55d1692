/* SPDX-License-Identifier: MIT */
/*
 * Reading the text files autoxdp is configured by: one line at a time
 * (the configuration, drop-ins, deny lists), and a drop-in directory's
 * *.conf files in the order the daemon applies them.
 */
#ifndef AXDP_CONF_FILES_H
#define AXDP_CONF_FILES_H

#include <stddef.h>
#include <stdio.h>

struct axdp_lines {
	FILE *f;
	const char *name;     /* in error messages */
	unsigned long lineno; /* of the line last returned, from 1 */
	char *buf;
	size_t cap;
};

/* Reads f, which stays the caller's to close; name is what errors call it. */
void axdp_lines_init(struct axdp_lines *r, FILE *f, const char *name);

/*
 * The next line into *line (len bytes), without its "\n"; a UTF-8 byte
 * order mark at the start of the file is skipped (editors on other
 * systems write one).  The line is the reader's: it may be cut in
 * place, and lives until the next call.  1 with a line; 0 at the end;
 * -1 with err on a read error or a NUL byte, which text never holds.
 */
int axdp_lines_next(struct axdp_lines *r, char **line, size_t *len, char *err, size_t errlen);

void axdp_lines_free(struct axdp_lines *r);

/*
 * The drop-ins of dir: its *.conf names (hidden ones skipped, as systemd
 * does) in byte order, not the locale's, so the order the daemon applies
 * them in never changes.  The count with *names (free with
 * axdp_dropins_free()), or -1 with errno (ENOENT: no directory).
 */
int axdp_dropins_list(const char *dir, char ***names);
void axdp_dropins_free(char **names, int n);

/* dir/name into buf, with no "//" when dir ends in '/'.  0, or -1 when it does not fit. */
int axdp_dropin_path(char *buf, size_t len, const char *dir, const char *name);

#endif
