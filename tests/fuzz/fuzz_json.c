// SPDX-License-Identifier: MIT
/*
 * The JSON writer of axdp (src/cli_json.c): whatever bytes a string holds,
 * the document is valid UTF-8 and valid JSON, and a string that was valid
 * UTF-8 reads back unchanged.  The UTF-8 check here decodes code points,
 * independently of the writer's table of byte ranges.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "fuzz_util.h"
#include "jsoncheck.h"

/* Well-formed UTF-8: shortest form, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned cp, len;

		if (s[i] < 0x80)
			len = 1, cp = s[i];
		else if ((s[i] & 0xe0) == 0xc0)
			len = 2, cp = s[i] & 0x1f;
		else if ((s[i] & 0xf0) == 0xe0)
			len = 3, cp = s[i] & 0x0f;
		else if ((s[i] & 0xf8) == 0xf0)
			len = 4, cp = s[i] & 0x07;
		else
			return false;
		if (i + len > n)
			return false;
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = strndup((const char *)data, size), *doc = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);
	struct json j;
	struct jv *v;

	FUZZ_ASSERT(in && f, "out of memory");
	json_start(&j, f);
	json_obj(&j, NULL);
	json_str(&j, in, in);   /* keys go through the same escaping */
	json_obj_end(&j);
	json_end(&j);
	fclose(f);
	FUZZ_ASSERT(utf8_valid((const unsigned char *)doc, len), "not UTF-8: %s", doc);
	v = jv_parse(doc, err, sizeof(err));
	FUZZ_ASSERT(v && v->type == JV_OBJECT && v->n == 1, "not one JSON object (%s): %s", err, doc);
	FUZZ_ASSERT(utf8_valid((const unsigned char *)v->items[0]->str, strlen(v->items[0]->str)),
		    "the string decodes to invalid UTF-8: %s", doc);
	if (utf8_valid((const unsigned char *)in, strlen(in)))
		FUZZ_ASSERT(!strcmp(v->items[0]->str, in) && !strcmp(v->keys[0], in), "did not read back: %s", doc);
	jv_free(v);
	free(doc);
	free(in);
	return 0;
}
