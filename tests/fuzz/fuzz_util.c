// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "fuzz_util.h"

static char dir[64];

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[PATH_MAX];

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			remove_tree(sub);
		}
	closedir(d);
	rmdir(path);
}

static void remove_dir(void)
{
	remove_tree(dir);
}

const char *fuzz_dir(void)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/dev/shm/axdp-fuzz-%d", (int)getpid());
		remove_tree(dir);
		FUZZ_ASSERT(mkdir(dir, 0700) == 0, "mkdir %s: %m", dir);
		atexit(remove_dir);
	}
	return dir;
}

const char *fuzz_file(const char *name, const uint8_t *data, size_t len)
{
	static char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_ASSERT(fd >= 0 && (len == 0 || write(fd, data, len) == (ssize_t)len) && close(fd) == 0, "writing %s: %m",
		    path);
	return path;
}

const char *fuzz_subdir(const char *sub)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), sub);
	remove_tree(path);
	FUZZ_ASSERT(mkdir(path, 0700) == 0, "mkdir %s: %m", path);
	return path;
}
