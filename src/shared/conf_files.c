// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf_files.h"
#include "errbuf.h"

#define UTF8_BOM "\xef\xbb\xbf"

void axdp_lines_init(struct axdp_lines *r, FILE *f, const char *name)
{
	*r = (struct axdp_lines){ .f = f, .name = name };
}

int axdp_lines_next(struct axdp_lines *r, char **line, size_t *len, char *err, size_t errlen)
{
	ssize_t got;
	char *s;

	errno = 0;
	got = getline(&r->buf, &r->cap, r->f);
	if (got < 0) {
		if (!ferror(r->f))
			return 0;
		return axdp_fail(err, errlen, "%s: cannot read (%s): check the file", r->name,
				 strerror(errno ? errno : EIO));
	}
	r->lineno++;
	s = r->buf;
	if (strlen(s) != (size_t)got) {
		return axdp_fail(err, errlen, "%s:%lu: line contains a NUL byte: save the file as plain text", r->name,
				 r->lineno);
	}
	if (got && s[got - 1] == '\n')
		s[--got] = '\0';
	if (r->lineno == 1 && !strncmp(s, UTF8_BOM, strlen(UTF8_BOM))) {
		s += strlen(UTF8_BOM);
		got -= (ssize_t)strlen(UTF8_BOM);
	}
	*line = s;
	*len = (size_t)got;
	return 1;
}

void axdp_lines_free(struct axdp_lines *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

static int conf_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	/* Hidden files are editor and package-manager leftovers (and our own temporaries, atomicfile.h). */
	return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".conf");
}

/* strcmp, not alphasort: alphasort follows LC_COLLATE and the order must not. */
static int byte_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int axdp_dropins_list(const char *dir, char ***names)
{
	struct dirent **d = NULL;
	char **v;
	int n = scandir(dir, &d, conf_filter, byte_order);

	*names = NULL;
	if (n < 0)
		return -1;
	v = calloc(n ? (size_t)n : 1, sizeof(*v));
	for (int i = 0; i < n; i++) {
		if (v && !(v[i] = strdup(d[i]->d_name))) {
			axdp_dropins_free(v, i);
			v = NULL;
		}
		free(d[i]);
	}
	free(d);
	if (!v) {
		errno = ENOMEM;
		return -1;
	}
	*names = v;
	return n;
}

void axdp_dropins_free(char **names, int n)
{
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int axdp_dropin_path(char *buf, size_t len, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	int w = snprintf(buf, len, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name);

	return w < 0 || (size_t)w >= len ? -1 : 0;
}
