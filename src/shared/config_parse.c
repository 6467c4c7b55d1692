// SPDX-License-Identifier: MIT
/* One parser, printer, comparer (and, for lists, reset, copy and release) per value type of the key table. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_parse.h"
#include "parse_number.h"
#include "util.h"

/* Longest token quoted back in an error; the rest of a garbage line helps nobody. */
#define QUOTE_MAX 80
int conf_fail(const struct pos *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -1;
	if (p->line)
		n = snprintf(p->err, p->errlen, "%s:%lu: ", p->file, p->line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->file);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}
/* Locale-independent: a daemon may call setlocale(), the file format must not change. */
static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

char *axdp_config_trim(char *s)
{
	char *e;

	while (is_ws(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_ws(e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* Splits a list value at whitespace; false at the end. */
bool conf_next_token(const char **s, const char **tok, size_t *len)
{
	const char *p = *s;

	while (is_ws(*p))
		p++;
	if (!*p)
		return false;
	*tok = p;
	while (*p && !is_ws(*p))
		p++;
	*len = (size_t)(p - *tok);
	*s = p;
	return true;
}

int conf_qlen(size_t len)
{
	return len > QUOTE_MAX ? QUOTE_MAX : (int)len;
}
static void *memdup(const void *src, size_t n, size_t elsz)
{
	void *d;

	if (!n)
		return NULL;
	d = malloc(n * elsz); /* n * elsz already fitted in the source array */
	if (d)
		memcpy(d, src, n * elsz);
	return d;
}
int conf_oom(const struct pos *p)
{
	return conf_fail(p, "out of memory: free some memory and retry");
}

/*
 * Lists whose elements own no memory (interface names, CIDRs): emptying
 * keeps the array, a copy duplicates the array alone.
 */
#define FLAT_LIST_OPS(prefix, list_type)                  \
	static void prefix##_reset(void *f)               \
	{                                                 \
		((list_type *)f)->n = 0;                  \
	}                                                 \
                                                          \
	static int prefix##_dup(void *f)                  \
	{                                                 \
		list_type *l = f;                         \
                                                          \
		l->v = memdup(l->v, l->n, sizeof(*l->v)); \
		l->cap = l->n;                            \
		if (l->n && !l->v) {                      \
			l->n = l->cap = 0;                \
			return -1;                        \
		}                                         \
		return 0;                                 \
	}                                                 \
                                                          \
	static void prefix##_release(void *f)             \
	{                                                 \
		list_type *l = f;                         \
                                                          \
		free(l->v);                               \
		l->v = NULL;                              \
		l->n = l->cap = 0;                        \
	}

/* -- T_IFNAMES -- */

/* The kernel's dev_valid_name(), so a name accepted here can exist. */
static bool valid_ifname(const char *s, size_t len, const struct key *k)
{
	if (len < k->min || len > k->max)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':')
			return false;
	return true;
}

static int ifnames_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	struct axdp_ifname_list *l = f;
	const char *tok;
	size_t len;

	while (conf_next_token(&v, &tok, &len)) {
		char name[AXDP_IFNAMSIZ] = { 0 };
		bool dup = false;

		if (!valid_ifname(tok, len, k))
			return conf_fail(p,
					 "%s= entry \"%.*s\": expected %s of %u to %u "
					 "characters without '/' or ':'",
					 k->name, conf_qlen(len), tok,
					 k->type == T_NAMES ? "a process name" : "an interface name", k->min, k->max);
		memcpy(name, tok, len);
		/* Attaching twice to one interface is never meant; a set is what the daemon wants. */
		for (size_t i = 0; i < l->n && !dup; i++)
			dup = !strcmp(l->v[i], name);
		if (dup)
			continue;
		if (AXDP_GROW(l->v, l->cap, l->n))
			return conf_oom(p);
		memcpy(l->v[l->n++], name, sizeof(name));
	}
	return 0;
}

static void ifnames_print(FILE *out, const void *f, const struct key *k)
{
	const struct axdp_ifname_list *l = f;

	(void)k;
	for (size_t i = 0; i < l->n; i++)
		fprintf(out, "%s%s", i ? " " : "", l->v[i]);
}

static bool ifnames_equal(const void *a, const void *b)
{
	const struct axdp_ifname_list *x = a, *y = b;

	return x->n == y->n && (!x->n || !memcmp(x->v, y->v, x->n * sizeof(*x->v)));
}

FLAT_LIST_OPS(ifnames, struct axdp_ifname_list)

/* -- T_PATH -- */

static int path_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	size_t len = strlen(v);
	bool ctl = false;

	/* Control bytes would not survive a print/parse round trip (or a log line). */
	for (size_t i = 0; i < len; i++)
		ctl |= (unsigned char)v[i] < 0x20 || v[i] == 0x7f;
	if (!len && !k->min) {
		*(char *)f = '\0';
		return 0;
	}
	if (v[0] != '/' || ctl || len < k->min || len > k->max)
		return conf_fail(p, "%s=%.*s: expected an absolute path of at most %u bytes", k->name, conf_qlen(len),
				 v, k->max);
	memcpy(f, v, len + 1);
	return 0;
}

static void path_print(FILE *out, const void *f, const struct key *k)
{
	(void)k;
	fputs(f, out);
}

static bool path_equal(const void *a, const void *b)
{
	return !strcmp(a, b);
}

/* -- T_ENUM -- */

static int enum_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	char expect[128];
	size_t n = 0, used = 0;

	for (unsigned i = 0; k->names[i]; i++) {
		if (!strcmp(v, k->names[i])) {
			*(unsigned int *)f = i;
			return 0;
		}
	}
	while (k->names[n])
		n++;
	expect[0] = '\0';
	for (size_t i = 0; i < n && used < sizeof(expect); i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(expect + used, sizeof(expect) - used, "%s%s", sep, k->names[i]);

		used += w > 0 ? (size_t)w : 0;
	}
	return conf_fail(p, "%s=%.*s: expected %s", k->name, conf_qlen(strlen(v)), v, expect);
}

static void enum_print(FILE *out, const void *f, const struct key *k)
{
	fputs(k->names[*(const unsigned int *)f], out);
}

/* T_ENUM and T_UINT fields are both one unsigned int wide (see the asserts). */
static bool word_equal(const void *a, const void *b)
{
	return *(const unsigned int *)a == *(const unsigned int *)b;
}

/* -- T_UINT -- */

static int uint_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	uint64_t x;

	if (axdp_parse_uint(v, strlen(v), k->max, &x) || x < k->min)
		return conf_fail(p, "%s=%.*s: expected an integer from %u to %u", k->name, conf_qlen(strlen(v)), v,
				 k->min, k->max);
	*(uint32_t *)f = (uint32_t)x;
	return 0;
}

static void uint_print(FILE *out, const void *f, const struct key *k)
{
	(void)k;
	fprintf(out, "%u", (unsigned)*(const uint32_t *)f);
}

/* -- T_PORTS -- */

static int ports_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	uint8_t *set = f;
	const char *tok;
	size_t len;

	while (conf_next_token(&v, &tok, &len)) {
		uint64_t lo, hi;
		int r = axdp_parse_range(tok, len, k->max, &lo, &hi);

		if (r == -EINVAL)
			return conf_fail(p,
					 "%s= entry \"%.*s\": expected a port or a range LOW-HIGH, "
					 "e.g. 22 80 8000-8010",
					 k->name, conf_qlen(len), tok);
		if (r || lo < k->min || hi < k->min)
			return conf_fail(p, "%s= entry \"%.*s\": expected ports from %u to %u", k->name, conf_qlen(len),
					 tok, k->min, k->max);
		if (lo > hi)
			return conf_fail(p, "%s= entry \"%.*s\": expected a range LOW-HIGH with LOW <= HIGH", k->name,
					 conf_qlen(len), tok);
		for (uint64_t port = lo; port <= hi; port++)
			set[port >> 3] |= (uint8_t)(1u << (port & 7));
	}
	return 0;
}

static void ports_print(FILE *out, const void *f, const struct key *k)
{
	char text[AXDP_PORT_RUN_STRLEN];
	uint32_t lo, hi = 0;

	(void)k;
	for (bool first = true; axdp_port_next_run(f, &lo, &hi); first = false) {
		axdp_port_run_format(text, sizeof(text), lo, hi);
		fprintf(out, "%s%s", first ? "" : " ", text);
	}
}

bool axdp_port_next_run(const uint8_t set[AXDP_PORTSET_BYTES], uint32_t *lo, uint32_t *hi)
{
	/* Port 0 is never in a set (config.h). */
	for (uint32_t port = *hi + 1; port < AXDP_PORTS; port++) {
		if (!axdp_port_in(set, (uint16_t)port))
			continue;
		*lo = *hi = port;
		while (*hi + 1 < AXDP_PORTS && axdp_port_in(set, (uint16_t)(*hi + 1)))
			(*hi)++;
		return true;
	}
	return false;
}

void axdp_port_run_format(char *buf, size_t len, uint32_t lo, uint32_t hi)
{
	if (lo == hi)
		snprintf(buf, len, "%u", lo);
	else
		snprintf(buf, len, "%u-%u", lo, hi);
}

static bool ports_equal(const void *a, const void *b)
{
	return !memcmp(a, b, AXDP_PORTSET_BYTES);
}

static void ports_reset(void *f)
{
	memset(f, 0, AXDP_PORTSET_BYTES);
}
/* -- T_CIDRS -- */

static int cidr_parse_one(const char *tok, size_t len, struct axdp_cidr *out, const struct key *k, const struct pos *p)
{
	struct axdp_cidr c, net;
	char want[AXDP_CIDR_STRLEN];
	bool v6;

	switch (axdp_cidr_scan(tok, len, &c, &net)) {
	case AXDP_CIDR_OK: *out = c; return 0;
	case AXDP_CIDR_BAD_PREFIX:
		v6 = memchr(tok, ':', len) != NULL;
		return conf_fail(p, "%s= entry \"%.*s\": expected an %s prefix length from 0 to %u", k->name,
				 conf_qlen(len), tok, v6 ? "IPv6" : "IPv4", v6 ? 128 : 32);
	case AXDP_CIDR_HOST_BITS:
		/* Host bits usually mean a mistyped network; say which one we would have used. */
		axdp_cidr_format(want, sizeof(want), &net);
		return conf_fail(p, "%s= entry \"%.*s\": host bits are set, expected the network address %s", k->name,
				 conf_qlen(len), tok, want);
	case AXDP_CIDR_BAD_ADDR: break;
	}
	return conf_fail(p, "%s= entry \"%.*s\": expected an IPv4 or IPv6 address, optionally with /PREFIX", k->name,
			 conf_qlen(len), tok);
}

static int cidrs_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	struct axdp_cidr_list *l = f;
	const char *tok;
	size_t len;

	while (conf_next_token(&v, &tok, &len)) {
		struct axdp_cidr c;
		bool dup = false;

		if (cidr_parse_one(tok, len, &c, k, p) < 0)
			return -1;
		for (size_t i = 0; i < l->n && !dup; i++)
			dup = axdp_cidr_equal(&l->v[i], &c);
		if (!dup && axdp_cidr_list_add(l, &c))
			return conf_oom(p);
	}
	return 0;
}

static void cidrs_print(FILE *out, const void *f, const struct key *k)
{
	const struct axdp_cidr_list *l = f;

	(void)k;
	for (size_t i = 0; i < l->n; i++) {
		char buf[AXDP_CIDR_STRLEN];

		axdp_cidr_format(buf, sizeof(buf), &l->v[i]);
		fprintf(out, "%s%s", i ? " " : "", buf);
	}
}

static bool cidrs_equal(const void *a, const void *b)
{
	const struct axdp_cidr_list *x = a, *y = b;

	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (!axdp_cidr_equal(&x->v[i], &y->v[i]))
			return false;
	return true;
}

FLAT_LIST_OPS(cidrs, struct axdp_cidr_list)

/* -- T_BOOL -- */

static int bool_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
			*(bool *)f = !strcasecmp(v, yes[i]);
			return 0;
		}
	}
	return conf_fail(p, "%s=%.*s: expected yes or no (true/false, on/off and 1/0 work too)", k->name,
			 conf_qlen(strlen(v)), v);
}

static void bool_print(FILE *out, const void *f, const struct key *k)
{
	(void)k;
	fputs(*(const bool *)f ? "yes" : "no", out);
}

static bool bool_equal(const void *a, const void *b)
{
	return *(const bool *)a == *(const bool *)b;
}

/* -- T_PATHS: whitespace-separated, each one checked as a T_PATH -- */

static int paths_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	struct axdp_path_list *l = f;
	const char *tok;
	size_t len;

	while (conf_next_token(&v, &tok, &len)) {
		char checked[AXDP_PATH_MAX], *one = strndup(tok, len);
		bool dup = false;

		if (!one)
			return conf_oom(p);
		if (path_parse(checked, k, one, p) < 0) {
			free(one);
			return -1;
		}
		for (size_t i = 0; i < l->n && !dup; i++)
			dup = !strcmp(l->v[i], one);
		if (dup || AXDP_GROW(l->v, l->cap, l->n)) {
			free(one);
			if (dup)
				continue;
			return conf_oom(p);
		}
		l->v[l->n++] = one;
	}
	return 0;
}

static void paths_print(FILE *out, const void *f, const struct key *k)
{
	const struct axdp_path_list *l = f;

	(void)k;
	for (size_t i = 0; i < l->n; i++)
		fprintf(out, "%s%s", i ? " " : "", l->v[i]);
}

static bool paths_equal(const void *a, const void *b)
{
	const struct axdp_path_list *x = a, *y = b;

	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->v[i], y->v[i]))
			return false;
	return true;
}

/* The strings are the list's own: emptying frees them, the array stays. */
static void paths_reset(void *f)
{
	struct axdp_path_list *l = f;

	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static void paths_release(void *f)
{
	struct axdp_path_list *l = f;

	paths_reset(l);
	free(l->v);
	l->v = NULL;
	l->cap = 0;
}

static int paths_dup(void *f)
{
	struct axdp_path_list *l = f;
	char **src = l->v;
	size_t n = l->n;

	l->v = n ? calloc(n, sizeof(*l->v)) : NULL;
	l->n = l->cap = 0;
	if (n && !l->v)
		return -1;
	l->cap = n;
	for (; l->n < n; l->n++)
		if (!(l->v[l->n] = strdup(src[l->n]))) {
			paths_release(l);
			return -1;
		}
	return 0;
}
const struct type_ops conf_types[T_COUNT] = {
	[T_IFNAMES] = { true, ifnames_parse, ifnames_print, ifnames_equal, ifnames_reset, ifnames_dup,
			ifnames_release },
	[T_PATH] = { false, path_parse, path_print, path_equal, NULL, NULL, NULL },
	[T_ENUM] = { false, enum_parse, enum_print, word_equal, NULL, NULL, NULL },
	[T_UINT] = { false, uint_parse, uint_print, word_equal, NULL, NULL, NULL },
	[T_PORTS] = { true, ports_parse, ports_print, ports_equal, ports_reset, NULL, NULL },
	[T_CIDRS] = { true, cidrs_parse, cidrs_print, cidrs_equal, cidrs_reset, cidrs_dup, cidrs_release },
	[T_BOOL] = { false, bool_parse, bool_print, bool_equal, NULL, NULL, NULL },
	[T_PATHS] = { true, paths_parse, paths_print, paths_equal, paths_reset, paths_dup, paths_release },
	/* Process names are as long as interface names: only the messages differ. */
	[T_NAMES] = { true, ifnames_parse, ifnames_print, ifnames_equal, ifnames_reset, ifnames_dup, ifnames_release },
};
