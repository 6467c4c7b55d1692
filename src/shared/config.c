/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

_Static_assert(AXDP_IFNAMSIZ == IFNAMSIZ, "interface names must fit the kernel's buffer");
_Static_assert(AXDP_PATH_MAX == PATH_MAX, "paths must fit what the kernel accepts");
/* Enum fields are written through an unsigned int pointer by the table-driven parser. */
_Static_assert(sizeof(enum axdp_xdp_mode) == sizeof(unsigned int), "enum size");
_Static_assert(sizeof(enum axdp_backend) == sizeof(unsigned int), "enum size");
_Static_assert(sizeof(enum axdp_run_mode) == sizeof(unsigned int), "enum size");
_Static_assert(sizeof(uint32_t) == sizeof(unsigned int), "integer fields compare as unsigned int");

#define STR_(x) #x
#define STR(x)  STR_(x)

/* The table stringifies these; a renamed macro would otherwise become the default "AXDP_...". */
_Static_assert(AXDP_DEFAULT_RECONCILE_INTERVAL_S > 0 && AXDP_DEFAULT_TCP_TIMEOUT_S > 0 &&
		       AXDP_DEFAULT_TCP_CLOSING_TIMEOUT_S > 0 && AXDP_DEFAULT_UDP_TIMEOUT_S > 0 &&
		       AXDP_DEFAULT_ICMP_TIMEOUT_S > 0 && AXDP_DEFAULT_FRAG_TIMEOUT_S > 0 &&
		       AXDP_DEFAULT_METRICS_INTERVAL_S > 0 && AXDP_DEFAULT_SYN_PER_S > 0 && AXDP_DEFAULT_SYN_BURST > 0 &&
		       AXDP_DEFAULT_STRICT_SYN_PER_S > 0 && AXDP_DEFAULT_STRICT_SYN_BURST > 0 &&
		       AXDP_DEFAULT_ICMP_ECHO_PER_S > 0 && AXDP_DEFAULT_ICMP_ECHO_BURST > 0,
	       "default macros must exist");

/* Longest token quoted back in an error; the rest of a garbage line helps nobody. */
#define QUOTE_MAX 80

/* Where the line being parsed came from, and where its error goes. */
struct pos {
	const char *file;
	unsigned long line; /* 0: the error is about the whole file */
	char *err;
	size_t errlen;
};

static int fail(const struct pos *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const struct pos *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -1;
	if (p->line)
		n = snprintf(p->err, p->errlen, "%s:%lu: ", p->file, p->line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->file);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Locale-independent: a daemon may call setlocale(), the file format must not change. */
static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

char *axdp_config_trim(char *s)
{
	char *e;

	while (is_ws(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_ws(e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* Splits a list value at whitespace; false at the end. */
static bool next_token(const char **s, const char **tok, size_t *len)
{
	const char *p = *s;

	while (is_ws(*p))
		p++;
	if (!*p)
		return false;
	*tok = p;
	while (*p && !is_ws(*p))
		p++;
	*len = (size_t)(p - *tok);
	*s = p;
	return true;
}

static int qlen(size_t len)
{
	return len > QUOTE_MAX ? QUOTE_MAX : (int)len;
}

/* Room for one more element; returns the (possibly moved) array or NULL. */
static void *vec_grow(void *v, size_t n, size_t *cap, size_t elsz)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap < *cap || ncap > SIZE_MAX / elsz)
		return NULL;
	nv = realloc(v, ncap * elsz);
	if (!nv)
		return NULL;
	*cap = ncap;
	return nv;
}

static void *memdup(const void *src, size_t n, size_t elsz)
{
	void *d;

	if (!n)
		return NULL;
	d = malloc(n * elsz); /* n * elsz already fitted in the source array */
	if (d)
		memcpy(d, src, n * elsz);
	return d;
}

/* ------------------------------------------------------------------ */
/* The table                                                          */

enum section { SEC_DAEMON, SEC_PORTS, SEC_CONNTRACK, SEC_POLICY, SEC_RATELIMIT, SEC_COUNT };

static const char *const section_names[SEC_COUNT] = {
	[SEC_DAEMON] = "Daemon",
	[SEC_PORTS] = "Ports",
	[SEC_CONNTRACK] = "Conntrack",
	[SEC_POLICY] = "Policy",
	[SEC_RATELIMIT] = "RateLimit",
};

enum type { T_IFNAMES, T_PATH, T_ENUM, T_UINT, T_PORTS, T_CIDRS, T_BOOL, T_PATHS, T_NAMES, T_COUNT };

struct key {
	enum section section;
	const char *name;
	enum type type;
	size_t offset;
	/* Bounds of the value (T_UINT, T_PORTS) or of its length (T_PATH, T_PATHS, T_IFNAMES, T_NAMES). */
	uint32_t min, max;
	const char *const *names; /* T_ENUM: value i is spelled names[i], NULL-terminated */
	const char *def;          /* spelled as in the file, so defaults go through the parsers */
};

static const char *const backend_names[] = {
	[AXDP_BACKEND_AUTO] = "auto",
	[AXDP_BACKEND_XDP] = "xdp",
	[AXDP_BACKEND_NFTABLES] = "nftables",
	NULL,
};

static const char *const run_mode_names[] = {
	[AXDP_MODE_ENFORCE] = "enforce",
	[AXDP_MODE_AUDIT] = "audit",
	NULL,
};

const char *axdp_mode_name(bool audit)
{
	return run_mode_names[audit ? AXDP_MODE_AUDIT : AXDP_MODE_ENFORCE];
}

const char *axdp_backend_name(enum axdp_backend backend)
{
	return backend_names[backend];
}

#define OFF(field) offsetof(struct axdp_config, field)

/* Print order is table order, so keys of one section must stay together. */
static const struct key keys[] = {
	{ SEC_DAEMON, "Interfaces", T_IFNAMES, OFF(interfaces), 1, AXDP_IFNAMSIZ - 1, NULL, "" },
	{ SEC_DAEMON, "BpfObject", T_PATH, OFF(bpf_object), 1, AXDP_PATH_MAX - 1, NULL,
	  AXDP_OBJECT_DEFAULT },
	{ SEC_DAEMON, "PinDir", T_PATH, OFF(pin_dir), 1, AXDP_PATH_MAX - 1, NULL, AXDP_PIN_DIR_DEFAULT },
	{ SEC_DAEMON, "XdpMode", T_ENUM, OFF(xdp_mode), 0, 0, axdp_xdp_mode_names, "auto" },
	{ SEC_DAEMON, "Backend", T_ENUM, OFF(backend), 0, 0, backend_names, "auto" },
	{ SEC_DAEMON, "Mode", T_ENUM, OFF(mode), 0, 0, run_mode_names, "enforce" },
	{ SEC_DAEMON, "ReconcileIntervalSec", T_UINT, OFF(reconcile_interval_s), 1, 3600, NULL,
	  STR(AXDP_DEFAULT_RECONCILE_INTERVAL_S) },
	{ SEC_DAEMON, "PidFile", T_PATH, OFF(pid_file), 1, AXDP_PATH_MAX - 1, NULL, AXDP_DEFAULT_PID_FILE },
	{ SEC_DAEMON, "StateDirectory", T_PATH, OFF(state_dir), 1, AXDP_PATH_MAX - 1, NULL, AXDP_DEFAULT_STATE_DIR },
	/* min 0: empty is a value here, "no metrics file". */
	{ SEC_DAEMON, "MetricsFile", T_PATH, OFF(metrics_file), 0, AXDP_PATH_MAX - 1, NULL, "" },
	{ SEC_DAEMON, "MetricsIntervalSec", T_UINT, OFF(metrics_interval_s), 1, 86400, NULL,
	  STR(AXDP_DEFAULT_METRICS_INTERVAL_S) },

	{ SEC_PORTS, "AllowTCP", T_PORTS, OFF(allow_ports[AXDP_L4_TCP]), 1, 65535, NULL, "" },
	{ SEC_PORTS, "AllowUDP", T_PORTS, OFF(allow_ports[AXDP_L4_UDP]), 1, 65535, NULL, "" },
	{ SEC_PORTS, "ExcludeTCP", T_PORTS, OFF(exclude_ports[AXDP_L4_TCP]), 1, 65535, NULL, "" },
	{ SEC_PORTS, "ExcludeUDP", T_PORTS, OFF(exclude_ports[AXDP_L4_UDP]), 1, 65535, NULL, "" },
	{ SEC_PORTS, "ExcludeBindCIDR", T_CIDRS, OFF(exclude_bind), 0, 0, NULL, "" },

	{ SEC_CONNTRACK, "TCPTimeoutSec", T_UINT, OFF(tcp_timeout_s), 1, 2592000, NULL,
	  STR(AXDP_DEFAULT_TCP_TIMEOUT_S) },
	{ SEC_CONNTRACK, "TCPClosingTimeoutSec", T_UINT, OFF(tcp_closing_timeout_s), 1, 3600, NULL,
	  STR(AXDP_DEFAULT_TCP_CLOSING_TIMEOUT_S) },
	{ SEC_CONNTRACK, "UDPTimeoutSec", T_UINT, OFF(udp_timeout_s), 1, 86400, NULL,
	  STR(AXDP_DEFAULT_UDP_TIMEOUT_S) },
	{ SEC_CONNTRACK, "ICMPTimeoutSec", T_UINT, OFF(icmp_timeout_s), 1, 3600, NULL,
	  STR(AXDP_DEFAULT_ICMP_TIMEOUT_S) },
	{ SEC_CONNTRACK, "FragmentTimeoutSec", T_UINT, OFF(frag_timeout_s), 1, 120, NULL,
	  STR(AXDP_DEFAULT_FRAG_TIMEOUT_S) },

	{ SEC_POLICY, "DenyCIDR", T_CIDRS, OFF(deny_cidrs), 0, 0, NULL, "" },
	{ SEC_POLICY, "DenyListFile", T_PATHS, OFF(deny_list_files), 1, AXDP_PATH_MAX - 1, NULL, "" },
	{ SEC_POLICY, "TrustCIDR", T_CIDRS, OFF(trust_cidrs), 0, 0, NULL, "" },
	{ SEC_POLICY, "TrustOpensAllTCP", T_BOOL, OFF(trust_opens_all_tcp), 0, 0, NULL, "no" },
	{ SEC_POLICY, "DropMartians", T_BOOL, OFF(drop_martians), 0, 0, NULL, "yes" },
	{ SEC_POLICY, "AllowDHCPClient", T_BOOL, OFF(allow_dhcp_client), 0, 0, NULL, "yes" },

	/* Upper bounds keep interval * burst (ns) far inside 64 bits. */
	{ SEC_RATELIMIT, "SYNPerSecond", T_UINT, OFF(syn_per_s), 0, 1000000000, NULL, STR(AXDP_DEFAULT_SYN_PER_S) },
	{ SEC_RATELIMIT, "SYNBurst", T_UINT, OFF(syn_burst), 1, 1000000, NULL, STR(AXDP_DEFAULT_SYN_BURST) },
	{ SEC_RATELIMIT, "StrictSYNPerSecond", T_UINT, OFF(strict_syn_per_s), 0, 1000000000, NULL,
	  STR(AXDP_DEFAULT_STRICT_SYN_PER_S) },
	{ SEC_RATELIMIT, "StrictSYNBurst", T_UINT, OFF(strict_syn_burst), 1, 1000000, NULL,
	  STR(AXDP_DEFAULT_STRICT_SYN_BURST) },
	{ SEC_RATELIMIT, "StrictProcesses", T_NAMES, OFF(strict_processes), 1, AXDP_IFNAMSIZ - 1, NULL,
	  AXDP_DEFAULT_STRICT_PROCESSES },
	{ SEC_RATELIMIT, "StrictTCP", T_PORTS, OFF(strict_tcp), 1, 65535, NULL, "" },
	{ SEC_RATELIMIT, "UnlimitedTCP", T_PORTS, OFF(unlimited_tcp), 1, 65535, NULL, "" },
	{ SEC_RATELIMIT, "SourcePrefixIPv4", T_UINT, OFF(source_prefix_v4), 1, 32, NULL, "32" },
	{ SEC_RATELIMIT, "SourcePrefixIPv6", T_UINT, OFF(source_prefix_v6), 1, 128, NULL, "64" },
	{ SEC_RATELIMIT, "UDPPerSecond", T_UINT, OFF(udp_per_s), 0, 1000000000, NULL, "0" },
	{ SEC_RATELIMIT, "UDPBurst", T_UINT, OFF(udp_burst), 1, 1000000, NULL, "1" },
	{ SEC_RATELIMIT, "UDPPortPacketsPerSecond", T_UINT, OFF(udp_port_packets_per_s), 0, 4000000000u, NULL, "0" },
	{ SEC_RATELIMIT, "UDPPortBytesPerSecond", T_UINT, OFF(udp_port_bytes_per_s), 0, 4000000000u, NULL, "0" },
	{ SEC_RATELIMIT, "ICMPEchoPerSecond", T_UINT, OFF(icmp_echo_per_s), 0, 1000000000, NULL,
	  STR(AXDP_DEFAULT_ICMP_ECHO_PER_S) },
	{ SEC_RATELIMIT, "ICMPEchoBurst", T_UINT, OFF(icmp_echo_burst), 1, 1000000, NULL,
	  STR(AXDP_DEFAULT_ICMP_ECHO_BURST) },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* ------------------------------------------------------------------ */
/* One parser (and printer, comparer, ...) per type                   */

struct type_ops {
	/* Lists: the first assignment in a file replaces, later ones append. */
	bool list;
	/* Scalars store the value; lists add it to what is there. */
	int (*parse)(void *f, const struct key *k, const char *v, const struct pos *p);
	void (*print)(FILE *out, const void *f, const struct key *k);
	bool (*equal)(const void *a, const void *b);
	void (*reset)(void *f); /* lists: to empty, keeping the allocation */
	/* Heap-owning types only: dst is a shallow copy of src on entry. */
	int (*dup)(void *dst);
	void (*release)(void *f);
};

static int oom(const struct pos *p)
{
	return fail(p, "out of memory: free some memory and retry");
}

/*
 * Lists whose elements own no memory (interface names, CIDRs): emptying
 * keeps the array, a copy duplicates the array alone.
 */
#define FLAT_LIST_OPS(prefix, list_type)                       \
	static void prefix##_reset(void *f)                    \
	{                                                      \
		((list_type *)f)->n = 0;                       \
	}                                                      \
                                                               \
	static int prefix##_dup(void *f)                       \
	{                                                      \
		list_type *l = f;                              \
                                                               \
		l->v = memdup(l->v, l->n, sizeof(*l->v));      \
		l->cap = l->n;                                 \
		if (l->n && !l->v) {                           \
			l->n = l->cap = 0;                     \
			return -1;                             \
		}                                              \
		return 0;                                      \
	}                                                      \
                                                               \
	static void prefix##_release(void *f)                  \
	{                                                      \
		list_type *l = f;                              \
                                                               \
		free(l->v);                                    \
		l->v = NULL;                                   \
		l->n = l->cap = 0;                             \
	}

/* -- T_IFNAMES -- */

/* The kernel's dev_valid_name(), so a name accepted here can exist. */
static bool valid_ifname(const char *s, size_t len, const struct key *k)
{
	if (len < k->min || len > k->max)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':')
			return false;
	return true;
}

static int ifnames_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	struct axdp_ifname_list *l = f;
	const char *tok;
	size_t len;

	while (next_token(&v, &tok, &len)) {
		char name[AXDP_IFNAMSIZ] = { 0 };
		bool dup = false;

		if (!valid_ifname(tok, len, k))
			return fail(p,
				    "%s= entry \"%.*s\": expected %s of %u to %u "
				    "characters without '/' or ':'",
				    k->name, qlen(len), tok, k->type == T_NAMES ? "a process name" : "an interface name",
				    k->min, k->max);
		memcpy(name, tok, len);
		/* Attaching twice to one interface is never meant; a set is what the daemon wants. */
		for (size_t i = 0; i < l->n && !dup; i++)
			dup = !strcmp(l->v[i], name);
		if (dup)
			continue;
		void *nv = vec_grow(l->v, l->n, &l->cap, sizeof(*l->v));
		if (!nv)
			return oom(p);
		l->v = nv;
		memcpy(l->v[l->n++], name, sizeof(name));
	}
	return 0;
}

static void ifnames_print(FILE *out, const void *f, const struct key *k)
{
	const struct axdp_ifname_list *l = f;

	(void)k;
	for (size_t i = 0; i < l->n; i++)
		fprintf(out, "%s%s", i ? " " : "", l->v[i]);
}

static bool ifnames_equal(const void *a, const void *b)
{
	const struct axdp_ifname_list *x = a, *y = b;

	return x->n == y->n && (!x->n || !memcmp(x->v, y->v, x->n * sizeof(*x->v)));
}

FLAT_LIST_OPS(ifnames, struct axdp_ifname_list)

/* -- T_PATH -- */

static int path_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	size_t len = strlen(v);
	bool ctl = false;

	/* Control bytes would not survive a print/parse round trip (or a log line). */
	for (size_t i = 0; i < len; i++)
		ctl |= (unsigned char)v[i] < 0x20 || v[i] == 0x7f;
	if (!len && !k->min) {
		*(char *)f = '\0';
		return 0;
	}
	if (v[0] != '/' || ctl || len < k->min || len > k->max)
		return fail(p, "%s=%.*s: expected an absolute path of at most %u bytes", k->name,
			    qlen(len), v, k->max);
	memcpy(f, v, len + 1);
	return 0;
}

static void path_print(FILE *out, const void *f, const struct key *k)
{
	(void)k;
	fputs(f, out);
}

static bool path_equal(const void *a, const void *b)
{
	return !strcmp(a, b);
}

/* -- T_ENUM -- */

static int enum_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	char expect[128];
	size_t n = 0, used = 0;

	for (unsigned i = 0; k->names[i]; i++) {
		if (!strcmp(v, k->names[i])) {
			*(unsigned int *)f = i;
			return 0;
		}
	}
	while (k->names[n])
		n++;
	expect[0] = '\0';
	for (size_t i = 0; i < n && used < sizeof(expect); i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(expect + used, sizeof(expect) - used, "%s%s", sep, k->names[i]);

		used += w > 0 ? (size_t)w : 0;
	}
	return fail(p, "%s=%.*s: expected %s", k->name, qlen(strlen(v)), v, expect);
}

static void enum_print(FILE *out, const void *f, const struct key *k)
{
	fputs(k->names[*(const unsigned int *)f], out);
}

/* T_ENUM and T_UINT fields are both one unsigned int wide (see the asserts). */
static bool word_equal(const void *a, const void *b)
{
	return *(const unsigned int *)a == *(const unsigned int *)b;
}

/* -- T_UINT -- */

static int uint_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	unsigned long long x = 0;
	bool ok = *v != '\0';

	/* Digits only: strtoul() would take "-1", "+5", " 7" and "0x10". */
	for (const char *s = v; *s && ok; s++) {
		ok = *s >= '0' && *s <= '9';
		x = x * 10 + (unsigned)(*s - '0');
		if (x > UINT32_MAX)
			ok = false;
	}
	if (!ok || x < k->min || x > k->max)
		return fail(p, "%s=%.*s: expected an integer from %u to %u", k->name,
			    qlen(strlen(v)), v, k->min, k->max);
	*(uint32_t *)f = (uint32_t)x;
	return 0;
}

static void uint_print(FILE *out, const void *f, const struct key *k)
{
	(void)k;
	fprintf(out, "%u", (unsigned)*(const uint32_t *)f);
}

/* -- T_PORTS -- */

/* Saturates instead of overflowing so "99999999999" reports as out of range, not as junk. */
static bool parse_port_num(const char *s, size_t len, uint32_t *out)
{
	uint32_t x = 0;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x > 1000000 ? x : x * 10 + (uint32_t)(s[i] - '0');
	}
	*out = x;
	return true;
}

static int ports_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	uint8_t *set = f;
	const char *tok;
	size_t len;

	while (next_token(&v, &tok, &len)) {
		const char *dash = memchr(tok, '-', len);
		uint32_t lo, hi;
		bool ok;

		if (dash)
			ok = parse_port_num(tok, (size_t)(dash - tok), &lo) &&
			     parse_port_num(dash + 1, len - (size_t)(dash - tok) - 1, &hi);
		else
			ok = parse_port_num(tok, len, &lo) && ((hi = lo), true);
		if (!ok)
			return fail(p,
				    "%s= entry \"%.*s\": expected a port or a range LOW-HIGH, "
				    "e.g. 22 80 8000-8010",
				    k->name, qlen(len), tok);
		if (lo < k->min || lo > k->max || hi < k->min || hi > k->max)
			return fail(p, "%s= entry \"%.*s\": expected ports from %u to %u", k->name,
				    qlen(len), tok, k->min, k->max);
		if (lo > hi)
			return fail(p, "%s= entry \"%.*s\": expected a range LOW-HIGH with LOW <= HIGH",
				    k->name, qlen(len), tok);
		for (uint32_t port = lo; port <= hi; port++)
			set[port >> 3] |= (uint8_t)(1u << (port & 7));
	}
	return 0;
}

static void ports_print(FILE *out, const void *f, const struct key *k)
{
	const uint8_t *set = f;
	bool first = true;

	(void)k;
	for (uint32_t port = 1; port < AXDP_PORTS; port++) {
		uint32_t end = port;

		if (!axdp_port_in(set, (uint16_t)port))
			continue;
		while (end + 1 < AXDP_PORTS && axdp_port_in(set, (uint16_t)(end + 1)))
			end++;
		if (end == port)
			fprintf(out, "%s%u", first ? "" : " ", port);
		else
			fprintf(out, "%s%u-%u", first ? "" : " ", port, end);
		first = false;
		port = end;
	}
}

static bool ports_equal(const void *a, const void *b)
{
	return !memcmp(a, b, AXDP_PORTSET_BYTES);
}

static void ports_reset(void *f)
{
	memset(f, 0, AXDP_PORTSET_BYTES);
}

/* -- T_CIDRS -- */

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool is_v4mapped(const uint8_t a[16])
{
	return !memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix));
}

bool axdp_cidr_contains(const struct axdp_cidr *cidr, const uint8_t addr16[16])
{
	unsigned full = cidr->prefix / 8, rest = cidr->prefix % 8;

	if (cidr->prefix > 128)
		return false;
	if (memcmp(cidr->addr, addr16, full))
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (cidr->addr[full] & mask) == (addr16[full] & mask);
}

/* Longest output: a full IPv6 address plus "/128". */
#define CIDR_STRLEN (INET6_ADDRSTRLEN + 4)

static void cidr_format(char buf[CIDR_STRLEN], const struct axdp_cidr *c)
{
	char a[INET6_ADDRSTRLEN];

	/* v4-mapped with a prefix covering the mapping prints as the IPv4 the user wrote. */
	if (is_v4mapped(c->addr) && c->prefix >= 96) {
		inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
		snprintf(buf, CIDR_STRLEN, "%s/%u", a, c->prefix - 96u);
	} else {
		inet_ntop(AF_INET6, c->addr, a, sizeof(a));
		snprintf(buf, CIDR_STRLEN, "%s/%u", a, c->prefix);
	}
}

void axdp_cidr_format(char *buf, size_t len, const struct axdp_cidr *c)
{
	char text[CIDR_STRLEN];

	cidr_format(text, c);
	snprintf(buf, len, "%s", text);
}

enum cidr_scan { CIDR_OK, CIDR_BAD_ADDR, CIDR_BAD_PREFIX, CIDR_HOST_BITS };

/* Parses without judging host bits: *c gets the address as written, *net the network it names. */
static enum cidr_scan cidr_scan(const char *tok, size_t len, struct axdp_cidr *c, struct axdp_cidr *net)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = memchr(tok, '/', len);
	size_t alen = slash ? (size_t)(slash - tok) : len;
	bool v6 = memchr(tok, ':', alen) != NULL;
	unsigned max = v6 ? 128 : 32, prefix = max;

	memset(c, 0, sizeof(*c));
	if (alen >= sizeof(buf))
		return CIDR_BAD_ADDR;
	memcpy(buf, tok, alen);
	buf[alen] = '\0';
	if (v6) {
		if (inet_pton(AF_INET6, buf, c->addr) != 1)
			return CIDR_BAD_ADDR;
	} else {
		memcpy(c->addr, v4mapped_prefix, sizeof(v4mapped_prefix));
		if (inet_pton(AF_INET, buf, c->addr + 12) != 1)
			return CIDR_BAD_ADDR;
	}
	if (slash) {
		size_t plen = len - alen - 1;
		uint32_t x;

		/* At most 3 digits: "/0032" is surely a typo, not a prefix of 32. */
		if (plen > 3 || !parse_port_num(slash + 1, plen, &x) || x > max)
			return CIDR_BAD_PREFIX;
		prefix = x;
	}
	c->prefix = (uint8_t)(v6 ? prefix : prefix + 96);

	*net = *c;
	unsigned full = net->prefix / 8, rest = net->prefix % 8;
	if (full < 16) {
		net->addr[full] &= (uint8_t)(0xff00u >> rest);
		memset(net->addr + full + 1, 0, 16 - full - 1);
	}
	return memcmp(net->addr, c->addr, 16) ? CIDR_HOST_BITS : CIDR_OK;
}

int axdp_cidr_parse(const char *s, size_t len, bool mask_host_bits, struct axdp_cidr *out)
{
	struct axdp_cidr c, net;
	enum cidr_scan r = cidr_scan(s, len, &c, &net);

	if (r == CIDR_OK || (r == CIDR_HOST_BITS && mask_host_bits)) {
		*out = net;
		return 0;
	}
	return -1;
}

static int cidr_parse_one(const char *tok, size_t len, struct axdp_cidr *out, const struct key *k,
			  const struct pos *p)
{
	struct axdp_cidr c, net;
	char want[CIDR_STRLEN];
	bool v6;

	switch (cidr_scan(tok, len, &c, &net)) {
	case CIDR_OK:
		*out = c;
		return 0;
	case CIDR_BAD_PREFIX:
		v6 = memchr(tok, ':', len) != NULL;
		return fail(p, "%s= entry \"%.*s\": expected an %s prefix length from 0 to %u",
			    k->name, qlen(len), tok, v6 ? "IPv6" : "IPv4", v6 ? 128 : 32);
	case CIDR_HOST_BITS:
		/* Host bits usually mean a mistyped network; say which one we would have used. */
		cidr_format(want, &net);
		return fail(p, "%s= entry \"%.*s\": host bits are set, expected the network address %s",
			    k->name, qlen(len), tok, want);
	case CIDR_BAD_ADDR:
		break;
	}
	return fail(p,
		    "%s= entry \"%.*s\": expected an IPv4 or IPv6 address, optionally with /PREFIX",
		    k->name, qlen(len), tok);
}

static int cidrs_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	struct axdp_cidr_list *l = f;
	const char *tok;
	size_t len;

	while (next_token(&v, &tok, &len)) {
		struct axdp_cidr c;
		bool dup = false;

		if (cidr_parse_one(tok, len, &c, k, p) < 0)
			return -1;
		for (size_t i = 0; i < l->n && !dup; i++)
			dup = l->v[i].prefix == c.prefix && !memcmp(l->v[i].addr, c.addr, 16);
		if (dup)
			continue;
		void *nv = vec_grow(l->v, l->n, &l->cap, sizeof(*l->v));
		if (!nv)
			return oom(p);
		l->v = nv;
		l->v[l->n++] = c;
	}
	return 0;
}

static void cidrs_print(FILE *out, const void *f, const struct key *k)
{
	const struct axdp_cidr_list *l = f;

	(void)k;
	for (size_t i = 0; i < l->n; i++) {
		char buf[CIDR_STRLEN];

		cidr_format(buf, &l->v[i]);
		fprintf(out, "%s%s", i ? " " : "", buf);
	}
}

static bool cidrs_equal(const void *a, const void *b)
{
	const struct axdp_cidr_list *x = a, *y = b;

	if (x->n != y->n)
		return false;
	/* Field by field: padding after prefix is not ours to compare. */
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].prefix != y->v[i].prefix || memcmp(x->v[i].addr, y->v[i].addr, 16))
			return false;
	return true;
}

FLAT_LIST_OPS(cidrs, struct axdp_cidr_list)

/* -- T_BOOL -- */

static int bool_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
			*(bool *)f = !strcasecmp(v, yes[i]);
			return 0;
		}
	}
	return fail(p, "%s=%.*s: expected yes or no (true/false, on/off and 1/0 work too)", k->name,
		    qlen(strlen(v)), v);
}

static void bool_print(FILE *out, const void *f, const struct key *k)
{
	(void)k;
	fputs(*(const bool *)f ? "yes" : "no", out);
}

static bool bool_equal(const void *a, const void *b)
{
	return *(const bool *)a == *(const bool *)b;
}

/* -- T_PATHS: whitespace-separated, each one checked as a T_PATH -- */

static int paths_parse(void *f, const struct key *k, const char *v, const struct pos *p)
{
	struct axdp_path_list *l = f;
	const char *tok;
	size_t len;

	while (next_token(&v, &tok, &len)) {
		char checked[AXDP_PATH_MAX], *one = strndup(tok, len);
		bool dup = false;

		if (!one)
			return oom(p);
		if (path_parse(checked, k, one, p) < 0) {
			free(one);
			return -1;
		}
		for (size_t i = 0; i < l->n && !dup; i++)
			dup = !strcmp(l->v[i], one);
		void *nv = dup ? NULL : vec_grow(l->v, l->n, &l->cap, sizeof(*l->v));
		if (!nv) {
			free(one);
			if (dup)
				continue;
			return oom(p);
		}
		l->v = nv;
		l->v[l->n++] = one;
	}
	return 0;
}

static void paths_print(FILE *out, const void *f, const struct key *k)
{
	const struct axdp_path_list *l = f;

	(void)k;
	for (size_t i = 0; i < l->n; i++)
		fprintf(out, "%s%s", i ? " " : "", l->v[i]);
}

static bool paths_equal(const void *a, const void *b)
{
	const struct axdp_path_list *x = a, *y = b;

	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->v[i], y->v[i]))
			return false;
	return true;
}

/* The strings are the list's own: emptying frees them, the array stays. */
static void paths_reset(void *f)
{
	struct axdp_path_list *l = f;

	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static void paths_release(void *f)
{
	struct axdp_path_list *l = f;

	paths_reset(l);
	free(l->v);
	l->v = NULL;
	l->cap = 0;
}

static int paths_dup(void *f)
{
	struct axdp_path_list *l = f;
	char **src = l->v;
	size_t n = l->n;

	l->v = n ? calloc(n, sizeof(*l->v)) : NULL;
	l->n = l->cap = 0;
	if (n && !l->v)
		return -1;
	l->cap = n;
	for (; l->n < n; l->n++)
		if (!(l->v[l->n] = strdup(src[l->n]))) {
			paths_release(l);
			return -1;
		}
	return 0;
}

static const struct type_ops ops[T_COUNT] = {
	[T_IFNAMES] = { true, ifnames_parse, ifnames_print, ifnames_equal, ifnames_reset,
			ifnames_dup, ifnames_release },
	[T_PATH] = { false, path_parse, path_print, path_equal, NULL, NULL, NULL },
	[T_ENUM] = { false, enum_parse, enum_print, word_equal, NULL, NULL, NULL },
	[T_UINT] = { false, uint_parse, uint_print, word_equal, NULL, NULL, NULL },
	[T_PORTS] = { true, ports_parse, ports_print, ports_equal, ports_reset, NULL, NULL },
	[T_CIDRS] = { true, cidrs_parse, cidrs_print, cidrs_equal, cidrs_reset, cidrs_dup,
		      cidrs_release },
	[T_BOOL] = { false, bool_parse, bool_print, bool_equal, NULL, NULL, NULL },
	[T_PATHS] = { true, paths_parse, paths_print, paths_equal, paths_reset, paths_dup, paths_release },
	/* Process names are as long as interface names: only the messages differ. */
	[T_NAMES] = { true, ifnames_parse, ifnames_print, ifnames_equal, ifnames_reset,
		      ifnames_dup, ifnames_release },
};

/* ------------------------------------------------------------------ */
/* Whole configurations                                               */

static void *field(struct axdp_config *c, const struct key *k)
{
	return (char *)c + k->offset;
}

static const void *cfield(const struct axdp_config *c, const struct key *k)
{
	return (const char *)c + k->offset;
}

void axdp_config_defaults(struct axdp_config *c)
{
	struct pos p = { "(built-in defaults)", 0, NULL, 0 };

	memset(c, 0, sizeof(*c));
	/*
	 * Most lists default to empty, which the memset already is.  A list
	 * with a default (StrictProcesses=) allocates: out of memory leaves
	 * it shorter, the one failure possible here.
	 */
	for (size_t i = 0; i < NKEYS; i++)
		if (!ops[keys[i].type].list || *keys[i].def)
			ops[keys[i].type].parse(field(c, &keys[i]), &keys[i], keys[i].def, &p);
}

void axdp_config_free(struct axdp_config *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (ops[keys[i].type].release)
			ops[keys[i].type].release(field(c, &keys[i]));
}

bool axdp_config_equal(const struct axdp_config *a, const struct axdp_config *b)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!ops[keys[i].type].equal(cfield(a, &keys[i]), cfield(b, &keys[i])))
			return false;
	return true;
}

static int config_copy(struct axdp_config *dst, const struct axdp_config *src)
{
	int r = 0;

	memcpy(dst, src, sizeof(*dst));
	/* Every dup runs, so on failure each list is either owned by dst or empty: free works. */
	for (size_t i = 0; i < NKEYS; i++)
		if (ops[keys[i].type].dup && ops[keys[i].type].dup(field(dst, &keys[i])) < 0)
			r = -1;
	if (r < 0)
		axdp_config_free(dst);
	return r;
}

int axdp_config_print(const struct axdp_config *c, FILE *out)
{
	int section = -1;

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if ((int)k->section != section) {
			fprintf(out, "%s[%s]\n", section < 0 ? "" : "\n", section_names[k->section]);
			section = (int)k->section;
		}
		fprintf(out, "%s=", k->name);
		ops[k->type].print(out, cfield(c, k), k);
		fputc('\n', out);
	}
	return fflush(out) == EOF || ferror(out) ? -1 : 0;
}

bool axdp_config_bind_excluded(const struct axdp_config *c, const uint8_t addr16[16])
{
	for (size_t i = 0; i < c->exclude_bind.n; i++)
		if (axdp_cidr_contains(&c->exclude_bind.v[i], addr16))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Files                                                              */

static const struct key *key_by_name(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static int unknown_key(const struct pos *p, const char *name, int section)
{
	char list[512];
	size_t used = 0;

	list[0] = '\0';
	for (size_t i = 0; i < NKEYS && used < sizeof(list); i++) {
		if ((int)keys[i].section != section)
			continue;
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
				 keys[i].name);
		used += w > 0 ? (size_t)w : 0;
	}
	return fail(p, "unknown key %.*s= in [%s]: expected one of %s", qlen(strlen(name)), name,
		    section_names[section], list);
}

static int assign(struct axdp_config *c, char *s, char *eq, int section,
		  unsigned long seen_line[NKEYS], const struct pos *p)
{
	const struct key *k;
	const char *value;
	size_t i;

	*eq = '\0';
	s = axdp_config_trim(s);
	value = axdp_config_trim(eq + 1);
	k = key_by_name(s);
	if (section < 0) {
		if (k)
			return fail(p, "%s= appears before any section header: put it under [%s]",
				    k->name, section_names[k->section]);
		return fail(p, "unknown key %.*s= before any section header: start with [%s]",
			    qlen(strlen(s)), s, section_names[0]);
	}
	if (!k)
		return unknown_key(p, s, section);
	if ((int)k->section != section)
		return fail(p, "%s= does not belong in [%s]: move it to [%s]", k->name,
			    section_names[section], section_names[k->section]);

	i = (size_t)(k - keys);
	if (!ops[k->type].list) {
		if (seen_line[i])
			return fail(p, "duplicate %s= (first set on line %lu): keep one assignment per file",
				    k->name, seen_line[i]);
		seen_line[i] = p->line;
		return ops[k->type].parse(field(c, k), k, value, p);
	}
	/* systemd lists, except that a later file replaces instead of appending. */
	if (!seen_line[i] || !*value)
		ops[k->type].reset(field(c, k));
	seen_line[i] = p->line;
	return *value ? ops[k->type].parse(field(c, k), k, value, p) : 0;
}

int axdp_config_set(struct axdp_config *c, const char *key, const char *value, const char *origin, char *err,
		    size_t errlen)
{
	const struct pos p = { origin, 0, err, errlen };
	const struct key *k = key_by_name(key);

	if (!k)
		return fail(&p, "no key %s= in autoxdp.conf(5)", key);
	if (ops[k->type].list)
		ops[k->type].reset(field(c, k));
	return ops[k->type].parse(field(c, k), k, value, &p);
}

static int section_header(char *s, const struct pos *p)
{
	size_t len = strlen(s);

	if (len < 2 || s[len - 1] != ']')
		return fail(p, "\"%.*s\" is not a section header: write it as [Section]", qlen(len), s);
	s[len - 1] = '\0';
	for (int i = 0; i < SEC_COUNT; i++)
		if (!strcmp(s + 1, section_names[i]))
			return i;
	char list[128];
	size_t used = 0;

	list[0] = '\0';
	for (int i = 0; i < SEC_COUNT && used < sizeof(list); i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s[%s]", i == 0 ? "" : i + 1 == SEC_COUNT ? " or " : ", ",
				 section_names[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	return fail(p, "unknown section [%.*s]: expected %s", qlen(len - 2), s + 1, list);
}

static int parse_stream(struct axdp_config *c, FILE *f, const char *file, char *err, size_t errlen)
{
	unsigned long seen_line[NKEYS] = { 0 };
	struct pos p = { file, 0, err, errlen };
	int section = -1, r = 0;
	char *buf = NULL;
	size_t bufsz = 0;
	ssize_t len;

	errno = 0;
	while (r == 0 && (len = getline(&buf, &bufsz, f)) >= 0) {
		char *s = buf, *eq;

		p.line++;
		if (strlen(buf) != (size_t)len) {
			r = fail(&p, "line contains a NUL byte: save the file as plain text");
			break;
		}
		/* Editors on other systems add a BOM; it is not part of the first key. */
		if (p.line == 1 && !strncmp(s, "\xef\xbb\xbf", 3))
			s += 3;
		s = axdp_config_trim(s);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			int sec = section_header(s, &p);

			if (sec < 0)
				r = -1;
			else
				section = sec;
		} else if ((eq = strchr(s, '=')) && eq != s) {
			r = assign(c, s, eq, section, seen_line, &p);
		} else {
			r = fail(&p, "\"%.*s\" is neither [Section] nor Key=value: "
				     "fix it or comment it out with #",
				 qlen(strlen(s)), s);
		}
	}
	if (r == 0 && ferror(f)) {
		p.line = 0;
		r = fail(&p, "cannot read (%s): check the file", strerror(errno ? errno : EIO));
	}
	free(buf);
	return r;
}

static int parse_path(struct axdp_config *c, const char *path, bool missing_ok, char *err,
		      size_t errlen)
{
	struct pos p = { path, 0, err, errlen };
	struct stat st;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f) {
		if (missing_ok && errno == ENOENT)
			return 0;
		return fail(&p, "cannot open (%s): check the path and its permissions", strerror(errno));
	}
	/* fopen() succeeds on a directory; reading it would fail with a less useful message. */
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return fail(&p, "is a directory: expected a configuration file");
	}
	r = parse_stream(c, f, path, err, errlen);
	fclose(f);
	return r;
}

static int conf_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	/* Hidden files are editor and package-manager leftovers, as in systemd. */
	return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".conf");
}

/* strcmp, not alphasort: alphasort follows LC_COLLATE and the order must not. */
static int byte_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int parse_dropins(struct axdp_config *c, const char *dir, char *err, size_t errlen)
{
	struct pos p = { dir, 0, err, errlen };
	struct dirent **names = NULL;
	int n, r = 0;

	n = scandir(dir, &names, conf_filter, byte_order);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		return fail(&p, "cannot read drop-in directory (%s): check the path and its permissions",
			    strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		char path[AXDP_PATH_MAX];
		struct stat st;
		size_t dl = strlen(dir);
		/* "/etc/autoxdp.conf.d/" must not turn into "//" in error messages. */
		int w = r ? 0 : snprintf(path, sizeof(path), "%s%s%s", dir,
					 dl && dir[dl - 1] == '/' ? "" : "/", names[i]->d_name);

		if (r == 0 && (w < 0 || (size_t)w >= sizeof(path)))
			r = fail(&p, "drop-in path for %s is too long: use a shorter directory",
				 names[i]->d_name);
		/* Vanished files and non-files (a /dev/null symlink masks a drop-in) are skipped. */
		else if (r == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			r = parse_path(c, path, true, err, errlen);
		free(names[i]);
	}
	free(names);
	return r;
}

int axdp_config_load(struct axdp_config *c, const char *main_file, const char *dropin_dir,
		     char *err, size_t errlen)
{
	struct axdp_config *tmp = malloc(sizeof(*tmp));
	int r;

	if (!tmp) {
		struct pos p = { main_file ? main_file : AXDP_CONFIG_FILE, 0, err, errlen };
		return oom(&p);
	}
	axdp_config_defaults(tmp);
	r = parse_path(tmp, main_file ? main_file : AXDP_CONFIG_FILE, true, err, errlen);
	if (r == 0)
		r = parse_dropins(tmp, dropin_dir ? dropin_dir : AXDP_CONFIG_DROPIN_DIR, err, errlen);
	if (r == 0)
		memcpy(c, tmp, sizeof(*c));
	else
		axdp_config_free(tmp);
	free(tmp);
	return r;
}

int axdp_config_parse_file(struct axdp_config *c, const char *path, char *err, size_t errlen)
{
	struct axdp_config *tmp = malloc(sizeof(*tmp));
	struct pos p = { path, 0, err, errlen };
	int r;

	if (!tmp || config_copy(tmp, c) < 0) {
		free(tmp);
		return oom(&p);
	}
	r = parse_path(tmp, path, false, err, errlen);
	if (r == 0) {
		axdp_config_free(c);
		memcpy(c, tmp, sizeof(*c));
	} else {
		axdp_config_free(tmp);
	}
	free(tmp);
	return r;
}
