// SPDX-License-Identifier: MIT
/*
 * Differential fuzzing of the data path: random and mutated frames (every
 * header, every length, VLAN and QinQ stacks, IPv6 extension chains,
 * fragments, ICMP errors quoting other packets) through the real object by
 * BPF_PROG_TEST_RUN and through the reference model (tests/model), verdict
 * and reason compared frame by frame.  A mismatch prints the frame as hex
 * and in scapy's notation and is kept as a case file that make check runs
 * (test_dpcases).
 *
 *   dpfuzz [--seconds N] [--frames N] [--seed N] [--keep DIR]
 *
 * Exit status 0 when every frame agreed, 1 on a mismatch, 2 on a setup error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "dpstate.h"
#include "packet.h"

static uint64_t rng;

static uint32_t rnd(void)
{
	/* xorshift64*: fast, and a seed replays a run. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}

static uint32_t pick(uint32_t n)
{
	return rnd() % n;
}

static bool chance(unsigned percent)
{
	return pick(100) < percent;
}

static uint16_t port(void)
{
	return chance(85) ? dpstate_ports[pick((uint32_t)dpstate_nports)] : (uint16_t)rnd();
}

static const char *addr(bool v6, bool local)
{
	if (local && chance(90))
		return v6 ? dpstate_local6[pick((uint32_t)dpstate_nlocal6)] : dpstate_local4[pick((uint32_t)dpstate_nlocal4)];
	return v6 ? dpstate_remote6[pick((uint32_t)dpstate_nremote6)] : dpstate_remote4[pick((uint32_t)dpstate_nremote4)];
}

static const uint8_t tcp_flags[] = { 0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x00, 0x29, 0x03, 0x06, 0x3f, 0xc2, 0x40 };

static void transport(struct pkt *p, bool v6, int depth);

/* An ICMP error quoting a packet of the host (or not): inner built whole, then cut as routers cut it. */
static void icmp_error(struct pkt *p, bool v6)
{
	static const uint8_t v4_types[] = { 3, 11, 12 }, v6_types[] = { 1, 2, 3, 4 };
	bool inner_v6 = chance(95) ? v6 : !v6;
	struct pkt in;
	size_t start, len;

	pkt_init(&in);
	pkt_eth(&in);
	/* The quoted packet went out: from the host to a remote. */
	if (inner_v6)
		pkt_ipv6(&in, &(struct pkt_ipv6_opts){ .src = addr(true, true), .dst = addr(true, false) });
	else
		pkt_ipv4(&in, &(struct pkt_ipv4_opts){ .src = addr(false, true), .dst = addr(false, false),
							.frag_offset = chance(5) ? (uint16_t)(1 + pick(50)) : 0 });
	if (inner_v6 && chance(8))
		pkt_ipv6_ext(&in, 60, 8);
	transport(&in, inner_v6, 1);
	start = in.l3_off;
	len = in.len - start;
	if (chance(30))
		len = pick((uint32_t)len + 1);
	pkt_icmp(p, v6 ? v6_types[pick(4)] : v4_types[pick(3)], (uint8_t)pick(5), 0, 0);
	pkt_payload(p, in.data + start, len);
}

static void transport(struct pkt *p, bool v6, int depth)
{
	uint32_t k = pick(100);

	if (k < 35) {
		struct pkt_tcp_opts o = { .sport = port(), .dport = port(), .seq = rnd(), .ack = rnd() };

		o.flags = chance(70) ? tcp_flags[pick(sizeof(tcp_flags))] : (uint8_t)rnd();
		if (chance(5))
			o.doff = (uint8_t)pick(16);
		pkt_tcp(p, &o);
		if (depth == 0 && chance(30))
			pkt_payload(p, NULL, pick(64));
	} else if (k < 65) {
		pkt_udp(p, port(), port());
		if (depth == 0 && chance(40))
			pkt_payload(p, NULL, pick(64));
	} else if (k < 92) {
		static const uint8_t v4_types[] = { 0, 8, 3, 11, 12, 5, 13, 4, 9 };
		static const uint8_t v6_types[] = { 128, 129, 1, 2, 3, 4, 133, 134, 135, 136, 137, 130, 131, 132, 143, 200 };
		uint8_t type = v6 ? v6_types[pick(sizeof(v6_types))] : v4_types[pick(sizeof(v4_types))];
		bool error = v6 ? type >= 1 && type <= 4 : type == 3 || type == 11 || type == 12;

		if (error && depth == 0) {
			icmp_error(p, v6);
			return;
		}
		pkt_icmp(p, chance(95) ? type : (uint8_t)rnd(), (uint8_t)pick(3), dpstate_echo_ids[pick(3)], 1);
		if (depth == 0 && chance(20))
			pkt_payload(p, NULL, pick(32));
	} else {
		static const uint8_t others[] = { 47, 50, 132, 59, 253, 1, 58, 4, 41 };

		pkt_proto(p, others[pick(sizeof(others))]);
		pkt_payload(p, NULL, pick(40));
	}
}

static void ipv6_chain(struct pkt *p)
{
	static const uint8_t types[] = { 0, 43, 60, 51, 44 };
	uint32_t n = chance(80) ? 1 + pick(3) : 1 + pick(10);

	for (uint32_t i = 0; i < n; i++) {
		uint8_t t = types[pick(5)];

		if (i == 0 && chance(30))
			t = 0;
		if (t == 44)
			pkt_ipv6_frag(p, chance(50) ? 0 : (uint16_t)(1 + pick(20)), chance(50), 1 + pick(3));
		else if (t == 51)
			pkt_ipv6_ext(p, t, 12 + 4 * pick(4));
		else
			pkt_ipv6_ext(p, t, 8 + 8 * pick(3));
	}
}

/* A reply to one of the host's flows, addresses and ports as they came back: conntrack is reached. */
static bool flow_reply(struct pkt *p, const struct dpm_state *s)
{
	const struct dpm_flow *f = &s->flows[pick((uint32_t)s->nflows)];
	char local[64], remote[64];
	bool v6 = !(f->local[10] == 0xff && f->local[11] == 0xff && !f->local[0]);

	inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ? f->local : f->local + 12, local, sizeof(local));
	inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ? f->remote : f->remote + 12, remote, sizeof(remote));
	if (v6)
		pkt_ipv6(p, &(struct pkt_ipv6_opts){ .src = remote, .dst = local });
	else
		pkt_ipv4(p, &(struct pkt_ipv4_opts){ .src = remote, .dst = local });
	if (f->proto == IPPROTO_TCP)
		pkt_tcp(p, &(struct pkt_tcp_opts){ .sport = f->remote_port, .dport = f->local_port,
						   .flags = tcp_flags[pick(sizeof(tcp_flags))] });
	else if (f->proto == IPPROTO_UDP)
		pkt_udp(p, f->remote_port, f->local_port);
	else
		pkt_icmp(p, chance(80) ? (v6 ? 129 : 0) : (uint8_t)rnd(), 0, f->local_port, 1);
	return true;
}

static void frame(struct pkt *p, const struct dpm_state *s)
{
	bool v6 = chance(50);
	uint32_t tags = chance(80) ? 0 : 1 + pick(3);

	pkt_init(p);
	pkt_eth(p);
	for (uint32_t i = 0; i < tags; i++)
		pkt_vlan(p, chance(50) ? 0x8100 : 0x88a8, (uint16_t)pick(4096));
	if (chance(3)) {
		pkt_arp_request(p, "192.0.2.1", "192.0.2.10");
		return;
	}
	if (chance(5) && flow_reply(p, s))
		return;
	if (v6) {
		pkt_ipv6(p, &(struct pkt_ipv6_opts){ .src = addr(true, false), .dst = addr(true, true),
						     .version = chance(2) ? (uint8_t)pick(16) : 0 });
		if (chance(30))
			ipv6_chain(p);
	} else {
		struct pkt_ipv4_opts o = { .src = addr(false, false), .dst = addr(false, true), .id = (uint16_t)(1 + pick(3)),
					   .reserved_flag = chance(2), .version = chance(2) ? (uint8_t)pick(16) : 0 };
		static const uint8_t nop[40] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
						 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };

		if (chance(20)) {
			o.more_fragments = chance(60);
			o.frag_offset = chance(50) ? 0 : (uint16_t)(1 + pick(20));
		}
		if (chance(5)) {
			o.options = nop;
			o.options_len = 4 * (1 + pick(10));
		}
		pkt_ipv4(p, &o);
	}
	transport(p, v6, 0);
}

/* Damage after the build: what the builder keeps consistent, broken on purpose. */
static void mutate(struct pkt *p)
{
	uint32_t n = 1 + pick(3);

	for (uint32_t i = 0; i < n; i++) {
		switch (pick(6)) {
		case 0:
		case 1:
			p->data[pick((uint32_t)p->len)] ^= (uint8_t)(1u << pick(8));
			break;
		case 2:
			p->data[pick((uint32_t)p->len)] = (uint8_t)rnd();
			break;
		case 3:
			if (p->len > 14)
				p->len = 14 + pick((uint32_t)(p->len - 14));
			break;
		case 4:
			if (p->ip_version && p->l3_off + 8 <= p->len) {
				size_t off = p->l3_off + (p->ip_version == 4 ? 2 : 4);

				p->data[off] = (uint8_t)pick(3);
				p->data[off + 1] = (uint8_t)rnd();
			}
			break;
		case 5:
			if (p->len < 60)
				pkt_pad(p, 60);
			else if (p->len + 8 < PKT_MAX)
				p->len += pick(8);   /* trailing bytes past the IP length */
			break;
		}
	}
}

/* How often each reason came out: a reason never reached is a hole in the generator. */
static const char *seen_names[64];
static unsigned long long seen_counts[64];

static void count_reason(const char *name)
{
	for (size_t i = 0; i < 64; i++) {
		if (!seen_names[i])
			seen_names[i] = name;
		if (!strcmp(seen_names[i], name)) {
			seen_counts[i]++;
			return;
		}
	}
}

static void hex(FILE *f, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", d[i]);
	fputc('\n', f);
}

static void keep(const char *dir, const struct pkt *p, const char *desc, const char *why)
{
	char path[512];
	unsigned long long h = 1469598103934665603ULL;
	FILE *f;

	for (size_t i = 0; i < p->len; i++)
		h = (h ^ p->data[i]) * 1099511628211ULL;
	snprintf(path, sizeof(path), "%s/%016llx.case", dir, h);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "dpfuzz: keeping the case in %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(f, "# %s\n# found: %s\n", desc, why);
	hex(f, p->data, p->len);
	fclose(f);
	printf("kept as %s\n", path);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "seconds", required_argument, NULL, 's' },
					      { "frames", required_argument, NULL, 'n' },
					      { "seed", required_argument, NULL, 'r' },
					      { "keep", required_argument, NULL, 'k' },
					      {} };
	unsigned long long frames = 0, done = 0, mismatches = 0, mutated = 0;
	double seconds = 0;
	const char *keep_dir = NULL;
	struct timespec t0, now, last;
	struct dpstate d;
	char err[512], why[512], desc[2048];
	int opt;

	rng = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': seconds = strtod(optarg, NULL); break;
		case 'n': frames = strtoull(optarg, NULL, 10); break;
		case 'r': rng = strtoull(optarg, NULL, 0); break;
		case 'k': keep_dir = optarg; break;
		default:
			fprintf(stderr, "usage: dpfuzz [--seconds N] [--frames N] [--seed N] [--keep DIR]\n");
			return 2;
		}
	}
	if (!rng)
		rng = 1;
	if (!seconds && !frames)
		frames = 1000000;
	printf("dpfuzz: seed 0x%llx\n", (unsigned long long)rng);
	if (dpstate_setup(&d, err, sizeof(err))) {
		fprintf(stderr, "dpfuzz: %s\n", err);
		dpstate_teardown(&d);
		return 2;
	}
	if (keep_dir)
		mkdir(keep_dir, 0755);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	last = t0;
	for (;;) {
		struct pkt p;
		double elapsed;

		if (frames && done >= frames)
			break;
		if ((done & 1023) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			elapsed = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
			if (seconds && elapsed >= seconds)
				break;
			if (now.tv_sec - last.tv_sec >= 5) {
				last = now;
				if (dpstate_refresh(&d, err, sizeof(err))) {
					fprintf(stderr, "dpfuzz: %s\n", err);
					dpstate_teardown(&d);
					return 2;
				}
			}
		}
		frame(&p, &d.model);
		if (chance(30)) {
			mutate(&p);
			mutated++;
		}
		if (p.len < 14)
			p.len = 14;
		done++;
		if (dpstate_compare(&d, p.data, p.len, why, sizeof(why)) == 0) {
			count_reason(d.last_reason);
			continue;
		}
		mismatches++;
		if (mismatches <= 20) {
			dpm_describe(p.data, p.len, desc, sizeof(desc));
			printf("MISMATCH frame %llu: %s\n  %s\n  ", done, why, desc);
			hex(stdout, p.data, p.len);
			if (keep_dir)
				keep(keep_dir, &p, desc, why);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	printf("dpfuzz: %llu frames (%llu mutated) in %.1f s, %llu mismatches\n", done, mutated,
	       (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9, mismatches);
	for (size_t i = 0; i < 64 && seen_names[i]; i++)
		printf("  %-22s %llu\n", seen_names[i], seen_counts[i]);
	dpstate_teardown(&d);
	return mismatches ? 1 : 0;
}
