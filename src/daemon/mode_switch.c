// SPDX-License-Identifier: MIT
#include <string.h>
#include <bpf/libbpf.h>
#include "errbuf.h"
#include "mode_switch.h"

/* Every map of the daemon's own object: the two programs judge with one state. */
static int own_map(void *ctx, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(((struct axdp_datapath *)ctx)->obj, name);

	return map ? bpf_map__fd(map) : -1;
}

int axdp_mode_prepare(struct axdp_mode_switch *ms, struct axdp_datapath *dp, const char *object_path, char *err,
		      size_t errlen)
{
	struct axdp_knobs knobs;

	ms->other.obj = NULL;
	ms->other.prog_fd = -1;
	/* On failure ms->audit stays what the caller set: the mode the configuration loaded. */
	if (axdp_object_knobs(dp->obj, &knobs, err, errlen))
		return -1;
	ms->audit = knobs.audit;
	knobs.audit = !knobs.audit;
	return axdp_xdp_copy_load(&ms->other, object_path ? object_path : AXDP_OBJECT_DEFAULT, &knobs, own_map, dp, err,
				  errlen);
}

int axdp_mode_switch(struct axdp_mode_switch *ms, struct axdp_datapath *dp, bool audit,
		     const struct axdp_attachment *att, int n, char *err, size_t errlen)
{
	int fd;

	if (audit == ms->audit)
		return 0;
	if (ms->other.prog_fd < 0)
		return axdp_fail(err, errlen, "the %s program did not load at start", axdp_mode_name(audit));
	fd = ms->other.prog_fd;
	ms->other.prog_fd = dp->xdp_fd;
	dp->xdp_fd = fd;
	ms->audit = audit;
	for (int i = 0; i < n; i++)
		if (axdp_update_xdp(dp->pin_dir, att[i].ifname, dp->xdp_fd, err, errlen))
			return -1;
	return 0;
}

void axdp_mode_close(struct axdp_mode_switch *ms)
{
	axdp_xdp_copy_close(&ms->other);
}
