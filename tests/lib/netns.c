// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "errbuf.h"
#include "netns.h"
#include "sock.h"

/* Where iproute2 keeps named namespaces; the names are what `ip netns list` shows. */
#define NETNS_RUN_DIR "/run/netns"
#define IP_BIN "ip"
#define MAX_ARGS 24

extern char **environ;

static const char *const side_tag[] = { [NETNS_SERVER] = "srv", [NETNS_CLIENT] = "cli" };
static const char *const side_if[] = { [NETNS_SERVER] = "veth-srv", [NETNS_CLIENT] = "veth-cli" };

/* Runs `ip ARGS...` (NULL-terminated) without a shell, so names need no quoting. */
static int ip(char *err, size_t errlen, ...)
{
	const char *argv[MAX_ARGS] = { IP_BIN };
	char cmd[512] = IP_BIN;
	size_t n = 1, used = strlen(cmd);
	int status, rc;
	va_list ap;
	pid_t pid;

	va_start(ap, errlen);
	while (n < MAX_ARGS - 1 && (argv[n] = va_arg(ap, const char *)) != NULL) {
		used += snprintf(cmd + used, used < sizeof(cmd) ? sizeof(cmd) - used : 0, " %s", argv[n]);
		n++;
	}
	va_end(ap);
	argv[n] = NULL;

	rc = posix_spawnp(&pid, IP_BIN, NULL, NULL, (char *const *)argv, environ);
	if (rc)
		return axdp_fail(err, errlen, "'%s': cannot run %s: %s (install iproute2)", cmd, IP_BIN, strerror(rc));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return axdp_fail(err, errlen, "'%s': waiting for it: %s", cmd, strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return axdp_fail(err, errlen, "'%s' failed (%s %d; its message is on stderr)", cmd,
			    WIFEXITED(status) ? "exit" : "signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}

bool netns_pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int netns_current(char *err, size_t errlen)
{
	/* thread-self: setns() moves one thread, and /proc/self would name the main thread. */
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return axdp_fail(err, errlen, "opening /proc/thread-self/ns/net: %s", strerror(errno));
	return fd;
}

int netns_return(int fd, char *err, size_t errlen)
{
	int rc = setns(fd, CLONE_NEWNET);
	int saved = errno;

	close(fd);
	if (rc)
		return axdp_fail(err, errlen, "returning to the saved network namespace: %s", strerror(saved));
	return 0;
}

int netns_enter(const char *name, char *err, size_t errlen)
{
	char path[sizeof(NETNS_RUN_DIR) + NETNS_NAME_MAX + 1];
	int fd, rc, saved;

	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return axdp_fail(err, errlen, "network namespace %s: opening %s: %s", name, path, strerror(errno));
	rc = setns(fd, CLONE_NEWNET);
	saved = errno;
	close(fd);
	if (rc)
		return axdp_fail(err, errlen, "network namespace %s: setns: %s", name, strerror(saved));
	return 0;
}

int netns_call(const char *name, int (*fn)(void *arg), void *arg, char *err, size_t errlen)
{
	int home = netns_current(err, errlen);
	int rc, saved;

	if (home < 0)
		return -1;
	if (netns_enter(name, err, errlen)) {
		close(home);
		return -1;
	}
	rc = fn(arg);
	saved = errno;
	/* A thread stranded in the wrong namespace would make every later step lie. */
	if (netns_return(home, err, errlen))
		return -1;
	errno = saved;
	return rc;
}

int netns_socket(const char *name, int domain, int type, int protocol, char *err, size_t errlen)
{
	int home = netns_current(err, errlen);
	int fd, saved;

	if (home < 0)
		return -1;
	if (netns_enter(name, err, errlen)) {
		close(home);
		return -1;
	}
	fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	saved = errno;
	if (netns_return(home, err, errlen)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd < 0)
		return axdp_fail(err, errlen, "network namespace %s: socket(%d, %d, %d): %s", name, domain, type,
			    protocol, strerror(saved));
	return fd;
}

static int lookup_ifindex(void *arg)
{
	return (int)if_nametoindex(arg);
}

socklen_t netns_sockaddr(const struct netns_pair *p, enum netns_side side, int family, uint16_t port,
			 struct sockaddr_storage *ss)
{
	return tsock_addr(family, family == AF_INET ? p->ip4[side] : p->ip6[side], port, ss);
}

static int setup_side(struct netns_pair *p, enum netns_side s, char *err, size_t errlen)
{
	char a4[32], a6[64];

	snprintf(a4, sizeof(a4), "%s/24", p->ip4[s]);
	snprintf(a6, sizeof(a6), "%s/64", p->ip6[s]);
	if (ip(err, errlen, "-n", p->name[s], "link", "set", "dev", p->ifname[s], "up", NULL) ||
	    ip(err, errlen, "-n", p->name[s], "addr", "add", a4, "dev", p->ifname[s], NULL) ||
	    ip(err, errlen, "-n", p->name[s], "addr", "add", a6, "dev", p->ifname[s], "nodad", NULL))
		return -1;
	p->ifindex[s] = netns_call(p->name[s], lookup_ifindex, p->ifname[s], err, errlen);
	if (p->ifindex[s] <= 0)
		return axdp_fail(err, errlen, "network namespace %s: no interface %s after creating it", p->name[s],
			    p->ifname[s]);
	return 0;
}

int netns_pair_create(struct netns_pair *p, char *err, size_t errlen)
{
	/* Several pairs in one process (a benchmark) must not share names either. */
	static unsigned seq;
	long pid = getpid();
	char ignored[256];
	enum netns_side s;

	memset(p, 0, sizeof(*p));
	/* The subnets live inside private namespaces; a per-pid X only keeps addresses apart in captures and logs. */
	p->subnet = 1 + (unsigned)(pid % 250);
	for (s = NETNS_SERVER; s <= NETNS_CLIENT; s++) {
		snprintf(p->name[s], sizeof(p->name[s]), "axdp-%s-%ld-%u", side_tag[s], pid, seq);
		snprintf(p->ifname[s], sizeof(p->ifname[s]), "%s", side_if[s]);
		snprintf(p->ip4[s], sizeof(p->ip4[s]), "10.200.%u.%d", p->subnet, s == NETNS_SERVER ? 1 : 2);
		snprintf(p->ip6[s], sizeof(p->ip6[s]), "fd00:200:%u::%d", p->subnet, s == NETNS_SERVER ? 1 : 2);
	}
	seq++;

	for (s = NETNS_SERVER; s <= NETNS_CLIENT; s++) {
		if (ip(err, errlen, "netns", "add", p->name[s], NULL))
			goto undo;
		p->created[s] = true;
		if (ip(err, errlen, "-n", p->name[s], "link", "set", "dev", "lo", "up", NULL))
			goto undo;
	}
	/* Made inside the server namespace with its peer sent straight on: no veth name ever exists on the host. */
	if (ip(err, errlen, "-n", p->name[NETNS_SERVER], "link", "add", p->ifname[NETNS_SERVER], "mtu", "1500",
	       "type", "veth", "peer", "name", p->ifname[NETNS_CLIENT], "mtu", "1500",
	       "netns", p->name[NETNS_CLIENT], NULL))
		goto undo;
	if (setup_side(p, NETNS_SERVER, err, errlen) || setup_side(p, NETNS_CLIENT, err, errlen))
		goto undo;
	return 0;
undo:
	netns_pair_destroy(p, ignored, sizeof(ignored));
	return -1;
}

bool netns_exists(const char *name)
{
	char path[sizeof(NETNS_RUN_DIR) + NETNS_NAME_MAX + 1];
	struct stat st;

	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", name);
	return name[0] && stat(path, &st) == 0;
}

int netns_pair_destroy(struct netns_pair *p, char *err, size_t errlen)
{
	int rc = 0;
	enum netns_side s;

	for (s = NETNS_SERVER; s <= NETNS_CLIENT; s++) {
		/* Deleting the server side first takes the veth, and any XDP on it, away at once. */
		if (p->created[s] && netns_exists(p->name[s]) && ip(err, errlen, "netns", "del", p->name[s], NULL))
			rc = -1;
		else
			p->created[s] = false;
	}
	return rc;
}

void netns_remove_stale(void)
{
	DIR *dir = opendir(NETNS_RUN_DIR);
	char ignored[256];
	struct dirent *de;

	while (dir && (de = readdir(dir))) {
		char tag[4];
		long pid;
		unsigned seq;
		int end = 0;

		if (sscanf(de->d_name, "axdp-%3[a-z]-%ld-%u%n", tag, &pid, &seq, &end) != 3 ||
		    de->d_name[end] != '\0' || (strcmp(tag, "srv") && strcmp(tag, "cli")))
			continue;
		/* Only ones whose creator is gone: a parallel test's namespaces are in use. */
		if (pid != getpid() && !netns_pid_alive(pid))
			ip(ignored, sizeof(ignored), "netns", "del", de->d_name, NULL);
	}
	if (dir)
		closedir(dir);
}
