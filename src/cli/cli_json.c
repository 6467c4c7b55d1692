// SPDX-License-Identifier: MIT
/* A JSON writer just big enough for axdp: compact documents, one per line, so output streams (NDJSON). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

void json_start(struct json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

void json_end(struct json *j)
{
	fputc('\n', j->out);
	fflush(j->out);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629, table 3-7 of Unicode), or 0 when s[0] does not
 * start one: no overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence.  The second
 * byte's range depends on the first; the others are plain continuation bytes. */
static int utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Every byte that is not part of a well-formed sequence becomes U+FFFD on its own, so the document stays
 * valid JSON whatever a process named itself (prctl PR_SET_NAME takes any bytes). */
static void string(FILE *out, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	fputc('"', out);
	while (*s) {
		int n;

		if (*s == '"' || *s == '\\') {
			fprintf(out, "\\%c", *s++);
		} else if (*s == '\n') {
			fputs("\\n", out), s++;
		} else if (*s == '\t') {
			fputs("\\t", out), s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(out, "\\u%04x", *s++);
		} else if (*s < 0x80) {
			fputc(*s++, out);
		} else if ((n = utf8_len(s))) {
			fwrite(s, 1, (size_t)n, out);
			s += n;
		} else {
			fputs("\\ufffd", out), s++;
		}
	}
	fputc('"', out);
}

/* The separator and key of the next member or element. */
static void member(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->out);
	j->need_comma[j->depth] = true;
	if (key) {
		string(j->out, key);
		fputc(':', j->out);
	}
}

static void begin(struct json *j, const char *key, char ch)
{
	member(j, key);
	fputc(ch, j->out);
	if (j->depth + 1 < (int)(sizeof(j->need_comma) / sizeof(j->need_comma[0])))
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void finish(struct json *j, char ch)
{
	fputc(ch, j->out);
	if (j->depth > 0)
		j->depth--;
}

void json_obj(struct json *j, const char *key)
{
	begin(j, key, '{');
}
void json_obj_end(struct json *j)
{
	finish(j, '}');
}
void json_arr(struct json *j, const char *key)
{
	begin(j, key, '[');
}
void json_arr_end(struct json *j)
{
	finish(j, ']');
}

void json_str(struct json *j, const char *key, const char *v)
{
	member(j, key);
	if (v)
		string(j->out, v);
	else
		fputs("null", j->out);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->out, "%llu", (unsigned long long)v);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
	member(j, key);
	fprintf(j->out, "%lld", (long long)v);
}

void json_num(struct json *j, const char *key, double v)
{
	member(j, key);
	if (isfinite(v))
		fprintf(j->out, "%.15g", v);
	else
		fputs("null", j->out);
}

void json_bool(struct json *j, const char *key, bool v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->out);
}

void json_null(struct json *j, const char *key)
{
	member(j, key);
	fputs("null", j->out);
}
