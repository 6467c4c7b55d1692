// SPDX-License-Identifier: MIT
/*
 * The policy drop-in of axdp (src/cli_dropin.c) read and written back.
 * axdp rewrites only drop-ins the configuration parser accepts (it loads
 * the configuration first).  For those: the rewritten drop-in means the
 * same configuration, and writing is a fixed point (what was written
 * reads and writes back byte for byte).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_dropin.h"
#include "config.h"
#include "fuzz_util.h"

/* d->path read and written to out; the written bytes, malloc'd. */
static char *rewrite(const char *in, const char *out, size_t *len)
{
	struct pol_dropin d = { 0 };
	char *text = NULL;
	FILE *f, *m;

	snprintf(d.path, sizeof(d.path), "%s", in);
	FUZZ_ASSERT(pol_read_dropin(&d) == 0, "reading %s: %m", in);
	f = fopen(out, "we");
	m = open_memstream(&text, len);
	FUZZ_ASSERT(f && m, "opening %s: %m", out);
	pol_write_dropin(f, &d, "/etc/autoxdp.conf");
	pol_write_dropin(m, &d, "/etc/autoxdp.conf");
	FUZZ_ASSERT(fclose(f) == 0 && fclose(m) == 0, "writing %s: %m", out);
	pol_free_dropin(&d);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char orig[256], a[256], b[256], err[512];
	struct axdp_config want, got;
	size_t alen, blen;
	char *atext, *btext;

	snprintf(orig, sizeof(orig), "%s", fuzz_file("orig.conf", data, size));
	snprintf(a, sizeof(a), "%s/a.conf", fuzz_dir());
	snprintf(b, sizeof(b), "%s/b.conf", fuzz_dir());
	axdp_config_defaults(&want);
	if (axdp_config_parse_file(&want, orig, err, sizeof(err)) < 0) {
		axdp_config_free(&want);
		return 0;
	}
	atext = rewrite(orig, a, &alen);
	axdp_config_defaults(&got);
	FUZZ_ASSERT(axdp_config_parse_file(&got, a, err, sizeof(err)) == 0,
		    "a drop-in that parsed no longer does once rewritten: %s\n%s", err, atext);
	FUZZ_ASSERT(axdp_config_equal(&want, &got), "the rewritten drop-in means another configuration:\n%s", atext);
	axdp_config_free(&got);
	btext = rewrite(a, b, &blen);
	FUZZ_ASSERT(alen == blen && !memcmp(atext, btext, alen), "not a fixed point:\n%s\n----\n%s", atext, btext);
	axdp_config_free(&want);
	free(atext);
	free(btext);
	return 0;
}
