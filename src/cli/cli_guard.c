// SPDX-License-Identifier: MIT
/*
 * Guard rails: a change that would deny the operator's own SSH session
 * ($SSH_CONNECTION) or the default gateway (every reply from the
 * internet comes through it) is refused unless --force says it is meant.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define MAX_GUARDED 8

struct guarded {
	uint8_t addr[16]; /* v4-mapped for IPv4, as struct axdp_cidr */
	char what[96];
};

/* Default routes' next hops from /proc/net: this network namespace's, as ip route shows them. */
static size_t gateways(struct guarded *g, size_t max)
{
	char line[512], dst[64], hop[64];
	unsigned long d, gw, flags;
	unsigned plen;
	size_t n = 0;
	FILE *f = fopen("/proc/net/route", "re");

	while (f && n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %lx %lx %lx", &d, &gw, &flags) == 3 && d == 0 && gw) {
			struct in_addr a = { .s_addr = (uint32_t)gw };

			memset(g[n].addr, 0, 16);
			g[n].addr[10] = g[n].addr[11] = 0xff;
			memcpy(g[n].addr + 12, &a, 4);
			snprintf(g[n++].what, sizeof(g->what), "the default gateway %s", inet_ntoa(a));
		}
	if (f)
		fclose(f);
	f = fopen("/proc/net/ipv6_route", "re");
	while (f && n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "%32s %x %*s %*s %32s", dst, &plen, hop) == 3 && plen == 0 && strspn(dst, "0") == 32 &&
		    strspn(hop, "0") != 32) {
			char text[INET6_ADDRSTRLEN];

			for (int i = 0; i < 16; i++) {
				unsigned byte;

				sscanf(hop + 2 * i, "%2x", &byte);
				g[n].addr[i] = (uint8_t)byte;
			}
			axdp_addr_format(text, sizeof(text), g[n].addr);
			snprintf(g[n++].what, sizeof(g->what), "the default gateway %s", text);
		}
	if (f)
		fclose(f);
	return n;
}

static size_t guarded(struct guarded *g, size_t max)
{
	const char *ssh = getenv("SSH_CONNECTION");
	struct axdp_cidr source;
	size_t n = 0;
	char client[64];

	/* "CLIENT CLIENT_PORT SERVER SERVER_PORT"; the client parsed as a CIDR key takes it (v4-mapped IPv4). */
	if (ssh && sscanf(ssh, "%63s", client) == 1 && axdp_cidr_parse(client, strlen(client), false, &source) == 0) {
		memcpy(g[0].addr, source.addr, sizeof(g[0].addr));
		snprintf(g[n++].what, sizeof(g->what), "%s, the source of your SSH session ($SSH_CONNECTION)", client);
	}
	return n + gateways(g + n, max - n);
}

int cli_guard(struct cli *c, const char *action, const struct axdp_cidr *v, size_t n, bool force)
{
	struct guarded g[MAX_GUARDED];
	size_t ng = guarded(g, MAX_GUARDED);
	char text[AXDP_CIDR_STRLEN];

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < ng; k++) {
			if (!axdp_cidr_contains(&v[i], g[k].addr))
				continue;
			axdp_cidr_format(text, sizeof(text), &v[i]);
			if (force) {
				cli_warn(c, "%s %s covers %s: done anyway (--force)", action, text, g[k].what);
				continue;
			}
			return cli_error(c, CLI_FAIL,
					 "refusing to %s %s: it covers %s, and would cut this host off; "
					 "--force does it anyway",
					 action, text, g[k].what);
		}
	return CLI_OK;
}
