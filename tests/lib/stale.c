// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "netns.h"
#include "stale.h"

void rmtree(const char *path, int depth)
{
	DIR *dir = depth > 0 ? opendir(path) : NULL;
	struct dirent *de;

	/* Deepest first: rmdir only takes empty directories. */
	while (dir && (de = readdir(dir))) {
		char sub[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (de->d_type == DT_DIR)
			rmtree(sub, depth - 1);
		else
			unlink(sub);
	}
	if (dir)
		closedir(dir);
	rmdir(path);
}

void stale_remove(const char *parent, const char *prefix, const char *after_pid, int depth)
{
	size_t plen = strlen(prefix), alen = strlen(after_pid);
	DIR *dir = opendir(parent);
	struct dirent *de;

	while (dir && (de = readdir(dir))) {
		char path[PATH_MAX], *end;
		long pid;

		if (strncmp(de->d_name, prefix, plen) || de->d_name[plen] < '1' || de->d_name[plen] > '9')
			continue;
		pid = strtol(de->d_name + plen, &end, 10);
		if ((alen ? strncmp(end, after_pid, alen) : *end) || pid == getpid() || netns_pid_alive(pid))
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		rmtree(path, depth);
	}
	if (dir)
		closedir(dir);
}
