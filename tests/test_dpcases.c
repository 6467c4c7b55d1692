// SPDX-License-Identifier: MIT
/*
 * The differential fuzzer's kept cases (tests/fuzz/datapath-cases, files NAME.case):
 * frames on which the reference model (tests/model) and the real object
 * once disagreed, each decided and fixed on one side.  Every frame of a
 * case file goes through both, in order, on the fuzzer's state; they must
 * agree.  A file holds '#' comments and one frame per line in hex.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crit_suite.h"
#include "dpstate.h"

static struct dpstate D;

static void teardown(void)
{
	dpstate_teardown(&D);
}

CRIT_SUITE(dpcases, 60, NULL, teardown);

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned byte;

	while (s[0] && s[1] && s[0] != '\n' && n < cap && sscanf(s, "%2x", &byte) == 1) {
		out[n++] = (uint8_t)byte;
		s += 2;
	}
	return n;
}

/* Frames of path, each compared; the number compared. */
static int run_case(const char *path)
{
	char line[2 * PKT_MAX + 64], why[512], err[512];
	uint8_t frame[PKT_MAX];
	FILE *f = fopen(path, "re");
	int frames = 0;

	cr_assert_not_null(f, "opening %s", path);
	cr_assert_eq(dpstate_refresh(&D, err, sizeof(err)), 0, "%s", err);
	while (fgets(line, sizeof(line), f)) {
		size_t len;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		len = unhex(line, frame, sizeof(frame));
		cr_assert_geq(len, 14, "%s: a frame line that is not hex of 14 bytes or more", path);
		char desc[2048];
		dpm_describe(frame, len, desc, sizeof(desc));
		cr_expect_eq(dpstate_compare(&D, frame, len, why, sizeof(why)), 0, "%s, frame %d: %s\n  %s", path,
			     frames + 1, why, desc);
		frames++;
	}
	fclose(f);
	return frames;
}

Test(dpcases, model_and_object_agree_on_every_kept_case)
{
	const char *src = getenv("AXDP_SRCDIR");
	char dir[512], path[1024], err[512];
	struct dirent **names;
	int n, frames = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/datapath-cases", src && *src ? src : ".");
	cr_assert_eq(dpstate_setup(&D, err, sizeof(err)), 0, "%s", err);
	n = scandir(dir, &names, NULL, alphasort);
	cr_assert_gt(n, 0, "no cases in %s", dir);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]->d_name);

		if (l > 5 && !strcmp(names[i]->d_name + l - 5, ".case")) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			frames += run_case(path);
		}
		free(names[i]);
	}
	free(names);
	cr_assert_gt(frames, 0, "no frames in %s", dir);
}
