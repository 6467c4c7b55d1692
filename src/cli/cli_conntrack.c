// SPDX-License-Identifier: MIT
/* axdp conntrack: the connections the host opened, as the tc egress program recorded them. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cli.h"
#include "util.h"

#define DEFAULT_LIMIT 100

struct entry {
	struct axdp_flow_key key;
	struct axdp_flow flow;
};

struct ct_opts {
	unsigned long limit;
};

static int on_opt(struct cli *c, int id, const char *arg, void *st)
{
	struct ct_opts *o = st;

	if (id == CLI_OPT_FIRST_LOCAL)
		return cli_parse_count(c, "--limit", arg, &o->limit);
	return CLI_USAGE;
}

static int newest_first(const void *a, const void *b)
{
	__u64 x = ((const struct entry *)a)->flow.last_seen_ns, y = ((const struct entry *)b)->flow.last_seen_ns;

	return x > y ? -1 : x < y;
}

/* Every entry, to sort them before printing. */
struct collect {
	struct entry *v;
	size_t n, cap;
};

static int collect_one(const struct axdp_flow_key *k, const struct axdp_flow *f, void *ctx)
{
	struct collect *c = ctx;

	if (AXDP_GROW(c->v, c->cap, c->n))
		return -1;
	c->v[c->n++] = (struct entry){ .key = *k, .flow = *f };
	return 0;
}

static const char *proto_of(const struct axdp_flow_key *k)
{
	return cli_proto_name(k->proto);
}

static double timeout_of(const struct cli *c, const struct entry *e)
{
	switch (e->key.proto) {
	case IPPROTO_TCP:
		return e->flow.flags & AXDP_FLOW_CLOSING ? c->cfg.tcp_closing_timeout_s : c->cfg.tcp_timeout_s;
	case IPPROTO_UDP: return c->cfg.udp_timeout_s;
	default: return c->cfg.icmp_timeout_s;
	}
}

static bool is_icmp(const struct axdp_flow_key *k)
{
	return k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6;
}

static const struct cli_option conntrack_options[] = {
	{ "limit", "N", CLI_OPT_FIRST_LOCAL, "show the N most recent entries (default 100, 0 for all)" },
	{ 0 },
};

static int cmd_conntrack(struct cli *c, int argc, char **argv)
{
	struct ct_opts o = { .limit = DEFAULT_LIMIT };
	const char *filter = NULL;
	struct axdp_conntrack ct;
	struct collect all = {};
	size_t shown = 0, total = 0;
	uint64_t now;
	char **pos;
	int npos, rc;

	if (cli_getopt(c, argc, argv, on_opt, &o, &pos, &npos, &rc))
		return rc;
	if (npos > 1)
		return cli_usage(c, "unexpected argument '%s'", pos[1]);
	if (npos == 1) {
		filter = pos[0];
		if (strcmp(filter, "tcp") && strcmp(filter, "udp") && strcmp(filter, "icmp"))
			return cli_usage(c, "'%s': expected tcp, udp or icmp", filter);
	}
	if (cli_open_conntrack(c, &ct, &rc))
		return rc;
	cli_note_nftables(c, "kernel conntrack tracks the flows ('conntrack -L'), not this table");
	rc = axdp_conntrack_foreach(&ct, collect_one, &all);
	axdp_conntrack_close(&ct);
	if (rc)
		return free(all.v), cli_error(c, CLI_FAIL, "reading maps %s/%s and %s: %s", c->pin_dir,
					      AXDP_MAP_CONNTRACK, AXDP_MAP_CONNTRACK4, strerror(errno));
	axdp_sort(all.v, all.n, sizeof(*all.v), newest_first);
	now = cli_now_ns(CLOCK_MONOTONIC_COARSE);

	struct json j;

	if (c->json) {
		json_start(&j, stdout);
		json_obj(&j, NULL);
		json_arr(&j, "entries");
	} else {
		printf("%s%-6s %-45s %-45s %8s  %s%s\n", cli_c(c, CLI_BOLD), "PROTO", "REMOTE", "LOCAL", "IDLE",
		       "STATE", cli_c(c, CLI_RESET));
	}
	for (size_t i = 0; i < all.n; i++) {
		const struct entry *e = &all.v[i];
		bool icmp = is_icmp(&e->key);
		double age = now > e->flow.last_seen_ns ? (double)(now - e->flow.last_seen_ns) / 1e9 : 0;
		bool closing = e->flow.flags & AXDP_FLOW_CLOSING, expired = age > timeout_of(c, e);
		unsigned rport = ntohs(e->key.remote_port), lport = ntohs(e->key.local_port);
		char remote[64], local_[64];

		if (filter && (icmp ? strcmp(filter, "icmp") : strcmp(filter, proto_of(&e->key))))
			continue;
		total++;
		if (o.limit && shown >= o.limit)
			continue;
		shown++;
		if (c->json) {
			axdp_addr_format(remote, sizeof(remote), &e->key.remote);
			axdp_addr_format(local_, sizeof(local_), &e->key.local);
			json_obj(&j, NULL);
			json_str(&j, "protocol", proto_of(&e->key));
			json_str(&j, "remote", remote);
			json_u64(&j, "remote_port", rport);
			json_str(&j, "local", local_);
			json_u64(&j, "local_port", lport);
			json_num(&j, "age_s", age);
			json_bool(&j, "closing", closing);
			json_bool(&j, "expired", expired);
			json_obj_end(&j);
			continue;
		}
		cli_addr_port(remote, sizeof(remote), &e->key.remote, icmp ? 0 : rport);
		if (icmp) {
			char a[48];

			axdp_addr_format(a, sizeof(a), &e->key.local);
			snprintf(local_, sizeof(local_), "%s (echo id %u)", a, lport);
		} else {
			cli_addr_port(local_, sizeof(local_), &e->key.local, lport);
		}
		printf("%-6s %-45s %-45s %7.0fs  %s%s%s%s\n", proto_of(&e->key), remote, local_, age,
		       cli_c(c, expired ? CLI_DIM : CLI_RESET), closing ? "closing" : "",
		       expired ? (closing ? ", expired" : "expired") : "", cli_c(c, CLI_RESET));
	}
	if (c->json) {
		json_arr_end(&j);
		json_u64(&j, "total", total);
		json_u64(&j, "shown", shown);
		json_obj_end(&j);
		json_end(&j);
	} else {
		printf("%zu entr%s", total, total == 1 ? "y" : "ies");
		if (shown < total)
			printf(", the %zu most recent shown ('--limit 0' shows all)", shown);
		printf("\n");
	}
	free(all.v);
	return CLI_OK;
}

const struct cli_command cli_command_conntrack = {
	.name = "conntrack",
	.run = cmd_conntrack,
	.synopsis = "conntrack [tcp|udp|icmp] [--limit N] [--json]",
	.summary = "connections the host opened, newest first",
	.help = "The connection table the tc egress program fills: remote and local end, protocol, time since\n"
		"the host last sent on it, and state (closing after the host's FIN; expired once idle past its\n"
		"configured timeout, until the table reuses the entry).\n",
	.options = conntrack_options,
	.json = true,
};
