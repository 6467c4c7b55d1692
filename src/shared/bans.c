// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "atomicfile.h"
#include "conf_files.h"
#include "parse_number.h"
#include "bans.h"
#include "deny_buckets.h"
#include "log.h"
#include "errbuf.h"
#include "util.h"

static int cidr_cmp(const struct axdp_cidr *a, const struct axdp_cidr *b)
{
	int d = memcmp(a->addr, b->addr, sizeof(a->addr));

	return d ? d : (int)a->prefix - (int)b->prefix;
}

static int ban_cmp(const void *a, const void *b)
{
	return cidr_cmp(&((const struct axdp_ban *)a)->cidr, &((const struct axdp_ban *)b)->cidr);
}

static int cidr_qcmp(const void *a, const void *b)
{
	return cidr_cmp(a, b);
}

/* "CIDR EXPIRES" lines, EXPIRES a NUMBER (parse_number.h); '#' starts a comment line. */
static int read_file(struct axdp_bans *b, char *err, size_t errlen)
{
	FILE *f = fopen(b->path, "re");
	struct axdp_ban *v = NULL;
	struct axdp_lines lines;
	size_t len, n = 0, cap = 0;
	char *line;
	int rc = 0;

	if (!f)
		return errno == ENOENT ? 0 : axdp_fail(err, errlen, "reading %s: %s", b->path, strerror(errno));
	axdp_lines_init(&lines, f, b->path);
	while (rc == 0 && (rc = axdp_lines_next(&lines, &line, &len, err, errlen)) > 0) {
		char *sp = memchr(line, ' ', len);
		struct axdp_ban ban;
		uint64_t expires;

		rc = 0;
		if (line[0] == '#' || !len)
			continue;
		if (!sp || axdp_cidr_parse(line, (size_t)(sp - line), false, &ban.cidr) ||
		    axdp_parse_uint(sp + 1, len - (size_t)(sp - line) - 1, INT64_MAX, &expires)) {
			rc = axdp_fail(err, errlen,
				       "%s:%lu: expected \"CIDR EXPIRES\" (written only by axdp and autoxdpd): "
				       "remove the line or the file",
				       b->path, lines.lineno);
		} else if (AXDP_GROW(v, cap, n)) {
			rc = axdp_fail(err, errlen, "reading %s: out of memory", b->path);
		} else {
			ban.expires = (int64_t)expires;
			v[n++] = ban;
		}
	}
	axdp_lines_free(&lines);
	fclose(f);
	/* The file is written sorted; merging sorts again, which makes a hand-edited one safe too. */
	if (rc == 0 && axdp_bans_merge(b, v, n)) {
		rc = axdp_fail(err, errlen, "reading %s: out of memory", b->path);
	}
	b->changed = false;
	free(v);
	return rc;
}

int axdp_bans_open(struct axdp_bans *b, const char *state_dir, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	b->lock = -1;
	snprintf(b->path, sizeof(b->path), "%s/" AXDP_BANS_FILE, state_dir);
	if (mkdir(state_dir, 0755) && errno != EEXIST)
		return axdp_fail(err, errlen, "creating the state directory %s: %s", state_dir, strerror(errno));
	b->lock = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->lock < 0 || flock(b->lock, LOCK_EX)) {
		snprintf(err, errlen, "locking the state directory %s: %s", state_dir, strerror(errno));
		axdp_bans_close(b);
		return -1;
	}
	if (read_file(b, err, errlen)) {
		axdp_bans_close(b);
		return -1;
	}
	return 0;
}

void axdp_bans_close(struct axdp_bans *b)
{
	if (b->lock >= 0)
		close(b->lock);
	b->lock = -1;
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

int axdp_bans_save(struct axdp_bans *b, char *err, size_t errlen)
{
	struct axdp_atomic_file a;
	char text[AXDP_CIDR_STRLEN];

	if (!b->changed)
		return 0;
	if (axdp_atomic_open(&a, b->path, err, errlen))
		return -1;
	fprintf(a.f, "# autoxdp runtime bans: network, end as Unix time (0: none).  Written by axdp and autoxdpd.\n");
	for (size_t i = 0; i < b->n; i++) {
		axdp_cidr_format(text, sizeof(text), &b->v[i].cidr);
		fprintf(a.f, "%s %lld\n", text, (long long)b->v[i].expires);
	}
	/* Renamed only once on disk: a reboot finds the old list or the new one. */
	if (fflush(a.f) || fsync(fileno(a.f))) {
		snprintf(err, errlen, "writing %s: %s (the previous %s is unchanged)", a.tmp, strerror(errno), b->path);
		axdp_atomic_abort(&a);
		return -1;
	}
	if (axdp_atomic_commit(&a, 0644, err, errlen))
		return -1;
	b->changed = false;
	return 0;
}

/* A ban and its place in the input: of one network's bans, the last given wins. */
struct numbered {
	struct axdp_ban ban;
	size_t i;
};

static int numbered_cmp(const void *a, const void *b)
{
	const struct numbered *x = a, *y = b;
	int d = ban_cmp(&x->ban, &y->ban);

	return d ? d : x->i < y->i ? -1 : x->i > y->i;
}

int axdp_bans_merge(struct axdp_bans *b, struct axdp_ban *v, size_t n)
{
	struct numbered *in = malloc((n ? n : 1) * sizeof(*in));
	struct axdp_ban *out = malloc((b->n + n ? b->n + n : 1) * sizeof(*out));
	size_t nin = 0, o = 0, old = 0;

	if (!in || !out) {
		free(in);
		free(out);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		in[i] = (struct numbered){ v[i], i };
	axdp_sort(in, n, sizeof(*in), numbered_cmp);
	for (size_t i = 0; i < n; i++)
		if (i + 1 == n || ban_cmp(&in[i].ban, &in[i + 1].ban))
			in[nin++] = in[i];
	for (size_t i = 0; i < nin; i++) {
		while (old < b->n && ban_cmp(&b->v[old], &in[i].ban) < 0)
			out[o++] = b->v[old++];
		if (old < b->n && ban_cmp(&b->v[old], &in[i].ban) == 0)
			old++;
		out[o++] = in[i].ban;
	}
	while (old < b->n)
		out[o++] = b->v[old++];
	free(in);
	free(b->v);
	b->v = out;
	b->n = o;
	b->changed |= n > 0;
	return 0;
}

/* Is this ban one axdp_bans_drop() removes: listed in sorted[0..n), or with sorted NULL expired at now? */
static bool dropped(const struct axdp_ban *ban, const struct axdp_cidr *sorted, size_t n, int64_t now)
{
	if (sorted)
		return bsearch(&ban->cidr, sorted, n, sizeof(*sorted), cidr_qcmp) != NULL;
	return ban->expires && ban->expires <= now;
}

ssize_t axdp_bans_drop(struct axdp_bans *b, const struct axdp_cidr *v, size_t n, int64_t now, struct axdp_cidr **gone)
{
	struct axdp_cidr *sorted = NULL, *out;
	size_t kept = 0, ngone = 0;

	*gone = NULL;
	if (v) {
		sorted = malloc((n ? n : 1) * sizeof(*sorted));
		if (!sorted)
			return -1;
		memcpy(sorted, v, n * sizeof(*v));
		axdp_sort(sorted, n, sizeof(*sorted), cidr_qcmp);
	}
	out = malloc((b->n ? b->n : 1) * sizeof(*out));
	if (!out) {
		free(sorted);
		return -1;
	}
	for (size_t i = 0; i < b->n; i++) {
		if (dropped(&b->v[i], sorted, n, now))
			out[ngone++] = b->v[i].cidr;
		else
			b->v[kept++] = b->v[i];
	}
	free(sorted);
	b->changed |= kept != b->n;
	b->n = kept;
	if (!ngone) {
		free(out);
		out = NULL;
	}
	*gone = out;
	return (ssize_t)ngone;
}

int64_t axdp_bans_next_expiry(const struct axdp_bans *b)
{
	int64_t next = 0;

	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].expires && (!next || b->v[i].expires < next))
			next = b->v[i].expires;
	return next;
}

struct axdp_cidr *axdp_bans_networks(const struct axdp_bans *b)
{
	struct axdp_cidr *v = malloc((b->n ? b->n : 1) * sizeof(*v));

	for (size_t i = 0; v && i < b->n; i++)
		v[i] = b->v[i].cidr;
	return v;
}

bool axdp_duration_parse(const char *s, uint64_t *seconds)
{
	static const struct {
		char unit;
		uint64_t s;
	} units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
	};
	uint64_t total = 0;

	if (!*s)
		return false;
	while (*s) {
		char *end;
		unsigned long long n;
		uint64_t mult = 0;

		if (*s < '0' || *s > '9')
			return false;
		errno = 0;
		n = strtoull(s, &end, 10);
		if (errno)
			return false;
		if (!*end) {
			mult = 1;
		} else {
			for (size_t i = 0; i < ARRAY_SIZE(units); i++)
				if (*end == units[i].unit)
					mult = units[i].s;
			if (!mult)
				return false;
			end++;
		}
		if (n > (UINT64_C(1) << 40) / mult)
			return false;
		total += n * mult;
		s = end;
	}
	*seconds = total;
	return total > 0 && total < (UINT64_C(1) << 40);
}

int axdp_bans_update(struct axdp_policy_maps *m, const char *state_dir, const struct axdp_config *cfg, bool sync,
		     int64_t *next, char *err, size_t errlen)
{
	struct axdp_bans b;
	struct axdp_cidr *gone = NULL, *nets = NULL;
	struct axdp_lpm_key *keys = NULL;
	uint64_t *covered = NULL;
	ssize_t expired;
	int rc = -1;

	*next = 0;
	if (axdp_bans_open(&b, state_dir, err, errlen)) {
		/* Bans unknown: the configuration's lists still apply; deny_clear stays as it is. */
		if (cfg)
			axdp_policy_apply(m, cfg, err + strlen(err), errlen - strlen(err));
		return -1;
	}
	expired = axdp_bans_drop(&b, NULL, 0, (int64_t)time(NULL), &gone);
	if (expired < 0) {
		snprintf(err, errlen, "bans: out of memory");
		goto out;
	}
	/* Out of the trie first: if the file cannot be written, the next run expires them again. */
	if ((expired && axdp_policy_ban_remove(m, gone, (size_t)expired, err, errlen)) ||
	    axdp_bans_save(&b, err, errlen))
		goto out;
	if (expired)
		axdp_log(LOG_INFO, "bans: %zd expired, %zu in force", expired, b.n);
	nets = axdp_bans_networks(&b);
	keys = calloc(b.n ? b.n : 1, sizeof(*keys));
	for (size_t i = 0; keys && i < b.n; i++) {
		keys[i].prefixlen = b.v[i].cidr.prefix;
		memcpy(&keys[i].addr, b.v[i].cidr.addr, sizeof(keys[i].addr));
	}
	covered = keys ? axdp_deny_buckets_covered(keys, b.n) : NULL;
	if (!nets || !covered) {
		snprintf(err, errlen, "bans: out of memory");
		goto out;
	}
	/* A sync also tells the data path whether any ban is left; so does the last one expiring. */
	if (sync || (expired && !b.n)) {
		if (axdp_policy_ban_sync(m, nets, b.n, err, errlen))
			goto out;
		if (sync)
			axdp_log(LOG_INFO, "bans: %zu in force from %s", b.n, b.path);
	}
	/* The bits of buckets no ban is left in are set again. */
	rc = axdp_policy_refresh_clear(m, covered, err, errlen);
	if (cfg && axdp_policy_apply(m, cfg, err, errlen))
		rc = -1;
	*next = axdp_bans_next_expiry(&b);
out:
	free(covered);
	free(keys);
	free(nets);
	free(gone);
	axdp_bans_close(&b);
	return rc;
}
