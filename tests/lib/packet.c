// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "packet.h"

#define ETH_HLEN 14
#define IPV6_HLEN 40
#define TCP_HLEN 20
#define UDP_HLEN 8
#define ICMP_HLEN 8
#define FRAG6_HLEN 8

static const uint8_t local_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t remote_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("packet builder: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static void put16(uint8_t *at, uint16_t v)
{
	at[0] = v >> 8;
	at[1] = v & 0xff;
}

static void put32(uint8_t *at, uint32_t v)
{
	put16(at, v >> 16);
	put16(at + 2, v & 0xffff);
}

static uint16_t get16(const uint8_t *at)
{
	return (uint16_t)(at[0] << 8 | at[1]);
}

static void parse_addr(int family, const char *s, void *out)
{
	if (inet_pton(family, s, out) != 1)
		die("'%s' is not an IPv%d address", s, family == AF_INET ? 4 : 6);
}

/* Zeroed room for n more bytes at the end. */
static uint8_t *append(struct pkt *p, size_t n)
{
	uint8_t *at = p->data + p->len;

	if (p->trailer)
		die("header pushed behind link padding (pkt_shorten_ip comes last)");
	if (n > PKT_MAX - p->len)
		die("%zu bytes do not fit behind %zu (PKT_MAX %d)", n, p->len, PKT_MAX);
	memset(at, 0, n);
	p->len += n;
	return at;
}

/* Writes a header's protocol number into the header before it. */
static void announce(struct pkt *p, enum pkt_next kind, uint16_t value)
{
	if (p->next_kind != kind)
		die("protocol 0x%x pushed where the packet has no %s field to announce it", value,
		    kind == PKT_NEXT_ETHERTYPE ? "ethertype" : "IP protocol");
	if (kind == PKT_NEXT_ETHERTYPE)
		put16(p->data + p->next_off, value);
	else
		p->data[p->next_off] = (uint8_t)value;
	p->next_kind = PKT_NEXT_NONE;
}

static void expect_next(struct pkt *p, size_t off, enum pkt_next kind)
{
	p->next_off = off;
	p->next_kind = kind;
}

static uint32_t sum_bytes(uint32_t sum, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += get16(b + i);
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The pseudo header of RFC 793 / RFC 8200 8.1, summed. */
static uint32_t pseudo_sum(const struct pkt *p, uint32_t l4_len)
{
	const uint8_t *ip = p->data + p->l3_off;
	uint32_t sum;

	if (p->ip_version == 4)
		sum = sum_bytes(0, ip + 12, 8);
	else
		sum = sum_bytes(0, ip + 8, 32);
	return sum + p->l4_proto + (l4_len & 0xffff) + (l4_len >> 16);
}

static void ipv4_header_checksum(struct pkt *p)
{
	uint8_t *ip = p->data + p->l3_off;

	put16(ip + 10, 0);
	put16(ip + 10, fold(sum_bytes(0, ip, p->l3_hlen)));
}

/* Brings lengths and checksums in line with what has been pushed. */
static void refresh(struct pkt *p)
{
	size_t end = p->len - p->trailer;
	uint8_t *l4 = p->data + p->l4_off;
	size_t l4_len, csum_at;
	uint16_t csum;

	if (p->ip_version == 4) {
		put16(p->data + p->l3_off + 2, (uint16_t)(end - p->l3_off));
		ipv4_header_checksum(p);
	} else if (p->ip_version == 6) {
		put16(p->data + p->l3_off + 4, (uint16_t)(end - p->l3_off - IPV6_HLEN));
	}
	if (p->l4_off == PKT_NONE || p->fragment)
		return;
	l4_len = end - p->l4_off;
	switch (p->l4_proto) {
	case IPPROTO_TCP:
		csum_at = 16;
		break;
	case IPPROTO_UDP:
		put16(l4 + 4, (uint16_t)l4_len);
		csum_at = 6;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		csum_at = 2;
		break;
	default:
		return;
	}
	put16(l4 + csum_at, 0);
	csum = fold(sum_bytes(p->l4_proto == IPPROTO_ICMP ? 0 : pseudo_sum(p, l4_len), l4, l4_len));
	/* UDP sends zero for "no checksum", so a computed zero goes out as all ones. */
	if (p->l4_proto == IPPROTO_UDP && csum == 0)
		csum = 0xffff;
	put16(l4 + csum_at, csum);
}

void pkt_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->l3_off = p->l4_off = p->unfrag_end = p->unfrag_next_off = PKT_NONE;
}

void pkt_eth(struct pkt *p)
{
	uint8_t *eth;

	if (p->len)
		die("Ethernet must be the first header");
	eth = append(p, ETH_HLEN);
	memcpy(eth, local_mac, 6);
	memcpy(eth + 6, remote_mac, 6);
	expect_next(p, 12, PKT_NEXT_ETHERTYPE);
}

void pkt_vlan(struct pkt *p, uint16_t tpid, uint16_t vid)
{
	uint8_t *tag;

	announce(p, PKT_NEXT_ETHERTYPE, tpid);
	tag = append(p, 4);
	put16(tag, vid & 0x0fff);
	expect_next(p, (size_t)(tag + 2 - p->data), PKT_NEXT_ETHERTYPE);
}

void pkt_arp_request(struct pkt *p, const char *sender, const char *target)
{
	uint8_t *arp;

	announce(p, PKT_NEXT_ETHERTYPE, 0x0806);
	arp = append(p, 28);
	put16(arp, 1);          /* Ethernet */
	put16(arp + 2, 0x0800); /* IPv4 */
	arp[4] = 6;
	arp[5] = 4;
	put16(arp + 6, 1);      /* request */
	memcpy(arp + 8, remote_mac, 6);
	parse_addr(AF_INET, sender, arp + 14);
	parse_addr(AF_INET, target, arp + 24);
}

static void begin_l3(struct pkt *p, uint8_t version, uint16_t ethertype, size_t hlen)
{
	if (p->ip_version)
		die("one IP header per packet");
	announce(p, PKT_NEXT_ETHERTYPE, ethertype);
	p->ip_version = version;
	p->l3_off = p->len;
	p->l3_hlen = hlen;
}

void pkt_ipv4(struct pkt *p, const struct pkt_ipv4_opts *o)
{
	size_t opt_room = (o->options_len + 3) & ~(size_t)3;
	uint16_t frag = o->frag_offset & 0x1fff;
	uint8_t *ip;

	begin_l3(p, 4, 0x0800, 20 + opt_room);
	ip = append(p, p->l3_hlen);
	ip[0] = (uint8_t)((o->version ? o->version : 4) << 4 | (o->ihl ? o->ihl : p->l3_hlen / 4));
	put16(ip + 4, o->id);
	frag |= (o->reserved_flag ? 0x8000 : 0) | (o->dont_fragment ? 0x4000 : 0) | (o->more_fragments ? 0x2000 : 0);
	put16(ip + 6, frag);
	ip[8] = o->ttl ? o->ttl : 64;
	parse_addr(AF_INET, o->src ? o->src : PKT_REMOTE4, ip + 12);
	parse_addr(AF_INET, o->dst ? o->dst : PKT_LOCAL4, ip + 16);
	if (o->options_len)
		memcpy(ip + 20, o->options, o->options_len);
	p->fragment = o->frag_offset || o->more_fragments;
	expect_next(p, p->l3_off + 9, PKT_NEXT_IPPROTO);
	refresh(p);
}

void pkt_ipv6(struct pkt *p, const struct pkt_ipv6_opts *o)
{
	uint8_t *ip;

	begin_l3(p, 6, 0x86dd, IPV6_HLEN);
	ip = append(p, IPV6_HLEN);
	ip[0] = (uint8_t)((o->version ? o->version : 6) << 4);
	ip[7] = o->hop_limit ? o->hop_limit : 64;
	parse_addr(AF_INET6, o->src ? o->src : PKT_REMOTE6, ip + 8);
	parse_addr(AF_INET6, o->dst ? o->dst : PKT_LOCAL6, ip + 24);
	p->unfrag_end = p->len;
	p->unfrag_next_off = p->l3_off + 6;
	expect_next(p, p->l3_off + 6, PKT_NEXT_IPPROTO);
	refresh(p);
}

void pkt_ipv6_ext(struct pkt *p, uint8_t type, size_t len)
{
	size_t off = p->len;
	uint8_t *h;

	if (p->ip_version != 6)
		die("IPv6 extension header without an IPv6 header");
	if (type == IPPROTO_AH ? (len < 12 || len % 4) : (len < 8 || len % 8))
		die("extension header %u cannot be %zu bytes long", type, len);
	announce(p, PKT_NEXT_IPPROTO, type);
	h = append(p, len);
	h[1] = (uint8_t)(type == IPPROTO_AH ? len / 4 - 2 : len / 8 - 1);
	if (type == IPPROTO_HOPOPTS || type == IPPROTO_DSTOPTS) {
		h[2] = 1;       /* PadN over the rest: options a receiver must skip */
		h[3] = (uint8_t)(len - 4);
	} else if (type == IPPROTO_ROUTING) {
		h[2] = 253;     /* an experimental type with no segments left: ignored by receivers */
	}
	/* Headers every fragment repeats are the ones before any other (RFC 8200 4.5). */
	if ((type == IPPROTO_HOPOPTS || type == IPPROTO_ROUTING) && off == p->unfrag_end) {
		p->unfrag_end = p->len;
		p->unfrag_next_off = off;
	}
	expect_next(p, off, PKT_NEXT_IPPROTO);
	refresh(p);
}

void pkt_ipv6_frag(struct pkt *p, uint16_t offset8, bool more, uint32_t id)
{
	size_t off = p->len;
	uint8_t *h;

	if (p->ip_version != 6)
		die("IPv6 fragment header without an IPv6 header");
	announce(p, PKT_NEXT_IPPROTO, IPPROTO_FRAGMENT);
	h = append(p, FRAG6_HLEN);
	put16(h + 2, (uint16_t)(offset8 << 3 | (more ? 1 : 0)));
	put32(h + 4, id);
	p->fragment = offset8 || more;
	expect_next(p, off, PKT_NEXT_IPPROTO);
	refresh(p);
}

static uint8_t *begin_l4(struct pkt *p, uint8_t proto, size_t hlen)
{
	if (!p->ip_version)
		die("L4 protocol %u without an IP header", proto);
	announce(p, PKT_NEXT_IPPROTO, proto);
	p->l4_off = p->len;
	p->l4_proto = proto;
	return append(p, hlen);
}

void pkt_tcp(struct pkt *p, const struct pkt_tcp_opts *o)
{
	size_t hlen = TCP_HLEN + ((o->options_len + 3) & ~(size_t)3);
	uint8_t *th = begin_l4(p, IPPROTO_TCP, hlen);

	put16(th, o->sport);
	put16(th + 2, o->dport);
	put32(th + 4, o->seq);
	put32(th + 8, o->ack);
	th[12] = (uint8_t)((o->doff ? o->doff : hlen / 4) << 4);
	th[13] = o->flags;
	put16(th + 14, 65535);
	if (o->options_len)
		memcpy(th + TCP_HLEN, o->options, o->options_len);
	refresh(p);
}

void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint8_t *uh = begin_l4(p, IPPROTO_UDP, UDP_HLEN);

	put16(uh, sport);
	put16(uh + 2, dport);
	refresh(p);
}

void pkt_icmp(struct pkt *p, uint8_t type, uint8_t code, uint16_t echo_id, uint16_t echo_seq)
{
	uint8_t *ih = begin_l4(p, p->ip_version == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, ICMP_HLEN);

	ih[0] = type;
	ih[1] = code;
	put16(ih + 4, echo_id);
	put16(ih + 6, echo_seq);
	refresh(p);
}

void pkt_proto(struct pkt *p, uint8_t proto)
{
	announce(p, PKT_NEXT_IPPROTO, proto);
}

void pkt_payload(struct pkt *p, const void *data, size_t len)
{
	uint8_t *at = append(p, len);
	size_t i;

	if (data)
		memcpy(at, data, len);
	else
		for (i = 0; i < len; i++)
			at[i] = (uint8_t)i;
	refresh(p);
}

void pkt_tcp4(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport, uint8_t flags)
{
	pkt_init(p);
	pkt_eth(p);
	pkt_ipv4(p, &(struct pkt_ipv4_opts){ .src = src, .dst = dst });
	pkt_tcp(p, &(struct pkt_tcp_opts){ .sport = sport, .dport = dport, .flags = flags, .seq = 1000 });
}

void pkt_tcp6(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport, uint8_t flags)
{
	pkt_init(p);
	pkt_eth(p);
	pkt_ipv6(p, &(struct pkt_ipv6_opts){ .src = src, .dst = dst });
	pkt_tcp(p, &(struct pkt_tcp_opts){ .sport = sport, .dport = dport, .flags = flags, .seq = 1000 });
}

void pkt_udp4(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	pkt_init(p);
	pkt_eth(p);
	pkt_ipv4(p, &(struct pkt_ipv4_opts){ .src = src, .dst = dst });
	pkt_udp(p, sport, dport);
	pkt_payload(p, NULL, 32);
}

void pkt_udp6(struct pkt *p, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	pkt_init(p);
	pkt_eth(p);
	pkt_ipv6(p, &(struct pkt_ipv6_opts){ .src = src, .dst = dst });
	pkt_udp(p, sport, dport);
	pkt_payload(p, NULL, 32);
}

static size_t fragment_head(const struct pkt *whole)
{
	return whole->ip_version == 4 ? whole->l3_off + whole->l3_hlen : whole->unfrag_end;
}

size_t pkt_fragmentable_len(const struct pkt *whole)
{
	if (!whole->ip_version)
		die("no IP datagram to fragment");
	return whole->len - whole->trailer - fragment_head(whole);
}

void pkt_fragment(struct pkt *out, const struct pkt *whole, size_t off, size_t len, bool more, uint32_t id)
{
	size_t head = fragment_head(whole);
	size_t payload = pkt_fragmentable_len(whole);
	uint8_t *ip, *fh;

	if (!whole->ip_version || whole->fragment)
		die("only a whole IP datagram can be fragmented");
	if (off % 8 || off + len > payload || (more && len % 8))
		die("fragment [%zu, +%zu) of a %zu-byte payload: offsets are multiples of 8 inside it", off, len, payload);
	pkt_init(out);
	memcpy(append(out, head), whole->data, head);
	out->ip_version = whole->ip_version;
	out->l3_off = whole->l3_off;
	out->l3_hlen = whole->l3_hlen;
	out->fragment = true;
	ip = out->data + out->l3_off;
	if (whole->ip_version == 4) {
		put16(ip + 4, (uint16_t)id);
		put16(ip + 6, (uint16_t)((get16(ip + 6) & 0x4000) | (more ? 0x2000 : 0) | off / 8));
	} else {
		fh = append(out, FRAG6_HLEN);
		fh[0] = whole->data[whole->unfrag_next_off];
		out->data[whole->unfrag_next_off] = IPPROTO_FRAGMENT;
		put16(fh + 2, (uint16_t)(off | (more ? 1 : 0)));
		put32(fh + 4, id);
	}
	memcpy(append(out, len), whole->data + head + off, len);
	if (off == 0 && whole->l4_off != PKT_NONE) {
		out->l4_off = whole->l4_off + (whole->ip_version == 6 ? FRAG6_HLEN : 0);
		out->l4_proto = whole->l4_proto;
	}
	refresh(out);
}

void pkt_set_ip_len(struct pkt *p, uint16_t len)
{
	if (!p->ip_version)
		die("no IP header to set the length of");
	put16(p->data + p->l3_off + (p->ip_version == 4 ? 2 : 4), len);
	if (p->ip_version == 4)
		ipv4_header_checksum(p);
}

void pkt_set_udp_len(struct pkt *p, uint16_t len)
{
	if (p->l4_proto != IPPROTO_UDP)
		die("no UDP header to set the length of");
	put16(p->data + p->l4_off + 4, len);
}

void pkt_pad(struct pkt *p, size_t frame_len)
{
	size_t trailer = p->trailer, n = frame_len > p->len ? frame_len - p->len : 0;

	p->trailer = 0;
	append(p, n);
	p->trailer = trailer + n;
}

void pkt_shorten_ip(struct pkt *p, size_t n)
{
	size_t ip_len = p->len - p->trailer - p->l3_off;

	if (!p->ip_version || n > ip_len)
		die("cannot end the IP datagram %zu bytes early", n);
	pkt_set_ip_len(p, (uint16_t)(ip_len - n - (p->ip_version == 6 ? IPV6_HLEN : 0)));
	p->trailer += n;
}

void pkt_truncate(struct pkt *p, size_t len)
{
	if (len > p->len)
		die("truncating a %zu-byte packet to %zu grows it", p->len, len);
	p->len = len;
	p->trailer = 0;
}
