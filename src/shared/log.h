/* SPDX-License-Identifier: MIT */
/*
 * Logging for autoxdpd: structured journald entries when stderr is the
 * journal (JOURNAL_STREAM), plain lines on stderr otherwise.
 */
#ifndef AXDP_LOG_H
#define AXDP_LOG_H

#include <syslog.h>

/* Optional structured fields of a log entry; NULL or 0 when not relevant. */
struct axdp_log_fields {
	const char *protocol;
	unsigned int port;
	const char *process;
	const char *interface;
};

void axdp_log_init(void);

__attribute__((format(printf, 3, 4))) void axdp_log_fields(int priority, const struct axdp_log_fields *f,
							   const char *fmt, ...);

#define axdp_log(priority, ...) axdp_log_fields(priority, NULL, __VA_ARGS__)

#endif
