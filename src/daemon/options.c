// SPDX-License-Identifier: MIT
/*
 * The command line: what it says overrides the configuration files, also
 * across reloads, through the same key parsers as the files.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "autoxdpd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: autoxdpd [OPTION]...\n"
		"The autoxdp firewall daemon: XDP drops what no listening socket asked for.\n\n"
		"  -c, --config FILE        configuration file (default %s; drop-ins in FILE.d/)\n"
		"  -i, --interface IFACE    protect IFACE (repeatable; default: the default routes' interfaces)\n"
		"  -o, --bpf-object PATH    data path object (default %s)\n"
		"  -p, --pin-dir DIR        bpffs directory for pinned maps and links (default %s)\n"
		"  -m, --xdp-mode MODE      auto, native or generic (default auto)\n"
		"  -b, --backend BACKEND    auto, xdp or nftables (default auto: XDP, else nftables)\n"
		"  -t, --check-config       validate the configuration, print the effective one, exit\n"
		"  -V, --version            print the version and exit\n"
		"  -h, --help               print this help and exit\n\n"
		"Each option has a key in autoxdp.conf(5). SIGHUP reloads the configuration; SIGTERM stops\n"
		"the daemon and leaves protection in place ('axdp off' removes it). See autoxdpd(8).\n",
		AXDP_CONFIG_FILE, AXDP_OBJECT_DEFAULT, AXDP_PIN_DIR_DEFAULT);
}

int daemon_parse_cmdline(int argc, char **argv, struct cmdline *cmd)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "interface", required_argument, NULL, 'i' },
					      { "bpf-object", required_argument, NULL, 'o' },
					      { "pin-dir", required_argument, NULL, 'p' },
					      { "xdp-mode", required_argument, NULL, 'm' },
					      { "check-config", no_argument, NULL, 't' },
					      { "backend", required_argument, NULL, 'b' },
					      { "version", no_argument, NULL, 'V' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	int c;

	cmd->config_file = AXDP_CONFIG_FILE;
	while ((c = getopt_long(argc, argv, "c:i:o:p:m:b:tVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cmd->config_file = optarg; break;
		case 'o': cmd->bpf_object = optarg; break;
		case 'p': cmd->pin_dir = optarg; break;
		case 'm': cmd->xdp_mode = optarg; break;
		case 'b': cmd->backend = optarg; break;
		case 't': cmd->check_config = true; break;
		case 'V': printf("autoxdpd %s\n", AXDP_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		case 'i':
			if (cmd->interfaces.n == cmd->interfaces.cap) {
				cmd->interfaces.cap = cmd->interfaces.cap ? cmd->interfaces.cap * 2 : 4;
				cmd->interfaces.v =
					realloc(cmd->interfaces.v, cmd->interfaces.cap * sizeof(*cmd->interfaces.v));
				if (!cmd->interfaces.v)
					return -1;
			}
			snprintf(cmd->interfaces.v[cmd->interfaces.n++], AXDP_IFNAMSIZ, "%s", optarg);
			break;
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "autoxdpd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	snprintf(cmd->dropin_dir, sizeof(cmd->dropin_dir), "%s.d", cmd->config_file);
	return 0;
}

/* Files first, then the command line on top, through the same key parsers as the files. */
int daemon_load_config(const struct cmdline *cmd, struct axdp_config *out, char *err, size_t errlen)
{
	struct axdp_config c;

	if (axdp_config_load(&c, cmd->config_file, cmd->dropin_dir, err, errlen))
		return -1;
	if (cmd->interfaces.n) {
		free(c.interfaces.v);
		c.interfaces.v = malloc(cmd->interfaces.n * sizeof(*c.interfaces.v));
		if (!c.interfaces.v) {
			axdp_config_free(&c);
			return snprintf(err, errlen, "out of memory"), -1;
		}
		memcpy(c.interfaces.v, cmd->interfaces.v, cmd->interfaces.n * sizeof(*c.interfaces.v));
		c.interfaces.n = c.interfaces.cap = cmd->interfaces.n;
	}
	if (cmd->bpf_object)
		snprintf(c.bpf_object, sizeof(c.bpf_object), "%s", cmd->bpf_object);
	if (cmd->pin_dir)
		snprintf(c.pin_dir, sizeof(c.pin_dir), "%s", cmd->pin_dir);
	if ((cmd->xdp_mode && axdp_config_set(&c, "XdpMode", cmd->xdp_mode, "--xdp-mode", err, errlen)) ||
	    (cmd->backend && axdp_config_set(&c, "Backend", cmd->backend, "--backend", err, errlen))) {
		axdp_config_free(&c);
		return -1;
	}
	*out = c;
	return 0;
}
