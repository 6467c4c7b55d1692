// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "parse_number.h"
#include "util.h"

static const uint8_t v4_mapped_prefix[AXDP_V4_MAPPED_BITS / 8] = { [10] = 0xff, [11] = 0xff };

bool axdp_addr_is_v4(const void *a16)
{
	return !memcmp(a16, v4_mapped_prefix, sizeof(v4_mapped_prefix));
}

void axdp_addr_from_v4(void *a16, uint32_t v4)
{
	memcpy(a16, v4_mapped_prefix, sizeof(v4_mapped_prefix));
	memcpy((uint8_t *)a16 + sizeof(v4_mapped_prefix), &v4, sizeof(v4));
}

void axdp_addr_format(char *buf, size_t len, const void *a16)
{
	char text[AXDP_ADDR_STRLEN];

	if (axdp_addr_is_v4(a16))
		inet_ntop(AF_INET, (const uint8_t *)a16 + sizeof(v4_mapped_prefix), text, sizeof(text));
	else
		inet_ntop(AF_INET6, a16, text, sizeof(text));
	snprintf(buf, len, "%s", text);
}

bool axdp_cidr_is_v4(const struct axdp_cidr *c)
{
	return c->prefix >= AXDP_V4_MAPPED_BITS && axdp_addr_is_v4(c->addr);
}

unsigned axdp_cidr_prefix_shown(const struct axdp_cidr *c)
{
	return axdp_cidr_is_v4(c) ? c->prefix - AXDP_V4_MAPPED_BITS : c->prefix;
}

/* Field by field: the padding after prefix is not ours to compare. */
bool axdp_cidr_equal(const struct axdp_cidr *a, const struct axdp_cidr *b)
{
	return a->prefix == b->prefix && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

void axdp_cidr_clear_host_bits(struct axdp_cidr *c)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (full < 16) {
		c->addr[full] &= (uint8_t)(0xff00u >> rest);
		memset(c->addr + full + 1, 0, 16 - full - 1);
	}
}

bool axdp_cidr_contains(const struct axdp_cidr *cidr, const uint8_t addr16[16])
{
	unsigned full = cidr->prefix / 8, rest = cidr->prefix % 8;

	if (cidr->prefix > 128)
		return false;
	if (memcmp(cidr->addr, addr16, full))
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (cidr->addr[full] & mask) == (addr16[full] & mask);
}

int axdp_cidr_list_add(struct axdp_cidr_list *l, const struct axdp_cidr *c)
{
	if (AXDP_GROW(l->v, l->cap, l->n))
		return -1;
	l->v[l->n++] = *c;
	return 0;
}

void axdp_cidr_format(char *buf, size_t len, const struct axdp_cidr *c)
{
	char addr[AXDP_ADDR_STRLEN];

	/* A network is IPv4 only when its prefix covers the mapping; ::ffff:0:0/95 is IPv6. */
	if (axdp_cidr_is_v4(c))
		axdp_addr_format(addr, sizeof(addr), c->addr);
	else
		inet_ntop(AF_INET6, c->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, axdp_cidr_prefix_shown(c));
}

/* The longest prefix length anyone writes has 3 digits: "/0032" is surely a typo, not 32. */
#define PREFIX_DIGITS_MAX 3

enum axdp_cidr_scan axdp_cidr_scan(const char *tok, size_t len, struct axdp_cidr *c, struct axdp_cidr *net)
{
	char buf[AXDP_ADDR_STRLEN + 8];
	const char *slash = memchr(tok, '/', len);
	size_t alen = slash ? (size_t)(slash - tok) : len;
	bool v6 = memchr(tok, ':', alen) != NULL;
	unsigned max = v6 ? 128 : 32, prefix = max;

	memset(c, 0, sizeof(*c));
	memset(net, 0, sizeof(*net));
	if (alen >= sizeof(buf))
		return AXDP_CIDR_BAD_ADDR;
	memcpy(buf, tok, alen);
	buf[alen] = '\0';
	if (v6) {
		if (inet_pton(AF_INET6, buf, c->addr) != 1)
			return AXDP_CIDR_BAD_ADDR;
	} else {
		struct in_addr v4;

		if (inet_pton(AF_INET, buf, &v4) != 1)
			return AXDP_CIDR_BAD_ADDR;
		axdp_addr_from_v4(c->addr, v4.s_addr);
	}
	if (slash) {
		size_t plen = len - alen - 1;
		uint64_t x;

		if (plen > PREFIX_DIGITS_MAX || axdp_parse_uint(slash + 1, plen, max, &x))
			return AXDP_CIDR_BAD_PREFIX;
		prefix = (unsigned)x;
	}
	c->prefix = (uint8_t)(v6 ? prefix : prefix + AXDP_V4_MAPPED_BITS);

	*net = *c;
	axdp_cidr_clear_host_bits(net);
	return memcmp(net->addr, c->addr, 16) ? AXDP_CIDR_HOST_BITS : AXDP_CIDR_OK;
}

int axdp_cidr_parse(const char *s, size_t len, bool mask_host_bits, struct axdp_cidr *out)
{
	struct axdp_cidr c, net;
	enum axdp_cidr_scan r = axdp_cidr_scan(s, len, &c, &net);

	if (r == AXDP_CIDR_OK || (r == AXDP_CIDR_HOST_BITS && mask_host_bits)) {
		*out = net;
		return 0;
	}
	return -1;
}
