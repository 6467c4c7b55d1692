// SPDX-License-Identifier: MIT
/*
 * axdp status: is the host protected, by what, on which interfaces, and
 * is the daemon there to keep it so; how full the source policy's lists
 * are and which rate limits are in force.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "counters.h"
#include "ifaces.h"
#include "nft_backend.h"
#include "policy.h"

struct iface {
	char name[IF_NAMESIZE];
	int ifindex;               /* 0: no such interface in this network namespace */
	enum axdp_backend backend; /* AXDP_BACKEND_XDP or AXDP_BACKEND_NFTABLES */
	const char *xdp_mode; /* native, generic, offload, or "detached" when our program is not the one attached */
	const char *egress;   /* tcx, clsact, or NULL */
};

struct status {
	struct iface ifs[AXDP_MAX_IFACES * 2];
	int n_ifs;
	int hooks;
	bool maps; /* port_allow is pinned */
	bool active;
	pid_t pid;
	struct axdp_counter totals[3];  /* pass, drop, egress */
	struct axdp_counter would_drop; /* of the drops, those Mode=audit let pass */
	bool have_counters;
	int audit; /* cli_running_audit() */
	struct axdp_policy_usage policy;
	bool have_policy;
	struct cli_limits limits;
	bool have_limits;
};

static struct iface *iface(struct status *s, const char *name, enum axdp_backend backend)
{
	for (int i = 0; i < s->n_ifs; i++)
		if (!strcmp(s->ifs[i].name, name) && s->ifs[i].backend == backend)
			return &s->ifs[i];
	if (s->n_ifs == (int)(sizeof(s->ifs) / sizeof(s->ifs[0])))
		return NULL;
	struct iface *f = &s->ifs[s->n_ifs++];

	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->ifindex = (int)if_nametoindex(name);
	f->backend = backend;
	return f;
}

/* Is the program of the pinned XDP link the one the interface runs, and in which mode? */
static const char *xdp_mode(const char *link_path, int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(link_path);
	__u32 ours = 0;

	if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		ours = info.prog_id;
	if (fd >= 0)
		close(fd);
	if (!ifindex || !ours || bpf_xdp_query(ifindex, 0, &q))
		return "detached";
	if (q.drv_prog_id == ours)
		return axdp_xdp_mode_name(AXDP_XDP_NATIVE);
	if (q.skb_prog_id == ours)
		return axdp_xdp_mode_name(AXDP_XDP_GENERIC);
	if (q.hw_prog_id == ours)
		return "offload";
	return "detached";
}

static void scan_links(struct cli *c, struct status *s)
{
	char dir_path[AXDP_PATH_MAX + 16];
	struct dirent *de;
	DIR *dir;

	snprintf(dir_path, sizeof(dir_path), "%s/" AXDP_LINKS_SUBDIR, c->pin_dir);
	dir = opendir(dir_path);
	while (dir && (de = readdir(dir))) {
		const char *name;
		enum axdp_link_pin kind = axdp_link_pin_parse(de->d_name, &name);
		char path[sizeof(dir_path) + 256];
		struct iface *f;

		if (de->d_name[0] == '.' || !name)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_path, de->d_name);
		if (kind == AXDP_PIN_HOOK) {
			s->hooks++;
			continue;
		}
		f = iface(s, name, AXDP_BACKEND_XDP);
		if (!f)
			continue;
		if (kind == AXDP_PIN_XDP)
			f->xdp_mode = xdp_mode(path, f->ifindex);
		else if (kind == AXDP_PIN_TCX)
			f->egress = axdp_tc_mode_name(AXDP_TC_TCX);
		else if (kind == AXDP_PIN_CLSACT)
			f->egress = axdp_tc_mode_name(AXDP_TC_CLSACT);
	}
	if (dir)
		closedir(dir);
}

/* The nftables backend protects interfaces XDP could not take; nft is only asked if installed. */
static void scan_nft(struct status *s)
{
	char names[AXDP_MAX_IFACES][IF_NAMESIZE], err[256];
	int n;

	if (axdp_nft_available(err, sizeof(err)))
		return;
	n = axdp_nft_interfaces(names, AXDP_MAX_IFACES, err, sizeof(err));
	for (int i = 0; i < n; i++) {
		struct iface *f = iface(s, names[i], AXDP_BACKEND_NFTABLES);

		if (f)
			f->egress = axdp_backend_name(AXDP_BACKEND_NFTABLES);
	}
}

static bool iface_protects(const struct iface *f)
{
	return f->backend == AXDP_BACKEND_NFTABLES || (f->xdp_mode && strcmp(f->xdp_mode, "detached") != 0);
}

/* Per-reason counts (either may be NULL) into the totals by action; would: the drops audit mode let pass. */
static void add_totals(struct status *s, const struct axdp_counter *all, const struct axdp_counter *would)
{
	for (int r = 0; r < AXDP_REASON_COUNT; r++) {
		enum axdp_action a = axdp_reason_action(r);

		if (all) {
			s->totals[a].packets += all[r].packets;
			s->totals[a].bytes += all[r].bytes;
		}
		if (would && AXDP_REASON_DROPS(r)) {
			s->would_drop.packets += would[r].packets;
			s->would_drop.bytes += would[r].bytes;
		}
	}
}

/* The data path's counters and those of the nftables table, which counts for the interfaces on nftables. */
static void read_totals(struct cli *c, struct status *s)
{
	struct axdp_counter all[AXDP_REASON_COUNT], would[AXDP_REASON_COUNT];
	char err[512];
	int fd = cli_try_map(c, AXDP_MAP_COUNTERS);

	if (fd >= 0 && axdp_counters_read(fd, AXDP_ALL_SLOTS, all) == 0) {
		s->have_counters = true;
		add_totals(s, all, NULL);
	}
	if (fd >= 0)
		close(fd);
	fd = cli_try_map(c, AXDP_MAP_AUDIT_COUNTERS);
	if (fd >= 0 && axdp_counters_read(fd, AXDP_ALL_SLOTS, would) == 0)
		add_totals(s, NULL, would);
	if (fd >= 0)
		close(fd);
	/* A table that cannot be read leaves these totals to the maps; 'axdp stats' says what failed. */
	if (axdp_nft_counters(all, would, err, sizeof(err)) > 0) {
		s->have_counters = true;
		add_totals(s, all, would);
	}
}

/* The lists exist once the daemon pinned its maps; the limits always do, in the program or the configuration. */
static void read_policy_and_limits(struct cli *c, struct status *s)
{
	char err[AXDP_PATH_MAX + 256];

	if (s->maps && !(s->have_policy = axdp_policy_usage(c->pin_dir, &s->policy, err, sizeof(err)) == 0))
		cli_warn(c, "source policy: %s", err);
	if (!(s->have_limits = cli_limits_collect(c, &s->limits, err, sizeof(err)) == 0))
		cli_warn(c, "rate limits: %s", err);
}

/* A list of the source policy: entries of capacity, and the kernel's memory for it when bytes is not NULL. */
static void list_json(struct json *j, const char *key, uint32_t entries, uint32_t capacity, const uint64_t *bytes)
{
	json_obj(j, key);
	json_u64(j, "entries", entries);
	json_u64(j, "capacity", capacity);
	if (bytes)
		json_u64(j, "bytes", *bytes);
	json_obj_end(j);
}

static void policy_json(struct json *j, const struct status *s)
{
	const struct axdp_policy_usage *u = &s->policy;

	if (!s->have_policy) {
		json_null(j, "policy");
		return;
	}
	json_obj(j, "policy");
	list_json(j, "deny", u->deny_entries, u->deny_max, &u->deny_bytes);
	list_json(j, "trust", u->trust_entries, u->trust_max, &u->trust_bytes);
	list_json(j, "local_addresses", u->local_addrs, u->local_max, NULL);
	json_obj_end(j);
}

static void print_json(struct cli *c, const struct status *s, const struct cli_ports *ports)
{
	struct json j;

	json_start(&j, stdout);
	json_obj(&j, NULL);
	json_str(&j, "version", AXDP_VERSION);
	json_str(&j, "protection", s->active ? "active" : "inactive");
	json_str(&j, "pin_dir", c->pin_dir);
	json_str(&j, "config", c->config_file);
	json_str(&j, "config_error", c->cfg_ok ? NULL : c->cfg_err);
	json_obj(&j, "daemon");
	json_bool(&j, "running", s->pid != 0);
	if (s->pid)
		json_i64(&j, "pid", s->pid);
	else
		json_null(&j, "pid");
	json_str(&j, "pid_file", c->cfg.pid_file);
	json_obj_end(&j);
	json_u64(&j, "socket_hooks", (uint64_t)s->hooks);
	json_obj(&j, "mode");
	json_str(&j, "running", cli_mode_name(s->audit));
	json_str(&j, "configured", cli_mode_name(c->cfg.mode == AXDP_MODE_AUDIT));
	json_obj_end(&j);
	json_arr(&j, "interfaces");
	for (int i = 0; i < s->n_ifs; i++) {
		const struct iface *f = &s->ifs[i];

		json_obj(&j, NULL);
		json_str(&j, "name", f->name);
		json_u64(&j, "ifindex", (uint64_t)f->ifindex);
		json_str(&j, "backend", axdp_backend_name(f->backend));
		json_str(&j, "xdp_mode", f->xdp_mode);
		json_str(&j, "egress", f->egress);
		json_bool(&j, "protected", iface_protects(f));
		json_obj_end(&j);
	}
	json_arr_end(&j);
	policy_json(&j, s);
	if (s->have_limits)
		cli_limits_json(&j, &s->limits);
	else
		json_null(&j, "rate_limits");
	cli_ports_json(&j, ports);
	json_obj(&j, "counters");
	for (int a = 0; a < 3; a++) {
		json_obj(&j, axdp_action_names[a]);
		json_u64(&j, "packets", s->totals[a].packets);
		json_u64(&j, "bytes", s->totals[a].bytes);
		json_obj_end(&j);
	}
	json_obj(&j, "would_drop");
	json_u64(&j, "packets", s->would_drop.packets);
	json_u64(&j, "bytes", s->would_drop.bytes);
	json_obj_end(&j);
	json_obj_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

static void print_policy(const struct axdp_policy_usage *u)
{
	char entries[32], capacity[32], bytes[16];

	cli_count(entries, sizeof(entries), u->deny_entries);
	cli_count(capacity, sizeof(capacity), u->deny_max);
	cli_bytes(bytes, sizeof(bytes), (double)u->deny_bytes);
	printf("policy      deny %s of %s entries (%s), trust ", entries, capacity, bytes);
	if (u->trust_entries)
		printf("%u network%s", u->trust_entries, u->trust_entries == 1 ? "" : "s");
	else
		printf("none");
	printf(", %u local address%s\n", u->local_addrs, u->local_addrs == 1 ? "" : "es");
}

static void print_mode(struct cli *c, const struct status *s)
{
	bool configured = c->cfg.mode == AXDP_MODE_AUDIT;

	if (s->audit == 1)
		printf("mode        %saudit: nothing is dropped; drops are counted and logged as would-drop%s\n",
		       cli_c(c, CLI_YELLOW), cli_c(c, CLI_RESET));
	else if (s->audit == 0)
		printf("mode        enforce\n");
	if (s->audit >= 0 && c->cfg_ok && s->audit != configured)
		printf("%sconfigured  Mode=%s: 'axdp reload' switches to it, without a gap%s\n", cli_c(c, CLI_YELLOW),
		       cli_mode_name(configured), cli_c(c, CLI_RESET));
}

static void print_human(struct cli *c, const struct status *s, const struct cli_ports *ports)
{
	printf("%sprotection %s%s\n", cli_c(c, s->active ? CLI_GREEN : CLI_RED), s->active ? "active" : "NOT active",
	       cli_c(c, CLI_RESET));
	if (s->pid)
		printf("daemon      autoxdpd running, pid %d\n", (int)s->pid);
	else
		printf("daemon      %snot running%s (no live pid in %s)%s\n", cli_c(c, CLI_YELLOW), cli_c(c, CLI_RESET),
		       c->cfg.pid_file,
		       s->maps ? ": the pinned data path still protects, but ports no longer close; 'axdp on' starts it"
			       : "");
	printf("pin dir     %s%s", c->pin_dir, s->maps ? "" : " (nothing pinned)");
	if (s->maps)
		printf(", %d socket hook%s%s", s->hooks, s->hooks == 1 ? "" : "s",
		       s->hooks ? "" : " (ports open only at the next reconcile)");
	printf("\n");
	if (!s->n_ifs)
		printf("interfaces  none\n");
	for (int i = 0; i < s->n_ifs; i++) {
		const struct iface *f = &s->ifs[i];
		bool ok = iface_protects(f);

		printf("%-11s %s%-15s%s %s", i ? "" : "interfaces", cli_c(c, CLI_BOLD), f->name, cli_c(c, CLI_RESET),
		       axdp_backend_name(f->backend));
		if (f->backend == AXDP_BACKEND_XDP)
			printf(" %s%s%s, egress %s", cli_c(c, ok ? CLI_RESET : CLI_RED),
			       f->xdp_mode ? f->xdp_mode : "missing", cli_c(c, CLI_RESET),
			       f->egress ? f->egress : "missing");
		if (!f->ifindex)
			printf(" (no such interface here)");
		printf("\n");
	}
	print_mode(c, s);
	if (c->cfg_ok == false)
		printf("config      %s%s%s\n", cli_c(c, CLI_RED), c->cfg_err, cli_c(c, CLI_RESET));
	if (s->have_policy)
		print_policy(&s->policy);
	if (s->have_limits)
		cli_limits_print(c, &s->limits);
	if (s->maps) {
		printf("\n");
		cli_ports_print(c, ports);
	}
	if (s->have_counters) {
		char p[3][16], b[3][16];

		for (int a = 0; a < 3; a++) {
			cli_si(p[a], sizeof(p[a]), (double)s->totals[a].packets, NULL);
			cli_bytes(b[a], sizeof(b[a]), (double)s->totals[a].bytes);
		}
		printf("\ncounters    passed %s packets (%s), dropped %s%s%s (%s), egress %s (%s)", p[0], b[0],
		       cli_c(c, s->totals[1].packets ? CLI_RED : CLI_RESET), p[1], cli_c(c, CLI_RESET), b[1], p[2],
		       b[2]);
		if (s->would_drop.packets || s->audit == 1) {
			cli_si(p[1], sizeof(p[1]), (double)s->would_drop.packets, NULL);
			printf(", of the drops %s passed in audit mode", p[1]);
		}
		printf("; 'axdp stats' has the reasons\n");
	}
}

static int cmd_status(struct cli *c, int argc, char **argv)
{
	struct cli_ports ports = {};
	struct status s = {};
	char **pos;
	int npos, rc, fd;

	if (cli_getopt(c, argc, argv, NULL, NULL, &pos, &npos, &rc))
		return rc;
	if (npos)
		return cli_usage(c, "unexpected argument '%s'", pos[0]);
	cli_load_config(c);
	if ((rc = cli_require_privileges(c)) != CLI_OK)
		return rc;
	s.pid = cli_daemon_pid(c);
	fd = cli_try_map(c, AXDP_MAP_PORT_ALLOW);
	s.maps = fd >= 0;
	if (fd >= 0)
		close(fd);
	else if (errno == EPERM || errno == EACCES)
		return fprintf(stderr, "axdp: reading the firewall's maps needs root (CAP_BPF)\n"), CLI_NOPRIV;
	scan_links(c, &s);
	scan_nft(&s);
	for (int i = 0; i < s.n_ifs; i++)
		s.active |= iface_protects(&s.ifs[i]);
	if (s.maps && (rc = cli_ports_collect(c, &ports)) != CLI_OK)
		return rc;
	read_totals(c, &s);
	s.audit = cli_running_audit(c);
	read_policy_and_limits(c, &s);
	if (c->json)
		print_json(c, &s, &ports);
	else
		print_human(c, &s, &ports);
	cli_ports_free(&ports);
	return s.active ? CLI_OK : CLI_INACTIVE;
}

const struct cli_command cli_command_status = {
	.name = "status",
	.run = cmd_status,
	.synopsis = "status [--json]",
	.summary = "daemon, interfaces, policy, limits, ports, counters (the default)",
	.help = "Whether protection is active: the daemon (through its PidFile=), each protected interface with its\n"
		"backend, XDP mode and egress hook, the deny and trust lists, the rate limits the running XDP\n"
		"program enforces (and any the configuration changes at the next restart), the open ports with\n"
		"their listeners, and counter totals.\n"
		"Exit status 3 when protection is not active.\n",
	.json = true,
};
