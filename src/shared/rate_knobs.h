/* SPDX-License-Identifier: MIT */
/*
 * [Policy] and [RateLimit] as the data path's knobs: rates become GCRA
 * intervals and tolerances (bpf/rate_limit.h), prefixes become masks.
 */
#ifndef AXDP_RATE_KNOBS_H
#define AXDP_RATE_KNOBS_H

#include "config.h"

/*
 * One unit every 1e9 / per_s ns, and burst units at once; per_s 0 is
 * off (interval 0, which the verifier prunes).
 */
struct axdp_rate axdp_gcra(uint64_t per_s, uint64_t burst);

/*
 * Fills the source policy and rate limit knobs of k from cfg.  Per-port
 * UDP budgets and the echo limit are kept per CPU, so each of ncpus
 * (the CPUs receiving packets; 0: the online CPUs) gets the
 * configured rate / ncpus.
 */
void axdp_rate_knobs(struct axdp_knobs *k, const struct axdp_config *cfg, unsigned int ncpus);

#endif
