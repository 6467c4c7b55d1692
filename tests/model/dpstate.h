/* SPDX-License-Identifier: MIT */
/*
 * The map state the differential fuzzer and its kept cases run against,
 * built the same way into the real object (through the daemon's policy
 * code and tc egress) and into the model: open ports on some addresses
 * only, the host's addresses, deny and trust entries, flows the host
 * opened (TCP, UDP, echo requests, sent through the egress program).
 * Rate limits stay off (see dpmodel.h); TrustOpensAllTCP and DropMartians
 * are on.  Free of any test framework: 0, or -1 with err.
 */
#ifndef AXDP_TEST_DPSTATE_H
#define AXDP_TEST_DPSTATE_H

#include <stddef.h>
#include "datapath.h"
#include "dpmodel.h"
#include "policy.h"

struct dpstate {
	struct dpt t;
	struct axdp_policy_maps m;
	struct dpm_state model;
	uint64_t counted[AXDP_REASON_COUNT];   /* slot 0 (test runs have no interface slot), last read */
	void *percpu;                          /* scratch for one batch read */
	const char *last_reason;               /* of the last frame compared, when both agreed */
};

/* The addresses and ports frames are made of: the state's and a few others. */
extern const char *const dpstate_remote4[], *const dpstate_remote6[], *const dpstate_local4[], *const dpstate_local6[];
extern const size_t dpstate_nremote4, dpstate_nremote6, dpstate_nlocal4, dpstate_nlocal6;
extern const uint16_t dpstate_ports[];
extern const size_t dpstate_nports;
extern const uint16_t dpstate_echo_ids[];
extern const size_t dpstate_necho_ids;

int dpstate_setup(struct dpstate *d, char *err, size_t errlen);
/* The egress packets again (flows stay fresh) and both fragment tables emptied (no timeout is reached). */
int dpstate_refresh(struct dpstate *d, char *err, size_t errlen);
void dpstate_teardown(struct dpstate *d);

/* frame through the object and the model: 0 when verdict and reason agree, else -1 with both in why. */
int dpstate_compare(struct dpstate *d, const uint8_t *frame, size_t len, char *why, size_t whylen);

#endif
