// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "atomicfile.h"
#include "dropin.h"

int axdp_dropin_write(const char *path, axdp_dropin_fill_fn *fill, axdp_dropin_check_fn *check, void *ctx, char *err,
		      size_t errlen)
{
	struct axdp_atomic_file a;

	if (axdp_atomic_open(&a, path, err, errlen))
		return -1;
	fill(a.f, ctx);
	if (fflush(a.f) == EOF) {
		snprintf(err, errlen, "writing %s: %s", a.tmp, strerror(errno));
		axdp_atomic_abort(&a);
		return -1;
	}
	if (check && check(a.tmp, ctx, err, errlen)) {
		axdp_atomic_abort(&a);
		return -1;
	}
	return axdp_atomic_commit(&a, AXDP_DROPIN_MODE, err, errlen);
}

void axdp_dropin_fill_text(FILE *f, void *ctx)
{
	fputs(ctx, f);
}
