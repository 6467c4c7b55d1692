/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Instant open: listen() and bind() put their port into the allow-list
 * before they return, so a client's first SYN or datagram already passes.
 * Closing is left to the daemon, which checks that no other socket still
 * listens (SO_REUSEPORT groups, v4 and v6 twins, restarts); the hooks only
 * tell it when to look.
 */
#ifndef AXDP_SOCK_HOOKS_H
#define AXDP_SOCK_HOOKS_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "state.h"

#define TCP_ESTABLISHED_STATE 1
#define TCP_CLOSE_STATE 7
#define TCP_LISTEN_STATE 10
#define SOCK_DGRAM_TYPE 2

/* The few kernel fields read here, relocated by CO-RE against the running kernel's BTF. */
struct net {
	__u64 net_cookie;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} possible_net_t;

struct in6_addr;

struct sock_common {
	__be32 skc_rcv_saddr;
	__u16 skc_num;
	unsigned short skc_family;
	unsigned char skc_ipv6only : 1;
	possible_net_t skc_net;
	struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
} __attribute__((preserve_access_index));

/*
 * IPV6_V6ONLY of an IPv6 socket.  Read through bpf_probe_read_kernel, so it
 * also serves the cgroup socket hooks, whose context is the struct sock
 * itself but exposes no such field (struct bpf_sock).
 */
static __always_inline int sock_v6only(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(&sk->__sk_common, skc_ipv6only);
}

static __always_inline bool addr_is_loopback(const struct axdp_addr *a)
{
	if (!a->w[0] && !a->w[1] && a->w[2] == bpf_htonl(0xffff))
		return (bpf_ntohl(a->w[3]) >> 24) == 127;
	return !a->w[0] && !a->w[1] && !a->w[2] && a->w[3] == bpf_htonl(1);
}

static __always_inline void tell_daemon(enum axdp_sock_event_kind kind, enum axdp_l4 l4, __u16 port,
					const struct axdp_addr *addr)
{
	struct axdp_sock_event *e = bpf_ringbuf_reserve(&sock_events, sizeof(*e), 0);

	if (!e)
		return; /* the periodic reconcile catches what a full ring loses */
	e->kind = kind;
	e->l4 = l4;
	e->port = port;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->addr = *addr;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

/*
 * The same rule the daemon applies from sock_diag: loopback and excluded
 * binds open nothing, a wildcard bind opens the families its socket receives.
 */
static __always_inline void open_for_listener(enum axdp_l4 l4, __u16 port, const struct axdp_addr *addr, int v6only)
{
	__u32 idx = l4 * AXDP_PORTS + port;
	struct axdp_port_slot *slot = bpf_map_lookup_elem(&port_allow, &idx);
	struct axdp_lpm_key prefix = { .prefixlen = 128, .addr = *addr };
	struct axdp_addr_port key = { .local = *addr, .port = port, .l4 = l4 };
	__u32 any = axdp_wildcard_bit(addr, v6only), was;
	__u8 one = 1;

	if (!slot || (slot->flags & AXDP_PORT_EXCLUDED) || addr_is_loopback(addr))
		return;
	if (any) {
		was = __sync_fetch_and_or(&slot->flags, any);
	} else {
		if (bpf_map_lookup_elem(&bind_exclude, &prefix))
			return;
		bpf_map_update_elem(&addr_allow, &key, &one, BPF_ANY);
		was = __sync_fetch_and_or(&slot->flags, AXDP_PORT_OPEN_ADDR);
	}
	/* Only a port that was closed is news: a second listener of a group is not. */
	if (!(was & AXDP_PORT_OPEN))
		tell_daemon(AXDP_SOCK_OPENED, l4, port, addr);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_listen, struct sock *sk, int oldstate, int newstate)
{
	struct axdp_addr addr;
	int v6only = 0;

	if (!knobs.netns_cookie || sk->__sk_common.skc_net.net->net_cookie != knobs.netns_cookie ||
	    BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (newstate != TCP_LISTEN_STATE && oldstate != TCP_LISTEN_STATE)
		return 0;
	if (sk->__sk_common.skc_family == 2 /* AF_INET */) {
		addr_from_ipv4(&addr, sk->__sk_common.skc_rcv_saddr);
	} else {
		bpf_core_read(&addr, sizeof(addr), &sk->__sk_common.skc_v6_rcv_saddr);
		v6only = sock_v6only(sk);
	}

	if (newstate == TCP_LISTEN_STATE)
		open_for_listener(AXDP_L4_TCP, sk->__sk_common.skc_num, &addr, v6only);
	else
		tell_daemon(AXDP_SOCK_CLOSED, AXDP_L4_TCP, sk->__sk_common.skc_num, &addr);
	return 0;
}

static __always_inline int udp_bound(struct bpf_sock *ctx, const struct axdp_addr *addr, int v6only)
{
	__u64 cookie;
	struct axdp_sock_bind bind = { .addr = *addr, .port = ctx->src_port };

	if (!knobs.netns_cookie || bpf_get_netns_cookie(ctx) != knobs.netns_cookie ||
	    ctx->protocol != IPPROTO_UDP || ctx->type != SOCK_DGRAM_TYPE ||
	    (bind.port >= knobs.ephemeral_lo && bind.port <= knobs.ephemeral_hi))
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	bpf_map_update_elem(&udp_socks, &cookie, &bind, BPF_ANY);
	open_for_listener(AXDP_L4_UDP, bind.port, addr, v6only);
	return 1;
}

SEC("cgroup/post_bind4")
int udp_bind4(struct bpf_sock *ctx)
{
	struct axdp_addr addr;

	addr_from_ipv4(&addr, ctx->src_ip4);
	return udp_bound(ctx, &addr, 0);
}

SEC("cgroup/post_bind6")
int udp_bind6(struct bpf_sock *ctx)
{
	struct axdp_addr addr = {
		.w = { ctx->src_ip6[0], ctx->src_ip6[1], ctx->src_ip6[2], ctx->src_ip6[3] },
	};

	return udp_bound(ctx, &addr, sock_v6only((const struct sock *)ctx));
}

SEC("cgroup/sock_release")
int udp_release(struct bpf_sock *ctx)
{
	__u64 cookie;
	struct axdp_sock_bind *bind;

	if (!knobs.netns_cookie || ctx->protocol != IPPROTO_UDP)
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	bind = bpf_map_lookup_elem(&udp_socks, &cookie);
	if (bind) {
		tell_daemon(AXDP_SOCK_CLOSED, AXDP_L4_UDP, bind->port, &bind->addr);
		bpf_map_delete_elem(&udp_socks, &cookie);
	}
	return 1;
}

#endif
