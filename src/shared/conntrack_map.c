// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "conntrack_map.h"

#define BATCH 4096

bool axdp_flow_key_is_v4(const struct axdp_flow_key *key)
{
	return axdp_addr_v4_mapped(&key->remote) && axdp_addr_v4_mapped(&key->local);
}

struct axdp_flow4_key axdp_flow4_key_of(const struct axdp_flow_key *key)
{
	return (struct axdp_flow4_key){ .remote = key->remote.w[3],
					.local = key->local.w[3],
					.ports = axdp_flow4_ports(key->remote_port, key->local_port),
					.proto = key->proto };
}

static struct axdp_flow_key from_v4(const struct axdp_flow4_key *k4)
{
	struct axdp_flow_key key = { .proto = (__u8)k4->proto };

	key.remote.w[2] = key.local.w[2] = AXDP_V4_MAPPED_W2;
	key.remote.w[3] = k4->remote;
	key.local.w[3] = k4->local;
	/* ports lies in memory as remote_port, local_port do in axdp_flow_key. */
	memcpy(&key.remote_port, &k4->ports, sizeof(k4->ports));
	return key;
}

bool axdp_conntrack_open(const struct axdp_conntrack *ct)
{
	return ct->fd >= 0 && ct->fd4 >= 0;
}

void axdp_conntrack_close(struct axdp_conntrack *ct)
{
	if (ct->fd >= 0)
		close(ct->fd);
	if (ct->fd4 >= 0)
		close(ct->fd4);
	ct->fd = ct->fd4 = -1;
}

int axdp_conntrack_lookup(const struct axdp_conntrack *ct, const struct axdp_flow_key *key, struct axdp_flow *flow)
{
	struct axdp_flow4_key k4;

	if (!axdp_flow_key_is_v4(key))
		return bpf_map_lookup_elem(ct->fd, key, flow);
	k4 = axdp_flow4_key_of(key);
	return bpf_map_lookup_elem(ct->fd4, &k4, flow);
}

int axdp_conntrack_update(const struct axdp_conntrack *ct, const struct axdp_flow_key *key,
			  const struct axdp_flow *flow, __u64 flags)
{
	struct axdp_flow4_key k4;

	if (!axdp_flow_key_is_v4(key))
		return bpf_map_update_elem(ct->fd, key, flow, flags);
	k4 = axdp_flow4_key_of(key);
	return bpf_map_update_elem(ct->fd4, &k4, flow, flags);
}

typedef int (*each_fn)(const struct axdp_flow_key *key, const struct axdp_flow *flow, void *ctx);

static int visit(bool v4, const void *key, const struct axdp_flow *flow, each_fn each, void *ctx)
{
	struct axdp_flow_key k;

	if (!v4)
		return each(key, flow, ctx);
	k = from_v4(key);
	return each(&k, flow, ctx);
}

/* One map's entries: in batches, key by key where the kernel has no batch ops. */
static int walk(int fd, bool v4, each_fn each, void *ctx)
{
	size_t ks = v4 ? sizeof(struct axdp_flow4_key) : sizeof(struct axdp_flow_key);
	char *keys = calloc(BATCH, ks), *prev = calloc(2, ks);
	struct axdp_flow *vals = calloc(BATCH, sizeof(*vals)), f;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 in = 0, out = 0;
	bool first = true, done = false;
	int rc = 0;

	if (!keys || !prev || !vals)
		rc = -1, errno = ENOMEM, done = true;
	while (!done) {
		__u32 count = BATCH;
		int r = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &opts);

		if (r && errno != ENOENT) {
			if (first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP))
				break;
			rc = -1;
			break;
		}
		for (__u32 i = 0; i < count && rc == 0; i++)
			rc = visit(v4, keys + i * ks, &vals[i], each, ctx);
		done = r != 0 || rc;
		in = out;
		first = false;
	}
	if (!done && rc == 0 && first) {
		char *key = prev, *next = prev + ks;
		void *from = NULL;

		while (rc == 0 && bpf_map_get_next_key(fd, from, next) == 0) {
			memcpy(key, next, ks);
			from = key;
			if (bpf_map_lookup_elem(fd, key, &f) == 0)
				rc = visit(v4, key, &f, each, ctx);
		}
		if (rc == 0 && errno != ENOENT)
			rc = -1;
	}
	free(keys);
	free(prev);
	free(vals);
	return rc;
}

int axdp_conntrack_foreach(const struct axdp_conntrack *ct, each_fn each, void *ctx)
{
	int rc = walk(ct->fd4, true, each, ctx);

	return rc ? rc : walk(ct->fd, false, each, ctx);
}

static int count_one(const struct axdp_flow_key *key, const struct axdp_flow *flow, void *ctx)
{
	(void)key, (void)flow;
	++*(long *)ctx;
	return 0;
}

long axdp_conntrack_count(const struct axdp_conntrack *ct)
{
	long n = 0;

	return axdp_conntrack_foreach(ct, count_one, &n) ? -1 : n;
}

struct carry {
	const struct axdp_conntrack *ct;
	bool forget;
	long copied;
};

static int carry_one(const struct axdp_flow_key *key, const struct axdp_flow *flow, void *ctx)
{
	struct carry *c = ctx;
	struct axdp_flow4_key k4;

	if (!axdp_flow_key_is_v4(key))
		return 0;
	k4 = axdp_flow4_key_of(key);
	if (bpf_map_update_elem(c->ct->fd4, &k4, flow, BPF_NOEXIST) == 0)
		c->copied++;
	if (c->forget)
		bpf_map_delete_elem(c->ct->fd, key);
	return 0;
}

long axdp_conntrack_carry_v4(const struct axdp_conntrack *ct, bool forget)
{
	struct carry c = { .ct = ct, .forget = forget };

	return walk(ct->fd, false, carry_one, &c) ? -1 : c.copied;
}
