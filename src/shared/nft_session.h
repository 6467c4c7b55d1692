/* SPDX-License-Identifier: MIT */
/*
 * How nftables commands reach the kernel: one session for the life of the
 * process.  libnftables is loaded at run time (dlopen), so the package
 * needs no nftables at all on hosts that only use XDP; its one context
 * sends each input as one netlink batch, in process: about a millisecond
 * (make bench).  Without the library (or when it cannot be used) each
 * input is one run of `nft -f -`: a fork and exec, tens of milliseconds.
 *
 * Either way one input is one transaction: the kernel commits it whole or
 * not at all.  The session belongs to the network namespace it was opened
 * in; a caller in another one (tests do that) gets a new session there.
 */
#ifndef AXDP_NFT_SESSION_H
#define AXDP_NFT_SESSION_H

#include <stddef.h>

/* The library, its name for dlopen; AXDP_LIBNFTABLES=NAME loads another (a missing name: the nft program). */
#define AXDP_NFT_LIB "libnftables.so.1"
#define AXDP_NFT_LIB_ENV "AXDP_LIBNFTABLES"
/* The program, when the library is absent: AXDP_NFT=PATH, else /usr/sbin, /sbin, /usr/local/sbin, then PATH. */
#define AXDP_NFT_PATH_ENV "AXDP_NFT"
#define AXDP_NFT_PACKAGE "nftables"

/* 0 when nftables can be reached (the library or the program); else -1 and err names the package. */
int axdp_nft_session_available(char *err, size_t errlen);

/*
 * Runs input (len bytes of nft commands, as `nft -f` reads them) in the
 * current network namespace as one transaction.  What list commands print
 * goes to out (NUL-terminated, may be NULL).  0, or -1 with nft's message
 * in err.  Never send a list and a delete of the same table in one input:
 * libnftables 1.0.6 has crashed on that.
 */
int axdp_nft_session_run(const char *input, size_t len, char *out, size_t outlen, char *err, size_t errlen);

/*
 * How the session talks to nftables, for one line of the log: the library
 * in process, or the program per change and why the library is not used.
 * Opens the session if no run did yet.
 */
const char *axdp_nft_session_how(void);

#endif
