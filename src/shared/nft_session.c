// SPDX-License-Identifier: MIT
/*
 * The nftables session (nft_session.h).
 *
 * The library path: libnftables.so.1 opened once with dlopen, its
 * functions looked up by name (the ABI of nftables/libnftables.h, stable
 * since nftables 0.9), one nft_ctx kept for the process's life with its
 * output and error buffered.  No link-time dependency: a host without
 * nftables runs the daemon unchanged, and glibc >= 2.34 has dlopen in libc
 * (Debian 12: 2.36, RHEL 9: 2.34); older ones link -ldl (Makefile).
 *
 * The program path, when the library cannot be loaded or used: `nft -f -`
 * per input, stdin and stdout in memory files.  A long-lived `nft -i` was
 * not taken: its interactive mode marks neither the end of a command's
 * output nor which command an error belongs to, and nft compiled with
 * readline or libedit reads its input through them.
 *
 * Why a crash is tolerable in process: a context that crashes takes the
 * daemon down, but the table stays in the kernel exactly as last
 * committed (nothing opens), and systemd restarts the daemon, which
 * replaces the table in one transaction.  The one crash seen (nft 1.0.6,
 * a list and a delete of one table in one input) is an input the backend
 * never sends.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "errbuf.h"
#include "nft_session.h"

/* ---- the library ---- */

struct nft_ctx;

/* The functions used, each looked up by the name it has in libnftables.h. */
#define NFT_LIB_FUNCTIONS(X)                                               \
	X(nft_ctx_new, struct nft_ctx *, (uint32_t flags))                 \
	X(nft_ctx_free, void, (struct nft_ctx * ctx))                      \
	X(nft_ctx_buffer_output, int, (struct nft_ctx * ctx))              \
	X(nft_ctx_buffer_error, int, (struct nft_ctx * ctx))               \
	X(nft_ctx_get_output_buffer, const char *, (struct nft_ctx * ctx)) \
	X(nft_ctx_get_error_buffer, const char *, (struct nft_ctx * ctx))  \
	X(nft_run_cmd_from_buffer, int, (struct nft_ctx * nft, const char *buf))

static struct {
	int state; /* 0: not tried yet; 1: loaded; -1: not usable, why says why */
	char why[256];
#define X(name, ret, args) ret(*name) args;
	NFT_LIB_FUNCTIONS(X)
#undef X
	struct nft_ctx *ctx;
	dev_t ns_dev; /* the network namespace ctx's socket lives in */
	ino_t ns_ino;
	char how[512];
} lib;

static bool lib_load(void)
{
	const char *name = getenv(AXDP_NFT_LIB_ENV);
	void *h;

	if (lib.state)
		return lib.state > 0;
	name = name && *name ? name : AXDP_NFT_LIB;
	lib.state = -1;
	h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(lib.why, sizeof(lib.why), "%s", dlerror());
		return false;
	}
#define X(fn, ret, args)                                                                            \
	if (!(*(void **)&lib.fn = dlsym(h, #fn))) {                                                 \
		snprintf(lib.why, sizeof(lib.why), "%s: no %s (too old a libnftables)", name, #fn); \
		dlclose(h);                                                                         \
		return false;                                                                       \
	}
	NFT_LIB_FUNCTIONS(X)
#undef X
	lib.state = 1;
	return true;
}

static int netns_id(dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st))
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/*
 * The context for the current network namespace, opened on first use;
 * NULL when the library cannot serve (lib.why says why).  libnftables
 * exits the process when it cannot open its netlink socket (a sandbox
 * without AF_NETLINK, say), so that is tried here first.
 */
static struct nft_ctx *lib_ctx(void)
{
	dev_t dev = 0;
	ino_t ino = 0;
	int fd;

	if (!lib_load())
		return NULL;
	if (netns_id(&dev, &ino) == 0 && lib.ctx && (dev != lib.ns_dev || ino != lib.ns_ino)) {
		lib.nft_ctx_free(lib.ctx);
		lib.ctx = NULL;
	}
	if (lib.ctx)
		return lib.ctx;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0) {
		snprintf(lib.why, sizeof(lib.why), "a netfilter netlink socket: %s", strerror(errno));
		return NULL;
	}
	close(fd);
	lib.ctx = lib.nft_ctx_new(0 /* NFT_CTX_DEFAULT */);
	if (!lib.ctx || lib.nft_ctx_buffer_output(lib.ctx) || lib.nft_ctx_buffer_error(lib.ctx)) {
		snprintf(lib.why, sizeof(lib.why), "nft_ctx_new failed");
		if (lib.ctx)
			lib.nft_ctx_free(lib.ctx);
		lib.ctx = NULL;
		return NULL;
	}
	lib.ns_dev = dev;
	lib.ns_ino = ino;
	return lib.ctx;
}

/* s into buf (cap bytes, NUL-terminated), trailing newlines cut. */
static void copy_trimmed(char *buf, size_t cap, const char *s, size_t n)
{
	if (!cap)
		return;
	n = n < cap - 1 ? n : cap - 1;
	while (n > 0 && s[n - 1] == '\n')
		n--;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

static int lib_run(struct nft_ctx *ctx, const char *input, size_t len, char *out, size_t outlen, char *err,
		   size_t errlen)
{
	/* The library reads a C string; our inputs are one, but len is the contract. */
	char *text = strndup(input, len);
	const char *o, *e;
	int rc;

	if (!text)
		return axdp_fail(err, errlen, "nftables: out of memory");
	rc = lib.nft_run_cmd_from_buffer(ctx, text);
	free(text);
	/* Reading a buffer empties it for the next run. */
	o = lib.nft_ctx_get_output_buffer(ctx);
	e = lib.nft_ctx_get_error_buffer(ctx);
	if (out)
		copy_trimmed(out, outlen, o ? o : "", o ? strlen(o) : 0);
	if (rc == 0)
		return 0;
	if (e && *e)
		copy_trimmed(err, errlen, e, strlen(e));
	else
		axdp_fail(err, errlen, "nftables: the command failed (no message)");
	return -1;
}

/* ---- the program ---- */

static const char *nft_path(char *buf, size_t len)
{
	static const char *const fixed[] = { "/usr/sbin/nft", "/sbin/nft", "/usr/local/sbin/nft" };
	const char *env = getenv(AXDP_NFT_PATH_ENV), *path = getenv("PATH");

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (access(fixed[i], X_OK) == 0)
			return fixed[i];
	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);

		if (n && snprintf(buf, len, "%.*s/nft", (int)n, path) < (int)len && access(buf, X_OK) == 0)
			return buf;
		path = colon ? colon + 1 : NULL;
	}
	return NULL;
}

static int missing(char *err, size_t errlen)
{
	const char *env = getenv(AXDP_NFT_PATH_ENV);

	return axdp_fail(
		err, errlen,
		"nftables backend: neither %s (%s) nor the nft program (%s%s%s) can be used; install the %s package ('apt install %s' or 'dnf install %s')",
		AXDP_NFT_LIB, lib.why,
		env && *env ? AXDP_NFT_PATH_ENV "=" : "looked in /usr/sbin, /sbin, /usr/local/sbin and PATH",
		env && *env ? env : "", env && *env ? " is not executable" : "", AXDP_NFT_PACKAGE, AXDP_NFT_PACKAGE,
		AXDP_NFT_PACKAGE);
}

/* What a memfd holds, NUL-terminated, at most cap - 1 bytes, trailing newlines cut. */
static void read_back(int fd, char *buf, size_t cap)
{
	ssize_t n = cap ? pread(fd, buf, cap - 1, 0) : 0;

	if (!cap)
		return;
	n = n < 0 ? 0 : n;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
}

/*
 * `nft -f -` with input on stdin, stdout to out.  Memory files on both
 * ends: nothing can block on a full pipe.  The child inherits the daemon's
 * remaining CAP_NET_ADMIN (no_new_privs keeps it from gaining anything).
 */
static int program_run(const char *nft, const char *input, size_t len, char *out, size_t outlen, char *err,
		       size_t errlen)
{
	static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	char *argv[] = { (char *)nft, "-f", "-", NULL };
	int in_fd = -1, out_fd = -1, err_fd = -1, status = 0, rc = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	pid_t pid;

	in_fd = memfd_create("axdp-nft-in", MFD_CLOEXEC);
	out_fd = memfd_create("axdp-nft-out", MFD_CLOEXEC);
	err_fd = memfd_create("axdp-nft-err", MFD_CLOEXEC);
	if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
		axdp_fail(err, errlen, "nftables backend: memfd_create: %s", strerror(errno));
		goto out;
	}
	for (size_t done = 0; done < len;) {
		ssize_t w = write(in_fd, input + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			axdp_fail(err, errlen, "nftables backend: buffering nft input: %s", strerror(errno));
			goto out;
		}
		done += (size_t)w;
	}
	lseek(in_fd, 0, SEEK_SET);
	/* The daemon blocks its signals for signalfd; nft must start with a clean slate. */
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGHUP);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	rc = posix_spawn(&pid, nft, &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc) {
		axdp_fail(err, errlen, "nftables backend: running %s: %s", nft, strerror(rc));
		rc = -1;
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out)
		read_back(out_fd, out, outlen);
	if (WIFEXITED(status)) {
		rc = WEXITSTATUS(status) ? -1 : 0;
		if (rc) {
			char msg[1024];

			read_back(err_fd, msg, sizeof(msg));
			axdp_fail(err, errlen, "nft -f: exit %d: %s", WEXITSTATUS(status),
				  msg[0] ? msg : "(no message)");
		}
	} else {
		rc = -1;
		axdp_fail(err, errlen, "nft -f: killed by signal %d", WTERMSIG(status));
	}
out:
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	return rc;
}

/* ---- the session ---- */

int axdp_nft_session_available(char *err, size_t errlen)
{
	char buf[4096];

	if (lib_ctx() || nft_path(buf, sizeof(buf)))
		return 0;
	return missing(err, errlen);
}

int axdp_nft_session_run(const char *input, size_t len, char *out, size_t outlen, char *err, size_t errlen)
{
	struct nft_ctx *ctx = lib_ctx();
	char buf[4096];
	const char *nft;

	if (out && outlen)
		out[0] = '\0';
	if (ctx)
		return lib_run(ctx, input, len, out, outlen, err, errlen);
	nft = nft_path(buf, sizeof(buf));
	if (!nft)
		return missing(err, errlen);
	return program_run(nft, input, len, out, outlen, err, errlen);
}

const char *axdp_nft_session_how(void)
{
	const char *name = getenv(AXDP_NFT_LIB_ENV), *nft;
	char buf[4096];

	if (lib_ctx()) {
		snprintf(lib.how, sizeof(lib.how), "%s, in process: one transaction per change",
			 name && *name ? name : AXDP_NFT_LIB);
		return lib.how;
	}
	nft = nft_path(buf, sizeof(buf));
	snprintf(lib.how, sizeof(lib.how),
		 "%s -f, one process per change (%s unusable: %s; with it a change takes about a millisecond)",
		 nft ? nft : "nft (not found)", AXDP_NFT_LIB, lib.why);
	return lib.how;
}
