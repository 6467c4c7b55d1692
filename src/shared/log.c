// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include "log.h"

static bool to_journal;

/* JOURNAL_STREAM names stderr's device:inode when systemd connected it to the journal. */
void axdp_log_init(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	to_journal = stream && sscanf(stream, "%lu:%lu", &dev, &ino) == 2 && fstat(2, &st) == 0 && st.st_dev == dev &&
		     st.st_ino == ino;
}

void axdp_log_fields(int priority, const struct axdp_log_fields *f, const char *fmt, ...)
{
	static const struct axdp_log_fields none;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!f)
		f = &none;
	if (!to_journal) {
		fprintf(stderr, "autoxdpd: %s\n", msg);
		return;
	}
	sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority, "AXDP_PROTOCOL=%s", f->protocol ? f->protocol : "",
			"AXDP_PORT=%u", f->port, "AXDP_PROCESS=%s", f->process ? f->process : "", "AXDP_INTERFACE=%s",
			f->interface ? f->interface : "", NULL);
}
