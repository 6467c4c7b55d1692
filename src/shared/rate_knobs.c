// SPDX-License-Identifier: MIT
#include <unistd.h>
#include <arpa/inet.h>
#include "rate_knobs.h"

/*
 * Per-port budgets have no burst key: a tenth of a second's worth, well
 * above the 4 ms steps of the coarse clock the data path reads.
 */
#define BUDGET_TOLERANCE_NS (AXDP_NSEC_PER_SEC / 10)

struct axdp_rate axdp_gcra(uint64_t per_s, uint64_t burst)
{
	struct axdp_rate r = { 0 };

	if (!per_s)
		return r;
	r.interval_ns = AXDP_NSEC_PER_SEC / per_s;
	if (!r.interval_ns)
		r.interval_ns = 1;
	r.tolerance_ns = r.interval_ns * (burst > 1 ? burst - 1 : 0);
	return r;
}

/* per_s shared by ncpus CPUs: each gets per_s / ncpus, rounded by whole nanoseconds of interval. */
static struct axdp_rate per_cpu(uint64_t per_s, uint64_t burst, unsigned int ncpus)
{
	struct axdp_rate r = { 0 };

	if (!per_s)
		return r;
	r.interval_ns = (uint64_t)ncpus * AXDP_NSEC_PER_SEC / per_s;
	if (!r.interval_ns)
		return r; /* more than 1e9 units per second per CPU: beyond what the clock can count, off */
	burst = (burst + ncpus - 1) / ncpus;
	r.tolerance_ns = burst ? r.interval_ns * (burst - 1) : BUDGET_TOLERANCE_NS;
	return r;
}

static void prefix_mask(struct axdp_addr *m, unsigned int from_bit, unsigned int prefix)
{
	for (unsigned int w = 0; w < 4; w++) {
		unsigned int lo = w * 32, bits = prefix + from_bit > lo ? prefix + from_bit - lo : 0;

		m->w[w] = htonl(bits >= 32 ? 0xffffffffu : bits ? ~0u << (32 - bits) : 0);
	}
}

void axdp_rate_knobs(struct axdp_knobs *k, const struct axdp_config *cfg, unsigned int ncpus)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	if (!ncpus)
		ncpus = online > 0 ? (unsigned int)online : 1;
	k->drop_martians = cfg->drop_martians;
	k->trust_opens_tcp = cfg->trust_opens_all_tcp;
	k->dhcp_client = cfg->allow_dhcp_client;
	k->syn[AXDP_TIER_NORMAL] = axdp_gcra(cfg->syn_per_s, cfg->syn_burst);
	k->syn[AXDP_TIER_STRICT] = axdp_gcra(cfg->strict_syn_per_s, cfg->strict_syn_burst);
	k->syn[AXDP_TIER_UNLIMITED] = (struct axdp_rate){ 0 };
	k->udp_source = axdp_gcra(cfg->udp_per_s, cfg->udp_burst);
	/* burst 0: the budget's own tolerance. */
	k->udp_port_packets = per_cpu(cfg->udp_port_packets_per_s, 0, ncpus);
	k->udp_port_bytes = per_cpu(cfg->udp_port_bytes_per_s, 0, ncpus);
	k->icmp_echo = per_cpu(cfg->icmp_echo_per_s, cfg->icmp_echo_burst, ncpus);
	/* v4-mapped: the ::ffff: part stays, so IPv4 and IPv6 sources never share a bucket. */
	prefix_mask(&k->source_mask_v4, 96, cfg->source_prefix_v4);
	prefix_mask(&k->source_mask_v6, 0, cfg->source_prefix_v6);
}
