// SPDX-License-Identifier: MIT
/*
 * The nftables backend.  How a change gets into the kernel, and why:
 *
 * Every change is one nft input, and nftables sends one input as one
 * netlink batch: one transaction, which the kernel commits whole or not
 * at all, so a packet meets either the old ruleset or the new one.
 *
 *  - Installing (daemon start, or the table went missing) sends
 *        table inet autoxdp {}            # exists now, if it did not
 *        delete table inet autoxdp        # so this never fails
 *        table inet autoxdp { ...sets, counters, chains... }
 *    A previous run's table, maybe of an older version, is replaced
 *    without a moment in between.
 *  - Every later reconcile sends "flush set" plus "add set" with the
 *    elements for each set it changes (render_set says why not "add
 *    element").  The chains stay, so the drop counters keep counting, and
 *    the work is proportional to the sets alone.  Chains that would differ
 *    (an interface came or went, a reload changed Mode= or a limit) mean
 *    installing anew, as above.
 *
 * How an input reaches the kernel is nft_session.c's business: through
 * libnftables in process when it can be loaded, else one `nft -f -` per
 * input.  The text is the same either way, exactly what an operator can
 * replay by hand with `nft -f`.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include "bans.h"
#include "denylist.h"
#include "errbuf.h"
#include "nft_backend.h"
#include "abi_names.h"
#include "nft_session.h"
#include "util.h"
#include "sockdiag.h"

#define NFT_OUT_MAX (64 * 1024)
#define T AXDP_NFT_FAMILY " " AXDP_NFT_TABLE
/* How long a local port the host's own UDP flows sent from stays in udp_flow_ports. */
#define FLOW_PORT_TIMEOUT_S 300
#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- running nft input (nft_session.c: how it reaches the kernel) ---- */

int axdp_nft_available(char *err, size_t errlen)
{
	return axdp_nft_session_available(err, errlen);
}

int axdp_nft_run(const char *input, size_t len, char *err, size_t errlen)
{
	return axdp_nft_session_run(input, len, NULL, 0, err, errlen);
}

/* ---- interfaces ---- */

bool axdp_nft_protects(const struct axdp_nft *nft, const char *ifname)
{
	for (int i = 0; i < nft->n; i++)
		if (strcmp(nft->ifaces[i], ifname) == 0)
			return true;
	return false;
}

int axdp_nft_add(struct axdp_nft *nft, const char *ifname, char *err, size_t errlen)
{
	if (axdp_nft_protects(nft, ifname))
		return 0;
	/* nft strings have no escapes; the kernel allows these characters in names. */
	if (strpbrk(ifname, "\"\\") || !*ifname || strlen(ifname) >= IF_NAMESIZE)
		return axdp_fail(err, errlen, "%s: this interface name cannot be written in an nftables set", ifname);
	if (nft->n == AXDP_MAX_IFACES)
		return axdp_fail(err, errlen, "%s: already %d interfaces protected", ifname, AXDP_MAX_IFACES);
	snprintf(nft->ifaces[nft->n++], IF_NAMESIZE, "%s", ifname);
	return 0;
}

void axdp_nft_del(struct axdp_nft *nft, const char *ifname)
{
	for (int i = 0; i < nft->n; i++)
		if (strcmp(nft->ifaces[i], ifname) == 0) {
			memmove(nft->ifaces[i], nft->ifaces[i + 1], (size_t)(nft->n - i - 1) * IF_NAMESIZE);
			nft->n--;
			return;
		}
}

/* ---- rendering ---- */

static void put_addr(FILE *out, const void *a16)
{
	char buf[AXDP_ADDR_STRLEN];

	axdp_addr_format(buf, sizeof(buf), a16);
	fputs(buf, out);
}

/* One set's elements, "elements = { ... }" in its declaration; nothing at all when there are none. */
struct elements {
	FILE *out;
	int n;
};

static void elem_begin(struct elements *e)
{
	if (e->n++ == 0) {
		fputs("\t\telements = { ", e->out);
	} else {
		fputs(", ", e->out);
		/* Long element lists stay readable in an error message, and lines short. */
		if (e->n % 16 == 0)
			fputs("\n\t\t\t", e->out);
	}
}

static void elem_end(struct elements *e)
{
	if (e->n)
		fputs(" }\n", e->out);
}

static void render_ifaces(struct elements *e, const struct axdp_nft *nft)
{
	for (int i = 0; i < nft->n; i++) {
		elem_begin(e);
		fprintf(e->out, "\"%s\"", nft->ifaces[i]);
	}
}

/*
 * The name of an interface's ingress base chain: "in_" and the name where
 * nft takes it as an identifier, else "inx_" and its bytes in hex.
 */
static void put_chain_name(FILE *out, const char *ifname)
{
	if (strspn(ifname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(ifname)) {
		fprintf(out, "in_%s", ifname);
		return;
	}
	fputs("inx_", out);
	for (const char *c = ifname; *c; c++)
		fprintf(out, "%02x", (unsigned char)*c);
}

/* Does network a hold network b?  Both IPv6-sized, bits past their prefix zero. */
static bool cidr_holds(const struct axdp_cidr *a, const struct axdp_cidr *b)
{
	return a->prefix <= b->prefix && axdp_cidr_contains(a, b->addr);
}

/* Ports with any of bits (open on every address of both families, or of one), as ranges of consecutive ports. */
static void render_any(struct elements *e, const struct axdp_port_state *ports, enum axdp_l4 l4, uint32_t bits)
{
	const uint32_t *f = ports ? ports->flags + (size_t)l4 * AXDP_PORTS : NULL;

	for (uint32_t p = 1; f && p < AXDP_PORTS; p++) {
		uint32_t end = p;

		if (!(f[p] & bits))
			continue;
		while (end + 1 < AXDP_PORTS && (f[end + 1] & bits))
			end++;
		elem_begin(e);
		if (end == p)
			fprintf(e->out, "%u", p);
		else
			fprintf(e->out, "%u-%u", p, end);
		p = end;
	}
}

/* Listeners bound to one address: that address and port, in the family's set. */
static void render_addr(struct elements *e, const struct axdp_port_state *ports, enum axdp_l4 l4, bool v4)
{
	for (size_t i = 0; ports && i < ports->n_addrs; i++) {
		const struct axdp_addr_port *ap = &ports->addrs[i];

		/* The slot says whether the data path would look: a pair left from a close does not count. */
		if (ap->l4 != l4 || axdp_addr_is_v4(&ap->local) != v4 || !ap->port ||
		    !(ports->flags[(size_t)l4 * AXDP_PORTS + ap->port] & AXDP_PORT_OPEN_ADDR))
			continue;
		elem_begin(e);
		put_addr(e->out, &ap->local);
		fprintf(e->out, " . %u", ap->port);
	}
}

/* Existing connections, so their next inbound packet passes before conntrack has seen them both ways. */
static void render_seeds(struct elements *e, const struct axdp_socket_set *seeds, const struct axdp_config *cfg,
			 bool v4)
{
	for (size_t i = 0; seeds && i < seeds->n; i++) {
		const struct axdp_socket *c = &seeds->v[i];

		if (axdp_addr_is_v4(c->addr) != v4 || !c->remote_port || !c->port)
			continue;
		elem_begin(e);
		fprintf(e->out, "%s . ", c->proto == IPPROTO_TCP ? "tcp" : "udp");
		put_addr(e->out, c->remote);
		fprintf(e->out, " . %u . ", c->remote_port);
		put_addr(e->out, c->addr);
		fprintf(e->out, " . %u timeout %us", c->port,
			c->proto == IPPROTO_TCP ? cfg->tcp_timeout_s : cfg->udp_timeout_s);
	}
}

/*
 * The local ports of the seeded UDP connections, each once, for as long as
 * its seed lives (at least the set's own timeout): their replies go on to
 * conntrack and the seeds as those of the host's later flows do.
 */
static void render_seed_ports(struct elements *e, const struct axdp_socket_set *seeds, const struct axdp_config *cfg)
{
	uint8_t seen[AXDP_PORTS / 8] = { 0 };
	unsigned int timeout = cfg->udp_timeout_s > FLOW_PORT_TIMEOUT_S ? cfg->udp_timeout_s : FLOW_PORT_TIMEOUT_S;

	for (size_t i = 0; seeds && i < seeds->n; i++) {
		const struct axdp_socket *c = &seeds->v[i];

		if (c->proto != IPPROTO_UDP || !c->remote_port || !c->port ||
		    (seen[c->port / 8] & (1u << (c->port % 8))))
			continue;
		seen[c->port / 8] |= (uint8_t)(1u << (c->port % 8));
		elem_begin(e);
		fprintf(e->out, "%u timeout %us", c->port, timeout);
	}
}

/* AllowDHCPClient=: the replies a client that binds no port must get (autoxdpd(8), DHCP clients); [0] IPv4. */
static const struct dhcp_reply {
	const char *from;
	unsigned int server, client; /* ports */
} dhcp_reply[2] = { { "meta nfproto ipv4", 67, 68 }, { "ip6 saddr fe80::/10", 547, 546 } };

/* What the ingress stage does with a packet to a port: the chain its element in tcp_ports4 ... udp_ports6 names. */
enum port_verdict {
	PORT_CLOSED,    /* no element: the closed port's rules follow the lookup */
	PORT_MALFORMED, /* port 0 */
	PORT_OPEN,      /* on every local address of the family */
	PORT_ADDR,      /* on some local addresses (the family's chain checks which), or the DHCP client's port */
};

static const char *const port_chain[AXDP_L4_COUNT][PORT_ADDR + 1] = {
	[AXDP_L4_TCP] = { NULL, "ingress_tcp_malformed", "ingress_syn_open", "ingress_syn_addr" },
	[AXDP_L4_UDP] = { NULL, "ingress_udp_malformed", "ingress_udp_open", "ingress_udp_addr" },
};

static enum port_verdict port_verdict(const struct axdp_port_state *ports, const struct axdp_config *cfg,
				      enum axdp_l4 l4, bool v4, uint32_t port)
{
	uint32_t f = ports ? ports->flags[(size_t)l4 * AXDP_PORTS + port] : 0;

	if (port == 0)
		return PORT_MALFORMED;
	if (f & (AXDP_PORT_OPEN_ANY | (v4 ? AXDP_PORT_OPEN_ANY4 : AXDP_PORT_OPEN_ANY6)))
		return PORT_OPEN;
	if ((f & AXDP_PORT_OPEN_ADDR) ||
	    (l4 == AXDP_L4_UDP && cfg->allow_dhcp_client && port == dhcp_reply[!v4].client))
		return PORT_ADDR;
	return PORT_CLOSED;
}

/* A family's port verdict map: ranges of consecutive ports with the same verdict, closed ones left out. */
static void render_ports(struct elements *e, const struct axdp_port_state *ports, const struct axdp_config *cfg,
			 enum axdp_l4 l4, bool v4)
{
	for (uint32_t p = 0; p < AXDP_PORTS; p++) {
		enum port_verdict v = port_verdict(ports, cfg, l4, v4, p);
		uint32_t end = p;

		if (v == PORT_CLOSED)
			continue;
		while (end + 1 < AXDP_PORTS && port_verdict(ports, cfg, l4, v4, end + 1) == v)
			end++;
		elem_begin(e);
		fprintf(e->out, end == p ? "%u" : "%u-%u", p, end);
		fprintf(e->out, " : goto %s", port_chain[l4][v]);
		if (v == PORT_ADDR)
			fputc(v4 ? '4' : '6', e->out);
		p = end;
	}
}

enum cidr_pick { CIDR_ALL, CIDR_NETS, CIDR_HOSTS };

/*
 * The networks of one family of a sorted list (axdp_cidr_list_unique):
 * all of them, those wider than one address, or the single addresses
 * alone (hosts: for a hash set, which nft loads many times faster than an
 * interval one).  For an interval set a network held by another is left
 * out, as nft refuses overlaps; sorted, a network comes right before
 * those it holds.
 */
static void render_cidrs(struct elements *e, const struct axdp_cidr_list *list, bool v4, enum cidr_pick pick)
{
	const struct axdp_cidr *kept = NULL;

	for (size_t i = 0; list && i < list->n; i++) {
		const struct axdp_cidr *c = &list->v[i];
		bool is_v4 = axdp_cidr_is_v4(c), host = c->prefix == 128;

		if (is_v4 != v4 || (pick == CIDR_NETS && host) || (pick == CIDR_HOSTS && !host) ||
		    (pick != CIDR_HOSTS && kept && cidr_holds(kept, c)))
			continue;
		kept = c;
		elem_begin(e);
		put_addr(e->out, c->addr);
		if (pick != CIDR_HOSTS)
			fprintf(e->out, "/%u", v4 ? c->prefix - 96 : c->prefix);
	}
}

enum set_kind {
	S_IFACES,
	S_TCP_ANY4,
	S_TCP_ANY6,
	S_UDP_ANY4,
	S_UDP_ANY6,
	S_TCP4,
	S_TCP6,
	S_UDP4,
	S_UDP6,
	S_TCP_PORTS4,
	S_TCP_PORTS6,
	S_UDP_PORTS4,
	S_UDP_PORTS6,
	S_TCP_STRICT,
	S_TCP_UNLIMITED,
	S_TRUST4,
	S_TRUST6,
	S_DENY4,
	S_DENY6,
	S_DENY_HOSTS4,
	S_DENY_HOSTS6,
	S_BAN4,
	S_BAN6,
	S_SEED4,
	S_SEED6,
	S_SYN4,
	S_SYN6,
	S_SYN_STRICT4,
	S_SYN_STRICT6,
	S_UDP_RATE4,
	S_UDP_RATE6,
	S_UDP_PACKETS,
	S_UDP_BYTES,
	S_UDP_FLOW_PORTS,
	S_COUNT
};

/*
 * Per-source buckets: one element per source (masked) and port, idle
 * ones gone after a minute.  When a set is full a new source gets no
 * bucket and passes unlimited, as a collision in the XDP path's buckets
 * only lets a source begin a fresh burst: a spoofed flood can fill the
 * set, never lock a real client out.
 */
#define METER " . inet_service; size 65536; flags dynamic,timeout; timeout 60s"

static const struct set_def {
	const char *name;
	const char *type;
	const char *flags;
	bool map; /* "map", flushed as one */
} sets[S_COUNT] = {
	[S_IFACES] = { AXDP_NFT_SET_IFACES, "ifname", NULL },
	/*
	 * For protect: ports open on every local address of a family,
	 * wildcards of both families included (one lookup per packet), and
	 * the listeners bound to one address.
	 */
	[S_TCP_ANY4] = { "tcp_open4", "inet_service", "interval" },
	[S_TCP_ANY6] = { "tcp_open6", "inet_service", "interval" },
	[S_UDP_ANY4] = { "udp_open4", "inet_service", "interval" },
	[S_UDP_ANY6] = { "udp_open6", "inet_service", "interval" },
	[S_TCP4] = { "tcp_open_addr4", "ipv4_addr . inet_service", NULL },
	[S_TCP6] = { "tcp_open_addr6", "ipv6_addr . inet_service", NULL },
	[S_UDP4] = { "udp_open_addr4", "ipv4_addr . inet_service", NULL },
	[S_UDP6] = { "udp_open_addr6", "ipv6_addr . inet_service", NULL },
	/*
	 * The ingress stage's verdict on a destination port, per protocol and
	 * family (render_ports): one lookup for a packet to a closed port,
	 * which has no element.  The sets above serve the second stage.
	 */
	[S_TCP_PORTS4] = { "tcp_ports4", "inet_service : verdict", "interval", true },
	[S_TCP_PORTS6] = { "tcp_ports6", "inet_service : verdict", "interval", true },
	[S_UDP_PORTS4] = { "udp_ports4", "inet_service : verdict", "interval", true },
	[S_UDP_PORTS6] = { "udp_ports6", "inet_service : verdict", "interval", true },
	/* The rate tiers of open TCP ports (enum axdp_tier); the rest are normal. */
	[S_TCP_STRICT] = { "tcp_strict", "inet_service", "interval" },
	[S_TCP_UNLIMITED] = { "tcp_unlimited", "inet_service", "interval" },
	[S_TRUST4] = { "trusted4", "ipv4_addr", "interval" },
	[S_TRUST6] = { "trusted6", "ipv6_addr", "interval" },
	[S_DENY4] = { "denied4", "ipv4_addr", "interval" },
	[S_DENY6] = { "denied6", "ipv6_addr", "interval" },
	/* The single addresses of the deny lists: a hash set loads many times faster than an interval one. */
	[S_DENY_HOSTS4] = { "denied_hosts4", "ipv4_addr", NULL },
	[S_DENY_HOSTS6] = { "denied_hosts6", "ipv6_addr", NULL },
	/* Runtime bans (bans.h): each element expires with its ban. */
	[S_BAN4] = { "banned4", "ipv4_addr", "interval,timeout" },
	[S_BAN6] = { "banned6", "ipv6_addr", "interval,timeout" },
	/* remote address . remote port . local address . local port, as an inbound packet has them */
	[S_SEED4] = { "seeded4", "inet_proto . ipv4_addr . inet_service . ipv4_addr . inet_service", "timeout" },
	[S_SEED6] = { "seeded6", "inet_proto . ipv6_addr . inet_service . ipv6_addr . inet_service", "timeout" },
	[S_SYN4] = { "syn_rate4", "ipv4_addr" METER, NULL },
	[S_SYN6] = { "syn_rate6", "ipv6_addr" METER, NULL },
	[S_SYN_STRICT4] = { "syn_strict4", "ipv4_addr" METER, NULL },
	[S_SYN_STRICT6] = { "syn_strict6", "ipv6_addr" METER, NULL },
	[S_UDP_RATE4] = { "udp_rate4", "ipv4_addr" METER, NULL },
	[S_UDP_RATE6] = { "udp_rate6", "ipv6_addr" METER, NULL },
	[S_UDP_PACKETS] = { "udp_port_packets", "inet_service; size 65536; flags dynamic,timeout; timeout 60s", NULL },
	[S_UDP_BYTES] = { "udp_port_bytes", "inet_service; size 65536; flags dynamic,timeout; timeout 60s", NULL },
	/*
	 * Local ports the host's own UDP flows sent from lately (the output
	 * chain), as the XDP path's flow_ports: a datagram to any other closed
	 * port is dropped at ingress, before conntrack.  Longer than the
	 * kernel conntrack's UDP timeouts, so no reply it would pass is lost.
	 */
	[S_UDP_FLOW_PORTS] = { "udp_flow_ports",
			       "inet_service; size 65536; flags dynamic,timeout; timeout " STR(FLOW_PORT_TIMEOUT_S) "s",
			       NULL },
};

/* The verdicts the rules below reach: each has a counter of its name, and in audit mode a drop one "audit_NAME" too. */
static const enum axdp_reason nft_reasons[] = {
	AXDP_PASS_TCP_PORT,   AXDP_PASS_TCP_FLOW,      AXDP_PASS_UDP_PORT,       AXDP_PASS_UDP_FLOW,
	AXDP_PASS_ICMP_ERROR, AXDP_PASS_ICMP_ECHO,     AXDP_PASS_ICMP_FLOW,      AXDP_PASS_NDP,
	AXDP_PASS_TRUSTED,    AXDP_PASS_DHCP_REPLY,    AXDP_DROP_DENIED,         AXDP_DROP_MARTIAN,
	AXDP_DROP_PROTO,      AXDP_DROP_TCP_MALFORMED, AXDP_DROP_TCP_CLOSED,     AXDP_DROP_UDP_MALFORMED,
	AXDP_DROP_UDP_CLOSED, AXDP_DROP_ICMP_OTHER,    AXDP_DROP_ICMP_UNMATCHED, AXDP_DROP_SYN_RATE,
	AXDP_DROP_UDP_RATE,   AXDP_DROP_UDP_BUDGET,    AXDP_DROP_ICMP_RATE,
};

#define AUDIT_PREFIX "audit_"

/* Ends a rule with the verdict of reason r: counted, then accepted or dropped (audit mode: counted twice, accepted). */
static void verdict(FILE *out, const struct axdp_config *cfg, enum axdp_reason r)
{
	bool drop = AXDP_REASON_DROPS(r);

	fprintf(out, "counter name \"%s\"", axdp_reason_labels[r].name);
	if (drop && cfg->mode == AXDP_MODE_AUDIT)
		fprintf(out, " counter name \"" AUDIT_PREFIX "%s\"", axdp_reason_labels[r].name);
	fprintf(out, " %s\n", drop && cfg->mode != AXDP_MODE_AUDIT ? "drop" : "accept");
}

/* A rule: "\t\t" match, then the verdict of r. */
#define RULE(out, cfg, r, ...) (fputs("\t\t", out), fprintf(out, __VA_ARGS__), fputc(' ', out), verdict(out, cfg, r))
/* A rule without a match: whatever reaches it gets the verdict of r. */
#define ALWAYS(out, cfg, r) (fputs("\t\t", out), verdict(out, cfg, r))

/* Limits of the nft limit statement: a rate per second and a burst of at least one unit. */
static uint32_t burst_of(uint32_t burst)
{
	return burst ? burst : 1;
}

/* saddr masked to the [RateLimit] SourcePrefix, as the XDP path's buckets key sources. */
static void masked_source(FILE *out, bool v4, unsigned int prefix)
{
	uint8_t mask[16] = { 0 };
	unsigned int from = v4 ? 96 : 0;

	/* An IPv4 mask is written v4-mapped (::ffff:a.b.c.d); an IPv6 one keeps no bit past the prefix. */
	if (v4)
		mask[10] = mask[11] = 0xff;

	fprintf(out, "%s saddr", v4 ? "ip" : "ip6");
	if (prefix >= (v4 ? 32u : 128u))
		return;
	for (unsigned int bit = from; bit < from + prefix; bit++)
		mask[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	fputs(" & ", out);
	put_addr(out, mask);
}

/* A per-source bucket of set s (the 4 set; the 6 one follows it) over dport: a packet beyond its rate is reason r. */
static void meter(FILE *out, const struct axdp_config *cfg, const char *match, enum set_kind s, const char *l4,
		  uint32_t per_s, uint32_t burst, enum axdp_reason r)
{
	for (int v4 = 1; v4 >= 0; v4--) {
		fprintf(out, "\t\t%supdate @%s { ", match, sets[s + !v4].name);
		masked_source(out, v4, v4 ? cfg->source_prefix_v4 : cfg->source_prefix_v6);
		fprintf(out, " . %s dport limit rate over %u/second burst %u packets } ", l4, per_s, burst_of(burst));
		verdict(out, cfg, r);
	}
}

/*
 * One lookup on the six flags sends a malformed segment to its drop and
 * a bare SYN (SYN without ACK) to the family's port check; the rest (the
 * host's own flows, and segments conntrack judges) go on.
 */
static void tcp_flags_vmap(FILE *out, char fam)
{
	int n = 0;

	fputs("\t\ttcp flags & (fin | syn | rst | psh | ack | urg) vmap {", out);
	for (unsigned int f = 0; f <= AXDP_TCP_FLAGS; f++) {
		bool malformed = axdp_tcp_flags_malformed((__u8)f);

		if (!malformed && (f & (AXDP_TCP_SYN | AXDP_TCP_ACK)) != AXDP_TCP_SYN)
			continue;
		/* Lines short enough to read in an error message. */
		fputs(n == 0 ? " " : n % 4 ? ", " : ",\n\t\t\t", out);
		n++;
		fprintf(out, "0x%02x : goto ", f);
		if (malformed)
			fputs("ingress_tcp_malformed", out);
		else
			fprintf(out, "ingress_syn%c", fam);
	}
	fputs(" }\n", out);
}

/*
 * A SYN to a closed port that got this far: dropped, unless from a
 * trusted source with TrustOpensAllTCP= (which reaches every TCP port:
 * the rule does not match, and the chain's end passes it on).
 */
static void closed_syn(FILE *out, const struct axdp_config *cfg, bool v4)
{
	if (cfg->trust_opens_all_tcp)
		RULE(out, cfg, AXDP_DROP_TCP_CLOSED, "%s saddr != @trusted%c", v4 ? "ip" : "ip6", v4 ? '4' : '6');
	else
		ALWAYS(out, cfg, AXDP_DROP_TCP_CLOSED);
}

/*
 * A datagram to a closed port: dropped, unless to a port the host's own
 * flows may expect replies on (udp_flow_ports; the seeded connections'
 * local ports are in it from the install on): then the chain's end passes
 * it on to conntrack.
 */
static void closed_udp(FILE *out, const struct axdp_config *cfg)
{
	RULE(out, cfg, AXDP_DROP_UDP_CLOSED, "th dport != @udp_flow_ports");
}

static void put_dhcp_reply(FILE *out, bool v4)
{
	const struct dhcp_reply *d = &dhcp_reply[!v4];

	fprintf(out, "%s udp sport %u udp dport %u", d->from, d->server, d->client);
}

/* First octets of IPv4 sources no internet-facing link sees: this network, loopback, multicast and class E. */
static const char martian_octets[] = "0, 127, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, "
				     "238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, "
				     "253, 254, 255";

/*
 * A family's ingress chains.  What every packet of the family meets, in
 * the order of the XDP path: the source (deny lists, bans, martians),
 * then a compare sends it to the chain of its protocol.  A later
 * fragment has no transport header (the kernel's fast payload loads may
 * still read its data as one): no protocol chain takes it, and it is
 * judged whole in protect.  The family is known here, so the fragment
 * offset and next header are read raw (@nh), without the family check
 * nft adds to "ip frag-off" and "ip6 nexthdr".
 */
static void render_family(FILE *out, const struct axdp_config *cfg, bool v4)
{
	const char *ip = v4 ? "ip" : "ip6", fam = v4 ? '4' : '6';

	fprintf(out, "\tchain ingress%c {\n", fam);
	/* No deny list configured, no rule: a feature turned off costs nothing per packet.  axdp writes the bans. */
	if (cfg->deny_cidrs.n || cfg->deny_list_files.n) {
		RULE(out, cfg, AXDP_DROP_DENIED, "%s saddr @denied%c", ip, fam);
		RULE(out, cfg, AXDP_DROP_DENIED, "%s saddr @denied_hosts%c", ip, fam);
	}
	RULE(out, cfg, AXDP_DROP_DENIED, "%s saddr @banned%c", ip, fam);
	/* The source's first octet: one lookup in a bitmap, where a set of prefixes is a search. */
	if (cfg->drop_martians && v4)
		RULE(out, cfg, AXDP_DROP_MARTIAN, "@nh,96,8 { %s }", martian_octets);
	/*
	 * Multicast by its first byte; the others start with 64 zero bits,
	 * which a source on the internet never does, before the lookup.  ::
	 * is the source of duplicate address detection and early MLD reports:
	 * a martian unless ICMPv6.
	 */
	if (cfg->drop_martians && !v4)
		fputs("\t\t@nh,64,8 0xff goto ingress_martian\n"
		      "\t\t@nh,64,64 0 ip6 saddr vmap { :: : jump ingress_unspec6, ::1 : goto ingress_martian, "
		      "::ffff:0.0.0.0/96 : goto ingress_martian }\n",
		      out);
	/*
	 * The protocol's chain: a compare each, datagrams first (what floods
	 * are made of), where a map is a hash lookup.  IPv4: not for a later
	 * fragment (offset not 0).  IPv6 without an extension header: the
	 * first next header is the protocol; with one, only a later fragment
	 * stays out.
	 */
	if (v4) {
		fputs("\t\tmeta l4proto udp @nh,48,16 & 0x1fff 0 goto ingress_udp4\n"
		      "\t\tmeta l4proto tcp @nh,48,16 & 0x1fff 0 goto ingress_tcp4\n"
		      "\t\tmeta l4proto icmp @nh,48,16 & 0x1fff 0 goto ingress_icmp\n",
		      out);
	} else {
		fputs("\t\t@nh,48,8 17 goto ingress_udp6\n"
		      "\t\t@nh,48,8 6 goto ingress_tcp6\n"
		      "\t\t@nh,48,8 58 goto ingress_icmpv6\n"
		      "\t\tfrag frag-off != 0 return\n"
		      "\t\tmeta l4proto vmap { tcp : goto ingress_tcp6, udp : goto ingress_udp6, ipv6-icmp : goto ingress_icmpv6 }\n",
		      out);
	}
	RULE(out, cfg, AXDP_DROP_PROTO, "meta l4proto != { tcp, udp, %s }", v4 ? "icmp" : "ipv6-icmp");

	fprintf(out, "\t}\n\n\tchain ingress_tcp%c {\n", fam);
	tcp_flags_vmap(out, fam);
	RULE(out, cfg, AXDP_DROP_TCP_MALFORMED, "th sport 0");
	RULE(out, cfg, AXDP_DROP_TCP_MALFORMED, "th dport 0");
	/* A bare SYN opens a connection; the host's own flows never receive one: no conntrack needed. */
	fprintf(out, "\t}\n\n\tchain ingress_syn%c {\n", fam);
	RULE(out, cfg, AXDP_DROP_TCP_MALFORMED, "th sport 0");
	fprintf(out, "\t\tth dport vmap @tcp_ports%c\n", fam);
	closed_syn(out, cfg, v4);
	fprintf(out,
		"\t}\n\n\tchain ingress_syn_addr%c {\n\t\t%s daddr . th dport @tcp_open_addr%c goto ingress_syn_open\n",
		fam, ip, fam);
	closed_syn(out, cfg, v4);

	fprintf(out, "\t}\n\n\tchain ingress_udp%c {\n", fam);
	RULE(out, cfg, AXDP_DROP_UDP_MALFORMED, "th sport 0");
	fprintf(out, "\t\tth dport vmap @udp_ports%c\n", fam);
	closed_udp(out, cfg);
	fprintf(out,
		"\t}\n\n\tchain ingress_udp_addr%c {\n\t\t%s daddr . th dport @udp_open_addr%c goto ingress_udp_open\n",
		fam, ip, fam);
	if (cfg->allow_dhcp_client) {
		fputs("\t\t", out);
		put_dhcp_reply(out, v4);
		fputs(" return\n", out);
	}
	closed_udp(out, cfg);
	fputs("\t}\n\n", out);
}

/*
 * The chains.  Two stages, because conntrack sits between them:
 *
 *  - "ingress4" and "ingress6", from a base chain on each interface's
 *    ingress hook (before conntrack, before defragmentation): what needs
 *    no connection state.  What it drops never reaches conntrack, so a
 *    spoofed flood costs no conntrack lookup or entry.  A packet to a
 *    closed port costs one lookup of its port (maps tcp_ports4 ...
 *    udp_ports6, whose elements send it on to the checks an open port
 *    needs) and, a datagram, one of udp_flow_ports.
 *  - "protect", from prerouting after conntrack: what needs to know the
 *    host's own flows (replies to closed ports, ICMP errors and echo
 *    replies), and the final verdict with its counter.
 *
 * Kernels without the inet ingress hook (before 5.10) run the ingress
 * chains from "protect" (through chain "ingress"): the same verdicts,
 * after conntrack.
 */
static void render_chains(FILE *out, const struct axdp_nft *nft, const struct axdp_config *cfg)
{
	static const char *const open_tcp[] = { "meta nfproto ipv4 tcp dport @tcp_open4",
						"meta nfproto ipv6 tcp dport @tcp_open6",
						"ip daddr . tcp dport @tcp_open_addr4",
						"ip6 daddr . tcp dport @tcp_open_addr6" };
	static const char *const open_udp[] = { "meta nfproto ipv4 udp dport @udp_open4",
						"meta nfproto ipv6 udp dport @udp_open6",
						"ip daddr . udp dport @udp_open_addr4",
						"ip6 daddr . udp dport @udp_open_addr6" };
	/* Connections older than the table (the seeds). */
	static const char *const seeded[] = { "meta l4proto . ip saddr . th sport . ip daddr . th dport @seeded4",
					      "meta l4proto . ip6 saddr . th sport . ip6 daddr . th dport @seeded6" };
	const size_t n_open = ARRAY_SIZE(open_tcp);
	/* A compare sends a packet to the chain of its family: a datagram over IPv4 meets no IPv6 rule. */
	static const char dispatch[] = "\t\tmeta nfproto ipv4 goto ingress4\n\t\tmeta nfproto ipv6 goto ingress6\n";

	for (int i = 0; i < nft->n && !nft->no_ingress; i++) {
		fputs("\tchain ", out);
		put_chain_name(out, nft->ifaces[i]);
		fprintf(out, " {\n\t\ttype filter hook ingress device \"%s\" priority %d; policy accept;\n%s\t}\n\n",
			nft->ifaces[i], AXDP_NFT_INGRESS_PRIORITY, dispatch);
	}
	if (nft->no_ingress)
		fprintf(out, "\tchain ingress {\n%s\t}\n\n", dispatch);
	for (int v4 = 1; v4 >= 0; v4--)
		render_family(out, cfg, v4);
	/* Where the lookups above send what they judge malformed or martian. */
	fputs("\tchain ingress_tcp_malformed {\n", out);
	ALWAYS(out, cfg, AXDP_DROP_TCP_MALFORMED);
	fputs("\t}\n\n\tchain ingress_udp_malformed {\n", out);
	ALWAYS(out, cfg, AXDP_DROP_UDP_MALFORMED);
	if (cfg->drop_martians) {
		fputs("\t}\n\n\tchain ingress_martian {\n", out);
		ALWAYS(out, cfg, AXDP_DROP_MARTIAN);
		fputs("\t}\n\n\tchain ingress_unspec6 {\n", out);
		RULE(out, cfg, AXDP_DROP_MARTIAN, "meta l4proto != ipv6-icmp");
	}
	fputs("\t}\n\n\tchain ingress_icmp {\n\t\ticmp type echo-request goto ingress_echo\n", out);
	RULE(out, cfg, AXDP_DROP_ICMP_OTHER,
	     "icmp type != { echo-reply, echo-request, destination-unreachable, time-exceeded, "
	     "parameter-problem }");
	fputs("\t}\n\n\tchain ingress_icmpv6 {\n\t\ticmpv6 type echo-request goto ingress_echo\n", out);
	RULE(out, cfg, AXDP_DROP_ICMP_OTHER,
	     "icmpv6 type != { destination-unreachable, packet-too-big, time-exceeded, "
	     "parameter-problem, echo-request, echo-reply, mld-listener-query, mld-listener-report, mld-listener-done, "
	     "mld2-listener-report, nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert }");
	/* New connections per source and port, by the port's tier; trusted sources are exempt. */
	fputs("\t}\n\n\tchain ingress_syn_open {\n"
	      "\t\tip saddr @trusted4 return\n\t\tip6 saddr @trusted6 return\n"
	      "\t\ttcp dport @tcp_unlimited return\n",
	      out);
	if (cfg->strict_syn_per_s)
		meter(out, cfg, "tcp dport @tcp_strict ", S_SYN_STRICT4, "tcp", cfg->strict_syn_per_s,
		      cfg->strict_syn_burst, AXDP_DROP_SYN_RATE);
	fputs("\t\ttcp dport @tcp_strict return\n", out);
	if (cfg->syn_per_s)
		meter(out, cfg, "", S_SYN4, "tcp", cfg->syn_per_s, cfg->syn_burst, AXDP_DROP_SYN_RATE);
	/* Datagrams to open ports: per source (trusted ones exempt), then per port. */
	fputs("\t}\n\n\tchain ingress_udp_open {\n", out);
	if (cfg->udp_per_s) {
		fputs("\t\tip saddr @trusted4 goto ingress_udp_port\n\t\tip6 saddr @trusted6 goto ingress_udp_port\n",
		      out);
		meter(out, cfg, "", S_UDP_RATE4, "udp", cfg->udp_per_s, cfg->udp_burst, AXDP_DROP_UDP_RATE);
	}
	fputs("\t\tgoto ingress_udp_port\n\t}\n\n\tchain ingress_udp_port {\n", out);
	if (cfg->udp_port_packets_per_s)
		RULE(out, cfg, AXDP_DROP_UDP_BUDGET,
		     "update @udp_port_packets { udp dport limit rate over %u/second burst %u packets }",
		     cfg->udp_port_packets_per_s, burst_of(cfg->udp_port_packets_per_s / 10));
	/* A tenth of a second's worth at once, as the XDP path's per-port budget. */
	if (cfg->udp_port_bytes_per_s)
		RULE(out, cfg, AXDP_DROP_UDP_BUDGET,
		     "update @udp_port_bytes { udp dport limit rate over %u bytes/second burst %u bytes }",
		     cfg->udp_port_bytes_per_s, burst_of(cfg->udp_port_bytes_per_s / 10));
	fputs("\t}\n\n\tchain ingress_echo {\n", out);
	if (cfg->icmp_echo_per_s) {
		fputs("\t\tip saddr @trusted4 return\n\t\tip6 saddr @trusted6 return\n", out);
		RULE(out, cfg, AXDP_DROP_ICMP_RATE, "limit rate over %u/second burst %u packets", cfg->icmp_echo_per_s,
		     burst_of(cfg->icmp_echo_burst));
	}
	fprintf(out,
		"\t}\n\n"
		"\tchain prerouting {\n"
		"\t\ttype filter hook prerouting priority %d; policy accept;\n"
		"\t\tiif \"lo\" accept\n"
		"\t\tiifname @" AXDP_NFT_SET_IFACES " jump protect\n"
		"\t}\n\n"
		"\tchain output {\n"
		"\t\ttype filter hook output priority %d; policy accept;\n"
		"\t\toifname @" AXDP_NFT_SET_IFACES " meta l4proto udp update @udp_flow_ports { udp sport }\n"
		"\t}\n\n"
		"\tchain protect {\n",
		AXDP_NFT_PRIORITY, AXDP_NFT_PRIORITY);
	if (nft->no_ingress)
		fputs("\t\tjump ingress\n", out);
	/* The host's own address arriving from outside is spoofed. */
	if (cfg->drop_martians)
		RULE(out, cfg, AXDP_DROP_MARTIAN, "fib saddr type local");
	for (size_t i = 0; i < n_open; i++)
		RULE(out, cfg, AXDP_PASS_TCP_PORT, "%s", open_tcp[i]);
	for (size_t i = 0; i < n_open; i++)
		RULE(out, cfg, AXDP_PASS_UDP_PORT, "%s", open_udp[i]);
	if (cfg->trust_opens_all_tcp) {
		RULE(out, cfg, AXDP_PASS_TRUSTED, "meta l4proto tcp ip saddr @trusted4");
		RULE(out, cfg, AXDP_PASS_TRUSTED, "meta l4proto tcp ip6 saddr @trusted6");
	}
	RULE(out, cfg, AXDP_PASS_TCP_FLOW, "meta l4proto tcp ct state established,related");
	RULE(out, cfg, AXDP_PASS_UDP_FLOW, "meta l4proto udp ct state established,related");
	/* Existing connections, so their next inbound packet passes before conntrack has seen them both ways. */
	for (size_t i = 0; i < ARRAY_SIZE(seeded); i++)
		RULE(out, cfg, AXDP_PASS_TCP_FLOW, "meta l4proto tcp %s", seeded[i]);
	for (size_t i = 0; i < ARRAY_SIZE(seeded); i++)
		RULE(out, cfg, AXDP_PASS_UDP_FLOW, "meta l4proto udp %s", seeded[i]);
	/* AllowDHCPClient=: the replies a client that binds no port must get (autoxdpd(8), DHCP clients). */
	for (int v4 = 1; cfg->allow_dhcp_client && v4 >= 0; v4--) {
		fputs("\t\t", out);
		put_dhcp_reply(out, v4);
		fputc(' ', out);
		verdict(out, cfg, AXDP_PASS_DHCP_REPLY);
	}
	RULE(out, cfg, AXDP_PASS_ICMP_ECHO, "icmp type echo-request");
	RULE(out, cfg, AXDP_PASS_ICMP_ECHO, "icmpv6 type echo-request");
	RULE(out, cfg, AXDP_PASS_ICMP_FLOW, "icmp type echo-reply ct state established");
	RULE(out, cfg, AXDP_PASS_ICMP_FLOW, "icmpv6 type echo-reply ct state established");
	RULE(out, cfg, AXDP_PASS_ICMP_ERROR, "meta l4proto { icmp, ipv6-icmp } ct state related");
	RULE(out, cfg, AXDP_PASS_NDP,
	     "icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, "
	     "mld2-listener-report, nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert }");
	/*
	 * A bare SYN to a closed port is judged here again: one whose first
	 * fragment did not hold the TCP flags passed the ingress stage.
	 */
	RULE(out, cfg, AXDP_DROP_TCP_CLOSED, "meta l4proto tcp");
	RULE(out, cfg, AXDP_DROP_UDP_CLOSED, "meta l4proto udp");
	RULE(out, cfg, AXDP_DROP_ICMP_UNMATCHED,
	     "icmp type { destination-unreachable, time-exceeded, parameter-problem }");
	RULE(out, cfg, AXDP_DROP_ICMP_UNMATCHED,
	     "icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem }");
	RULE(out, cfg, AXDP_DROP_ICMP_OTHER, "meta l4proto { icmp, ipv6-icmp }");
	RULE(out, cfg, AXDP_DROP_PROTO, "meta nfproto { ipv4, ipv6 }");
	fputs("\t}\n", out);
}

static bool policy_set(enum set_kind k)
{
	return (k >= S_TRUST4 && k <= S_DENY_HOSTS6);
}

/* Filled by the data path alone: declared at install, never rewritten. */
static bool dynamic_set(enum set_kind k)
{
	return k >= S_SYN4 || k == S_SEED4 || k == S_SEED6;
}

/* Open TCP ports of a rate tier, as ranges. */
static void render_tier(struct elements *e, const struct axdp_port_state *ports, enum axdp_tier tier)
{
	for (uint32_t p = 1; ports && ports->tiers && p < AXDP_PORTS; p++) {
		uint32_t end = p;

		if (!(ports->flags[p] & AXDP_PORT_OPEN) || ports->tiers[p] != tier)
			continue;
		while (end + 1 < AXDP_PORTS && (ports->flags[end + 1] & AXDP_PORT_OPEN) &&
		       ports->tiers[end + 1] == tier)
			end++;
		elem_begin(e);
		fprintf(e->out, end == p ? "%u" : "%u-%u", p, end);
		p = end;
	}
}

/*
 * Bans not yet expired, each with the time it has left.  One held by a
 * wider ban is left out (an interval set refuses overlaps) until that one
 * expires: the daemon writes the set again at each expiry.
 */
static void render_bans(struct elements *e, const struct axdp_nft_bans *bans, bool v4)
{
	const struct axdp_cidr *kept = NULL;

	for (size_t i = 0; bans && i < bans->n; i++) {
		const struct axdp_ban *b = &bans->v[i];
		bool is_v4 = axdp_cidr_is_v4(&b->cidr);

		if (is_v4 != v4 || (b->expires && b->expires <= bans->now) || (kept && cidr_holds(kept, &b->cidr)))
			continue;
		kept = &b->cidr;
		elem_begin(e);
		put_addr(e->out, b->cidr.addr);
		fprintf(e->out, "/%u", v4 ? b->cidr.prefix - 96 : b->cidr.prefix);
		if (b->expires)
			fprintf(e->out, " timeout %llds", (long long)(b->expires - bans->now));
	}
}

static void render_set(FILE *out, bool full, enum set_kind k, const struct axdp_nft *nft,
		       const struct axdp_port_state *ports, const struct axdp_socket_set *seeds,
		       const struct axdp_nft_policy *pol, const struct axdp_nft_bans *bans,
		       const struct axdp_config *cfg)
{
	const struct set_def *d = &sets[k];
	const char *kind = d->map ? "map" : "set";
	struct elements e = { .out = out };
	/* TrustCIDR= exempts from the rate limits, and with TrustOpensAllTCP= opens every TCP port. */
	const struct axdp_cidr_list *trust = pol ? pol->trust : NULL, *deny = pol ? pol->deny : NULL;

	if (full) {
		fprintf(out, "\t%s %s {\n", kind, d->name);
	} else {
		/* The seeds are written once, at install; each expires by itself.  Policy sets change at reloads. */
		if (dynamic_set(k) || (policy_set(k) && !pol) || ((k == S_BAN4 || k == S_BAN6) && !bans))
			return;
		/*
		 * Emptied, then declared again with its elements, never "add
		 * element": before adding elements libnftables 1.0.6 fetches
		 * those of every interval set on the host (20,000 denied
		 * networks: 27 ms a change, 0.8 ms declared), before declaring
		 * a set only the sets.
		 */
		fprintf(out, "flush %s " T " %s\nadd %s " T " %s {\n", kind, d->name, kind, d->name);
	}
	fprintf(out, "\t\ttype %s\n", d->type);
	if (d->flags)
		fprintf(out, "\t\tflags %s\n", d->flags);
	switch (k) {
	case S_IFACES: render_ifaces(&e, nft); break;
	case S_TCP_ANY4: render_any(&e, ports, AXDP_L4_TCP, AXDP_PORT_OPEN_ANY | AXDP_PORT_OPEN_ANY4); break;
	case S_TCP_ANY6: render_any(&e, ports, AXDP_L4_TCP, AXDP_PORT_OPEN_ANY | AXDP_PORT_OPEN_ANY6); break;
	case S_UDP_ANY4: render_any(&e, ports, AXDP_L4_UDP, AXDP_PORT_OPEN_ANY | AXDP_PORT_OPEN_ANY4); break;
	case S_UDP_ANY6: render_any(&e, ports, AXDP_L4_UDP, AXDP_PORT_OPEN_ANY | AXDP_PORT_OPEN_ANY6); break;
	case S_TCP4: render_addr(&e, ports, AXDP_L4_TCP, true); break;
	case S_TCP6: render_addr(&e, ports, AXDP_L4_TCP, false); break;
	case S_UDP4: render_addr(&e, ports, AXDP_L4_UDP, true); break;
	case S_UDP6: render_addr(&e, ports, AXDP_L4_UDP, false); break;
	case S_TCP_PORTS4: render_ports(&e, ports, cfg, AXDP_L4_TCP, true); break;
	case S_TCP_PORTS6: render_ports(&e, ports, cfg, AXDP_L4_TCP, false); break;
	case S_UDP_PORTS4: render_ports(&e, ports, cfg, AXDP_L4_UDP, true); break;
	case S_UDP_PORTS6: render_ports(&e, ports, cfg, AXDP_L4_UDP, false); break;
	case S_TCP_STRICT: render_tier(&e, ports, AXDP_TIER_STRICT); break;
	case S_TCP_UNLIMITED: render_tier(&e, ports, AXDP_TIER_UNLIMITED); break;
	/* Trusted networks are few: one interval set per family, single addresses included. */
	case S_TRUST4: render_cidrs(&e, trust, true, CIDR_ALL); break;
	case S_TRUST6: render_cidrs(&e, trust, false, CIDR_ALL); break;
	case S_DENY4: render_cidrs(&e, deny, true, CIDR_NETS); break;
	case S_DENY6: render_cidrs(&e, deny, false, CIDR_NETS); break;
	case S_DENY_HOSTS4: render_cidrs(&e, deny, true, CIDR_HOSTS); break;
	case S_DENY_HOSTS6: render_cidrs(&e, deny, false, CIDR_HOSTS); break;
	case S_BAN4: render_bans(&e, bans, true); break;
	case S_BAN6: render_bans(&e, bans, false); break;
	case S_SEED4: render_seeds(&e, seeds, cfg, true); break;
	case S_SEED6: render_seeds(&e, seeds, cfg, false); break;
	case S_UDP_FLOW_PORTS: render_seed_ports(&e, seeds, cfg); break;
	default: break;
	}
	elem_end(&e);
	fputs(full ? "\t}\n\n" : "\t}\n", out);
}

int axdp_nft_render(FILE *out, bool full, const struct axdp_nft *nft, const struct axdp_port_state *ports,
		    const struct axdp_socket_set *seeds, const struct axdp_nft_policy *pol,
		    const struct axdp_nft_bans *bans, const struct axdp_config *cfg)
{
	if (full) {
		/* Creating first makes the delete succeed whether or not a table was there: one transaction. */
		fputs("table " T " {}\ndelete table " T "\ntable " T " {\n", out);
		for (size_t i = 0; i < ARRAY_SIZE(nft_reasons); i++) {
			enum axdp_reason r = nft_reasons[i];

			fprintf(out, "\tcounter %s { packets %llu bytes %llu }\n", axdp_reason_labels[r].name,
				(unsigned long long)nft->carry[r].packets, (unsigned long long)nft->carry[r].bytes);
			if (cfg->mode == AXDP_MODE_AUDIT && AXDP_REASON_DROPS(r))
				fprintf(out, "\tcounter " AUDIT_PREFIX "%s { packets %llu bytes %llu }\n",
					axdp_reason_labels[r].name, (unsigned long long)nft->carry_would[r].packets,
					(unsigned long long)nft->carry_would[r].bytes);
		}
		fputc('\n', out);
	}
	for (int k = 0; k < S_COUNT; k++)
		render_set(out, full, k, nft, ports, seeds, pol, bans, cfg);
	if (full) {
		render_chains(out, nft, cfg);
		fputs("}\n", out);
	}
	return ferror(out) ? -1 : 0;
}

static uint64_t fnv1a(const char *text, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)text[i]) * 0x100000001b3ULL;
	return h;
}

/* The hash of the chains cfg and nft's interfaces give: a table whose chains differ is installed anew. */
static uint64_t chains_hash(const struct axdp_nft *nft, const struct axdp_config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	uint64_t h;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return 0;
	render_chains(f, nft, cfg);
	if (fclose(f))
		return free(text), 0;
	h = fnv1a(text, len);
	free(text);
	return h;
}

_Static_assert(S_COUNT <= AXDP_NFT_SETS, "struct axdp_nft.sent holds a hash per set");

/*
 * The sets whose input differs from what was last written (all of them
 * with nft->resend), into out; each set's new hash into hash.
 */
static int render_changed(FILE *out, const struct axdp_nft *nft, const struct axdp_port_state *ports,
			  const struct axdp_nft_policy *pol, const struct axdp_nft_bans *bans,
			  const struct axdp_config *cfg, uint64_t hash[AXDP_NFT_SETS])
{
	for (int k = 0; k < S_COUNT; k++) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		if (!f)
			return -1;
		render_set(f, false, k, nft, ports, NULL, pol, bans, cfg);
		if (fclose(f))
			return free(text), -1;
		/* Nothing rendered: a set this change leaves alone (seeds, meters, policy between reloads). */
		hash[k] = len ? fnv1a(text, len) : nft->sent[k];
		if (len && (nft->resend || hash[k] != nft->sent[k]))
			fwrite(text, 1, len, out);
		free(text);
	}
	return ferror(out) ? -1 : 0;
}

/* ---- applying ---- */

static int apply(bool full, struct axdp_nft *nft, const struct axdp_port_state *ports, const struct axdp_config *cfg,
		 char *err, size_t errlen)
{
	struct axdp_socket_set seeds = {};
	struct axdp_cidr_list deny = {}, trust = {};
	struct axdp_nft_policy pol = { .trust = &trust, .deny = &deny };
	struct axdp_bans b = { .lock = -1 };
	struct axdp_nft_bans bans = { .now = time(NULL) };
	bool policy = full || nft->policy_stale, with_bans = full || nft->bans_stale;
	uint64_t hash[AXDP_NFT_SETS] = { 0 };
	char *text = NULL, seed_err[256];
	size_t len = 0;
	FILE *f = NULL;
	int rc = -1;

	/* Not fatal: without seeds, sessions older than the table heal when the host next sends. */
	if (full && axdp_connections_dump(&seeds, seed_err, sizeof(seed_err)))
		axdp_socket_set_free(&seeds);
	/* DenyCIDR= and the DenyListFile= lists, read only when the policy may have changed; both lists sorted. */
	if (policy && axdp_denylist_collect(cfg, &deny, err, errlen))
		goto out;
	if (policy && cfg->trust_cidrs.n) {
		trust.v = malloc(cfg->trust_cidrs.n * sizeof(*trust.v));
		if (!trust.v) {
			axdp_fail(err, errlen, "nftables backend: out of memory");
			goto out;
		}
		memcpy(trust.v, cfg->trust_cidrs.v, cfg->trust_cidrs.n * sizeof(*trust.v));
		trust.n = trust.cap = cfg->trust_cidrs.n;
		axdp_cidr_list_unique(&trust);
	}
	/* The bans file is the truth (bans.h): read and applied under its lock, as axdp applies what it changes. */
	if (with_bans) {
		if (axdp_bans_open(&b, cfg->state_dir, err, errlen))
			goto out;
		bans.v = b.v;
		bans.n = b.n;
	}
	f = open_memstream(&text, &len);
	if (!f) {
		axdp_fail(err, errlen, "nftables backend: out of memory");
		goto out;
	}
	if (full)
		rc = axdp_nft_render(f, true, nft, ports, &seeds, policy ? &pol : NULL, with_bans ? &bans : NULL, cfg);
	else
		rc = render_changed(f, nft, ports, policy ? &pol : NULL, with_bans ? &bans : NULL, cfg, hash);
	if (fclose(f) || rc)
		rc = axdp_fail(err, errlen, "nftables backend: rendering the ruleset: out of memory");
	else
		rc = len ? axdp_nft_run(text, len, err, errlen) : 0;
	/* What an install wrote is not hashed (hash stays 0): the first change after it writes every set once. */
	if (rc == 0) {
		memcpy(nft->sent, hash, sizeof(nft->sent));
		nft->resend = false;
	}
out:
	free(text);
	free(deny.v);
	free(trust.v);
	axdp_bans_close(&b);
	axdp_socket_set_free(&seeds);
	return rc;
}

/* The whole table; on a kernel without the inet ingress hook, once more with every rule in prerouting. */
static int install(struct axdp_nft *nft, const struct axdp_port_state *ports, const struct axdp_config *cfg, char *err,
		   size_t errlen)
{
	char first[1024];
	bool fell_back = false;

	/* The counts so far go into the new table: a reload or a new interface does not set them back to zero. */
	if (axdp_nft_counters(nft->carry, nft->carry_would, first, sizeof(first)) < 0) {
		memset(nft->carry, 0, sizeof(nft->carry));
		memset(nft->carry_would, 0, sizeof(nft->carry_would));
	}
	if (apply(true, nft, ports, cfg, first, sizeof(first))) {
		/* A vanished interface fails the same way with or without ingress chains: no reason to give them up. */
		if (nft->no_ingress || !nft->n || strstr(first, "No such device"))
			return axdp_fail(err, errlen, "%s", first);
		nft->no_ingress = true;
		if (apply(true, nft, ports, cfg, err, errlen)) {
			nft->no_ingress = false;
			return axdp_fail(err, errlen, "%s", first);
		}
		fell_back = true;
	}
	nft->installed = true;
	nft->absent = false;
	nft->policy_stale = nft->bans_stale = false;
	nft->chains = chains_hash(nft, cfg);
	if (fell_back)
		return axdp_fail(
			err, errlen,
			"the kernel refused ingress chains (%s); dropping in prerouting instead, after conntrack",
			first);
	return 0;
}

int axdp_nft_apply_bans(const struct axdp_nft_bans *bans, char *err, size_t errlen)
{
	char *text = NULL, msg[512];
	size_t len = 0;
	FILE *f;
	int rc;

	/* No nftables on this host: nothing on nftables to ban on. */
	if (axdp_nft_session_available(msg, sizeof(msg)))
		return 0;
	f = open_memstream(&text, &len);
	if (!f)
		return axdp_fail(err, errlen, "nftables backend: out of memory");
	render_set(f, false, S_BAN4, NULL, NULL, NULL, NULL, bans, NULL);
	render_set(f, false, S_BAN6, NULL, NULL, NULL, NULL, bans, NULL);
	if (fclose(f)) {
		free(text);
		return axdp_fail(err, errlen, "nftables backend: rendering the bans: out of memory");
	}
	rc = axdp_nft_run(text, len, err, errlen);
	free(text);
	/* No table of ours: nothing on nftables to ban on. */
	if (rc && strstr(err, "No such file or directory"))
		return 0;
	return rc;
}

int axdp_nft_remove(char *err, size_t errlen)
{
	static const char input[] = "table " T " {}\ndelete table " T "\n";
	char ignored[512];

	/* No nftables, no table of ours: nothing made one. */
	if (axdp_nft_session_available(ignored, sizeof(ignored)))
		return 0;
	return axdp_nft_run(input, sizeof(input) - 1, err, errlen);
}

int axdp_nft_sync(struct axdp_nft *nft, const struct axdp_port_state *ports, const struct axdp_config *cfg, char *err,
		  size_t errlen)
{
	char first[512];

	if (!nft->n) {
		if (nft->absent)
			return 0;
		if (axdp_nft_remove(err, errlen))
			return -1;
		nft->absent = true;
		nft->installed = false;
		return 0;
	}
	/* Other chains (interfaces, Mode=, [RateLimit], [Policy]): the table anew, in one transaction. */
	if (nft->installed && chains_hash(nft, cfg) != nft->chains)
		nft->installed = false;
	if (nft->installed) {
		if (apply(false, nft, ports, cfg, first, sizeof(first)) == 0)
			return nft->policy_stale = nft->bans_stale = false, 0;
		/* Someone deleted or changed our table (nft flush ruleset, say): put it back whole. */
		nft->installed = false;
		if (install(nft, ports, cfg, err, errlen) && !nft->installed)
			return -1;
		return axdp_fail(err, errlen,
				 "table " T " had been changed or removed outside autoxdp; recreated it (%s)", first);
	}
	err[0] = '\0';
	return install(nft, ports, cfg, err, errlen);
}

int axdp_nft_interfaces(char (*names)[IF_NAMESIZE], int max, char *err, size_t errlen)
{
	static const char input[] = "list set " T " " AXDP_NFT_SET_IFACES "\n";
	char *out, msg[1024];
	const char *p;
	int n = 0;

	if (axdp_nft_session_available(msg, sizeof(msg)))
		return 0;
	out = malloc(NFT_OUT_MAX);
	if (!out)
		return axdp_fail(err, errlen, "out of memory");
	if (axdp_nft_session_run(input, sizeof(input) - 1, out, NFT_OUT_MAX, msg, sizeof(msg))) {
		free(out);
		/* No table (or no set in it): nothing protected by nftables. */
		if (strstr(msg, "No such file or directory"))
			return 0;
		return axdp_fail(err, errlen, "%s", msg);
	}
	p = strstr(out, "elements = {");
	while (p && (p = strchr(p, '"')) && n < max) {
		const char *end = strchr(p + 1, '"');

		if (!end)
			break;
		snprintf(names[n++], IF_NAMESIZE, "%.*s", (int)(end - p - 1), p + 1);
		p = end + 1;
	}
	free(out);
	return n;
}

/*
 * "counter NAME {" ... "packets N bytes M" of a listing: the reason NAME
 * counts, or AUDIT_PREFIX NAME would-drops.  Whether there were any of
 * the latter: the table runs Mode=audit.
 */
static bool parse_counters(const char *text, struct axdp_counter counts[AXDP_REASON_COUNT],
			   struct axdp_counter would[AXDP_REASON_COUNT])
{
	bool audit_table = false;

	for (const char *p = strstr(text, "counter "); p; p = strstr(p + 1, "counter ")) {
		char name[64];
		unsigned long long packets, bytes;
		const char *body = strchr(p, '{'), *id;
		bool audit;

		if (!body || sscanf(p, "counter %63s", name) != 1 ||
		    sscanf(body + 1, " packets %llu bytes %llu", &packets, &bytes) != 2)
			continue;
		audit = strncmp(name, AUDIT_PREFIX, strlen(AUDIT_PREFIX)) == 0;
		audit_table |= audit;
		id = audit ? name + strlen(AUDIT_PREFIX) : name;
		for (int r = 0; r < AXDP_REASON_COUNT; r++)
			if (strcmp(id, axdp_reason_labels[r].name) == 0) {
				struct axdp_counter *c = audit ? &would[r] : &counts[r];

				c->packets += packets;
				c->bytes += bytes;
			}
	}
	return audit_table;
}

int axdp_nft_counters(struct axdp_counter counts[AXDP_REASON_COUNT], struct axdp_counter would[AXDP_REASON_COUNT],
		      char *err, size_t errlen)
{
	static const char input[] = "list counters table " T "\n";
	char *out, msg[1024];
	bool audit = false;
	int rc;

	memset(counts, 0, AXDP_REASON_COUNT * sizeof(*counts));
	memset(would, 0, AXDP_REASON_COUNT * sizeof(*would));
	if (axdp_nft_session_available(msg, sizeof(msg)))
		return 0;
	out = malloc(NFT_OUT_MAX);
	if (!out)
		return axdp_fail(err, errlen, "out of memory");
	rc = axdp_nft_session_run(input, sizeof(input) - 1, out, NFT_OUT_MAX, msg, sizeof(msg));
	if (rc == 0)
		audit = parse_counters(out, counts, would);
	free(out);
	/* No table of ours: nothing counted by nftables. */
	if (rc && strstr(msg, "No such file or directory"))
		return 0;
	if (rc)
		return axdp_fail(err, errlen, "%s", msg);
	return audit ? 2 : 1;
}
