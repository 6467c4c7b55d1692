// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "atomicfile.h"
#include "errbuf.h"

int axdp_atomic_open(struct axdp_atomic_file *a, const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0, fd;

	a->f = NULL;
	if (snprintf(a->path, sizeof(a->path), "%s", path) >= (int)sizeof(a->path) ||
	    snprintf(a->tmp, sizeof(a->tmp), "%.*s.%s.%d.tmp", dirlen, path, path + dirlen, (int)getpid()) >=
		    (int)sizeof(a->tmp))
		return axdp_fail(err, errlen, "%s: path too long", path);
	fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return axdp_fail(err, errlen, "creating %s: %s (is the directory there and writable?)", a->tmp,
				 strerror(errno));
	a->f = fdopen(fd, "w");
	if (!a->f) {
		snprintf(err, errlen, "creating %s: %s", a->tmp, strerror(errno));
		close(fd);
		unlink(a->tmp);
		return -1;
	}
	return 0;
}

int axdp_atomic_commit(struct axdp_atomic_file *a, mode_t mode, char *err, size_t errlen)
{
	const char *what = NULL;
	int error = 0;

	if (fflush(a->f) == EOF || ferror(a->f) || fchmod(fileno(a->f), mode))
		what = "writing", error = errno ? errno : EIO;
	if (fclose(a->f) == EOF && !what)
		what = "writing", error = errno;
	a->f = NULL;
	if (!what && rename(a->tmp, a->path))
		what = "renaming it over the target", error = errno;
	if (!what)
		return 0;
	snprintf(err, errlen, "%s %s: %s (the previous %s is unchanged)", what, a->tmp, strerror(error), a->path);
	unlink(a->tmp);
	return -1;
}

void axdp_atomic_abort(struct axdp_atomic_file *a)
{
	if (a->f)
		fclose(a->f);
	a->f = NULL;
	unlink(a->tmp);
}
