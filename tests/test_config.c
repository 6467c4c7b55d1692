/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "crit_suite.h"

/* Criterion forks per test, so per-test state can live in globals. */
static char tmpdir[64];
static char dropdir[128];
static char err[AXDP_CONFIG_ERRLEN];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/axdp-config-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(dropdir, sizeof(dropdir), "%s/conf.d", tmpdir);
	err[0] = '\0';
}

static void teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

CRIT_SUITE(config, 30, setup, teardown);

/* Returns a path that stays valid until the next call with the same slot. */
static const char *write_file(int slot, const char *name, const char *text)
{
	static char paths[8][256];
	char *path = paths[slot];
	FILE *f;

	snprintf(path, sizeof(paths[0]), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "fopen %s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	return path;
}

static void make_dropdir(void)
{
	cr_assert_eq(mkdir(dropdir, 0755), 0);
}

static int load(struct axdp_config *c, const char *main_file)
{
	return axdp_config_load(c, main_file, dropdir, err, sizeof(err));
}

/* Loads text as the only file, expecting success. */
static void load_text(struct axdp_config *c, const char *text)
{
	const char *path = write_file(0, "main.conf", text);

	cr_assert_eq(load(c, path), 0, "unexpected error: %s", err);
}

static void addr(uint8_t out[16], const char *text)
{
	if (strchr(text, ':')) {
		cr_assert_eq(inet_pton(AF_INET6, text, out), 1);
	} else {
		static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
		memcpy(out, mapped, 12);
		cr_assert_eq(inet_pton(AF_INET, text, out + 12), 1);
	}
}

static bool port_in(const uint8_t *set, unsigned port)
{
	return axdp_port_in(set, (uint16_t)port);
}

static size_t count_ports(const uint8_t *set)
{
	size_t n = 0;

	for (unsigned p = 0; p < AXDP_PORTS; p++)
		n += port_in(set, p);
	return n;
}

Test(config, defaults)
{
	struct axdp_config c;

	axdp_config_defaults(&c);
	cr_expect_eq(c.interfaces.n, 0);
	cr_expect_str_eq(c.bpf_object, "/usr/lib/autoxdp/autoxdp.bpf.o");
	cr_expect_str_eq(c.pin_dir, "/sys/fs/bpf/autoxdp");
	cr_expect_eq(c.xdp_mode, AXDP_XDP_AUTO);
	cr_expect_eq(c.reconcile_interval_s, 30);
	for (int l4 = 0; l4 < AXDP_L4_COUNT; l4++) {
		cr_expect_eq(count_ports(c.allow_ports[l4]), 0);
		cr_expect_eq(count_ports(c.exclude_ports[l4]), 0);
	}
	cr_expect_eq(c.exclude_bind.n, 0);
	cr_expect_eq(c.tcp_timeout_s, 86400);
	cr_expect_eq(c.tcp_closing_timeout_s, 120);
	cr_expect_eq(c.udp_timeout_s, 120);
	cr_expect_eq(c.icmp_timeout_s, 30);
	cr_expect_eq(c.frag_timeout_s, 30);
	axdp_config_free(&c);
}

Test(config, missing_files_give_defaults)
{
	struct axdp_config c, d;
	char missing[256];

	snprintf(missing, sizeof(missing), "%s/nope.conf", tmpdir);
	cr_assert_eq(load(&c, missing), 0, "%s", err);
	axdp_config_defaults(&d);
	cr_expect(axdp_config_equal(&c, &d));
	axdp_config_free(&c);
}

/* A file of the source tree (AXDP_SRCDIR, else the working directory); valid until the next call. */
static const char *src_path(const char *rel)
{
	static char path[1024];
	const char *src = getenv("AXDP_SRCDIR");

	snprintf(path, sizeof(path), "%s/%s", src && *src ? src : ".", rel);
	return path;
}

static char *read_text(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_geq(getdelim(&text, &len, '\0', f), 0, "cannot read %s", path);
	fclose(f);
	return text;
}

/* What --check-config prints for the built-in defaults: "[Section]" and "Key=value" lines. */
static char *printed_defaults(void)
{
	struct axdp_config d;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	axdp_config_defaults(&d);
	cr_assert_eq(axdp_config_print(&d, f), 0);
	fclose(f);
	axdp_config_free(&d);
	return out;
}

/* Key=value without its value, or a section header as it is. */
static void put_key(FILE *out, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);

	fprintf(out, "%.*s\n", (int)(line[0] == '[' || !eq ? len : (size_t)(eq - line)), line);
}

/* "Name=" with a name of letters and digits, as a commented-out key of the shipped file starts. */
static bool is_key_assignment(const char *s)
{
	const char *p = s;

	while (isalnum((unsigned char)*p))
		p++;
	return p != s && *p == '=';
}

Test(config, shipped_file_is_defaults)
{
	struct axdp_config c, d;

	cr_assert_eq(load(&c, src_path("config/autoxdp.conf")), 0, "%s", err);
	axdp_config_defaults(&d);
	cr_expect(axdp_config_equal(&c, &d));
	axdp_config_free(&c);
}

/*
 * The sample's section headers and commented-out keys, in order, are what
 * the printer writes for the defaults: every key, under its section, with
 * its default, and none the parser does not know.
 */
Test(config, shipped_file_lists_every_key_with_its_default)
{
	char *printed = printed_defaults(), *shipped = read_text(src_path("config/autoxdp.conf"));
	char *want = NULL, *got = NULL, *line, *save = NULL;
	size_t wlen = 0, glen = 0;
	FILE *w = open_memstream(&want, &wlen), *g = open_memstream(&got, &glen);

	for (line = strtok_r(printed, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		fprintf(w, "%s\n", line);
	save = NULL;
	for (line = strtok_r(shipped, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (line[0] == '[' || (line[0] == '#' && is_key_assignment(line + 1)))
			fprintf(g, "%s\n", line + (line[0] == '#'));
	fclose(w);
	fclose(g);
	cr_expect_str_eq(got, want, "config/autoxdp.conf must list, commented out, exactly these:\n%s\nit lists:\n%s",
			 want, got);
	free(printed);
	free(shipped);
	free(want);
	free(got);
}

/*
 * OPTIONS of autoxdp.conf(5) has a subsection per section and an item per
 * key (".It Cm Key= ..."; two keys may share one): the same keys in the
 * same sections and order as the printer.
 */
Test(config, man_page_documents_every_key)
{
	char *printed = printed_defaults(), *man = read_text(src_path("man/autoxdp.conf.5"));
	char *want = NULL, *got = NULL, *line, *save = NULL;
	size_t wlen = 0, glen = 0;
	FILE *w = open_memstream(&want, &wlen), *g = open_memstream(&got, &glen);
	bool options = false;

	for (line = strtok_r(printed, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		put_key(w, line, strlen(line));
	save = NULL;
	for (line = strtok_r(man, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, ".Sh ", 4))
			options = !strcmp(line, ".Sh OPTIONS");
		else if (options && !strncmp(line, ".Ss [", 5))
			fprintf(g, "%.*s\n", (int)strcspn(line + 4, "\\"), line + 4);
		else if (options && !strncmp(line, ".It ", 4))
			for (const char *cm = line; (cm = strstr(cm, " Cm ")); cm += 4)
				if (is_key_assignment(cm + 4))
					put_key(g, cm + 4, strcspn(cm + 4, " "));
	}
	fclose(w);
	fclose(g);
	cr_expect_str_eq(got, want, "OPTIONS of man/autoxdp.conf.5 must document exactly these keys:\n%s\nit has:\n%s",
			 want, got);
	free(printed);
	free(man);
	free(want);
	free(got);
}

Test(config, dropins_override_in_lexical_order)
{
	struct axdp_config c;
	const char *main_file;

	main_file = write_file(0, "main.conf",
			       "[Daemon]\nXdpMode=native\nReconcileIntervalSec=10\n"
			       "[Ports]\nAllowTCP=22\n");
	make_dropdir();
	write_file(1, "conf.d/10-a.conf", "[Daemon]\nXdpMode=generic\n[Ports]\nAllowTCP=80\n");
	/* '9' sorts after '2': byte order, not numeric. */
	write_file(2, "conf.d/9-last.conf", "[Daemon]\nReconcileIntervalSec=99\n");
	write_file(3, "conf.d/20-b.conf", "[Daemon]\nReconcileIntervalSec=60\nXdpMode=auto\n");
	/* Not drop-ins: garbage in them must not matter. */
	write_file(4, "conf.d/README", "garbage\n");
	write_file(5, "conf.d/.hidden.conf", "garbage\n");
	write_file(6, "conf.d/x.conf.bak", "garbage\n");
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/dir.conf", dropdir);
	cr_assert_eq(mkdir(sub, 0755), 0);

	cr_assert_eq(load(&c, main_file), 0, "%s", err);
	cr_expect_eq(c.xdp_mode, AXDP_XDP_AUTO);
	cr_expect_eq(c.reconcile_interval_s, 99);
	cr_expect(!port_in(c.allow_ports[AXDP_L4_TCP], 22), "a later file replaces a list");
	cr_expect(port_in(c.allow_ports[AXDP_L4_TCP], 80));
	cr_expect_eq(count_ports(c.allow_ports[AXDP_L4_TCP]), 1);
	axdp_config_free(&c);
}

Test(config, list_reset_and_append)
{
	struct axdp_config c;
	const char *main_file;

	main_file = write_file(0, "main.conf",
			       "[Ports]\nAllowTCP=22 80\nAllowUDP=53\nExcludeBindCIDR=10.0.0.0/8\n"
			       "[Daemon]\nInterfaces=eth0\n");
	make_dropdir();
	write_file(1, "conf.d/a.conf",
		   "[Ports]\n"
		   "AllowTCP=\n"          /* reset, then append */
		   "AllowTCP=443\n"
		   "AllowTCP=8000-8002\n"
		   "ExcludeUDP=53\n"
		   "ExcludeUDP=123\n"     /* repeated list key appends */
		   "ExcludeBindCIDR=\n"   /* reset to empty and stay so */
		   "[Daemon]\n"
		   "Interfaces=eth1 eth2\n"
		   "Interfaces=\n"
		   "Interfaces=eth3 eth3\n");

	cr_assert_eq(load(&c, main_file), 0, "%s", err);
	cr_expect_eq(count_ports(c.allow_ports[AXDP_L4_TCP]), 4);
	cr_expect(port_in(c.allow_ports[AXDP_L4_TCP], 443));
	cr_expect(port_in(c.allow_ports[AXDP_L4_TCP], 8000));
	cr_expect(port_in(c.allow_ports[AXDP_L4_TCP], 8002));
	cr_expect(port_in(c.allow_ports[AXDP_L4_UDP], 53), "untouched list survives");
	cr_expect_eq(count_ports(c.exclude_ports[AXDP_L4_UDP]), 2);
	cr_expect(port_in(c.exclude_ports[AXDP_L4_UDP], 123));
	cr_expect_eq(c.exclude_bind.n, 0);
	cr_assert_eq(c.interfaces.n, 1, "duplicates collapse");
	cr_expect_str_eq(c.interfaces.v[0], "eth3");
	axdp_config_free(&c);
}

Test(config, syntax_tolerance)
{
	struct axdp_config c;

	load_text(&c, "\xef\xbb\xbf# comment\r\n"
		      "  ; another comment\r\n"
		      "\r\n"
		      "  [Daemon]  \r\n"
		      "\tXdpMode =  generic \r\n"
		      "BpfObject=/opt/a b/x.o\n"
		      "[Ports]\n"
		      "AllowTCP=  22\t80 \n"
		      "[Daemon]\n"
		      "ReconcileIntervalSec=007");
	cr_expect_eq(c.xdp_mode, AXDP_XDP_GENERIC);
	cr_expect_str_eq(c.bpf_object, "/opt/a b/x.o");
	cr_expect_eq(count_ports(c.allow_ports[AXDP_L4_TCP]), 2);
	cr_expect_eq(c.reconcile_interval_s, 7);
	axdp_config_free(&c);
}

/* Text as one file; expects failure with err starting "PATH:LINE: " and containing what. */
static void expect_error(const char *text, unsigned line, const char *what)
{
	struct axdp_config c;
	const char *path = write_file(0, "bad.conf", text);
	char prefix[512];

	c.reconcile_interval_s = 12345;
	cr_assert_eq(load(&c, path), -1, "accepted: %s", text);
	cr_expect_eq(c.reconcile_interval_s, 12345, "output written on failure");
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "want prefix '%s', got '%s'", prefix,
		     err);
	cr_expect_not_null(strstr(err, what), "want '%s' in '%s'", what, err);
	/* "what is wrong: what to do" after the position. */
	cr_expect_not_null(strstr(err + strlen(prefix), ": "), "no remedy in '%s'", err);
}

Test(config, error_classes)
{
	expect_error("[Daemon]\n\n[Bogus]\n", 3, "unknown section [Bogus]");
	expect_error("# c\n[Daemon]\nFoo=1\n", 3, "unknown key Foo=");
	expect_error("[Daemon]\nAllowTCP=22\n", 2, "move it to [Ports]");
	expect_error("XdpMode=auto\n", 1, "before any section");
	expect_error("[Daemon]\njust words\n", 2, "neither");
	expect_error("[Daemon\n", 1, "not a section header");
	expect_error("[Daemon]\n=x\n", 2, "neither");
	expect_error("[Daemon]\nXdpMode=fast\n", 2, "XdpMode=fast: expected auto, native or generic");
	expect_error("[Daemon]\nXdpMode=auto\n[Ports]\n[Daemon]\nXdpMode=native\n", 5,
		     "duplicate XdpMode= (first set on line 2)");
}

Test(config, nul_byte)
{
	struct axdp_config c;
	const char *path = write_file(0, "nul.conf", "");
	FILE *f = fopen(path, "w");

	fwrite("[Daemon]\nXdp\0Mode=auto\n", 1, 23, f);
	fclose(f);
	cr_assert_eq(load(&c, path), -1);
	cr_expect_not_null(strstr(err, ":2: line contains a NUL byte"), "%s", err);
}

Test(config, bad_values)
{
	static const struct {
		const char *text;
		const char *what;
	} cases[] = {
		{ "[Ports]\nAllowTCP=22 0\n", "AllowTCP= entry \"0\": expected ports from 1 to 65535" },
		{ "[Ports]\nAllowUDP=70000\n", "entry \"70000\": expected ports from 1 to 65535" },
		{ "[Ports]\nExcludeTCP=10-5\n", "entry \"10-5\": expected a range LOW-HIGH with LOW <= HIGH" },
		{ "[Ports]\nExcludeUDP=1-70000\n", "expected ports from 1 to 65535" },
		{ "[Ports]\nAllowTCP=ssh\n", "entry \"ssh\": expected a port or a range" },
		{ "[Ports]\nAllowTCP=1-\n", "expected a port or a range" },
		{ "[Ports]\nAllowTCP=-1\n", "expected a port or a range" },
		{ "[Ports]\nAllowTCP=22,80\n", "expected a port or a range" },
		{ "[Ports]\nAllowTCP=99999999999999999999\n", "expected ports from 1 to 65535" },
		{ "[Ports]\nExcludeBindCIDR=10.0.0.0/33\n", "expected an IPv4 prefix length from 0 to 32" },
		{ "[Ports]\nExcludeBindCIDR=fd00::/129\n", "expected an IPv6 prefix length from 0 to 128" },
		{ "[Ports]\nExcludeBindCIDR=10.0.0.0/\n", "prefix length" },
		{ "[Ports]\nExcludeBindCIDR=10.0.0.0/-1\n", "prefix length" },
		{ "[Ports]\nExcludeBindCIDR=10.0.0/8\n", "expected an IPv4 or IPv6 address" },
		{ "[Ports]\nExcludeBindCIDR=010.0.0.0/8\n", "expected an IPv4 or IPv6 address" },
		{ "[Ports]\nExcludeBindCIDR=fe80::1%eth0\n", "expected an IPv4 or IPv6 address" },
		{ "[Ports]\nExcludeBindCIDR=10.1.2.3/8\n", "expected the network address 10.0.0.0/8" },
		{ "[Ports]\nExcludeBindCIDR=fd00::1/64\n", "expected the network address fd00::/64" },
		{ "[Daemon]\nXdpMode=Native\n", "XdpMode=Native: expected auto, native or generic" },
		{ "[Daemon]\nXdpMode=\n", "XdpMode=: expected auto, native or generic" },
		{ "[Daemon]\nReconcileIntervalSec=0\n", "ReconcileIntervalSec=0: expected an integer from 1 to 3600" },
		{ "[Daemon]\nReconcileIntervalSec=3601\n", "expected an integer from 1 to 3600" },
		{ "[Daemon]\nReconcileIntervalSec=-1\n", "expected an integer" },
		{ "[Daemon]\nReconcileIntervalSec=30s\n", "expected an integer" },
		{ "[Daemon]\nReconcileIntervalSec=\n", "expected an integer" },
		{ "[Daemon]\nReconcileIntervalSec=4294967296\n", "expected an integer" },
		{ "[Conntrack]\nFragmentTimeoutSec=121\n", "FragmentTimeoutSec=121: expected an integer from 1 to 120" },
		{ "[Conntrack]\nTCPTimeoutSec=2592001\n", "expected an integer from 1 to 2592000" },
		{ "[Daemon]\nBpfObject=relative.o\n", "BpfObject=relative.o: expected an absolute path" },
		{ "[Daemon]\nPinDir=\n", "expected an absolute path" },
		{ "[Daemon]\nInterfaces=eth0 a/b\n", "Interfaces= entry \"a/b\": expected an interface name" },
		{ "[Daemon]\nInterfaces=eth0:1\n", "expected an interface name" },
		{ "[Daemon]\nInterfaces=..\n", "expected an interface name" },
		{ "[Daemon]\nInterfaces=abcdefghijklmnop\n", "expected an interface name of 1 to 15" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, 2, cases[i].what);
}

Test(config, good_edge_values)
{
	struct axdp_config c;
	uint8_t a[16];

	load_text(&c, "[Daemon]\nInterfaces=abcdefghijklmno\nReconcileIntervalSec=3600\n"
		      "[Ports]\nAllowTCP=1 65535\nAllowUDP=1-65535\nExcludeBindCIDR=0.0.0.0/0 ::/0 ::1\n"
		      "[Conntrack]\nTCPTimeoutSec=2592000\nFragmentTimeoutSec=1\n");
	cr_expect_str_eq(c.interfaces.v[0], "abcdefghijklmno");
	cr_expect_eq(c.reconcile_interval_s, 3600);
	cr_expect_eq(count_ports(c.allow_ports[AXDP_L4_TCP]), 2);
	cr_expect_eq(count_ports(c.allow_ports[AXDP_L4_UDP]), 65535);
	cr_expect(!port_in(c.allow_ports[AXDP_L4_UDP], 0));
	cr_assert_eq(c.exclude_bind.n, 3);
	cr_expect_eq(c.exclude_bind.v[0].prefix, 96);
	cr_expect_eq(c.exclude_bind.v[1].prefix, 0);
	cr_expect_eq(c.exclude_bind.v[2].prefix, 128);
	addr(a, "::1");
	cr_expect_eq(memcmp(c.exclude_bind.v[2].addr, a, 16), 0);
	cr_expect_eq(c.tcp_timeout_s, 2592000);
	cr_expect_eq(c.frag_timeout_s, 1);
	axdp_config_free(&c);
}

Test(config, dropin_error_names_dropin)
{
	struct axdp_config c;
	const char *main_file = write_file(0, "main.conf", "[Daemon]\nXdpMode=native\n");
	const char *bad;
	char prefix[512];

	make_dropdir();
	write_file(1, "conf.d/10-ok.conf", "[Daemon]\nXdpMode=generic\n");
	bad = write_file(2, "conf.d/20-bad.conf", "[Conntrack]\n\nUDPTimeoutSec=0\n");
	cr_assert_eq(load(&c, main_file), -1);
	snprintf(prefix, sizeof(prefix), "%s:3: UDPTimeoutSec=0: ", bad);
	cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "got '%s'", err);
}

Test(config, unreadable_paths)
{
	struct axdp_config c;
	const char *f = write_file(0, "file", "");
	char prefix[512];

	/* The main file path is a directory. */
	cr_expect_eq(load(&c, tmpdir), -1);
	snprintf(prefix, sizeof(prefix), "%s: is a directory", tmpdir);
	cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "got '%s'", err);

	/* The drop-in path is a file. */
	cr_expect_eq(axdp_config_load(&c, f, f, err, sizeof(err)), -1);
	snprintf(prefix, sizeof(prefix), "%s: cannot read drop-in directory", f);
	cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "got '%s'", err);

	/* parse_file, unlike load, wants the file to exist. */
	axdp_config_defaults(&c);
	cr_expect_eq(axdp_config_parse_file(&c, "/nonexistent/x.conf", err, sizeof(err)), -1);
	cr_expect_eq(strncmp(err, "/nonexistent/x.conf: cannot open", 32), 0, "got '%s'", err);
	axdp_config_free(&c);
}

Test(config, parse_file_is_all_or_nothing)
{
	struct axdp_config c, before;
	const char *good = write_file(0, "good.conf",
				      "[Daemon]\nInterfaces=eth0\n[Ports]\nAllowTCP=22\n"
				      "ExcludeBindCIDR=192.168.0.0/16\n");
	const char *bad = write_file(1, "bad.conf",
				     "[Daemon]\nInterfaces=eth9\nXdpMode=native\n[Ports]\nAllowTCP=80\n"
				     "ExcludeBindCIDR=\nAllowUDP=0\n");

	axdp_config_defaults(&c);
	cr_assert_eq(axdp_config_parse_file(&c, good, err, sizeof(err)), 0, "%s", err);
	axdp_config_defaults(&before);
	cr_assert_eq(axdp_config_parse_file(&before, good, err, sizeof(err)), 0, "%s", err);

	cr_assert_eq(axdp_config_parse_file(&c, bad, err, sizeof(err)), -1);
	cr_expect(axdp_config_equal(&c, &before));
	cr_expect_str_eq(c.interfaces.v[0], "eth0");
	cr_expect_eq(c.exclude_bind.n, 1);
	axdp_config_free(&c);
	axdp_config_free(&before);
}

static void round_trip(const struct axdp_config *c)
{
	char path[256];
	struct axdp_config back;
	FILE *f;

	snprintf(path, sizeof(path), "%s/printed.conf", tmpdir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(axdp_config_print(c, f), 0);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(load(&back, path), 0, "printed config does not parse: %s", err);
	cr_expect(axdp_config_equal(c, &back), "round trip differs");
	axdp_config_free(&back);
}

Test(config, print_round_trip)
{
	struct axdp_config c;

	axdp_config_defaults(&c);
	round_trip(&c);

	load_text(&c, "[Daemon]\nInterfaces=eth0 wg-home\nBpfObject=/opt/x y.o\nPinDir=/sys/fs/bpf/x\n"
		      "XdpMode=generic\nReconcileIntervalSec=5\n"
		      "[Ports]\nAllowTCP=22 80 8000-8010 65535\nAllowUDP=1-65535\n"
		      "ExcludeTCP=1 3 5 6 7\nExcludeUDP=\n"
		      "ExcludeBindCIDR=10.0.0.0/8 fd00::/8 ::1 127.0.0.1 ::ffff:192.168.0.0/112 ::/0 "
		      "::ffff:0:0/96 64:ff9b::/96 2001:db8::/32\n"
		      "[Conntrack]\nTCPTimeoutSec=1\nTCPClosingTimeoutSec=3600\nUDPTimeoutSec=86400\n"
		      "ICMPTimeoutSec=7\nFragmentTimeoutSec=120\n");
	round_trip(&c);
	axdp_config_free(&c);

	/* Every odd port: the longest line the printer can produce. */
	axdp_config_defaults(&c);
	for (unsigned p = 1; p < AXDP_PORTS; p += 2)
		c.exclude_ports[AXDP_L4_TCP][p >> 3] |= (uint8_t)(1u << (p & 7));
	round_trip(&c);
}

Test(config, print_format)
{
	struct axdp_config c;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	load_text(&c, "[Ports]\nAllowTCP=8000-8010 22 80 81\nExcludeBindCIDR=::ffff:10.0.0.0/104\n");
	f = open_memstream(&out, &len);
	cr_assert_eq(axdp_config_print(&c, f), 0);
	fclose(f);
	cr_expect_eq(strncmp(out, "[Daemon]\nInterfaces=\n", 21), 0, "%s", out);
	cr_expect_not_null(strstr(out, "\n\n[Ports]\nAllowTCP=22 80-81 8000-8010\n"), "%s", out);
	cr_expect_not_null(strstr(out, "\nExcludeBindCIDR=10.0.0.0/8\n"), "%s", out);
	cr_expect_not_null(strstr(out, "\n\n[Conntrack]\nTCPTimeoutSec=86400\n"), "%s", out);
	free(out);
	axdp_config_free(&c);
}

Test(config, cidr_contains)
{
	struct axdp_config c;
	uint8_t a[16];

	load_text(&c, "[Ports]\nExcludeBindCIDR=10.0.0.0/8 172.16.0.0/12 fd00::/8 192.168.1.1\n");
	addr(a, "10.255.0.1");
	cr_expect(axdp_cidr_contains(&c.exclude_bind.v[0], a));
	addr(a, "11.0.0.1");
	cr_expect(!axdp_cidr_contains(&c.exclude_bind.v[0], a));
	addr(a, "172.31.255.255");
	cr_expect(axdp_cidr_contains(&c.exclude_bind.v[1], a));
	addr(a, "172.32.0.0");
	cr_expect(!axdp_cidr_contains(&c.exclude_bind.v[1], a));
	addr(a, "fdff::1");
	cr_expect(axdp_cidr_contains(&c.exclude_bind.v[2], a));
	addr(a, "fe00::1");
	cr_expect(!axdp_cidr_contains(&c.exclude_bind.v[2], a));
	addr(a, "192.168.1.1");
	cr_expect(axdp_cidr_contains(&c.exclude_bind.v[3], a));
	addr(a, "192.168.1.2");
	cr_expect(!axdp_cidr_contains(&c.exclude_bind.v[3], a));

	addr(a, "172.20.1.1");
	cr_expect(axdp_config_bind_excluded(&c, a));
	addr(a, "8.8.8.8");
	cr_expect(!axdp_config_bind_excluded(&c, a));
	axdp_config_free(&c);

	/* ::/0 covers IPv4 too, because IPv4 lives in ::ffff:0:0/96. */
	load_text(&c, "[Ports]\nExcludeBindCIDR=::/0\n");
	addr(a, "1.2.3.4");
	cr_expect(axdp_config_bind_excluded(&c, a));
	axdp_config_free(&c);
}

Test(config, xdp_mode_names)
{
	cr_expect_str_eq(axdp_xdp_mode_name(AXDP_XDP_AUTO), "auto");
	cr_expect_str_eq(axdp_xdp_mode_name(AXDP_XDP_NATIVE), "native");
	cr_expect_str_eq(axdp_xdp_mode_name(AXDP_XDP_GENERIC), "generic");
}
