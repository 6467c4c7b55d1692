// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "port_tier.h"
#include "util.h"

/* A tier, or one of these for a listener whose process is not known (yet). */
enum { TIER_UNKNOWN = -1, TIER_NEW = -2 };

struct axdp_tier_seen {
	uint64_t inode;
	int tier;
};

static bool strict_name(const struct axdp_config *cfg, const char *comm)
{
	for (size_t i = 0; comm && i < cfg->strict_processes.n; i++)
		if (!strncmp(cfg->strict_processes.v[i], comm, AXDP_IFNAMSIZ - 1))
			return true;
	return false;
}

/* -1 when no port override applies. */
static int override(const struct axdp_config *cfg, uint16_t port)
{
	if (axdp_port_in(cfg->unlimited_tcp, port))
		return AXDP_TIER_UNLIMITED;
	if (axdp_port_in(cfg->strict_tcp, port))
		return AXDP_TIER_STRICT;
	return -1;
}

enum axdp_tier axdp_port_tier_of(const struct axdp_config *cfg, uint16_t port, const char *comm)
{
	int o = override(cfg, port);

	if (o >= 0)
		return (enum axdp_tier)o;
	return strict_name(cfg, comm) ? AXDP_TIER_STRICT : AXDP_TIER_NORMAL;
}

void axdp_port_tier_store(struct axdp_port_slot *slots, uint16_t port, enum axdp_tier tier)
{
	__u32 *t = &slots[AXDP_L4_TCP * AXDP_PORTS + port].tier;

	/* Never the whole slot: a hook may be OR-ing the flags beside it right now. */
	if (__atomic_load_n(t, __ATOMIC_RELAXED) != (__u32)tier)
		__atomic_store_n(t, (__u32)tier, __ATOMIC_RELAXED);
}

static int seen_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct axdp_tier_seen *)a)->inode, y = ((const struct axdp_tier_seen *)b)->inode;

	return (x > y) - (x < y);
}

static struct axdp_tier_seen *seen_find(const struct axdp_tier_cache *c, uint64_t inode)
{
	struct axdp_tier_seen key = { .inode = inode };

	return c->n ? bsearch(&key, c->v, c->n, sizeof(*c->v), seen_cmp) : NULL;
}

struct naming {
	const struct axdp_config *cfg;
	struct axdp_tier_cache *c;
};

static enum axdp_proc_walk name_listener(void *ctx, struct axdp_proc_socket *sock)
{
	const struct naming *nm = ctx;
	struct axdp_tier_seen *s = seen_find(nm->c, sock->inode);
	const char *comm;

	if (!s || s->tier != TIER_NEW)
		return AXDP_PROC_NEXT_FD;
	if (!(comm = axdp_proc_socket_comm(sock)))
		return AXDP_PROC_NEXT_PROCESS;
	s->tier = strict_name(nm->cfg, comm) ? AXDP_TIER_STRICT : AXDP_TIER_NORMAL;
	return AXDP_PROC_NEXT_FD;
}

/* One pass over /proc/PID/fd for every listener marked TIER_NEW; what no process holds becomes TIER_UNKNOWN. */
static void name_new_listeners(const struct axdp_config *cfg, struct axdp_tier_cache *c)
{
	struct naming nm = { cfg, c };

	axdp_proc_sockets(name_listener, &nm);
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].tier == TIER_NEW)
			c->v[i].tier = TIER_UNKNOWN;
}

void axdp_port_tiers_sync(struct axdp_port_slot *slots, const struct axdp_config *cfg,
			  const struct axdp_socket_set *socks, struct axdp_tier_cache *cache)
{
	struct axdp_tier_cache next = { .v = calloc(socks->n ? socks->n : 1, sizeof(*next.v)) };
	int *by_port = malloc(AXDP_PORTS * sizeof(*by_port));
	bool fresh = false;

	if (!next.v || !by_port) {
		free(next.v);
		free(by_port);
		return; /* the tiers stay as they are until a reconcile with memory to spare */
	}
	for (size_t i = 0; i < socks->n; i++) {
		const struct axdp_tier_seen *old;

		if (socks->v[i].proto != IPPROTO_TCP)
			continue;
		old = seen_find(cache, socks->v[i].inode);
		next.v[next.n].inode = socks->v[i].inode;
		next.v[next.n].tier = old ? old->tier : TIER_NEW;
		fresh |= !old;
		next.n++;
	}
	axdp_sort(next.v, next.n, sizeof(*next.v), seen_cmp);
	if (fresh)
		name_new_listeners(cfg, &next);

	/* Strict wins over normal among a port's listeners; a port of unknown listeners only keeps its tier. */
	for (uint32_t port = 0; port < AXDP_PORTS; port++)
		by_port[port] = TIER_NEW; /* no listener */
	for (size_t i = 0; i < socks->n; i++) {
		const struct axdp_tier_seen *s =
			socks->v[i].proto == IPPROTO_TCP ? seen_find(&next, socks->v[i].inode) : NULL;
		int *t = &by_port[socks->v[i].port];

		if (s && (s->tier == AXDP_TIER_STRICT || *t < 0))
			*t = s->tier == TIER_UNKNOWN && *t >= 0 ? *t : s->tier;
	}
	for (uint32_t port = 1; port < AXDP_PORTS; port++) {
		int o = override(cfg, (uint16_t)port), t = by_port[port];

		if (o >= 0)
			axdp_port_tier_store(slots, (uint16_t)port, (enum axdp_tier)o);
		else if (t == TIER_NEW)
			axdp_port_tier_store(slots, (uint16_t)port, AXDP_TIER_NORMAL);
		else if (t != TIER_UNKNOWN)
			axdp_port_tier_store(slots, (uint16_t)port, (enum axdp_tier)t);
	}
	free(by_port);
	axdp_tier_cache_free(cache);
	*cache = next;
}

void axdp_tier_cache_free(struct axdp_tier_cache *cache)
{
	free(cache->v);
	cache->v = NULL;
	cache->n = 0;
}
