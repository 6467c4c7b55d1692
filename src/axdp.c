// SPDX-License-Identifier: MIT
/* axdp: the operator's view of the autoxdp firewall, and its off switch. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "counters.h"
#include "loader.h"

#define ERRLEN 1024

struct reason_info {
	const char *action;
	const char *name;
};

static const struct reason_info reasons[AXDP_REASON_COUNT] = {
#define AXDP_REASON_INFO(id, action, name) [AXDP_##id] = { #action, #name },
	AXDP_REASONS(AXDP_REASON_INFO)
#undef AXDP_REASON_INFO
};

struct ctx {
	const char *pin_dir;
};

static int open_map(const struct ctx *c, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", c->pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fprintf(stderr, "axdp: opening %s: %s%s\n", path, strerror(errno),
			errno == ENOENT ? " (autoxdp is not running: start it with 'systemctl start autoxdp')"
			: errno == EPERM || errno == EACCES ? " (run as root)" : "");
	return fd;
}

static int read_counters(const struct ctx *c, struct axdp_counter *out)
{
	int fd = open_map(c, AXDP_MAP_COUNTERS);
	int rc = fd < 0 ? -1 : axdp_counters_read(fd, AXDP_ALL_SLOTS, out);

	if (fd >= 0 && rc)
		fprintf(stderr, "axdp: reading map %s: %s\n", AXDP_MAP_COUNTERS, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int cmd_stats(const struct ctx *c)
{
	struct axdp_counter counters[AXDP_REASON_COUNT];

	if (read_counters(c, counters))
		return 1;
	printf("%-7s %-20s %14s %16s\n", "ACTION", "REASON", "PACKETS", "BYTES");
	for (int r = 0; r < AXDP_REASON_COUNT; r++)
		printf("%-7s %-20s %14llu %16llu\n", reasons[r].action, reasons[r].name,
		       (unsigned long long)counters[r].packets, (unsigned long long)counters[r].bytes);
	return 0;
}

static int cmd_ports(const struct ctx *c)
{
	static const char *const l4[AXDP_L4_COUNT] = { "tcp", "udp" };
	int fd = open_map(c, AXDP_MAP_PORT_ALLOW);

	if (fd < 0)
		return 1;
	printf("%-5s %6s  %s\n", "PROTO", "PORT", "OPEN ON");
	for (__u32 idx = 0; idx < AXDP_L4_COUNT * AXDP_PORTS; idx++) {
		struct axdp_port_slot slot;

		if (bpf_map_lookup_elem(fd, &idx, &slot) || !(slot.flags & (AXDP_PORT_OPEN_ANY | AXDP_PORT_OPEN_ADDR)))
			continue;
		printf("%-5s %6u  %s\n", l4[idx / AXDP_PORTS], idx % AXDP_PORTS,
		       slot.flags & AXDP_PORT_OPEN_ANY ? "any address" : "bound addresses only");
	}
	close(fd);
	return 0;
}

static int cmd_off(const struct ctx *c)
{
	char err[ERRLEN];

	if (axdp_remove_all(c->pin_dir, err, sizeof(err))) {
		fprintf(stderr, "axdp: turning protection off: %s\n", err);
		return 1;
	}
	printf("protection off: XDP, tc egress, socket hooks and pins under %s removed\n", c->pin_dir);
	return 0;
}

static int cmd_status(const struct ctx *c)
{
	printf("pin directory: %s\n\n", c->pin_dir);
	return cmd_ports(c) || cmd_stats(c);
}

static const struct command {
	const char *name;
	int (*run)(const struct ctx *c);
	const char *help;
} commands[] = {
	{ "status", cmd_status, "open ports and counters (the default)" },
	{ "ports", cmd_ports, "ports open to the outside" },
	{ "stats", cmd_stats, "packets and bytes per verdict and reason" },
	{ "off", cmd_off, "remove protection completely: XDP, tc, socket hooks, pins" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: axdp [--pin-dir DIR] [COMMAND]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nOptions:\n  -p, --pin-dir DIR  the daemon's pin directory (default %s)\n"
		     "  -V, --version      print the version\n  -h, --help         print this help\n\nSee axdp(8).\n",
		AXDP_PIN_DIR_DEFAULT);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct ctx c = { .pin_dir = AXDP_PIN_DIR_DEFAULT };
	const char *name = "status";
	int opt;

	while ((opt = getopt_long(argc, argv, "+p:Vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': c.pin_dir = optarg; break;
		case 'V': printf("axdp %s\n", AXDP_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "axdp: %s: unexpected argument '%s'\n", name, argv[optind]);
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].run(&c);
	fprintf(stderr, "axdp: unknown command '%s'\n", name);
	usage(stderr);
	return 2;
}
