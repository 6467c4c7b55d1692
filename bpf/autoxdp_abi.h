/* SPDX-License-Identifier: MIT */
/*
 * The contract between the BPF data path and user space: map keys and
 * values, counter ids, map sizes and pin names.  Both sides include this
 * file, so every number here is written exactly once.
 */
#ifndef AUTOXDP_ABI_H
#define AUTOXDP_ABI_H

#include <linux/types.h>

#define AXDP_PORTS            65536
#define AXDP_MAX_VLAN_DEPTH   2   /* 802.1Q plus one QinQ outer tag */
#define AXDP_MAX_IPV6_EXTHDRS 8   /* RFC 8504 lets hosts cap the chain */

/*
 * Map capacities.  An upgrade may change them, and grow a value by
 * appending fields whose zero means what the old layout meant: the loader
 * then takes the pinned map over and carries its entries across
 * (src/map_migrate.c).  A key layout that changes, or a value that
 * shrinks, starts its map empty.  The tests build a second object with
 * some of these overridden (-D) to exercise exactly that.
 */
#ifndef AXDP_CT_ENTRIES
#define AXDP_CT_ENTRIES        262144
#endif
#define AXDP_FRAG_ENTRIES      16384
#define AXDP_ADDR_PORT_ENTRIES 16384
#define AXDP_BIND_EXCLUDE_ENTRIES 1024
#ifndef AXDP_DENY_ENTRIES
#define AXDP_DENY_ENTRIES      (1 << 20)  /* per generation: the public DROP lists fit many times */
#endif
#define AXDP_BAN_ENTRIES       (1 << 20)  /* runtime bans (axdp block add --for): a million fit */
#define AXDP_TRUST_ENTRIES     65536
#define AXDP_LOCAL_ADDR_ENTRIES 1024
#define AXDP_RATE_SET_BITS     17         /* per-source rate buckets: 2^17 sets of two 32-byte slots */
#define AXDP_RATE_SETS         (1u << AXDP_RATE_SET_BITS)
#define AXDP_FLOW_CACHE_BITS   15         /* flow copies: 2^15 slots per family, 40 (IPv4) and 64 bytes */
#define AXDP_FRAG_CACHE_BITS   12         /* IPv6 fragment copies: 2^12 slots of 56 bytes */
#define AXDP_SOCK_ENTRIES      65536
#define AXDP_SOCK_EVENTS_BYTES (256 * 1024)
#define AXDP_DROP_EVENTS_BYTES (256 * 1024)

/* Allow-list: one ARRAY slot per (protocol, port), index l4 * AXDP_PORTS + port. */
enum axdp_l4 {
	AXDP_L4_TCP = 0,
	AXDP_L4_UDP = 1,
	AXDP_L4_COUNT,
};

/*
 * A port_allow value.  Array values lie 8 bytes apart in the mapping the
 * daemon reconciles through, so the padding is spelled out.
 */
struct axdp_port_slot {
	__u32 flags;          /* AXDP_PORT_* */
	__u32 tier;           /* enum axdp_tier: how new connections to it are rate limited */
};

/* Rate-limit tiers of an open port, chosen by the daemon from the listening process or the config. */
enum axdp_tier {
	AXDP_TIER_NORMAL = 0,
	AXDP_TIER_STRICT = 1,    /* sshd, databases: brute-force targets */
	AXDP_TIER_UNLIMITED = 2,
	AXDP_TIER_COUNT,
};

/*
 * Bits of a port_allow slot.  A wildcard listener opens the port for the
 * families it receives: an IPv6 socket on :: both (unless IPV6_V6ONLY),
 * one on 0.0.0.0 (or ::ffff:0.0.0.0) IPv4 alone.  0x1 keeps the meaning
 * it had before the per-family bits, so slots pinned by an older version
 * stay right.
 */
#define AXDP_PORT_OPEN_ANY  0x1  /* any local address of both families: :: without IPV6_V6ONLY, AllowTCP= */
#define AXDP_PORT_OPEN_ADDR 0x2  /* listeners on specific local addresses: see addr_allow */
#define AXDP_PORT_EXCLUDED  0x4  /* configured never to open: the socket hooks leave it closed */
#define AXDP_PORT_OPEN_ANY4 0x8  /* any local IPv4 address: 0.0.0.0 */
#define AXDP_PORT_OPEN_ANY6 0x10 /* any local IPv6 address: :: with IPV6_V6ONLY */
#define AXDP_PORT_OPEN_WILDCARD (AXDP_PORT_OPEN_ANY | AXDP_PORT_OPEN_ANY4 | AXDP_PORT_OPEN_ANY6)
#define AXDP_PORT_OPEN          (AXDP_PORT_OPEN_WILDCARD | AXDP_PORT_OPEN_ADDR)

/*
 * Addresses are IPv6-sized everywhere; IPv4 is stored v4-mapped
 * (::ffff:a.b.c.d) so one key layout serves both families.
 */
struct axdp_addr {
	__be32 w[4];
};

/* The third word of ::ffff:a.b.c.d as it lies in memory. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define AXDP_V4_MAPPED_W2 0xffff0000u
#else
#define AXDP_V4_MAPPED_W2 0x0000ffffu
#endif

static inline __attribute__((always_inline)) int axdp_addr_v4_mapped(const struct axdp_addr *a)
{
	return !a->w[0] && !a->w[1] && a->w[2] == AXDP_V4_MAPPED_W2;
}

/* The wildcard bits that open a port for packets to local. */
static inline __attribute__((always_inline)) __u32 axdp_port_open_for(const struct axdp_addr *local)
{
	return AXDP_PORT_OPEN_ANY | (axdp_addr_v4_mapped(local) ? AXDP_PORT_OPEN_ANY4 : AXDP_PORT_OPEN_ANY6);
}

/* What a listener bound to addr opens on every address: a wildcard bit, or 0 for one address (addr_allow). */
static inline __attribute__((always_inline)) __u32 axdp_wildcard_bit(const struct axdp_addr *a, int v6only)
{
	if (a->w[0] | a->w[1] | a->w[3])
		return 0;
	if (a->w[2] == AXDP_V4_MAPPED_W2)
		return AXDP_PORT_OPEN_ANY4;
	if (a->w[2])
		return 0;
	return v6only ? AXDP_PORT_OPEN_ANY6 : AXDP_PORT_OPEN_ANY;
}

/* Key of the LPM tries (bind_exclude): prefixlen counts from the start of addr, +96 for IPv4. */
struct axdp_lpm_key {
	__u32 prefixlen;
	struct axdp_addr addr;
};

/*
 * Value of the deny and trust tries: the family of sources an entry
 * judges.  An IPv4 entry is one within ::ffff:0:0/96, however it was
 * written; any other is IPv6, and an IPv6 prefix wide enough to span the
 * v4-mapped block (::/0, the ::/8 of bogon lists) says nothing about
 * IPv4 sources.  1 is also what tries written before this distinction
 * hold for every entry.
 */
enum axdp_lpm_family {
	AXDP_LPM_IPV4 = 1,
	AXDP_LPM_IPV6 = 2,
};

/*
 * Source buckets: an IPv4 source's is its /24, an IPv6 source's its /32
 * hashed onto v6_bits bits, numbered after the 2^24 IPv4 ones.  Host-order
 * words in, so user space and the data path compute the same bucket.
 */
#define AXDP_DENY_BUCKET_BITS 24
#define AXDP_DENY_V6_BUCKETS  (1u << AXDP_DENY_BUCKET_BITS)  /* bucket numbers of IPv6 start here */

static inline __attribute__((always_inline)) __u32 axdp_source_bucket_v6(__u32 top32, __u32 v6_bits)
{
	return AXDP_DENY_V6_BUCKETS + ((top32 * 0x9e3779b1u) >> (32 - v6_bits));
}

static inline __attribute__((always_inline)) __u32 axdp_source_bucket(__u32 w0, __u32 w1, __u32 w2, __u32 w3,
								      __u32 v6_bits)
{
	if (!w0 && !w1 && w2 == 0xffff)
		return w3 >> (32 - AXDP_DENY_BUCKET_BITS);
	return axdp_source_bucket_v6(w0, v6_bits);
}

/*
 * Buckets the runtime bans leave alone, one bit each in the deny_clear
 * array (__u64 words): a set bit means no ban covers any address of the
 * bucket, so the data path skips the bans trie.  A clear bit only means
 * "look it up": a fresh map of zeros is correct.
 */
#define AXDP_DENY_CLEAR_V6_BITS 24
#define AXDP_DENY_CLEAR_WORDS ((AXDP_DENY_V6_BUCKETS + (1u << AXDP_DENY_CLEAR_V6_BITS)) / 64)

static inline __attribute__((always_inline)) __u32 axdp_deny_bucket(__u32 w0, __u32 w1, __u32 w2, __u32 w3)
{
	return axdp_source_bucket(w0, w1, w2, w3, AXDP_DENY_CLEAR_V6_BITS);
}

/*
 * The deny list is kept in the shape public lists have: most entries are
 * single addresses, a few are prefixes.  Per generation:
 *  - exact sets: hash maps the daemon creates sized to the list and puts
 *    at the generation's index of the deny_exact4 and deny_exact6 arrays
 *    of maps (an empty index is an empty set); IPv4 keyed by the __be32
 *    address, IPv6 by struct axdp_addr; value __u8, the prefixlen (as in
 *    the trie's keys) of the entry the address comes from: single
 *    addresses, and IPv4 /25../31 as their addresses;
 *  - the other prefixes in the deny_0 / deny_1 trie;
 *  - in the deny_state array, from gen * AXDP_DENY_GEN_WORDS, two bits per
 *    source bucket saying what can hold its sources, then the seen bits.
 * An IPv4 bucket a prefix covers whole is denied outright, so a source
 * costs one word, a near-listed one a word more, a listed address a hash
 * lookup more.  Zero, what a fresh map holds, means "look at both".
 */
enum axdp_deny_state {
	AXDP_DENY_LOOKUP = 0,   /* the exact set, then the trie */
	AXDP_DENY_EXACT = 1,    /* the exact set only: no prefix reaches the bucket */
	AXDP_DENY_WHOLE = 2,    /* a prefix covers the whole bucket (IPv4 only): denied */
	AXDP_DENY_NONE = 3,     /* nothing listed in the bucket */
};

#define AXDP_DENY_STATE_V6_BITS 20
#define AXDP_DENY_STATE_BUCKETS (AXDP_DENY_V6_BUCKETS + (1u << AXDP_DENY_STATE_V6_BITS))
#define AXDP_DENY_STATE_WORDS   (AXDP_DENY_STATE_BUCKETS / 32)

static inline __attribute__((always_inline)) __u32 axdp_deny_state_bucket(__u32 w0, __u32 w1, __u32 w2, __u32 w3)
{
	return axdp_source_bucket(w0, w1, w2, w3, AXDP_DENY_STATE_V6_BITS);
}

/*
 * After a generation's state words, its AXDP_DENY_SEEN_WORDS words of
 * one bit per hash of a single address: a clear bit means no address of
 * the exact sets hashes there, so a source next to listed ones mostly
 * costs no hash lookup either.
 */
#define AXDP_DENY_SEEN_BITS  24
#define AXDP_DENY_SEEN_WORDS ((1u << AXDP_DENY_SEEN_BITS) / 64)
#define AXDP_DENY_GEN_WORDS  (AXDP_DENY_STATE_WORDS + AXDP_DENY_SEEN_WORDS)

/* Host-order words in; an IPv4 address's bit from the address alone, the IPv6 one's from all four words. */
static inline __attribute__((always_inline)) __u32 axdp_deny_seen_bit_v4(__u32 addr)
{
	return (addr * 0x9e3779b1u) >> (32 - AXDP_DENY_SEEN_BITS);
}

static inline __attribute__((always_inline)) __u32 axdp_deny_seen_bit_v6(__u32 w0, __u32 w1, __u32 w2, __u32 w3)
{
	return (w0 * 0x85ebca6bu + w1 * 0xc2b2ae35u + w2 * 0x27d4eb2fu + w3 * 0x9e3779b1u) >> (32 - AXDP_DENY_SEEN_BITS);
}

/*
 * Source policy state, one entry.  Two generations of the deny list
 * (exact sets, trie, deny_state words) exist so a list is replaced whole:
 * the daemon fills the idle one, then flips deny_generation.  Counts let
 * the data path skip empty lists.
 */
struct axdp_policy {
	__u32 deny_generation;  /* 0: deny_0 and index 0 are live, 1: deny_1 and index 1 */
	__u32 deny_entries;     /* in the live generation, exact and prefixes */
	__u32 trust_entries;
	__u32 local_addrs;      /* entries of local_addrs */
	/*
	 * Nonzero from the first runtime ban until a sync of the bans finds
	 * none: without bans a source costs no deny_clear read.  Appended
	 * (an upgrade zero-fills it, and the daemon's start sets it from the
	 * bans it loads).
	 */
	__u32 bans;
};

/*
 * The data path's own keyed hash of n words: NH (sums of products of
 * key-offset words) mixed by MurmurHash3's finalizer, so that inputs
 * differing in a few bits spread over a table.  Without the key nobody
 * can pick inputs that share a slot; with it, a test can.  The key has a
 * word per input word, and one more when n is odd.
 */
#define AXDP_HASH_KEY_WORDS 10

/* A word of any key: keys are structs of narrower members, read here a word at a time. */
typedef __u32 __attribute__((may_alias)) axdp_word;

static inline __attribute__((always_inline)) __u64 axdp_keyed_hash(const axdp_word *w, unsigned int n,
								   const volatile __u32 *key)
{
	__u64 h = 0;
	unsigned int i;

	for (i = 0; i < n; i += 2)
		h += (__u64)(__u32)(w[i] + key[i]) * (__u32)(i + 1 < n ? w[i + 1] + key[i + 1] : key[i + 1] | 1);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* The slot of a table of 2^bits a hash places: its top bits, the best mixed. */
static inline __attribute__((always_inline)) __u32 axdp_hash_index(__u64 h, unsigned int bits)
{
	return (__u32)(h >> (64 - bits));
}

/* The set of slots of a per-source rate bucket: the masked source and port << 8 | l4, hashed. */
static inline __attribute__((always_inline)) __u32
axdp_rate_set(const struct axdp_addr *source, __u32 port_l4, const volatile __u32 *key)
{
	__u32 w[5] = { source->w[0], source->w[1], source->w[2], source->w[3], port_l4 };

	return axdp_hash_index(axdp_keyed_hash(w, 5, key), AXDP_RATE_SET_BITS);
}

/* TCP flags, byte 13 of the header, as the data path and the nftables backend judge them. */
enum axdp_tcp_flag {
	AXDP_TCP_FIN = 0x01,
	AXDP_TCP_SYN = 0x02,
	AXDP_TCP_RST = 0x04,
	AXDP_TCP_PSH = 0x08,
	AXDP_TCP_ACK = 0x10,
	AXDP_TCP_URG = 0x20,
	AXDP_TCP_FLAGS = 0x3f, /* the six above; ECE and CWR mean nothing here */
};

/* No flag at all, FIN|PSH|URG (the XMAS scan), or SYN with FIN or RST: no stack sends these. */
static inline __attribute__((always_inline)) int axdp_tcp_flags_malformed(__u8 flags)
{
	const __u8 xmas = AXDP_TCP_FIN | AXDP_TCP_PSH | AXDP_TCP_URG;

	return !(flags & AXDP_TCP_FLAGS) || (flags & xmas) == xmas ||
	       ((flags & AXDP_TCP_SYN) && (flags & (AXDP_TCP_FIN | AXDP_TCP_RST)));
}

/* addr_allow key: this port is open on this local address only. Value: __u8 1. */
struct axdp_addr_port {
	struct axdp_addr local;
	__u16 port;           /* host byte order */
	__u8 l4;              /* enum axdp_l4 */
	__u8 pad;
};

/*
 * A flow the host itself opened, keyed as an inbound packet of it would
 * be seen, so ingress looks it up without swapping.  Ports in network
 * byte order; for ICMP echo local_port carries the echo identifier.
 * The key of conntrack (IPv6 flows), and user space's form of either
 * family's key (IPv4 addresses v4-mapped: src/shared/conntrack_map.h).
 */
struct axdp_flow_key {
	struct axdp_addr remote;
	struct axdp_addr local;
	__be16 remote_port;
	__be16 local_port;
	__u8 proto;           /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 */
	__u8 pad[3];
};

/*
 * An IPv4 flow's key in conntrack4 (IPv6 flows stay in conntrack): the
 * kernel hashes every byte of a key, and 16 bytes are two jhash rounds
 * where the 40 of axdp_flow_key are four.  Each member is a whole word,
 * written by one store: the hash reads the key in words, and a word
 * assembled from narrower stores just before stalls that read.
 */
struct axdp_flow4_key {
	__be32 remote;
	__be32 local;
	__u32 ports;          /* remote_port and local_port as they lie in axdp_flow_key: axdp_flow4_ports() */
	__u32 proto;
};

static inline __attribute__((always_inline)) __u32 axdp_flow4_ports(__be16 remote_port, __be16 local_port)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u32)remote_port | (__u32)local_port << 16;
#else
	return (__u32)remote_port << 16 | (__u32)local_port;
#endif
}

/* A key's protocol byte and the three zero bytes after it (axdp_flow_key, axdp_frag_key) as one word. */
static inline __attribute__((always_inline)) __u32 axdp_proto_word(__u8 proto)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return proto;
#else
	return (__u32)proto << 24;
#endif
}

/*
 * The hashes that place copies (bpf/flows.h, bpf/state.h): an IPv4
 * flow's whole key; an IPv6 flow's remote address, ports and protocol,
 * which spread flows as well at two products fewer (the slot's key
 * compare covers the local address); an IPv6 datagram's whole key.
 */
static inline __attribute__((always_inline)) __u64 axdp_flow4_copy_hash(const struct axdp_flow4_key *k,
									const volatile __u32 *key)
{
	return axdp_keyed_hash((const axdp_word *)k, sizeof(*k) / 4, key);
}

static inline __attribute__((always_inline)) __u64 axdp_flow6_copy_hash(const struct axdp_flow_key *k,
									const volatile __u32 *key)
{
	const axdp_word *kw = (const axdp_word *)k;
	__u32 w[6] = { kw[0], kw[1], kw[2], kw[3], kw[8], kw[9] };

	return axdp_keyed_hash(w, 6, key);
}

#define AXDP_FLOW_CLOSING 0x1 /* the host sent a FIN: short timeout from now on */

struct axdp_flow {
	__u64 last_seen_ns;   /* last egress packet, bpf_ktime_get_coarse_ns() */
	__u32 flags;
	__u32 pad;
};

/*
 * A slot of flow_cache4 and flow_cache6 (bpf/flows.h): a copy of a
 * conntrack entry at the index of its key's keyed hash.  check is that
 * hash with the low bit set, 0 in an empty slot.
 */
struct axdp_flow_copy {
	__u64 check;
	struct axdp_flow flow;
};

struct axdp_flow_copy4 {
	struct axdp_flow_copy copy;
	struct axdp_flow4_key key;
};

struct axdp_flow_copy6 {
	struct axdp_flow_copy copy;
	struct axdp_flow_key key;
};

/*
 * flow_ports[l4 * AXDP_PORTS + local port]: when a flow from that local
 * port was last recorded (bpf_ktime_get_coarse_ns clock; 0: never), and
 * egress_clock[0]: that clock as egress last saw it.  Together they prove
 * cheaply that no flow can match an inbound packet, so a flood to closed
 * ports is dropped without a conntrack lookup.  Whoever adds a flow to
 * conntrack marks its local port here too.
 */
#define AXDP_MAP_FLOW_PORTS   "flow_ports"
#define AXDP_MAP_EGRESS_CLOCK "egress_clock"

/*
 * A datagram whose first fragment passed; later fragments follow it.
 * IPv6 datagrams in fragments, IPv4 ones in fragments4: the kernel hashes
 * every byte of a key, and a 12-byte key is one jhash round where the 40
 * bytes of both families' addresses are four.
 */
struct axdp_frag_key {
	struct axdp_addr src;
	struct axdp_addr dst;
	__u32 id;             /* the IPv6 fragment id */
	__u8 proto;
	__u8 pad[3];
};

struct axdp_frag4_key {
	__be32 src;
	__be32 dst;
	/*
	 * The 16-bit id << 8 | protocol: one word, written by one store, since
	 * the hash reads the key in words and a word assembled from narrower
	 * stores stalls the read.
	 */
	__u32 id_proto;
};

struct axdp_frag {
	__u64 first_seen_ns;
};

/* A slot of frag_cache6: a copy of an IPv6 fragments entry, as axdp_flow_copy is of a flow's. */
struct axdp_frag_copy6 {
	__u64 check;
	struct axdp_frag frag;
	struct axdp_frag_key key;
};

static inline __attribute__((always_inline)) __u64 axdp_frag6_copy_hash(const struct axdp_frag_key *k,
									const volatile __u32 *key)
{
	return axdp_keyed_hash((const axdp_word *)k, sizeof(*k) / 4, key);
}

/*
 * A rate as the generic cell rate algorithm keeps it: one unit is allowed
 * every interval_ns, and up to tolerance_ns ahead of that (the burst).
 */
struct axdp_rate {
	__u64 interval_ns;
	__u64 tolerance_ns;
};

/*
 * Knobs: the object's .rodata variable "knobs", set by the loader before
 * load, so the verifier sees constants and drops branches of features
 * that are off.  Changing them means loading the program again and
 * swapping it into the existing links.
 */
#define AXDP_KNOBS_VAR "knobs"
#define AXDP_NSEC_PER_SEC 1000000000ULL

struct axdp_knobs {
	__u64 tcp_timeout_ns;          /* idle established flow */
	__u64 tcp_closing_timeout_ns;  /* after the host sent a FIN */
	__u64 udp_timeout_ns;
	__u64 icmp_timeout_ns;         /* echo request awaiting its reply */
	__u64 frag_timeout_ns;         /* later fragments after the first */
	/* Socket hooks act only on sockets of this network namespace; 0 leaves them inert. */
	__u64 netns_cookie;
	/* UDP binds inside the ephemeral range are clients' and open nothing. */
	__u16 ephemeral_lo;
	__u16 ephemeral_hi;
	__u32 events_per_cpu;   /* drop events sampled per second per CPU while someone reads them */

	/* Source policy. */
	__u8 drop_martians;           /* sources never legitimate on an internet-facing link */
	__u8 trust_opens_tcp;         /* trusted sources reach every TCP port */
	__u8 dhcp_client;             /* DHCP and DHCPv6 server replies reach the host's client, port or not */
	/* Mode=audit: every verdict as in enforce mode, but what would drop passes. */
	__u8 audit;
	__u8 pad[4];
	/* Rate limits; an interval of 0 turns a limit off and the verifier drops its code. */
	struct axdp_rate syn[AXDP_TIER_COUNT];  /* new TCP connections per source and port */
	struct axdp_rate udp_source;             /* UDP datagrams per source and port */
	struct axdp_rate udp_port_packets;       /* per port, per CPU */
	struct axdp_rate udp_port_bytes;         /* per port, per CPU; one unit is one byte */
	struct axdp_rate icmp_echo;              /* echo requests, per CPU */
	/* Sources are rate limited by these prefixes (v4-mapped for IPv4). */
	struct axdp_addr source_mask_v4;
	struct axdp_addr source_mask_v6;
	/* Key of axdp_keyed_hash() (rate sets, flow copies); all zero: the loader draws one at each load. */
	__u32 hash_key[AXDP_HASH_KEY_WORDS];
};

#define AXDP_DEFAULT_TCP_TIMEOUT_S         86400
#define AXDP_DEFAULT_TCP_CLOSING_TIMEOUT_S 120
#define AXDP_DEFAULT_UDP_TIMEOUT_S         120
#define AXDP_DEFAULT_ICMP_TIMEOUT_S        30
#define AXDP_DEFAULT_FRAG_TIMEOUT_S        30
#define AXDP_DEFAULT_EVENTS_PER_CPU        50

#define AXDP_KNOBS_DEFAULT {                                                          \
	.drop_martians = 1,                                                               \
	.dhcp_client = 1,                                                                 \
	.tcp_timeout_ns = AXDP_DEFAULT_TCP_TIMEOUT_S * AXDP_NSEC_PER_SEC,                 \
	.tcp_closing_timeout_ns = AXDP_DEFAULT_TCP_CLOSING_TIMEOUT_S * AXDP_NSEC_PER_SEC, \
	.udp_timeout_ns = AXDP_DEFAULT_UDP_TIMEOUT_S * AXDP_NSEC_PER_SEC,                 \
	.icmp_timeout_ns = AXDP_DEFAULT_ICMP_TIMEOUT_S * AXDP_NSEC_PER_SEC,               \
	.frag_timeout_ns = AXDP_DEFAULT_FRAG_TIMEOUT_S * AXDP_NSEC_PER_SEC,               \
	.events_per_cpu = AXDP_DEFAULT_EVENTS_PER_CPU,                                    \
}

/*
 * Every verdict the data path can reach, with the reason it was reached.
 * X(number, id, action, name): number is the reason's counter slot;
 * action and name are what operators and metrics see.
 *
 * Numbers are frozen.  The counters map is pinned and outlives upgrades,
 * so a reason whose number moved would carry another reason's counts
 * into the new version.  A new reason takes the next number; a retired
 * one keeps its row, so the numbers stay 0 .. AXDP_REASON_COUNT - 1.
 * Whether a verdict passes is its action (axdp_reason_action), never its
 * place in the list.
 */
#define AXDP_REASONS(X) \
	X( 0, PASS_NON_IP,         pass,   non_ip) \
	X( 1, PASS_TCP_PORT,       pass,   tcp_port_open) \
	X( 2, PASS_TCP_FLOW,       pass,   tcp_conntrack) \
	X( 3, PASS_UDP_PORT,       pass,   udp_port_open) \
	X( 4, PASS_UDP_FLOW,       pass,   udp_conntrack) \
	X( 5, PASS_ICMP_ERROR,     pass,   icmp_error) \
	X( 6, PASS_ICMP_ECHO,      pass,   icmp_echo_request) \
	X( 7, PASS_ICMP_FLOW,      pass,   icmp_echo_reply) \
	X( 8, PASS_NDP,            pass,   icmpv6_ndp_mld) \
	X( 9, PASS_FRAGMENT,       pass,   fragment_follows) \
	X(10, PASS_TRUSTED,        pass,   trusted_source) \
	X(11, DROP_DENIED,         drop,   denied_source) \
	X(12, DROP_MARTIAN,        drop,   martian_source) \
	X(13, DROP_L2_MALFORMED,   drop,   l2_malformed) \
	X(14, DROP_VLAN_DEPTH,     drop,   vlan_too_deep) \
	X(15, DROP_IPV4_MALFORMED, drop,   ipv4_malformed) \
	X(16, DROP_IPV6_MALFORMED, drop,   ipv6_malformed) \
	X(17, DROP_IPV6_EXTHDR,    drop,   ipv6_exthdr_chain) \
	X(18, DROP_FRAG_ORPHAN,    drop,   fragment_orphan) \
	X(19, DROP_PROTO,          drop,   protocol_other) \
	X(20, DROP_TCP_MALFORMED,  drop,   tcp_malformed) \
	X(21, DROP_TCP_CLOSED,     drop,   tcp_port_closed) \
	X(22, DROP_UDP_MALFORMED,  drop,   udp_malformed) \
	X(23, DROP_UDP_CLOSED,     drop,   udp_port_closed) \
	X(24, DROP_ICMP_MALFORMED, drop,   icmp_malformed) \
	X(25, DROP_ICMP_OTHER,     drop,   icmp_other) \
	X(26, DROP_ICMP_UNMATCHED, drop,   icmp_error_unmatched) \
	X(27, DROP_SYN_RATE,       drop,   syn_rate_limited) \
	X(28, DROP_UDP_RATE,       drop,   udp_rate_limited) \
	X(29, DROP_UDP_BUDGET,     drop,   udp_port_budget) \
	X(30, DROP_ICMP_RATE,      drop,   icmp_rate_limited) \
	X(31, EGRESS_TRACKED,      egress, flow_tracked) \
	X(32, EGRESS_SERVER,       egress, server_reply) \
	X(33, EGRESS_CLOSED,       egress, flow_closed) \
	X(34, EGRESS_OTHER,        egress, untracked) \
	X(35, PASS_DHCP_REPLY,     pass,   dhcp_reply)

enum axdp_reason {
#define AXDP_REASON_ENUM(number, id, action, name) AXDP_##id = (number),
	AXDP_REASONS(AXDP_REASON_ENUM)
#undef AXDP_REASON_ENUM
};

#define AXDP_REASON_ONE(number, id, action, name) + 1
enum { AXDP_REASON_COUNT = 0 AXDP_REASONS(AXDP_REASON_ONE) };
#undef AXDP_REASON_ONE

/* The action column as a value: AXDP_ACTION_##action. */
enum axdp_action {
	AXDP_ACTION_pass,
	AXDP_ACTION_drop,
	AXDP_ACTION_egress,
};

/* The reasons of an action, a bit each: constants the data path tests a verdict against. */
#define AXDP_REASON_IF_PASS(number, id, action, name) | (AXDP_ACTION_##action == AXDP_ACTION_pass ? 1ULL << (number) : 0)
#define AXDP_REASON_IF_DROP(number, id, action, name) | (AXDP_ACTION_##action == AXDP_ACTION_drop ? 1ULL << (number) : 0)
#define AXDP_PASS_REASONS (0ULL AXDP_REASONS(AXDP_REASON_IF_PASS))
#define AXDP_DROP_REASONS (0ULL AXDP_REASONS(AXDP_REASON_IF_DROP))

static inline __attribute__((always_inline)) enum axdp_action axdp_reason_action(__u32 reason)
{
	if ((AXDP_PASS_REASONS >> (reason & 63)) & 1)
		return AXDP_ACTION_pass;
	if ((AXDP_DROP_REASONS >> (reason & 63)) & 1)
		return AXDP_ACTION_drop;
	return AXDP_ACTION_egress;
}

/* Is this verdict a drop (in audit mode: a packet that would have been dropped)? */
#define AXDP_REASON_DROPS(reason) (axdp_reason_action(reason) == AXDP_ACTION_drop)

/*
 * Counter slots exceed the reasons so an upgrade adding one can reuse the
 * pinned map.  Never change it: an upgrade carries counters over index by
 * index, and slot * AXDP_COUNTER_SLOTS + reason must stay where it was.
 */
#define AXDP_COUNTER_SLOTS 64

/* Numbers unique, dense and within the slots, and each released number's action as it was released. */
#define AXDP_REASON_CHECK(number, id, action, name) \
	_Static_assert((number) < AXDP_REASON_COUNT, "reason " #name ": numbers run from 0 without a gap");
AXDP_REASONS(AXDP_REASON_CHECK)
#undef AXDP_REASON_CHECK
#define AXDP_REASON_SUM(number, id, action, name) + (1ULL << (number))
#define AXDP_REASON_UNION(number, id, action, name) | (1ULL << (number))
_Static_assert((0ULL AXDP_REASONS(AXDP_REASON_SUM)) == (0ULL AXDP_REASONS(AXDP_REASON_UNION)),
	       "a reason number is listed twice");
#undef AXDP_REASON_SUM
#undef AXDP_REASON_UNION
_Static_assert(AXDP_REASON_COUNT <= AXDP_COUNTER_SLOTS, "more reasons than counter slots");
_Static_assert(AXDP_PASS_REASONS == 0x8000007ffULL && AXDP_DROP_REASONS == 0x7ffff800ULL,
	       "a released reason changed its action: pinned counters would change meaning; append a new reason");

/*
 * Counters are kept per interface: counters[slot * AXDP_COUNTER_SLOTS + reason].
 * iface_slots[ifindex % AXDP_IFINDEX_KEYS] names the slot of an attached
 * interface; slot 0 counts packets of interfaces without one.
 */
#ifndef AXDP_IFACE_SLOTS
#define AXDP_IFACE_SLOTS  16   /* may grow: slots are appended to the counters map */
#endif
#define AXDP_IFINDEX_KEYS 4096

struct axdp_iface_slot {
	__u32 ifindex;        /* 0: free */
	__u32 slot;           /* 1 .. AXDP_IFACE_SLOTS - 1 */
};

/*
 * Sampled drop events for `axdp events`.  The data path writes them only
 * while a reader keeps event_ctl.listen_until_ns in the future, and at
 * most knobs.events_per_cpu per second on each CPU, so a flood costs a
 * map read per drop and the log stays readable.
 */
struct axdp_event_ctl {
	__u64 listen_until_ns;   /* bpf_ktime_get_coarse_ns() clock */
};

struct axdp_event_budget {
	__u64 window_ns;         /* start of the current one-second window */
	__u32 sent;
	__u32 skipped;           /* drops not sampled since the last event */
};

struct axdp_drop_event {
	__u64 ts_ns;
	__u32 ifindex;
	__u32 skipped;           /* drops this CPU did not sample before this one */
	struct axdp_addr src;
	struct axdp_addr dst;
	__u16 sport;             /* host byte order; ICMP: 0 */
	__u16 dport;
	__u8 proto;              /* 0 when the packet did not parse as far as IP */
	__u8 reason;             /* enum axdp_reason */
	__u8 ipv6;
	__u8 flags;              /* AXDP_EVENT_* */
};

#define AXDP_EVENT_WOULD_DROP 0x1   /* audit mode: judged a drop, passed */

/*
 * What the socket hooks tell the daemon through the sock_events ring
 * buffer: a port was opened at listen()/bind() time, or a listening
 * socket went away and the daemon should check whether the port closes.
 */
enum axdp_sock_event_kind {
	AXDP_SOCK_OPENED = 1,
	AXDP_SOCK_CLOSED = 2,
};

struct axdp_sock_event {
	__u8 kind;            /* enum axdp_sock_event_kind */
	__u8 l4;              /* enum axdp_l4 */
	__u16 port;           /* host byte order */
	__u32 pid;
	struct axdp_addr addr;
	char comm[16];
};

/* What the UDP hooks remember per socket: sock_release cannot read the port. */
struct axdp_sock_bind {
	struct axdp_addr addr;
	__u16 port;
	__u16 pad;
};

/* Per-CPU value of the counters map, indexed by enum axdp_reason. */
struct axdp_counter {
	__u64 packets;
	__u64 bytes;
};

/* Names of the maps and programs in the object; maps are pinned by these. */
#define AXDP_MAP_COUNTERS   "counters"
#define AXDP_MAP_AUDIT_COUNTERS "audit_counters"
#define AXDP_MAP_PORT_ALLOW "port_allow"
#define AXDP_MAP_ADDR_ALLOW "addr_allow"
#define AXDP_MAP_CONNTRACK  "conntrack"
#define AXDP_MAP_CONNTRACK4 "conntrack4"
#define AXDP_MAP_FRAGMENTS  "fragments"
#define AXDP_MAP_FRAGMENTS4 "fragments4"
#define AXDP_MAP_BIND_EXCLUDE "bind_exclude"
#define AXDP_MAP_UDP_SOCKS  "udp_socks"
#define AXDP_MAP_SOCK_EVENTS "sock_events"
#define AXDP_MAP_IFACE_SLOTS "iface_slots"
#define AXDP_MAP_POLICY     "policy"
#define AXDP_MAP_DENY_0     "deny_0"
#define AXDP_MAP_DENY_1     "deny_1"
#define AXDP_MAP_DENY_CLEAR "deny_clear"
#define AXDP_MAP_DENY_STATE "deny_state"
#define AXDP_MAP_DENY_EXACT4 "deny_exact4"
#define AXDP_MAP_DENY_EXACT6 "deny_exact6"
#define AXDP_MAP_BANS       "bans"
#define AXDP_MAP_TRUST      "trust"
#define AXDP_MAP_LOCAL_ADDRS "local_addrs"
#define AXDP_MAP_RATE_SETS  "rate_sets"
#define AXDP_MAP_FLOW_CACHE4 "flow_cache4"
#define AXDP_MAP_FLOW_CACHE6 "flow_cache6"
#define AXDP_MAP_FRAG_CACHE6 "frag_cache6"
#define AXDP_MAP_EVENT_CTL  "event_ctl"
#define AXDP_MAP_EVENT_BUDGET "event_budget"
#define AXDP_MAP_DROP_EVENTS "drop_events"
#define AXDP_PROG_XDP       "xdp_ingress"
#define AXDP_PROG_TC        "tc_egress"
/* Socket hooks: attached by the daemon, pinned like the data path's links. */
#define AXDP_PROG_LISTEN    "tcp_listen"
#define AXDP_PROG_BIND4     "udp_bind4"
#define AXDP_PROG_BIND6     "udp_bind6"
#define AXDP_PROG_RELEASE   "udp_release"

#endif /* AUTOXDP_ABI_H */
