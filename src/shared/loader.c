// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "errbuf.h"
#include "loader.h"
#include "map_migrate.h"
#include "util.h"

/* Debian 12's UAPI headers predate TCX (Linux 6.6); the values are ABI. */
#define AXDP_BPF_TCX_EGRESS 47
/* Our clsact filter's identity, so replacing and removing it never touches another's. */
#define AXDP_TC_HANDLE 0xa8d9
#define AXDP_TC_PRIORITY 0xa8d9

static const char *const link_pin_names[AXDP_PIN_OTHER] = {
	[AXDP_PIN_XDP] = "xdp",
	[AXDP_PIN_TCX] = "tc",
	[AXDP_PIN_CLSACT] = "clsact",
	[AXDP_PIN_HOOK] = "hook",
};

const char *const axdp_xdp_mode_names[] = {
	[AXDP_XDP_AUTO] = "auto",
	[AXDP_XDP_NATIVE] = "native",
	[AXDP_XDP_GENERIC] = "generic",
	NULL,
};

const char *axdp_xdp_mode_name(enum axdp_xdp_mode mode)
{
	return axdp_xdp_mode_names[mode];
}

const char *axdp_tc_mode_name(enum axdp_tc_mode mode)
{
	return mode == AXDP_TC_TCX ? "tcx" : "clsact";
}

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/*
 * The pin directory must live on bpffs.  A system that never mounted one
 * at the standard place gets it mounted; anything else is the operator's
 * layout and is only reported.
 */
static int prepare_pin_dir(const char *pin_dir, char *err, size_t errlen)
{
	char parent[PATH_MAX], links[PATH_MAX];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return axdp_fail(err, errlen, "pin directory %s: must be a directory below a bpf filesystem", pin_dir);
	*slash = '\0';
	if (!on_bpffs(parent)) {
		if (strcmp(parent, "/sys/fs/bpf") != 0)
			return axdp_fail(
				err, errlen,
				"pin directory %s: %s is not a bpf filesystem; mount one with 'mount -t bpf bpf %s'",
				pin_dir, parent, parent);
		if (mount("bpf", parent, "bpf", 0, "mode=0700") != 0)
			return axdp_fail(err, errlen, "mounting bpffs on %s: %s; mount it with 'mount -t bpf bpf %s'",
					 parent, strerror(errno), parent);
	}
	snprintf(links, sizeof(links), "%s/" AXDP_LINKS_SUBDIR, pin_dir);
	if ((mkdir(pin_dir, 0700) != 0 && errno != EEXIST) || (mkdir(links, 0700) != 0 && errno != EEXIST))
		return axdp_fail(err, errlen, "creating pin directory %s: %s", links, strerror(errno));
	return 0;
}

const struct btf_var_secinfo *axdp_knobs_var(const struct btf *btf, __u32 datasec_id)
{
	const struct btf_type *sec = btf__type_by_id(btf, datasec_id);
	const struct btf_var_secinfo *var;

	if (!sec || !btf_is_datasec(sec))
		return NULL;
	var = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, var++) {
		const struct btf_type *t = btf__type_by_id(btf, var->type);

		if (t && strcmp(btf__name_by_offset(btf, t->name_off), AXDP_KNOBS_VAR) == 0)
			return var;
	}
	return NULL;
}

int axdp_set_knobs(struct bpf_object *obj, const char *path, const struct axdp_knobs *knobs, char *err, size_t errlen)
{
	struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *var;
	const void *initial;
	size_t size;
	char *data;
	int id, rc;

	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -1;
	initial = rodata ? bpf_map__initial_value(rodata, &size) : NULL;
	if (id < 0 || !initial)
		return axdp_fail(err, errlen, "%s: no .rodata section with BTF; rebuild the object with 'make'", path);
	var = axdp_knobs_var(btf, (__u32)id);
	if (!var)
		return axdp_fail(err, errlen, "%s: no variable '%s' in .rodata: not an autoxdp data path object", path,
				 AXDP_KNOBS_VAR);
	if (var->size != sizeof(*knobs) || var->offset + var->size > size)
		return axdp_fail(
			err, errlen,
			"%s: variable '%s' is %u bytes, this program expects %zu: object and program are from different versions",
			path, AXDP_KNOBS_VAR, var->size, sizeof(*knobs));
	data = malloc(size);
	if (!data)
		return axdp_fail(err, errlen, "%s: setting '%s': out of memory", path, AXDP_KNOBS_VAR);
	memcpy(data, initial, size);
	memcpy(data + var->offset, knobs, sizeof(*knobs));
	rc = bpf_map__set_initial_value(rodata, data, size);
	free(data);
	if (rc)
		return axdp_fail(err, errlen, "%s: setting '%s': %s", path, AXDP_KNOBS_VAR, strerror(-rc));
	return 0;
}

static int program_fd(struct bpf_object *obj, const char *path, const char *name, char *err, size_t errlen)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);

	if (!prog)
		return axdp_fail(err, errlen, "%s: no program '%s': not an autoxdp data path object", path, name);
	return bpf_program__fd(prog);
}

static bool per_source_limits(const struct axdp_knobs *k)
{
	for (int t = 0; t < AXDP_TIER_COUNT; t++)
		if (k->syn[t].interval_ns)
			return true;
	return k->udp_source.interval_ns != 0;
}

static const char *const hook_programs[] = { AXDP_PROG_LISTEN, AXDP_PROG_BIND4, AXDP_PROG_BIND6, AXDP_PROG_RELEASE };
#define HOOK_COUNT ARRAY_SIZE(hook_programs)

int axdp_datapath_conntrack(const struct axdp_datapath *dp, struct axdp_conntrack *ct, char *err, size_t errlen)
{
	ct->fd = axdp_datapath_map_fd(dp, AXDP_MAP_CONNTRACK, err, errlen);
	ct->fd4 = axdp_datapath_map_fd(dp, AXDP_MAP_CONNTRACK4, err, errlen);
	return axdp_conntrack_open(ct) ? 0 : -1;
}

/*
 * Versions before conntrack4 kept IPv4 flows in conntrack, which this
 * object reuses or took over: copied into conntrack4 at the load so the
 * new programs find them from their first packet, and moved (copied
 * again, as the old programs went on adding, then removed) once they
 * replaced the old ones.  Entries copied, or -1.
 */
static long carry_v4_flows(const struct axdp_datapath *dp, bool forget)
{
	struct axdp_conntrack ct;
	char err[256];

	return axdp_datapath_conntrack(dp, &ct, err, sizeof(err)) ? -1 : axdp_conntrack_carry_v4(&ct, forget);
}

static int open_and_load(struct axdp_datapath *dp, const char *path, const struct axdp_load_opts *opts, bool hooks,
			 char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = dp->pin_dir);
	static const __u32 no_key[sizeof(opts->knobs.hash_key) / sizeof(__u32)];
	struct axdp_knobs knobs;
	struct bpf_map *rate_sets;
	int rc;

	dp->obj = bpf_object__open_file(path, &open_opts);
	if (!dp->obj)
		return axdp_fail(err, errlen, "opening BPF object %s: %s; install autoxdp or pass the object's path",
				 path, strerror(errno));
	rate_sets = bpf_object__find_map_by_name(dp->obj, AXDP_MAP_RATE_SETS);
	if (!rate_sets)
		return axdp_fail(err, errlen, "%s: no map '%s': not this version's data path object", path,
				 AXDP_MAP_RATE_SETS);
	for (size_t i = 0; i < HOOK_COUNT; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(dp->obj, hook_programs[i]);

		if (prog)
			bpf_program__set_autoload(prog, hooks);
	}
	knobs = opts->knobs;
	if (!memcmp(knobs.hash_key, no_key, sizeof(no_key)) &&
	    getrandom(knobs.hash_key, sizeof(knobs.hash_key), 0) != sizeof(knobs.hash_key))
		return axdp_fail(err, errlen, "drawing the data path's hash key (getrandom): %s", strerror(errno));
	/* With every per-source limit off nothing reads the table: one set instead of 8 MiB. */
	if (!per_source_limits(&knobs) && bpf_map__set_max_entries(rate_sets, 1))
		return axdp_fail(err, errlen, "%s: map '%s': cannot resize", path, AXDP_MAP_RATE_SETS);
	if (axdp_set_knobs(dp->obj, path, &knobs, err, errlen) ||
	    axdp_migration_plan(dp->obj, &dp->migration, err, errlen))
		return -1;
	rc = bpf_object__load(dp->obj);
	if (rc)
		return axdp_fail(
			err, errlen,
			"loading %s: %s (the verifier refused it or a map could not be created: libbpf's messages above say which); what is pinned in %s stays in force",
			path, strerror(-rc), dp->pin_dir);
	if (dp->migration && axdp_migration_apply(dp->migration, dp->migrated, sizeof(dp->migrated), err, errlen)) {
		snprintf(err + strlen(err), errlen - strlen(err), "; the maps pinned in %s stay in force", dp->pin_dir);
		return -1;
	}
	dp->v4_flows_carried = carry_v4_flows(dp, false) > 0;
	dp->hooks = hooks;
	dp->xdp_fd = program_fd(dp->obj, path, AXDP_PROG_XDP, err, errlen);
	dp->tc_fd = program_fd(dp->obj, path, AXDP_PROG_TC, err, errlen);
	return dp->xdp_fd >= 0 && dp->tc_fd >= 0 ? 0 : -1;
}

int axdp_datapath_load(struct axdp_datapath *dp, const struct axdp_load_opts *opts, char *err, size_t errlen)
{
	const char *path = opts->object_path ? opts->object_path : AXDP_OBJECT_DEFAULT;
	const char *pin_dir = opts->pin_dir ? opts->pin_dir : AXDP_PIN_DIR_DEFAULT;

	memset(dp, 0, sizeof(*dp));
	dp->xdp_fd = dp->tc_fd = -1;
	if (snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", pin_dir) >= (int)sizeof(dp->pin_dir))
		return axdp_fail(err, errlen, "pin directory %s: path too long", pin_dir);
	if (prepare_pin_dir(pin_dir, err, errlen))
		return -1;
	if (open_and_load(dp, path, opts, opts->hooks, err, errlen) == 0)
		return 0;
	/* Kernels that refuse the socket hooks still get the data path; the daemon polls instead. */
	if (opts->hooks) {
		snprintf(dp->hooks_error, sizeof(dp->hooks_error), "%s", err);
		axdp_datapath_close(dp);
		if (open_and_load(dp, path, opts, false, err, errlen) == 0)
			return 0;
	}
	axdp_datapath_close(dp);
	return -1;
}

void axdp_datapath_close(struct axdp_datapath *dp)
{
	axdp_migration_free(dp->migration);
	dp->migration = NULL;
	dp->migrated[0] = '\0';
	bpf_object__close(dp->obj);
	dp->obj = NULL;
	dp->hooks = false;
	dp->xdp_fd = dp->tc_fd = -1;
}

int axdp_datapath_map_fd(const struct axdp_datapath *dp, const char *map_name, char *err, size_t errlen)
{
	struct bpf_map *map = bpf_object__find_map_by_name(dp->obj, map_name);

	if (!map)
		return axdp_fail(err, errlen, "map '%s' not found in the loaded object", map_name);
	return bpf_map__fd(map);
}

static void link_pin_path(char *buf, size_t len, const char *pin_dir, enum axdp_link_pin kind, const char *name)
{
	snprintf(buf, len, "%s/" AXDP_LINKS_SUBDIR "/%s-%s", pin_dir, link_pin_names[kind], name);
}

enum axdp_link_pin axdp_link_pin_parse(const char *file, const char **name)
{
	const char *dash = strchr(file, '-');

	*name = dash ? dash + 1 : NULL;
	for (int k = 0; dash && k < AXDP_PIN_OTHER; k++)
		if (strlen(link_pin_names[k]) == (size_t)(dash - file) &&
		    !strncmp(file, link_pin_names[k], dash - file))
			return k;
	return AXDP_PIN_OTHER;
}

/*
 * Swaps prog into the link pinned at path, if there is one: restarts and
 * upgrades keep the same link, so the hook is never empty.  Returns 1 when
 * adopted, 0 when there is no pin, -1 on error.
 */
static int adopt_link(const char *path, int prog_fd, const char *ifname, char *err, size_t errlen)
{
	int fd = bpf_obj_get(path);
	int rc;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return axdp_fail(err, errlen, "%s: opening pinned link %s: %s", ifname, path, strerror(errno));
	rc = bpf_link_update(fd, prog_fd, NULL);
	close(fd);
	if (rc == 0)
		return 1;
	/* A link whose interface vanished is defunct: drop its pin and start over. */
	if (rc == -ENOLINK || rc == -ENODEV) {
		unlink(path);
		return 0;
	}
	return axdp_fail(err, errlen, "%s: updating pinned link %s: %s", ifname, path, strerror(-rc));
}

int axdp_update_xdp(const char *pin_dir, const char *ifname, int prog_fd, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc;

	link_pin_path(path, sizeof(path), pin_dir, AXDP_PIN_XDP, ifname);
	rc = adopt_link(path, prog_fd, ifname, err, errlen);
	if (rc == 0)
		return axdp_fail(err, errlen, "%s: no XDP link pinned at %s", ifname, path);
	return rc < 0 ? -1 : 0;
}

static int pin_new_link(int link_fd, const char *path, const char *ifname, char *err, size_t errlen)
{
	int rc = bpf_obj_pin(link_fd, path);

	close(link_fd);
	if (rc)
		return axdp_fail(err, errlen, "%s: pinning link at %s: %s", ifname, path, strerror(errno));
	return 0;
}

static int attach_xdp(const struct axdp_datapath *dp, struct axdp_attachment *a, enum axdp_xdp_mode mode, char *err,
		      size_t errlen)
{
	static const __u32 flags[] = {
		[AXDP_XDP_NATIVE] = XDP_FLAGS_DRV_MODE, [AXDP_XDP_GENERIC] = XDP_FLAGS_SKB_MODE
	};
	LIBBPF_OPTS(bpf_xdp_query_opts, query);
	LIBBPF_OPTS(bpf_link_create_opts, lopts);
	char path[PATH_MAX];
	int fd, rc, native_errno = 0;

	link_pin_path(path, sizeof(path), dp->pin_dir, AXDP_PIN_XDP, a->ifname);
	rc = adopt_link(path, dp->xdp_fd, a->ifname, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		a->adopted = true;
		if (bpf_xdp_query(a->ifindex, 0, &query))
			return axdp_fail(err, errlen, "%s: querying XDP mode: %s", a->ifname, strerror(errno));
		a->xdp_mode = query.attach_mode == XDP_ATTACHED_SKB ? AXDP_XDP_GENERIC : AXDP_XDP_NATIVE;
		return 0;
	}

	if (mode != AXDP_XDP_GENERIC) {
		lopts.flags = flags[AXDP_XDP_NATIVE];
		fd = bpf_link_create(dp->xdp_fd, a->ifindex, BPF_XDP, &lopts);
		if (fd >= 0) {
			a->xdp_mode = AXDP_XDP_NATIVE;
			return pin_new_link(fd, path, a->ifname, err, errlen);
		}
		native_errno = errno;
		if (mode == AXDP_XDP_NATIVE)
			return axdp_fail(
				err, errlen,
				"%s: attaching XDP in native mode: %s (driver without XDP support or MTU above its XDP limit; try XdpMode=generic)",
				a->ifname, strerror(native_errno));
	}
	lopts.flags = flags[AXDP_XDP_GENERIC];
	fd = bpf_link_create(dp->xdp_fd, a->ifindex, BPF_XDP, &lopts);
	if (fd < 0) {
		rc = errno;
		return axdp_fail(
			err, errlen, "%s: attaching XDP in generic mode: %s%s", a->ifname, strerror(rc),
			rc == EBUSY || rc == EEXIST
				? " (another XDP program is attached: remove it with 'ip link set dev IFACE xdp off')"
				: "");
	}
	a->xdp_mode = AXDP_XDP_GENERIC;
	return pin_new_link(fd, path, a->ifname, err, errlen);
}

static int attach_clsact(const struct axdp_datapath *dp, struct axdp_attachment *a, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc, .prog_fd = dp->tc_fd, .handle = AXDP_TC_HANDLE, .priority = AXDP_TC_PRIORITY,
		    .flags = BPF_TC_F_REPLACE);
	char path[PATH_MAX];
	int rc = bpf_tc_hook_create(&hook);

	if (rc && rc != -EEXIST)
		return axdp_fail(err, errlen, "%s: creating clsact qdisc: %s", a->ifname, strerror(-rc));
	rc = bpf_tc_attach(&hook, &tc);
	if (rc)
		return axdp_fail(err, errlen, "%s: attaching tc egress filter: %s", a->ifname, strerror(-rc));
	a->tc_mode = AXDP_TC_CLSACT;
	/* A filter has no link to pin: the program pinned beside the links says there is one to remove. */
	link_pin_path(path, sizeof(path), dp->pin_dir, AXDP_PIN_CLSACT, a->ifname);
	if (bpf_obj_pin(dp->tc_fd, path) && errno != EEXIST)
		return axdp_fail(err, errlen, "%s: pinning %s: %s", a->ifname, path, strerror(errno));
	return 0;
}

static int attach_tc(const struct axdp_datapath *dp, struct axdp_attachment *a, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd, rc;

	link_pin_path(path, sizeof(path), dp->pin_dir, AXDP_PIN_TCX, a->ifname);
	rc = adopt_link(path, dp->tc_fd, a->ifname, err, errlen);
	if (rc < 0)
		return -1;
	a->tc_mode = AXDP_TC_TCX;
	if (rc == 1)
		return 0;
	fd = bpf_link_create(dp->tc_fd, a->ifindex, AXDP_BPF_TCX_EGRESS, NULL);
	if (fd >= 0)
		return pin_new_link(fd, path, a->ifname, err, errlen);
	/* Kernels before 6.6 know no TCX; the clsact filter is replaced in place by handle. */
	if (errno == EINVAL)
		return attach_clsact(dp, a, err, errlen);
	return axdp_fail(err, errlen, "%s: attaching tc egress (tcx): %s", a->ifname, strerror(errno));
}

/*
 * Every XDP and tc program pinned under links/ replaced by this object's,
 * whoever attached it: no link is left running programs on maps whose
 * pins were taken over.
 */
static int swap_pinned_links(const struct axdp_datapath *dp, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
	struct dirent *de;
	int rc = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/" AXDP_LINKS_SUBDIR, dp->pin_dir);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : axdp_fail(err, errlen, "reading %s: %s", dir, strerror(errno));
	while (!rc && (de = readdir(d))) {
		const char *name;
		enum axdp_link_pin kind = axdp_link_pin_parse(de->d_name, &name);
		struct axdp_attachment a = {};

		if (!name)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(a.ifname, sizeof(a.ifname), "%s", name);
		if (kind == AXDP_PIN_XDP)
			rc = adopt_link(path, dp->xdp_fd, a.ifname, err, errlen) < 0;
		else if (kind == AXDP_PIN_TCX)
			rc = adopt_link(path, dp->tc_fd, a.ifname, err, errlen) < 0;
		else if (kind == AXDP_PIN_CLSACT && (a.ifindex = if_nametoindex(a.ifname)))
			rc = unlink(path) == 0 ? attach_clsact(dp, &a, err, errlen)
					       : axdp_fail(err, errlen, "%s: replacing pin %s: %s", a.ifname, path,
							   strerror(errno));
	}
	closedir(d);
	return rc ? -1 : 0;
}

int axdp_datapath_take_over(struct axdp_datapath *dp, char *err, size_t errlen)
{
	if (!dp->migration && !dp->v4_flows_carried)
		return 0;
	if (swap_pinned_links(dp, err, errlen))
		return -1;
	axdp_migration_finish(dp->migration);
	dp->migration = NULL;
	if (dp->v4_flows_carried)
		carry_v4_flows(dp, true);
	dp->v4_flows_carried = false;
	return 0;
}

/* Zeroes the counters of a slot a new interface takes over. */
static void clear_slot_counters(int counters_fd, __u32 slot)
{
	int ncpu = libbpf_num_possible_cpus();
	struct axdp_counter *zero = calloc(ncpu > 0 ? ncpu : 1, sizeof(*zero));

	for (__u32 r = 0; zero && r < AXDP_COUNTER_SLOTS; r++) {
		__u32 key = slot * AXDP_COUNTER_SLOTS + r;

		bpf_map_update_elem(counters_fd, &key, zero, BPF_ANY);
	}
	free(zero);
}

/*
 * Gives the interface a counter slot of its own.  Slots of interfaces
 * that no longer exist are free again; with none left the interface counts
 * under slot 0, with the packets of unregistered interfaces.
 */
static int register_counter_slot(const struct axdp_datapath *dp, const struct axdp_attachment *a, char *err,
				 size_t errlen)
{
	int fd = axdp_datapath_map_fd(dp, AXDP_MAP_IFACE_SLOTS, err, errlen);
	__u32 key = a->ifindex % AXDP_IFINDEX_KEYS;
	bool used[AXDP_IFACE_SLOTS] = { true };
	struct axdp_iface_slot s;
	char name[IF_NAMESIZE];

	if (fd < 0)
		return -1;
	if (bpf_map_lookup_elem(fd, &key, &s) == 0 && s.ifindex == (__u32)a->ifindex)
		return 0;
	if (s.ifindex && if_indextoname(s.ifindex, name))
		return 0; /* an ifindex alias of a live interface holds the key */
	for (__u32 k = 0; k < AXDP_IFINDEX_KEYS; k++) {
		struct axdp_iface_slot other;

		if (bpf_map_lookup_elem(fd, &k, &other) == 0 && other.ifindex && other.slot < AXDP_IFACE_SLOTS &&
		    if_indextoname(other.ifindex, name))
			used[other.slot] = true;
	}
	for (s.slot = 1; s.slot < AXDP_IFACE_SLOTS && used[s.slot]; s.slot++)
		;
	if (s.slot == AXDP_IFACE_SLOTS)
		return 0;
	clear_slot_counters(axdp_datapath_map_fd(dp, AXDP_MAP_COUNTERS, err, errlen), s.slot);
	s.ifindex = a->ifindex;
	if (bpf_map_update_elem(fd, &key, &s, BPF_ANY))
		return axdp_fail(err, errlen, "%s: map %s: %s", a->ifname, AXDP_MAP_IFACE_SLOTS, strerror(errno));
	return 0;
}

int axdp_attach(const struct axdp_datapath *dp, const char *ifname, enum axdp_xdp_mode mode,
		struct axdp_attachment *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->ifname, sizeof(out->ifname), "%s", ifname);
	out->ifindex = if_nametoindex(ifname);
	if (!out->ifindex)
		return axdp_fail(err, errlen, "%s: no such interface (%s)", ifname, strerror(errno));
	if (out->ifindex == 1 || strcmp(ifname, "lo") == 0)
		return axdp_fail(err, errlen, "%s: loopback is never filtered", ifname);
	/* Egress first: return traffic of connections made meanwhile is already tracked when ingress starts judging. */
	if (register_counter_slot(dp, out, err, errlen) || attach_tc(dp, out, err, errlen) ||
	    attach_xdp(dp, out, mode, err, errlen))
		return -1;
	return 0;
}

/* The cgroup v2 hierarchy: /sys/fs/cgroup on unified systems, /sys/fs/cgroup/unified on hybrid ones. */
static const char *cgroup2_root(void)
{
	static const char *const candidates[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs st;

	for (size_t i = 0; i < ARRAY_SIZE(candidates); i++)
		if (statfs(candidates[i], &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
			return candidates[i];
	return NULL;
}

static int detach_link(const char *path, const char *ifname, char *err, size_t errlen);

/* New link first, old one after: a listen() in between is seen by one of them. */
static int attach_hook(const struct axdp_datapath *dp, const char *name, int cgroup_fd, char *err, size_t errlen)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(dp->obj, name);
	struct bpf_link *link;
	char path[PATH_MAX];
	int rc;

	if (!prog)
		return axdp_fail(err, errlen, "program '%s' not found in the loaded object", name);
	link = cgroup_fd >= 0 ? bpf_program__attach_cgroup(prog, cgroup_fd) : bpf_program__attach(prog);
	if (!link)
		return axdp_fail(err, errlen, "attaching socket hook %s: %s", name, strerror(errno));
	link_pin_path(path, sizeof(path), dp->pin_dir, AXDP_PIN_HOOK, name);
	rc = detach_link(path, name, err, errlen);
	if (!rc && bpf_link__pin(link, path))
		rc = axdp_fail(err, errlen, "pinning socket hook %s at %s: %s", name, path, strerror(errno));
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	return rc;
}

int axdp_attach_hooks(const struct axdp_datapath *dp, char *err, size_t errlen)
{
	const char *root = cgroup2_root();
	int cgroup_fd, rc = 0;

	if (!dp->hooks)
		return axdp_fail(err, errlen, "socket hooks were not loaded: %s", dp->hooks_error);
	if (!root)
		return axdp_fail(
			err, errlen,
			"no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified: UDP binds cannot be hooked");
	cgroup_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_fd < 0)
		return axdp_fail(err, errlen, "opening cgroup %s: %s", root, strerror(errno));
	for (size_t i = 0; i < HOOK_COUNT && !rc; i++)
		rc = attach_hook(dp, hook_programs[i], strcmp(hook_programs[i], AXDP_PROG_LISTEN) ? cgroup_fd : -1, err,
				 errlen);
	close(cgroup_fd);
	return rc;
}

static int detach_link(const char *path, const char *ifname, char *err, size_t errlen)
{
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return errno == ENOENT ? 0
				       : axdp_fail(err, errlen, "%s: opening pinned link %s: %s", ifname, path,
						   strerror(errno));
	/* Detach even if another process still holds the link open. */
	bpf_link_detach(fd);
	close(fd);
	if (unlink(path))
		return axdp_fail(err, errlen, "%s: removing pin %s: %s", ifname, path, strerror(errno));
	return 0;
}

static int detach_clsact(const char *path, const char *ifname, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = if_nametoindex(ifname), .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = AXDP_TC_HANDLE, .priority = AXDP_TC_PRIORITY);

	if (access(path, F_OK) != 0)
		return 0;
	if (hook.ifindex)
		bpf_tc_detach(&hook, &tc);
	if (unlink(path))
		return axdp_fail(err, errlen, "%s: removing pin %s: %s", ifname, path, strerror(errno));
	return 0;
}

int axdp_detach(const char *pin_dir, const char *ifname, char *err, size_t errlen)
{
	char path[PATH_MAX];

	/* Ingress first, so nothing is judged by a half-removed data path. */
	link_pin_path(path, sizeof(path), pin_dir, AXDP_PIN_XDP, ifname);
	if (detach_link(path, ifname, err, errlen))
		return -1;
	link_pin_path(path, sizeof(path), pin_dir, AXDP_PIN_TCX, ifname);
	if (detach_link(path, ifname, err, errlen))
		return -1;
	link_pin_path(path, sizeof(path), pin_dir, AXDP_PIN_CLSACT, ifname);
	return detach_clsact(path, ifname, err, errlen);
}

int axdp_remove_all(const char *pin_dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/" AXDP_LINKS_SUBDIR, pin_dir);
	dir = opendir(path);
	if (!dir && errno != ENOENT)
		return axdp_fail(err, errlen, "reading %s: %s", path, strerror(errno));
	while (dir && (de = readdir(dir))) {
		const char *name;
		enum axdp_link_pin kind = axdp_link_pin_parse(de->d_name, &name);
		char link[PATH_MAX];
		int rc;

		if (de->d_name[0] == '.' || !name ||
		    snprintf(link, sizeof(link), "%s/%s", path, de->d_name) >= (int)sizeof(link))
			continue;
		rc = kind == AXDP_PIN_HOOK ? detach_link(link, name, err, errlen)
					   : axdp_detach(pin_dir, name, err, errlen);
		if (rc) {
			closedir(dir);
			return -1;
		}
	}
	if (dir)
		closedir(dir);
	rmdir(path);
	/* What is left are the pinned maps: the directory is autoxdp's own (prepare_pin_dir made it). */
	dir = opendir(pin_dir);
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (unlink(path) && errno != ENOENT) {
			closedir(dir);
			return axdp_fail(err, errlen, "removing pinned map %s: %s", path, strerror(errno));
		}
	}
	if (dir)
		closedir(dir);
	if (rmdir(pin_dir) && errno != ENOENT)
		return axdp_fail(err, errlen, "removing pin directory %s: %s (something else is pinned there)", pin_dir,
				 strerror(errno));
	return 0;
}
