/* SPDX-License-Identifier: MIT */
/*
 * The shared pieces of src/shared whose grammar or rule is decided once
 * for every caller: numbers (parse_number.h), addresses and CIDRs
 * (address.h), the line reader and drop-in listing (conf_files.h), the
 * grow helper (util.h) and the open-port count (portsync.h).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "conf_files.h"
#include "parse_number.h"
#include "portsync.h"
#include "util.h"

static int parse(const char *s, uint64_t max, uint64_t *v)
{
	return axdp_parse_uint(s, strlen(s), max, v);
}

Test(parse_number, digits_only)
{
	static const char *const not_numbers[] = { "", "-1", "+5", " 7", "7 ", "0x10", "1.5", "1e3", "٣", "12a" };
	uint64_t v = 0;

	cr_assert_eq(parse("0", 10, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(parse("007", 10, &v), 0, "leading zeros are fine");
	cr_assert_eq(v, 7);
	cr_assert_eq(parse("4294967295", UINT32_MAX, &v), 0);
	cr_assert_eq(v, UINT32_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(not_numbers); i++)
		cr_expect_eq(parse(not_numbers[i], UINT64_MAX, &v), -EINVAL, "\"%s\" is not a NUMBER", not_numbers[i]);
}

Test(parse_number, range_is_judged_after_syntax)
{
	uint64_t v;

	cr_assert_eq(parse("11", 10, &v), -ERANGE);
	cr_assert_eq(parse("4294967296", UINT32_MAX, &v), -ERANGE);
	cr_assert_eq(parse("99999999999999999999999999", UINT64_MAX, &v), -ERANGE, "overflow is out of range");
	cr_assert_eq(parse("99999999999999999999999999x", UINT64_MAX, &v), -EINVAL, "a long non-number is not one");
	cr_assert_eq(parse("18446744073709551615", UINT64_MAX, &v), 0);
	cr_assert_eq(v, UINT64_MAX);
}

Test(parse_number, ranges)
{
	uint64_t lo, hi;

	cr_assert_eq(axdp_parse_range("22", 2, 65535, &lo, &hi), 0);
	cr_assert(lo == 22 && hi == 22);
	cr_assert_eq(axdp_parse_range("8000-8010", 9, 65535, &lo, &hi), 0);
	cr_assert(lo == 8000 && hi == 8010);
	cr_assert_eq(axdp_parse_range("10-5", 4, 65535, &lo, &hi), 0, "order is the caller's to judge");
	cr_assert(lo == 10 && hi == 5);
	cr_assert_eq(axdp_parse_range("1-70000", 7, 65535, &lo, &hi), -ERANGE);
	cr_assert_eq(axdp_parse_range("70000-x", 7, 65535, &lo, &hi), -EINVAL, "syntax outranks range");
	cr_assert_eq(axdp_parse_range("-5", 2, 65535, &lo, &hi), -EINVAL);
	cr_assert_eq(axdp_parse_range("5-", 2, 65535, &lo, &hi), -EINVAL);
	cr_assert_eq(axdp_parse_range("1-2-3", 5, 65535, &lo, &hi), -EINVAL);
	cr_assert_eq(axdp_parse_range(" 1-2", 4, 65535, &lo, &hi), -EINVAL);
}

Test(address, v4_mapped_and_text)
{
	uint8_t a[16];
	struct in_addr v4;
	char text[AXDP_ADDR_STRLEN];

	inet_pton(AF_INET, "192.0.2.7", &v4);
	axdp_addr_from_v4(a, v4.s_addr);
	cr_assert(axdp_addr_is_v4(a));
	axdp_addr_format(text, sizeof(text), a);
	cr_assert_str_eq(text, "192.0.2.7");
	inet_pton(AF_INET6, "2001:db8::1", a);
	cr_assert_not(axdp_addr_is_v4(a));
	axdp_addr_format(text, sizeof(text), a);
	cr_assert_str_eq(text, "2001:db8::1");
}

Test(address, cidr_round_trip)
{
	static const char *const same[] = { "10.0.0.0/8", "192.0.2.1/32", "0.0.0.0/0", "2001:db8::/32", "::/0" };
	struct axdp_cidr c;
	char text[AXDP_CIDR_STRLEN];

	for (size_t i = 0; i < ARRAY_SIZE(same); i++) {
		cr_assert_eq(axdp_cidr_parse(same[i], strlen(same[i]), false, &c), 0, "%s", same[i]);
		axdp_cidr_format(text, sizeof(text), &c);
		cr_expect_str_eq(text, same[i]);
	}
	cr_assert_eq(axdp_cidr_parse("192.0.2.1", 9, false, &c), 0);
	cr_assert_eq(c.prefix, 128, "IPv4 /32 is stored v4-mapped as /128");
	cr_assert_eq(axdp_cidr_prefix_shown(&c), 32);
	cr_assert_eq(axdp_cidr_parse("::ffff:0:0/96", 13, false, &c), 0);
	axdp_cidr_format(text, sizeof(text), &c);
	cr_assert_str_eq(text, "0.0.0.0/0", "the v4-mapped range is IPv4's whole space");
}

Test(address, cidr_scan_classes)
{
	struct axdp_cidr c, net, host;
	char text[AXDP_CIDR_STRLEN];

	cr_assert_eq(axdp_cidr_scan("10.1.2.3/8", 10, &c, &net), AXDP_CIDR_HOST_BITS);
	axdp_cidr_format(text, sizeof(text), &net);
	cr_assert_str_eq(text, "10.0.0.0/8");
	cr_assert_eq(axdp_cidr_scan("10.0.0.0/33", 11, &c, &net), AXDP_CIDR_BAD_PREFIX);
	cr_assert_eq(axdp_cidr_scan("10.0.0.0/0032", 13, &c, &net), AXDP_CIDR_BAD_PREFIX, "4 digits are a typo");
	cr_assert_eq(axdp_cidr_scan("10.0.0.0/+8", 11, &c, &net), AXDP_CIDR_BAD_PREFIX);
	cr_assert_eq(axdp_cidr_scan("10.0.0.0/", 9, &c, &net), AXDP_CIDR_BAD_PREFIX);
	cr_assert_eq(axdp_cidr_scan("10.0.0/8", 8, &c, &net), AXDP_CIDR_BAD_ADDR);
	cr_assert_eq(axdp_cidr_parse("10.1.2.3/8", 10, true, &c), 0, "masking takes the network");
	axdp_cidr_scan("10.1.2.3/8", 10, &host, &net);
	cr_assert(axdp_cidr_equal(&c, &net));
}

Test(address, contains)
{
	struct axdp_cidr net, host;

	axdp_cidr_parse("10.0.0.0/9", 10, false, &net);
	axdp_cidr_parse("10.127.255.255", 14, false, &host);
	cr_assert(axdp_cidr_contains(&net, host.addr));
	axdp_cidr_parse("10.128.0.0", 10, false, &host);
	cr_assert_not(axdp_cidr_contains(&net, host.addr));
}

Test(util, grow_keeps_elements)
{
	int *v = NULL;
	size_t cap = 0;

	for (size_t n = 0; n < 1000; n++) {
		cr_assert_eq(AXDP_GROW(v, cap, n), 0);
		cr_assert_gt(cap, n);
		v[n] = (int)n;
	}
	for (size_t n = 0; n < 1000; n++)
		cr_assert_eq(v[n], (int)n);
	cr_assert_eq(axdp_grow(&v, &cap, SIZE_MAX / 2 + 1, sizeof(*v), 8), -1, "an impossible size fails");
	cr_assert_eq(v[999], 999, "and keeps the array");
	free(v);
}

static FILE *text_file(const char *text, size_t len)
{
	FILE *f = fmemopen((void *)text, len, "r");

	cr_assert_not_null(f);
	return f;
}

Test(conf_files, lines)
{
	static const char text[] = "\xef\xbb\xbf"
				   "first\nsecond\n\nlast without newline";
	FILE *f = text_file(text, sizeof(text) - 1);
	struct axdp_lines r;
	char *line, err[256];
	size_t len;

	axdp_lines_init(&r, f, "t.conf");
	cr_assert_eq(axdp_lines_next(&r, &line, &len, err, sizeof(err)), 1);
	cr_assert_str_eq(line, "first", "the byte order mark is skipped");
	cr_assert_eq(len, 5);
	cr_assert_eq(axdp_lines_next(&r, &line, &len, err, sizeof(err)), 1);
	cr_assert_str_eq(line, "second");
	cr_assert_eq(axdp_lines_next(&r, &line, &len, err, sizeof(err)), 1);
	cr_assert_str_eq(line, "");
	cr_assert_eq(axdp_lines_next(&r, &line, &len, err, sizeof(err)), 1);
	cr_assert_str_eq(line, "last without newline");
	cr_assert_eq(r.lineno, 4);
	cr_assert_eq(axdp_lines_next(&r, &line, &len, err, sizeof(err)), 0);
	axdp_lines_free(&r);
	fclose(f);
}

Test(conf_files, nul_byte_is_refused_with_its_line)
{
	static const char text[] = "ok\nb\0d\n";
	FILE *f = text_file(text, sizeof(text) - 1);
	struct axdp_lines r;
	char *line, err[256];
	size_t len;

	axdp_lines_init(&r, f, "t.conf");
	cr_assert_eq(axdp_lines_next(&r, &line, &len, err, sizeof(err)), 1);
	cr_assert_eq(axdp_lines_next(&r, &line, &len, err, sizeof(err)), -1);
	cr_assert(strstr(err, "t.conf:2: ") == err, "%s", err);
	axdp_lines_free(&r);
	fclose(f);
}

Test(conf_files, dropins_in_byte_order)
{
	static const char *const files[] = { "b.conf", "B.conf", ".hidden.conf", "a.conf.bak", "a.conf", "10-x.conf" };
	static const char *const want[] = { "10-x.conf", "B.conf", "a.conf", "b.conf" };
	char dir[] = "/tmp/axdp-dropins-XXXXXX", path[128], **names;
	int n;

	cr_assert_not_null(mkdtemp(dir));
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		cr_assert_eq(axdp_dropin_path(path, sizeof(path), dir, files[i]), 0);
		fclose(fopen(path, "w"));
	}
	n = axdp_dropins_list(dir, &names);
	cr_assert_eq(n, (int)ARRAY_SIZE(want));
	for (int i = 0; i < n; i++)
		cr_expect_str_eq(names[i], want[i]);
	axdp_dropins_free(names, n);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		axdp_dropin_path(path, sizeof(path), dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	cr_assert_eq(axdp_dropins_list(dir, &names), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(axdp_dropin_path(path, sizeof(path), "/etc/autoxdp.conf.d/", "x.conf"), 0);
	cr_assert_str_eq(path, "/etc/autoxdp.conf.d/x.conf", "no // when the directory ends in /");
}

Test(portsync, open_ports_never_count_port_0)
{
	static struct axdp_port_slot slots[AXDP_L4_COUNT * AXDP_PORTS];
	unsigned int open[AXDP_L4_COUNT];

	slots[AXDP_L4_TCP * AXDP_PORTS + 0].flags = AXDP_PORT_OPEN_ANY;
	slots[AXDP_L4_TCP * AXDP_PORTS + 22].flags = AXDP_PORT_OPEN_ANY;
	slots[AXDP_L4_TCP * AXDP_PORTS + 65535].flags = AXDP_PORT_OPEN_ADDR;
	slots[AXDP_L4_UDP * AXDP_PORTS + 0].flags = AXDP_PORT_OPEN_ANY4;
	slots[AXDP_L4_UDP * AXDP_PORTS + 53].tier = AXDP_TIER_STRICT;
	axdp_open_ports_tally(slots, open);
	cr_assert_eq(open[AXDP_L4_TCP], 2);
	cr_assert_eq(open[AXDP_L4_UDP], 0, "port 0 and a slot with a tier but no open flag are not open");
}

Test(config, port_runs_print_as_the_keys_spell_them)
{
	uint8_t set[AXDP_PORTSET_BYTES] = { 0 };
	static const uint32_t ports[] = { 22, 80, 8000, 8001, 8002, 65535 };
	static const char *const want[] = { "22", "80", "8000-8002", "65535" };
	char text[AXDP_PORT_RUN_STRLEN];
	uint32_t lo, hi = 0;
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ports); i++)
		set[ports[i] >> 3] |= (uint8_t)(1u << (ports[i] & 7));
	while (axdp_port_next_run(set, &lo, &hi)) {
		cr_assert_lt(n, ARRAY_SIZE(want));
		axdp_port_run_format(text, sizeof(text), lo, hi);
		cr_expect_str_eq(text, want[n++]);
	}
	cr_assert_eq(n, ARRAY_SIZE(want));
}
