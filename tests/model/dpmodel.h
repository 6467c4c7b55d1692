/* SPDX-License-Identifier: MIT */
/*
 * A reference model of the ingress decision tree, written from README.md's
 * "The decision tree" and autoxdpd(8)'s DECISION TREE, not from bpf/: the
 * differential fuzzer (tests/fuzz/dpfuzz.c) runs every frame through it
 * and through the real object and compares verdict and reason.
 *
 * Rate limits are not modelled: the fuzz state keeps them off (interval 0,
 * AXDP_KNOBS_DEFAULT), so the syn/udp/icmp rate reasons never apply.
 * Addresses are 16 bytes, IPv4 v4-mapped (::ffff:a.b.c.d).
 */
#ifndef AXDP_TEST_DPMODEL_H
#define AXDP_TEST_DPMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DPM_MAX 64

struct dpm_cidr {
	uint8_t addr[16];
	uint8_t prefix;        /* of the 128 bits: IPv4 entries are /96 + their prefix */
	bool v4;               /* an IPv4 entry: covers IPv4 sources only, an IPv6 one IPv6 sources only */
};

struct dpm_open {
	uint8_t proto;         /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;
	bool any;              /* wildcard listener */
	uint8_t addr[16];      /* else: open on this local address only */
};

/* A flow the host opened (tc egress saw its first packet): TCP, UDP, or an echo request (port: identifier). */
struct dpm_flow {
	uint8_t proto;         /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 */
	uint8_t local[16], remote[16];
	uint16_t local_port, remote_port;   /* echo: the identifier in local_port, remote_port 0 */
};

/* The first fragment of a datagram passed. */
struct dpm_frag {
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t proto;
};

struct dpm_state {
	bool drop_martians, trust_opens_tcp;
	bool dhcp_reply;       /* the object knows the dhcp_reply reason: model the DHCP client pass */
	struct dpm_cidr deny[DPM_MAX], trust[DPM_MAX];
	size_t ndeny, ntrust;
	uint8_t local[DPM_MAX][16];
	size_t nlocal;
	struct dpm_open open[DPM_MAX];
	size_t nopen;
	struct dpm_flow flows[DPM_MAX];
	size_t nflows;
	struct dpm_frag frags[4096];
	size_t nfrags;         /* oldest dropped when full */
};

/*
 * The reason name ("tcp_port_open", "vlan_too_deep", ...) the decision tree
 * gives frame; *pass says the verdict.  A first fragment that passes is
 * remembered in s, as the data path remembers it.
 */
const char *dpm_judge(struct dpm_state *s, const uint8_t *frame, size_t len, bool *pass);

/* What frame is, in scapy's notation: Ether()/Dot1Q(vlan=5)/IP(src=..., dst=...)/TCP(...). */
void dpm_describe(const uint8_t *frame, size_t len, char *buf, size_t buflen);

#endif
