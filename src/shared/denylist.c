// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "atomicfile.h"
#include "conf_files.h"
#include "denylist.h"
#include "dropin.h"
#include "pidfile.h"
#include "errbuf.h"
#include "util.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int axdp_denylist_read(const char *path, struct axdp_cidr_list *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	size_t before = out->n, len;
	struct axdp_lines lines;
	char *buf;
	int rc = 0;

	if (!f)
		return axdp_fail(err, errlen, "%s: cannot open (%s): check DenyListFile= and the file's permissions",
				 path, strerror(errno));
	axdp_lines_init(&lines, f, path);
	while (rc == 0 && (rc = axdp_lines_next(&lines, &buf, &len, err, errlen)) > 0) {
		char *s = buf, *end = buf + len, *tok, *cut;
		unsigned long line = lines.lineno;
		struct axdp_cidr c;

		rc = 0;
		if ((cut = memchr(s, '#', (size_t)(end - s))))
			end = cut;
		if ((cut = memchr(s, ';', (size_t)(end - s))))
			end = cut;
		while (s < end && is_space(*s))
			s++;
		if (s == end)
			continue;
		tok = s;
		while (s < end && !is_space(*s))
			s++;
		cut = s;
		while (s < end && is_space(*s))
			s++;
		if (s != end || axdp_cidr_parse(tok, (size_t)(cut - tok), true, &c)) {
			while (end > tok && is_space(end[-1]))
				end--;
			snprintf(err, errlen,
				 "%s:%lu: \"%.*s\" is not an address or ADDRESS/PREFIX (one per line; "
				 "comments start with # or ;)",
				 path, line, (int)((end - tok) > 60 ? 60 : end - tok), tok);
			rc = -1;
		} else if (axdp_cidr_list_add(out, &c)) {
			rc = axdp_fail(err, errlen, "%s:%lu: out of memory", path, line);
		}
	}
	if (rc)
		out->n = before;
	axdp_lines_free(&lines);
	fclose(f);
	return rc;
}

static int cidr_cmp(const void *a, const void *b)
{
	const struct axdp_cidr *x = a, *y = b;
	int r = memcmp(x->addr, y->addr, sizeof(x->addr));

	return r ? r : (int)x->prefix - (int)y->prefix;
}

void axdp_cidr_list_unique(struct axdp_cidr_list *l)
{
	size_t n = 0;

	if (!l->n)
		return;
	axdp_sort(l->v, l->n, sizeof(*l->v), cidr_cmp);
	for (size_t i = 1; i < l->n; i++)
		if (cidr_cmp(&l->v[n], &l->v[i]))
			l->v[++n] = l->v[i];
	l->n = n + 1;
}

int axdp_denylist_collect(const struct axdp_config *cfg, struct axdp_cidr_list *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < cfg->deny_cidrs.n; i++)
		if (axdp_cidr_list_add(out, &cfg->deny_cidrs.v[i]))
			goto oom;
	for (size_t i = 0; i < cfg->deny_list_files.n; i++)
		if (axdp_denylist_read(cfg->deny_list_files.v[i], out, err, errlen))
			goto fail;
	axdp_cidr_list_unique(out);
	return 0;
oom:
	snprintf(err, errlen, "deny list: out of memory");
fail:
	free(out->v);
	memset(out, 0, sizeof(*out));
	return -1;
}

/* ---- axdp block import ---- */

/* deny-NAME.list: NAME from the file's base name, in characters safe in a path list and a shell. */
static int import_name(const char *file, const char *dropin_dir, char *out, size_t len)
{
	const char *base = strrchr(file, '/');
	char name[128];
	size_t n = 0;

	for (base = base ? base + 1 : file; *base && n < sizeof(name) - 1; base++) {
		char ch = *base;
		bool safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			    ch == '-' || ch == '_' || (ch == '.' && n > 0);

		name[n++] = safe ? ch : '_';
	}
	name[n] = '\0';
	if (!n)
		snprintf(name, sizeof(name), "imported");
	return snprintf(out, len, "%s/deny-%s.list", dropin_dir, name) >= (int)len ? -1 : 0;
}

static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
	struct axdp_atomic_file a;
	FILE *in = fopen(from, "re");
	char buf[65536];
	size_t n;

	if (!in)
		return axdp_fail(err, errlen, "%s: cannot open (%s)", from, strerror(errno));
	if (axdp_atomic_open(&a, to, err, errlen)) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, a.f) != n)
			break;
	if (ferror(in) || ferror(a.f)) {
		snprintf(err, errlen, "copying %s to %s: %s", from, to, strerror(errno ? errno : EIO));
		fclose(in);
		axdp_atomic_abort(&a);
		return -1;
	}
	fclose(in);
	return axdp_atomic_commit(&a, 0644, err, errlen);
}

static bool has_space(const char *s)
{
	for (; *s; s++)
		if (is_space(*s))
			return true;
	return false;
}

/*
 * The drop-in names every list the configuration had, plus the new one:
 * list keys in a later file replace.  cfg ends up as the configuration
 * with the drop-in applied.
 */
struct import_dropin {
	struct axdp_config *cfg;
	const char *list_path;
};

static void fill_dropin(FILE *f, void *ctx)
{
	const struct import_dropin *d = ctx;
	bool listed = false;

	fprintf(f, "# Written by 'axdp block import': the deny lists of the configuration as it was, plus the\n"
		   "# imported ones. List keys in a later file replace earlier ones, so this file names them all;\n"
		   "# edit DenyListFile= here (or delete this file) to drop one.\n[Policy]\n");
	for (size_t i = 0; i < d->cfg->deny_list_files.n; i++) {
		fprintf(f, "DenyListFile=%s\n", d->cfg->deny_list_files.v[i]);
		listed |= !strcmp(d->cfg->deny_list_files.v[i], d->list_path);
	}
	if (!listed)
		fprintf(f, "DenyListFile=%s\n", d->list_path);
}

/* On top of the rest of the configuration; cfg ends up as the configuration with the drop-in applied. */
static int check_dropin(const char *tmp, void *ctx, char *err, size_t errlen)
{
	const struct import_dropin *d = ctx;

	return axdp_config_parse_file(d->cfg, tmp, err, errlen);
}

static int write_dropin(struct axdp_config *cfg, const char *list_path, const char *path, char *err, size_t errlen)
{
	struct import_dropin d = { cfg, list_path };

	return axdp_dropin_write(path, fill_dropin, check_dropin, &d, err, errlen);
}

int axdp_denylist_import(const char *file, const char *config_file, const char *dropin_dir,
			 struct axdp_denylist_import *res, char *err, size_t errlen)
{
	struct axdp_cidr_list entries = { 0 };
	struct axdp_config cfg;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (axdp_denylist_read(file, &entries, err, errlen))
		return -1;
	axdp_cidr_list_unique(&entries);
	res->entries = entries.n;
	free(entries.v);
	if (!res->entries)
		return axdp_fail(err, errlen, "%s: no address or CIDR in it: nothing to import", file);
	if (res->entries > AXDP_DENY_ENTRIES)
		return axdp_fail(err, errlen, "%s: %zu entries, more than the %u a deny list holds", file, res->entries,
				 AXDP_DENY_ENTRIES);
	if (has_space(dropin_dir))
		return axdp_fail(
			err, errlen,
			"%s: a drop-in directory with white space cannot be named in DenyListFile=", dropin_dir);
	if (import_name(file, dropin_dir, res->list_path, sizeof(res->list_path)) ||
	    snprintf(res->dropin_path, sizeof(res->dropin_path), "%s/%s", dropin_dir, AXDP_DENYLIST_IMPORT_DROPIN) >=
		    (int)sizeof(res->dropin_path))
		return axdp_fail(err, errlen, "%s: path too long", dropin_dir);
	if (mkdir(dropin_dir, 0755) && errno != EEXIST)
		return axdp_fail(err, errlen, "creating %s: %s", dropin_dir, strerror(errno));
	/* The configuration must parse now: a drop-in written on top of a broken one would hide the cause. */
	if (axdp_config_load(&cfg, config_file, dropin_dir, err, errlen))
		return -1;
	if (copy_file(file, res->list_path, err, errlen) ||
	    write_dropin(&cfg, res->list_path, res->dropin_path, err, errlen)) {
		axdp_config_free(&cfg);
		return -1;
	}
	pid = axdp_pidfile_running(cfg.pid_file, err, errlen);
	if (pid > 0 && axdp_daemon_reload(pid, err, errlen) == 0)
		res->reloaded = pid;
	axdp_config_free(&cfg);
	return 0;
}
