// SPDX-License-Identifier: MIT
/*
 * The decision tree as autoxdpd(8) states it, one check after
 * the other in the documented order; see dpmodel.h.  Written for clarity,
 * not speed: plain byte offsets, every length checked where the text says
 * "cut short" or "past".
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "dpmodel.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8

#define P_HOPOPTS 0
#define P_ICMP 1
#define P_TCP 6
#define P_UDP 17
#define P_ROUTING 43
#define P_FRAGMENT 44
#define P_AH 51
#define P_ICMPV6 58
#define P_DSTOPTS 60

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void mapped(uint8_t out[16], const uint8_t *v4)
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

static bool is_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, prefix, 12);
}

static bool in_prefix(const uint8_t a[16], const uint8_t net[16], unsigned prefix)
{
	for (unsigned bit = 0; bit < prefix; bit++)
		if ((a[bit / 8] ^ net[bit / 8]) & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static bool in_list(const struct dpm_cidr *l, size_t n, const uint8_t a[16], bool v4)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].v4 == v4 && in_prefix(a, l[i].addr, l[i].prefix))
			return true;
	return false;
}

static bool is_local(const struct dpm_state *s, const uint8_t a[16])
{
	for (size_t i = 0; i < s->nlocal; i++)
		if (!memcmp(s->local[i], a, 16))
			return true;
	return false;
}

/* 0/8, 127/8, 224/4, 240/4; ::, ::1, ff00::/8, ::ffff:0:0/96 (a v4-mapped source in an IPv6 header). */
static bool martian(const uint8_t a[16], bool v4)
{
	static const uint8_t zero[16], loop6[16] = { [15] = 1 };

	if (v4)
		return a[12] == 0 || a[12] == 127 || a[12] >= 224;
	return !memcmp(a, zero, 16) || !memcmp(a, loop6, 16) || a[0] == 0xff || is_mapped(a);
}

/* Destination port open for the destination address. */
static bool port_open(const struct dpm_state *s, uint8_t proto, uint16_t port, const uint8_t dst[16])
{
	for (size_t i = 0; i < s->nopen; i++)
		if (s->open[i].proto == proto && s->open[i].port == port && (s->open[i].any || !memcmp(s->open[i].addr, dst, 16)))
			return true;
	return false;
}

static bool flow(const struct dpm_state *s, uint8_t proto, const uint8_t local[16], uint16_t lport,
		 const uint8_t remote[16], uint16_t rport)
{
	for (size_t i = 0; i < s->nflows; i++) {
		const struct dpm_flow *f = &s->flows[i];

		if (f->proto == proto && f->local_port == lport && f->remote_port == rport && !memcmp(f->local, local, 16) &&
		    !memcmp(f->remote, remote, 16))
			return true;
	}
	return false;
}

/* One IP packet as far as the tree needs it. */
struct ip {
	bool v4;
	uint8_t src[16], dst[16];
	uint8_t proto;           /* after the IPv6 extension headers */
	const uint8_t *l4;       /* transport header */
	size_t l4_len;           /* bytes of it within the IP length */
	const uint8_t *frame_end;
	bool first_fragment, later_fragment;   /* offset 0 with more to come; offset > 0 */
	uint32_t frag_id;
	uint8_t frag_proto;      /* the protocol a fragment's datagram carries */
	bool ext_headers;        /* IPv6: any extension header */
};

enum ip_parse { IP_OK, IP_V4_MALFORMED, IP_V6_MALFORMED, IP_V6_CHAIN };

static bool ext_type(uint8_t t)
{
	return t == P_HOPOPTS || t == P_ROUTING || t == P_DSTOPTS || t == P_AH || t == P_FRAGMENT;
}

/* IPv4 at p, avail bytes of frame from there. */
static enum ip_parse parse_v4(const uint8_t *p, size_t avail, struct ip *ip)
{
	size_t ihl, tot;
	uint16_t frag;

	if (avail < 20 || p[0] >> 4 != 4 || (p[0] & 15) < 5)
		return IP_V4_MALFORMED;
	ihl = (size_t)(p[0] & 15) * 4;
	tot = be16(p + 2);
	frag = be16(p + 6);
	if (tot < ihl || tot > avail || ihl > avail || (frag & 0x8000))
		return IP_V4_MALFORMED;
	memset(ip, 0, sizeof(*ip));
	ip->v4 = true;
	mapped(ip->src, p + 12);
	mapped(ip->dst, p + 16);
	ip->proto = ip->frag_proto = p[9];
	ip->l4 = p + ihl;
	ip->l4_len = tot - ihl;
	ip->frame_end = p + avail;
	ip->later_fragment = (frag & 0x1fff) != 0;
	ip->first_fragment = !ip->later_fragment && (frag & 0x2000);
	ip->frag_id = be16(p + 4);
	return IP_OK;
}

static enum ip_parse parse_v6(const uint8_t *p, size_t avail, struct ip *ip)
{
	size_t plen, off = 40, end;
	uint8_t next;
	int n = 0;
	bool frag_seen = false;

	if (avail < 40 || p[0] >> 4 != 6)
		return IP_V6_MALFORMED;
	plen = be16(p + 4);
	if (plen == 0 || 40 + plen > avail)
		return IP_V6_MALFORMED;
	memset(ip, 0, sizeof(*ip));
	memcpy(ip->src, p + 8, 16);
	memcpy(ip->dst, p + 24, 16);
	end = 40 + plen;
	next = p[6];
	while (ext_type(next)) {
		size_t hlen;

		if (++n > 8)
			return IP_V6_CHAIN;
		if (next == P_HOPOPTS && n != 1)
			return IP_V6_CHAIN;
		if (off + 8 > end)   /* every extension header is at least 8 bytes */
			return IP_V6_CHAIN;
		if (next == P_FRAGMENT) {
			uint16_t fo = be16(p + off + 2);

			if (frag_seen)
				return IP_V6_CHAIN;
			frag_seen = true;
			hlen = 8;
			/* An atomic fragment (offset 0, no more) is a whole packet (RFC 6946). */
			ip->later_fragment = (fo >> 3) != 0;
			ip->first_fragment = !ip->later_fragment && (fo & 1);
			ip->frag_id = be32(p + off + 4);
			ip->frag_proto = p[off];
			/* Behind a later fragment's fragment header is data, not headers. */
			if (ip->later_fragment) {
				ip->proto = p[off];
				ip->l4 = p + off + 8;
				ip->l4_len = end - off - 8;
				ip->frame_end = p + avail;
				return IP_OK;
			}
		} else if (next == P_AH) {
			hlen = ((size_t)p[off + 1] + 2) * 4;
		} else {
			hlen = ((size_t)p[off + 1] + 1) * 8;
		}
		if (off + hlen > end)
			return IP_V6_CHAIN;
		ip->ext_headers = true;
		next = p[off];
		off += hlen;
	}
	ip->proto = next;
	if (!frag_seen)
		ip->frag_proto = next;
	ip->l4 = p + off;
	ip->l4_len = end - off;
	ip->frame_end = p + avail;
	return IP_OK;
}

/*
 * The quoted packet of an ICMP error: was it one the host sent (an open port's reply or a flow's packet)?
 * q runs to the end of the frame: the quote is read as far as the frame goes.  A quote cut short of its
 * IP header (IHL below 5 too), of the TCP or UDP ports or of an ICMP header is malformed.
 */
static const char *icmp_error(const struct dpm_state *s, const struct ip *outer, const uint8_t *q, size_t qlen)
{
	const uint8_t *l4;
	size_t l4_len;
	uint8_t src[16], dst[16], proto;

	if (outer->v4) {
		size_t ihl;

		if (qlen < 20 || (q[0] & 15) < 5)
			return "icmp_malformed";
		/* A later fragment's ports cannot be read: it passes. */
		if (be16(q + 6) & 0x1fff)
			return "icmp_error";
		ihl = (size_t)(q[0] & 15) * 4;
		mapped(src, q + 12);
		mapped(dst, q + 16);
		proto = q[9];
		l4 = q + ihl;
		l4_len = ihl <= qlen ? qlen - ihl : 0;
	} else {
		if (qlen < 40)
			return "icmp_malformed";
		memcpy(src, q + 8, 16);
		memcpy(dst, q + 24, 16);
		proto = q[6];
		l4 = q + 40;
		l4_len = qlen - 40;
	}
	if (proto == P_TCP || proto == P_UDP) {
		uint16_t sport, dport;

		if (l4_len < 4)
			return "icmp_malformed";
		sport = be16(l4);
		dport = be16(l4 + 2);
		if (port_open(s, proto, sport, src) || flow(s, proto, src, sport, dst, dport))
			return "icmp_error";
		return "icmp_error_unmatched";
	}
	if (proto == P_ICMP || proto == P_ICMPV6) {
		if (l4_len < 8)
			return "icmp_malformed";
		return flow(s, proto, src, be16(l4 + 4), dst, 0) ? "icmp_error" : "icmp_error_unmatched";
	}
	/* IPv6: extension headers (or anything else) stand before the ports, which cannot be read. */
	return outer->v4 ? "icmp_error_unmatched" : "icmp_error";
}

static const char *icmp(const struct dpm_state *s, const struct ip *ip)
{
	const uint8_t *h = ip->l4;
	uint8_t t;

	if (ip->l4_len < 8)
		return "icmp_malformed";
	t = h[0];
	if (ip->v4 ? (t == 3 || t == 11 || t == 12) : (t >= 1 && t <= 4))
		return icmp_error(s, ip, h + 8, (size_t)(ip->frame_end - (h + 8)));
	if (t == (ip->v4 ? 8 : 128))
		return "icmp_echo_request";
	if (t == (ip->v4 ? 0 : 129))
		return flow(s, ip->proto, ip->dst, be16(h + 4), ip->src, 0) ? "icmp_echo_reply" : "icmp_other";
	if (!ip->v4 && ((t >= 133 && t <= 136) || (t >= 130 && t <= 132) || t == 143))
		return "icmpv6_ndp_mld";
	return "icmp_other";
}

static const char *tcp(const struct dpm_state *s, const struct ip *ip)
{
	const uint8_t *h = ip->l4;
	uint8_t flags, doff;
	uint16_t sport, dport;
	bool syn, ack;

	if (ip->l4_len < 20)
		return "tcp_malformed";
	sport = be16(h);
	dport = be16(h + 2);
	doff = h[12] >> 4;
	flags = h[13];
	syn = flags & 0x02;
	ack = flags & 0x10;
	if (doff < 5 || (size_t)doff * 4 > ip->l4_len || (flags & 0x3f) == 0 || (flags & 0x29) == 0x29 ||
	    (syn && (flags & 0x05)) || sport == 0 || dport == 0)
		return "tcp_malformed";
	if (port_open(s, P_TCP, dport, ip->dst)) {
		if (s->drop_martians && is_local(s, ip->src))
			return "martian_source";
		return "tcp_port_open";
	}
	if (s->trust_opens_tcp && in_list(s->trust, s->ntrust, ip->src, is_mapped(ip->src)))
		return "trusted_source";
	if (syn && !ack)
		return "tcp_port_closed";
	if (flow(s, P_TCP, ip->dst, dport, ip->src, sport))
		return "tcp_conntrack";
	return "tcp_port_closed";
}

static const char *udp(const struct dpm_state *s, const struct ip *ip)
{
	const uint8_t *h = ip->l4;
	uint16_t sport, dport, ulen;
	static const uint8_t fe80[16] = { 0xfe, 0x80 };

	if (ip->l4_len < 8)
		return "udp_malformed";
	sport = be16(h);
	dport = be16(h + 2);
	ulen = be16(h + 4);
	if (ulen < 8 || (!ip->first_fragment && ulen > ip->l4_len) || sport == 0 || dport == 0)
		return "udp_malformed";
	if (port_open(s, P_UDP, dport, ip->dst)) {
		if (s->drop_martians && is_local(s, ip->src))
			return "martian_source";
		return "udp_port_open";
	}
	/* DHCP replies reach the client whatever it listens with (raw sockets open no port). */
	if (s->dhcp_reply && ((ip->v4 && sport == 67 && dport == 68) ||
			      (!ip->v4 && sport == 547 && dport == 546 && in_prefix(ip->src, fe80, 10))))
		return "dhcp_reply";
	if (flow(s, P_UDP, ip->dst, dport, ip->src, sport))
		return "udp_conntrack";
	return "udp_port_closed";
}

static void remember_first_fragment(struct dpm_state *s, const struct ip *ip)
{
	struct dpm_frag f = { .id = ip->frag_id, .proto = ip->frag_proto };
	size_t cap = sizeof(s->frags) / sizeof(s->frags[0]);

	memcpy(f.src, ip->src, 16);
	memcpy(f.dst, ip->dst, 16);
	if (s->nfrags == cap) {
		memmove(s->frags, s->frags + 1, (cap - 1) * sizeof(f));
		s->nfrags--;
	}
	s->frags[s->nfrags++] = f;
}

static bool first_fragment_passed(const struct dpm_state *s, const struct ip *ip)
{
	for (size_t i = 0; i < s->nfrags; i++) {
		const struct dpm_frag *f = &s->frags[i];

		if (f->id == ip->frag_id && f->proto == ip->frag_proto && !memcmp(f->src, ip->src, 16) &&
		    !memcmp(f->dst, ip->dst, 16))
			return true;
	}
	return false;
}

static bool is_pass(const char *reason)
{
	static const char *const passes[] = { "non_ip", "tcp_port_open", "tcp_conntrack", "udp_port_open",
					      "udp_conntrack", "icmp_error", "icmp_echo_request", "icmp_echo_reply",
					      "icmpv6_ndp_mld", "fragment_follows", "trusted_source", "dhcp_reply" };

	for (size_t i = 0; i < sizeof(passes) / sizeof(passes[0]); i++)
		if (!strcmp(reason, passes[i]))
			return true;
	return false;
}

static const char *judge_ip(struct dpm_state *s, struct ip *ip)
{
	const char *r;

	/* A v4-mapped IPv6 source is the IPv4 address to the lists (and a martian below). */
	if (in_list(s->deny, s->ndeny, ip->src, is_mapped(ip->src)))
		return "denied_source";
	/* :: is where DAD and MLD come from before an address exists. */
	if (s->drop_martians && martian(ip->src, ip->v4)) {
		static const uint8_t zero[16];

		if (ip->v4 || memcmp(ip->src, zero, 16) || ip->proto != P_ICMPV6)
			return "martian_source";
	}
	if (ip->later_fragment)
		return first_fragment_passed(s, ip) ? "fragment_follows" : "fragment_orphan";
	if (ip->proto == P_TCP)
		r = tcp(s, ip);
	else if (ip->proto == P_UDP)
		r = udp(s, ip);
	else if (ip->proto == (ip->v4 ? P_ICMP : P_ICMPV6))
		r = icmp(s, ip);
	else
		r = "protocol_other";
	if (ip->first_fragment && is_pass(r))
		remember_first_fragment(s, ip);
	return r;
}

const char *dpm_judge(struct dpm_state *s, const uint8_t *frame, size_t len, bool *pass)
{
	size_t off = 12;
	uint16_t type;
	struct ip ip;
	enum ip_parse r;
	const char *reason;
	int tags = 0;

	if (len < 14) {
		reason = "l2_malformed";
		goto out;
	}
	type = be16(frame + 12);
	while (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		if (++tags > 2) {
			reason = "vlan_too_deep";
			goto out;
		}
		if (off + 2 + 4 > len) {
			reason = "l2_malformed";
			goto out;
		}
		off += 4;
		type = be16(frame + off);
	}
	off += 2;
	if (type != ETH_P_IPV4 && type != ETH_P_IPV6) {
		reason = "non_ip";
		goto out;
	}
	r = type == ETH_P_IPV4 ? parse_v4(frame + off, len - off, &ip) : parse_v6(frame + off, len - off, &ip);
	static const char *const parse_reasons[] = { [IP_V4_MALFORMED] = "ipv4_malformed",
						     [IP_V6_MALFORMED] = "ipv6_malformed",
						     [IP_V6_CHAIN] = "ipv6_exthdr_chain" };
	reason = r == IP_OK ? judge_ip(s, &ip) : parse_reasons[r];
out:
	*pass = is_pass(reason);
	return reason;
}

/* ---- scapy-like description ---- */

struct out {
	char *buf;
	size_t len, used;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->used >= o->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->used += (size_t)n;
}

static void addr(char *buf, const uint8_t *a, bool v4)
{
	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a, buf, 64);
}

static void describe_l4(struct out *o, uint8_t proto, bool v4, const uint8_t *h, size_t n)
{
	if (proto == P_TCP && n >= 14)
		put(o, "/TCP(sport=%u, dport=%u, flags=0x%02x, dataofs=%u)", be16(h), be16(h + 2), h[13], h[12] >> 4);
	else if (proto == P_UDP && n >= 6)
		put(o, "/UDP(sport=%u, dport=%u, len=%u)", be16(h), be16(h + 2), be16(h + 4));
	else if ((proto == P_ICMP && v4) || (proto == P_ICMPV6 && !v4)) {
		if (n >= 8)
			put(o, "/%s(type=%u, code=%u, id=%u)", v4 ? "ICMP" : "ICMPv6", h[0], h[1], be16(h + 4));
		else if (n >= 2)
			put(o, "/%s(type=%u, code=%u)", v4 ? "ICMP" : "ICMPv6", h[0], h[1]);
	} else
		put(o, "/Raw(proto=%u)", proto);
	if (n > 8 && proto != P_TCP && proto != P_UDP)
		put(o, "/Raw(%zu bytes)", n - 8);
}

static void describe_ip(struct out *o, const uint8_t *p, size_t n, int depth)
{
	char s[64], d[64];

	if (n >= 20 && p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4;
		uint16_t frag = be16(p + 6);

		addr(s, (uint8_t[16]){ [10] = 0xff, [11] = 0xff, p[12], p[13], p[14], p[15] }, true);
		addr(d, (uint8_t[16]){ [10] = 0xff, [11] = 0xff, p[16], p[17], p[18], p[19] }, true);
		put(o, "/IP(src=%s, dst=%s, ihl=%zu, len=%u, id=%u, flags=0x%x, frag=%u, proto=%u)", s, d, ihl / 4,
		    be16(p + 2), be16(p + 4), frag >> 13, frag & 0x1fff, p[9]);
		if (ihl >= 20 && ihl <= n) {
			if (depth == 0 && p[9] == P_ICMP && n - ihl >= 8 && (p[ihl] == 3 || p[ihl] == 11 || p[ihl] == 12)) {
				put(o, "/ICMP(type=%u, code=%u)/IPerror", p[ihl], p[ihl + 1]);
				describe_ip(o, p + ihl + 8, n - ihl - 8, 1);
			} else {
				describe_l4(o, p[9], true, p + ihl, n - ihl);
			}
		}
	} else if (n >= 40 && p[0] >> 4 == 6) {
		size_t off = 40;
		uint8_t next = p[6];

		addr(s, p + 8, false);
		addr(d, p + 24, false);
		put(o, "/IPv6(src=%s, dst=%s, plen=%u, nh=%u)", s, d, be16(p + 4), next);
		for (int i = 0; i < 10 && ext_type(next) && off + 8 <= n; i++) {
			size_t hlen = next == P_FRAGMENT ? 8 : next == P_AH ? ((size_t)p[off + 1] + 2) * 4
									   : ((size_t)p[off + 1] + 1) * 8;

			if (next == P_FRAGMENT)
				put(o, "/IPv6ExtHdrFragment(offset=%u, m=%u, id=%u, nh=%u)", be16(p + off + 2) >> 3,
				    be16(p + off + 2) & 1, be32(p + off + 4), p[off]);
			else
				put(o, "/%s(len=%zu, nh=%u)", next == P_HOPOPTS ? "IPv6ExtHdrHopByHop" : next == P_ROUTING ?
				    "IPv6ExtHdrRouting" : next == P_AH ? "AH" : "IPv6ExtHdrDestOpt", hlen, p[off]);
			next = p[off];
			off += hlen;
		}
		if (off <= n) {
			if (depth == 0 && next == P_ICMPV6 && n - off >= 8 && p[off] >= 1 && p[off] <= 4) {
				put(o, "/ICMPv6(type=%u, code=%u)/IPerror6", p[off], p[off + 1]);
				describe_ip(o, p + off + 8, n - off - 8, 1);
			} else {
				describe_l4(o, next, false, p + off, n - off);
			}
		}
	} else {
		put(o, "/Raw(%zu bytes%s)", n, depth ? " quoted" : "");
	}
}

void dpm_describe(const uint8_t *frame, size_t len, char *buf, size_t buflen)
{
	struct out o = { buf, buflen, 0 };
	size_t off = 12;
	uint16_t type;

	buf[0] = '\0';
	if (len < 14) {
		put(&o, "Raw(%zu bytes)", len);
		return;
	}
	put(&o, "Ether(type=0x%04x)", be16(frame + 12));
	type = be16(frame + 12);
	for (int i = 0; i < 4 && (type == ETH_P_8021Q || type == ETH_P_8021AD) && off + 6 <= len; i++) {
		put(&o, "/%s(vlan=%u, type=0x%04x)", type == ETH_P_8021Q ? "Dot1Q" : "Dot1AD", be16(frame + off + 2) & 0xfff,
		    be16(frame + off + 4));
		off += 4;
		type = be16(frame + off);
	}
	off += 2;
	if (off <= len && (type == ETH_P_IPV4 || type == ETH_P_IPV6))
		describe_ip(&o, frame + off, len - off, 0);
	put(&o, "  [%zu bytes]", len);
}
