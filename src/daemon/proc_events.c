// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include "netlink.h"
#include "proc_events.h"

int axdp_proc_events_open(char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0 };
	struct {
		struct nlmsghdr nh;
		struct cn_msg cn;
		enum proc_cn_mcast_op op;
	} __attribute__((packed)) req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = NLMSG_DONE },
		.cn = { .id = { .idx = CN_IDX_PROC, .val = CN_VAL_PROC }, .len = sizeof(enum proc_cn_mcast_op) },
		.op = PROC_CN_MCAST_LISTEN,
	};
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(fd, &req, sizeof(req), 0) < 0) {
		snprintf(err, errlen, "subscribing to the process connector: %s%s", strerror(errno),
			 errno == ECONNREFUSED ? " (only the initial network namespace has it)" : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int note_event(const struct nlmsghdr *h, void *data)
{
	const struct cn_msg *cn = mnl_nlmsg_get_payload(h);
	bool *relevant = data;
	__u32 what;

	if (h->nlmsg_len < mnl_nlmsg_size(sizeof(*cn) + sizeof(what)))
		return MNL_CB_OK;
	/* Copied out: the event sits 4 bytes past an 8-byte boundary, struct proc_event needs 8. */
	memcpy(&what, cn->data + offsetof(struct proc_event, what), sizeof(what));
	*relevant |= what == PROC_EVENT_EXEC || what == PROC_EVENT_EXIT;
	return MNL_CB_OK;
}

int axdp_proc_events_drain(int fd)
{
	bool relevant = false;
	/* 1 on an overrun too: lost events cannot be named, so assume they mattered. */
	int rc = axdp_nl_drain(fd, note_event, &relevant);

	return rc ? rc : relevant;
}
