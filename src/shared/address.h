/* SPDX-License-Identifier: MIT */
/*
 * Addresses and CIDRs as user space holds them: 16 bytes in network
 * order, IPv4 v4-mapped (::ffff:a.b.c.d) like struct axdp_addr in the
 * ABI, so one code path serves both families.  Text goes in and out in
 * the form a user writes: IPv4 as a.b.c.d, prefixes of IPv4 as 0..32.
 */
#ifndef AXDP_ADDRESS_H
#define AXDP_ADDRESS_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The 96 bits of ::ffff:0:0/96 before an IPv4 address; a v4-mapped prefix length is the IPv4 one plus this. */
#define AXDP_V4_MAPPED_BITS 96

/* Is a16 (16 bytes) an IPv4 address, v4-mapped? */
bool axdp_addr_is_v4(const void *a16);

/* a16 := ::ffff:v4 (v4 in network order, as in struct in_addr). */
void axdp_addr_from_v4(void *a16, uint32_t v4);

/* Longest text of an address: a full IPv6 one. */
#define AXDP_ADDR_STRLEN INET6_ADDRSTRLEN

/* a16 as text: IPv4 for a v4-mapped address, IPv6 otherwise; truncated to len. */
void axdp_addr_format(char *buf, size_t len, const void *a16);

/* IPv4 is stored v4-mapped with prefix + 96. */
struct axdp_cidr {
	uint8_t addr[16]; /* network order; bits past prefix are always zero */
	uint8_t prefix;   /* 0..128 */
};

struct axdp_cidr_list {
	struct axdp_cidr *v;
	size_t n, cap;
};

/* Is the CIDR an IPv4 network (v4-mapped, with a prefix that covers the mapping)? */
bool axdp_cidr_is_v4(const struct axdp_cidr *c);

/* The prefix length as the user writes it: 0..32 for IPv4, 0..128 for IPv6. */
unsigned axdp_cidr_prefix_shown(const struct axdp_cidr *c);

bool axdp_cidr_equal(const struct axdp_cidr *a, const struct axdp_cidr *b);

/* Clears the bits of c->addr past c->prefix (0..128): the network c names. */
void axdp_cidr_clear_host_bits(struct axdp_cidr *c);

bool axdp_cidr_contains(const struct axdp_cidr *cidr, const uint8_t addr16[16]);

/* Appends c (duplicates too).  0, or -1 out of memory with l unchanged. */
int axdp_cidr_list_add(struct axdp_cidr_list *l, const struct axdp_cidr *c);

/* What a CIDR's text is, before anyone decides about host bits. */
enum axdp_cidr_scan {
	AXDP_CIDR_OK,
	AXDP_CIDR_BAD_ADDR,   /* neither IPv4 nor IPv6 */
	AXDP_CIDR_BAD_PREFIX, /* not 1 to 3 digits, or longer than the family's */
	AXDP_CIDR_HOST_BITS,  /* bits past the prefix are set; *net holds the network meant */
};

/*
 * An address or ADDR/PREFIX (IPv4 or IPv6) of len bytes.  *c gets the
 * address as written, *net the network it names (both also on HOST_BITS).
 */
enum axdp_cidr_scan axdp_cidr_scan(const char *s, size_t len, struct axdp_cidr *c, struct axdp_cidr *net);

/*
 * An address or ADDR/PREFIX, as the CIDR keys take them.  mask_host_bits:
 * published lists (denylist.h) sometimes set them, and mean the network;
 * the keys themselves reject such entries.  0, or -1 when s is not one.
 */
int axdp_cidr_parse(const char *s, size_t len, bool mask_host_bits, struct axdp_cidr *out);

/* "ADDR/PREFIX", IPv4 for a v4-mapped network; AXDP_CIDR_STRLEN bytes always suffice. */
#define AXDP_CIDR_STRLEN (AXDP_ADDR_STRLEN + 4)
void axdp_cidr_format(char *buf, size_t len, const struct axdp_cidr *c);

#endif
