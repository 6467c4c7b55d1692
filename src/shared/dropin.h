/* SPDX-License-Identifier: MIT */
/*
 * Writing a drop-in of /etc/autoxdp.conf.d (axdp's policy, audit and
 * block-import files): the whole file at once, checked before it counts.
 */
#ifndef AXDP_DROPIN_H
#define AXDP_DROPIN_H

#include <stddef.h>
#include <stdio.h>

/* Mode of the drop-ins written: the daemon and axdp read them, users may. */
#define AXDP_DROPIN_MODE 0644

/* Writes the drop-in's text into f. */
typedef void axdp_dropin_fill_fn(FILE *f, void *ctx);

/*
 * Reads tmp, the drop-in as it will be, as the configuration will (the
 * temporary is hidden, so loading the directory skips it); 0 to accept,
 * -1 with err, the message the caller shows, to refuse.
 */
typedef int axdp_dropin_check_fn(const char *tmp, void *ctx, char *err, size_t errlen);

/*
 * Replaces path with what fill writes, through a hidden temporary beside
 * it (atomicfile.h), once check (unless NULL) accepts it.  0, or -1 with
 * err; path is untouched then.
 */
int axdp_dropin_write(const char *path, axdp_dropin_fill_fn *fill, axdp_dropin_check_fn *check, void *ctx, char *err,
		      size_t errlen);

/* fill for a drop-in whose text is ready: ctx is the NUL-terminated text. */
axdp_dropin_fill_fn axdp_dropin_fill_text;

#endif
