/* SPDX-License-Identifier: MIT */
/*
 * Loading the data path and attaching it to interfaces: shared by the
 * daemon, the CLI and the tests.  Every function reports failure as -1
 * with a message in err naming the object (file, interface, map, program)
 * and what to do; nothing here exits or prints.
 */
#ifndef AXDP_LOADER_H
#define AXDP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include "autoxdp_abi.h"
#include "conntrack_map.h"

#ifndef AXDP_OBJECT_DEFAULT
#define AXDP_OBJECT_DEFAULT "/usr/lib/autoxdp/autoxdp.bpf.o"
#endif
#define AXDP_PIN_DIR_DEFAULT "/sys/fs/bpf/autoxdp"

enum axdp_xdp_mode {
	AXDP_XDP_AUTO, /* native, else generic */
	AXDP_XDP_NATIVE,
	AXDP_XDP_GENERIC,
};

enum axdp_tc_mode {
	AXDP_TC_TCX,    /* a bpf_link, pinned (Linux >= 6.6) */
	AXDP_TC_CLSACT, /* a clsact filter, for older kernels */
};

struct bpf_object;
struct axdp_migration;

/* A loaded data path: programs loaded, maps shared through pins in pin_dir. */
struct axdp_datapath {
	struct bpf_object *obj;
	int xdp_fd;
	int tc_fd;
	bool hooks;            /* the socket hooks loaded too */
	char hooks_error[256]; /* why they did not, when they were asked for */
	char pin_dir[256];
	/* Pinned maps of another definition this load took over, until axdp_datapath_take_over. */
	struct axdp_migration *migration;
	char migrated[1024];   /* what became of each: empty when none changed */
	bool v4_flows_carried; /* conntrack held IPv4 flows, as before conntrack4: a takeover too */
};

struct axdp_load_opts {
	const char *object_path; /* NULL: AXDP_OBJECT_DEFAULT */
	const char *pin_dir;     /* NULL: AXDP_PIN_DIR_DEFAULT; created, bpffs mounted if missing */
	struct axdp_knobs knobs; /* AXDP_KNOBS_DEFAULT unless the config says otherwise */
	bool hooks;              /* load the socket hooks as well; without them if the kernel refuses */
};

/* What attaching achieved on one interface. */
struct axdp_attachment {
	char ifname[IF_NAMESIZE];
	int ifindex;
	enum axdp_xdp_mode xdp_mode; /* NATIVE or GENERIC */
	enum axdp_tc_mode tc_mode;
	bool adopted; /* existing links were updated in place, no gap */
};

/*
 * Loads the object, reusing the maps pinned in pin_dir.  A pinned map whose
 * definition differs from the object's (an upgrade) is taken over (see
 * map_migrate.h): a new map, the old one's entries carried over, the new
 * one pinned in its place, while the links still run the old programs on
 * the old maps; migrated says what became of each.  On failure every pin
 * is as it was.
 */
int axdp_datapath_load(struct axdp_datapath *dp, const struct axdp_load_opts *opts, char *err, size_t errlen);

/*
 * Completes a load that took over maps, once the caller has attached
 * where it wants: the programs of every link pinned in pin_dir are
 * replaced by the loaded ones, then what the old programs wrote meanwhile
 * (flows, counts) is carried over and the old maps are let go; IPv4 flows
 * an older version kept in conntrack move to conntrack4.  Nothing to do
 * without a takeover.  On failure the takeover stays pending.
 */
int axdp_datapath_take_over(struct axdp_datapath *dp, char *err, size_t errlen);

void axdp_datapath_close(struct axdp_datapath *dp);

/* fd of one of the data path's maps (AXDP_MAP_*), or -1 with err set. */
int axdp_datapath_map_fd(const struct axdp_datapath *dp, const char *map_name, char *err, size_t errlen);

/* Both conntrack maps, the object's fds (not to be closed): 0, or -1 with err set. */
int axdp_datapath_conntrack(const struct axdp_datapath *dp, struct axdp_conntrack *ct, char *err, size_t errlen);

/*
 * XDP on ingress and tc on egress of ifname.  Links already pinned for
 * the interface get the new programs swapped in atomically; otherwise new
 * links are created and pinned, so they outlive this process.
 */
int axdp_attach(const struct axdp_datapath *dp, const char *ifname, enum axdp_xdp_mode mode,
		struct axdp_attachment *out, char *err, size_t errlen);

/*
 * The socket hooks (instant open) on the cgroup v2 root and the
 * inet_sock_set_state tracepoint, pinned; they act only on sockets of the
 * network namespace whose cookie is in the knobs.  Replaces hooks pinned
 * earlier without a moment uncovered.
 */
int axdp_attach_hooks(const struct axdp_datapath *dp, char *err, size_t errlen);

/* Swaps prog_fd into the XDP link pinned for ifname, atomically; no pinned link is an error. */
int axdp_update_xdp(const char *pin_dir, const char *ifname, int prog_fd, char *err, size_t errlen);

/* Removes exactly what axdp_attach put on ifname (links, filters, pins). */
int axdp_detach(const char *pin_dir, const char *ifname, char *err, size_t errlen);

/* Protection off: every attachment recorded under pin_dir, then the maps and the directory. */
int axdp_remove_all(const char *pin_dir, char *err, size_t errlen);

struct btf;
struct btf_var_secinfo;

/*
 * The variable AXDP_KNOBS_VAR among those of the DATASEC type datasec_id
 * of btf (the object's before load, the kernel's of a loaded .rodata
 * map), or NULL.  Its size says whether it is this version's knobs.
 */
const struct btf_var_secinfo *axdp_knobs_var(const struct btf *btf, __u32 datasec_id);

/* Writes knobs into the .rodata of obj (opened from path, not loaded yet), found by name through BTF. */
int axdp_set_knobs(struct bpf_object *obj, const char *path, const struct axdp_knobs *knobs, char *err, size_t errlen);

/*
 * Our links are pinned as PinDir=/links/KIND-NAME: NAME is the interface,
 * or for the socket hooks the program.
 */
#define AXDP_LINKS_SUBDIR "links"

enum axdp_link_pin {
	AXDP_PIN_XDP,    /* "xdp-IFACE" */
	AXDP_PIN_TCX,    /* "tc-IFACE": the tcx egress link */
	AXDP_PIN_CLSACT, /* "clsact-IFACE": the record of a clsact filter (older kernels) */
	AXDP_PIN_HOOK,   /* "hook-PROGRAM" */
	AXDP_PIN_OTHER,  /* none of ours */
};

/* The kind of a pin's file name; *name: what follows "KIND-", NULL without a dash. */
enum axdp_link_pin axdp_link_pin_parse(const char *file, const char **name);

/* XdpMode= and --xdp-mode spell mode i as axdp_xdp_mode_names[i]; NULL-terminated. */
extern const char *const axdp_xdp_mode_names[];
const char *axdp_xdp_mode_name(enum axdp_xdp_mode mode);
const char *axdp_tc_mode_name(enum axdp_tc_mode mode);

#endif
