// SPDX-License-Identifier: MIT
/* axdp stats and watch: the per-reason counters, per interface, as tables, JSON, rates or Prometheus metrics. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cli.h"
#include "counters.h"
#include "metrics.h"
#include "nft_backend.h"

enum { FMT_HUMAN, FMT_JSON, FMT_PROMETHEUS };

struct stats_opts {
	bool rates, watch;
	double interval;
	unsigned long count;
	bool count_given;
	const char *iface;
	int format;
};

enum {
	OPT_RATES = CLI_OPT_FIRST_LOCAL,
	OPT_WATCH,
	OPT_INTERVAL,
	OPT_COUNT,
	OPT_INTERFACE,
	OPT_FORMAT,
};

/* The options watch shares with stats (watch is stats with --watch --rates set). */
#define INTERVAL_OPTION                                                              \
	{                                                                            \
		"interval", "S", OPT_INTERVAL, "seconds between samples (default 1)" \
	}
#define COUNT_OPTION                                                          \
	{                                                                     \
		"count", "N", OPT_COUNT, "with --watch: stop after N records" \
	}
#define INTERFACE_OPTION                                                                  \
	{                                                                                 \
		"interface", "IFACE", OPT_INTERFACE, "one interface instead of the total" \
	}

static const struct cli_option stats_options[] = {
	{ "rates", NULL, OPT_RATES, "also packets and bits per second, measured over --interval" },
	{ "watch", NULL, OPT_WATCH, "redraw every --interval on a terminal; one record per interval when piped" },
	INTERVAL_OPTION,
	COUNT_OPTION,
	INTERFACE_OPTION,
	{ "format", "FORMAT", OPT_FORMAT, "human (default), json (as --json) or prometheus (text exposition format)" },
	{ 0 },
};

static const struct cli_option watch_options[] = { INTERVAL_OPTION, COUNT_OPTION, INTERFACE_OPTION, { 0 } };

/* Rows: the XDP path's interface slots, then the nftables backend's interfaces together. */
#define NFT_ROW AXDP_IFACE_SLOTS
#define ROWS (AXDP_IFACE_SLOTS + 1)

struct snapshot {
	uint64_t t_ns;
	struct axdp_slot_iface ifs[ROWS];
	struct axdp_counter c[ROWS][AXDP_REASON_COUNT];
	struct axdp_counter total[AXDP_REASON_COUNT];
	/* Of those, the drops Mode=audit let pass. */
	struct axdp_counter would[ROWS][AXDP_REASON_COUNT];
	struct axdp_counter would_total[AXDP_REASON_COUNT];
	bool show[ROWS];
};

/* The maps a snapshot reads (-1: no XDP data path, nftables alone); audit_counters is -1 with a data path older than Mode=. */
struct stats_maps {
	int counters, slots, audit_counters;
	int audit; /* cli_running_audit() */
};

static int on_opt(struct cli *c, int id, const char *arg, void *st)
{
	struct stats_opts *o = st;

	switch (id) {
	case OPT_RATES: o->rates = true; return CLI_OK;
	case OPT_WATCH: o->watch = true; return CLI_OK;
	case OPT_INTERVAL: return cli_parse_seconds(c, "--interval", arg, 0.1, &o->interval);
	case OPT_COUNT: o->count_given = true; return cli_parse_count(c, "--count", arg, &o->count);
	case OPT_INTERFACE: o->iface = arg; return CLI_OK;
	case OPT_FORMAT:
		if (!strcmp(arg, "human"))
			o->format = FMT_HUMAN;
		else if (!strcmp(arg, "json"))
			o->format = FMT_JSON;
		else if (!strcmp(arg, "prometheus"))
			o->format = FMT_PROMETHEUS;
		else
			return cli_usage(c, "--format %s: expected human, json or prometheus", arg);
		return CLI_OK;
	}
	return CLI_USAGE;
}

/* The nftables table's counters into the last row, shown when there is a table. */
static int take_nft(struct cli *c, struct snapshot *s)
{
	char err[1024];
	int rc = axdp_nft_counters(s->c[NFT_ROW], s->would[NFT_ROW], err, sizeof(err));

	if (rc < 0)
		return cli_error(c, CLI_FAIL, "reading the counters of table %s %s: %s", AXDP_NFT_FAMILY,
				 AXDP_NFT_TABLE, err);
	s->ifs[NFT_ROW].used = s->show[NFT_ROW] = rc > 0;
	snprintf(s->ifs[NFT_ROW].name, sizeof(s->ifs[NFT_ROW].name), AXDP_NFT_ROW);
	return CLI_OK;
}

static int take(struct cli *c, const struct stats_maps *m, struct snapshot *s)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->t_ns = cli_now_ns(CLOCK_MONOTONIC);
	if ((rc = take_nft(c, s)) != CLI_OK)
		return rc;
	if (m->slots >= 0 && axdp_slot_ifaces(m->slots, s->ifs))
		return cli_error(c, CLI_FAIL, "reading map %s/%s: %s", c->pin_dir, AXDP_MAP_IFACE_SLOTS,
				 strerror(errno));
	for (int slot = 0; slot < ROWS; slot++) {
		if (!s->ifs[slot].used)
			continue;
		if (slot != NFT_ROW && axdp_counters_read(m->counters, slot, s->c[slot]))
			return cli_error(c, CLI_FAIL, "reading map %s/%s: %s", c->pin_dir, AXDP_MAP_COUNTERS,
					 strerror(errno));
		if (slot != NFT_ROW && m->audit_counters >= 0 &&
		    axdp_counters_read(m->audit_counters, slot, s->would[slot]))
			return cli_error(c, CLI_FAIL, "reading map %s/%s: %s", c->pin_dir, AXDP_MAP_AUDIT_COUNTERS,
					 strerror(errno));
		/* "other" counts packets of interfaces without a slot: shown only when it counted something. */
		s->show[slot] |= slot != 0;
		for (int r = 0; r < AXDP_REASON_COUNT; r++) {
			s->total[r].packets += s->c[slot][r].packets;
			s->total[r].bytes += s->c[slot][r].bytes;
			s->would_total[r].packets += s->would[slot][r].packets;
			s->would_total[r].bytes += s->would[slot][r].bytes;
			s->show[slot] |= s->c[slot][r].packets != 0;
		}
	}
	return CLI_OK;
}

/* The same slot in the previous snapshot counted the same interface: its counters are comparable. */
static const struct axdp_counter *before(const struct snapshot *prev, const struct snapshot *cur, int slot)
{
	if (!prev)
		return NULL;
	if (slot >= 0 && (!prev->ifs[slot].used || prev->ifs[slot].ifindex != cur->ifs[slot].ifindex))
		return NULL;
	return slot < 0 ? prev->total : prev->c[slot];
}

struct rate {
	bool valid;
	double pps, bps;
};

static struct rate rate_of(const struct axdp_counter *was, const struct axdp_counter *now, double secs)
{
	struct rate r = { .valid = was && secs > 0 };

	if (r.valid) {
		r.pps = now->packets >= was->packets ? (double)(now->packets - was->packets) / secs : 0;
		r.bps = now->bytes >= was->bytes ? (double)(now->bytes - was->bytes) * 8 / secs : 0;
	}
	return r;
}

static int find_iface(const struct snapshot *s, const char *name)
{
	for (int slot = 0; slot < ROWS; slot++)
		if (s->ifs[slot].used && !strcmp(s->ifs[slot].name, name))
			return slot;
	return -1;
}

static void json_reasons(struct json *j, const struct axdp_counter *now, const struct axdp_counter *would,
			 const struct axdp_counter *was, double secs, bool rates)
{
	json_arr(j, "reasons");
	for (int r = 0; r < AXDP_REASON_COUNT; r++) {
		struct rate rt = rate_of(was ? &was[r] : NULL, &now[r], secs);

		json_obj(j, NULL);
		json_str(j, "action", axdp_reason_labels[r].action);
		json_str(j, "reason", axdp_reason_labels[r].name);
		json_u64(j, "packets", now[r].packets);
		json_u64(j, "bytes", now[r].bytes);
		json_u64(j, "would_drop", would[r].packets);
		if (rates && rt.valid) {
			json_num(j, "pps", rt.pps);
			json_num(j, "bps", rt.bps);
		} else {
			json_null(j, "pps");
			json_null(j, "bps");
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void print_json(const struct stats_opts *o, const struct stats_maps *m, const struct snapshot *cur,
		       const struct snapshot *prev, int only)
{
	double secs = prev ? (double)(cur->t_ns - prev->t_ns) / 1e9 : 0;
	char now[40];
	struct json j;

	cli_format_mono(now, sizeof(now), cli_now_ns(CLOCK_MONOTONIC_COARSE), true);
	json_start(&j, stdout);
	json_obj(&j, NULL);
	json_str(&j, "time", now);
	json_str(&j, "mode", cli_mode_name(m->audit));
	if (o->rates && prev)
		json_num(&j, "interval_s", secs);
	else
		json_null(&j, "interval_s");
	json_arr(&j, "interfaces");
	for (int slot = 0; slot < ROWS; slot++) {
		if (!cur->show[slot] || (only >= 0 && slot != only))
			continue;
		json_obj(&j, NULL);
		json_str(&j, "name", cur->ifs[slot].name);
		json_u64(&j, "ifindex", cur->ifs[slot].ifindex);
		json_u64(&j, "slot", (uint64_t)slot);
		json_reasons(&j, cur->c[slot], cur->would[slot], before(prev, cur, slot), secs, o->rates);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj(&j, "total");
	json_reasons(&j, cur->total, cur->would_total, before(prev, cur, -1), secs, o->rates);
	json_obj_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

/* The WOULD DROP column: in audit mode, or while the counters still hold drops it let pass. */
static bool show_would(const struct stats_maps *m, const struct axdp_counter *would)
{
	for (int r = 0; r < AXDP_REASON_COUNT && m->audit != 1; r++)
		if (would[r].packets)
			return true;
	return m->audit == 1;
}

static void print_table(const struct cli *c, const struct stats_opts *o, const struct stats_maps *m,
			const struct snapshot *cur, const struct snapshot *prev, int only)
{
	const struct axdp_counter *now = only >= 0 ? cur->c[only] : cur->total, *was = before(prev, cur, only);
	const struct axdp_counter *would = only >= 0 ? cur->would[only] : cur->would_total;
	double secs = prev ? (double)(cur->t_ns - prev->t_ns) / 1e9 : 0;
	bool rates = o->rates && prev, with_would = show_would(m, would);

	if (m->audit == 1)
		printf("%sMode=audit: nothing is dropped; WOULD DROP counts the drops that passed%s\n\n",
		       cli_c(c, CLI_YELLOW), cli_c(c, CLI_RESET));
	printf("%s%-7s %-20s %9s %10s", cli_c(c, CLI_BOLD), "ACTION", "REASON", "PACKETS", "BYTES");
	if (with_would)
		printf(" %10s", "WOULD DROP");
	if (rates)
		printf(" %12s %12s", "PPS", "BPS");
	printf("%s\n", cli_c(c, CLI_RESET));
	for (int r = 0; r < AXDP_REASON_COUNT; r++) {
		struct rate rt = rate_of(was ? &was[r] : NULL, &now[r], secs);
		enum cli_color colour = !now[r].packets                             ? CLI_DIM
					: axdp_reason_action(r) == AXDP_ACTION_pass ? CLI_GREEN
					: axdp_reason_action(r) == AXDP_ACTION_drop ? CLI_RED
										    : CLI_RESET;
		char p[16], b[16], pps[24], bps[24];

		cli_si(p, sizeof(p), (double)now[r].packets, NULL);
		cli_bytes(b, sizeof(b), (double)now[r].bytes);
		printf("%s%-7s %-20s %9s %10s", cli_c(c, colour), axdp_reason_labels[r].action,
		       axdp_reason_labels[r].name, p, b);
		if (with_would) {
			cli_si(p, sizeof(p), (double)would[r].packets, NULL);
			printf(" %10s", AXDP_REASON_DROPS(r) ? p : "");
		}
		if (rates) {
			cli_si(pps, sizeof(pps), rt.valid ? rt.pps : 0, "pps");
			cli_si(bps, sizeof(bps), rt.valid ? rt.bps : 0, "bps");
			printf(" %12s %12s", pps, bps);
		}
		printf("%s\n", cli_c(c, CLI_RESET));
	}
	if (only >= 0)
		return;
	printf("\n%s%-15s %9s %9s %9s", cli_c(c, CLI_BOLD), "INTERFACE", "PASSED", "DROPPED", "EGRESS");
	if (rates)
		printf(" %12s %12s", "PASS PPS", "DROP PPS");
	printf("%s\n", cli_c(c, CLI_RESET));
	for (int slot = 0; slot < ROWS; slot++) {
		struct axdp_counter sum[3] = {}, old[3] = {};
		const struct axdp_counter *w = before(prev, cur, slot);
		char text[3][16];

		if (!cur->show[slot])
			continue;
		for (int r = 0; r < AXDP_REASON_COUNT; r++) {
			enum axdp_action a = axdp_reason_action(r);

			sum[a].packets += cur->c[slot][r].packets;
			if (w)
				old[a].packets += w[r].packets;
		}
		for (int a = 0; a < 3; a++)
			cli_si(text[a], sizeof(text[a]), (double)sum[a].packets, NULL);
		printf("%-15s %9s %9s %9s", cur->ifs[slot].name, text[0], text[1], text[2]);
		if (rates) {
			struct rate pass = rate_of(w ? &old[0] : NULL, &sum[0], secs),
				    drop = rate_of(w ? &old[1] : NULL, &sum[1], secs);

			cli_si(text[0], sizeof(text[0]), pass.pps, "pps");
			cli_si(text[1], sizeof(text[1]), drop.pps, "pps");
			printf(" %12s %12s", text[0], text[1]);
		}
		printf("\n");
	}
}

static int prometheus(struct cli *c, const struct stats_maps *sm, const struct snapshot *nft)
{
	struct axdp_metrics_maps m = { .counters = sm->counters,
				       .iface_slots = sm->slots,
				       .audit_counters = sm->audit_counters,
				       .audit = sm->audit };
	char err[512];
	int rc;

	if (nft->show[NFT_ROW]) {
		m.nft = nft->c[NFT_ROW];
		m.nft_would = nft->would[NFT_ROW];
	}
	if (sm->counters < 0) /* nftables alone */
		return axdp_metrics_render(stdout, &m, err, sizeof(err)) ? cli_error(c, CLI_FAIL, "%s", err) : CLI_OK;
	m.port_allow = cli_open_map(c, AXDP_MAP_PORT_ALLOW, &rc);
	if (m.port_allow < 0 || cli_open_conntrack(c, &m.conntrack, &rc)) {
		if (m.port_allow >= 0)
			close(m.port_allow);
		return rc;
	}
	m.event_budget = cli_xdp_map(c, AXDP_MAP_EVENT_BUDGET, NULL);
	rc = axdp_metrics_render(stdout, &m, err, sizeof(err)) ? cli_error(c, CLI_FAIL, "%s", err) : CLI_OK;
	close(m.port_allow);
	axdp_conntrack_close(&m.conntrack);
	if (m.event_budget >= 0)
		close(m.event_budget);
	return rc;
}

static int run(struct cli *c, struct stats_opts *o)
{
	struct snapshot *cur = calloc(1, sizeof(*cur)), *prev = calloc(1, sizeof(*prev)), *t;
	struct stats_maps m = { -1, -1, -1, -1 };
	int rc, only = -1;
	unsigned long records = 0;
	bool have_prev = false;

	if (!cur || !prev) {
		rc = cli_error(c, CLI_FAIL, "out of memory");
		goto out;
	}
	/* Without the XDP path's maps, the nftables backend's table alone (no BPF object) still has counters. */
	cli_load_config(c);
	if ((rc = cli_require_privileges(c)) != CLI_OK || (rc = take(c, &m, cur)) != CLI_OK)
		goto out;
	m.counters = cli_try_map(c, AXDP_MAP_COUNTERS);
	if (m.counters < 0 && errno == ENOENT && cur->show[NFT_ROW])
		;
	else if ((m.counters < 0 && (m.counters = cli_open_map(c, AXDP_MAP_COUNTERS, &rc)) < 0) ||
		 (m.slots = cli_open_map(c, AXDP_MAP_IFACE_SLOTS, &rc)) < 0)
		goto out;
	m.audit_counters = cli_try_map(c, AXDP_MAP_AUDIT_COUNTERS);
	m.audit = cli_running_audit(c);
	if (o->format == FMT_PROMETHEUS) {
		rc = prometheus(c, &m, cur);
		goto out;
	}
	cli_catch_signals();
	if ((rc = take(c, &m, cur)) != CLI_OK)
		goto out;
	if (o->iface && (only = find_iface(cur, o->iface)) < 0) {
		rc = cli_error(c, CLI_FAIL,
			       "interface %s has no counters of its own here: 'axdp status' lists the protected ones",
			       o->iface);
		goto out;
	}
	/* Rates need two samples: the first record waits one interval. */
	if (o->rates) {
		t = prev, prev = cur, cur = t;
		have_prev = true;
		if (!cli_sleep(o->interval))
			goto out;
		if ((rc = take(c, &m, cur)) != CLI_OK)
			goto out;
	}
	for (;;) {
		if (o->format == FMT_JSON) {
			print_json(o, &m, cur, have_prev ? prev : NULL, only);
		} else {
			if (o->watch && c->tty) {
				char now[32];

				cli_format_mono(now, sizeof(now), cli_now_ns(CLOCK_MONOTONIC_COARSE), false);
				/* Home and clear: the table is redrawn in place. */
				printf("\033[H\033[2J%saxdp %s, every %g s, %s (Ctrl-C quits)%s\n\n",
				       cli_c(c, CLI_BOLD), o->rates ? "watch" : "stats", o->interval, now,
				       cli_c(c, CLI_RESET));
			} else if (o->watch) {
				char now[40];

				cli_format_mono(now, sizeof(now), cli_now_ns(CLOCK_MONOTONIC_COARSE), true);
				printf("%s# %s\n", records ? "\n" : "", now);
			}
			print_table(c, o, &m, cur, have_prev ? prev : NULL, only);
			fflush(stdout);
		}
		records++;
		if (!o->watch || (o->count && records >= o->count))
			break;
		t = prev, prev = cur, cur = t;
		have_prev = true;
		if (!cli_sleep(o->interval))
			break;
		if ((rc = take(c, &m, cur)) != CLI_OK)
			goto out;
		if (o->iface && (only = find_iface(cur, o->iface)) < 0) {
			rc = cli_error(c, CLI_FAIL, "interface %s lost its counter slot", o->iface);
			goto out;
		}
	}
	rc = CLI_OK;
out:
	if (m.counters >= 0)
		close(m.counters);
	if (m.slots >= 0)
		close(m.slots);
	if (m.audit_counters >= 0)
		close(m.audit_counters);
	free(cur);
	free(prev);
	return rc;
}

static int stats(struct cli *c, int argc, char **argv, struct stats_opts *o)
{
	char **pos;
	int npos, rc;

	if (cli_getopt(c, argc, argv, on_opt, o, &pos, &npos, &rc))
		return rc;
	if (npos)
		return cli_usage(c, "unexpected argument '%s'", pos[0]);
	if (c->json) {
		if (o->format == FMT_PROMETHEUS)
			return cli_usage(c, "--json and --format prometheus exclude each other");
		o->format = FMT_JSON;
	}
	if (o->format == FMT_PROMETHEUS && (o->watch || o->rates || o->iface || o->count_given))
		return cli_usage(c, "--format prometheus takes no --watch, --rates, --interface or --count");
	if (o->count_given && !o->watch)
		return cli_usage(c, "--count needs --watch");
	return run(c, o);
}

static int cmd_stats(struct cli *c, int argc, char **argv)
{
	struct stats_opts o = { .interval = 1 };

	return stats(c, argc, argv, &o);
}

const struct cli_command cli_command_stats = {
	.name = "stats",
	.run = cmd_stats,
	.synopsis = "stats [--rates] [--watch] [--interval S] [--count N] [--interface IFACE] "
		    "[--format human|json|prometheus]",
	.summary = "packets and bytes per action, reason and interface",
	.help = "Counters of every verdict and reason, summed over all interfaces or for one, and per interface.\n",
	.options = stats_options,
	.json = true,
};

static int cmd_watch(struct cli *c, int argc, char **argv)
{
	struct stats_opts o = { .interval = 1, .watch = true, .rates = true };

	return stats(c, argc, argv, &o);
}

const struct cli_command cli_command_watch = {
	.name = "watch",
	.run = cmd_watch,
	.synopsis = "watch [--interval S] [--count N] [--interface IFACE] [--json]",
	.summary = "live counters with rates (stats --watch --rates)",
	.help = "The same as 'axdp stats --watch --rates'.\n",
	.options = watch_options,
	.json = true,
};
