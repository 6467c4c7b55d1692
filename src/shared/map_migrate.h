/* SPDX-License-Identifier: MIT */
/*
 * Upgrades that change a pinned map.  The maps are pinned by name, and a
 * pin whose map no longer matches the object's definition (type, key or
 * value size, capacity, flags) would make the load fail.  Instead the
 * object gets a fresh map, the old one's entries are carried over, and
 * the fresh map takes over the pin, while the old programs keep running
 * on the old maps until the new programs are swapped into their links:
 *
 *   plan      before bpf_object__load: such maps are unpinned in the
 *             object, so libbpf creates them anew instead of failing
 *   apply     after a successful load: entries copied, the new maps
 *             pinned in place of the old (one rename each, all or none)
 *   finish    after the new programs are in every link: what the old
 *             programs wrote meanwhile (flows, counts) is carried over,
 *             and the old maps are let go
 *
 * A failure before apply's renames leaves every pin as it was: the old
 * programs and maps stay in force.  Entries that cannot be carried over
 * (a changed key layout, a value that shrank, a capacity too small) are
 * left behind and the report says so: the daemon rebuilds the allow-lists
 * and seeds conntrack from sock_diag after every load.
 */
#ifndef AXDP_MAP_MIGRATE_H
#define AXDP_MAP_MIGRATE_H

#include <stddef.h>

struct bpf_object;
struct axdp_migration;

/*
 * *out: NULL when every pinned map fits the object (or none is pinned yet),
 * else the maps to take over.  -1 with err when a pin cannot be read.
 */
int axdp_migration_plan(struct bpf_object *obj, struct axdp_migration **out, char *err, size_t errlen);

/*
 * Copies the old maps into the object's new ones and moves the pins.
 * report gets one "; "-separated clause per map: what was carried over,
 * what was left behind and why.
 */
int axdp_migration_apply(struct axdp_migration *m, char *report, size_t reportlen, char *err, size_t errlen);

/* Carries over what the old programs wrote after apply; the old maps are closed.  Best effort. */
void axdp_migration_finish(struct axdp_migration *m);

/* Closes whatever m still holds; NULL is fine. */
void axdp_migration_free(struct axdp_migration *m);

#endif
