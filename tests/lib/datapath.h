/* SPDX-License-Identifier: MIT */
/*
 * The real data path object, loaded into a pin directory of this process
 * alone and driven through BPF_PROG_TEST_RUN: nothing is attached to any
 * interface.  Free of any test framework, so the bench links it too.
 * Functions return 0 or -errno; dpt_load leaves a message in t->err.
 */
#ifndef AXDP_TEST_DATAPATH_H
#define AXDP_TEST_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "loader.h"
#include "packet.h"

#define DPT_OBJECT_ENV "AXDP_BPF_OBJECT"
#define DPT_OBJECT_DEFAULT "build/autoxdp.bpf.o"

struct dpt {
	struct axdp_datapath dp;
	int counters, port_allow, addr_allow, fragments, fragments4;   /* map fds */
	struct axdp_conntrack conntrack;
	int ncpus;
	char err[512];
};

enum dpt_hook {
	DPT_XDP,
	DPT_TC,
};

/* No counter moved, or more than one packet was counted. */
#define DPT_REASON_NONE (-1)
#define DPT_REASON_MANY (-2)

/* What one packet did: the program's return value and the counter it moved. */
struct dpt_outcome {
	int err;            /* of the test run itself */
	int retval;         /* XDP_* or TC_ACT_* (TC_ACT_UNSPEC is -1) */
	int reason;         /* enum axdp_reason, or DPT_REASON_NONE / DPT_REASON_MANY */
	uint64_t packets;   /* counted across all reasons: 1 when all is well */
};

/*
 * knobs NULL: AXDP_KNOBS_DEFAULT.  The pin directory is
 * /sys/fs/bpf/axdp-test-<pid>; a failed load leaves nothing behind.
 */
int dpt_load(struct dpt *t, const struct axdp_knobs *knobs);
/* Closes and removes the pins; safe on a fixture that failed to load. */
void dpt_unload(struct dpt *t);

struct dpt_outcome dpt_run(struct dpt *t, enum dpt_hook hook, const struct pkt *p);
/*
 * 0 if p through hook returned retval and counted exactly one packet, under
 * reason; otherwise -1 with what happened instead in why.
 */
int dpt_expect(struct dpt *t, enum dpt_hook hook, const struct pkt *p, int retval, int reason,
	       char *why, size_t whylen);
/* repeat runs in one syscall; *ns_per_run is the kernel's average. */
int dpt_run_repeat(struct dpt *t, enum dpt_hook hook, const struct pkt *p, uint32_t repeat,
		   int *retval, uint32_t *ns_per_run);
int dpt_prog_run_repeat(int prog_fd, const struct pkt *p, uint32_t repeat, int *retval, uint32_t *ns_per_run);

/* Packets counted for each reason, summed over the CPUs. */
int dpt_counts(struct dpt *t, uint64_t counts[AXDP_REASON_COUNT]);
const char *dpt_reason_name(int reason);
/* "pass tcp_port_open", for messages. */
const char *dpt_reason_label(int reason);

/* Allow-list: open on any local address, on one address only, or close again. */
int dpt_port_open(struct dpt *t, enum axdp_l4 l4, uint16_t port);
int dpt_port_open_on(struct dpt *t, enum axdp_l4 l4, uint16_t port, const char *local);
/* Open on any local address of one family (4 or 6), as a listener on 0.0.0.0 or on :: with IPV6_V6ONLY. */
int dpt_port_open_family(struct dpt *t, enum axdp_l4 l4, uint16_t port, int family);
int dpt_port_close(struct dpt *t, enum axdp_l4 l4, uint16_t port);
/* Open on any local address, new connections rate limited as tier (dpt_port_open: AXDP_TIER_NORMAL). */
int dpt_port_open_tier(struct dpt *t, enum axdp_l4 l4, uint16_t port, enum axdp_tier tier);

/* An IPv4 or IPv6 address as the maps hold it (IPv4 v4-mapped); aborts on a bad string. */
struct axdp_addr dpt_addr(const char *s);
/* The key an inbound packet remote:rport -> local:lport of the flow looks up; ports host order. */
struct axdp_flow_key dpt_flow_key(uint8_t proto, const char *remote, uint16_t rport, const char *local, uint16_t lport);
int dpt_flow_get(struct dpt *t, const struct axdp_flow_key *key, struct axdp_flow *flow);
/* The index of the slot of the flow's copy (bpf/flows.h) under the data path's hash key, in its family's table. */
int dpt_flow_copy_slot(const struct axdp_flow_key *key, const __u32 *hash_key);
/* 1 and *copy when the flow's slot holds its copy, 0 when it holds another or none, or -errno. */
int dpt_flow_copy(struct dpt *t, const struct axdp_flow_key *key, const __u32 *hash_key, struct axdp_flow *copy);
/* Writes the entry and clears the data path's copies of all entries (bpf/flows.h), which would outlive it. */
int dpt_flow_put(struct dpt *t, const struct axdp_flow_key *key, const struct axdp_flow *flow);
/* Forgets every admitted datagram: both fragments maps and the IPv6 copies (bpf/state.h).  0 or -errno. */
int dpt_frags_forget(struct dpt *t);
/* Entries in conntrack / fragments of both families, or -errno. */
long dpt_flow_count(struct dpt *t);
long dpt_frag_count(struct dpt *t);

#endif
