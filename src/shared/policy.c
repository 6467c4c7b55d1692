// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "deny_buckets.h"
#include "denylist.h"
#include "log.h"
#include "policy.h"
#include "errbuf.h"
#include "util.h"

/* Entries per batch syscall: big enough that syscalls stop mattering, small enough for the stack of keys. */
#define BATCH 16384

static const char *const deny_names[2] = { AXDP_MAP_DENY_0, AXDP_MAP_DENY_1 };
static const char *const exact_names[2] = { AXDP_MAP_DENY_EXACT4, AXDP_MAP_DENY_EXACT6 };
static const size_t exact_key_size[2] = { sizeof(__be32), sizeof(struct axdp_addr) };

static int pinned(const char *pin_dir, const char *name, char *err, size_t errlen)
{
	char path[AXDP_PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		snprintf(err, errlen, "opening map %s: %s (is the data path loaded, and this version's?)", path,
			 strerror(errno));
	return fd;
}

/*
 * Updating a map-in-map makes the kernel wait for every running
 * non-sleepable BPF program (maybe_wait_bpf_programs(): synchronize_rcu),
 * the one way user space has to know that no program still holds a
 * pointer into a trie it is about to empty.
 */
static void open_rcu_wait(struct axdp_policy_maps *m)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);

	m->rcu_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "axdp_rcu_in", 4, 4, 1, NULL);
	if (m->rcu_inner < 0)
		return;
	opts.inner_map_fd = m->rcu_inner;
	m->rcu_wait = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "axdp_rcu", 4, 4, 1, &opts);
}

static void wait_for_programs(const struct axdp_policy_maps *m)
{
	__u32 zero = 0;
	int inner = m->rcu_inner;

	/* An XDP program runs for microseconds; without the map-in-map, a generous pause. */
	if (m->rcu_wait < 0 || bpf_map_update_elem(m->rcu_wait, &zero, &inner, BPF_ANY))
		usleep(100 * 1000);
}

/* A mapped BPF array counts as resident whole (4 MiB): mapped only while it is written. */
static void unmap_deny_clear(struct axdp_policy_maps *m)
{
	if (m->deny_clear_words)
		munmap(m->deny_clear_words, AXDP_DENY_CLEAR_WORDS * sizeof(uint64_t));
	m->deny_clear_words = NULL;
}

void axdp_policy_close(struct axdp_policy_maps *m)
{
	int *fds[] = { &m->policy,     &m->deny[0], &m->deny[1], &m->deny_state,  &m->deny_exact[0], &m->deny_exact[1],
		       &m->deny_clear, &m->bans,    &m->trust,   &m->local_addrs, &m->rcu_wait,      &m->rcu_inner };

	unmap_deny_clear(m);
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	m->deny_loaded = false;
}

int axdp_policy_open(struct axdp_policy_maps *m, const char *pin_dir, char *err, size_t errlen)
{
	const struct {
		int *fd;
		const char *name;
	} maps[] = {
		{ &m->policy, AXDP_MAP_POLICY },
		{ &m->deny[0], AXDP_MAP_DENY_0 },
		{ &m->deny[1], AXDP_MAP_DENY_1 },
		{ &m->deny_state, AXDP_MAP_DENY_STATE },
		{ &m->deny_exact[0], AXDP_MAP_DENY_EXACT4 },
		{ &m->deny_exact[1], AXDP_MAP_DENY_EXACT6 },
		{ &m->deny_clear, AXDP_MAP_DENY_CLEAR },
		{ &m->bans, AXDP_MAP_BANS },
		{ &m->trust, AXDP_MAP_TRUST },
		{ &m->local_addrs, AXDP_MAP_LOCAL_ADDRS },
	};

	*m = (struct axdp_policy_maps)AXDP_POLICY_MAPS_CLOSED;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if ((*maps[i].fd = pinned(pin_dir, maps[i].name, err, errlen)) < 0) {
			axdp_policy_close(m);
			return -1;
		}
	open_rcu_wait(m);
	return 0;
}

static int policy_get(const struct axdp_policy_maps *m, struct axdp_policy *pol, char *err, size_t errlen)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->policy, &zero, pol))
		return axdp_fail(err, errlen, "map %s: reading: %s", AXDP_MAP_POLICY, strerror(errno));
	return 0;
}

/* The whole entry in one update: generation and count never disagree for long enough to matter. */
static int policy_put(const struct axdp_policy_maps *m, const struct axdp_policy *pol, char *err, size_t errlen)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(m->policy, &zero, pol, BPF_ANY))
		return axdp_fail(err, errlen, "map %s: writing: %s", AXDP_MAP_POLICY, strerror(errno));
	return 0;
}

static bool batch_refused(int e)
{
	return e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP || e == 524 /* ENOTSUPP, kernel-internal */;
}

/* Adds n keys of key_size bytes with their one-byte values (NULL: 1 each). */
static int fill(struct axdp_policy_maps *m, int fd, const char *name, const void *keys, size_t key_size,
		const __u8 *values, size_t n, char *err, size_t errlen)
{
	static const __u8 ones[BATCH] = { [0 ... BATCH - 1] = 1 };
	const char *k = keys;
	size_t done = 0;

	while (done < n && !m->no_batch) {
		__u32 count = (__u32)(n - done < BATCH ? n - done : BATCH);
		LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);

		if (bpf_map_update_batch(fd, k + done * key_size, values ? values + done : ones, &count, &opts) == 0) {
			done += count;
			continue;
		}
		if (!batch_refused(errno) || count)
			return axdp_fail(err, errlen, "map %s: adding entry %zu of %zu: %s%s", name, done + count + 1,
					 n, strerror(errno), errno == ENOMEM || errno == E2BIG ? " (map full?)" : "");
		m->no_batch = true;
	}
	for (; done < n; done++)
		if (bpf_map_update_elem(fd, k + done * key_size, values ? values + done : ones, BPF_ANY))
			return axdp_fail(err, errlen, "map %s: adding entry %zu of %zu: %s%s", name, done + 1, n,
					 strerror(errno), errno == ENOMEM || errno == E2BIG ? " (map full?)" : "");
	return 0;
}

/* Every key in the map by BPF_MAP_LOOKUP_BATCH; -errno when the kernel refuses it. */
static int keys_by_batch(int fd, size_t key_size, char **out, size_t *n)
{
	static __u8 values[BATCH];
	/* The generic batch ops (tries, hashes of ours) carry a whole key as the position. */
	char in[64], next[64];
	size_t cap = 0;
	char *v = NULL;
	bool first = true;

	*n = 0;
	for (;;) {
		__u32 count = BATCH;
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		int rc;

		/* Room for a whole batch after the *n keys so far. */
		if (axdp_grow(&v, &cap, *n + BATCH - 1, key_size, BATCH)) {
			free(v);
			return -ENOMEM;
		}
		rc = bpf_map_lookup_batch(fd, first ? NULL : in, next, v + *n * key_size, values, &count, &opts);
		if (rc && errno != ENOENT) {
			rc = -errno;
			free(v);
			return rc;
		}
		*n += count;
		if (rc)
			break; /* ENOENT: that was the last of them */
		first = false;
		memcpy(in, next, key_size);
	}
	*out = v;
	return 0;
}

/* Every key in the map; *out malloc'd (NULL when empty). */
static int keys_of(struct axdp_policy_maps *m, int fd, size_t key_size, void **out, size_t *n)
{
	char key[64], next[64];
	size_t cap = 0;
	char *v = NULL;
	int rc;

	if (!m->no_batch) {
		rc = keys_by_batch(fd, key_size, &v, n);
		if (rc == 0 || !batch_refused(-rc)) {
			*out = v;
			return rc;
		}
		m->no_batch = true;
	}
	*n = 0;
	for (rc = bpf_map_get_next_key(fd, NULL, next); rc == 0; rc = bpf_map_get_next_key(fd, key, next)) {
		if (axdp_grow(&v, &cap, *n, key_size, 1024)) {
			free(v);
			return -ENOMEM;
		}
		memcpy(key, next, key_size);
		memcpy(v + *n * key_size, key, key_size);
		(*n)++;
	}
	if (errno != ENOENT) {
		free(v);
		return -errno;
	}
	*out = v;
	return 0;
}

static int delete_keys(struct axdp_policy_maps *m, int fd, const char *name, const char *keys, size_t key_size,
		       size_t n, char *err, size_t errlen)
{
	size_t done = 0;

	while (done < n && !m->no_batch) {
		__u32 count = (__u32)(n - done < BATCH ? n - done : BATCH);
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		if (bpf_map_delete_batch(fd, keys + done * key_size, &count, &opts) == 0) {
			done += count;
			continue;
		}
		if (!batch_refused(errno) || count)
			return axdp_fail(err, errlen, "map %s: removing entries: %s", name, strerror(errno));
		m->no_batch = true;
	}
	for (; done < n; done++)
		if (bpf_map_delete_elem(fd, keys + done * key_size) && errno != ENOENT)
			return axdp_fail(err, errlen, "map %s: removing an entry: %s", name, strerror(errno));
	return 0;
}

static int lpm_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct axdp_lpm_key));
}

static int addr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct axdp_addr));
}

/* Removes the keys of the map that are not in keep[0..nkeep) (sorted by cmp); keep NULL: all. */
static int prune(struct axdp_policy_maps *m, int fd, const char *name, size_t key_size, const void *keep, size_t nkeep,
		 int (*cmp)(const void *, const void *), char *err, size_t errlen)
{
	void *all = NULL;
	size_t n, gone = 0;
	int rc = keys_of(m, fd, key_size, &all, &n);

	if (rc)
		return axdp_fail(err, errlen, "map %s: listing: %s", name, strerror(-rc));
	for (size_t i = 0; i < n; i++) {
		char *key = (char *)all + i * key_size;

		if (!keep || !bsearch(key, keep, nkeep, key_size, cmp))
			memmove((char *)all + gone++ * key_size, key, key_size);
	}
	rc = delete_keys(m, fd, name, all, key_size, gone, err, errlen);
	free(all);
	return rc;
}

/* Sorted trie keys of the entries, and each one's value in *families; NULL when out of memory. */
static struct axdp_lpm_key *lpm_keys(const struct axdp_cidr *v, size_t n, __u8 **families)
{
	struct axdp_lpm_key *k = calloc(n ? n : 1, sizeof(*k));

	*families = malloc(n ? n : 1);
	if (!k || !*families) {
		free(k);
		free(*families);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		k[i].prefixlen = v[i].prefix;
		memcpy(&k[i].addr, v[i].addr, sizeof(k[i].addr));
	}
	axdp_sort(k, n, sizeof(*k), lpm_cmp);
	for (size_t i = 0; i < n; i++)
		(*families)[i] = (__u8)axdp_lpm_family(&k[i]);
	return k;
}

static int map_deny_clear(struct axdp_policy_maps *m, char *err, size_t errlen)
{
	void *p;

	if (m->deny_clear_words)
		return 0;
	p = mmap(NULL, AXDP_DENY_CLEAR_WORDS * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, m->deny_clear, 0);
	if (p == MAP_FAILED)
		return axdp_fail(err, errlen, "map %s: mapping it: %s", AXDP_MAP_DENY_CLEAR, strerror(errno));
	m->deny_clear_words = p;
	return 0;
}

/* A new exact set holding keys[0..n) (with their values) at generation gen of deny_exact[family]; none when n is 0. */
static int put_exact(struct axdp_policy_maps *m, int family, __u32 gen, const void *keys, const __u8 *values, size_t n,
		     char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int fd, rc;

	if (!n) {
		if (bpf_map_delete_elem(m->deny_exact[family], &gen) && errno != ENOENT)
			return snprintf(err, errlen, "map %s: emptying generation %u: %s", exact_names[family], gen,
					strerror(errno)),
			       -1;
		return 0;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, family ? "axdp_deny_ex6" : "axdp_deny_ex4",
			    (__u32)exact_key_size[family], 1, (__u32)n, &opts);
	if (fd < 0)
		return snprintf(err, errlen, "creating an exact set of %zu addresses for %s: %s", n,
				exact_names[family], strerror(errno)),
		       -1;
	rc = fill(m, fd, exact_names[family], keys, exact_key_size[family], values, n, err, errlen);
	if (!rc && bpf_map_update_elem(m->deny_exact[family], &gen, &fd, BPF_ANY)) {
		snprintf(err, errlen, "map %s: installing generation %u: %s", exact_names[family], gen,
			 strerror(errno));
		rc = -1;
	}
	close(fd); /* the array of maps holds it from here */
	return rc;
}

/* Generation gen's words of deny_state, written through a mapping of the whole array. */
static int put_state(struct axdp_policy_maps *m, __u32 gen, const struct axdp_deny_layout *l, char *err, size_t errlen)
{
	size_t len = 2 * AXDP_DENY_GEN_WORDS * sizeof(uint64_t);
	uint64_t *words = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->deny_state, 0);

	if (words == MAP_FAILED)
		return snprintf(err, errlen, "map %s: mapping it: %s", AXDP_MAP_DENY_STATE, strerror(errno)), -1;
	axdp_deny_state_fill(words + gen * AXDP_DENY_GEN_WORDS, l);
	munmap(words, len);
	return 0;
}

int axdp_policy_set_deny(struct axdp_policy_maps *m, const struct axdp_cidr *v, size_t n, char *err, size_t errlen)
{
	struct axdp_deny_layout l = { 0 };
	struct axdp_lpm_key *keys;
	struct axdp_policy pol;
	__u8 *families = NULL;
	__u32 live, idle;
	int rc = -1;

	if (n > AXDP_DENY_ENTRIES)
		return axdp_fail(err, errlen, "deny list: %zu entries, more than the %u it holds", n,
				 AXDP_DENY_ENTRIES);
	if (policy_get(m, &pol, err, errlen))
		return -1;
	live = pol.deny_generation & 1;
	idle = !live;
	keys = lpm_keys(v, n, &families);
	if (!keys || axdp_deny_layout(keys, families, n, &l)) {
		snprintf(err, errlen, "deny list: out of memory");
		goto out;
	}
	/* The idle generation is empty unless an earlier run stopped half way; no program reads it. */
	if (prune(m, m->deny[idle], deny_names[idle], sizeof(*keys), NULL, 0, NULL, err, errlen) ||
	    fill(m, m->deny[idle], deny_names[idle], l.prefixes, sizeof(*keys), l.families, l.nprefixes, err, errlen) ||
	    put_exact(m, 0, idle, l.v4, l.v4_prefixlen, l.nv4, err, errlen) ||
	    put_exact(m, 1, idle, l.v6, l.v6_prefixlen, l.nv6, err, errlen) || put_state(m, idle, &l, err, errlen) ||
	    policy_get(m, &pol, err, errlen))
		goto out;
	pol.deny_generation = idle;
	pol.deny_entries = (__u32)n;
	if (policy_put(m, &pol, err, errlen))
		goto out;
	/* A program that read the old generation may still be looking it up: it finishes first. */
	wait_for_programs(m);
	rc = prune(m, m->deny[live], deny_names[live], sizeof(*keys), NULL, 0, NULL, err, errlen) ||
			     put_exact(m, 0, live, NULL, NULL, 0, err, errlen) ||
			     put_exact(m, 1, live, NULL, NULL, 0, err, errlen)
		     ? -1
		     : 0;
out:
	axdp_deny_layout_free(&l);
	free(families);
	free(keys);
	return rc;
}

/*
 * Tells the data path whether to look at the bans trie at all.  Set after
 * a ban's entry is in, so the first ban is enforced when its command
 * returns; cleared only by a sync that left the trie empty.
 */
static int mark_bans(const struct axdp_policy_maps *m, bool present, char *err, size_t errlen)
{
	struct axdp_policy pol;

	if (policy_get(m, &pol, err, errlen))
		return -1;
	if (!pol.bans == !present)
		return 0;
	pol.bans = present;
	return policy_put(m, &pol, err, errlen);
}

int axdp_policy_ban_add(struct axdp_policy_maps *m, const struct axdp_cidr *v, size_t n, char *err, size_t errlen)
{
	struct axdp_lpm_key *keys;
	uint64_t *covered = NULL;
	__u8 *families = NULL;
	int rc = -1;

	if (map_deny_clear(m, err, errlen))
		return -1;
	keys = lpm_keys(v, n, &families);
	covered = keys ? axdp_deny_buckets_covered(keys, n) : NULL;
	if (!covered) {
		snprintf(err, errlen, "bans: out of memory");
		goto out;
	}
	/* Checked before live: a program that reads the bit after this looks the trie up. */
	for (size_t i = 0; i < AXDP_DENY_CLEAR_WORDS; i++)
		if (covered[i])
			__atomic_fetch_and(&m->deny_clear_words[i], ~covered[i], __ATOMIC_SEQ_CST);
	rc = fill(m, m->bans, AXDP_MAP_BANS, keys, sizeof(*keys), families, n, err, errlen);
	if (!rc && n)
		rc = mark_bans(m, true, err, errlen);
out:
	unmap_deny_clear(m);
	free(covered);
	free(families);
	free(keys);
	return rc;
}

int axdp_policy_ban_remove(struct axdp_policy_maps *m, const struct axdp_cidr *v, size_t n, char *err, size_t errlen)
{
	struct axdp_lpm_key *keys;
	__u8 *families;
	int rc;

	keys = lpm_keys(v, n, &families);
	if (!keys)
		return axdp_fail(err, errlen, "bans: out of memory");
	rc = delete_keys(m, m->bans, AXDP_MAP_BANS, (const char *)keys, sizeof(*keys), n, err, errlen);
	free(families);
	free(keys);
	return rc;
}

int axdp_policy_ban_sync(struct axdp_policy_maps *m, const struct axdp_cidr *v, size_t n, char *err, size_t errlen)
{
	struct axdp_lpm_key *keys;
	__u8 *families;
	int rc;

	if (axdp_policy_ban_add(m, v, n, err, errlen))
		return -1;
	keys = lpm_keys(v, n, &families);
	if (!keys)
		return axdp_fail(err, errlen, "bans: out of memory");
	rc = prune(m, m->bans, AXDP_MAP_BANS, sizeof(*keys), keys, n, lpm_cmp, err, errlen);
	if (!rc)
		rc = mark_bans(m, n > 0, err, errlen);
	free(families);
	free(keys);
	return rc;
}

int axdp_policy_refresh_clear(struct axdp_policy_maps *m, const uint64_t *bans_covered, char *err, size_t errlen)
{
	if (map_deny_clear(m, err, errlen))
		return -1;
	/* Programs read the words as they are written: whole-word stores. */
	for (size_t i = 0; i < AXDP_DENY_CLEAR_WORDS; i++)
		__atomic_store_n(&m->deny_clear_words[i], ~bans_covered[i], __ATOMIC_RELAXED);
	unmap_deny_clear(m);
	return 0;
}

int axdp_deny_exact_entry(const int exact[2], __u32 gen, const struct axdp_addr *addr)
{
	int family = !axdp_addr_v4_mapped(addr), fd, rc;
	const void *key = family ? (const void *)addr : (const void *)&addr->w[3];
	__u32 id;
	__u8 prefixlen;

	if (bpf_map_lookup_elem(exact[family], &gen, &id))
		return errno == ENOENT ? 0 : -1;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1; /* replaced meanwhile */
	rc = bpf_map_lookup_elem(fd, key, &prefixlen) ? (errno == ENOENT ? 0 : -1) : prefixlen;
	close(fd);
	return rc;
}

int axdp_policy_set_trust(struct axdp_policy_maps *m, const struct axdp_cidr *v, size_t n, char *err, size_t errlen)
{
	struct axdp_lpm_key *keys;
	struct axdp_policy pol;
	__u8 *families;
	int rc = -1;

	if (n > AXDP_TRUST_ENTRIES)
		return axdp_fail(err, errlen, "TrustCIDR=: %zu entries, more than the %u the trie holds", n,
				 AXDP_TRUST_ENTRIES);
	keys = lpm_keys(v, n, &families);
	if (!keys)
		return axdp_fail(err, errlen, "trust list: out of memory");
	if (fill(m, m->trust, AXDP_MAP_TRUST, keys, sizeof(*keys), families, n, err, errlen) ||
	    policy_get(m, &pol, err, errlen))
		goto out;
	pol.trust_entries = (__u32)n;
	if (policy_put(m, &pol, err, errlen))
		goto out;
	rc = prune(m, m->trust, AXDP_MAP_TRUST, sizeof(*keys), keys, n, lpm_cmp, err, errlen);
out:
	free(families);
	free(keys);
	return rc;
}

int axdp_host_addrs(struct axdp_addr **out, size_t *n, char *err, size_t errlen)
{
	struct ifaddrs *ifa, *i;
	struct axdp_addr *v;
	size_t count = 0, u = 0;

	*out = NULL;
	*n = 0;
	if (getifaddrs(&ifa))
		return axdp_fail(err, errlen, "listing the host's addresses (getifaddrs): %s", strerror(errno));
	for (i = ifa; i; i = i->ifa_next)
		count++;
	v = calloc(count ? count : 1, sizeof(*v));
	if (!v) {
		freeifaddrs(ifa);
		return axdp_fail(err, errlen, "listing the host's addresses: out of memory");
	}
	count = 0;
	for (i = ifa; i; i = i->ifa_next) {
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
			axdp_addr_from_v4(&v[count++], ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
		} else if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6) {
			memcpy(&v[count++], &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, sizeof(*v));
		}
	}
	freeifaddrs(ifa);
	axdp_sort(v, count, sizeof(*v), addr_cmp);
	for (size_t j = 0; j < count; j++)
		if (!u || addr_cmp(&v[u - 1], &v[j]))
			v[u++] = v[j];
	*out = v;
	*n = u;
	return 0;
}

int axdp_policy_set_local(struct axdp_policy_maps *m, const struct axdp_addr *v, size_t n, char *err, size_t errlen)
{
	struct axdp_addr *sorted = malloc((n ? n : 1) * sizeof(*sorted));
	struct axdp_policy pol;
	int rc = -1;

	if (!sorted)
		return axdp_fail(err, errlen, "local addresses: out of memory");
	memcpy(sorted, v, n * sizeof(*v));
	axdp_sort(sorted, n, sizeof(*sorted), addr_cmp);
	if (n > AXDP_LOCAL_ADDR_ENTRIES)
		n = AXDP_LOCAL_ADDR_ENTRIES; /* the lowest ones; a host with more is beyond this check */
	if (fill(m, m->local_addrs, AXDP_MAP_LOCAL_ADDRS, sorted, sizeof(*sorted), NULL, n, err, errlen) ||
	    policy_get(m, &pol, err, errlen))
		goto out;
	pol.local_addrs = (__u32)n;
	if (policy_put(m, &pol, err, errlen))
		goto out;
	rc = prune(m, m->local_addrs, AXDP_MAP_LOCAL_ADDRS, sizeof(*sorted), sorted, n, addr_cmp, err, errlen);
out:
	free(sorted);
	return rc;
}

int axdp_policy_sync_local(struct axdp_policy_maps *m, char *err, size_t errlen)
{
	struct axdp_addr *v;
	size_t n;
	int rc;

	if (axdp_host_addrs(&v, &n, err, errlen))
		return -1;
	rc = axdp_policy_set_local(m, v, n, err, errlen);
	free(v);
	return rc;
}

/* FNV-1a over the sorted entries: equal lists, equal digests. */
static uint64_t digest(const struct axdp_cidr *v, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ n;

	for (size_t i = 0; i < n; i++) {
		const unsigned char *b = v[i].addr;

		for (size_t j = 0; j < sizeof(v[i].addr); j++)
			h = (h ^ b[j]) * 0x100000001b3ULL;
		h = (h ^ v[i].prefix) * 0x100000001b3ULL;
	}
	return h;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t live_deny_entries(const struct axdp_policy_maps *m)
{
	struct axdp_policy pol;
	char err[128];

	return policy_get(m, &pol, err, sizeof(err)) ? SIZE_MAX : pol.deny_entries;
}

int axdp_policy_apply(struct axdp_policy_maps *m, const struct axdp_config *cfg, char *err, size_t errlen)
{
	struct axdp_cidr_list deny, trust = { 0 };
	uint64_t start = now_ms(), h;
	int rc = 0;

	if (axdp_denylist_collect(cfg, &deny, err, errlen)) {
		axdp_log(LOG_ERR, "deny list not replaced, the running one stays: %s", err);
		rc = -1;
	} else if (!m->deny_loaded || (h = digest(deny.v, deny.n)) != m->deny_digest ||
		   live_deny_entries(m) != deny.n) {
		/* Unchanged lists are not rewritten, unless someone else changed the maps meanwhile. */
		h = digest(deny.v, deny.n);
		if (axdp_policy_set_deny(m, deny.v, deny.n, err, errlen) == 0) {
			m->deny_digest = h;
			m->deny_loaded = true;
			axdp_log(LOG_INFO,
				 "deny list: %zu entries from DenyCIDR= and %zu DenyListFile= lists, loaded in %llu ms",
				 deny.n, cfg->deny_list_files.n, (unsigned long long)(now_ms() - start));
		} else {
			m->deny_loaded = false;
			axdp_log(LOG_ERR, "deny list: %s", err);
			rc = -1;
		}
	}
	free(deny.v);

	trust.v = cfg->trust_cidrs.n ? malloc(cfg->trust_cidrs.n * sizeof(*trust.v)) : NULL;
	if (cfg->trust_cidrs.n && !trust.v)
		return axdp_fail(err, errlen, "trust list: out of memory");
	if (trust.v)
		memcpy(trust.v, cfg->trust_cidrs.v, cfg->trust_cidrs.n * sizeof(*trust.v));
	trust.n = cfg->trust_cidrs.n;
	axdp_cidr_list_unique(&trust);
	if (axdp_policy_set_trust(m, trust.v, trust.n, err, errlen)) {
		axdp_log(LOG_ERR, "trust list: %s", err);
		rc = -1;
	}
	free(trust.v);
	return rc;
}

/* The kernel's account of a map's memory ("memlock:" in fdinfo: map_mem_usage() since Linux 6.4). */
static uint64_t map_memory(int fd)
{
	char path[64], line[128];
	unsigned long long bytes = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &bytes) == 1)
			break;
	if (f)
		fclose(f);
	return bytes;
}

/* Of the exact sets an array of maps holds. */
static uint64_t exact_memory(int outer)
{
	uint64_t bytes = 0;

	for (__u32 gen = 0; gen < 2; gen++) {
		__u32 id;
		int fd;

		if (bpf_map_lookup_elem(outer, &gen, &id) || (fd = bpf_map_get_fd_by_id(id)) < 0)
			continue;
		bytes += map_memory(fd);
		close(fd);
	}
	return bytes;
}

static uint32_t max_entries(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

int axdp_policy_usage(const char *pin_dir, struct axdp_policy_usage *u, char *err, size_t errlen)
{
	struct axdp_policy_maps m;
	struct axdp_policy pol;

	memset(u, 0, sizeof(*u));
	if (axdp_policy_open(&m, pin_dir, err, errlen))
		return -1;
	if (policy_get(&m, &pol, err, errlen)) {
		axdp_policy_close(&m);
		return -1;
	}
	u->deny_entries = pol.deny_entries;
	u->deny_generation = pol.deny_generation;
	u->trust_entries = pol.trust_entries;
	u->local_addrs = pol.local_addrs;
	u->deny_max = max_entries(m.deny[0]);
	u->trust_max = max_entries(m.trust);
	u->local_max = max_entries(m.local_addrs);
	u->deny_bytes = map_memory(m.deny[0]) + map_memory(m.deny[1]) + map_memory(m.deny_state) +
			exact_memory(m.deny_exact[0]) + exact_memory(m.deny_exact[1]) + map_memory(m.deny_clear) +
			map_memory(m.bans);
	u->trust_bytes = map_memory(m.trust);
	axdp_policy_close(&m);
	return 0;
}
