// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "daemon.h"
#include "stale.h"
#include "timing.h"

#define BPFFS "/sys/fs/bpf"
#define SCRATCH_PARENT "/tmp"
#define NETNS_RUN_DIR "/run/netns"
/* Enough for the pin directory and the scratch directory with its config.d. */
#define TREE_DEPTH 3
#define STOP_POLL_MS 10

extern char **environ;

__attribute__((format(printf, 2, 3)))
static int fail(struct axdpd *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	return -1;
}

const char *axdpd_program(const char *name, char *buf, size_t len)
{
	const char *dir = getenv(AXDPD_BUILD_ENV);

	snprintf(buf, len, "%s/%s", dir && *dir ? dir : AXDPD_BUILD_DEFAULT, name);
	return buf;
}

const char *axdpd_object(void)
{
	const char *path = getenv(AXDPD_OBJECT_ENV);

	return path && *path ? path : AXDPD_OBJECT_DEFAULT;
}

static int write_file(struct axdpd *d, const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	size_t len = strlen(text);

	if (!f)
		return fail(d, "creating %s: %s", path, strerror(errno));
	if (fwrite(text, 1, len, f) != len || fclose(f) != 0)
		return fail(d, "writing %s: %s", path, strerror(errno));
	return 0;
}

/* ---- notify socket ---- */

static void append_note(struct axdpd *d, const char *msg, size_t len)
{
	pthread_mutex_lock(&d->lock);
	if (d->notes_len + len + 2 > d->notes_cap) {
		size_t cap = (d->notes_cap ? d->notes_cap * 2 : 4096) + len;
		char *v = realloc(d->notes, cap);

		if (!v) {
			pthread_mutex_unlock(&d->lock);
			return;
		}
		d->notes = v;
		d->notes_cap = cap;
	}
	memcpy(d->notes + d->notes_len, msg, len);
	d->notes_len += len;
	if (!len || msg[len - 1] != '\n')
		d->notes[d->notes_len++] = '\n';
	d->notes[d->notes_len] = '\0';
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void *read_notes(void *arg)
{
	struct axdpd *d = arg;
	char buf[4096];

	while (!atomic_load(&d->quit)) {
		struct pollfd pfd = { .fd = d->notify_fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recv(d->notify_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			append_note(d, buf, (size_t)n);
	}
	return NULL;
}

static int open_notify(struct axdpd *d)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	pthread_condattr_t ca;

	/* A path, not the abstract namespace: abstract names belong to a network namespace. */
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d->notify_path) >= (int)sizeof(sun.sun_path))
		return fail(d, "notify socket path %s too long", d->notify_path);
	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d->notify_fd < 0 || bind(d->notify_fd, (struct sockaddr *)&sun, sizeof(sun)))
		return fail(d, "notify socket %s: %s", d->notify_path, strerror(errno));
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&d->reader, NULL, read_notes, d))
		return fail(d, "starting the notify reader thread");
	d->reader_running = true;
	return 0;
}

size_t axdpd_notes_end(struct axdpd *d)
{
	size_t end;

	pthread_mutex_lock(&d->lock);
	end = d->notes_len;
	pthread_mutex_unlock(&d->lock);
	return end;
}

/* Offset just past the first line at or after from that starts with prefix, or 0. */
static size_t find_line(const struct axdpd *d, const char *prefix, size_t from)
{
	size_t plen = strlen(prefix);

	/* Move to a line start: from is always one, unless a caller passed a mid-line offset. */
	while (from > 0 && from < d->notes_len && d->notes[from - 1] != '\n')
		from++;
	while (from < d->notes_len) {
		const char *line = d->notes + from, *nl = memchr(line, '\n', d->notes_len - from);
		size_t next = nl ? (size_t)(nl - d->notes) + 1 : d->notes_len;

		if (strncmp(line, prefix, plen) == 0)
			return next;
		from = next;
	}
	return 0;
}

bool axdpd_noted(struct axdpd *d, const char *prefix)
{
	bool found;

	pthread_mutex_lock(&d->lock);
	found = find_line(d, prefix, 0) != 0;
	pthread_mutex_unlock(&d->lock);
	return found;
}

bool axdpd_next_note(struct axdpd *d, const char *prefix, size_t *from, char *line, size_t len)
{
	size_t end, start;

	pthread_mutex_lock(&d->lock);
	end = find_line(d, prefix, *from);
	if (end) {
		for (start = end - 1; start > 0 && d->notes[start - 1] != '\n'; start--)
			;
		snprintf(line, len, "%.*s", (int)(end - 1 - start), d->notes + start);
		*from = end;
	}
	pthread_mutex_unlock(&d->lock);
	return end != 0;
}

bool axdpd_exited(struct axdpd *d)
{
	if (d->pid <= 0 || waitpid(d->pid, &d->status, WNOHANG) != d->pid)
		return false;
	d->pid = 0;
	return true;
}

static const char *describe_exit(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit code %d", WEXITSTATUS(status));
	else
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	return buf;
}

/* The last lines of the log, for messages about a daemon that did not do what was expected. */
static void log_tail(const struct axdpd *d, char *buf, size_t len)
{
	char *log = axdpd_read_log(d);
	size_t n = log ? strlen(log) : 0, start = n > len - 1 ? n - (len - 1) : 0;

	snprintf(buf, len, "%s", log ? log + start : "(no log)");
	free(log);
}

int axdpd_wait_note(struct axdpd *d, const char *prefix, size_t *from, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	size_t found;
	char why[32], tail[600];

	pthread_mutex_lock(&d->lock);
	while (!(found = find_line(d, prefix, *from))) {
		long left = deadline - now_ms();
		struct timespec ts;

		/* Short slices, so a daemon that died is reported at once and not as a timeout. */
		if (left <= 0 || d->pid <= 0 || axdpd_exited(d))
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		left = left < 100 ? left : 100;
		ts.tv_nsec += left * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	}
	pthread_mutex_unlock(&d->lock);
	if (found) {
		*from = found;
		return 0;
	}
	log_tail(d, tail, sizeof(tail));
	if (d->pid == 0)
		return fail(d, "waiting for %s: the daemon is not running (%s); its log ends:\n%s", prefix,
			    describe_exit(d->status, why, sizeof(why)), tail);
	return fail(d, "no %s from the daemon within %d ms; its log ends:\n%s", prefix, timeout_ms, tail);
}

int axdpd_wait_reconcile(struct axdpd *d, int timeout_ms)
{
	size_t from = axdpd_notes_end(d);

	return axdpd_wait_note(d, "STATUS=", &from, timeout_ms);
}

/* ---- set-up and tear-down ---- */

/*
 * AXDPD_BACKEND_ENV=nftables (or xdp, auto) runs the suites on that
 * backend: a drop-in sets Backend=, unless the test's configuration
 * chooses one itself (the nftables suite runs both on its own).
 */
static int backend_dropin(struct axdpd *d, const char *config_text)
{
	const char *backend = getenv(AXDPD_BACKEND_ENV);
	char text[128];

	if (config_text && strstr(config_text, "Backend=")) {
		d->nftables = strstr(config_text, "Backend=nftables") != NULL;
		return 0;
	}
	if (!backend || !*backend)
		return 0;
	d->nftables = !strcmp(backend, "nftables");
	snprintf(text, sizeof(text), "[Daemon]\nBackend=%s\n", backend);
	return axdpd_dropin(d, AXDPD_BACKEND_DROPIN, text);
}

int axdpd_init(struct axdpd *d, const char *netns, const char *ifname, const char *config_text)
{
	char pid_conf[2 * AXDPD_PATH + 64];

	memset(d, 0, sizeof(*d));
	d->notify_fd = -1;
	snprintf(d->netns, sizeof(d->netns), "%s", netns ? netns : "");
	snprintf(d->ifname, sizeof(d->ifname), "%s", ifname ? ifname : "");
	snprintf(d->pin_dir, sizeof(d->pin_dir), BPFFS "/" AXDPD_PREFIX "%d", (int)getpid());
	snprintf(d->dir, sizeof(d->dir), SCRATCH_PARENT "/" AXDPD_PREFIX "%d-XXXXXX", (int)getpid());
	if (!mkdtemp(d->dir)) {
		int e = errno;

		d->dir[0] = '\0';
		return fail(d, "creating a scratch directory in " SCRATCH_PARENT ": %s", strerror(e));
	}
	snprintf(d->config, sizeof(d->config), "%s/autoxdp.conf", d->dir);
	snprintf(d->dropins, sizeof(d->dropins), "%s.d", d->config);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
	snprintf(d->notify_path, sizeof(d->notify_path), "%s/notify", d->dir);
	if (mkdir(d->dropins, 0700))
		return fail(d, "creating %s: %s", d->dropins, strerror(errno));
	if (write_file(d, d->config, config_text ? config_text : "") || write_file(d, d->log, ""))
		return -1;
	snprintf(d->pid_file, sizeof(d->pid_file), "%s/autoxdpd.pid", d->dir);
	/* Runtime bans in the scratch directory too: never the host's /var/lib/autoxdp. */
	snprintf(pid_conf, sizeof(pid_conf), "[Daemon]\nPidFile=%s\nStateDirectory=%s/state\n", d->pid_file, d->dir);
	if (axdpd_dropin(d, AXDPD_PIDFILE_DROPIN, pid_conf) || backend_dropin(d, config_text))
		return -1;
	return open_notify(d);
}

int axdpd_dropin(struct axdpd *d, const char *name, const char *text)
{
	char path[AXDPD_PATH * 2];

	snprintf(path, sizeof(path), "%s/%s", d->dropins, name);
	if (text)
		return write_file(d, path, text);
	if (unlink(path) && errno != ENOENT)
		return fail(d, "removing %s: %s", path, strerror(errno));
	return 0;
}

/* The test's environment minus what would point the daemon at the real systemd or journal. */
static char **daemon_env(char *notify_entry)
{
	static const char *const drop[] = { "NOTIFY_SOCKET=", "JOURNAL_STREAM=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
					    "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=" };
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	for (size_t i = 0; env && i < n; i++) {
		bool keep = true;

		for (size_t j = 0; j < sizeof(drop) / sizeof(drop[0]); j++)
			keep = keep && strncmp(environ[i], drop[j], strlen(drop[j])) != 0;
		if (keep)
			env[k++] = environ[i];
	}
	if (env)
		env[k] = notify_entry;
	return env;
}

static int open_netns(struct axdpd *d, const char *name)
{
	char path[sizeof(NETNS_RUN_DIR) + NETNS_NAME_MAX + 1];
	int fd;

	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(d, "network namespace %s: %s", name, strerror(errno));
	return fd;
}

/*
 * fork + setns + exec.  The child runs only async-signal-safe calls: the
 * test process has threads (the notify reader at least).
 */
static pid_t spawn(struct axdpd *d, int netns_fd, const char *const argv[], char **env, int out_fd, int err_fd,
		   bool die_with_parent)
{
	pid_t parent = getpid(), pid;
	sigset_t all;

	pid = fork();
	if (pid < 0)
		return fail(d, "fork: %s", strerror(errno));
	if (pid > 0)
		return pid;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent))
		_exit(126);
	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET))
		_exit(125);
	int null = open("/dev/null", O_RDONLY);

	if (null < 0 || dup2(null, 0) < 0 || (out_fd >= 0 && dup2(out_fd, 1) < 0) || (err_fd >= 0 && dup2(err_fd, 2) < 0))
		_exit(124);
	if (env)
		execve(argv[0], (char *const *)argv, env);
	else
		execvp(argv[0], (char *const *)argv);
	_exit(127);
}

int axdpd_start(struct axdpd *d, int timeout_ms)
{
	char program[AXDPD_PATH];
	const char *argv[] = {
		axdpd_program("autoxdpd", program, sizeof(program)), "--interface", d->ifname, "--pin-dir", d->pin_dir,
		"--bpf-object", axdpd_object(), "--config", d->config, NULL,
	};
	size_t from = axdpd_notes_end(d);
	char notify_entry[AXDPD_PATH + 16];
	char **env;
	int nsfd, logfd;

	if (d->pid > 0)
		return fail(d, "autoxdpd is already running as %d", (int)d->pid);
	if (!d->netns[0])
		return fail(d, "no network namespace to run autoxdpd in");
	if (access(program, X_OK))
		return fail(d, "%s: %s (run 'make all', or set " AXDPD_BUILD_ENV ")", program, strerror(errno));
	snprintf(notify_entry, sizeof(notify_entry), "NOTIFY_SOCKET=%s", d->notify_path);
	env = daemon_env(notify_entry);
	nsfd = open_netns(d, d->netns);
	logfd = open(d->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (env && nsfd >= 0 && logfd >= 0)
		d->pid = spawn(d, nsfd, argv, env, logfd, logfd, true);
	else if (logfd < 0)
		fail(d, "opening %s: %s", d->log, strerror(errno));
	else if (!env)
		fail(d, "out of memory");
	free(env);
	if (nsfd >= 0)
		close(nsfd);
	if (logfd >= 0)
		close(logfd);
	if (d->pid <= 0) {
		d->pid = 0;
		return -1;
	}
	return axdpd_wait_note(d, "READY=1", &from, timeout_ms);
}

int axdpd_signal(struct axdpd *d, int sig)
{
	if (d->pid <= 0)
		return fail(d, "signal %d: the daemon is not running", sig);
	if (kill(d->pid, sig))
		return fail(d, "signal %d to %d: %s", sig, (int)d->pid, strerror(errno));
	return 0;
}

/* Waits up to timeout_ms for pid; true if it ended, its status in *status. */
static bool reap_within(pid_t pid, int *status, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(STOP_POLL_MS);
	}
}

int axdpd_stop(struct axdpd *d, int sig, int timeout_ms)
{
	pid_t pid = d->pid;
	int rc = 0;

	if (pid <= 0)
		return 0;
	if (sig)
		kill(pid, sig);
	if (!reap_within(pid, &d->status, timeout_ms)) {
		rc = fail(d, "autoxdpd (%d) still running %d ms after signal %d: killed", (int)pid, timeout_ms, sig);
		kill(pid, SIGKILL);
		reap_within(pid, &d->status, 5000);
	}
	d->pid = 0;
	return rc;
}

char *axdpd_read_log(const struct axdpd *d)
{
	FILE *f = fopen(d->log, "re");
	char *buf = NULL;
	size_t len = 0, got;
	char chunk[4096];

	if (!f)
		return NULL;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		char *v = realloc(buf, len + got + 1);

		if (!v)
			break;
		buf = v;
		memcpy(buf + len, chunk, got);
		len += got;
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	return buf;
}

static void read_back(const char *path, char *buf, size_t len)
{
	FILE *f;
	size_t n = 0;

	if (!buf || !len)
		return;
	f = fopen(path, "re");
	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

int axdpd_exec(struct axdpd *d, const char *netns, const char *const argv[], char *out, size_t outlen,
	       char *err_out, size_t errlen, int timeout_ms)
{
	char out_path[AXDPD_PATH + 16], err_path[AXDPD_PATH + 16];
	int nsfd = -1, ofd, efd, status = 0;
	pid_t pid = -1;

	snprintf(out_path, sizeof(out_path), "%s/exec.out", d->dir);
	snprintf(err_path, sizeof(err_path), "%s/exec.err", d->dir);
	if (netns && *netns && (nsfd = open_netns(d, netns)) < 0)
		return -1;
	ofd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	efd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (ofd < 0 || efd < 0)
		fail(d, "creating %s: %s", out_path, strerror(errno));
	else
		pid = spawn(d, nsfd, argv, NULL, ofd, efd, true);
	if (nsfd >= 0)
		close(nsfd);
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	if (pid <= 0)
		return -1;
	if (!reap_within(pid, &status, timeout_ms)) {
		kill(pid, SIGKILL);
		reap_within(pid, &status, 5000);
		return fail(d, "%s: still running after %d ms: killed", argv[0], timeout_ms);
	}
	read_back(out_path, out, outlen);
	read_back(err_path, err_out, errlen);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return fail(d, "%s: could not be executed", argv[0]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int axdpd_off(struct axdpd *d)
{
	char program[AXDPD_PATH], out[512], err[1024];
	const char *argv[] = { axdpd_program("axdp", program, sizeof(program)), "--pin-dir", d->pin_dir, "off", NULL };
	int rc = axdpd_exec(d, d->netns, argv, out, sizeof(out), err, sizeof(err), 10000);

	if (rc > 0)
		fail(d, "axdp --pin-dir %s off: exit %d: %s", d->pin_dir, rc, err);
	return rc;
}

void axdpd_cleanup(struct axdpd *d)
{
	struct stat st;

	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		reap_within(d->pid, &d->status, 5000);
		d->pid = 0;
	}
	/*
	 * axdp off resolves interface names where it runs: only ever inside our
	 * namespace.  Without it, removing the pins alone releases every link.
	 */
	if (d->pin_dir[0] && stat(d->pin_dir, &st) == 0 && d->dir[0] && netns_exists(d->netns))
		axdpd_off(d);
	if (d->pin_dir[0])
		rmtree(d->pin_dir, TREE_DEPTH);
	if (d->reader_running) {
		atomic_store(&d->quit, true);
		pthread_join(d->reader, NULL);
		d->reader_running = false;
		pthread_cond_destroy(&d->cond);
		pthread_mutex_destroy(&d->lock);
	}
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	d->notify_fd = -1;
	free(d->notes);
	d->notes = NULL;
	d->notes_len = d->notes_cap = 0;
	if (d->dir[0])
		rmtree(d->dir, TREE_DEPTH);
	d->dir[0] = d->pin_dir[0] = '\0';
}

void axdpd_remove_stale(void)
{
	stale_remove(BPFFS, AXDPD_PREFIX, "", TREE_DEPTH);
	stale_remove(SCRATCH_PARENT, AXDPD_PREFIX, "-", TREE_DEPTH);
}

/* ---- the end-to-end suites' fixture ---- */

void axdpd_fixture_remove_stale(void)
{
	axdpd_remove_stale();
	netns_remove_stale();
}

int axdpd_fixture_setup(struct netns_pair *ns, struct axdpd *d, const char *config_text, char *err, size_t errlen)
{
	char why[512];

	axdpd_fixture_remove_stale();
	memset(ns, 0, sizeof(*ns));
	/* Zeroed with no notify socket, so a teardown after a failure here touches nothing it does not own. */
	memset(d, 0, sizeof(*d));
	d->notify_fd = -1;
	if (netns_pair_create(ns, err, errlen))
		goto failed;
	if (axdpd_init(d, ns->name[NETNS_SERVER], ns->ifname[NETNS_SERVER], config_text)) {
		snprintf(err, errlen, "%s", d->err);
		goto failed;
	}
	return 0;
failed:
	if (axdpd_fixture_teardown(ns, d, why, sizeof(why))) {
		size_t used = strlen(err);

		snprintf(err + used, errlen - used, "; then tearing down: %s", why);
	}
	return -1;
}

int axdpd_fixture_teardown(struct netns_pair *ns, struct axdpd *d, char *err, size_t errlen)
{
	axdpd_cleanup(d);
	return netns_pair_destroy(ns, err, errlen);
}
