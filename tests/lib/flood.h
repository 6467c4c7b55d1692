/* SPDX-License-Identifier: MIT */
/*
 * A packet generator for flood tests: an AF_PACKET socket in the client
 * namespace of a netns_pair writes IPv4 TCP or UDP frames with spoofed,
 * varying sources straight onto the client's veth (sendmmsg, qdisc
 * bypassed, about 1 Mpps here).  The peer runs the receiver's NAPI, XDP
 * included, on the sending CPU, so nearly nothing is lost before XDP;
 * what veth does drop shows in the sender's tx_dropped (flood_link_stats).
 *
 * Frames only ever go to the peer of the veth given, inside namespaces
 * the test made.  Free of any test framework; 0 or -1 with err.
 */
#ifndef AXDP_TEST_FLOOD_H
#define AXDP_TEST_FLOOD_H

#include <stddef.h>
#include <stdint.h>
#include "netns.h"

struct flood {
	int fd;
	int ifindex;
	uint8_t src_mac[6], dst_mac[6];
};

enum flood_kind {
	FLOOD_SYN,
	FLOOD_ACK,
	FLOOD_UDP,
};

struct flood_spec {
	enum flood_kind kind;
	uint32_t src;           /* first source address, host order */
	uint32_t src_count;     /* sources src .. src + src_count - 1, drawn at random; 0 or 1: src alone */
	uint32_t dst;           /* host order */
	uint16_t dport_lo, dport_hi;   /* destination ports drawn from this range */
	uint64_t count;         /* frames to send */
	uint32_t pps;           /* paced to this rate; 0: as fast as the socket takes them */
	double max_seconds;     /* stops early after this long; 0: no limit */
	uint64_t seed;          /* 0: a fixed one */
};

struct flood_result {
	uint64_t sent;          /* frames the socket accepted */
	/*
	 * Frames the device refused (sendmmsg stopped at them): veth counts
	 * each in the sender's tx_dropped although it was never sent, so
	 * tx_dropped - refused is what veth dropped of everything else.
	 */
	uint64_t refused;
	double seconds;
};

/* The socket on p's client veth, aimed at the server veth's MAC address. */
int flood_open(struct flood *f, const struct netns_pair *p, char *err, size_t errlen);
void flood_close(struct flood *f);

int flood_send(struct flood *f, const struct flood_spec *s, struct flood_result *r, char *err, size_t errlen);
/* One Ethernet frame as built (tests/lib/packet.h, any protocol), its MAC addresses replaced by the pair's. */
int flood_send_frame(struct flood *f, const void *frame, size_t len, char *err, size_t errlen);

/* The interface counters of ifname inside the named namespace. */
struct flood_link_stats {
	uint64_t rx_packets, tx_packets, rx_dropped, tx_dropped;
};

int flood_link_stats(const char *netns, const char *ifname, struct flood_link_stats *st, char *err, size_t errlen);

/* TCP segments the named namespace's stack sent: OutSegs + RetransSegs of /proc/net/snmp. */
int flood_tcp_segments_out(const char *netns, uint64_t *segs, char *err, size_t errlen);

uint32_t flood_ip4(const char *dotted);

#endif
