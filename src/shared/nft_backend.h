/* SPDX-License-Identifier: MIT */
/*
 * The nftables backend: the same policy as the XDP data path, for
 * interfaces where XDP cannot attach (Backend=auto) or is not wanted
 * (Backend=nftables).  autoxdp owns exactly one table, "table inet
 * autoxdp", and never reads or writes anything else of the ruleset.
 *
 * What changes often lives in sets and maps of that table: the open ports
 * (and, per port, the ingress stage's verdict), the (address, port) pairs
 * of listeners bound to one address, their rate
 * tiers, the denied networks (DenyCIDR=, DenyListFile=), the runtime
 * bans and the trusted networks (TrustCIDR=); a reconcile rewrites only
 * those, so the counters survive.  The chains (one ingress base chain per
 * interface, the rules, which follow Mode=, [RateLimit] and [Policy])
 * change only with the interfaces or a reload: then the table is
 * installed anew.  Each change is one nftables transaction (see
 * nft_backend.c for how), and every verdict has a named counter of the
 * XDP path's reason name.
 *
 * The input goes to the kernel through the nftables session
 * (nft_session.h): libnftables in process, else the nft program.
 */
#ifndef AXDP_NFT_BACKEND_H
#define AXDP_NFT_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <net/if.h>
#include "autoxdp_abi.h"
#include "config.h"
#include "ifaces.h"
#include "nft_session.h"
#include "portsync.h"

#define AXDP_NFT_FAMILY "inet"
#define AXDP_NFT_TABLE "autoxdp"
/* The set that lists the interfaces nftables protects: `nft list set inet autoxdp ifaces`. */
#define AXDP_NFT_SET_IFACES "ifaces"
/*
 * Prerouting, after conntrack (-200) so "ct state" works, before DNAT
 * (-100) so ports are judged as the packet arrived, as XDP judges them.
 */
#define AXDP_NFT_PRIORITY (-150)
/* Each protected interface's ingress hook: before everything else there, conntrack included. */
#define AXDP_NFT_INGRESS_PRIORITY (-500)

/* What the daemon keeps about the backend. */
/* At least the number of sets in the table (nft_backend.c checks). */
#define AXDP_NFT_SETS 40

struct axdp_nft {
	char ifaces[AXDP_MAX_IFACES][IF_NAMESIZE]; /* protected by nftables, in the ifaces set */
	int n;
	bool installed;    /* our table with this version's chains is in the kernel: updates touch sets only */
	bool absent;       /* our table is known not to exist */
	bool policy_stale; /* DenyCIDR=, DenyListFile=, TrustCIDR= may have changed (a reload): rewrite their sets */
	bool bans_stale;   /* the bans file may have changed: rewrite the banned sets */
	bool no_ingress;   /* the kernel has no inet ingress hook (before 5.10): every rule runs in prerouting */
	uint64_t chains;   /* hash of the installed chains: other chains mean a new table */
	/*
	 * A change writes only the sets whose elements differ from what was
	 * last written (one set, for a new listener), unless resend is set:
	 * the periodic reconcile writes every set, so one flushed from
	 * outside comes back.
	 */
	uint64_t sent[AXDP_NFT_SETS]; /* FNV-1a of each set's input as last written; 0: not known */
	bool resend;
	/* The counters of the table an install replaces, carried into the new one. */
	struct axdp_counter carry[AXDP_REASON_COUNT], carry_would[AXDP_REASON_COUNT];
};

/*
 * Source networks: denied ones are dropped first of all; trusted ones are
 * exempt from the per-source limits and, with TrustOpensAllTCP=, reach
 * every TCP port.
 */
struct axdp_nft_policy {
	const struct axdp_cidr_list *trust;
	const struct axdp_cidr_list *deny;
};

/* Runtime bans (bans.h) as of now (Unix seconds): each element gets the time its ban has left. */
struct axdp_ban;
struct axdp_nft_bans {
	const struct axdp_ban *v;
	size_t n;
	int64_t now;
};

/* 0 when nftables can be reached (the library or nft); else -1 and err names the package to install. */
int axdp_nft_available(char *err, size_t errlen);

bool axdp_nft_protects(const struct axdp_nft *nft, const char *ifname);
/* Adds or removes ifname in nft->ifaces; takes effect at the next axdp_nft_sync. */
int axdp_nft_add(struct axdp_nft *nft, const char *ifname, char *err, size_t errlen);
void axdp_nft_del(struct axdp_nft *nft, const char *ifname);

/*
 * Brings table inet autoxdp to nft->ifaces and ports, in one transaction:
 * the whole table when it is not installed yet (existing connections are
 * seeded then, as conntrack may have never seen them), its sets only
 * after that.  With no interface left the table is deleted.  cfg gives
 * the seeds' timeouts.
 */
int axdp_nft_sync(struct axdp_nft *nft, const struct axdp_port_state *ports, const struct axdp_config *cfg, char *err,
		  size_t errlen);

/*
 * The banned sets of table inet autoxdp made equal to bans, in one
 * transaction, by whoever changed the bans file, holding its lock (axdp
 * block, so a ban is in force when it returns; the daemon at each sync).
 * 0 also when there is no table; -1 with err.
 */
int axdp_nft_apply_bans(const struct axdp_nft_bans *bans, char *err, size_t errlen);

/* Deletes table inet autoxdp of the current network namespace, if there is one; nothing else. */
int axdp_nft_remove(char *err, size_t errlen);

/*
 * The interfaces nftables protects in the current network namespace (the
 * table's ifaces set), at most max; their count, 0 when there is no
 * table, -1 on error.  For `axdp status`.
 */
int axdp_nft_interfaces(char (*names)[IF_NAMESIZE], int max, char *err, size_t errlen);

/*
 * The table's counters, one per verdict reason of the XDP path
 * (bpf/autoxdp_abi.h), all interfaces on nftables together; would: the
 * drops Mode=audit let pass.  1 when read, 2 when read from a table in
 * Mode=audit, 0 when there is no table (or no nft), -1 with err.
 */
int axdp_nft_counters(struct axdp_counter counts[AXDP_REASON_COUNT], struct axdp_counter would[AXDP_REASON_COUNT],
		      char *err, size_t errlen);

/*
 * The nft input of a sync, without running it: the whole table (full)
 * or the set updates.  For tests and debugging.  seeds may be NULL; pol
 * or bans NULL leave their sets out of an update (empty in a full one).
 */
struct axdp_socket_set;
int axdp_nft_render(FILE *out, bool full, const struct axdp_nft *nft, const struct axdp_port_state *ports,
		    const struct axdp_socket_set *seeds, const struct axdp_nft_policy *pol,
		    const struct axdp_nft_bans *bans, const struct axdp_config *cfg);

/* Runs input as one transaction in the current network namespace; nft's messages go to err. */
int axdp_nft_run(const char *input, size_t len, char *err, size_t errlen);

#endif
