// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "errbuf.h"
#include "loader.h"
#include "xdp_copy.h"

int axdp_xdp_copy_load(struct axdp_xdp_copy *copy, const char *path, const struct axdp_knobs *knobs,
		       axdp_map_source src, void *ctx, char *err, size_t errlen)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int rc;

	memset(copy, 0, sizeof(*copy));
	copy->prog_fd = -1;
	copy->obj = bpf_object__open_file(path, NULL);
	if (!copy->obj)
		return axdp_fail(err, errlen, "opening BPF object %s: %s", path, strerror(errno));
	bpf_object__for_each_program(prog, copy->obj)
		bpf_program__set_autoload(prog, strcmp(bpf_program__name(prog), AXDP_PROG_XDP) == 0);
	bpf_object__for_each_map(map, copy->obj)
	{
		int fd;

		if (bpf_map__is_internal(map))
			continue; /* .rodata: the knobs below */
		/* Never the pins: a copy shares only what src hands it. */
		bpf_map__set_pin_path(map, NULL);
		fd = src(ctx, bpf_map__name(map));
		if (fd < 0)
			bpf_map__set_autocreate(map, false);
		else if ((rc = bpf_map__reuse_fd(map, fd)))
			goto fail_map;
	}
	if (axdp_set_knobs(copy->obj, path, knobs, err, errlen))
		goto fail;
	rc = bpf_object__load(copy->obj);
	if (rc) {
		axdp_fail(err, errlen,
			  "loading %s once more: %s (the verifier refused it, or the maps in force differ "
			  "from this object's: libbpf's messages above say which)",
			  path, strerror(-rc));
		goto fail;
	}
	copy->prog_fd = bpf_program__fd(bpf_object__find_program_by_name(copy->obj, AXDP_PROG_XDP));
	if (copy->prog_fd < 0) {
		axdp_fail(err, errlen, "%s: no program '%s': not an autoxdp data path object", path, AXDP_PROG_XDP);
		goto fail;
	}
	return 0;
fail_map:
	axdp_fail(err, errlen, "%s: map '%s': reusing the map in force: %s", path, bpf_map__name(map), strerror(-rc));
fail:
	axdp_xdp_copy_close(copy);
	return -1;
}

void axdp_xdp_copy_close(struct axdp_xdp_copy *copy)
{
	bpf_object__close(copy->obj);
	copy->obj = NULL;
	copy->prog_fd = -1;
}

int axdp_object_knobs(struct bpf_object *obj, struct axdp_knobs *knobs, char *err, size_t errlen)
{
	struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *var = NULL;
	const char *data;
	size_t size = 0;
	int id;

	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -1;
	data = rodata ? bpf_map__initial_value(rodata, &size) : NULL;
	if (id >= 0)
		var = axdp_knobs_var(btf, (__u32)id);
	if (!data || !var || var->size != sizeof(*knobs) || var->offset + var->size > size)
		return axdp_fail(err, errlen, "the loaded object has no '%s' of this version in .rodata",
				 AXDP_KNOBS_VAR);
	memcpy(knobs, data + var->offset, sizeof(*knobs));
	return 0;
}
