/* SPDX-License-Identifier: MIT */
/*
 * autoxdpd as a test fixture: the real binary, run inside a test's server
 * namespace with a pin directory, a configuration file and a sd_notify
 * socket of its own, so tests see what systemd and the operator would see
 * (notify messages, the log, the pins) and several runs never meet.
 *
 * The daemon is started by fork + setns + exec, never `ip netns exec`,
 * which would remount /sys and hide the pins.  It gets PR_SET_PDEATHSIG,
 * so a test process that dies or times out takes its daemon with it.
 *
 * Free of any test framework: functions return 0 or -1 with a message in
 * d->err.
 */
#ifndef AXDP_TEST_DAEMON_H
#define AXDP_TEST_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "netns.h"

#define AXDPD_BUILD_ENV "AXDP_BUILD"
#define AXDPD_BUILD_DEFAULT "build"
#define AXDPD_OBJECT_ENV "AXDP_BPF_OBJECT"
#define AXDPD_OBJECT_DEFAULT "build/autoxdp.bpf.o"
/* Pin directories are /sys/fs/bpf/axdp-d-PID, scratch directories /tmp/axdp-d-PID-XXXXXX. */
#define AXDPD_PREFIX "axdp-d-"

#define AXDPD_PATH 256
/* The drop-in that points PidFile= and StateDirectory= into the scratch directory. */
#define AXDPD_PIDFILE_DROPIN "00-fixture-pidfile.conf"
/* Which backend the daemon's suites run on: unset, the configuration's (Backend=auto); see axdpd_init. */
#define AXDPD_BACKEND_ENV "AXDP_TEST_BACKEND"
#define AXDPD_BACKEND_DROPIN "00-fixture-backend.conf"

struct axdpd {
	char netns[NETNS_NAME_MAX];
	char ifname[IF_NAMESIZE];
	char pin_dir[AXDPD_PATH];
	char dir[AXDPD_PATH];        /* scratch: config, drop-ins, log, notify socket */
	char config[AXDPD_PATH];     /* dir/autoxdp.conf; its drop-ins in config.d/ */
	char dropins[AXDPD_PATH];
	char log[AXDPD_PATH];        /* the daemon's stderr and stdout, every run appended */
	char notify_path[AXDPD_PATH];
	char pid_file[AXDPD_PATH];   /* dir/autoxdpd.pid, set by config.d/AXDPD_PIDFILE_DROPIN: never the host's /run one */
	/*
	 * The daemon protects with nftables (Backend=nftables in the
	 * configuration or from AXDPD_BACKEND_ENV): where autoxdpd(8)'s
	 * backend table says nftables differs, a suite expects what it says.
	 */
	bool nftables;
	pid_t pid;                   /* 0 when not running */
	int status;                  /* waitpid status of the last run that ended */
	char err[1024];

	/*
	 * Every sd_notify datagram received, in order, each ending in '\n'.
	 * A thread reads the socket all the time: sd_notify() blocks once a
	 * datagram socket's queue is full, and a stalled daemon would fail
	 * tests for a reason of the test's own making.
	 */
	int notify_fd;
	char *notes;
	size_t notes_len, notes_cap;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t reader;
	bool reader_running;
	atomic_bool quit;
};

/*
 * Scratch directory, configuration (written as given; with
 * AXDPD_BACKEND_ENV set and no Backend= in it, a drop-in with that
 * backend), notify socket and its reader; no daemon yet.
 */
int axdpd_init(struct axdpd *d, const char *netns, const char *ifname, const char *config_text);

/* config.d/NAME with text, or removed when text is NULL. */
int axdpd_dropin(struct axdpd *d, const char *name, const char *text);

/* Starts autoxdpd and waits up to timeout_ms for READY=1. */
int axdpd_start(struct axdpd *d, int timeout_ms);

/*
 * Waits until a notify datagram received at or after offset *from has a
 * line starting with prefix; *from is moved past that datagram.  Messages
 * already received count, so a test never misses one that came early.
 */
int axdpd_wait_note(struct axdpd *d, const char *prefix, size_t *from, int timeout_ms);
/* Offset of the next datagram to arrive, for axdpd_wait_note. */
size_t axdpd_notes_end(struct axdpd *d);
/* Is there a line starting with prefix in the notes so far? */
bool axdpd_noted(struct axdpd *d, const char *prefix);
/* The next line at or after *from starting with prefix, copied to line; *from moves past it. */
bool axdpd_next_note(struct axdpd *d, const char *prefix, size_t *from, char *line, size_t len);

/* Waits for a STATUS= sent after this call: every reconcile of the daemon sends one. */
int axdpd_wait_reconcile(struct axdpd *d, int timeout_ms);

int axdpd_signal(struct axdpd *d, int sig);
/* Sends sig (0: none) and waits up to timeout_ms for the exit, then SIGKILL. */
int axdpd_stop(struct axdpd *d, int sig, int timeout_ms);
/* Has the daemon exited on its own?  Reaps it if so. */
bool axdpd_exited(struct axdpd *d);

/* The whole log, NUL-terminated, malloc'd; NULL on error. */
char *axdpd_read_log(const struct axdpd *d);

/*
 * Runs argv (argv[0] a path or a name on PATH) inside netns (NULL: here)
 * with stdout in out and stderr in err_out (either may be NULL), each
 * truncated to its size.  Returns the exit code, 128+N for signal N,
 * or -1 with a message in d->err (also after timeout_ms, when it is killed).
 */
int axdpd_exec(struct axdpd *d, const char *netns, const char *const argv[], char *out, size_t outlen,
	       char *err_out, size_t errlen, int timeout_ms);

/* Path of a program of the build: AXDP_BUILD/name. */
const char *axdpd_program(const char *name, char *buf, size_t len);
const char *axdpd_object(void);

/* `axdp --pin-dir DIR off` in the server namespace; its exit code. */
int axdpd_off(struct axdpd *d);

/* Kills the daemon if running, turns protection off, removes pins and scratch files.  Safe twice. */
void axdpd_cleanup(struct axdpd *d);

/* Pin and scratch directories of this scheme whose creating process is gone. */
void axdpd_remove_stale(void);

/*
 * The fixture of the daemon's end-to-end suites: leftovers of dead runs
 * removed, a fresh namespace pair in ns, and d set up by axdpd_init for
 * its server side, config_text as the configuration; no daemon yet.  On
 * failure both are torn down again and err says which step failed.
 */
int axdpd_fixture_setup(struct netns_pair *ns, struct axdpd *d, const char *config_text, char *err, size_t errlen);
/* axdpd_cleanup, then the namespaces; -1 with err when they could not be removed.  Safe twice. */
int axdpd_fixture_teardown(struct netns_pair *ns, struct axdpd *d, char *err, size_t errlen);
/* Daemon leftovers and namespaces whose creating process is gone. */
void axdpd_fixture_remove_stale(void);

#endif
