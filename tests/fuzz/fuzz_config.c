// SPDX-License-Identifier: MIT
/*
 * The configuration parser (src/config.c) with drop-ins.  The input is the
 * main file and up to three drop-ins, split at lines "%%".  Properties: a
 * refusal names FILE:LINE; an accepted configuration prints as a file that
 * parses back to an equal one (axdp_config_print's contract).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "fuzz_util.h"

#define SEP "\n%%\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "10-a.conf", "20-b.conf", "30-c.conf" };
	const uint8_t *p = data, *end = data + size;
	char main_file[256], dropins[256], printed[256], err[512] = "";
	struct axdp_config c, back;
	FILE *f;

	snprintf(dropins, sizeof(dropins), "%s", fuzz_subdir("autoxdp.conf.d"));
	for (int part = 0; part < 4; part++) {
		const uint8_t *sep = memmem(p, (size_t)(end - p), SEP, strlen(SEP));
		const uint8_t *stop = sep && part < 3 ? sep : end;
		char name[64];

		if (part == 0) {
			snprintf(main_file, sizeof(main_file), "%s", fuzz_file("autoxdp.conf", p, (size_t)(stop - p)));
		} else {
			snprintf(name, sizeof(name), "autoxdp.conf.d/%s", names[part - 1]);
			fuzz_file(name, p, (size_t)(stop - p));
		}
		if (stop == end)
			break;
		p = stop + strlen(SEP);
	}

	if (axdp_config_load(&c, main_file, dropins, err, sizeof(err)) < 0) {
		FUZZ_ASSERT(strstr(err, fuzz_dir()) && strchr(err, ':'), "a refusal that names no file: %s", err);
		return 0;
	}
	snprintf(printed, sizeof(printed), "%s/printed.conf", fuzz_dir());
	f = fopen(printed, "we");
	FUZZ_ASSERT(f && axdp_config_print(&c, f) == 0 && fclose(f) == 0, "printing to %s", printed);
	FUZZ_ASSERT(axdp_config_load(&back, printed, fuzz_subdir("empty.d"), err, sizeof(err)) == 0,
		    "the printed configuration does not parse: %s", err);
	FUZZ_ASSERT(axdp_config_equal(&c, &back), "the printed configuration parses to another one");
	axdp_config_free(&back);
	axdp_config_free(&c);
	return 0;
}
