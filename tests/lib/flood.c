// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "flood.h"
#include "timing.h"

#define BATCH 256
#define FRAME_MAX 64

uint32_t flood_ip4(const char *dotted)
{
	struct in_addr a;

	return inet_pton(AF_INET, dotted, &a) == 1 ? ntohl(a.s_addr) : 0;
}

static int mac_of(const char *netns, const char *ifname, uint8_t mac[6], char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int fd = netns_socket(netns, AF_INET, SOCK_DGRAM, 0, err, errlen);

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		snprintf(err, errlen, "%s in %s: reading its MAC address: %s", ifname, netns, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

int flood_open(struct flood *f, const struct netns_pair *p, char *err, size_t errlen)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int one = 1;

	memset(f, 0, sizeof(*f));
	f->ifindex = p->ifindex[NETNS_CLIENT];
	if (mac_of(p->name[NETNS_CLIENT], p->ifname[NETNS_CLIENT], f->src_mac, err, errlen) ||
	    mac_of(p->name[NETNS_SERVER], p->ifname[NETNS_SERVER], f->dst_mac, err, errlen))
		return -1;
	/* Protocol 0: this socket only sends, it must not receive a copy of every frame. */
	f->fd = netns_socket(p->name[NETNS_CLIENT], AF_PACKET, SOCK_RAW, 0, err, errlen);
	if (f->fd < 0)
		return -1;
	sll.sll_ifindex = f->ifindex;
	if (bind(f->fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(f->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) {
		snprintf(err, errlen, "packet socket on %s: %s", p->ifname[NETNS_CLIENT], strerror(errno));
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	return 0;
}

void flood_close(struct flood *f)
{
	if (f->fd > 0)
		close(f->fd);
	f->fd = -1;
}

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *b = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

/* Frames are byte arrays: header fields land at any alignment, so they are copied in. */
static void put16(uint8_t *at, uint16_t v)
{
	memcpy(at, &v, sizeof(v));
}

static void put32(uint8_t *at, uint32_t v)
{
	memcpy(at, &v, sizeof(v));
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* One valid frame (checksums included: what XDP passes, the stack must take as real). */
static size_t build(const struct flood *f, const struct flood_spec *s, uint64_t *rnd, uint8_t *fr)
{
	uint64_t r = next_rand(rnd);
	uint32_t src = s->src + (s->src_count > 1 ? (uint32_t)(r % s->src_count) : 0);
	uint16_t span = (uint16_t)(s->dport_hi - s->dport_lo + 1);
	uint16_t dport = (uint16_t)(s->dport_lo + (span ? (r >> 32) % span : 0));
	uint16_t sport = (uint16_t)(1024 + (r >> 16) % 60000);
	size_t l4len = s->kind == FLOOD_UDP ? 8 + 18 : 20;
	uint8_t *ip = fr + 14, *l4 = ip + 20;
	uint32_t pseudo;

	memcpy(fr, f->dst_mac, 6);
	memcpy(fr + 6, f->src_mac, 6);
	fr[12] = 0x08, fr[13] = 0x00;
	memset(ip, 0, 20 + l4len);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + l4len) >> 8), ip[3] = (uint8_t)(20 + l4len);
	ip[4] = (uint8_t)(r >> 8), ip[5] = (uint8_t)r;
	ip[8] = 64;
	ip[9] = s->kind == FLOOD_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	put32(ip + 12, htonl(src));
	put32(ip + 16, htonl(s->dst));
	put16(ip + 10, htons(fold(sum16(ip, 20, 0))));

	put16(l4 + 0, htons(sport));
	put16(l4 + 2, htons(dport));
	if (s->kind == FLOOD_UDP) {
		put16(l4 + 4, htons((uint16_t)l4len));
	} else {
		put32(l4 + 4, (uint32_t)r);                 /* seq */
		put32(l4 + 8, s->kind == FLOOD_ACK ? (uint32_t)(r >> 32) : 0);
		l4[12] = 5 << 4;
		l4[13] = s->kind == FLOOD_ACK ? 0x10 : 0x02;
		put16(l4 + 14, htons(64240));
	}
	pseudo = sum16(ip + 12, 8, 0) + ip[9] + (uint32_t)l4len;
	*(uint16_t *)(l4 + (s->kind == FLOOD_UDP ? 6 : 16)) = htons(fold(sum16(l4, l4len, pseudo)));
	return 14 + 20 + l4len;
}

int flood_send_frame(struct flood *f, const void *frame, size_t len, char *err, size_t errlen)
{
	uint8_t fr[2048];

	if (len < 14 || len > sizeof(fr)) {
		snprintf(err, errlen, "a frame of %zu bytes: not an Ethernet frame this sender takes", len);
		return -1;
	}
	memcpy(fr, frame, len);
	memcpy(fr, f->dst_mac, 6);
	memcpy(fr + 6, f->src_mac, 6);
	if (send(f->fd, fr, len, 0) != (ssize_t)len) {
		snprintf(err, errlen, "send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int flood_send(struct flood *f, const struct flood_spec *s, struct flood_result *r, char *err, size_t errlen)
{
	static uint8_t frames[BATCH][FRAME_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t rnd = s->seed ? s->seed : 0x2545f4914f6cdd1dULL;
	uint32_t batch = s->pps && s->pps < BATCH * 100 ? (s->pps / 100 ? s->pps / 100 : 1) : BATCH;
	double start = now_s(), t;

	r->sent = r->refused = 0;
	memset(msgs, 0, sizeof(msgs));
	while (r->sent < s->count) {
		uint32_t n = s->count - r->sent < batch ? (uint32_t)(s->count - r->sent) : batch;
		int done;

		for (uint32_t i = 0; i < n; i++) {
			iov[i].iov_base = frames[i];
			iov[i].iov_len = build(f, s, &rnd, frames[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		done = sendmmsg(f->fd, msgs, n, 0);
		if (done < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "sendmmsg: %s", strerror(errno));
			return -1;
		}
		r->sent += done > 0 ? (uint64_t)done : 0;
		/* sendmmsg stops at the first frame the device drops; the ones after it were never tried. */
		r->refused += done < (int)n;
		t = now_s() - start;
		if (s->max_seconds && t > s->max_seconds)
			break;
		if (s->pps && (double)r->sent / s->pps > t) {
			double ahead = (double)r->sent / s->pps - t;
			struct timespec ts = { (time_t)ahead, (long)((ahead - (double)(time_t)ahead) * 1e9) };

			nanosleep(&ts, NULL);
		}
	}
	r->seconds = now_s() - start;
	return 0;
}

struct stats_call {
	const char *ifname;
	struct flood_link_stats *st;
	int found;
};

static int read_stats(void *arg)
{
	struct stats_call *c = arg;
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa))
		return -1;
	for (i = ifa; i; i = i->ifa_next) {
		const struct rtnl_link_stats *ls = i->ifa_data;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_PACKET || strcmp(i->ifa_name, c->ifname) || !ls)
			continue;
		c->st->rx_packets = ls->rx_packets;
		c->st->tx_packets = ls->tx_packets;
		c->st->rx_dropped = ls->rx_dropped;
		c->st->tx_dropped = ls->tx_dropped;
		c->found = 1;
	}
	freeifaddrs(ifa);
	return 0;
}

int flood_link_stats(const char *netns, const char *ifname, struct flood_link_stats *st, char *err, size_t errlen)
{
	struct stats_call c = { ifname, st, 0 };

	if (netns_call(netns, read_stats, &c, err, errlen) < 0)
		return -1;
	if (!c.found)
		return snprintf(err, errlen, "%s in %s: no counters", ifname, netns), -1;
	return 0;
}

static int read_segments(void *arg)
{
	uint64_t *segs = arg;
	char head[1024], vals[1024];
	FILE *f = fopen("/proc/thread-self/net/snmp", "re");
	int rc = -1;

	while (f && fgets(head, sizeof(head), f) && fgets(vals, sizeof(vals), f)) {
		char *hs, *vs, *h = strtok_r(head, " \n", &hs), *v = strtok_r(vals, " \n", &vs);

		if (!h || strcmp(h, "Tcp:"))
			continue;
		*segs = 0;
		while ((h = strtok_r(NULL, " \n", &hs)) && (v = strtok_r(NULL, " \n", &vs)))
			if (!strcmp(h, "OutSegs") || !strcmp(h, "RetransSegs"))
				*segs += strtoull(v, NULL, 10);
		rc = 0;
		break;
	}
	if (f)
		fclose(f);
	return rc;
}

int flood_tcp_segments_out(const char *netns, uint64_t *segs, char *err, size_t errlen)
{
	if (netns_call(netns, read_segments, segs, err, errlen) != 0)
		return snprintf(err, errlen, "reading Tcp OutSegs in %s", netns), -1;
	return 0;
}
