// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "promtext.h"

#define MAX_FAMILIES 256
#define MAX_SERIES 8192

struct family {
	char name[128];
	char type[16];
	bool help, samples, closed;
};

struct state {
	struct family f[MAX_FAMILIES];
	int n;
	char **series;
	size_t n_series;
	int current;     /* family of the last sample, -1 before any */
	unsigned long line;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct state *s, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(s->err, s->errlen, "line %lu: ", s->line);

	va_start(ap, fmt);
	vsnprintf(s->err + n, s->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static bool name_char(char c, bool first, bool label)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':') ||
	       (!first && c >= '0' && c <= '9');
}

/* Length of a metric (or label) name at p, 0 if none. */
static size_t name_len(const char *p, bool label)
{
	size_t n = 0;

	while (name_char(p[n], n == 0, label))
		n++;
	return n;
}

static struct family *family(struct state *s, const char *name, size_t len)
{
	for (int i = 0; i < s->n; i++)
		if (strlen(s->f[i].name) == len && !strncmp(s->f[i].name, name, len))
			return &s->f[i];
	if (s->n == MAX_FAMILIES || len >= sizeof(s->f[0].name))
		return NULL;
	memset(&s->f[s->n], 0, sizeof(s->f[0]));
	memcpy(s->f[s->n].name, name, len);
	return &s->f[s->n++];
}

/* The family a sample name belongs to: histograms and summaries add suffixes. */
static struct family *owner(struct state *s, const char *name, size_t len)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

	for (size_t i = 0; i < 3; i++) {
		size_t sl = strlen(suffixes[i]);

		if (len > sl && !strncmp(name + len - sl, suffixes[i], sl)) {
			for (int j = 0; j < s->n; j++)
				if (strlen(s->f[j].name) == len - sl && !strncmp(s->f[j].name, name, len - sl) &&
				    (!strcmp(s->f[j].type, "histogram") || !strcmp(s->f[j].type, "summary")))
					return &s->f[j];
		}
	}
	return family(s, name, len);
}

static bool parse_float(const char *p, const char **end, double *v)
{
	char *e;

	if (!strncmp(p, "NaN", 3) || !strncmp(p, "+Inf", 4) || !strncmp(p, "-Inf", 4)) {
		*v = p[0] == 'N' ? NAN : p[0] == '-' ? -INFINITY : INFINITY;
		*end = p + (p[0] == 'N' ? 3 : 4);
		return true;
	}
	*v = strtod(p, &e);
	if (e == p || !strncmp(p, "nan", 3) || !strncmp(p, "inf", 3) || !strncmp(p, "0x", 2))
		return false;
	*end = e;
	return true;
}

static int comment(struct state *s, const char *line)
{
	const char *p = line + 1, *name;
	size_t len;
	struct family *f;
	bool help;

	while (*p == ' ')
		p++;
	help = !strncmp(p, "HELP ", 5);
	if (!help && strncmp(p, "TYPE ", 5))
		return 0;   /* a plain comment */
	p += 5;
	while (*p == ' ')
		p++;
	name = p;
	len = name_len(p, false);
	if (!len || (p[len] != ' ' && p[len] != '\0'))
		return fail(s, "%s: expected a metric name", help ? "HELP" : "TYPE");
	f = family(s, name, len);
	if (!f)
		return fail(s, "too many metric families");
	p += len;
	while (*p == ' ')
		p++;
	if (help) {
		if (f->help)
			return fail(s, "second HELP for %s", f->name);
		for (const char *q = p; *q; q++)
			if (*q == '\\' && q[1] != '\\' && q[1] != 'n')
				return fail(s, "HELP %s: bad escape \\%c", f->name, q[1]);
		if (!*p)
			return fail(s, "HELP %s: empty text", f->name);
		f->help = true;
		return 0;
	}
	if (f->type[0])
		return fail(s, "second TYPE for %s", f->name);
	if (f->samples)
		return fail(s, "TYPE %s after its samples", f->name);
	if (strcmp(p, "counter") && strcmp(p, "gauge") && strcmp(p, "histogram") && strcmp(p, "summary") &&
	    strcmp(p, "untyped"))
		return fail(s, "TYPE %s: unknown type '%s'", f->name, p);
	snprintf(f->type, sizeof(f->type), "%s", p);
	return 0;
}

static int sample(struct state *s, const char *line)
{
	const char *p = line, *end;
	size_t len = name_len(p, false);
	struct family *f;
	double v;
	char *series;

	if (!len)
		return fail(s, "expected a metric name");
	f = owner(s, p, len);
	if (!f)
		return fail(s, "too many metric families");
	p += len;
	if (*p == '{') {
		char seen[32][64];
		int n_seen = 0;

		p++;
		while (*p != '}') {
			size_t ll = name_len(p, true);

			if (!ll || p[ll] != '=' || p[ll + 1] != '"')
				return fail(s, "expected label=\"value\"");
			if (ll >= 2 && p[0] == '_' && p[1] == '_')
				return fail(s, "label %.*s: names starting with __ are reserved", (int)ll, p);
			for (int i = 0; i < n_seen; i++)
				if (strlen(seen[i]) == ll && !strncmp(seen[i], p, ll))
					return fail(s, "label %.*s twice", (int)ll, p);
			if (n_seen < 32)
				snprintf(seen[n_seen++], sizeof(seen[0]), "%.*s", (int)ll, p);
			p += ll + 2;
			while (*p && *p != '"') {
				if (*p == '\\') {
					if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
						return fail(s, "bad escape \\%c in a label value", p[1]);
					p++;
				}
				p++;
			}
			if (*p != '"')
				return fail(s, "unterminated label value");
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return fail(s, "expected ',' or '}' after a label");
		}
		p++;
	}
	series = strndup(line, (size_t)(p - line));
	if (*p != ' ' || !series)
		return free(series), fail(s, "expected a space before the value");
	while (*p == ' ')
		p++;
	if (!parse_float(p, &end, &v))
		return free(series), fail(s, "bad value '%s'", p);
	p = end;
	if (*p == ' ') {
		while (*p == ' ')
			p++;
		strtoll(p, (char **)&end, 10);
		if (end == p)
			return free(series), fail(s, "bad timestamp '%s'", p);
		p = end;
	}
	if (*p)
		return free(series), fail(s, "trailing text '%s'", p);
	for (size_t i = 0; i < s->n_series; i++)
		if (!strcmp(s->series[i], series)) {
			fail(s, "series %s twice", series);
			free(series);
			return -1;
		}
	if (s->n_series == MAX_SERIES)
		return free(series), fail(s, "too many series");
	s->series[s->n_series++] = series;
	if (f->closed)
		return fail(s, "samples of %s are not together", f->name);
	if (s->current >= 0 && &s->f[s->current] != f)
		s->f[s->current].closed = true;
	s->current = (int)(f - s->f);
	f->samples = true;
	if (!strcmp(f->type, "counter") && (isnan(v) || v < 0))
		return fail(s, "counter %s is negative or NaN", f->name);
	return 0;
}

int prom_check(const char *text, char *err, size_t errlen)
{
	struct state s = { .current = -1, .err = err, .errlen = errlen };
	const char *p = text;
	int rc = 0;

	err[0] = '\0';
	s.series = calloc(MAX_SERIES, sizeof(*s.series));
	if (!s.series)
		return snprintf(err, errlen, "out of memory"), -1;
	while (*p && rc == 0) {
		const char *nl = strchr(p, '\n');
		char *line;

		s.line++;
		if (!nl) {
			rc = fail(&s, "the last line does not end in a newline");
			break;
		}
		line = strndup(p, (size_t)(nl - p));
		if (!line)
			rc = fail(&s, "out of memory");
		else if (line[0] == '#')
			rc = comment(&s, line);
		else if (line[0])
			rc = sample(&s, line);
		free(line);
		p = nl + 1;
	}
	for (int i = 0; i < s.n && rc == 0; i++) {
		s.line = 0;
		if (!s.f[i].help)
			rc = fail(&s, "%s has no HELP", s.f[i].name);
		else if (!s.f[i].type[0])
			rc = fail(&s, "%s has no TYPE", s.f[i].name);
		else if (!strcmp(s.f[i].type, "counter") && (strlen(s.f[i].name) < 6 ||
							     strcmp(s.f[i].name + strlen(s.f[i].name) - 6, "_total")))
			rc = fail(&s, "counter %s: counter names end in _total", s.f[i].name);
	}
	for (size_t i = 0; i < s.n_series; i++)
		free(s.series[i]);
	free(s.series);
	return rc;
}

bool prom_sample(const char *text, const char *series, double *value)
{
	size_t len = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, series, len) && p[len] == ' ') {
			*value = strtod(p + len + 1, NULL);
			return true;
		}
	}
	return false;
}
