// SPDX-License-Identifier: MIT
/*
 * axdp events and top: dropped packets as the data path samples them.
 * The data path writes drop events only while a reader keeps
 * event_ctl.listen_until_ns in the future, so both commands push it a
 * few seconds ahead every second and it lapses on its own when they end
 * (or crash).  Two readers at once share, and split, one ring buffer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "counters.h"
#include "util.h"

/* Lease of the event stream: long enough to survive a stalled second, short enough to lapse soon after us. */
#define LEASE_NS (3 * 1000000000ULL)
#define REFRESH_NS 1000000000ULL
#define POLL_MS 100

struct reader {
	struct cli *c;
	int ctl_fd, ring_fd;
	struct ring_buffer *rb;
	uint64_t start_ns, refreshed_ns;
	int (*on_event)(struct reader *r, const struct axdp_drop_event *e);
	void *ctx;
	char ifnames[8][IF_NAMESIZE];
	__u32 ifindexes[8];
};

static int lease(struct reader *r)
{
	struct axdp_event_ctl ctl;
	__u32 zero = 0;

	r->refreshed_ns = cli_now_ns(CLOCK_MONOTONIC_COARSE);
	ctl.listen_until_ns = r->refreshed_ns + LEASE_NS;
	if (bpf_map_update_elem(r->ctl_fd, &zero, &ctl, BPF_ANY))
		return cli_error(r->c, CLI_FAIL, "writing map %s/%s: %s", r->c->pin_dir, AXDP_MAP_EVENT_CTL,
				 strerror(errno));
	return CLI_OK;
}

static int sample(void *ctx, void *data, size_t size)
{
	struct reader *r = ctx;
	const struct axdp_drop_event *e = data;

	/* Events left in the ring by an earlier reader are not news. */
	if (size < sizeof(*e) || e->ts_ns < r->start_ns)
		return 0;
	return r->on_event(r, e);
}

static int reader_open(struct cli *c, struct reader *r)
{
	int rc;

	r->c = c;
	r->ctl_fd = cli_open_map(c, AXDP_MAP_EVENT_CTL, &rc);
	if (r->ctl_fd < 0)
		return rc;
	r->ring_fd = cli_open_map(c, AXDP_MAP_DROP_EVENTS, &rc);
	if (r->ring_fd < 0)
		return rc;
	r->rb = ring_buffer__new(r->ring_fd, sample, r, NULL);
	if (!r->rb)
		return cli_error(c, CLI_FAIL, "reading ring buffer %s/%s: %s", c->pin_dir, AXDP_MAP_DROP_EVENTS,
				 strerror(errno));
	cli_catch_signals();
	r->start_ns = cli_now_ns(CLOCK_MONOTONIC_COARSE);
	return lease(r);
}

static void reader_close(struct reader *r)
{
	ring_buffer__free(r->rb);
	if (r->ctl_fd >= 0)
		close(r->ctl_fd);
	if (r->ring_fd >= 0)
		close(r->ring_fd);
}

/* on_event returns this to stop polling: libbpf ends ring_buffer__poll only on a negative result. */
#define READER_DONE (-ECANCELED)

/* Polls until deadline_ns (0: none), until on_event says READER_DONE, or until a signal; CLI_OK or an exit code. */
static int reader_run(struct reader *r, uint64_t deadline_ns)
{
	while (!cli_stop) {
		uint64_t now = cli_now_ns(CLOCK_MONOTONIC_COARSE);
		int n;

		if (deadline_ns && now >= deadline_ns)
			return CLI_OK;
		if (now - r->refreshed_ns >= REFRESH_NS && lease(r) != CLI_OK)
			return CLI_FAIL;
		n = ring_buffer__poll(r->rb, POLL_MS);
		if (n == READER_DONE)
			return CLI_OK;
		if (n < 0 && n != -EINTR)
			return cli_error(r->c, CLI_FAIL, "polling ring buffer %s/%s: %s", r->c->pin_dir,
					 AXDP_MAP_DROP_EVENTS, strerror(-n));
	}
	return CLI_OK;
}

static const char *ifname(struct reader *r, __u32 ifindex, char *buf)
{
	for (int i = 0; i < 8; i++)
		if (r->ifindexes[i] == ifindex && ifindex)
			return r->ifnames[i];
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "if%u", ifindex);
	for (int i = 0; i < 8; i++)
		if (!r->ifindexes[i]) {
			r->ifindexes[i] = ifindex;
			memcpy(r->ifnames[i], buf, IF_NAMESIZE);
			break;
		}
	return buf;
}

static const struct axdp_reason_label *reason_of(const struct axdp_drop_event *e)
{
	static const struct axdp_reason_label unknown = { "drop", "unknown" };

	return e->reason < AXDP_REASON_COUNT ? &axdp_reason_labels[e->reason] : &unknown;
}

/* ---- events ---- */

struct events {
	unsigned long count, seen;
	bool count_given;
	double timeout;
	bool header;
};

enum { OPT_COUNT = CLI_OPT_FIRST_LOCAL, OPT_TIMEOUT, OPT_INTERVAL, OPT_LIMIT };

static int print_event(struct reader *r, const struct axdp_drop_event *e)
{
	struct events *ev = r->ctx;
	struct cli *c = r->c;
	char when[40], src[64], dst[64], nb[IF_NAMESIZE];
	const char *name = ifname(r, e->ifindex, nb), *proto = cli_proto_name(e->proto);
	const struct axdp_reason_label *why = reason_of(e);
	bool ports = e->proto == 6 || e->proto == 17, would = e->flags & AXDP_EVENT_WOULD_DROP;

	cli_format_mono(when, sizeof(when), e->ts_ns, c->json);
	if (c->json) {
		struct json j;

		axdp_addr_format(src, sizeof(src), &e->src);
		axdp_addr_format(dst, sizeof(dst), &e->dst);
		json_start(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "time", when);
		json_str(&j, "interface", name);
		json_u64(&j, "ifindex", e->ifindex);
		json_str(&j, "protocol", proto);
		json_str(&j, "source", e->proto ? src : NULL);
		json_u64(&j, "source_port", e->sport);
		json_str(&j, "destination", e->proto ? dst : NULL);
		json_u64(&j, "destination_port", e->dport);
		json_str(&j, "action", would ? "would_drop" : why->action);
		json_str(&j, "reason", why->name);
		json_u64(&j, "skipped", e->skipped);
		json_obj_end(&j);
		json_end(&j);
	} else {
		if (!ev->header) {
			printf("%s%-12s  %-10s %-6s %-30s    %-30s %s%s\n", cli_c(c, CLI_BOLD), "TIME", "INTERFACE",
			       "PROTO", "SOURCE", "DESTINATION", "REASON", cli_c(c, CLI_RESET));
			ev->header = true;
		}
		if (e->proto) {
			cli_addr_port(src, sizeof(src), &e->src, ports ? e->sport : 0);
			cli_addr_port(dst, sizeof(dst), &e->dst, ports ? e->dport : 0);
		} else {
			snprintf(src, sizeof(src), "-");
			snprintf(dst, sizeof(dst), "-");
		}
		printf("%-12s  %-10s %-6s %-30s -> %-30s %s%s%s%s", when, name, proto, src, dst,
		       cli_c(c, would ? CLI_YELLOW : CLI_RED), why->name, would ? " (would drop: audit mode)" : "",
		       cli_c(c, CLI_RESET));
		if (e->skipped)
			printf("  (%u more drop%s not sampled)", e->skipped, e->skipped == 1 ? "" : "s");
		printf("\n");
		fflush(stdout);
	}
	ev->seen++;
	/* --count means exactly N, even when more are already in the ring. */
	return ev->count_given && ev->seen >= ev->count ? READER_DONE : 0;
}

static int events_opt(struct cli *c, int id, const char *arg, void *st)
{
	struct events *ev = st;

	if (id == OPT_COUNT) {
		ev->count_given = true;
		return cli_parse_count(c, "--count", arg, &ev->count);
	}
	if (id == OPT_TIMEOUT)
		return cli_parse_seconds(c, "--timeout", arg, 0.1, &ev->timeout);
	return CLI_USAGE;
}

static const struct cli_option events_options[] = {
	{ "count", "N", OPT_COUNT, "exit after N events (exit status 1 if --timeout ends it first)" },
	{ "timeout", "S", OPT_TIMEOUT, "exit after S seconds" },
	{ 0 },
};

/* The table samples no drops; its counters count them. */
#define NFT_NO_EVENTS "drops produce no events: 'axdp stats' counts them"

static int cmd_events(struct cli *c, int argc, char **argv)
{
	struct events ev = {};
	struct reader r = { .ctl_fd = -1, .ring_fd = -1, .on_event = print_event, .ctx = &ev };
	uint64_t deadline = 0;
	char **pos;
	int npos, rc;

	if (cli_getopt(c, argc, argv, events_opt, &ev, &pos, &npos, &rc))
		return rc;
	if (npos)
		return cli_usage(c, "unexpected argument '%s'", pos[0]);
	if (ev.count_given && !ev.count)
		return cli_usage(c, "--count 0: expected at least 1");
	rc = reader_open(c, &r);
	if (rc == CLI_OK) {
		cli_note_nftables(c, NFT_NO_EVENTS);
		if (c->tty && !c->json)
			fprintf(stderr, "axdp: sampled drop events, a few per second per CPU at most; Ctrl-C stops\n");
		if (ev.timeout)
			deadline = r.start_ns + (uint64_t)(ev.timeout * 1e9);
		rc = reader_run(&r, deadline);
		if (rc == CLI_OK && ev.count_given && ev.seen < ev.count && !cli_stop)
			rc = cli_error(c, CLI_FAIL, "%lu of %lu events within %g s", ev.seen, ev.count, ev.timeout);
	}
	reader_close(&r);
	return rc;
}

const struct cli_command cli_command_events = {
	.name = "events",
	.run = cmd_events,
	.synopsis = "events [--count N] [--timeout S] [--json]",
	.summary = "live log of dropped packets (sampled)",
	.help = "Dropped packets as they happen: time, interface, protocol, source, destination and reason.  The\n"
		"data path samples at most a few events per second per CPU, and only while this command runs;\n"
		"'N more drops not sampled' counts the drops left out before an event.\n",
	.options = events_options,
	.json = true,
};

/* ---- top ---- */

struct sample {
	struct axdp_addr src;
	__u16 dport;
	__u8 proto;
};

struct top {
	double interval;
	unsigned long limit;
	struct sample *v;
	size_t n, cap;
	unsigned long long skipped;
};

static int keep_sample(struct reader *r, const struct axdp_drop_event *e)
{
	struct top *t = r->ctx;

	t->skipped += e->skipped;
	/* Out of memory: the sample is left out, the rest of the top list stands. */
	if (AXDP_GROW(t->v, t->cap, t->n))
		return 0;
	t->v[t->n++] = (struct sample){ .src = e->src, .dport = e->dport, .proto = e->proto };
	return 0;
}

static int by_source(const void *a, const void *b)
{
	return memcmp(&((const struct sample *)a)->src, &((const struct sample *)b)->src, sizeof(struct axdp_addr));
}

static int by_port(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;

	return x->proto != y->proto ? x->proto - y->proto : x->dport - y->dport;
}

struct group {
	size_t first, count;
};

static int most_first(const void *a, const void *b)
{
	size_t x = ((const struct group *)a)->count, y = ((const struct group *)b)->count;

	return x > y ? -1 : x < y;
}

/* Runs of equal keys after sorting by cmp, most frequent first. */
static struct group *groups(struct top *t, int (*cmp)(const void *, const void *), size_t *n)
{
	struct group *g = calloc(t->n ? t->n : 1, sizeof(*g));

	*n = 0;
	if (!g)
		return NULL;
	axdp_sort(t->v, t->n, sizeof(*t->v), cmp);
	for (size_t i = 0; i < t->n; i++) {
		if (i && cmp(&t->v[i - 1], &t->v[i]) == 0) {
			g[*n - 1].count++;
			continue;
		}
		g[(*n)++] = (struct group){ i, 1 };
	}
	axdp_sort(g, *n, sizeof(*g), most_first);
	return g;
}

static uint64_t dropped_total(int fd)
{
	struct axdp_counter all[AXDP_REASON_COUNT];
	uint64_t sum = 0;

	if (fd < 0 || axdp_counters_read(fd, AXDP_ALL_SLOTS, all))
		return 0;
	for (int r = 0; r < AXDP_REASON_COUNT; r++)
		if (axdp_reason_action(r) == AXDP_ACTION_drop)
			sum += all[r].packets;
	return sum;
}

static void port_text(char *buf, size_t len, const struct sample *s)
{
	if (s->proto == 6 || s->proto == 17)
		snprintf(buf, len, "%s/%u", cli_proto_name(s->proto), s->dport);
	else
		snprintf(buf, len, "%s", cli_proto_name(s->proto));
}

static void print_top(struct cli *c, struct top *t, uint64_t drops, int audit)
{
	struct group *src, *port;
	struct sample *by_port_copy;
	size_t n_src, n_port;
	char text[64], d[16], k[16];
	struct json j;

	/* groups() sorts the samples: the port groups index a copy sorted by port, the source groups t->v. */
	port = groups(t, by_port, &n_port);
	by_port_copy = malloc((t->n ? t->n : 1) * sizeof(*t->v));
	if (by_port_copy && t->n)
		memcpy(by_port_copy, t->v, t->n * sizeof(*t->v));
	src = groups(t, by_source, &n_src);
	if (!src || !port || !by_port_copy) {
		cli_error(c, CLI_FAIL, "out of memory");
		goto out;
	}
	if (c->json) {
		json_start(&j, stdout);
		json_obj(&j, NULL);
		json_num(&j, "interval_s", t->interval);
		json_str(&j, "mode", cli_mode_name(audit));
		json_u64(&j, "drops", drops);
		json_u64(&j, "sampled", t->n);
		json_u64(&j, "not_sampled", t->skipped);
		json_arr(&j, "sources");
		for (size_t i = 0; i < n_src && i < t->limit; i++) {
			axdp_addr_format(text, sizeof(text), &t->v[src[i].first].src);
			json_obj(&j, NULL);
			json_str(&j, "address", text);
			json_u64(&j, "events", src[i].count);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_arr(&j, "ports");
		for (size_t i = 0; i < n_port && i < t->limit; i++) {
			const struct sample *s = &by_port_copy[port[i].first];

			json_obj(&j, NULL);
			json_str(&j, "protocol", cli_proto_name(s->proto));
			json_u64(&j, "port", s->dport);
			json_u64(&j, "events", port[i].count);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		json_end(&j);
		goto out;
	}
	cli_si(d, sizeof(d), (double)drops, NULL);
	cli_si(k, sizeof(k), (double)t->skipped, NULL);
	printf("%s packets %s in %g s (counters); %zu of them sampled, %s more not sampled.\n"
	       "Shares below are of the samples, not of all drops.\n\n",
	       d, audit == 1 ? "judged drops (Mode=audit: passed)" : "dropped", t->interval, t->n, k);
	printf("%s%-40s %8s %6s%s\n", cli_c(c, CLI_BOLD), "SOURCE", "SAMPLED", "SHARE", cli_c(c, CLI_RESET));
	for (size_t i = 0; i < n_src && i < t->limit; i++) {
		axdp_addr_format(text, sizeof(text), &t->v[src[i].first].src);
		printf("%-40s %8zu %5.0f%%\n", text, src[i].count, 100.0 * (double)src[i].count / (double)t->n);
	}
	printf("\n%s%-40s %8s %6s%s\n", cli_c(c, CLI_BOLD), "DESTINATION PORT", "SAMPLED", "SHARE",
	       cli_c(c, CLI_RESET));
	for (size_t i = 0; i < n_port && i < t->limit; i++) {
		port_text(text, sizeof(text), &by_port_copy[port[i].first]);
		printf("%-40s %8zu %5.0f%%\n", text, port[i].count, 100.0 * (double)port[i].count / (double)t->n);
	}
out:
	free(src);
	free(port);
	free(by_port_copy);
}

static int top_opt(struct cli *c, int id, const char *arg, void *st)
{
	struct top *t = st;

	if (id == OPT_INTERVAL)
		return cli_parse_seconds(c, "--interval", arg, 0.5, &t->interval);
	if (id == OPT_LIMIT)
		return cli_parse_count(c, "--limit", arg, &t->limit);
	return CLI_USAGE;
}

static const struct cli_option top_options[] = {
	{ "interval", "S", OPT_INTERVAL, "seconds to sample (default 5)" },
	{ "limit", "N", OPT_LIMIT, "rows per table (default 10)" },
	{ 0 },
};

static int cmd_top(struct cli *c, int argc, char **argv)
{
	struct top t = { .interval = 5, .limit = 10 };
	struct reader r = { .ctl_fd = -1, .ring_fd = -1, .on_event = keep_sample, .ctx = &t };
	uint64_t before = 0;
	char **pos;
	int npos, rc, counters = -1;

	if (cli_getopt(c, argc, argv, top_opt, &t, &pos, &npos, &rc))
		return rc;
	if (npos)
		return cli_usage(c, "unexpected argument '%s'", pos[0]);
	if (!t.limit)
		t.limit = (unsigned long)-1;
	rc = reader_open(c, &r);
	if (rc == CLI_OK && (counters = cli_open_map(c, AXDP_MAP_COUNTERS, &rc)) >= 0) {
		cli_note_nftables(c, NFT_NO_EVENTS);
		if (c->tty && !c->json)
			fprintf(stderr, "axdp: sampling drops for %g s...\n", t.interval);
		before = dropped_total(counters);
		rc = reader_run(&r, r.start_ns + (uint64_t)(t.interval * 1e9));
		if (rc == CLI_OK && !cli_stop)
			print_top(c, &t, dropped_total(counters) - before, cli_running_audit(c));
		close(counters);
	}
	reader_close(&r);
	free(t.v);
	return rc;
}

const struct cli_command cli_command_top = {
	.name = "top",
	.run = cmd_top,
	.synopsis = "top [--interval S] [--limit N] [--json]",
	.summary = "top dropped sources and ports (sampled)",
	.help = "The sources and destination ports of the drops sampled over --interval seconds (default 5),\n"
		"most frequent first, beside the exact number of drops the counters saw meanwhile.\n",
	.options = top_options,
	.json = true,
};
