// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "autoxdp_abi.h"
#include "errbuf.h"
#include "map_migrate.h"
#include "util.h"

/* More than the object has pinned maps. */
#define MAX_MAPS 32
/* The new map's pin beside the old one until the rename. */
#define NEW_PIN_SUFFIX "_takeover" /* bpffs refuses names with a dot */

/*
 * Maps the programs themselves write: between apply and the swap the old
 * programs went on writing the old ones.  Every other map is written by
 * user space only, through the pins, which name the new maps from apply
 * on; carrying those over again would bring back what was removed since.
 */
enum catch_up {
	CATCH_UP_NONE,
	CATCH_UP_MISSING, /* hash entries the new map lacks: flows opened meanwhile */
	CATCH_UP_LATER,   /* __u64 clocks: the later of the two */
	CATCH_UP_COUNTS,  /* per-CPU __u64 counts: what the old ones counted since the copy is added */
};

static const struct {
	const char *name;
	enum catch_up how;
} written_by_programs[] = {
	{ AXDP_MAP_CONNTRACK, CATCH_UP_MISSING },  { AXDP_MAP_CONNTRACK4, CATCH_UP_MISSING },
	{ AXDP_MAP_FRAGMENTS, CATCH_UP_MISSING },  { AXDP_MAP_FRAGMENTS4, CATCH_UP_MISSING },
	{ AXDP_MAP_UDP_SOCKS, CATCH_UP_MISSING },  { AXDP_MAP_FLOW_PORTS, CATCH_UP_LATER },
	{ AXDP_MAP_EGRESS_CLOCK, CATCH_UP_LATER }, { AXDP_MAP_COUNTERS, CATCH_UP_COUNTS },
};

struct taken_over {
	struct bpf_map *map; /* the object's, created fresh by libbpf */
	char pin[PATH_MAX];
	int old_fd;
	struct bpf_map_info old;
	bool carried; /* the layouts allowed copying entries */
	void *counts; /* CATCH_UP_COUNTS: the old values at the copy */
};

struct axdp_migration {
	size_t n;
	struct taken_over t[MAX_MAPS];
};

static enum catch_up catch_up_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(written_by_programs); i++)
		if (strcmp(written_by_programs[i].name, name) == 0)
			return written_by_programs[i].how;
	return CATCH_UP_NONE;
}

static bool fits(const struct bpf_map *map, const struct bpf_map_info *pinned)
{
	/* What libbpf compares before it reuses a pin. */
	return pinned->type == bpf_map__type(map) && pinned->key_size == bpf_map__key_size(map) &&
	       pinned->value_size == bpf_map__value_size(map) && pinned->max_entries == bpf_map__max_entries(map) &&
	       pinned->map_flags == bpf_map__map_flags(map);
}

static bool per_cpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_array(__u32 type)
{
	return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

static int cpus_of(__u32 type)
{
	int n = per_cpu(type) ? libbpf_num_possible_cpus() : 1;

	return n > 0 ? n : 1;
}

/* Bytes of one value as lookups return it: per-CPU values are 8-byte aligned, one per possible CPU. */
static size_t value_stride(__u32 type, __u32 value_size)
{
	return per_cpu(type) ? (value_size + 7) / 8 * 8 : value_size;
}

static size_t value_bytes(__u32 type, __u32 value_size)
{
	return value_stride(type, value_size) * cpus_of(type);
}

/* NULL when entries can be copied as they are, fields appended to a value starting zero; else why not. */
static const char *why_not_carried(const struct bpf_map_info *old, const struct bpf_map_info *new)
{
	if (old->type != new->type)
		return "its type changed";
	if (old->type == BPF_MAP_TYPE_RINGBUF)
		return "a ring buffer: events not yet read are not kept";
	if (old->key_size != new->key_size)
		return "its key layout changed";
	if (old->value_size > new->value_size)
		return "its value shrank";
	return NULL;
}

static void widen(__u32 type, __u32 old_size, __u32 new_size, const char *old, char *new)
{
	size_t os = value_stride(type, old_size), ns = value_stride(type, new_size);

	memset(new, 0, value_bytes(type, new_size));
	for (int c = 0; c < cpus_of(type); c++)
		memcpy(new + c *ns, old + c * os, old_size);
}

static bool all_zero(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i])
			return false;
	return true;
}

struct tally {
	unsigned long carried, left;
};

/*
 * Every entry of the old map into the new one; an array's from a snapshot
 * (read_all) when there is one.  Array slots past the new capacity, and
 * entries a full hash map or trie refuses, are left behind; an LRU map
 * that is too small evicts its least recently used instead.
 */
static int copy_entries(const struct taken_over *t, const char *snapshot, int new_fd, const struct bpf_map_info *new,
			__u64 flags, struct tally *tally)
{
	size_t ob = value_bytes(t->old.type, t->old.value_size), nb = value_bytes(new->type, new->value_size);
	size_t kb = t->old.key_size > sizeof(__u32) ? t->old.key_size : sizeof(__u32);
	char *key = calloc(2, kb), *ov = malloc(ob), *nv = malloc(nb);
	int rc = -1;

	if (!key || !ov || !nv) {
		errno = ENOMEM;
		goto out;
	}
	if (is_array(t->old.type)) {
		for (__u32 i = 0; i < t->old.max_entries; i++) {
			if (snapshot)
				memcpy(ov, snapshot + i * ob, ob);
			else if (bpf_map_lookup_elem(t->old_fd, &i, ov))
				goto out;
			if (all_zero(ov, ob))
				continue; /* a fresh array is all zeros */
			widen(t->old.type, t->old.value_size, new->value_size, ov, nv);
			if (i < new->max_entries && bpf_map_update_elem(new_fd, &i, nv, flags) == 0)
				tally->carried++;
			else
				tally->left++;
		}
	} else {
		char *prev = NULL, *next = key + kb;
		int walk = 0;

		/* Bounded: a hash map restarts its walk when the previous key went away meanwhile. */
		for (__u64 n = 0;
		     n < 2ull * t->old.max_entries && (walk = bpf_map_get_next_key(t->old_fd, prev, next)) == 0; n++) {
			if (bpf_map_lookup_elem(t->old_fd, next, ov) == 0) {
				widen(t->old.type, t->old.value_size, new->value_size, ov, nv);
				if (bpf_map_update_elem(new_fd, next, nv, flags) == 0)
					tally->carried++;
				else if (errno != EEXIST)
					tally->left++;
			}
			memcpy(key, next, kb);
			prev = key;
		}
		if (walk && errno != ENOENT)
			goto out;
	}
	rc = 0;
out:
	free(key);
	free(ov);
	free(nv);
	return rc;
}

static void *read_all(int fd, const struct bpf_map_info *info)
{
	size_t vb = value_bytes(info->type, info->value_size);
	char *all = calloc(info->max_entries, vb);

	for (__u32 i = 0; all && i < info->max_entries; i++)
		if (bpf_map_lookup_elem(fd, &i, all + i * vb)) {
			free(all);
			return NULL;
		}
	return all;
}

/* Records the map pinned at its pin path (fd) for taking over, and unpins the object's so libbpf creates it anew. */
static int take(struct axdp_migration **m, struct bpf_map *map, int fd, const struct bpf_map_info *pinned, char *err,
		size_t errlen)
{
	struct taken_over *t;

	if (!*m && !(*m = calloc(1, sizeof(**m))))
		return close(fd), axdp_fail(err, errlen, "map %s: taking over %s: out of memory", bpf_map__name(map),
					    bpf_map__pin_path(map));
	if ((*m)->n == MAX_MAPS)
		return close(fd),
		       axdp_fail(err, errlen, "map %s: more than %d pinned maps changed", bpf_map__name(map), MAX_MAPS);
	t = &(*m)->t[(*m)->n++];
	t->map = map;
	t->old_fd = fd;
	t->old = *pinned;
	snprintf(t->pin, sizeof(t->pin), "%s", bpf_map__pin_path(map));
	if (bpf_map__set_pin_path(map, NULL))
		return axdp_fail(err, errlen, "map %s: unpinning it in the object: out of memory", bpf_map__name(map));
	return 0;
}

int axdp_migration_plan(struct bpf_object *obj, struct axdp_migration **out, char *err, size_t errlen)
{
	struct axdp_migration *m = NULL;
	struct bpf_map *map;

	*out = NULL;
	bpf_object__for_each_map(map, obj)
	{
		const char *pin = bpf_map__pin_path(map);
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int fd;

		if (!pin)
			continue;
		fd = bpf_obj_get(pin);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
			axdp_fail(err, errlen, "map %s: reading the map pinned at %s: %s", bpf_map__name(map), pin,
				  strerror(errno));
			if (fd >= 0)
				close(fd);
			axdp_migration_free(m);
			return -1;
		}
		if (fits(map, &info)) {
			close(fd);
			continue;
		}
		if (take(&m, map, fd, &info, err, errlen)) {
			axdp_migration_free(m);
			return -1;
		}
	}
	*out = m;
	return 0;
}

/* One clause more in the report, "; "-separated. */
__attribute__((format(printf, 3, 4))) static void append(char *report, size_t len, const char *fmt, ...)
{
	size_t used = strlen(report);
	va_list ap;

	if (used + 3 >= len)
		return;
	if (used)
		used += snprintf(report + used, len - used, "; ");
	va_start(ap, fmt);
	vsnprintf(report + used, len - used, fmt, ap);
	va_end(ap);
}

static void new_pin_path(char *buf, size_t len, const struct taken_over *t)
{
	snprintf(buf, len, "%s" NEW_PIN_SUFFIX, t->pin);
}

/* Each new map pinned beside its old one, then renamed over it: until the renames nothing has changed. */
static int move_pins(struct axdp_migration *m, char *err, size_t errlen)
{
	char tmp[PATH_MAX + sizeof(NEW_PIN_SUFFIX)];
	size_t pinned, renamed;

	for (pinned = 0; pinned < m->n; pinned++) {
		new_pin_path(tmp, sizeof(tmp), &m->t[pinned]);
		unlink(tmp); /* left by a takeover that died */
		if (bpf_obj_pin(bpf_map__fd(m->t[pinned].map), tmp)) {
			axdp_fail(err, errlen, "map %s: pinning the new map at %s: %s", bpf_map__name(m->t[pinned].map),
				  tmp, strerror(errno));
			goto unpin;
		}
	}
	for (renamed = 0; renamed < m->n; renamed++) {
		new_pin_path(tmp, sizeof(tmp), &m->t[renamed]);
		if (rename(tmp, m->t[renamed].pin) == 0)
			continue;
		axdp_fail(err, errlen, "map %s: replacing the pin %s: %s", bpf_map__name(m->t[renamed].map),
			  m->t[renamed].pin, strerror(errno));
		/* Back to the old maps, by the same route. */
		while (renamed--) {
			new_pin_path(tmp, sizeof(tmp), &m->t[renamed]);
			unlink(tmp);
			if (bpf_obj_pin(m->t[renamed].old_fd, tmp) == 0)
				rename(tmp, m->t[renamed].pin);
		}
		goto unpin;
	}
	return 0;
unpin:
	for (size_t i = 0; i < pinned; i++) {
		new_pin_path(tmp, sizeof(tmp), &m->t[i]);
		unlink(tmp);
	}
	return -1;
}

int axdp_migration_apply(struct axdp_migration *m, char *report, size_t reportlen, char *err, size_t errlen)
{
	report[0] = '\0';
	for (size_t i = 0; i < m->n; i++) {
		struct taken_over *t = &m->t[i];
		const char *name = bpf_map__name(t->map), *why;
		struct bpf_map_info new = {};
		__u32 len = sizeof(new);
		struct tally tally = {};
		char left[64] = "";
		int fd = bpf_map__fd(t->map);

		if (bpf_obj_get_info_by_fd(fd, &new, &len))
			return axdp_fail(err, errlen, "map %s: reading the new map's definition: %s", name,
					 strerror(errno));
		why = why_not_carried(&t->old, &new);
		t->carried = !why;
		/* Counts are copied from a snapshot, so finish adds exactly what came after it. */
		if (t->carried && catch_up_of(name) == CATCH_UP_COUNTS && !(t->counts = read_all(t->old_fd, &t->old)))
			return axdp_fail(err, errlen, "map %s: reading the counts of %s: %s", name, t->pin,
					 strerror(errno));
		if (t->carried && copy_entries(t, t->counts, fd, &new, BPF_ANY, &tally))
			return axdp_fail(err, errlen, "map %s: copying the entries of %s: %s", name, t->pin,
					 strerror(errno));
		if (tally.left)
			snprintf(left, sizeof(left), ", %lu left behind (no room)", tally.left);
		if (why)
			append(report, reportlen, "%s (%u entries of %u bytes, was %u of %u): starts empty, %s", name,
			       new.max_entries, new.value_size, t->old.max_entries, t->old.value_size, why);
		else
			append(report, reportlen,
			       "%s (%u entries of %u bytes, was %u of %u): %lu entries carried over%s", name,
			       new.max_entries, new.value_size, t->old.max_entries, t->old.value_size, tally.carried,
			       left);
	}
	return move_pins(m, err, errlen);
}

/* The later of each pair of __u64 clocks. */
static void catch_up_later(const struct taken_over *t, int new_fd, __u32 entries)
{
	for (__u32 i = 0; t->old.value_size == sizeof(__u64) && i < entries; i++) {
		__u64 was, now;

		if (bpf_map_lookup_elem(t->old_fd, &i, &was) == 0 && bpf_map_lookup_elem(new_fd, &i, &now) == 0 &&
		    was > now)
			bpf_map_update_elem(new_fd, &i, &was, BPF_ANY);
	}
}

/* The new counts plus what the old programs counted since the copy. */
static void catch_up_counts(const struct taken_over *t, int new_fd, const struct bpf_map_info *new, __u32 entries)
{
	size_t ob = value_bytes(t->old.type, t->old.value_size), nb = value_bytes(new->type, new->value_size);
	size_t os = value_stride(t->old.type, t->old.value_size), ns = value_stride(new->type, new->value_size);
	char *now = malloc(ob), *val = malloc(nb);

	for (__u32 i = 0; now && val && i < entries; i++) {
		const char *then = (const char *)t->counts + i * ob;

		if (bpf_map_lookup_elem(t->old_fd, &i, now) || bpf_map_lookup_elem(new_fd, &i, val))
			continue;
		for (int c = 0; c < cpus_of(t->old.type); c++)
			for (size_t w = 0; w < t->old.value_size / sizeof(__u64); w++) {
				__u64 a, b, v;

				memcpy(&a, now + c * os + w * 8, 8);
				memcpy(&b, then + c * os + w * 8, 8);
				memcpy(&v, val + c * ns + w * 8, 8);
				v += a - b;
				memcpy(val + c * ns + w * 8, &v, 8);
			}
		bpf_map_update_elem(new_fd, &i, val, BPF_ANY);
	}
	free(now);
	free(val);
}

void axdp_migration_finish(struct axdp_migration *m)
{
	for (size_t i = 0; m && i < m->n; i++) {
		const struct taken_over *t = &m->t[i];
		struct bpf_map_info new = {};
		__u32 len = sizeof(new);
		struct tally ignored = {};
		int fd = bpf_map__fd(t->map);
		__u32 entries;

		if (!t->carried || bpf_obj_get_info_by_fd(fd, &new, &len))
			continue;
		entries = t->old.max_entries < new.max_entries ? t->old.max_entries : new.max_entries;
		switch (catch_up_of(bpf_map__name(t->map))) {
		case CATCH_UP_MISSING: copy_entries(t, NULL, fd, &new, BPF_NOEXIST, &ignored); break;
		case CATCH_UP_LATER: catch_up_later(t, fd, entries); break;
		case CATCH_UP_COUNTS: catch_up_counts(t, fd, &new, entries); break;
		case CATCH_UP_NONE: break;
		}
	}
	axdp_migration_free(m);
}

void axdp_migration_free(struct axdp_migration *m)
{
	for (size_t i = 0; m && i < m->n; i++) {
		close(m->t[i].old_fd);
		free(m->t[i].counts);
	}
	free(m);
}
