// SPDX-License-Identifier: MIT
/*
 * axdp allow / exclude / trust / block: policy that persists.  Every
 * change rewrites one drop-in, FILE.d/50-axdp.conf, beside the
 * configuration in use.  A list in a later file replaces the earlier
 * list, so the drop-in holds the complete effective set of each key it
 * sets, merged with what the other files say.  The new file is checked
 * with the daemon's parser, in the daemon's order of files, before it
 * replaces the old one; then the daemon reloads and the change is
 * waited for in the maps and for the end of the reload, which writes the
 * nftables table after the maps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "cli.h"
#include "cli_dropin.h"
#include "policy.h"
#include "dropin.h"
#include "pidfile.h"
#include "sockdiag.h"
#include "errbuf.h"

#define APPLY_WAIT_S 5
#define APPLY_POLL_S 0.05

/* ---- waiting for the daemon ---- */

/* Is exactly this prefix in the LPM trie?  A lookup would find any covering prefix; next-key does not. */
static int lpm_has(int fd, const struct axdp_cidr *c)
{
	struct axdp_lpm_key key = { .prefixlen = c->prefix }, first, next;

	memcpy(&key.addr, c->addr, 16);
	if (bpf_map_get_next_key(fd, NULL, &first))
		return errno == ENOENT ? 0 : -1;
	/* The kernel returns the first key when key is absent, its successor (or ENOENT) when present. */
	if (bpf_map_get_next_key(fd, &key, &next))
		return errno == ENOENT ? 1 : -1;
	return memcmp(&next, &first, sizeof(next)) != 0;
}

static bool listener_keeps_open(const uint64_t *bits, unsigned port)
{
	return bits[port / 64] & (1ULL << (port % 64));
}

/*
 * The maps that show a change: port_allow, or a trie; for DenyCIDR= the
 * policy entry names the live one of two generations, each a trie and
 * exact sets.
 */
struct shown_in {
	int fd;
	int deny[2], exact[2];
};

static void close_shown(struct shown_in *m)
{
	for (int i = 0; i < 2; i++) {
		if (m->deny[i] >= 0)
			close(m->deny[i]);
		if (m->exact[i] >= 0)
			close(m->exact[i]);
	}
	if (m->fd >= 0)
		close(m->fd);
}

static int open_shown(struct cli *c, const struct pol_change *ch, struct shown_in *m)
{
	m->deny[0] = m->deny[1] = m->exact[0] = m->exact[1] = -1;
	if (ch->key->type == P_PORTS)
		m->fd = cli_try_map(c, AXDP_MAP_PORT_ALLOW);
	else if (!strcmp(ch->key->name, "ExcludeBindCIDR"))
		m->fd = cli_try_map(c, AXDP_MAP_BIND_EXCLUDE);
	else if (!strcmp(ch->key->name, "TrustCIDR"))
		m->fd = cli_try_map(c, AXDP_MAP_TRUST);
	else if ((m->fd = cli_try_map(c, AXDP_MAP_POLICY)) >= 0 &&
		 ((m->deny[0] = cli_try_map(c, AXDP_MAP_DENY_0)) < 0 ||
		  (m->deny[1] = cli_try_map(c, AXDP_MAP_DENY_1)) < 0 ||
		  (m->exact[0] = cli_try_map(c, AXDP_MAP_DENY_EXACT4)) < 0 ||
		  (m->exact[1] = cli_try_map(c, AXDP_MAP_DENY_EXACT6)) < 0)) {
		close_shown(m);
		m->fd = -1;
	}
	return m->fd;
}

/*
 * Is exactly this entry in the live deny list?  A single address, and an
 * IPv4 /25../31 within the expansion bound, is in the exact sets (each
 * address names the entry it comes from); the rest in the trie.
 */
static int deny_has(const struct shown_in *m, __u32 gen, const struct axdp_cidr *c)
{
	struct axdp_addr a;
	int has = lpm_has(m->deny[gen], c);

	memcpy(&a, c->addr, sizeof(a));
	if (has || (c->prefix < 128 && (c->prefix <= 96 + AXDP_DENY_BUCKET_BITS || !axdp_addr_v4_mapped(&a))))
		return has;
	for (uint32_t i = 0, base = ntohl(a.w[3]); i < 1u << (128 - c->prefix); i++) {
		a.w[3] = htonl(base + i);
		if ((has = axdp_deny_exact_entry(m->exact, gen, &a)) == c->prefix || has < 0)
			return has < 0 ? -1 : 1;
	}
	return 0;
}

/* AllowTCP=/AllowUDP=: the port keys that open ports (ExcludeTCP=/ExcludeUDP= close them). */
static bool opens_ports(const struct pol_key *k)
{
	return k->type == P_PORTS && !strcmp(k->cmd, "allow");
}

/*
 * Is a reload still being applied?  The daemon holds PinDir locked while
 * it is (reload.c), and writes the nftables table after the maps.
 */
static bool reload_running(int pin_dir)
{
	if (pin_dir < 0 || flock(pin_dir, LOCK_SH | LOCK_NB))
		return pin_dir >= 0 && errno == EWOULDBLOCK;
	flock(pin_dir, LOCK_UN);
	return false;
}

/* 1: in force, 0: not yet, -1: cannot tell. */
static int check(struct cli *c, const struct pol_change *ch, const uint64_t *listeners, const struct shown_in *m)
{
	if (ch->key->type == P_PORTS) {
		for (unsigned p = ch->lo; p <= ch->hi; p++) {
			__u32 idx = (unsigned)ch->key->l4 * AXDP_PORTS + p;
			struct axdp_port_slot s;
			bool allow = opens_ports(ch->key);

			if (bpf_map_lookup_elem(m->fd, &idx, &s))
				return -1;
			if (allow && ch->add && !(s.flags & AXDP_PORT_OPEN_ANY))
				return 0;
			if (allow && !ch->add && (s.flags & AXDP_PORT_OPEN_ANY) && !listener_keeps_open(listeners, p))
				return 0;
			if (!allow && ch->add && !(s.flags & AXDP_PORT_EXCLUDED) &&
			    !axdp_port_in(c->cfg.allow_ports[ch->key->l4], (uint16_t)p))
				return 0;
			if (!allow && !ch->add && (s.flags & AXDP_PORT_EXCLUDED))
				return 0;
		}
		return 1;
	}
	int has;

	if (m->deny[0] >= 0) {
		struct axdp_policy pol;
		__u32 zero = 0;

		if (bpf_map_lookup_elem(m->fd, &zero, &pol))
			return -1;
		has = deny_has(m, pol.deny_generation & 1, &ch->cidr);
	} else {
		has = lpm_has(m->fd, &ch->cidr);
	}
	return has < 0 ? -1 : has == ch->add;
}

/* Ports a wildcard listener keeps open after their Allow entry goes (unless excluded): removing it cannot close them. */
static void wildcard_listeners(const struct pol_change *ch, const struct axdp_config *want, uint64_t *bits)
{
	struct axdp_socket_set set = {};
	char err[128];

	if (ch->key->type != P_PORTS || axdp_listeners_dump(&set, err, sizeof(err)))
		return;
	for (size_t i = 0; i < set.n; i++)
		if (set.v[i].wildcard && (set.v[i].proto == IPPROTO_TCP ? AXDP_L4_TCP : AXDP_L4_UDP) == ch->key->l4 &&
		    !axdp_port_in(want->exclude_ports[ch->key->l4], set.v[i].port))
			bits[set.v[i].port / 64] |= 1ULL << (set.v[i].port % 64);
	axdp_socket_set_free(&set);
}

static int reload_and_wait(struct cli *c, const struct pol_change *ch, const struct axdp_config *want, const char *done)
{
	uint64_t listeners[AXDP_PORTS / 64] = { 0 };
	pid_t pid = cli_daemon_pid(c);
	char err[AXDP_CONFIG_ERRLEN];
	struct shown_in m;
	int state = 0, pin_dir;

	if (!pid) {
		printf("%s; autoxdpd is not running, so it applies when the daemon starts ('axdp on')\n", done);
		return CLI_OK;
	}
	wildcard_listeners(ch, want, listeners);
	if (axdp_daemon_reload(pid, err, sizeof(err)))
		return cli_error(c, CLI_FAIL, "%s, but %s", done, err);
	if (open_shown(c, ch, &m) < 0) {
		printf("%s; autoxdpd (pid %d) reloaded (this data path has no map that shows %s=)\n", done, (int)pid,
		       ch->key->name);
		return CLI_OK;
	}
	pin_dir = open(c->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < APPLY_WAIT_S / APPLY_POLL_S; i++) {
		if ((state = check(c, ch, listeners, &m)) != 0 && !(state > 0 && reload_running(pin_dir)))
			break;
		state = 0;
		if (cli_daemon_pid(c) != pid)
			break;
		cli_sleep(APPLY_POLL_S);
	}
	if (pin_dir >= 0)
		close(pin_dir);
	close_shown(&m);
	if (state > 0) {
		printf("%s; in force\n", done);
		if (opens_ports(ch->key) && !ch->add)
			for (unsigned p = ch->lo; p <= ch->hi; p++)
				if (listener_keeps_open(listeners, p))
					printf("note: %s/%u stays open: something listens on it ('axdp ports' says who)\n",
					       axdp_l4_names[ch->key->l4], p);
		return CLI_OK;
	}
	if (cli_daemon_pid(c) != pid)
		return cli_error(c, CLI_FAIL, "%s, but autoxdpd (pid %d) is gone: see 'journalctl -u autoxdp'", done,
				 (int)pid);
	if (state < 0)
		return cli_error(c, CLI_FAIL, "%s, but reading the data path's map failed: %s", done, strerror(errno));
	return cli_error(c, CLI_FAIL,
			 "%s, but autoxdpd (pid %d) did not apply it within %d s: it logs why "
			 "('journalctl -u autoxdp'; a rejected configuration is named FILE:LINE)%s",
			 done, (int)pid, APPLY_WAIT_S,
			 !strcmp(ch->key->name, "DenyCIDR") && !ch->add ? "; a DenyListFile= list may hold it too"
									: "");
}

/* ---- commands ---- */

static int parse_value(struct cli *c, struct pol_change *ch, const char *v)
{
	if (ch->key->type == P_PORTS) {
		if (!pol_parse_range(v, &ch->lo, &ch->hi))
			return cli_usage(c, "'%s': expected a port from 1 to 65535, or a range LOW-HIGH", v);
		axdp_port_run_format(ch->text, sizeof(ch->text), ch->lo, ch->hi);
		return CLI_OK;
	}
	if (axdp_cidr_parse(v, strlen(v), false, &ch->cidr)) {
		struct axdp_cidr net;

		if (axdp_cidr_parse(v, strlen(v), true, &net) == 0) {
			char want[64];

			axdp_cidr_format(want, sizeof(want), &net);
			return cli_usage(c, "'%s' has host bits set: did you mean %s?", v, want);
		}
		return cli_usage(c, "'%s': expected an IPv4 or IPv6 address, optionally with /PREFIX", v);
	}
	axdp_cidr_format(ch->text, sizeof(ch->text), &ch->cidr);
	return CLI_OK;
}

/* The policy drop-in being written, and the change it must carry. */
struct policy_file {
	struct cli *c;
	const struct pol_change *ch;
	const struct pol_dropin *d;
	const char *path;
};

static void fill_policy(FILE *f, void *ctx)
{
	const struct policy_file *p = ctx;

	pol_write_dropin(f, p->d, p->c->config_file);
}

/* The configuration with the new file in its place must parse and say what the change says: no later file undoes it. */
static int check_policy(const char *tmp, void *ctx, char *err, size_t errlen)
{
	const struct policy_file *p = ctx;
	char overrider[AXDP_PATH_MAX + 300], why[AXDP_CONFIG_ERRLEN];
	struct axdp_config result;
	bool undone;

	if (pol_effective_with(p->c, tmp, p->ch, &result, overrider, sizeof(overrider), why, sizeof(why)))
		return axdp_fail(err, errlen, "the new %s would not parse (%s); nothing changed", p->path, why);
	undone = !pol_in_force(&result, p->ch) || overrider[0];
	axdp_config_free(&result);
	if (undone)
		return axdp_fail(err, errlen,
				 "%s sets %s= after %s and would override it: change it there; nothing changed",
				 overrider[0] ? overrider : "a later file", p->ch->key->name, p->path);
	return 0;
}

static int change(struct cli *c, struct pol_change *ch)
{
	struct axdp_config want;
	struct pol_dropin old = {}, new_ = {};
	char err[AXDP_CONFIG_ERRLEN], msg[2 * AXDP_CONFIG_ERRLEN + AXDP_PATH_MAX], added[300], done[512];
	int rc = CLI_FAIL, lock = -1;

	if (geteuid() != 0)
		return cli_error(c, CLI_NOPRIV,
				 "changing the policy needs root: it writes %s/" POL_DROPIN_NAME
				 " and signals the daemon",
				 c->dropin_dir);
	cli_load_config(c);
	if (!c->cfg_ok)
		return cli_error(c, CLI_FAIL, "the configuration does not parse (%s): fix it first", c->cfg_err);
	if (mkdir(c->dropin_dir, 0755) && errno != EEXIST)
		return cli_error(c, CLI_FAIL, "creating %s: %s", c->dropin_dir, strerror(errno));
	/* Two axdp runs at once must not both start from the same old file. */
	lock = open(c->dropin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_EX))
		return cli_error(c, CLI_FAIL, "locking %s: %s", c->dropin_dir, strerror(errno));
	snprintf(old.path, sizeof(old.path), "%s/" POL_DROPIN_NAME, c->dropin_dir);
	if (pol_read_dropin(&old)) {
		rc = cli_error(c, CLI_FAIL, "reading %s: %s", old.path, strerror(errno));
		goto out;
	}
	snprintf(done, sizeof(done), "%s %s %s in %s", ch->add ? "added" : "removed", ch->key->name, ch->text,
		 old.path);
	/* want: the effective configuration (read under the lock) with the change; its value of the key is what we write. */
	if (axdp_config_load(&want, c->config_file, c->dropin_dir, err, sizeof(err))) {
		rc = cli_error(c, CLI_FAIL, "%s: fix it first", err);
		goto out;
	}
	if (pol_in_force(&want, ch)) {
		printf("%s=%s: %s already; nothing changed\n", ch->key->name, ch->text,
		       ch->add ? "in the list" : "not in the list");
		rc = CLI_OK;
		goto out_set;
	}
	if (pol_apply(&want, ch)) {
		rc = cli_error(c, CLI_FAIL, "out of memory");
		goto out_set;
	}
	if (ch->comment) {
		snprintf(added, sizeof(added), "%s", ch->comment);
	} else {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		snprintf(added, sizeof(added), "added with 'axdp %s add' on %04d-%02d-%02d", ch->key->cmd,
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	}
	/* The new file: the old one's values and lines, with this key's values replaced by the whole new set. */
	memcpy(new_.has_key, old.has_key, sizeof(old.has_key));
	new_.has_key[ch->key - pol_keys] = true;
	new_.other[0] = old.other[0], new_.other[1] = old.other[1], new_.other_sections = old.other_sections;
	for (size_t i = 0; i < old.values.n; i++)
		if (old.values.v[i].key != ch->key)
			pol_push_token(&new_.values, old.values.v[i].key, old.values.v[i].text,
				       old.values.v[i].comment);
	if (pol_new_tokens(&old, ch, &want, added, &new_.values)) {
		rc = cli_error(c, CLI_FAIL, "out of memory");
		goto out_set;
	}

	if (axdp_dropin_write(old.path, fill_policy, check_policy, &(struct policy_file){ c, ch, &new_, old.path }, msg,
			      sizeof(msg))) {
		rc = cli_error(c, CLI_FAIL, "%s", msg);
		goto out_set;
	}
	rc = reload_and_wait(c, ch, &want, done);
out_set:
	new_.other[0] = new_.other[1] = new_.other_sections = NULL;
	pol_free_dropin(&new_);
	axdp_config_free(&want);
out:
	pol_free_dropin(&old);
	if (lock >= 0)
		close(lock);
	return rc;
}

static int list(struct cli *c, const char *cmd)
{
	struct pol_dropin d = {};
	struct json j;

	cli_load_config(c);
	if (!c->cfg_ok)
		return cli_error(c, CLI_FAIL, "the configuration does not parse (%s): fix it first", c->cfg_err);
	snprintf(d.path, sizeof(d.path), "%s/" POL_DROPIN_NAME, c->dropin_dir);
	if (pol_read_dropin(&d))
		return cli_error(c, CLI_FAIL, "reading %s: %s", d.path, strerror(errno));
	if (c->json) {
		json_start(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "dropin", d.path);
		json_arr(&j, "keys");
	} else {
		printf("%s%-16s %-24s %-14s %s%s\n", cli_c(c, CLI_BOLD), "KEY", "VALUE", "SET IN", "COMMENT",
		       cli_c(c, CLI_RESET));
	}
	for (size_t k = 0; k < POL_NKEYS; k++) {
		struct pol_tokens t = {};

		if (strcmp(pol_keys[k].cmd, cmd))
			continue;
		pol_tokens_of(&c->cfg, &pol_keys[k], &t);
		if (c->json) {
			json_obj(&j, NULL);
			json_str(&j, "key", pol_keys[k].name);
			json_str(&j, "section", pol_keys[k].section);
			json_arr(&j, "values");
		} else if (!t.n) {
			printf("%-16s %s(none)%s\n", pol_keys[k].name, cli_c(c, CLI_DIM), cli_c(c, CLI_RESET));
		}
		for (size_t i = 0; i < t.n; i++) {
			const struct pol_token *mine = NULL;

			for (size_t v = 0; v < d.values.n && !mine; v++)
				if (d.values.v[v].key == &pol_keys[k] && !strcmp(d.values.v[v].text, t.v[i].text))
					mine = &d.values.v[v];
			if (c->json) {
				json_obj(&j, NULL);
				json_str(&j, "value", t.v[i].text);
				json_str(&j, "comment", mine ? mine->comment : NULL);
				json_bool(&j, "in_dropin", mine != NULL);
				json_obj_end(&j);
			} else {
				printf("%-16s %-24s %-14s %s\n", pol_keys[k].name, t.v[i].text,
				       mine ? POL_DROPIN_NAME : "configuration",
				       mine && mine->comment ? mine->comment : "");
			}
		}
		if (c->json) {
			json_arr_end(&j);
			json_obj_end(&j);
		}
		pol_free_tokens(&t);
	}
	if (c->json)
		json_arr_end(&j);
	if (!strcmp(cmd, "block"))
		cli_bans_list(c, c->json ? &j : NULL);
	if (c->json) {
		json_obj_end(&j);
		json_end(&j);
	}
	pol_free_dropin(&d);
	return CLI_OK;
}

int cli_policy_opt(struct cli *c, int id, const char *arg, void *st)
{
	struct cli_policy_opts *o = st;

	(void)c;
	if (id == CLI_OPT_COMMENT)
		o->comment = arg;
	else if (id == CLI_OPT_FORCE)
		o->force = true;
	else if (id == CLI_OPT_FOR)
		o->duration = arg;
	else
		return CLI_USAGE;
	return CLI_OK;
}

/* allow and exclude; trust has --force too (and block hands the rest of its work to cmd_policy). */
static const struct cli_option policy_options[] = {
	{ "comment", "TEXT", CLI_OPT_COMMENT, "the comment written above the key in the drop-in" },
	{ 0 },
};

static const struct cli_option trust_options[] = {
	{ "comment", "TEXT", CLI_OPT_COMMENT, "the comment written above TrustCIDR= in the drop-in" },
	{ "force", NULL, CLI_OPT_FORCE,
	  "remove even a network with the source of $SSH_CONNECTION or a default gateway" },
	{ 0 },
};

int cmd_policy(struct cli *c, int argc, char **argv)
{
	struct pol_change ch = {};
	struct cli_policy_opts o = {};
	const char *sub;
	bool guarded;
	char **pos;
	int npos, rc, want;

	if (cli_getopt(c, argc, argv, cli_policy_opt, &o, &pos, &npos, &rc))
		return rc;
	if (!npos)
		return cli_usage(c, "expected add, remove or list");
	sub = pos[0];
	if (!strcmp(sub, "list")) {
		if (npos > 1)
			return cli_usage(c, "list: unexpected argument '%s'", pos[1]);
		if (o.comment || o.force)
			return cli_usage(c, "list takes no --comment or --force");
		return list(c, c->cmd);
	}
	if (strcmp(sub, "add") && strcmp(sub, "remove"))
		return cli_usage(c, "'%s': expected add, remove or list", sub);
	if (c->json)
		return cli_usage(c, "--json: only 'list' has JSON output");
	if (o.comment && strcmp(sub, "add"))
		return cli_usage(c, "--comment goes with add");
	ch.add = !strcmp(sub, "add");
	ch.comment = o.comment;
	/* What could cut the operator off: blocking a network, or no longer trusting one. */
	guarded = !strcmp(c->cmd, ch.add ? "block" : "trust");
	if (o.force && !guarded)
		return cli_usage(c, "--force goes with block add and trust remove");
	/* allow/exclude name a selector (tcp, udp, bind) before the value; trust and block do not. */
	want = !strcmp(c->cmd, "trust") || !strcmp(c->cmd, "block") ? 2 : 3;
	if (npos < want)
		return cli_usage(c, "%s: missing %s", sub, want == 2 ? "CIDR" : "tcp|udp PORT");
	if (npos > want)
		return cli_usage(c, "%s: unexpected argument '%s'", sub, pos[want]);
	for (size_t k = 0; k < POL_NKEYS && !ch.key; k++)
		if (!strcmp(pol_keys[k].cmd, c->cmd) && (want == 2 || !strcmp(pol_keys[k].selector, pos[1])))
			ch.key = &pol_keys[k];
	if (!ch.key)
		return cli_usage(c, "'%s': expected %s", pos[1],
				 strcmp(c->cmd, "exclude") ? "tcp or udp" : "tcp, udp or bind");
	rc = parse_value(c, &ch, pos[want - 1]);
	if (rc == CLI_OK && guarded)
		rc = cli_guard(c, ch.add ? "block" : "stop trusting", &ch.cidr, 1, o.force);
	return rc != CLI_OK ? rc : change(c, &ch);
}

const struct cli_command cli_command_allow = {
	.name = "allow",
	.run = cmd_policy,
	.synopsis = "allow add|remove tcp|udp PORT [--comment TEXT] | allow list [--json]",
	.summary = "ports open even with nothing listening (AllowTCP=, AllowUDP=)",
	.help = "Changes AllowTCP= or AllowUDP= in FILE.d/50-axdp.conf, reloads the daemon and waits until the\n"
		"port is open (or closed) in the data path.  PORT may be a range LOW-HIGH.\n",
	.options = policy_options,
	.json = true,
};

const struct cli_command cli_command_exclude = {
	.name = "exclude",
	.run = cmd_policy,
	.synopsis = "exclude add|remove tcp|udp PORT | bind CIDR [--comment TEXT] | exclude list [--json]",
	.summary = "ports, or bind networks, that never open (ExcludeTCP=, ExcludeUDP=, ExcludeBindCIDR=)",
	.help = "Changes ExcludeTCP=, ExcludeUDP= or ExcludeBindCIDR= in FILE.d/50-axdp.conf, reloads the daemon\n"
		"and waits until the change is in force.\n",
	.options = policy_options,
	.json = true,
};

const struct cli_command cli_command_trust = {
	.name = "trust",
	.run = cmd_policy,
	.synopsis = "trust add|remove CIDR [--comment TEXT] [--force] | trust list [--json]",
	.summary = "trusted source networks (TrustCIDR=)",
	.help = "Changes TrustCIDR= in FILE.d/50-axdp.conf and reloads the daemon.  See autoxdp.conf(5).\n",
	.options = trust_options,
	.json = true,
};
