// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "dpfix.h"
#include "stale.h"

#define BPFFS "/sys/fs/bpf"
/* The pin directory and its links/. */
#define PIN_DEPTH 2

int dpfix_setup(struct dpfix *f, const char *pin_prefix, const char *object, const struct axdp_knobs *knobs,
		enum axdp_xdp_mode mode, char *err, size_t errlen)
{
	struct axdp_load_opts opts = { .object_path = object, .pin_dir = f->pin_dir, .knobs = AXDP_KNOBS_DEFAULT };

	dpfix_remove_stale(pin_prefix);
	if (knobs)
		opts.knobs = *knobs;
	snprintf(f->pin_dir, sizeof(f->pin_dir), BPFFS "/%s%d", pin_prefix, (int)getpid());
	if (netns_pair_create(&f->ns, err, errlen))
		return -1;
	f->home = netns_current(err, errlen);
	if (f->home < 0 || netns_enter(f->ns.name[NETNS_SERVER], err, errlen))
		return -1;
	if (axdp_datapath_load(&f->dp, &opts, err, errlen) ||
	    axdp_attach(&f->dp, f->ns.ifname[NETNS_SERVER], mode, &f->att, err, errlen))
		return -1;
	return 0;
}

/* Appends "; what" to err after an earlier failure, so every failed step is told. */
static void failed(char *err, size_t errlen, int *rc, const char *step, const char *what)
{
	size_t used = *rc ? strlen(err) : 0;

	if (used + 2 < errlen)
		snprintf(err + used, errlen - used, "%s%s%s%s", *rc ? "; " : "", step, *step ? ": " : "", what);
	*rc = -1;
}

int dpfix_detach(struct dpfix *f, char *err, size_t errlen)
{
	char why[512];
	bool in_server = f->ns.created[NETNS_SERVER] && netns_enter(f->ns.name[NETNS_SERVER], why, sizeof(why)) == 0;
	int rc = 0;

	if (f->dp.obj)
		axdp_datapath_close(&f->dp);
	if (f->pin_dir[0]) {
		/* The loader resolves interface names in the current namespace: only ever run it in ours. */
		if (in_server) {
			if (axdp_detach(f->pin_dir, f->ns.ifname[NETNS_SERVER], why, sizeof(why)))
				failed(err, errlen, &rc, "axdp_detach", why);
			if (axdp_remove_all(f->pin_dir, why, sizeof(why)))
				failed(err, errlen, &rc, "axdp_remove_all", why);
		}
		rmtree(f->pin_dir, PIN_DEPTH);
		f->pin_dir[0] = '\0';
	}
	if (f->home >= 0) {
		if (netns_return(f->home, why, sizeof(why)))
			failed(err, errlen, &rc, "", why);
		f->home = -1;
	}
	return rc;
}

void dpfix_remove_stale(const char *pin_prefix)
{
	netns_remove_stale();
	stale_remove(BPFFS, pin_prefix, "", PIN_DEPTH);
}
