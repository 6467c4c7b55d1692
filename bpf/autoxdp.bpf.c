/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/* autoxdp's data path: XDP judges what arrives, tc egress records what the host starts. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "ingress.h"
#include "egress.h"
#include "events.h"
#include "sock_hooks.h"

SEC("xdp")
int xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 bytes;
	enum axdp_reason reason = judge_inbound(data, end, &bytes);

	count(reason, ctx->ingress_ifindex, bytes);
	if (axdp_reason_action(reason) == AXDP_ACTION_pass)
		return XDP_PASS;
	/*
	 * Read again, not kept: a packet pointer live across the judgement
	 * holds the range each parse gave it, and the verifier would check
	 * the judgement once per range.
	 */
	sample_drop((void *)(long)ctx->data, (void *)(long)ctx->data_end, ctx->ingress_ifindex, reason);
	/* A constant: in enforce mode the verifier removes this, and the drop path is what it always was. */
	if (knobs.audit) {
		count_in(&audit_counters, reason, ctx->ingress_ifindex, bytes);
		return XDP_PASS;
	}
	return XDP_DROP;
}

/* Locally built packets keep their headers in the linear part; pull them in if a driver did not. */
#define EGRESS_HEADER_BYTES 128

SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	/* Comparisons, not a difference: subtracting packet pointers needs CAP_PERFMON, which reloads lack. */
	if (data + EGRESS_HEADER_BYTES > end && data + skb->len > end) {
		bpf_skb_pull_data(skb, EGRESS_HEADER_BYTES);
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
	}
	count(track_outbound(data, end), skb->ifindex, skb->len);
	/* Never a verdict on the host's own traffic: let the next filter, or the stack, decide. */
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
