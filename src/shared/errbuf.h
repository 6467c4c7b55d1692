/* SPDX-License-Identifier: MIT */
/*
 * The error convention of this code base: a function that fails writes
 * one line into the caller's err buffer (truncated to errlen) and returns
 * -1, so a caller can `return axdp_fail(err, errlen, ...)` in one step.
 */
#ifndef AXDP_ERRBUF_H
#define AXDP_ERRBUF_H

#include <errno.h>
#include <limits.h>
#include <stddef.h>

__attribute__((format(printf, 3, 4))) int axdp_fail(char *err, size_t errlen, const char *fmt, ...);

/*
 * The errno of a netlink error or NLMSG_DONE status (the kernel sends -errno).  Anything else (a positive
 * value, INT_MIN, which has no negation) comes from no kernel: EPROTO.
 */
static inline int axdp_netlink_errno(int error)
{
	return error < 0 && error != INT_MIN ? -error : EPROTO;
}

#endif
