/* SPDX-License-Identifier: MIT */
/*
 * A second load of the XDP program beside the one in force: the audit
 * (or enforce) variant the daemon keeps ready to swap into its links,
 * and the private copy 'axdp explain' runs packets through.  Knobs are
 * the caller's; each map is whatever fd the caller names for it, so a
 * copy shares exactly the state it is meant to and no other.
 */
#ifndef AXDP_XDP_COPY_H
#define AXDP_XDP_COPY_H

#include <stddef.h>
#include "autoxdp_abi.h"

struct bpf_object;
struct bpf_map;

/*
 * The fd a map of the copy reuses (the caller keeps it; libbpf takes its
 * own), or -1 when the program does not use the map (it is then not
 * created; a program that does use it fails to load, saying so).
 */
typedef int (*axdp_map_source)(void *ctx, const char *name);

struct axdp_xdp_copy {
	struct bpf_object *obj;
	int prog_fd; /* xdp_ingress */
};

/* xdp_ingress of the object at path alone, with knobs and the maps src gives.  0, or -1 with err. */
int axdp_xdp_copy_load(struct axdp_xdp_copy *copy, const char *path, const struct axdp_knobs *knobs,
		       axdp_map_source src, void *ctx, char *err, size_t errlen);
void axdp_xdp_copy_close(struct axdp_xdp_copy *copy);

/* The knobs a loaded object's programs run with (the rate-limit hash key the loader drew included). */
int axdp_object_knobs(struct bpf_object *obj, struct axdp_knobs *knobs, char *err, size_t errlen);

#endif
