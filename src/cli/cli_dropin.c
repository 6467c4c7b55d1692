// SPDX-License-Identifier: MIT
/*
 * The policy drop-in: one value per line with the comment above it, so
 * an operator reads why each value is there.  Everything here is pure
 * file and configuration work; reloading the daemon is cli_policy.c's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cli_dropin.h"
#include "conf_files.h"
#include "parse_number.h"
#include "util.h"

#define CFG(field) offsetof(struct axdp_config, field)

const struct pol_key pol_keys[POL_NKEYS] = {
	{ "allow", "tcp", "Ports", "AllowTCP", P_PORTS, AXDP_L4_TCP, CFG(allow_ports[AXDP_L4_TCP]) },
	{ "allow", "udp", "Ports", "AllowUDP", P_PORTS, AXDP_L4_UDP, CFG(allow_ports[AXDP_L4_UDP]) },
	{ "exclude", "tcp", "Ports", "ExcludeTCP", P_PORTS, AXDP_L4_TCP, CFG(exclude_ports[AXDP_L4_TCP]) },
	{ "exclude", "udp", "Ports", "ExcludeUDP", P_PORTS, AXDP_L4_UDP, CFG(exclude_ports[AXDP_L4_UDP]) },
	{ "exclude", "bind", "Ports", "ExcludeBindCIDR", P_CIDRS, 0, CFG(exclude_bind) },
	{ "trust", NULL, "Policy", "TrustCIDR", P_CIDRS, 0, CFG(trust_cidrs) },
	{ "block", NULL, "Policy", "DenyCIDR", P_CIDRS, 0, CFG(deny_cidrs) },
};

/* Sections in the order the drop-in writes them. */
static const char *const sections[] = { "Ports", "Policy" };

const uint8_t *pol_ports_of(const struct axdp_config *cfg, const struct pol_key *k)
{
	return (const uint8_t *)cfg + k->offset;
}

const struct axdp_cidr_list *pol_cidrs_of(const struct axdp_config *cfg, const struct pol_key *k)
{
	return (const struct axdp_cidr_list *)((const char *)cfg + k->offset);
}

/* ---- values as written in files ---- */

int pol_push_token(struct pol_tokens *t, const struct pol_key *k, const char *text, const char *comment)
{
	struct pol_token *v;

	if (AXDP_GROW(t->v, t->cap, t->n))
		return -1;
	v = &t->v[t->n];
	v->key = k;
	v->text = strdup(text);
	v->comment = comment && *comment ? strdup(comment) : NULL;
	if (!v->text || (comment && *comment && !v->comment)) {
		free(v->text);
		free(v->comment);
		return -1;
	}
	t->n++;
	return 0;
}

void pol_free_tokens(struct pol_tokens *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].text);
		free(t->v[i].comment);
	}
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

/* t without the tokens of k. */
static void drop_tokens(struct pol_tokens *t, const struct pol_key *k)
{
	size_t kept = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].key == k)
			free(t->v[i].text), free(t->v[i].comment);
		else
			t->v[kept++] = t->v[i];
	}
	t->n = kept;
}

/* The effective value of k as tokens, in the parser's own spelling (ranges merged, CIDRs canonical). */
int pol_tokens_of(const struct axdp_config *cfg, const struct pol_key *k, struct pol_tokens *out)
{
	char text[64];

	if (k->type == P_PORTS) {
		uint32_t lo, hi = 0;

		while (axdp_port_next_run(pol_ports_of(cfg, k), &lo, &hi)) {
			axdp_port_run_format(text, sizeof(text), lo, hi);
			if (pol_push_token(out, k, text, NULL))
				return -1;
		}
		return 0;
	}
	const struct axdp_cidr_list *l = pol_cidrs_of(cfg, k);

	for (size_t i = 0; i < l->n; i++) {
		axdp_cidr_format(text, sizeof(text), &l->v[i]);
		if (pol_push_token(out, k, text, NULL))
			return -1;
	}
	return 0;
}

bool pol_parse_range(const char *s, unsigned *lo, unsigned *hi)
{
	uint64_t a, b;

	if (axdp_parse_range(s, strlen(s), AXDP_PORTS - 1, &a, &b) || a < 1 || a > b)
		return false;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return true;
}

/* ---- the drop-in ---- */

static const struct pol_key *managed(const char *section, const char *name)
{
	for (size_t i = 0; i < POL_NKEYS; i++)
		if (!strcmp(pol_keys[i].section, section) && !strcmp(pol_keys[i].name, name))
			return &pol_keys[i];
	return NULL;
}

static void append(char **buf, const char *text)
{
	size_t old = *buf ? strlen(*buf) : 0, add = strlen(text);
	char *v = realloc(*buf, old + add + 1);

	if (!v)
		return;
	memcpy(v + old, text, add + 1);
	*buf = v;
}

/* Reads our own file back: values with the comments above them, and any hand-written lines to keep. */
int pol_read_dropin(struct pol_dropin *d)
{
	FILE *f = fopen(d->path, "re");
	char *line = NULL, *pending = NULL, section[64] = "";
	size_t cap = 0;
	int sec = -1, rc = 0;

	d->exists = f != NULL;
	if (!f)
		return errno == ENOENT ? 0 : -1;
	for (bool first = true; getline(&line, &cap, f) >= 0; first = false) {
		/* A BOM as the configuration parser skips it: kept, it would become an invalid line. */
		char *s = axdp_config_trim(line + (first && !strncmp(line, "\xef\xbb\xbf", 3) ? 3 : 0)), *eq;
		const struct pol_key *k;

		if (!*s) {
			free(pending), pending = NULL;
			continue;
		}
		if (*s == '#' || *s == ';') {
			char *text;

			/* Control characters read as the writer writes them (spaces), so a rewrite changes nothing. */
			for (char *c = s + 1; *c; c++)
				if ((unsigned char)*c < 0x20)
					*c = ' ';
			text = axdp_config_trim(s + 1);
			/* Our own header is rewritten each time; an empty comment line adds nothing. */
			if (sec < 0 || !*text)
				continue;
			if (pending)
				append(&pending, " ");
			append(&pending, text);
			continue;
		}
		if (*s == '[') {
			snprintf(section, sizeof(section), "%.*s", (int)strcspn(s + 1, "]"), s + 1);
			sec = -2;
			for (int i = 0; i < 2; i++)
				if (!strcmp(section, sections[i]))
					sec = i;
			if (sec == -2) {
				append(&d->other_sections, "\n");
				append(&d->other_sections, s);
				append(&d->other_sections, "\n");
			}
			free(pending), pending = NULL;
			continue;
		}
		eq = strchr(s, '=');
		k = NULL;
		if (eq && sec >= 0) {
			/* The name trimmed in a copy: a line of another key stays as it was written. */
			char *name = strndup(s, (size_t)(eq - s));

			if (!name) {
				rc = -1;
				break;
			}
			k = managed(section, axdp_config_trim(name));
			free(name);
		}
		if (k) {
			/* Split as the parser splits, at any length: a cut token would be another value. */
			static const char ws[] = " \t\n\r\v\f";
			const char *tok = axdp_config_trim(eq + 1);

			d->has_key[k - pol_keys] = true;
			/* As the parser reads it: an empty assignment empties what the file gave the key so far. */
			if (!*tok)
				drop_tokens(&d->values, k);
			for (tok += strspn(tok, ws); *tok && rc == 0; tok += strspn(tok, ws)) {
				size_t len = strcspn(tok, ws);
				char *one = strndup(tok, len);

				rc = one ? pol_push_token(&d->values, k, one, pending) : -1;
				free(one);
				tok += len;
			}
		} else {
			char **dst = sec >= 0 ? &d->other[sec] : &d->other_sections;

			if (pending) {
				append(dst, "# ");
				append(dst, pending);
				append(dst, "\n");
			}
			append(dst, s);
			append(dst, "\n");
		}
		free(pending), pending = NULL;
	}
	free(pending);
	free(line);
	fclose(f);
	return rc;
}

void pol_free_dropin(struct pol_dropin *d)
{
	pol_free_tokens(&d->values);
	free(d->other[0]);
	free(d->other[1]);
	free(d->other_sections);
}

static void write_comment(FILE *f, const char *comment)
{
	fputs("# ", f);
	for (const char *s = comment; *s; s++)
		fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
	fputc('\n', f);
}

void pol_write_dropin(FILE *f, const struct pol_dropin *d, const char *config_file)
{
	fprintf(f,
		"# Written by axdp(8) ('axdp allow|exclude|trust|block add|remove').\n"
		"# Each key lists its whole set: a list in a later file replaces the list of\n"
		"# earlier ones, so values of %s are repeated here.\n"
		"# Hand edits survive; a comment right above a value belongs to it.\n",
		config_file);
	for (int s = 0; s < 2; s++) {
		bool any = d->other[s] != NULL;

		for (size_t k = 0; k < POL_NKEYS; k++)
			any |= d->has_key[k] && !strcmp(pol_keys[k].section, sections[s]);
		if (!any)
			continue;
		fprintf(f, "\n[%s]\n", sections[s]);
		if (d->other[s])
			fputs(d->other[s], f);
		for (size_t k = 0; k < POL_NKEYS; k++) {
			bool written = false;

			if (!d->has_key[k] || strcmp(pol_keys[k].section, sections[s]))
				continue;
			for (size_t i = 0; i < d->values.n; i++) {
				if (d->values.v[i].key != &pol_keys[k])
					continue;
				if (d->values.v[i].comment)
					write_comment(f, d->values.v[i].comment);
				fprintf(f, "%s=%s\n", pol_keys[k].name, d->values.v[i].text);
				written = true;
			}
			/* An empty assignment empties the list the earlier files gave. */
			if (!written)
				fprintf(f, "%s=\n", pol_keys[k].name);
		}
	}
	if (d->other_sections)
		fputs(d->other_sections, f);
}

/* ---- the change ---- */

static bool cidr_in(const struct axdp_cidr_list *l, const struct axdp_cidr *c)
{
	for (size_t i = 0; i < l->n; i++)
		if (axdp_cidr_equal(&l->v[i], c))
			return true;
	return false;
}

/* Is the change already what cfg says?  Then there is nothing to write. */
bool pol_in_force(const struct axdp_config *cfg, const struct pol_change *ch)
{
	if (ch->key->type == P_CIDRS)
		return cidr_in(pol_cidrs_of(cfg, ch->key), &ch->cidr) == ch->add;
	for (unsigned p = ch->lo; p <= ch->hi; p++)
		if (axdp_port_in(pol_ports_of(cfg, ch->key), (uint16_t)p) != ch->add)
			return false;
	return true;
}

/* cfg with the change applied to its key: what the drop-in must list. */
int pol_apply(struct axdp_config *cfg, const struct pol_change *ch)
{
	if (ch->key->type == P_PORTS) {
		uint8_t *set = (uint8_t *)cfg + ch->key->offset;

		for (unsigned p = ch->lo; p <= ch->hi; p++) {
			if (ch->add)
				set[p >> 3] |= (uint8_t)(1u << (p & 7));
			else
				set[p >> 3] &= (uint8_t) ~(1u << (p & 7));
		}
		return 0;
	}
	struct axdp_cidr_list *l = (struct axdp_cidr_list *)((char *)cfg + ch->key->offset);

	if (!ch->add) {
		size_t j = 0;

		for (size_t i = 0; i < l->n; i++)
			if (!axdp_cidr_equal(&l->v[i], &ch->cidr))
				l->v[j++] = l->v[i];
		l->n = j;
		return 0;
	}
	return axdp_cidr_list_add(l, &ch->cidr);
}

#define EARLIER "from an earlier file (this file replaces the whole list)"

struct run {
	unsigned lo, hi;
	const char *comment;
};

struct runs {
	struct run *v;
	size_t n, cap;
	uint8_t covered[AXDP_PORTSET_BYTES];
};

/* The ports of lo..hi that are in set and not yet written, as runs carrying comment. */
static int cover(struct runs *r, const uint8_t *set, unsigned lo, unsigned hi, const char *comment)
{
	for (unsigned p = lo; p <= hi; p++) {
		unsigned end = p;

		if (!axdp_port_in(set, (uint16_t)p) || axdp_port_in(r->covered, (uint16_t)p))
			continue;
		while (end < hi && axdp_port_in(set, (uint16_t)(end + 1)) &&
		       !axdp_port_in(r->covered, (uint16_t)(end + 1)))
			end++;
		if (AXDP_GROW(r->v, r->cap, r->n))
			return -1;
		r->v[r->n++] = (struct run){ p, end, comment };
		for (unsigned q = p; q <= end; q++)
			r->covered[q >> 3] |= (uint8_t)(1u << (q & 7));
		p = end;
	}
	return 0;
}

static int by_start(const void *a, const void *b)
{
	return (int)((const struct run *)a)->lo - (int)((const struct run *)b)->lo;
}

/*
 * The key's new values as the drop-in writes them: each value keeps the
 * spelling and the comment it had in the old file (minus what was
 * removed), the added one gets its own line and comment, and what only
 * earlier files said is said again, marked as such.
 */
int pol_new_tokens(const struct pol_dropin *old, const struct pol_change *ch, const struct axdp_config *want,
		   const char *added, struct pol_tokens *out)
{
	const struct pol_key *k = ch->key;
	struct pol_tokens set = {};
	struct runs r = {};
	unsigned lo, hi;
	int rc = 0;

	if (k->type == P_CIDRS) {
		rc = pol_tokens_of(want, k, &set);
		for (size_t i = 0; i < set.n && rc == 0; i++) {
			const char *comment = ch->add && !strcmp(set.v[i].text, ch->text) ? added : EARLIER;

			for (size_t o = 0; o < old->values.n; o++)
				if (old->values.v[o].key == k && !strcmp(old->values.v[o].text, set.v[i].text))
					comment = old->values.v[o].comment;
			rc = pol_push_token(out, k, set.v[i].text, comment);
		}
		pol_free_tokens(&set);
		return rc;
	}
	for (size_t o = 0; o < old->values.n && rc == 0; o++)
		if (old->values.v[o].key == k && pol_parse_range(old->values.v[o].text, &lo, &hi))
			rc = cover(&r, pol_ports_of(want, k), lo, hi, old->values.v[o].comment);
	if (rc == 0 && ch->add)
		rc = cover(&r, pol_ports_of(want, k), ch->lo, ch->hi, added);
	if (rc == 0)
		rc = cover(&r, pol_ports_of(want, k), 1, AXDP_PORTS - 1, EARLIER);
	axdp_sort(r.v, r.n, sizeof(*r.v), by_start);
	for (size_t i = 0; i < r.n && rc == 0; i++) {
		char text[AXDP_PORT_RUN_STRLEN];

		axdp_port_run_format(text, sizeof(text), r.v[i].lo, r.v[i].hi);
		rc = pol_push_token(out, k, text, r.v[i].comment);
	}
	free(r.v);
	return rc;
}

/*
 * The configuration the daemon will load once tmp replaces our drop-in:
 * the main file, then the drop-ins in the parser's order (config.c) with
 * tmp in our file's place.  overrider names the first later file that
 * undoes the change, if one does.
 */
int pol_effective_with(struct cli *c, const char *tmp, const struct pol_change *ch, struct axdp_config *out,
		       char *overrider, size_t olen, char *err, size_t errlen)
{
	char **names = NULL;
	bool ours_done = false;
	int n, rc = 0;

	overrider[0] = '\0';
	axdp_config_defaults(out);
	if (access(c->config_file, F_OK) == 0 && axdp_config_parse_file(out, c->config_file, err, errlen))
		return -1;
	n = axdp_dropins_list(c->dropin_dir, &names);
	for (int i = 0; i <= (n > 0 ? n : 0) && rc == 0; i++) {
		const char *name = i < n ? names[i] : NULL;
		char path[AXDP_PATH_MAX + 300];
		struct stat st;

		if (!ours_done && (!name || strcmp(name, POL_DROPIN_NAME) >= 0)) {
			ours_done = true;
			rc = axdp_config_parse_file(out, tmp, err, errlen);
			if (name && !strcmp(name, POL_DROPIN_NAME))
				continue;
		}
		if (!name || rc)
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->dropin_dir, name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		rc = axdp_config_parse_file(out, path, err, errlen);
		if (rc == 0 && ours_done && !overrider[0] && !pol_in_force(out, ch))
			snprintf(overrider, olen, "%s", path);
	}
	axdp_dropins_free(names, n);
	if (rc)
		axdp_config_free(out);
	return rc;
}
