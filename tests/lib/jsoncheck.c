// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsoncheck.h"

#define MAX_DEPTH 64

struct lexer {
	const char *s, *start;
	char *err;
	size_t errlen;
	int depth;
};

__attribute__((format(printf, 2, 3)))
static void *fail(struct lexer *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->err && !l->err[0]) {
		n = snprintf(l->err, l->errlen, "offset %ld: ", (long)(l->s - l->start));
		va_start(ap, fmt);
		vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return NULL;
}

static void ws(struct lexer *l)
{
	while (*l->s == ' ' || *l->s == '\t' || *l->s == '\n' || *l->s == '\r')
		l->s++;
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A JSON string at l->s, decoded to UTF-8. */
static char *string(struct lexer *l)
{
	size_t cap = 16, n = 0;
	char *out = malloc(cap);

	if (*l->s != '"')
		return free(out), fail(l, "expected a string");
	l->s++;
	while (out && *l->s != '"') {
		unsigned cp;

		if (n + 5 > cap)
			out = realloc(out, cap *= 2);
		if (!out)
			return NULL;
		if (!*l->s || (unsigned char)*l->s < 0x20)
			return free(out), fail(l, "unterminated string or raw control character");
		if (*l->s != '\\') {
			out[n++] = *l->s++;
			continue;
		}
		l->s++;
		switch (*l->s) {
		case '"': case '\\': case '/': out[n++] = *l->s; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u':
			cp = 0;
			for (int i = 1; i <= 4; i++) {
				int h = hex(l->s[i]);

				if (h < 0)
					return free(out), fail(l, "bad \\u escape");
				cp = cp * 16 + (unsigned)h;
			}
			l->s += 4;
			/* Surrogates stay as they are: no axdp output needs them. */
			if (cp < 0x80) {
				out[n++] = (char)cp;
			} else if (cp < 0x800) {
				out[n++] = (char)(0xc0 | cp >> 6);
				out[n++] = (char)(0x80 | (cp & 0x3f));
			} else {
				out[n++] = (char)(0xe0 | cp >> 12);
				out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[n++] = (char)(0x80 | (cp & 0x3f));
			}
			break;
		default:
			return free(out), fail(l, "bad escape \\%c", *l->s);
		}
		l->s++;
	}
	if (!out)
		return NULL;
	l->s++;
	out[n] = '\0';
	return out;
}

static struct jv *value(struct lexer *l);

static struct jv *new_value(enum jv_type t)
{
	struct jv *v = calloc(1, sizeof(*v));

	if (v)
		v->type = t;
	return v;
}

static int push(struct jv *v, char *key, struct jv *item)
{
	struct jv **items = realloc(v->items, (v->n + 1) * sizeof(*items));
	char **keys = v->type == JV_OBJECT ? realloc(v->keys, (v->n + 1) * sizeof(*keys)) : NULL;

	if (items)
		v->items = items;
	if (keys)
		v->keys = keys;
	if (!items || (v->type == JV_OBJECT && !keys))
		return -1;
	v->items[v->n] = item;
	if (keys)
		v->keys[v->n] = key;
	v->n++;
	return 0;
}

static struct jv *container(struct lexer *l, bool object)
{
	struct jv *v = new_value(object ? JV_OBJECT : JV_ARRAY);
	char close = object ? '}' : ']';

	if (!v || ++l->depth > MAX_DEPTH)
		return jv_free(v), fail(l, "nested too deep");
	l->s++;
	ws(l);
	if (*l->s == close) {
		l->s++;
		l->depth--;
		return v;
	}
	for (;;) {
		char *key = NULL;
		struct jv *item;

		ws(l);
		if (object) {
			key = string(l);
			ws(l);
			if (!key || *l->s != ':')
				return free(key), jv_free(v), fail(l, "expected \"key\":");
			l->s++;
			for (size_t i = 0; i < v->n; i++)
				if (!strcmp(v->keys[i], key))
					return free(key), jv_free(v), fail(l, "duplicate key \"%s\"", v->keys[i]);
		}
		item = value(l);
		if (!item || push(v, key, item))
			return free(key), jv_free(item), jv_free(v), NULL;
		ws(l);
		if (*l->s == ',') {
			l->s++;
			continue;
		}
		if (*l->s != close)
			return jv_free(v), fail(l, "expected ',' or '%c'", close);
		l->s++;
		l->depth--;
		return v;
	}
}

static struct jv *number(struct lexer *l)
{
	const char *p = l->s;
	struct jv *v;
	bool integer = true;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return fail(l, "expected a value");
	if (*p == '.') {
		integer = false;
		if (*++p < '0' || *p > '9')
			return fail(l, "expected digits after '.'");
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		integer = false;
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return fail(l, "expected an exponent");
		while (*p >= '0' && *p <= '9')
			p++;
	}
	v = new_value(JV_NUMBER);
	if (!v)
		return NULL;
	v->num = strtod(l->s, NULL);
	v->integer = integer;
	l->s = p;
	return v;
}

static struct jv *value(struct lexer *l)
{
	struct jv *v;

	ws(l);
	switch (*l->s) {
	case '{': return container(l, true);
	case '[': return container(l, false);
	case '"':
		v = new_value(JV_STRING);
		if (v && !(v->str = string(l)))
			return jv_free(v), NULL;
		return v;
	case 't': case 'f': case 'n': {
		static const char *const words[] = { "true", "false", "null" };

		for (int i = 0; i < 3; i++) {
			size_t len = strlen(words[i]);

			if (!strncmp(l->s, words[i], len)) {
				l->s += len;
				v = new_value(i == 2 ? JV_NULL : JV_BOOL);
				if (v)
					v->b = i == 0;
				return v;
			}
		}
		return fail(l, "expected a value");
	}
	default:
		return number(l);
	}
}

struct jv *jv_parse(const char *text, char *err, size_t errlen)
{
	struct lexer l = { text, text, err, errlen, 0 };
	struct jv *v;

	if (err && errlen)
		err[0] = '\0';
	v = value(&l);
	ws(&l);
	if (v && *l.s)
		return jv_free(v), fail(&l, "trailing characters after the document");
	return v;
}

void jv_free(struct jv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		jv_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

const struct jv *jv_get(const struct jv *obj, const char *key)
{
	for (size_t i = 0; obj && obj->type == JV_OBJECT && i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return obj->items[i];
	return NULL;
}

const struct jv *jv_at(const struct jv *arr, size_t i)
{
	return arr && arr->type == JV_ARRAY && i < arr->n ? arr->items[i] : NULL;
}

const char *jv_str(const struct jv *obj, const char *key)
{
	const struct jv *v = jv_get(obj, key);

	return v && v->type == JV_STRING ? v->str : NULL;
}

double jv_num(const struct jv *obj, const char *key)
{
	const struct jv *v = jv_get(obj, key);

	return v && v->type == JV_NUMBER ? v->num : NAN;
}

/* ---- schemas ---- */

struct checker {
	struct lexer l;       /* over the schema */
	char path[512];
};

static bool word(struct lexer *l, const char *w)
{
	size_t n = strlen(w);
	char next;

	if (strncmp(l->s, w, n))
		return false;
	next = l->s[n];
	if ((next >= 'a' && next <= 'z') || next == '_')
		return false;
	l->s += n;
	return true;
}

/*
 * Skips one alternative of the schema at l->s.  Schemas are checked by
 * walking their text beside the document, so a union tries each branch
 * from the same place.
 */
static bool skip_type(struct lexer *l);

static bool skip_alt(struct lexer *l)
{
	ws(l);
	if (*l->s == '{' || *l->s == '[') {
		char close = *l->s == '{' ? '}' : ']';

		l->s++;
		for (;;) {
			ws(l);
			if (*l->s == close) {
				l->s++;
				return true;
			}
			if (close == '}') {
				free(string(l));
				ws(l);
				if (*l->s++ != ':')
					return false;
			}
			if (!skip_type(l))
				return false;
			ws(l);
			if (*l->s == ',')
				l->s++;
		}
	}
	if (*l->s == '"') {
		char *s = string(l);

		free(s);
		return s != NULL;
	}
	return word(l, "string") || word(l, "number") || word(l, "integer") || word(l, "boolean") || word(l, "null");
}

static bool skip_type(struct lexer *l)
{
	do {
		if (!skip_alt(l))
			return false;
		ws(l);
	} while (*l->s == '|' && l->s++);
	return true;
}

static int check_type(struct checker *c, const struct jv *v, char *err, size_t errlen);

/* One alternative against v: 1 match, 0 no match (l->s past the alternative either way), -1 bad schema. */
static int check_alt(struct checker *c, const struct jv *v, char *err, size_t errlen)
{
	struct lexer *l = &c->l;
	size_t plen = strlen(c->path);

	ws(l);
	if (*l->s == '{') {
		const char *start = l->s;
		bool ok = v->type == JV_OBJECT;
		size_t seen = 0;

		l->s++;
		for (;;) {
			char *key;
			const struct jv *member;

			ws(l);
			if (*l->s == '}') {
				l->s++;
				break;
			}
			key = string(l);
			ws(l);
			if (!key || *l->s++ != ':')
				return free(key), -1;
			member = ok ? jv_get(v, key) : NULL;
			if (ok && !member) {
				snprintf(err, errlen, "%s: missing key \"%s\"", c->path, key);
				ok = false;
			}
			if (member) {
				int r;

				seen++;
				snprintf(c->path + plen, sizeof(c->path) - plen, ".%s", key);
				r = check_type(c, member, err, errlen);
				c->path[plen] = '\0';
				if (r < 0)
					return free(key), -1;
				ok = r == 1;
			} else if (!skip_type(l)) {
				return free(key), -1;
			}
			free(key);
			ws(l);
			if (*l->s == ',')
				l->s++;
		}
		if (ok && seen != v->n) {
			for (size_t i = 0; i < v->n; i++) {
				struct lexer probe = { start + 1, start, NULL, 0, 0 };
				bool known = false;

				/* Which key of the document the schema lacks. */
				for (;;) {
					char *key;

					ws(&probe);
					if (*probe.s == '}' || !(key = string(&probe)))
						break;
					known |= !strcmp(key, v->keys[i]);
					free(key);
					ws(&probe);
					probe.s++;
					skip_type(&probe);
					ws(&probe);
					if (*probe.s == ',')
						probe.s++;
				}
				if (!known) {
					snprintf(err, errlen, "%s: key \"%s\" is not in the documented schema",
						 c->path, v->keys[i]);
					break;
				}
			}
			ok = false;
		}
		if (!ok && v->type != JV_OBJECT)
			snprintf(err, errlen, "%s: expected an object", c->path);
		return ok;
	}
	if (*l->s == '[') {
		const char *elem;
		bool ok = v->type == JV_ARRAY;

		l->s++;
		elem = l->s;
		for (size_t i = 0; ok && i < v->n; i++) {
			int r;

			l->s = elem;
			snprintf(c->path + plen, sizeof(c->path) - plen, "[%zu]", i);
			r = check_type(c, v->items[i], err, errlen);
			c->path[plen] = '\0';
			if (r < 0)
				return -1;
			ok = r == 1;
		}
		l->s = elem;
		if (!skip_type(l))
			return -1;
		ws(l);
		if (*l->s++ != ']')
			return -1;
		if (v->type != JV_ARRAY)
			snprintf(err, errlen, "%s: expected an array", c->path);
		return ok;
	}
	if (*l->s == '"') {
		char *lit = string(l);
		bool ok;

		if (!lit)
			return -1;
		ok = v->type == JV_STRING && !strcmp(v->str, lit);
		if (!ok)
			snprintf(err, errlen, "%s: expected \"%s\"%s%s", c->path, lit,
				 v->type == JV_STRING ? ", got " : "", v->type == JV_STRING ? v->str : "");
		free(lit);
		return ok;
	}
	static const struct { const char *name; int ok; } words[] = {
		{ "string", JV_STRING }, { "number", JV_NUMBER }, { "integer", -2 }, { "boolean", JV_BOOL }, { "null", JV_NULL },
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!word(l, words[i].name))
			continue;
		bool ok = words[i].ok == -2 ? v->type == JV_NUMBER && v->integer : (int)v->type == words[i].ok;

		if (!ok)
			snprintf(err, errlen, "%s: expected %s", c->path, words[i].name);
		return ok;
	}
	return -1;
}

static int check_type(struct checker *c, const struct jv *v, char *err, size_t errlen)
{
	int matched = 0;

	for (;;) {
		int r = matched ? (skip_alt(&c->l) ? 1 : -1) : check_alt(c, v, err, errlen);

		if (r < 0)
			return -1;
		matched |= r;
		ws(&c->l);
		if (*c->l.s != '|')
			break;
		c->l.s++;
	}
	if (matched)
		err[0] = '\0';
	return matched;
}

int jv_check(const char *schema, const struct jv *doc, char *err, size_t errlen)
{
	struct checker c = { .l = { schema, schema, NULL, 0, 0 }, .path = "$" };
	int r;

	err[0] = '\0';
	r = check_type(&c, doc, err, errlen);
	if (r < 0) {
		snprintf(err, errlen, "the schema does not parse near offset %ld", (long)(c.l.s - schema));
		return -1;
	}
	ws(&c.l);
	if (*c.l.s) {
		snprintf(err, errlen, "the schema has trailing text at offset %ld", (long)(c.l.s - schema));
		return -1;
	}
	if (!r && !err[0])
		snprintf(err, errlen, "$: no alternative matches");
	return r ? 0 : -1;
}

char *jv_man_schema(const char *man_path, const char *command, char *err, size_t errlen)
{
	FILE *f = fopen(man_path, "r");
	char line[1024], want[128];
	bool section = false, found = false, block = false;
	char *out = NULL;
	size_t len = 0;

	if (!f) {
		snprintf(err, errlen, "opening %s", man_path);
		return NULL;
	}
	snprintf(want, sizeof(want), ".Ss %s\n", command);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, ".Sh ", 4)) {
			if (section)
				break;
			section = !strcmp(line, ".Sh JSON OUTPUT\n");
			continue;
		}
		if (!section)
			continue;
		if (!found) {
			found = !strcmp(line, want);
			continue;
		}
		if (!block) {
			block = !strncmp(line, ".Bd -literal", 12);
			if (!strncmp(line, ".Ss ", 4))
				break;
			continue;
		}
		if (!strcmp(line, ".Ed\n"))
			break;
		char *v = realloc(out, len + strlen(line) + 1);

		if (!v)
			break;
		out = v;
		strcpy(out + len, line);
		len += strlen(line);
	}
	fclose(f);
	if (!out)
		snprintf(err, errlen, "%s: no literal block after \".Ss %s\" in the JSON OUTPUT section", man_path, command);
	return out;
}
