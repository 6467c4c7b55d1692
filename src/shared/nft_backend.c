// SPDX-License-Identifier: MIT
/*
 * The nftables backend.  How a change gets into the kernel, and why:
 *
 * Every change is one run of `nft -f -`, and nft sends one input as one
 * netlink batch: one transaction, which the kernel commits whole or not
 * at all, so a packet meets either the old ruleset or the new one.
 *
 *  - Installing (daemon start, or the table went missing) sends
 *        table inet autoxdp {}            # exists now, if it did not
 *        delete table inet autoxdp        # so this never fails
 *        table inet autoxdp { ...sets, counters, chains... }
 *    A previous run's table, maybe of an older version, is replaced
 *    without a moment in between.
 *  - Every later reconcile sends "flush set" plus "add element" for each
 *    set.  The chains stay, so the drop counters keep counting, and the
 *    work is proportional to the sets alone.
 *
 * Why the nft program and not libnftables: the daemon keeps no hard
 * dependency on libnftables (XDP-only hosts need no nftables at all, and
 * a missing nft is a clear error naming the package, not a daemon that
 * fails to link); a crash of nft (1.0.6 has crashed on some inputs in
 * one libnftables context) cannot take the daemon down; and the input is
 * exactly what an operator can replay by hand.  A run costs a fork and
 * exec, a few milliseconds.  The child inherits the daemon's remaining
 * CAP_NET_ADMIN (no_new_privs keeps it from gaining anything else).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "denylist.h"
#include "errbuf.h"
#include "nft_backend.h"
#include "util.h"
#include "sockdiag.h"

#define NFT_OUT_MAX (64 * 1024)
#define T AXDP_NFT_FAMILY " " AXDP_NFT_TABLE

/* ---- finding and running nft ---- */

static const char *nft_path(char *buf, size_t len)
{
	static const char *const fixed[] = { "/usr/sbin/nft", "/sbin/nft", "/usr/local/sbin/nft" };
	const char *env = getenv(AXDP_NFT_PATH_ENV), *path = getenv("PATH");

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
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

	return axdp_fail(err, errlen,
		    "nftables backend: the nft program was not found (%s%s%s); install the %s package ('apt install %s' or 'dnf install %s')",
		    env && *env ? AXDP_NFT_PATH_ENV "=" : "looked in /usr/sbin, /sbin, /usr/local/sbin and PATH",
		    env && *env ? env : "", env && *env ? " is not executable" : "", AXDP_NFT_PACKAGE, AXDP_NFT_PACKAGE,
		    AXDP_NFT_PACKAGE);
}

int axdp_nft_available(char *err, size_t errlen)
{
	char buf[4096];

	return nft_path(buf, sizeof(buf)) ? 0 : missing(err, errlen);
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
 * nft with argv[1..] and input on stdin (NULL: none); stdout to out.
 * Memory files on both ends: nothing can block on a full pipe.  Returns
 * nft's exit status, or -1 when it could not run (err says why).
 */
static int run_nft(const char *const args[], const char *input, size_t len, char *out, size_t outlen,
		   char *err, size_t errlen)
{
	static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	char pathbuf[4096], *argv[8];
	const char *nft = nft_path(pathbuf, sizeof(pathbuf));
	int in_fd = -1, out_fd = -1, err_fd = -1, status = 0, rc = -1, i;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	pid_t pid;

	if (!nft)
		return missing(err, errlen);
	argv[0] = (char *)nft;
	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	in_fd = memfd_create("axdp-nft-in", MFD_CLOEXEC);
	out_fd = memfd_create("axdp-nft-out", MFD_CLOEXEC);
	err_fd = memfd_create("axdp-nft-err", MFD_CLOEXEC);
	if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
		axdp_fail(err, errlen, "nftables backend: memfd_create: %s", strerror(errno));
		goto out;
	}
	for (size_t done = 0; input && done < len;) {
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
		rc = WEXITSTATUS(status);
		if (rc) {
			char msg[1024];

			read_back(err_fd, msg, sizeof(msg));
			axdp_fail(err, errlen, "nft %s: exit %d: %s", args[0], rc, msg[0] ? msg : "(no message)");
		}
	} else {
		rc = -1;
		axdp_fail(err, errlen, "nft %s: killed by signal %d", args[0], WTERMSIG(status));
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

int axdp_nft_run(const char *input, size_t len, char *err, size_t errlen)
{
	static const char *const args[] = { "-f", "-", NULL };
	int rc = run_nft(args, input, len, NULL, 0, err, errlen);

	return rc == 0 ? 0 : -1;
}

/* ---- interfaces ---- */

bool axdp_nft_protects(const struct axdp_nft *nft, const char *ifname)
{
	for (int i = 0; i < nft->n; i++)
		if (strcmp(nft->ifaces[i], ifname) == 0)
			return true;
	return false;
}

int axdp_nft_add(struct axdp_nft *nft, const char *ifname, char *err, size_t errlen)
{
	if (axdp_nft_protects(nft, ifname))
		return 0;
	/* nft strings have no escapes; the kernel allows these characters in names. */
	if (strpbrk(ifname, "\"\\") || !*ifname || strlen(ifname) >= IF_NAMESIZE)
		return axdp_fail(err, errlen, "%s: this interface name cannot be written in an nftables set", ifname);
	if (nft->n == AXDP_MAX_IFACES)
		return axdp_fail(err, errlen, "%s: already %d interfaces protected", ifname, AXDP_MAX_IFACES);
	snprintf(nft->ifaces[nft->n++], IF_NAMESIZE, "%s", ifname);
	return 0;
}

void axdp_nft_del(struct axdp_nft *nft, const char *ifname)
{
	for (int i = 0; i < nft->n; i++)
		if (strcmp(nft->ifaces[i], ifname) == 0) {
			memmove(nft->ifaces[i], nft->ifaces[i + 1], (size_t)(nft->n - i - 1) * IF_NAMESIZE);
			nft->n--;
			return;
		}
}

/* ---- rendering ---- */

static void put_addr(FILE *out, const void *a16)
{
	char buf[AXDP_ADDR_STRLEN];

	axdp_addr_format(buf, sizeof(buf), a16);
	fputs(buf, out);
}

/* One set's elements, each written by put(i), separated; nothing at all when there are none. */
struct elements {
	FILE *out;
	bool full;          /* inside a table block: "elements = { ... }" */
	const char *set;
	int n;
};

static void elem_begin(struct elements *e)
{
	if (e->n++ == 0) {
		if (e->full)
			fprintf(e->out, "\t\telements = { ");
		else
			fprintf(e->out, "add element " T " %s { ", e->set);
	} else {
		fputs(", ", e->out);
		/* Long element lists stay readable in an error message, and lines short. */
		if (e->n % 16 == 0)
			fputs("\n\t\t\t", e->out);
	}
}

static void elem_end(struct elements *e)
{
	if (e->n)
		fputs(" }\n", e->out);
}

static void render_ifaces(struct elements *e, const struct axdp_nft *nft)
{
	for (int i = 0; i < nft->n; i++) {
		elem_begin(e);
		fprintf(e->out, "\"%s\"", nft->ifaces[i]);
	}
}

/* Ports open on every address (bit: of both families, or of one), as ranges of consecutive ports. */
static void render_any(struct elements *e, const struct axdp_port_state *ports, enum axdp_l4 l4, uint32_t bit)
{
	const uint32_t *f = ports ? ports->flags + (size_t)l4 * AXDP_PORTS : NULL;

	for (uint32_t p = 1; f && p < AXDP_PORTS; p++) {
		uint32_t end = p;

		if (!(f[p] & bit))
			continue;
		while (end + 1 < AXDP_PORTS && (f[end + 1] & bit))
			end++;
		elem_begin(e);
		if (end == p)
			fprintf(e->out, "%u", p);
		else
			fprintf(e->out, "%u-%u", p, end);
		p = end;
	}
}

/* Listeners bound to one address: that address and port, in the family's set. */
static void render_addr(struct elements *e, const struct axdp_port_state *ports, enum axdp_l4 l4, bool v4)
{
	for (size_t i = 0; ports && i < ports->n_addrs; i++) {
		const struct axdp_addr_port *ap = &ports->addrs[i];

		/* The slot says whether the data path would look: a pair left from a close does not count. */
		if (ap->l4 != l4 || axdp_addr_is_v4(&ap->local) != v4 || !ap->port ||
		    !(ports->flags[(size_t)l4 * AXDP_PORTS + ap->port] & AXDP_PORT_OPEN_ADDR))
			continue;
		elem_begin(e);
		put_addr(e->out, &ap->local);
		fprintf(e->out, " . %u", ap->port);
	}
}

/* Existing connections, so their next inbound packet passes before conntrack has seen them both ways. */
static void render_seeds(struct elements *e, const struct axdp_socket_set *seeds, const struct axdp_config *cfg, bool v4)
{
	for (size_t i = 0; seeds && i < seeds->n; i++) {
		const struct axdp_socket *c = &seeds->v[i];

		if (axdp_addr_is_v4(c->addr) != v4 || !c->remote_port || !c->port)
			continue;
		elem_begin(e);
		fprintf(e->out, "%s . ", c->proto == IPPROTO_TCP ? "tcp" : "udp");
		put_addr(e->out, c->remote);
		fprintf(e->out, " . %u . ", c->remote_port);
		put_addr(e->out, c->addr);
		fprintf(e->out, " . %u timeout %us", c->port,
			c->proto == IPPROTO_TCP ? cfg->tcp_timeout_s : cfg->udp_timeout_s);
	}
}

static void render_cidrs(struct elements *e, const struct axdp_cidr_list *list, bool v4)
{
	for (size_t i = 0; list && i < list->n; i++) {
		const struct axdp_cidr *c = &list->v[i];
		char text[AXDP_CIDR_STRLEN];

		if (axdp_cidr_is_v4(c) != v4)
			continue;
		elem_begin(e);
		axdp_cidr_format(text, sizeof(text), c);
		fputs(text, e->out);
	}
}

enum set_kind { S_IFACES, S_TCP_ANY, S_UDP_ANY, S_TCP_ANY4, S_TCP_ANY6, S_UDP_ANY4, S_UDP_ANY6, S_TCP4, S_TCP6, S_UDP4, S_UDP6, S_TRUST4, S_TRUST6, S_DENY4, S_DENY6,
		S_SEED4, S_SEED6, S_COUNT };

static const struct set_def {
	const char *name;
	const char *type;
	const char *flags;
} sets[S_COUNT] = {
	[S_IFACES] = { AXDP_NFT_SET_IFACES, "ifname", NULL },
	[S_TCP_ANY] = { "tcp_open", "inet_service", "interval" },
	[S_UDP_ANY] = { "udp_open", "inet_service", "interval" },
	[S_TCP_ANY4] = { "tcp_open4", "inet_service", "interval" },
	[S_TCP_ANY6] = { "tcp_open6", "inet_service", "interval" },
	[S_UDP_ANY4] = { "udp_open4", "inet_service", "interval" },
	[S_UDP_ANY6] = { "udp_open6", "inet_service", "interval" },
	[S_TCP4] = { "tcp_open_addr4", "ipv4_addr . inet_service", NULL },
	[S_TCP6] = { "tcp_open_addr6", "ipv6_addr . inet_service", NULL },
	[S_UDP4] = { "udp_open_addr4", "ipv4_addr . inet_service", NULL },
	[S_UDP6] = { "udp_open_addr6", "ipv6_addr . inet_service", NULL },
	[S_TRUST4] = { "trusted4", "ipv4_addr", "interval" },
	[S_TRUST6] = { "trusted6", "ipv6_addr", "interval" },
	[S_DENY4] = { "denied4", "ipv4_addr", "interval" },
	[S_DENY6] = { "denied6", "ipv6_addr", "interval" },
	/* remote address . remote port . local address . local port, as an inbound packet has them */
	[S_SEED4] = { "seeded4", "inet_proto . ipv4_addr . inet_service . ipv4_addr . inet_service", "timeout" },
	[S_SEED6] = { "seeded6", "inet_proto . ipv6_addr . inet_service . ipv6_addr . inet_service", "timeout" },
};

/*
 * Drop counters, named like the XDP data path's reasons; axdp does not read them,
 * 'nft list counters table inet autoxdp' shows them (autoxdpd(8)).
 */
static const char *const counters[] = { "tcp_malformed", "udp_malformed", "tcp_port_closed", "udp_port_closed",
					"icmp_other", "protocol_other", "denied" };

/* The chains: they mirror bpf/ingress.h, in its order. */
static const char chains[] =
	"\tchain prerouting {\n"
	"\t\ttype filter hook prerouting priority " "%d" "; policy accept;\n"
	"\t\tiif \"lo\" accept\n"
	"\t\tiifname @" AXDP_NFT_SET_IFACES " jump protect\n"
	"\t}\n"
	"\n"
	"\tchain protect {\n"
	"\t\tip saddr @denied4 counter name \"denied\" drop\n"
	"\t\tip6 saddr @denied6 counter name \"denied\" drop\n"
	"\t\ttcp flags & (fin | syn | rst | psh | ack | urg) == 0x0 counter name \"tcp_malformed\" drop\n"
	"\t\ttcp flags & (fin | psh | urg) == fin | psh | urg counter name \"tcp_malformed\" drop\n"
	"\t\ttcp flags & (syn | fin) == syn | fin counter name \"tcp_malformed\" drop\n"
	"\t\ttcp flags & (syn | rst) == syn | rst counter name \"tcp_malformed\" drop\n"
	"\t\ttcp sport 0 counter name \"tcp_malformed\" drop\n"
	"\t\ttcp dport 0 counter name \"tcp_malformed\" drop\n"
	"\t\tudp sport 0 counter name \"udp_malformed\" drop\n"
	"\t\tudp dport 0 counter name \"udp_malformed\" drop\n"
	"\t\tct state established,related accept\n"
	"\t\tmeta l4proto . ip saddr . th sport . ip daddr . th dport @seeded4 accept\n"
	"\t\tmeta l4proto . ip6 saddr . th sport . ip6 daddr . th dport @seeded6 accept\n"
	"\t\ttcp dport @tcp_open accept\n"
	"\t\tmeta nfproto ipv4 tcp dport @tcp_open4 accept\n"
	"\t\tmeta nfproto ipv6 tcp dport @tcp_open6 accept\n"
	"\t\tip daddr . tcp dport @tcp_open_addr4 accept\n"
	"\t\tip6 daddr . tcp dport @tcp_open_addr6 accept\n"
	"\t\tudp dport @udp_open accept\n"
	"\t\tmeta nfproto ipv4 udp dport @udp_open4 accept\n"
	"\t\tmeta nfproto ipv6 udp dport @udp_open6 accept\n"
	"\t\tip daddr . udp dport @udp_open_addr4 accept\n"
	"\t\tip6 daddr . udp dport @udp_open_addr6 accept\n"
	"%s"
	"\t\tmeta l4proto tcp ip saddr @trusted4 accept\n"
	"\t\tmeta l4proto tcp ip6 saddr @trusted6 accept\n"
	"\t\ticmp type { destination-unreachable, time-exceeded, parameter-problem, echo-request } accept\n"
	"\t\ticmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request,\n"
	"\t\t\t\tmld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report,\n"
	"\t\t\t\tnd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept\n"
	"\t\tmeta l4proto tcp counter name \"tcp_port_closed\" drop\n"
	"\t\tmeta l4proto udp counter name \"udp_port_closed\" drop\n"
	"\t\tmeta l4proto { icmp, ipv6-icmp } counter name \"icmp_other\" drop\n"
	"\t\tcounter name \"protocol_other\" drop\n"
	"\t}\n";

/* AllowDHCPClient=: the replies a client that binds no port must get (autoxdpd(8), DHCP clients). */
static const char dhcp_client_rules[] =
	"\t\tmeta nfproto ipv4 udp sport 67 udp dport 68 accept\n"
	"\t\tip6 saddr fe80::/10 udp sport 547 udp dport 546 accept\n";

static bool policy_set(enum set_kind k)
{
	return k == S_TRUST4 || k == S_TRUST6 || k == S_DENY4 || k == S_DENY6;
}

static void render_set(FILE *out, bool full, enum set_kind k, const struct axdp_nft *nft,
		       const struct axdp_port_state *ports, const struct axdp_socket_set *seeds,
		       const struct axdp_nft_policy *pol, const struct axdp_config *cfg)
{
	const struct set_def *d = &sets[k];
	struct elements e = { .out = out, .full = full, .set = d->name };
	/* TrustCIDR= only matters here with TrustOpensAllTCP=: nftables has no rate limits to exempt from. */
	const struct axdp_cidr_list *trust = pol && pol->trust_tcp ? pol->trust : NULL, *deny = pol ? pol->deny : NULL;

	if (full) {
		fprintf(out, "\tset %s {\n\t\ttype %s\n", d->name, d->type);
		if (d->flags)
			fprintf(out, "\t\tflags %s\n", d->flags);
	} else {
		/* The seeds are written once, at install; each expires by itself.  Policy sets change at reloads. */
		if (k == S_SEED4 || k == S_SEED6 || (policy_set(k) && !pol))
			return;
		fprintf(out, "flush set " T " %s\n", d->name);
	}
	switch (k) {
	case S_IFACES: render_ifaces(&e, nft); break;
	case S_TCP_ANY: render_any(&e, ports, AXDP_L4_TCP, AXDP_PORT_OPEN_ANY); break;
	case S_UDP_ANY: render_any(&e, ports, AXDP_L4_UDP, AXDP_PORT_OPEN_ANY); break;
	case S_TCP_ANY4: render_any(&e, ports, AXDP_L4_TCP, AXDP_PORT_OPEN_ANY4); break;
	case S_TCP_ANY6: render_any(&e, ports, AXDP_L4_TCP, AXDP_PORT_OPEN_ANY6); break;
	case S_UDP_ANY4: render_any(&e, ports, AXDP_L4_UDP, AXDP_PORT_OPEN_ANY4); break;
	case S_UDP_ANY6: render_any(&e, ports, AXDP_L4_UDP, AXDP_PORT_OPEN_ANY6); break;
	case S_TCP4: render_addr(&e, ports, AXDP_L4_TCP, true); break;
	case S_TCP6: render_addr(&e, ports, AXDP_L4_TCP, false); break;
	case S_UDP4: render_addr(&e, ports, AXDP_L4_UDP, true); break;
	case S_UDP6: render_addr(&e, ports, AXDP_L4_UDP, false); break;
	case S_TRUST4: render_cidrs(&e, trust, true); break;
	case S_TRUST6: render_cidrs(&e, trust, false); break;
	case S_DENY4: render_cidrs(&e, deny, true); break;
	case S_DENY6: render_cidrs(&e, deny, false); break;
	case S_SEED4: render_seeds(&e, seeds, cfg, true); break;
	case S_SEED6: render_seeds(&e, seeds, cfg, false); break;
	case S_COUNT: break;
	}
	elem_end(&e);
	if (full)
		fputs("\t}\n\n", out);
}

int axdp_nft_render(FILE *out, bool full, const struct axdp_nft *nft, const struct axdp_port_state *ports,
		    const struct axdp_socket_set *seeds, const struct axdp_nft_policy *pol, const struct axdp_config *cfg)
{
	if (full) {
		/* Creating first makes the delete succeed whether or not a table was there: one transaction. */
		fputs("table " T " {}\ndelete table " T "\ntable " T " {\n", out);
		for (size_t i = 0; i < ARRAY_SIZE(counters); i++)
			fprintf(out, "\tcounter %s {}\n", counters[i]);
		fputc('\n', out);
	}
	for (int k = 0; k < S_COUNT; k++)
		render_set(out, full, k, nft, ports, seeds, pol, cfg);
	if (full) {
		fprintf(out, chains, AXDP_NFT_PRIORITY, cfg->allow_dhcp_client ? dhcp_client_rules : "");
		fputs("}\n", out);
	}
	return ferror(out) ? -1 : 0;
}

/* ---- applying ---- */

static int apply(bool full, const struct axdp_nft *nft, const struct axdp_port_state *ports,
		 const struct axdp_config *cfg, char *err, size_t errlen)
{
	struct axdp_socket_set seeds = {};
	struct axdp_cidr_list deny = {};
	struct axdp_nft_policy pol = { .trust = &cfg->trust_cidrs, .deny = &deny, .trust_tcp = cfg->trust_opens_all_tcp };
	bool policy = full || nft->policy_stale;
	char *text = NULL, seed_err[256];
	size_t len = 0;
	FILE *f;
	int rc;

	/* Not fatal: without seeds, sessions older than the table heal when the host next sends. */
	if (full && axdp_connections_dump(&seeds, seed_err, sizeof(seed_err)))
		axdp_socket_set_free(&seeds);
	/* DenyCIDR= and the DenyListFile= lists, read only when the policy may have changed. */
	if (policy && axdp_denylist_collect(cfg, &deny, err, errlen)) {
		axdp_socket_set_free(&seeds);
		return -1;
	}
	f = open_memstream(&text, &len);
	if (!f) {
		axdp_socket_set_free(&seeds);
		free(deny.v);
		return axdp_fail(err, errlen, "nftables backend: out of memory");
	}
	rc = axdp_nft_render(f, full, nft, ports, &seeds, policy ? &pol : NULL, cfg);
	if (fclose(f) || rc)
		rc = axdp_fail(err, errlen, "nftables backend: rendering the ruleset: out of memory");
	else
		rc = axdp_nft_run(text, len, err, errlen);
	free(text);
	free(deny.v);
	axdp_socket_set_free(&seeds);
	return rc;
}

int axdp_nft_remove(char *err, size_t errlen)
{
	static const char input[] = "table " T " {}\ndelete table " T "\n";
	char buf[4096];

	/* No nft, no table of ours: nothing made one. */
	if (!nft_path(buf, sizeof(buf)))
		return 0;
	return axdp_nft_run(input, sizeof(input) - 1, err, errlen);
}

int axdp_nft_sync(struct axdp_nft *nft, const struct axdp_port_state *ports, const struct axdp_config *cfg,
		  char *err, size_t errlen)
{
	char first[512];

	if (!nft->n) {
		if (nft->absent)
			return 0;
		if (axdp_nft_remove(err, errlen))
			return -1;
		nft->absent = true;
		nft->installed = false;
		return 0;
	}
	if (nft->installed) {
		if (apply(false, nft, ports, cfg, first, sizeof(first)) == 0)
			return nft->policy_stale = false, 0;
		/* Someone deleted or changed our table (nft flush ruleset, say): put it back whole. */
		nft->installed = false;
		if (apply(true, nft, ports, cfg, err, errlen))
			return -1;
		nft->installed = true;
		nft->absent = false;
		return axdp_fail(err, errlen, "table " T " had been changed or removed outside autoxdp; recreated it (%s)", first);
	}
	if (apply(true, nft, ports, cfg, err, errlen))
		return -1;
	nft->installed = true;
	nft->absent = false;
	nft->policy_stale = false;
	return 0;
}

int axdp_nft_interfaces(char (*names)[IF_NAMESIZE], int max, char *err, size_t errlen)
{
	static const char *const args[] = { "list", "set", T, AXDP_NFT_SET_IFACES, NULL };
	char *out = malloc(NFT_OUT_MAX), msg[1024], buf[4096];
	const char *p;
	int rc, n = 0;

	if (!nft_path(buf, sizeof(buf)))
		return free(out), 0;
	if (!out)
		return axdp_fail(err, errlen, "out of memory");
	rc = run_nft(args, NULL, 0, out, NFT_OUT_MAX, msg, sizeof(msg));
	if (rc != 0) {
		free(out);
		/* No table (or no set in it): nothing protected by nftables. */
		if (rc > 0 && strstr(msg, "No such file or directory"))
			return 0;
		return axdp_fail(err, errlen, "%s", msg);
	}
	p = strstr(out, "elements = {");
	while (p && (p = strchr(p, '"')) && n < max) {
		const char *end = strchr(p + 1, '"');

		if (!end)
			break;
		snprintf(names[n++], IF_NAMESIZE, "%.*s", (int)(end - p - 1), p + 1);
		p = end + 1;
	}
	free(out);
	return n;
}
