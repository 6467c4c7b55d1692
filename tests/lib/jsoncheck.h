/* SPDX-License-Identifier: MIT */
/*
 * A small JSON parser, and a checker of documents against the schema
 * notation axdp(8) uses in its JSON OUTPUT section:
 *
 *   { "key": TYPE, ... }   an object with exactly these keys
 *   [ TYPE ]               an array whose elements are all TYPE
 *   string number integer boolean null, "literal", and TYPE | TYPE
 *
 * so a test checks output against the man page itself, and the two
 * cannot drift apart.  Free of any test framework.
 */
#ifndef AXDP_TEST_JSONCHECK_H
#define AXDP_TEST_JSONCHECK_H

#include <stdbool.h>
#include <stddef.h>

enum jv_type { JV_NULL, JV_BOOL, JV_NUMBER, JV_STRING, JV_ARRAY, JV_OBJECT };

struct jv {
	enum jv_type type;
	bool b;
	double num;
	bool integer;         /* written without fraction or exponent */
	char *str;
	struct jv **items;    /* array elements, or object values */
	char **keys;          /* object keys */
	size_t n;
};

/* One document, nothing but whitespace after it.  NULL with a message naming the offset. */
struct jv *jv_parse(const char *text, char *err, size_t errlen);
void jv_free(struct jv *v);

/* Member of an object (NULL if absent or not an object), element of an array. */
const struct jv *jv_get(const struct jv *obj, const char *key);
const struct jv *jv_at(const struct jv *arr, size_t i);
/* Shortcuts: the string or number at key, or NULL / NaN. */
const char *jv_str(const struct jv *obj, const char *key);
double jv_num(const struct jv *obj, const char *key);

/* 0 when doc matches schema; else -1 and err names the path, e.g. "$.ports[2].pid: expected integer | null". */
int jv_check(const char *schema, const struct jv *doc, char *err, size_t errlen);

/*
 * The schema of `axdp COMMAND --json` from the man page: the literal
 * block after ".Ss COMMAND" in the JSON OUTPUT section.  malloc'd, or
 * NULL with err.
 */
char *jv_man_schema(const char *man_path, const char *command, char *err, size_t errlen);

#endif
