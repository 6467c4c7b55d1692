// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "dpstate.h"
#include "packet.h"

/* Documentation ranges only.  Each list mixes what the state knows with what it does not. */
const char *const dpstate_local4[] = { "192.0.2.10", "192.0.2.99" };
const char *const dpstate_local6[] = { "2001:db8::10", "2001:db8::99" };
const char *const dpstate_remote4[] = {
	"198.51.100.7", "198.51.100.8",   /* flows */
	"203.0.113.5",                    /* trusted */
	"203.0.113.66",                   /* denied */
	"203.0.113.200", "203.0.113.150", /* denied: a listed address, in a listed /28 (both in the exact set) */
	"203.0.113.201",                  /* next to them */
	"10.1.2.3", "192.0.2.10",         /* private; the host's own address */
	"0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "240.0.0.1",
};
const char *const dpstate_remote6[] = {
	"2001:db8:ffff::7", "2001:db8:ffff::8",
	"2001:db8:aaaa::5",
	"2001:db8:dddd::1",
	"2001:db8:eeee::1", "2001:db8:eeee::2",  /* denied (a listed address), next to it */
	"fe80::1", "2001:db8::10",
	"::", "::1", "ff02::1", "::ffff:198.51.100.7", "::ffff:203.0.113.66",
};
const size_t dpstate_nlocal4 = 2, dpstate_nlocal6 = 2;
const size_t dpstate_nremote4 = sizeof(dpstate_remote4) / sizeof(dpstate_remote4[0]);
const size_t dpstate_nremote6 = sizeof(dpstate_remote6) / sizeof(dpstate_remote6[0]);
const uint16_t dpstate_ports[] = { 22, 80, 8080, 53, 5353, 443, 123, 40000, 40001, 40002, 40003, 0, 67, 68, 546, 547, 1234 };
const size_t dpstate_nports = sizeof(dpstate_ports) / sizeof(dpstate_ports[0]);
const uint16_t dpstate_echo_ids[] = { 77, 78, 5 };
const size_t dpstate_necho_ids = 3;

static const char *const deny[] = { "203.0.113.64/26", "2001:db8:dddd::/48", "203.0.113.200", "203.0.113.144/28",
				    "2001:db8:eeee::1" };
static const char *const trust[] = { "203.0.113.0/26", "2001:db8:aaaa::/48" };

/* Listeners: any address, or one address only. */
static const struct {
	uint8_t proto;
	uint16_t port;
	const char *on;   /* NULL: any */
} opens[] = {
	{ IPPROTO_TCP, 22, NULL }, { IPPROTO_TCP, 80, NULL },
	{ IPPROTO_TCP, 8080, "192.0.2.10" }, { IPPROTO_TCP, 8080, "2001:db8::10" },
	{ IPPROTO_UDP, 53, NULL }, { IPPROTO_UDP, 5353, "192.0.2.99" },
};

/* What the host sends: the egress program records these flows. */
static const struct {
	uint8_t proto;   /* IPPROTO_ICMP: an echo request of either family */
	const char *local, *remote;
	uint16_t lport, rport;   /* echo: lport is the identifier */
} sent[] = {
	{ IPPROTO_TCP, "192.0.2.10", "198.51.100.7", 40000, 443 },
	{ IPPROTO_TCP, "2001:db8::10", "2001:db8:ffff::7", 40001, 443 },
	{ IPPROTO_UDP, "192.0.2.10", "198.51.100.8", 40002, 53 },
	{ IPPROTO_UDP, "2001:db8::10", "2001:db8:ffff::8", 40003, 123 },
	{ IPPROTO_ICMP, "192.0.2.10", "198.51.100.7", 77, 0 },
	{ IPPROTO_ICMP, "2001:db8::10", "2001:db8:ffff::7", 78, 0 },
};

static void addr16(uint8_t out[16], const char *s)
{
	struct axdp_addr a = dpt_addr(s);

	memcpy(out, &a, 16);
}

static int cidr_list(const char *const *v, size_t n, struct axdp_cidr *out, struct dpm_cidr *model)
{
	for (size_t i = 0; i < n; i++) {
		if (axdp_cidr_parse(v[i], strlen(v[i]), false, &out[i]))
			return -1;
		memcpy(model[i].addr, out[i].addr, 16);
		model[i].prefix = out[i].prefix;
		model[i].v4 = !strchr(v[i], ':');
	}
	return 0;
}

static int send_egress(struct dpstate *d, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
		bool v6 = strchr(sent[i].local, ':');
		struct dpt_outcome o;
		struct pkt p;

		pkt_init(&p);
		pkt_eth(&p);
		if (v6)
			pkt_ipv6(&p, &(struct pkt_ipv6_opts){ .src = sent[i].local, .dst = sent[i].remote });
		else
			pkt_ipv4(&p, &(struct pkt_ipv4_opts){ .src = sent[i].local, .dst = sent[i].remote });
		if (sent[i].proto == IPPROTO_TCP)
			pkt_tcp(&p, &(struct pkt_tcp_opts){ .sport = sent[i].lport, .dport = sent[i].rport, .flags = PKT_TCP_ACK });
		else if (sent[i].proto == IPPROTO_UDP)
			pkt_udp(&p, sent[i].lport, sent[i].rport);
		else
			pkt_icmp(&p, v6 ? 128 : 8, 0, sent[i].lport, 1);
		o = dpt_run(&d->t, DPT_TC, &p);
		if (o.err || strcmp(dpt_reason_name(o.reason), "flow_tracked"))
			return snprintf(err, errlen, "egress packet %zu: %s, counted as %s, not flow_tracked", i,
					strerror(-o.err), dpt_reason_name(o.reason)), -1;
	}
	return 0;
}

/*
 * The counters of slot 0 in one batch read: a test run counts there, and
 * reading every slot per frame (dpt_run) would cost 30 times the run.
 */
static int read_counts(struct dpstate *d, uint64_t out[AXDP_REASON_COUNT])
{
	__u32 keys[AXDP_REASON_COUNT], out_batch, count = AXDP_REASON_COUNT;
	const struct axdp_counter *v = d->percpu;
	int rc = bpf_map_lookup_batch(d->t.counters, NULL, &out_batch, keys, d->percpu, &count, NULL);

	/* ENOENT: the batch reached the end of the map, not possible for 64 slots of reasons. */
	if (rc && errno != ENOENT)
		return -errno;
	if (count != AXDP_REASON_COUNT)
		return -EIO;
	for (__u32 i = 0; i < count; i++) {
		out[keys[i]] = 0;
		for (int cpu = 0; cpu < d->t.ncpus; cpu++)
			out[keys[i]] += v[i * (size_t)d->t.ncpus + cpu].packets;
	}
	return 0;
}

int dpstate_setup(struct dpstate *d, char *err, size_t errlen)
{
	struct axdp_knobs k = AXDP_KNOBS_DEFAULT;
	struct axdp_cidr c[8];
	struct axdp_addr local[4];
	struct dpm_state *s = &d->model;
	int rc;

	memset(d, 0, sizeof(*d));
	d->m = (struct axdp_policy_maps)AXDP_POLICY_MAPS_CLOSED;
	k.drop_martians = 1;
	k.trust_opens_tcp = 1;
	s->drop_martians = s->trust_opens_tcp = true;
	if ((rc = dpt_load(&d->t, &k)))
		return snprintf(err, errlen, "loading the data path: %s", d->t.err), -1;
	if (axdp_policy_open(&d->m, d->t.dp.pin_dir, err, errlen))
		return -1;
	d->percpu = calloc((size_t)AXDP_REASON_COUNT * (size_t)d->t.ncpus, sizeof(struct axdp_counter));
	if (!d->percpu)
		return snprintf(err, errlen, "out of memory"), -1;
	for (int r = 0; r < AXDP_REASON_COUNT; r++)
		s->dhcp_reply |= !strcmp(dpt_reason_name(r), "dhcp_reply");

	s->ndeny = sizeof(deny) / sizeof(deny[0]);
	if (cidr_list(deny, s->ndeny, c, s->deny) || axdp_policy_set_deny(&d->m, c, s->ndeny, err, errlen))
		return -1;
	s->ntrust = sizeof(trust) / sizeof(trust[0]);
	if (cidr_list(trust, s->ntrust, c, s->trust) || axdp_policy_set_trust(&d->m, c, s->ntrust, err, errlen))
		return -1;
	for (size_t i = 0; i < 2; i++) {
		local[i] = dpt_addr(dpstate_local4[i]);
		local[2 + i] = dpt_addr(dpstate_local6[i]);
	}
	s->nlocal = 4;
	memcpy(s->local, local, sizeof(local));
	if (axdp_policy_set_local(&d->m, local, 4, err, errlen))
		return -1;

	for (size_t i = 0; i < sizeof(opens) / sizeof(opens[0]); i++) {
		enum axdp_l4 l4 = opens[i].proto == IPPROTO_TCP ? AXDP_L4_TCP : AXDP_L4_UDP;
		struct dpm_open *o = &s->open[s->nopen++];

		o->proto = opens[i].proto;
		o->port = opens[i].port;
		o->any = !opens[i].on;
		if (opens[i].on)
			addr16(o->addr, opens[i].on);
		rc = opens[i].on ? dpt_port_open_on(&d->t, l4, opens[i].port, opens[i].on) : dpt_port_open(&d->t, l4, opens[i].port);
		if (rc)
			return snprintf(err, errlen, "opening port %u: %s", opens[i].port, strerror(-rc)), -1;
	}
	for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
		struct dpm_flow *f = &s->flows[s->nflows++];
		bool v6 = strchr(sent[i].local, ':');

		f->proto = sent[i].proto == IPPROTO_ICMP && v6 ? IPPROTO_ICMPV6 : sent[i].proto;
		addr16(f->local, sent[i].local);
		addr16(f->remote, sent[i].remote);
		f->local_port = sent[i].lport;
		f->remote_port = sent[i].rport;
	}
	return send_egress(d, err, errlen) || read_counts(d, d->counted) ? -1 : 0;
}

int dpstate_refresh(struct dpstate *d, char *err, size_t errlen)
{
	int rc = dpt_frags_forget(&d->t);

	if (rc)
		return snprintf(err, errlen, "emptying the fragment tables: %s", strerror(-rc)), -1;
	d->model.nfrags = 0;
	if (send_egress(d, err, errlen))
		return -1;
	return read_counts(d, d->counted) ? snprintf(err, errlen, "reading the counters: %s", strerror(errno)), -1 : 0;
}

void dpstate_teardown(struct dpstate *d)
{
	axdp_policy_close(&d->m);
	dpt_unload(&d->t);
	free(d->percpu);
	d->percpu = NULL;
}

int dpstate_compare(struct dpstate *d, const uint8_t *frame, size_t len, char *why, size_t whylen)
{
	uint64_t now[AXDP_REASON_COUNT], packets = 0;
	int retval, reason = DPT_REASON_NONE, rc;
	const char *want, *got;
	uint32_t duration;
	struct pkt p;
	bool pass;

	pkt_init(&p);
	memcpy(p.data, frame, len);
	p.len = len;
	want = dpm_judge(&d->model, frame, len, &pass);
	if ((rc = dpt_run_repeat(&d->t, DPT_XDP, &p, 1, &retval, &duration)) || (rc = read_counts(d, now)))
		return snprintf(why, whylen, "test run failed: %s", strerror(-rc)), -1;
	for (int r = 0; r < AXDP_REASON_COUNT; r++) {
		uint64_t delta = now[r] - d->counted[r];

		packets += delta;
		if (delta)
			reason = reason == DPT_REASON_NONE && delta == 1 ? r : DPT_REASON_MANY;
	}
	memcpy(d->counted, now, sizeof(now));
	got = dpt_reason_name(reason);
	d->last_reason = want;
	if (!strcmp(want, got) && retval == (pass ? XDP_PASS : XDP_DROP) && packets == 1)
		return 0;
	snprintf(why, whylen, "model: %s %s; object: %s %s (returned %d, %llu packets counted)", pass ? "pass" : "drop",
		 want, retval == XDP_PASS ? "pass" : retval == XDP_DROP ? "drop" : "?", got, retval,
		 (unsigned long long)packets);
	return -1;
}
