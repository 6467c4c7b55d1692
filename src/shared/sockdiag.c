// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include "sockdiag.h"
#include "errbuf.h"
#include "netlink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include "autoxdp_abi.h"
#include "util.h"

struct dump_kind {
	uint8_t family, proto;
	const char *name;
};

static bool unspecified(const __be32 a[4], uint8_t family)
{
	return family == AF_INET ? a[0] == 0 : (a[0] | a[1] | a[2] | a[3]) == 0;
}

/* INET_DIAG_SKV6ONLY: the kernel adds it for IPv6 sockets in LISTEN or CLOSE (bound UDP) state. */
static bool diag_v6only(const struct nlmsghdr *h)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, h, sizeof(struct inet_diag_msg)) if (mnl_attr_get_type(a) == INET_DIAG_SKV6ONLY &&
								  mnl_attr_get_payload_len(a) >=
									  1) return mnl_attr_get_u8(a) != 0;
	return false;
}

static int push(struct axdp_socket_set *s, const struct axdp_socket *l)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct axdp_socket *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *l;
	return 0;
}

/* v4-mapped so one 16-byte key space covers both families. */
static void to_addr16(uint8_t family, const __be32 src[4], uint8_t out[16])
{
	if (family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &src[0], 4);
	} else {
		memcpy(out, src, 16);
	}
}

static void to_socket(const struct nlmsghdr *h, uint8_t proto, struct axdp_socket *l)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(h);

	memset(l, 0, sizeof(*l));
	l->proto = proto;
	l->family = m->idiag_family;
	l->port = ntohs(m->id.idiag_sport);
	to_addr16(m->idiag_family, m->id.idiag_src, l->addr);
	l->remote_port = ntohs(m->id.idiag_dport);
	to_addr16(m->idiag_family, m->id.idiag_dst, l->remote);
	l->v6only = m->idiag_family == AF_INET6 && diag_v6only(h);
	l->wildcard = axdp_socket_wildcard_bit(l) != 0;
	l->inode = m->idiag_inode;
	/* Same split as the kernel's sock_diag_save_cookie(), so it equals SO_COOKIE. */
	l->cookie = m->id.idiag_cookie[0] | (uint64_t)m->id.idiag_cookie[1] << 32;
}

struct collect_ctx {
	uint8_t proto;
	bool listening;
	struct axdp_socket_set *out;
};

/*
 * Keeps one socket of a dump.  For listeners, a UDP socket with a peer is a
 * client: belt and braces on top of the CLOSE-state filter, because the
 * daemon must never mistake a client socket for a service.
 */
static int collect(const struct nlmsghdr *h, void *data)
{
	const struct collect_ctx *c = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(h);
	struct axdp_socket sock;

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < mnl_nlmsg_size(sizeof(*m)))
		return MNL_CB_OK;
	if (c->listening && c->proto == IPPROTO_UDP &&
	    (m->id.idiag_sport == 0 || m->id.idiag_dport != 0 || !unspecified(m->id.idiag_dst, m->idiag_family)))
		return MNL_CB_OK;
	to_socket(h, c->proto, &sock);
	if (push(c->out, &sock) < 0) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int axdp_sockdiag_parse(const void *buf, size_t len, uint32_t seq, uint8_t proto, bool listening,
			struct axdp_socket_set *out)
{
	struct collect_ctx c = { proto, listening, out };

	return axdp_nl_parse(buf, len, seq, 0, collect, &c);
}

/* Returns 0 when complete, 1 when the kernel flagged the dump inconsistent, -1 on error. */
static int dump_one(struct mnl_socket *nl, const struct dump_kind *k, uint32_t states, bool listening,
		    struct axdp_socket_set *out, const char **what)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = k->family, .sdiag_protocol = k->proto, .idiag_states = states },
	};
	struct collect_ctx c = { k->proto, listening, out };

	return axdp_nl_request(nl, &req.nh, collect, &c, what);
}

/* Dumps TCP sockets in tcp_states and UDP sockets in udp_states, both families, into out. */
static int dump_all(uint32_t tcp_states, uint32_t udp_states, bool listening, struct axdp_socket_set *out, char *err,
		    size_t errlen)
{
	const size_t base = out->n;
	static const struct dump_kind kinds[] = {
		{ AF_INET, IPPROTO_TCP, "tcp4" },
		{ AF_INET6, IPPROTO_TCP, "tcp6" },
		{ AF_INET, IPPROTO_UDP, "udp4" },
		{ AF_INET6, IPPROTO_UDP, "udp6" },
	};
	const char *what = "socket(AF_NETLINK, NETLINK_SOCK_DIAG)";
	const char *name = "setup";
	int rc = -1;

	struct mnl_socket *nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == 0) {
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			size_t mark = out->n;
			int tries = 0;
			name = kinds[i].name;
			uint32_t states = kinds[i].proto == IPPROTO_TCP ? tcp_states : udp_states;
			do {
				out->n = mark; /* drop the partial, inconsistent attempt */
				rc = dump_one(nl, &kinds[i], states, listening, out, &what);
			} while (rc == 1 && ++tries < AXDP_NL_DUMP_TRIES);
			if (rc == 1) {
				errno = EAGAIN;
				what = "dump (kept changing underneath)";
				rc = -1;
			}
			if (rc < 0)
				break;
		}
	}
	int e = errno;
	if (nl)
		mnl_socket_close(nl);
	if (rc < 0) {
		out->n = base;
		if (err && errlen)
			snprintf(err, errlen, "sock_diag %s %s: %s", name, what, strerror(e));
	}
	errno = e;
	return rc < 0 ? -1 : 0;
}

int axdp_listeners_dump(struct axdp_socket_set *out, char *err, size_t errlen)
{
	/* UDP reuses TCP state numbers: unconnected is TCP_CLOSE, connected is ESTABLISHED. */
	return dump_all(1u << TCP_LISTEN, 1u << TCP_CLOSE, true, out, err, errlen);
}

int axdp_connections_dump(struct axdp_socket_set *out, char *err, size_t errlen)
{
	const uint32_t tcp = 1u << TCP_ESTABLISHED | 1u << TCP_SYN_SENT | 1u << TCP_SYN_RECV | 1u << TCP_FIN_WAIT1 |
			     1u << TCP_FIN_WAIT2 | 1u << TCP_CLOSE_WAIT | 1u << TCP_LAST_ACK | 1u << TCP_CLOSING;

	return dump_all(tcp, 1u << TCP_ESTABLISHED, false, out, err, errlen);
}

uint32_t axdp_socket_wildcard_bit(const struct axdp_socket *s)
{
	struct axdp_addr a;

	memcpy(&a, s->addr, sizeof(a));
	return axdp_wildcard_bit(&a, s->v6only);
}

void axdp_socket_set_free(struct axdp_socket_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int key_cmp(const void *pa, const void *pb)
{
	const struct axdp_socket *a = pa, *b = pb;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

size_t axdp_socket_set_unique(struct axdp_socket_set *s)
{
	size_t w = 0;
	if (s->n == 0)
		return 0;
	axdp_sort(s->v, s->n, sizeof(*s->v), key_cmp);
	for (size_t i = 1; i < s->n; i++)
		if (key_cmp(&s->v[w], &s->v[i]) != 0)
			s->v[++w] = s->v[i];
	return s->n = w + 1;
}

bool axdp_socket_set_contains(const struct axdp_socket_set *s, uint8_t proto, uint16_t port, const uint8_t addr[16])
{
	struct axdp_socket key = { .proto = proto, .port = port };
	memcpy(key.addr, addr, sizeof(key.addr));
	return s->n && bsearch(&key, s->v, s->n, sizeof(*s->v), key_cmp) != NULL;
}

static int read_comm(int procfd, const char *pid, char *comm, size_t len)
{
	char path[300], buf[64];
	snprintf(path, sizeof(path), "%s/comm", pid);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(comm, len, "%s", buf);
	return 0;
}

void axdp_proc_sockets(enum axdp_proc_walk (*fn)(void *ctx, struct axdp_proc_socket *s), void *ctx)
{
	enum axdp_proc_walk next = AXDP_PROC_NEXT_FD;
	DIR *proc = opendir("/proc");
	struct dirent *de;

	while (proc && next != AXDP_PROC_STOP && (de = readdir(proc))) {
		struct axdp_proc_socket s = { .pid = de->d_name, .proc_fd = dirfd(proc) };
		char path[300], link[64];
		DIR *fds;
		int dfd;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/fd", de->d_name);
		dfd = openat(dirfd(proc), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		fds = dfd < 0 ? NULL : fdopendir(dfd);
		if (!fds) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		next = AXDP_PROC_NEXT_FD;
		for (struct dirent *fe; next == AXDP_PROC_NEXT_FD && (fe = readdir(fds));) {
			ssize_t n = readlinkat(dirfd(fds), fe->d_name, link, sizeof(link) - 1);

			if (n <= 8 || memcmp(link, "socket:[", 8))
				continue;
			link[n] = '\0';
			s.inode = strtoull(link + 8, NULL, 10);
			next = fn(ctx, &s);
		}
		closedir(fds);
	}
	if (proc)
		closedir(proc);
}

const char *axdp_proc_socket_comm(struct axdp_proc_socket *s)
{
	if (!s->comm[0] && read_comm(s->proc_fd, s->pid, s->comm, sizeof(s->comm)) < 0)
		return NULL;
	return s->comm;
}

struct name_query {
	uint64_t inode;
	char *comm;
	size_t len;
	bool found;
};

static enum axdp_proc_walk name_holder(void *ctx, struct axdp_proc_socket *s)
{
	struct name_query *q = ctx;
	const char *comm;

	if (s->inode != q->inode)
		return AXDP_PROC_NEXT_FD;
	/* Exited between the fd match and reading comm: another process may hold it too. */
	if (!(comm = axdp_proc_socket_comm(s)))
		return AXDP_PROC_NEXT_PROCESS;
	snprintf(q->comm, q->len, "%s", comm);
	q->found = true;
	return AXDP_PROC_STOP;
}

int axdp_socket_process_name(uint64_t inode, char *comm, size_t len)
{
	struct name_query q = { inode, comm, len, false };

	if (!comm || !len) {
		errno = EINVAL;
		return -1;
	}
	axdp_proc_sockets(name_holder, &q);
	if (!q.found) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}
