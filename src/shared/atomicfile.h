/* SPDX-License-Identifier: MIT */
/*
 * Files replaced whole: written to a hidden temporary beside the target,
 * then renamed over it, so a reader (node_exporter, axdp, the daemon's
 * config parser) sees the old file or the new one, never half of one.
 * The temporary starts with a dot: drop-in directories and textfile
 * collectors both skip hidden files.
 */
#ifndef AXDP_ATOMICFILE_H
#define AXDP_ATOMICFILE_H

#include <stdio.h>
#include <sys/types.h>

struct axdp_atomic_file {
	FILE *f;
	char path[4096];
	char tmp[4096 + 32];
};

/* Opens the temporary for writing into a->f.  0, or -1 with err naming the file and what to do. */
int axdp_atomic_open(struct axdp_atomic_file *a, const char *path, char *err, size_t errlen);

/*
 * Gives the temporary mode (explicitly: a service's UMask= must not make
 * a file node_exporter cannot read) and renames it over the target.
 * Closes a->f either way; on failure the temporary is removed.
 */
int axdp_atomic_commit(struct axdp_atomic_file *a, mode_t mode, char *err, size_t errlen);

/* Closes and removes the temporary; the target is untouched. */
void axdp_atomic_abort(struct axdp_atomic_file *a);

#endif
