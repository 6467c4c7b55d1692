/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "config.h"
#include "config_parse.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf_files.h"
#include "loader.h"

_Static_assert(AXDP_IFNAMSIZ == IFNAMSIZ, "interface names must fit the kernel's buffer");
_Static_assert(AXDP_PATH_MAX == PATH_MAX, "paths must fit what the kernel accepts");
/* Enum fields are written through an unsigned int pointer by the table-driven parser. */
_Static_assert(sizeof(enum axdp_xdp_mode) == sizeof(unsigned int), "enum size");
_Static_assert(sizeof(enum axdp_backend) == sizeof(unsigned int), "enum size");
_Static_assert(sizeof(enum axdp_run_mode) == sizeof(unsigned int), "enum size");
_Static_assert(sizeof(uint32_t) == sizeof(unsigned int), "integer fields compare as unsigned int");

/* The table stringifies these; a renamed macro would otherwise become the default "AXDP_...". */
_Static_assert(AXDP_DEFAULT_TCP_TIMEOUT_S > 0 && AXDP_DEFAULT_TCP_CLOSING_TIMEOUT_S > 0 &&
		       AXDP_DEFAULT_UDP_TIMEOUT_S > 0 && AXDP_DEFAULT_ICMP_TIMEOUT_S > 0 &&
		       AXDP_DEFAULT_FRAG_TIMEOUT_S > 0 && AXDP_DEFAULT_SYN_PER_S > 0 && AXDP_DEFAULT_SYN_BURST > 0 &&
		       AXDP_DEFAULT_STRICT_SYN_PER_S > 0 && AXDP_DEFAULT_STRICT_SYN_BURST > 0 &&
		       AXDP_DEFAULT_ICMP_ECHO_PER_S > 0 && AXDP_DEFAULT_ICMP_ECHO_BURST > 0,
	       "default macros must exist");
/* ------------------------------------------------------------------ */
/* The table                                                          */

/* clang-format off */
static const char *const section_names[SEC_COUNT] = {
	[SEC_DAEMON] = "Daemon",
	[SEC_PORTS] = "Ports",
	[SEC_CONNTRACK] = "Conntrack",
	[SEC_POLICY] = "Policy",
	[SEC_RATELIMIT] = "RateLimit",
};
/* clang-format on */
static const char *const backend_names[] = {
	[AXDP_BACKEND_AUTO] = "auto",
	[AXDP_BACKEND_XDP] = "xdp",
	[AXDP_BACKEND_NFTABLES] = "nftables",
	NULL,
};

static const char *const run_mode_names[] = {
	[AXDP_MODE_ENFORCE] = "enforce",
	[AXDP_MODE_AUDIT] = "audit",
	NULL,
};

const char *axdp_mode_name(bool audit)
{
	return run_mode_names[audit ? AXDP_MODE_AUDIT : AXDP_MODE_ENFORCE];
}

const char *axdp_backend_name(enum axdp_backend backend)
{
	return backend_names[backend];
}

#define OFF(field) offsetof(struct axdp_config, field)

/* The parser writes a field through its type's C type: config_keys.h must give the key that one. */
#define SIZEOF_IFNAMES sizeof(struct axdp_ifname_list)
#define SIZEOF_NAMES sizeof(struct axdp_name_list)
#define SIZEOF_PATH AXDP_PATH_MAX
#define SIZEOF_PATHS sizeof(struct axdp_path_list)
#define SIZEOF_ENUM sizeof(unsigned int)
#define SIZEOF_UINT sizeof(uint32_t)
#define SIZEOF_PORTS AXDP_PORTSET_BYTES
#define SIZEOF_CIDRS sizeof(struct axdp_cidr_list)
#define SIZEOF_BOOL sizeof(bool)
#define FIELD_FITS(section, name, type, ctype, field, dims, ...)                  \
	_Static_assert(sizeof(((struct axdp_config *)0)->field) == SIZEOF_##type, \
		       name "= is declared with a C type its parser does not write");
#define PORTS_FIT(section, tcp_name, udp_name, field) FIELD_FITS(section, tcp_name, PORTS, , field[AXDP_L4_TCP], )
AXDP_CONFIG_KEYS(FIELD_FITS, PORTS_FIT)

#define KEY_ROW(section, name, type, ctype, field, dims, min, max, names, def) \
	{ SEC_##section, name, T_##type, OFF(field), min, max, names, def },
#define PORTS_BY_L4_ROWS(section, tcp_name, udp_name, field)                          \
	KEY_ROW(section, tcp_name, PORTS, , field[AXDP_L4_TCP], , 1, 65535, NULL, "") \
	KEY_ROW(section, udp_name, PORTS, , field[AXDP_L4_UDP], , 1, 65535, NULL, "")

static const struct key keys[] = { AXDP_CONFIG_KEYS(KEY_ROW, PORTS_BY_L4_ROWS) };

#define NKEYS ARRAY_SIZE(keys)
/* ------------------------------------------------------------------ */
/* Whole configurations                                               */

static void *field(struct axdp_config *c, const struct key *k)
{
	return (char *)c + k->offset;
}

static const void *cfield(const struct axdp_config *c, const struct key *k)
{
	return (const char *)c + k->offset;
}

void axdp_config_defaults(struct axdp_config *c)
{
	struct pos p = { "(built-in defaults)", 0, NULL, 0 };

	memset(c, 0, sizeof(*c));
	/*
	 * Most lists default to empty, which the memset already is.  A list
	 * with a default (StrictProcesses=) allocates: out of memory leaves
	 * it shorter, the one failure possible here.
	 */
	for (size_t i = 0; i < NKEYS; i++)
		if (!conf_types[keys[i].type].list || *keys[i].def)
			conf_types[keys[i].type].parse(field(c, &keys[i]), &keys[i], keys[i].def, &p);
}

void axdp_config_free(struct axdp_config *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (conf_types[keys[i].type].release)
			conf_types[keys[i].type].release(field(c, &keys[i]));
}

bool axdp_config_equal(const struct axdp_config *a, const struct axdp_config *b)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!conf_types[keys[i].type].equal(cfield(a, &keys[i]), cfield(b, &keys[i])))
			return false;
	return true;
}

static int config_copy(struct axdp_config *dst, const struct axdp_config *src)
{
	int r = 0;

	memcpy(dst, src, sizeof(*dst));
	/* Every dup runs, so on failure each list is either owned by dst or empty: free works. */
	for (size_t i = 0; i < NKEYS; i++)
		if (conf_types[keys[i].type].dup && conf_types[keys[i].type].dup(field(dst, &keys[i])) < 0)
			r = -1;
	if (r < 0)
		axdp_config_free(dst);
	return r;
}

int axdp_config_print(const struct axdp_config *c, FILE *out)
{
	int section = -1;

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if ((int)k->section != section) {
			fprintf(out, "%s[%s]\n", section < 0 ? "" : "\n", section_names[k->section]);
			section = (int)k->section;
		}
		fprintf(out, "%s=", k->name);
		conf_types[k->type].print(out, cfield(c, k), k);
		fputc('\n', out);
	}
	return fflush(out) == EOF || ferror(out) ? -1 : 0;
}

bool axdp_config_bind_excluded(const struct axdp_config *c, const uint8_t addr16[16])
{
	for (size_t i = 0; i < c->exclude_bind.n; i++)
		if (axdp_cidr_contains(&c->exclude_bind.v[i], addr16))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Files                                                              */

static const struct key *key_by_name(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static int unknown_key(const struct pos *p, const char *name, int section)
{
	char list[512];
	size_t used = 0;

	list[0] = '\0';
	for (size_t i = 0; i < NKEYS && used < sizeof(list); i++) {
		if ((int)keys[i].section != section)
			continue;
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", keys[i].name);
		used += w > 0 ? (size_t)w : 0;
	}
	return conf_fail(p, "unknown key %.*s= in [%s]: expected one of %s", conf_qlen(strlen(name)), name,
			 section_names[section], list);
}

static int assign(struct axdp_config *c, char *s, char *eq, int section, unsigned long seen_line[NKEYS],
		  const struct pos *p)
{
	const struct key *k;
	const char *value;
	size_t i;

	*eq = '\0';
	s = axdp_config_trim(s);
	value = axdp_config_trim(eq + 1);
	k = key_by_name(s);
	if (section < 0) {
		if (k)
			return conf_fail(p, "%s= appears before any section header: put it under [%s]", k->name,
					 section_names[k->section]);
		return conf_fail(p, "unknown key %.*s= before any section header: start with [%s]",
				 conf_qlen(strlen(s)), s, section_names[0]);
	}
	if (!k)
		return unknown_key(p, s, section);
	if ((int)k->section != section)
		return conf_fail(p, "%s= does not belong in [%s]: move it to [%s]", k->name, section_names[section],
				 section_names[k->section]);

	i = (size_t)(k - keys);
	if (!conf_types[k->type].list) {
		if (seen_line[i])
			return conf_fail(p, "duplicate %s= (first set on line %lu): keep one assignment per file",
					 k->name, seen_line[i]);
		seen_line[i] = p->line;
		return conf_types[k->type].parse(field(c, k), k, value, p);
	}
	/* systemd lists, except that a later file replaces instead of appending. */
	if (!seen_line[i] || !*value)
		conf_types[k->type].reset(field(c, k));
	seen_line[i] = p->line;
	return *value ? conf_types[k->type].parse(field(c, k), k, value, p) : 0;
}

int axdp_config_set(struct axdp_config *c, const char *key, const char *value, const char *origin, char *err,
		    size_t errlen)
{
	const struct pos p = { origin, 0, err, errlen };
	const struct key *k = key_by_name(key);

	if (!k)
		return conf_fail(&p, "no key %s= in autoxdp.conf(5)", key);
	if (conf_types[k->type].list)
		conf_types[k->type].reset(field(c, k));
	return conf_types[k->type].parse(field(c, k), k, value, &p);
}

static int section_header(char *s, const struct pos *p)
{
	size_t len = strlen(s);

	if (len < 2 || s[len - 1] != ']')
		return conf_fail(p, "\"%.*s\" is not a section header: write it as [Section]", conf_qlen(len), s);
	s[len - 1] = '\0';
	for (int i = 0; i < SEC_COUNT; i++)
		if (!strcmp(s + 1, section_names[i]))
			return i;
	char list[128];
	size_t used = 0;

	list[0] = '\0';
	for (int i = 0; i < SEC_COUNT && used < sizeof(list); i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s[%s]",
				 i == 0               ? ""
				 : i + 1 == SEC_COUNT ? " or "
						      : ", ",
				 section_names[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	return conf_fail(p, "unknown section [%.*s]: expected %s", conf_qlen(len - 2), s + 1, list);
}

static int parse_stream(struct axdp_config *c, FILE *f, const char *file, char *err, size_t errlen)
{
	unsigned long seen_line[NKEYS] = { 0 };
	struct pos p = { file, 0, err, errlen };
	struct axdp_lines lines;
	int section = -1, r = 0;
	char *s, *eq;
	size_t len;

	axdp_lines_init(&lines, f, file);
	while (r == 0 && (r = axdp_lines_next(&lines, &s, &len, err, errlen)) > 0) {
		r = 0;
		p.line = lines.lineno;
		s = axdp_config_trim(s);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			int sec = section_header(s, &p);

			if (sec < 0)
				r = -1;
			else
				section = sec;
		} else if ((eq = strchr(s, '=')) && eq != s) {
			r = assign(c, s, eq, section, seen_line, &p);
		} else {
			r = conf_fail(&p,
				      "\"%.*s\" is neither [Section] nor Key=value: "
				      "fix it or comment it out with #",
				      conf_qlen(strlen(s)), s);
		}
	}
	axdp_lines_free(&lines);
	return r;
}

static int parse_path(struct axdp_config *c, const char *path, bool missing_ok, char *err, size_t errlen)
{
	struct pos p = { path, 0, err, errlen };
	struct stat st;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f) {
		if (missing_ok && errno == ENOENT)
			return 0;
		return conf_fail(&p, "cannot open (%s): check the path and its permissions", strerror(errno));
	}
	/* fopen() succeeds on a directory; reading it would fail with a less useful message. */
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return conf_fail(&p, "is a directory: expected a configuration file");
	}
	r = parse_stream(c, f, path, err, errlen);
	fclose(f);
	return r;
}

static int parse_dropins(struct axdp_config *c, const char *dir, char *err, size_t errlen)
{
	struct pos p = { dir, 0, err, errlen };
	char **names;
	int n, r = 0;

	n = axdp_dropins_list(dir, &names);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		return conf_fail(&p, "cannot read drop-in directory (%s): check the path and its permissions",
				 strerror(errno));
	}
	for (int i = 0; i < n && r == 0; i++) {
		char path[AXDP_PATH_MAX];
		struct stat st;

		if (axdp_dropin_path(path, sizeof(path), dir, names[i]))
			r = conf_fail(&p, "drop-in path for %s is too long: use a shorter directory", names[i]);
		/* Vanished files and non-files (a /dev/null symlink masks a drop-in) are skipped. */
		else if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			r = parse_path(c, path, true, err, errlen);
	}
	axdp_dropins_free(names, n);
	return r;
}

int axdp_config_load(struct axdp_config *c, const char *main_file, const char *dropin_dir, char *err, size_t errlen)
{
	struct axdp_config *tmp = malloc(sizeof(*tmp));
	int r;

	if (!tmp) {
		struct pos p = { main_file ? main_file : AXDP_CONFIG_FILE, 0, err, errlen };
		return conf_oom(&p);
	}
	axdp_config_defaults(tmp);
	r = parse_path(tmp, main_file ? main_file : AXDP_CONFIG_FILE, true, err, errlen);
	if (r == 0)
		r = parse_dropins(tmp, dropin_dir ? dropin_dir : AXDP_CONFIG_DROPIN_DIR, err, errlen);
	if (r == 0)
		memcpy(c, tmp, sizeof(*c));
	else
		axdp_config_free(tmp);
	free(tmp);
	return r;
}

int axdp_config_parse_file(struct axdp_config *c, const char *path, char *err, size_t errlen)
{
	struct axdp_config *tmp = malloc(sizeof(*tmp));
	struct pos p = { path, 0, err, errlen };
	int r;

	if (!tmp || config_copy(tmp, c) < 0) {
		free(tmp);
		return conf_oom(&p);
	}
	r = parse_path(tmp, path, false, err, errlen);
	if (r == 0) {
		axdp_config_free(c);
		memcpy(c, tmp, sizeof(*c));
	} else {
		axdp_config_free(tmp);
	}
	free(tmp);
	return r;
}
