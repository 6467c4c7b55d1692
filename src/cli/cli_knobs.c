// SPDX-License-Identifier: MIT
/*
 * The rate limits and source switches in force, for axdp status.  They
 * are compiled into the data path's .rodata, and the daemon refuses
 * changes to them at reload, so the configuration file may already say
 * something else: the knobs are read back from the running XDP program
 * and turned into the numbers autoxdp.conf(5) takes.  Without an XDP
 * program the configuration's own numbers are all there is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "cli.h"
#include "nft_backend.h"
#include "loader.h"
#include "rate_knobs.h"
#include "util.h"

#define KNOB(f) offsetof(struct axdp_knobs, f)
#define CFG(f) offsetof(struct axdp_config, f)

static const struct limit {
	const char *key;     /* in JSON */
	const char *label;   /* in the human lines */
	size_t knob;         /* its struct axdp_rate in struct axdp_knobs */
	size_t per_s, burst; /* its uint32_t keys in struct axdp_config */
	bool has_burst;      /* the per-port budgets have no burst key */
	bool per_cpu;        /* rate_knobs.c splits it across the online CPUs */
	bool bytes;          /* one unit is a byte */
} limits[CLI_LIMIT_COUNT] = {
	[CLI_LIMIT_SYN] = { "syn", "SYN", KNOB(syn[AXDP_TIER_NORMAL]), CFG(syn_per_s), CFG(syn_burst), true },
	[CLI_LIMIT_STRICT_SYN] = { "strict_syn", "strict ports", KNOB(syn[AXDP_TIER_STRICT]), CFG(strict_syn_per_s),
				   CFG(strict_syn_burst), true },
	[CLI_LIMIT_UDP] = { "udp", "UDP", KNOB(udp_source), CFG(udp_per_s), CFG(udp_burst), true },
	[CLI_LIMIT_UDP_PORT_PACKETS] = { "udp_port_packets", "UDP per port", KNOB(udp_port_packets),
					 CFG(udp_port_packets_per_s), 0, false, true },
	[CLI_LIMIT_UDP_PORT_BYTES] = { "udp_port_bytes", "UDP bytes per port", KNOB(udp_port_bytes),
				       CFG(udp_port_bytes_per_s), 0, false, true, true },
	[CLI_LIMIT_ICMP_ECHO] = { "icmp_echo", "echo", KNOB(icmp_echo), CFG(icmp_echo_per_s), CFG(icmp_echo_burst),
				  true, true },
};

/* What the human lines show besides the rates, numbered after them. */
enum { ITEM_PREFIX = CLI_LIMIT_COUNT, ITEM_MARTIANS, ITEM_DHCP, ITEM_TRUST_TCP, ITEM_COUNT, LINE_BREAK };

/* The order of the human lines: the per-source limits, then the rest. */
static const int shown[] = {
	ITEM_PREFIX,
	CLI_LIMIT_SYN,
	CLI_LIMIT_STRICT_SYN,
	CLI_LIMIT_UDP,
	LINE_BREAK,
	CLI_LIMIT_UDP_PORT_PACKETS,
	CLI_LIMIT_UDP_PORT_BYTES,
	CLI_LIMIT_ICMP_ECHO,
	ITEM_MARTIANS,
	ITEM_DHCP,
	ITEM_TRUST_TCP,
};

/* ---- reading the running program's knobs ---- */

static const char *const restart_hint = "'systemctl restart autoxdp' loads this version's data path";

/* Its value (key 0) is the whole section, its BTF value type the DATASEC. */
int cli_knobs_from_rodata(int fd, const struct bpf_map_info *info, struct axdp_knobs *k, char *err, size_t errlen)
{
	const struct btf_var_secinfo *var;
	struct btf *btf = info->btf_id ? btf__load_from_kernel_by_id(info->btf_id) : NULL;
	char *value = NULL;
	__u32 zero = 0;
	int rc = -1;

	if (!info->btf_id)
		snprintf(err, errlen, "map %s (id %u) of the running XDP program has no BTF to find '%s' by; %s",
			 info->name, info->id, AXDP_KNOBS_VAR, restart_hint);
	else if (!btf)
		snprintf(err, errlen, "loading BTF id %u of map %s (id %u) of the running XDP program: %s",
			 info->btf_id, info->name, info->id, strerror(errno));
	else if (!(var = axdp_knobs_var(btf, info->btf_value_type_id)))
		snprintf(err, errlen,
			 "map %s (id %u) has no variable '%s': the running data path is from another version; %s",
			 info->name, info->id, AXDP_KNOBS_VAR, restart_hint);
	else if (var->size != sizeof(*k) || var->offset + var->size > info->value_size)
		snprintf(
			err, errlen,
			"'%s' of the running data path is %u bytes, this axdp reads %zu: the running data path is from another version; %s",
			AXDP_KNOBS_VAR, var->size, sizeof(*k), restart_hint);
	else if (!(value = malloc(info->value_size)))
		snprintf(err, errlen, "reading map %s (id %u): out of memory", info->name, info->id);
	else if (bpf_map_lookup_elem(fd, &zero, value))
		snprintf(err, errlen, "reading map %s (id %u): %s", info->name, info->id, strerror(errno));
	else {
		memcpy(k, value + var->offset, sizeof(*k));
		rc = 0;
	}
	free(value);
	btf__free(btf);
	return rc;
}

/*
 * 1 with the knobs of the XDP program in force, 0 when none runs, -1 with
 * err.  With hooks, when no XDP program runs, those of the socket hooks:
 * the daemon loaded them from the same object with the same knobs, and
 * rendered the nftables table from the configuration that set them (a
 * reload that changes one is refused).  Their Mode= is the start's, not
 * the one in force: cli_running_audit() asks without hooks.
 */
static int running_knobs(const struct cli *c, bool hooks, struct axdp_knobs *k, char *err, size_t errlen)
{
	struct bpf_map_info info = {};
	int fd = cli_xdp_map(c, ".rodata", &info), rc;

	if (fd < 0 && hooks)
		fd = cli_hook_map(c, ".rodata", &info);
	if (fd < 0)
		return 0;
	rc = cli_knobs_from_rodata(fd, &info, k, err, errlen);
	close(fd);
	return rc ? -1 : 1;
}

int cli_running_audit(const struct cli *c)
{
	struct axdp_counter counts[AXDP_REASON_COUNT], would[AXDP_REASON_COUNT];
	struct axdp_knobs k;
	char err[512];
	int nft;

	if (running_knobs(c, false, &k, err, sizeof(err)) > 0)
		return k.audit;
	/* No XDP program: the nftables table's mode, if there is one. */
	nft = axdp_nft_counters(counts, would, err, sizeof(err));
	return nft > 0 ? nft == 2 : -1;
}

const char *cli_mode_name(int audit)
{
	return audit < 0 ? NULL : axdp_mode_name(audit);
}

/* ---- knobs back to the configuration's numbers ---- */

static unsigned int ones(const struct axdp_addr *mask)
{
	unsigned int n = 0;

	for (int w = 0; w < 4; w++)
		n += (unsigned int)__builtin_popcount(mask->w[w]);
	return n;
}

static void from_knobs(struct cli_limit_values *v, const struct axdp_knobs *k, unsigned int ncpus)
{
	unsigned int v4 = ones(&k->source_mask_v4);

	memset(v, 0, sizeof(*v));
	for (int i = 0; i < CLI_LIMIT_COUNT; i++) {
		const struct axdp_rate *r = (const void *)((const char *)k + limits[i].knob);
		unsigned int n = limits[i].per_cpu ? ncpus : 1;

		if (!r->interval_ns)
			continue;
		/* Inverse of axdp_gcra() and rate_knobs.c's per_cpu(): n * 1e9 / per_s apart, burst / n per CPU. */
		v->rate[i].per_s = (n * AXDP_NSEC_PER_SEC + r->interval_ns / 2) / r->interval_ns;
		if (limits[i].has_burst)
			v->rate[i].burst = (r->tolerance_ns / r->interval_ns + 1) * n;
	}
	/* The v4 mask keeps the 96 bits of the ::ffff: prefix. */
	v->source_prefix_v4 = v4 > 96 ? v4 - 96 : 0;
	v->source_prefix_v6 = ones(&k->source_mask_v6);
	v->drop_martians = k->drop_martians;
	v->allow_dhcp_client = k->dhcp_client;
	v->trust_opens_all_tcp = k->trust_opens_tcp;
}

static uint32_t cfg_u32(const struct axdp_config *cfg, size_t offset)
{
	uint32_t v;

	memcpy(&v, (const char *)cfg + offset, sizeof(v));
	return v;
}

static void from_config(struct cli_limit_values *v, const struct axdp_config *cfg)
{
	memset(v, 0, sizeof(*v));
	for (int i = 0; i < CLI_LIMIT_COUNT; i++) {
		v->rate[i].per_s = cfg_u32(cfg, limits[i].per_s);
		if (v->rate[i].per_s && limits[i].has_burst)
			v->rate[i].burst = cfg_u32(cfg, limits[i].burst);
	}
	v->source_prefix_v4 = cfg->source_prefix_v4;
	v->source_prefix_v6 = cfg->source_prefix_v6;
	v->drop_martians = cfg->drop_martians;
	v->allow_dhcp_client = cfg->allow_dhcp_client;
	v->trust_opens_all_tcp = cfg->trust_opens_all_tcp;
}

static bool item_equal(const struct cli_limit_values *a, const struct cli_limit_values *b, int item)
{
	switch (item) {
	case ITEM_PREFIX:
		return a->source_prefix_v4 == b->source_prefix_v4 && a->source_prefix_v6 == b->source_prefix_v6;
	case ITEM_MARTIANS: return a->drop_martians == b->drop_martians;
	case ITEM_DHCP: return a->allow_dhcp_client == b->allow_dhcp_client;
	case ITEM_TRUST_TCP: return a->trust_opens_all_tcp == b->trust_opens_all_tcp;
	default: return a->rate[item].per_s == b->rate[item].per_s && a->rate[item].burst == b->rate[item].burst;
	}
}

/* The daemon refuses a reload that changes these as well (they are knobs too). */
static bool timeouts_differ(const struct axdp_knobs *k, const struct axdp_config *cfg)
{
	return k->tcp_timeout_ns != cfg->tcp_timeout_s * AXDP_NSEC_PER_SEC ||
	       k->tcp_closing_timeout_ns != cfg->tcp_closing_timeout_s * AXDP_NSEC_PER_SEC ||
	       k->udp_timeout_ns != cfg->udp_timeout_s * AXDP_NSEC_PER_SEC ||
	       k->icmp_timeout_ns != cfg->icmp_timeout_s * AXDP_NSEC_PER_SEC ||
	       k->frag_timeout_ns != cfg->frag_timeout_s * AXDP_NSEC_PER_SEC;
}

int cli_limits_collect(struct cli *c, struct cli_limits *l, char *err, size_t errlen)
{
	struct axdp_knobs now = {}, configured = AXDP_KNOBS_DEFAULT;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	/* The CPUs the daemon divided the per-CPU budgets by, if none came or went since it started. */
	unsigned int ncpus = online > 0 ? (unsigned int)online : 1;
	int rc;

	memset(l, 0, sizeof(*l));
	cli_load_config(c);
	from_config(&l->configured, &c->cfg);
	axdp_rate_knobs(&configured, &c->cfg, ncpus);
	/* Compared through the same inversion as the running knobs, so its rounding never looks like a change. */
	from_knobs(&l->after_restart, &configured, ncpus);
	rc = running_knobs(c, true, &now, err, errlen);
	if (rc < 0)
		return -1;
	l->running = rc > 0;
	if (!l->running) {
		l->now = l->configured;
		return 0;
	}
	from_knobs(&l->now, &now, ncpus);
	/* A configuration that does not parse is no restart's: the daemon would refuse to start with it. */
	if (!c->cfg_ok)
		return 0;
	l->timeouts_pending = timeouts_differ(&now, &c->cfg);
	l->restart_pending = l->timeouts_pending;
	for (int i = 0; i < ITEM_COUNT; i++)
		l->restart_pending |= !item_equal(&l->now, &l->after_restart, i);
	return 0;
}

/* ---- output ---- */

static void item_text(char *buf, size_t len, const struct cli_limit_values *v, int item)
{
	const struct cli_rate *r;
	char rate[16], burst[16];

	switch (item) {
	case ITEM_PREFIX:
		snprintf(buf, len, "per /%u or /%u source and port", v->source_prefix_v4, v->source_prefix_v6);
		return;
	case ITEM_MARTIANS: snprintf(buf, len, "martian sources %s", v->drop_martians ? "dropped" : "pass"); return;
	case ITEM_DHCP: snprintf(buf, len, "DHCP client replies %s", v->allow_dhcp_client ? "pass" : "dropped"); return;
	case ITEM_TRUST_TCP:
		snprintf(buf, len, "trusted sources reach %s",
			 v->trust_opens_all_tcp ? "every TCP port" : "open ports only");
		return;
	}
	r = &v->rate[item];
	if (!r->per_s) {
		snprintf(buf, len, "%s off", limits[item].label);
		return;
	}
	cli_si(rate, sizeof(rate), (double)r->per_s, limits[item].bytes ? "B" : NULL);
	cli_si(burst, sizeof(burst), (double)r->burst, NULL);
	snprintf(buf, len, "%s %s/s%s%s", limits[item].label, rate, r->burst ? " burst " : "", r->burst ? burst : "");
}

/*
 * The items of v after label, in the order of shown.  With pending, only
 * those a restart would change, on one line; without, every one but the
 * trust switch when it is off (the usual case, not worth a word).
 */
static void print_items(const char *label, const struct cli_limit_values *v, const struct cli_limits *pending)
{
	const char *sep = "";
	char text[96];

	printf("%-11s ", label);
	for (size_t i = 0; i < ARRAY_SIZE(shown); i++) {
		int item = shown[i];

		if (item == LINE_BREAK) {
			if (!pending) {
				printf("\n%-11s ", "");
				sep = "";
			}
			continue;
		}
		if (pending ? item_equal(&pending->now, &pending->after_restart, item)
			    : item == ITEM_TRUST_TCP && !v->trust_opens_all_tcp)
			continue;
		item_text(text, sizeof(text), v, item);
		printf("%s%s", sep, text);
		sep = item == ITEM_PREFIX ? ": " : ", ";
	}
}

void cli_limits_print(const struct cli *c, const struct cli_limits *l)
{
	if (!l->running)
		printf("limits      as configured: no data path program runs\n");
	print_items(l->running ? "limits" : "", &l->now, NULL);
	printf("\n");
	if (!l->restart_pending)
		return;
	printf("%s", cli_c(c, CLI_YELLOW));
	if (l->timeouts_pending && !memcmp(&l->now, &l->after_restart, sizeof(l->now)))
		printf("%-11s [Conntrack] timeouts", "configured");
	else
		print_items("configured", &l->configured, l);
	printf(": restart pending, 'systemctl restart autoxdp' applies it%s\n", cli_c(c, CLI_RESET));
}

void cli_limits_json(struct json *j, const struct cli_limits *l)
{
	const struct cli_limit_values *v = &l->now;

	json_obj(j, "rate_limits");
	json_str(j, "from", l->running ? "running" : "configuration");
	json_bool(j, "restart_pending", l->restart_pending);
	for (int i = 0; i < CLI_LIMIT_COUNT; i++) {
		json_obj(j, limits[i].key);
		json_u64(j, "per_second", v->rate[i].per_s);
		if (v->rate[i].burst)
			json_u64(j, "burst", v->rate[i].burst);
		else
			json_null(j, "burst");
		json_obj_end(j);
	}
	json_u64(j, "source_prefix_ipv4", v->source_prefix_v4);
	json_u64(j, "source_prefix_ipv6", v->source_prefix_v6);
	json_bool(j, "drop_martians", v->drop_martians);
	json_bool(j, "allow_dhcp_client", v->allow_dhcp_client);
	json_bool(j, "trust_opens_all_tcp", v->trust_opens_all_tcp);
	json_obj_end(j);
}
