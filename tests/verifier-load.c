// SPDX-License-Identifier: MIT
/*
 * Loads every program of the data path object, nothing attached, under a
 * few knob settings: the verifier prunes by the knobs, so each setting is
 * a different program to it.  Linked statically by tests/verifier-kernels.sh
 * so it runs in a bare initramfs as well as on the host.
 *
 *   verifier-load OBJECT PIN_DIR
 *
 * Prints "VERIFIER: <knobs> <program> processed N insns ..." per program,
 * the verifier's log tail on a refusal, and last "VERIFIER-RESULT: PASS"
 * or "VERIFIER-RESULT: FAIL".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "autoxdp_abi.h"

#define STATS_LOG_BYTES (1u << 20)
/* 6.1's log does not rotate: a full buffer keeps the head and fails the load with ENOSPC. */
#define TRACE_LOG_BYTES (64u << 20)
#define TAIL_LINES 40

struct variant {
	const char *name;
	struct axdp_knobs knobs;
};

static struct axdp_rate rate(__u64 per_s, __u64 burst)
{
	struct axdp_rate r = { AXDP_NSEC_PER_SEC / per_s, AXDP_NSEC_PER_SEC / per_s * (burst - 1) };

	return r;
}

/* The socket hooks do nothing without a namespace cookie, and the verifier would skip their bodies. */
static void common_knobs(struct axdp_knobs *k)
{
	*k = (struct axdp_knobs)AXDP_KNOBS_DEFAULT;
	k->netns_cookie = 1;
	k->ephemeral_lo = 32768;
	k->ephemeral_hi = 60999;
	for (int w = 0; w < 4; w++) {
		k->source_mask_v4.w[w] = 0xffffffff;
		k->source_mask_v6.w[w] = w < 2 ? 0xffffffff : 0;
	}
}

static int build_variants(struct variant *v)
{
	/* What autoxdpd loads with an empty autoxdp.conf. */
	v[0].name = "daemon-defaults";
	common_knobs(&v[0].knobs);
	v[0].knobs.syn[AXDP_TIER_NORMAL] = rate(50, 100);
	v[0].knobs.syn[AXDP_TIER_STRICT] = rate(5, 10);
	v[0].knobs.icmp_echo = rate(100, 200);

	/* Every branch the knobs can keep. */
	v[1] = v[0];
	v[1].name = "all-on";
	v[1].knobs.trust_opens_tcp = 1;
	v[1].knobs.udp_source = rate(100, 200);
	v[1].knobs.udp_port_packets = rate(10000, 2);
	v[1].knobs.udp_port_bytes = rate(1000000, 2);
	v[1].knobs.audit = 1;

	/* Every branch the knobs can drop. */
	v[2].name = "all-off";
	common_knobs(&v[2].knobs);
	v[2].knobs.drop_martians = 0;
	v[2].knobs.dhcp_client = 0;
	v[2].knobs.events_per_cpu = 0;
	return 3;
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN || strstr(fmt, "PROG LOAD LOG"))
		return 0;
	return vfprintf(stdout, fmt, ap);
}

static int set_knobs(struct bpf_object *obj, const struct axdp_knobs *knobs)
{
	struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *var;
	const struct btf_type *sec;
	const void *initial;
	size_t size;
	int id;

	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -1;
	initial = rodata ? bpf_map__initial_value(rodata, &size) : NULL;
	if (id < 0 || !initial)
		return -1;
	sec = btf__type_by_id(btf, id);
	var = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, var++) {
		const struct btf_type *t = btf__type_by_id(btf, var->type);
		char *data;
		int rc;

		if (strcmp(btf__name_by_offset(btf, t->name_off), AXDP_KNOBS_VAR) || var->size != sizeof(*knobs))
			continue;
		data = malloc(size);
		if (!data)
			return -1;
		memcpy(data, initial, size);
		memcpy(data + var->offset, knobs, sizeof(*knobs));
		rc = bpf_map__set_initial_value(rodata, data, size);
		free(data);
		return rc;
	}
	return -1;
}

static void print_tail(const char *log, int lines)
{
	const char *p = log + strlen(log);
	int n = 0;

	while (p > log && n <= lines)
		if (*--p == '\n')
			n++;
	if (*p == '\n')
		p++;
	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		printf("VERIFIER-LOG: %.*s\n", len, p);
		p += len + (nl ? 1 : 0);
	}
}

static const char *stats_line(const char *log)
{
	const char *s = strstr(log, "processed ");

	return s ? s : "no statistics in the log\n";
}

/* Loads again just the refused program, logging every instruction, for the lines before the refusal. */
static void trace_refusal(const char *path, const char *pin_dir, const struct variant *v, const char *refused)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct bpf_object *obj = bpf_object__open_file(path, &opts);
	struct bpf_program *prog;
	char *log = calloc(1, TRACE_LOG_BYTES);
	int rc;

	if (!obj || !log || set_knobs(obj, &v->knobs))
		goto out;
	bpf_object__for_each_program(prog, obj) {
		bool it = !strcmp(bpf_program__name(prog), refused);

		bpf_program__set_autoload(prog, it);
		if (it) {
			bpf_program__set_log_buf(prog, log, TRACE_LOG_BYTES);
			bpf_program__set_log_level(prog, 1);
		}
	}
	rc = bpf_object__load(obj);
	printf("VERIFIER: %s %s: instruction trace%s, last %d lines:\n", v->name, refused,
	       rc == -ENOSPC ? " (truncated: this kernel keeps only the head of a full log)" : "", TAIL_LINES);
	print_tail(log, TAIL_LINES);
out:
	bpf_object__close(obj);
	free(log);
}

static bool traced;

static bool load_variant(const char *path, const char *pin_dir, const struct variant *v)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct bpf_object *obj = bpf_object__open_file(path, &opts);
	struct bpf_program *prog;
	char *logs[16] = { 0 };
	char refused[64] = "";
	int n = 0, last, rc = -1;
	bool ok = false;

	if (!obj) {
		printf("VERIFIER: %s: cannot open %s: %s\n", v->name, path, strerror(errno));
		return false;
	}
	if (set_knobs(obj, &v->knobs)) {
		printf("VERIFIER: %s: no '%s' of %zu bytes in %s's .rodata\n", v->name, AXDP_KNOBS_VAR,
		       sizeof(v->knobs), path);
		goto out;
	}
	bpf_object__for_each_program(prog, obj) {
		if (n == 16 || !(logs[n] = calloc(1, STATS_LOG_BYTES)))
			goto out;
		bpf_program__set_autoload(prog, true);
		/* Level 4: statistics and the refusal, without the per-instruction trace. */
		bpf_program__set_log_buf(prog, logs[n], STATS_LOG_BYTES);
		bpf_program__set_log_level(prog, 4);
		n++;
	}
	rc = bpf_object__load(obj);
	/* libbpf loads in this order and stops at a refusal: the last program with a log is the one. */
	last = -1;
	for (int i = 0; i < n; i++)
		if (logs[i][0])
			last = i;
	n = 0;
	bpf_object__for_each_program(prog, obj) {
		const char *log = logs[n++];

		if (rc && last < 0)
			break;
		if (rc && n - 1 == last) {
			snprintf(refused, sizeof(refused), "%s", bpf_program__name(prog));
			printf("VERIFIER: %s %s refused: %s\n", v->name, refused, strerror(-rc));
			print_tail(log, TAIL_LINES);
			break;
		}
		printf("VERIFIER: %s %s %s", v->name, bpf_program__name(prog), stats_line(log));
	}
	ok = rc == 0;
	if (!ok && !refused[0])
		printf("VERIFIER: %s: loading failed before the verifier: %s\n", v->name, strerror(-rc));
out:
	bpf_object__close(obj);
	for (int i = 0; i < 16; i++)
		free(logs[i]);
	/* A program too large to verify has no refusing instruction worth a trace; one trace is enough. */
	if (refused[0] && rc != -E2BIG && !traced) {
		trace_refusal(path, pin_dir, v, refused);
		traced = true;
	}
	printf("VERIFIER: %s %s\n", ok ? "PASS" : "FAIL", v->name);
	return ok;
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	struct variant v[4];
	struct utsname u;
	int n = build_variants(v), failed = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s OBJECT PIN_DIR\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	libbpf_set_print(quiet_libbpf);
	uname(&u);
	printf("VERIFIER: kernel %s, object %s\n", u.release, argv[1]);
	for (int i = 0; i < n; i++)
		failed += !load_variant(argv[1], argv[2], &v[i]);
	printf("VERIFIER-RESULT: %s\n", failed ? "FAIL" : "PASS");
	return failed ? 1 : 0;
}
