/* SPDX-License-Identifier: MIT */
/*
 * The daemon's pid file (PidFile=): autoxdpd writes it once it is ready
 * and removes it when it exits; axdp(8) finds the daemon through it for
 * status, reload and policy changes.
 */
#ifndef AXDP_PIDFILE_H
#define AXDP_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

#define AXDP_DAEMON_COMM "autoxdpd"

int axdp_pidfile_write(const char *path, pid_t pid, char *err, size_t errlen);

/* Removes path only if it still names pid: a newer daemon's file stays. */
void axdp_pidfile_remove(const char *path, pid_t pid);

/*
 * The pid of the autoxdpd named by path, if that process is alive and
 * is autoxdpd; 0 when the file is missing or stale.  -1 with err only
 * when the file exists but cannot be read.
 */
pid_t axdp_pidfile_running(const char *path, char *err, size_t errlen);

/*
 * Asks the autoxdpd of pid (from axdp_pidfile_running()) to reload its
 * configuration: SIGHUP, the signal it reloads on.  0, or -1 with errno
 * (EPERM: not ours to signal; ESRCH: it is gone) and err saying so.
 */
int axdp_daemon_reload(pid_t pid, char *err, size_t errlen);

#endif
