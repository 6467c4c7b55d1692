// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "atomicfile.h"
#include "pidfile.h"
#include "errbuf.h"

int axdp_pidfile_write(const char *path, pid_t pid, char *err, size_t errlen)
{
	char dir[4096];
	char *slash;
	struct axdp_atomic_file a;

	/* Outside systemd nothing made RuntimeDirectory=autoxdp: the daemon makes its own directory. */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return axdp_fail(err, errlen, "creating %s: %s", dir, strerror(errno));
	}
	if (axdp_atomic_open(&a, path, err, errlen))
		return -1;
	fprintf(a.f, "%d\n", (int)pid);
	return axdp_atomic_commit(&a, 0644, err, errlen);
}

static pid_t read_pid(const char *path, int *error)
{
	FILE *f = fopen(path, "re");
	long pid = 0;
	char extra;

	*error = 0;
	if (!f) {
		*error = errno;
		return 0;
	}
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 0 || pid > 0x3fffffff || fscanf(f, " %c", &extra) == 1)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

void axdp_pidfile_remove(const char *path, pid_t pid)
{
	int error;

	if (read_pid(path, &error) == pid)
		unlink(path);
}

/* A pid can be reused by anything after a crash: it counts only if the process is autoxdpd. */
static int is_daemon(pid_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, AXDP_DAEMON_COMM) == 0;
}

int axdp_daemon_reload(pid_t pid, char *err, size_t errlen)
{
	int saved;

	if (kill(pid, SIGHUP) == 0)
		return 0;
	saved = errno;
	axdp_fail(err, errlen, "signalling autoxdpd (pid %d): %s", (int)pid, strerror(saved));
	errno = saved;
	return -1;
}

pid_t axdp_pidfile_running(const char *path, char *err, size_t errlen)
{
	int error;
	pid_t pid = read_pid(path, &error);

	if (error && error != ENOENT)
		return axdp_fail(err, errlen, "reading pid file %s: %s", path, strerror(error));
	if (pid <= 0 || (kill(pid, 0) && errno != EPERM) || !is_daemon(pid))
		return 0;
	return pid;
}
