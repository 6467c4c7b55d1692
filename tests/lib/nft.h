/* SPDX-License-Identifier: MIT */
/*
 * Fixtures for the nftables backend tests: nft run inside a test's
 * namespace (never the host's: every function here refuses to run without
 * a namespace name), an XDP program that occupies an interface so autoxdp
 * cannot attach there, and a prober that hunts for moments a closed port
 * answers.
 *
 * Free of any test framework: functions return 0 or -1 with a message.
 */
#ifndef AXDP_TEST_NFT_H
#define AXDP_TEST_NFT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * nft ARGS inside /run/netns/NETNS, input (may be NULL) on stdin, stdout
 * into out (may be NULL).  Returns nft's exit code (its stderr in err when
 * not 0), or -1 with err set when it could not run.
 */
int nftns(const char *netns, const char *const args[], const char *input, char *out, size_t outlen, char *err,
	  size_t errlen);

/* `nft list ruleset` in netns into out. */
int nftns_ruleset(const char *netns, char *out, size_t outlen, char *err, size_t errlen);

/* Cuts the block "table FAMILY NAME {" ... "}" (and the blank line after it) out of a listing. */
void nft_strip_table(char *ruleset, const char *family, const char *name);

/* Does the listing hold "table FAMILY NAME {"? */
bool nft_has_table(const char *ruleset, const char *family, const char *name);

/*
 * A minimal XDP program (XDP_PASS) attached in native mode to ifindex
 * inside netns, through netlink like `ip link set dev X xdp obj ...`: the
 * interface is then taken for any other XDP program, native or generic.
 */
int xdp_blocker_attach(const char *netns, int ifindex, char *err, size_t errlen);
int xdp_blocker_detach(const char *netns, int ifindex, char *err, size_t errlen);

/*
 * A thread in the client namespace that starts a TCP connect to each
 * target every interval and judges each within a timeout: silence is the
 * firewall dropping; a RST (refused) or an accepted connection means the
 * SYN reached the server's stack, a hole.  Every probe remembers when its
 * SYN left, so holes can be counted from any moment on.
 */
#define PROBE_MAX_TARGETS 4
#define PROBE_HOLES_KEPT 16

struct probe_hole {
	long sent_ms;      /* CLOCK_MONOTONIC, ms */
	int target;
	int error;         /* 0: connected, else the errno (ECONNREFUSED) */
};

struct probe {
	char netns[64];
	struct sockaddr_storage target[PROBE_MAX_TARGETS];
	socklen_t target_len[PROBE_MAX_TARGETS];
	int n_targets;
	int interval_us, timeout_ms;

	pthread_t thread;
	bool running;
	atomic_bool stop;
	pthread_mutex_t lock;
	long sent, dropped, holes, errors;
	long last_judged_ms;  /* when the SYN of the latest judged probe left; -1: none yet */
	int first_error;      /* errno of the first probe that was neither dropped nor a hole */
	struct probe_hole kept[PROBE_HOLES_KEPT];  /* the latest holes, a ring indexed by holes */
	int n_kept;
	char err[256];
};

int probe_start(struct probe *p, const char *client_netns, int interval_us, int timeout_ms);
/* Adds a target before probe_start. */
int probe_target(struct probe *p, const struct sockaddr *sa, socklen_t len);
void probe_stop(struct probe *p);
/* Probes judged so far (dropped + holes). */
long probe_judged(struct probe *p);
/*
 * The verdict on the probes whose SYN left at or after since_ms, once they
 * have had their timeout: 0 if none was answered, at least one of them
 * was judged, and no probe failed in any other way (a socket or connect
 * error, or the prober thread itself: those probes prove nothing);
 * otherwise -1 with which of these failed in why.
 */
int probe_verdict(struct probe *p, long since_ms, char *why, size_t whylen);

#endif
