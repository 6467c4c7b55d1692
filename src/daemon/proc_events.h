/* SPDX-License-Identifier: MIT */
/*
 * The kernel's process connector: exec and exit of any process.  The
 * daemon's fallback where the socket hooks cannot load: a process that
 * starts or ends is when listeners appear or go, so each burst of events
 * brings a reconcile instead of waiting for the periodic one.
 */
#ifndef AXDP_PROC_EVENTS_H
#define AXDP_PROC_EVENTS_H

#include <stddef.h>

/* A subscribed socket, readable when events arrived; -1 with err (it only works in the initial network namespace). */
int axdp_proc_events_open(char *err, size_t errlen);

/* Drains the socket; 1 if a process exec'd or exited, 0 if not, -1 on error. */
int axdp_proc_events_drain(int fd);

#endif
