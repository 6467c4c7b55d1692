/* SPDX-License-Identifier: MIT */
/*
 * A packet builder for the data-path tests and the bench.  Headers are
 * pushed outermost first; each push writes its protocol number into the
 * header before it (ethertype, IPv4 protocol, IPv6 next header) and
 * brings every length and checksum up to date, so a packet is valid after
 * any push.  Deliberate damage (wrong lengths, truncation, trailing bytes)
 * is applied last and touches only what it names.
 *
 * Misuse (overflow, a header with no IP layer to sit on, a bad address
 * string) is a bug in the test, so it aborts with a message instead of
 * returning an error every caller would have to check.
 */
#ifndef AXDP_TEST_PACKET_H
#define AXDP_TEST_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A page minus XDP head- and tailroom still holds this much. */
#define PKT_MAX 1500

/* Addresses of the documentation ranges, so no test ever names a real host. */
#define PKT_LOCAL4  "192.0.2.10"
#define PKT_REMOTE4 "198.51.100.7"
#define PKT_OTHER4  "192.0.2.99"      /* a second local address */
#define PKT_LOCAL6  "2001:db8::10"
#define PKT_REMOTE6 "2001:db8:ffff::7"
#define PKT_OTHER6  "2001:db8::99"

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20

#define PKT_NONE SIZE_MAX

/* The kind of field a header announces the next one in. */
enum pkt_next {
	PKT_NEXT_NONE,
	PKT_NEXT_ETHERTYPE,
	PKT_NEXT_IPPROTO,
};

struct pkt {
	uint8_t data[PKT_MAX];
	size_t len;
	size_t trailer;         /* bytes after the IP datagram (link padding) */
	/* The field the next pushed header announces itself in. */
	size_t next_off;
	enum pkt_next next_kind;
	uint8_t ip_version;     /* 0 until an IP header is pushed */
	size_t l3_off, l3_hlen; /* IPv4 header with options, or the fixed IPv6 header */
	size_t unfrag_end;      /* IPv6: end of the headers every fragment repeats */
	size_t unfrag_next_off; /* IPv6: the next-header field a fragment header goes behind */
	size_t l4_off;
	uint8_t l4_proto;       /* IPPROTO_TCP/UDP/ICMP/ICMPV6, or 0 for none we checksum */
	bool fragment;          /* L4 checksum would need the whole datagram: leave it */
};

struct pkt_ipv4_opts {
	const char *src, *dst;  /* NULL: PKT_REMOTE4 -> PKT_LOCAL4 (inbound) */
	uint16_t id;
	uint16_t frag_offset;   /* in 8-byte units */
	bool more_fragments, dont_fragment, reserved_flag;
	uint8_t ttl;            /* 0: 64 */
	uint8_t version;        /* 0: 4 */
	uint8_t ihl;            /* 0: from options_len */
	const uint8_t *options; /* padded with EOL to a multiple of 4 */
	size_t options_len;
};

struct pkt_ipv6_opts {
	const char *src, *dst;  /* NULL: PKT_REMOTE6 -> PKT_LOCAL6 (inbound) */
	uint8_t hop_limit;      /* 0: 64 */
	uint8_t version;        /* 0: 6 */
};

struct pkt_tcp_opts {
	uint16_t sport, dport;
	uint8_t flags;          /* PKT_TCP_* */
	uint32_t seq, ack;
	uint8_t doff;           /* 0: from options_len */
	const uint8_t *options; /* padded with EOL to a multiple of 4 */
	size_t options_len;
};

void pkt_init(struct pkt *p);

/* Link layer. */
void pkt_eth(struct pkt *p);
void pkt_vlan(struct pkt *p, uint16_t tpid, uint16_t vid);   /* tpid: 0x8100 or 0x88a8 */
void pkt_arp_request(struct pkt *p, const char *sender, const char *target);

/* Network layer. */
void pkt_ipv4(struct pkt *p, const struct pkt_ipv4_opts *o);
void pkt_ipv6(struct pkt *p, const struct pkt_ipv6_opts *o);
/*
 * Hop-by-hop (0), routing (43), destination options (60): len a multiple
 * of 8, at least 8; AH (51): a multiple of 4, at least 12.
 */
void pkt_ipv6_ext(struct pkt *p, uint8_t type, size_t len);
void pkt_ipv6_frag(struct pkt *p, uint16_t offset8, bool more, uint32_t id);

/* Transport layer: ICMP or ICMPv6 as the IP layer demands. */
void pkt_tcp(struct pkt *p, const struct pkt_tcp_opts *o);
void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport);
void pkt_icmp(struct pkt *p, uint8_t type, uint8_t code, uint16_t echo_id, uint16_t echo_seq);
/* Announces proto in the pending next-header field with nothing parsed behind it (GRE, ESP, 59, 253). */
void pkt_proto(struct pkt *p, uint8_t proto);
/* data NULL: a counting pattern. */
void pkt_payload(struct pkt *p, const void *data, size_t len);

/* Whole packets, outermost to innermost, for the common cases. */
void pkt_tcp4(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport, uint8_t flags);
void pkt_tcp6(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport, uint8_t flags);
void pkt_udp4(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport);
void pkt_udp6(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport);

/* Bytes of whole's L3 payload that fragments divide: after the headers each fragment repeats. */
size_t pkt_fragmentable_len(const struct pkt *whole);
/*
 * Fragment [off, off + len) of whole's L3 payload (after the IPv6
 * headers every fragment repeats) into out, with whole's checksums:
 * off a multiple of 8.  IPv4 sets the fragment fields, IPv6 inserts a
 * fragment header.
 */
void pkt_fragment(struct pkt *out, const struct pkt *whole, size_t off, size_t len, bool more, uint32_t id);

/* Damage, applied last: each writes only its own field (and the IPv4 header checksum). */
void pkt_set_ip_len(struct pkt *p, uint16_t len);   /* IPv4 tot_len or IPv6 payload_len */
void pkt_set_udp_len(struct pkt *p, uint16_t len);
/* Zero link-layer padding after the datagram up to a frame of frame_len bytes (Ethernet's 60). */
void pkt_pad(struct pkt *p, size_t frame_len);
/* The datagram's last n bytes fall outside its IP length: they become link-layer padding. */
void pkt_shorten_ip(struct pkt *p, size_t n);
void pkt_truncate(struct pkt *p, size_t len);

#endif
