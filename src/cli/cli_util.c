// SPDX-License-Identifier: MIT
/* What every axdp command needs: options, messages, the configuration, the pinned maps, time, units. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/capability.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "nft_backend.h"
#include "parse_number.h"
#include "pidfile.h"
#include "util.h"

/* ---- messages ---- */

static void vmessage(struct cli *c, const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "axdp: %s%s%s", c->cmd ? c->cmd : "", c->cmd ? ": " : "", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_error(struct cli *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(c, "", fmt, ap);
	va_end(ap);
	return rc;
}

void cli_warn(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(c, "warning: ", fmt, ap);
	va_end(ap);
}

void cli_note_nftables(struct cli *c, const char *what)
{
	char names[AXDP_MAX_IFACES][IF_NAMESIZE], list[AXDP_MAX_IFACES * (IF_NAMESIZE + 2)] = "", err[256];
	int n = axdp_nft_available(err, sizeof(err)) ? 0
						     : axdp_nft_interfaces(names, AXDP_MAX_IFACES, err, sizeof(err));

	for (int i = 0, len = 0; i < n; i++)
		len += snprintf(list + len, sizeof(list) - (size_t)len, "%s%s", i ? ", " : "", names[i]);
	if (n > 0)
		fprintf(stderr, "axdp: %s: note: on nftables (%s), %s (autoxdpd(8), NFTABLES BACKEND)\n", c->cmd, list,
			what);
}

int cli_usage(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(c, "", fmt, ap);
	va_end(ap);
	cli_print_usage(stderr, c->cmd, false);
	return CLI_USAGE;
}

/* ---- options ---- */

const struct cli_option cli_global_options[] = {
	{ "pin-dir", "DIR", CLI_OPT_PIN_DIR,
	  "the daemon's pin directory (default: PinDir= of the configuration, " AXDP_PIN_DIR_DEFAULT ")" },
	{ "config", "FILE", CLI_OPT_CONFIG, "configuration file (default " AXDP_CONFIG_FILE "; drop-ins in FILE.d/)" },
	{ "json", NULL, CLI_OPT_JSON, "JSON output, one document per line (read commands)" },
	{ "help", NULL, CLI_OPT_HELP, "this help; after a command, the command's" },
	{ "version", NULL, CLI_OPT_VERSION, "print the version" },
	{ 0 },
};

static void add_options(const struct cli_option *o, struct option opts[CLI_MAX_OPTIONS], size_t *n, char shorts[16],
			size_t *ns)
{
	for (; o && o->name && *n < CLI_MAX_OPTIONS - 1; o++) {
		opts[(*n)++] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL, o->id };
		if (o->id < 0x80 && *ns < 13) {
			shorts[(*ns)++] = (char)o->id;
			if (o->arg)
				shorts[(*ns)++] = ':';
		}
	}
}

void cli_getopt_tables(const struct cli_option *local, const char *prefix, struct option opts[CLI_MAX_OPTIONS],
		       char shorts[16])
{
	size_t n = 0, ns = strlen(prefix);

	memcpy(shorts, prefix, ns);
	add_options(local, opts, &n, shorts, &ns);
	add_options(cli_global_options, opts, &n, shorts, &ns);
	opts[n] = (struct option){ 0 };
	shorts[ns] = '\0';
}

int cli_getopt(struct cli *c, int argc, char **argv, int (*on_opt)(struct cli *c, int id, const char *arg, void *st),
	       void *st, char ***pos, int *npos, int *rc)
{
	bool json_ok = c->command->json;
	struct option opts[CLI_MAX_OPTIONS];
	char shorts[16];
	int opt;

	cli_getopt_tables(c->command->options, ":", opts, shorts);
	optind = 0; /* GNU getopt: start over, also for a second parse in one process */
	opterr = 0;
	*rc = CLI_OK;
	while ((opt = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		switch (opt) {
		case CLI_OPT_PIN_DIR:
			c->pin_dir = optarg;
			c->pin_dir_given = true;
			break;
		case CLI_OPT_CONFIG:
			c->config_file = optarg;
			snprintf(c->dropin_dir, sizeof(c->dropin_dir), "%s.d", optarg);
			break;
		case CLI_OPT_JSON:
			if (!json_ok)
				return *rc = cli_usage(c, "--json: this command has no JSON output"), -1;
			c->json = true;
			break;
		case CLI_OPT_HELP: cli_print_usage(stdout, c->cmd, true); return -1;
		case CLI_OPT_VERSION: printf("axdp %s\n", AXDP_VERSION); return -1;
		case ':': return *rc = cli_usage(c, "option '%s' needs a value", argv[optind - 1]), -1;
		case '?': return *rc = cli_usage(c, "unknown option '%s'", argv[optind - 1]), -1;
		default:
			if (!on_opt || (*rc = on_opt(c, opt, optarg, st)) != CLI_OK)
				return -1;
		}
	}
	*pos = argv + optind;
	*npos = argc - optind;
	return 0;
}

int cli_parse_seconds(struct cli *c, const char *opt, const char *arg, double min, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v < min || v > 86400)
		return cli_usage(c, "%s %s: expected seconds from %g to 86400", opt, arg, min);
	*out = v;
	return CLI_OK;
}

/* Counts and limits on the command line: --count, --limit, --id. */
#define COUNT_MAX 100000000u

int cli_parse_count(struct cli *c, const char *opt, const char *arg, unsigned long *out)
{
	uint64_t v;

	if (axdp_parse_uint(arg, strlen(arg), COUNT_MAX, &v))
		return cli_usage(c, "%s %s: expected a whole number from 0 to %u", opt, arg, COUNT_MAX);
	*out = v;
	return CLI_OK;
}

void cli_load_config(struct cli *c)
{
	if (c->cfg_loaded)
		return;
	c->cfg_loaded = true;
	c->cfg_ok = axdp_config_load(&c->cfg, c->config_file, c->dropin_dir, c->cfg_err, sizeof(c->cfg_err)) == 0;
	if (!c->cfg_ok) {
		axdp_config_defaults(&c->cfg);
		cli_warn(c, "%s; using the built-in defaults (PinDir=%s, PidFile=%s)", c->cfg_err, c->cfg.pin_dir,
			 c->cfg.pid_file);
	}
	if (!c->pin_dir_given)
		c->pin_dir = c->cfg.pin_dir;
}

/* ---- the firewall ---- */

int cli_require_privileges(struct cli *c)
{
	cap_flag_value_t bpf = CAP_CLEAR;
	cap_t caps;

	(void)c;
	if (geteuid() == 0)
		return CLI_OK;
	caps = cap_get_proc();
	if (caps) {
		cap_get_flag(caps, CAP_BPF, CAP_EFFECTIVE, &bpf);
		cap_free(caps);
	}
	if (bpf == CAP_SET)
		return CLI_OK;
	fprintf(stderr, "axdp: reading the firewall's maps needs root (CAP_BPF)\n");
	return CLI_NOPRIV;
}

int cli_try_map(const struct cli *c, const char *name)
{
	char path[AXDP_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", c->pin_dir, name);
	return bpf_obj_get(path);
}

int cli_open_map(struct cli *c, const char *name, int *rc)
{
	int fd;

	cli_load_config(c);
	if ((*rc = cli_require_privileges(c)) != CLI_OK)
		return -1;
	fd = cli_try_map(c, name);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT) {
		*rc = cli_error(c, CLI_INACTIVE,
				"no map %s/%s: protection is off or autoxdpd never ran with this pin directory "
				"(start it with 'axdp on', or name another directory with --pin-dir)",
				c->pin_dir, name);
	} else if (errno == EPERM || errno == EACCES) {
		fprintf(stderr, "axdp: reading the firewall's maps needs root (CAP_BPF)\n");
		*rc = CLI_NOPRIV;
	} else {
		*rc = cli_error(c, CLI_FAIL, "opening pinned map %s/%s: %s", c->pin_dir, name, strerror(errno));
	}
	return -1;
}

int cli_open_conntrack(struct cli *c, struct axdp_conntrack *ct, int *rc)
{
	ct->fd = cli_open_map(c, AXDP_MAP_CONNTRACK, rc);
	ct->fd4 = ct->fd < 0 ? -1 : cli_open_map(c, AXDP_MAP_CONNTRACK4, rc);
	if (axdp_conntrack_open(ct))
		return 0;
	axdp_conntrack_close(ct);
	return -1;
}

/* The map id if its name ends in name, with its info in *out (may be NULL); else -1. */
static int map_named(__u32 id, const char *name, struct bpf_map_info *out)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	size_t n = strlen(name), have;
	int fd = bpf_map_get_fd_by_id(id);

	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &mi, &len) == 0 && (have = strnlen(mi.name, sizeof(mi.name))) >= n &&
	    strcmp(mi.name + have - n, name) == 0) {
		if (out)
			*out = mi;
		return fd;
	}
	close(fd);
	return -1;
}

/* The first map of program prog_id whose name ends in name, or -1. */
static int prog_map(__u32 prog_id, const char *name, struct bpf_map_info *out)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), n, *ids = NULL;
	int prog = bpf_prog_get_fd_by_id(prog_id), fd = -1;

	if (prog < 0)
		return -1;
	/* Once for the number of maps, once for their ids. */
	if (bpf_obj_get_info_by_fd(prog, &info, &len) == 0 && (n = info.nr_map_ids) &&
	    (ids = calloc(n, sizeof(*ids)))) {
		info = (struct bpf_prog_info){ .nr_map_ids = n, .map_ids = (__u64)(unsigned long)ids };
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(prog, &info, &len))
			n = 0;
		for (__u32 i = 0; i < n && i < info.nr_map_ids && fd < 0; i++)
			fd = map_named(ids[i], name, out);
	}
	free(ids);
	close(prog);
	return fd;
}

/* The program of our first link pinned as kind (for ifname, unless NULL), or 0; found: the name after "KIND-". */
static __u32 pinned_prog_id(const struct cli *c, enum axdp_link_pin kind, const char *ifname, char *found, size_t len)
{
	char path[AXDP_PATH_MAX + 64];
	struct dirent *de;
	__u32 id = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/" AXDP_LINKS_SUBDIR, c->pin_dir);
	dir = opendir(path);
	while (dir && !id && (de = readdir(dir))) {
		struct bpf_link_info link_info = {};
		__u32 info_len = sizeof(link_info);
		char link_path[sizeof(path) + 256];
		const char *name;
		int link;

		if (axdp_link_pin_parse(de->d_name, &name) != kind || (ifname && strcmp(name, ifname)))
			continue;
		snprintf(link_path, sizeof(link_path), "%s/%s", path, de->d_name);
		link = bpf_obj_get(link_path);
		if (link < 0)
			continue;
		if (bpf_obj_get_info_by_fd(link, &link_info, &info_len) == 0 && link_info.prog_id) {
			id = link_info.prog_id;
			if (found)
				snprintf(found, len, "%s", name);
		}
		close(link);
	}
	if (dir)
		closedir(dir);
	return id;
}

__u32 cli_xdp_prog_id(const struct cli *c, const char *ifname, char *found, size_t len)
{
	return pinned_prog_id(c, AXDP_PIN_XDP, ifname, found, len);
}

int cli_xdp_map(const struct cli *c, const char *name, struct bpf_map_info *info)
{
	__u32 id = cli_xdp_prog_id(c, NULL, NULL, 0);

	return id ? prog_map(id, name, info) : -1;
}

int cli_hook_map(const struct cli *c, const char *name, struct bpf_map_info *info)
{
	__u32 id = pinned_prog_id(c, AXDP_PIN_HOOK, NULL, NULL, 0);

	return id ? prog_map(id, name, info) : -1;
}

pid_t cli_daemon_pid(struct cli *c)
{
	char err[AXDP_PATH_MAX + 128];
	pid_t pid;

	cli_load_config(c);
	pid = axdp_pidfile_running(c->cfg.pid_file, err, sizeof(err));
	if (pid < 0) {
		cli_warn(c, "%s", err);
		return 0;
	}
	return pid;
}

/* ---- time ---- */

volatile int cli_stop;

static void on_signal(int sig)
{
	cli_stop = sig;
}

void cli_catch_signals(void)
{
	/* No SA_RESTART: a blocking poll must return so the loop sees cli_stop. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_DFL);
}

uint64_t cli_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void cli_format_mono(char *buf, size_t len, uint64_t mono_ns, bool rfc3339)
{
	uint64_t mono_now = cli_now_ns(CLOCK_MONOTONIC_COARSE), real_now = cli_now_ns(CLOCK_REALTIME);
	uint64_t real = real_now - (mono_now > mono_ns ? mono_now - mono_ns : 0);
	time_t secs = (time_t)(real / 1000000000ULL);
	unsigned ms = (unsigned)(real % 1000000000ULL / 1000000);
	struct tm tm;

	if (!rfc3339) {
		localtime_r(&secs, &tm);
		snprintf(buf, len, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
		return;
	}
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

bool cli_sleep(double seconds)
{
	uint64_t end = cli_now_ns(CLOCK_MONOTONIC) + (uint64_t)(seconds * 1e9);

	while (!cli_stop) {
		uint64_t now = cli_now_ns(CLOCK_MONOTONIC);
		struct timespec ts;

		if (now >= end)
			return true;
		ts.tv_sec = (time_t)((end - now) / 1000000000ULL);
		ts.tv_nsec = (long)((end - now) % 1000000000ULL);
		nanosleep(&ts, NULL);
	}
	return false;
}

/* ---- output ---- */

const char *cli_c(const struct cli *c, enum cli_color color)
{
	static const char *const codes[] = {
		[CLI_RESET] = "\033[0m",  [CLI_BOLD] = "\033[1m",    [CLI_RED] = "\033[31m",
		[CLI_GREEN] = "\033[32m", [CLI_YELLOW] = "\033[33m", [CLI_DIM] = "\033[2m",
	};

	return c->color ? codes[color] : "";
}

void cli_si(char *buf, size_t len, double v, const char *unit)
{
	static const char prefixes[] = "kMGTPE";
	const char *sep = unit && *unit ? " " : "";
	int p = -1;

	if (!unit)
		unit = "";
	while (fabs(v) >= 999.5 && p < 5) {
		v /= 1000;
		p++;
	}
	if (p < 0)
		snprintf(buf, len, "%.0f%s%s", v, sep, unit);
	else
		snprintf(buf, len, fabs(v) < 9.95 ? "%.1f%s%c%s" : "%.0f%s%c%s", v, sep, prefixes[p], unit);
}

void cli_bytes(char *buf, size_t len, double bytes)
{
	cli_si(buf, len, bytes, "B");
}

void cli_count(char *buf, size_t len, uint64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	size_t o = 0;

	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	if (len)
		buf[o] = '\0';
}

void cli_addr_port(char *buf, size_t len, const struct axdp_addr *a, unsigned int port)
{
	char tmp[INET6_ADDRSTRLEN];

	axdp_addr_format(tmp, sizeof(tmp), a);
	if (!port)
		snprintf(buf, len, "%s", tmp);
	else if (axdp_addr_is_v4(a))
		snprintf(buf, len, "%s:%u", tmp, port);
	else
		snprintf(buf, len, "[%s]:%u", tmp, port);
}

const char *cli_proto_name(unsigned int proto)
{
	static const char *const names[256] = {
		[0] = "-",     [1] = "icmp",   [2] = "igmp",   [6] = "tcp", [17] = "udp",
		[41] = "ipv6", [47] = "gre",   [50] = "esp",   [51] = "ah", [58] = "icmpv6",
		[89] = "ospf", [112] = "vrrp", [132] = "sctp",
	};
	static char other[16];

	if (proto < 256 && names[proto])
		return names[proto];
	snprintf(other, sizeof(other), "ip/%u", proto);
	return other;
}
