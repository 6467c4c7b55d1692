// SPDX-License-Identifier: MIT
/* axdp ports: what is open, on which addresses, and who listens there. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "cli.h"
#include "portsync.h"
#include "sockdiag.h"
#include "util.h"

struct owner {
	uint64_t inode;
	int pid;
	char comm[16];
};

static int by_inode(const void *a, const void *b)
{
	uint64_t x = ((const struct owner *)a)->inode, y = ((const struct owner *)b)->inode;

	return x < y ? -1 : x > y;
}

struct owners {
	struct owner *v;
	size_t n, left;
};

static enum axdp_proc_walk claim(void *ctx, struct axdp_proc_socket *s)
{
	struct owners *o = ctx;
	struct owner key = { .inode = s->inode }, *hit = bsearch(&key, o->v, o->n, sizeof(*o->v), by_inode);
	const char *comm;

	if (!hit || hit->pid)
		return AXDP_PROC_NEXT_FD;
	comm = axdp_proc_socket_comm(s);
	hit->pid = atoi(s->pid);
	snprintf(hit->comm, sizeof(hit->comm), "%s", comm ? comm : "");
	return --o->left ? AXDP_PROC_NEXT_FD : AXDP_PROC_STOP;
}

/*
 * Who holds each socket inode: one pass over /proc for all of them
 * (axdp_socket_process_name scans once per socket).  Best effort:
 * processes come and go, and those of other users need root to look at.
 */
static void find_owners(struct owner *o, size_t n)
{
	struct owners all = { o, n, n };

	axdp_sort(o, n, sizeof(*o), by_inode);
	if (n)
		axdp_proc_sockets(claim, &all);
}

struct cli_port *cli_ports_find(const struct cli_ports *p, int l4, unsigned port)
{
	size_t lo = 0, hi = p->n;

	/* Rows are built in (l4, port) order. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct cli_port *r = &p->v[mid];

		if (r->l4 == l4 && r->port == port)
			return r;
		if (r->l4 < l4 || (r->l4 == l4 && r->port < port))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int add_addrs(struct cli *c, struct cli_ports *p)
{
	struct axdp_addr_port key, next;
	void *prev = NULL;
	int rc, fd = cli_open_map(c, AXDP_MAP_ADDR_ALLOW, &rc);

	if (fd < 0)
		return rc;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct cli_port *r = next.l4 < AXDP_L4_COUNT ? cli_ports_find(p, next.l4, next.port) : NULL;

		key = next;
		prev = &key;
		if (!r || !(r->flags & AXDP_PORT_OPEN_ADDR))
			continue;
		if (AXDP_GROW(r->addrs, r->cap_addrs, r->n_addrs))
			break;
		r->addrs[r->n_addrs++] = next.local;
	}
	close(fd);
	return CLI_OK;
}

/* Listeners from sock_diag, in this process's network namespace: the daemon's, when run as meant. */
static void add_listeners(struct cli *c, struct cli_ports *p)
{
	struct axdp_socket_set set = {};
	struct owner *owners;
	char err[256];

	if (axdp_listeners_dump(&set, err, sizeof(err))) {
		cli_warn(c, "listing listening sockets: %s; processes are not shown", err);
		return;
	}
	owners = calloc(set.n ? set.n : 1, sizeof(*owners));
	for (size_t i = 0; owners && i < set.n; i++)
		owners[i].inode = set.v[i].inode;
	if (owners)
		find_owners(owners, set.n);
	for (size_t i = 0; i < set.n; i++) {
		const struct axdp_socket *s = &set.v[i];
		struct cli_port *r = cli_ports_find(p, s->proto == IPPROTO_TCP ? AXDP_L4_TCP : AXDP_L4_UDP, s->port);
		struct owner key = { .inode = s->inode }, *o;
		struct cli_listener *v;

		if (!r)
			continue;
		if (AXDP_GROW(r->listeners, r->cap_listeners, r->n_listeners))
			break;
		v = &r->listeners[r->n_listeners++];
		memset(v, 0, sizeof(*v));
		memcpy(&v->addr, s->addr, sizeof(v->addr));
		v->wildcard = s->wildcard;
		o = owners ? bsearch(&key, owners, set.n, sizeof(*owners), by_inode) : NULL;
		if (o && o->pid) {
			v->pid = o->pid;
			memcpy(v->comm, o->comm, sizeof(v->comm));
		}
	}
	free(owners);
	axdp_socket_set_free(&set);
}

int cli_ports_collect(struct cli *c, struct cli_ports *out)
{
	size_t len = (size_t)AXDP_L4_COUNT * AXDP_PORTS * sizeof(struct axdp_port_slot);
	const struct axdp_port_slot *slots;
	int rc, fd = cli_open_map(c, AXDP_MAP_PORT_ALLOW, &rc);

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return rc;
	slots = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (slots == MAP_FAILED)
		return cli_error(c, CLI_FAIL, "mapping %s/%s: %s", c->pin_dir, AXDP_MAP_PORT_ALLOW, strerror(errno));
	for (size_t idx = 0; idx < AXDP_L4_COUNT * AXDP_PORTS; idx++) {
		struct cli_port *v;
		int l4 = (int)(idx / AXDP_PORTS);
		unsigned port = idx % AXDP_PORTS;

		if (!port || !(slots[idx].flags & AXDP_PORT_OPEN))
			continue;
		if (AXDP_GROW(out->v, out->cap, out->n))
			break;
		v = &out->v[out->n++];
		memset(v, 0, sizeof(*v));
		v->l4 = (uint8_t)l4;
		v->port = (uint16_t)port;
		v->flags = slots[idx].flags;
		v->allowed = axdp_port_in(c->cfg.allow_ports[l4], (uint16_t)port);
	}
	munmap((void *)slots, len);
	rc = add_addrs(c, out);
	if (rc == CLI_OK)
		add_listeners(c, out);
	return rc;
}

void cli_ports_free(struct cli_ports *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].addrs);
		free(p->v[i].listeners);
	}
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
}

static void listener_text(char *buf, size_t len, const struct cli_listener *l)
{
	char addr[INET6_ADDRSTRLEN];

	axdp_addr_format(addr, sizeof(addr), &l->addr);
	if (l->pid)
		snprintf(buf, len, "%s[%d] on %s", l->comm, l->pid, addr);
	else
		snprintf(buf, len, "? on %s", addr);
}

/*
 * The first line of a port keeps the format scripts (and test_daemon)
 * parse: protocol, port, then only how it is open; who listens follows
 * on an indented line.
 */
void cli_port_detail(const struct cli *c, const struct cli_port *r)
{
	const char *sep = "";

	printf("%s", cli_c(c, CLI_DIM));
	if (r->n_addrs && strcmp(axdp_port_open_on(r->flags, true), "any")) {
		printf("on");
		for (size_t a = 0; a < r->n_addrs; a++) {
			char addr[INET6_ADDRSTRLEN];

			axdp_addr_format(addr, sizeof(addr), &r->addrs[a]);
			printf("%s %s", a ? "," : "", addr);
		}
		sep = "; ";
	}
	if (r->allowed) {
		printf("%s%s=", sep, r->l4 == AXDP_L4_TCP ? "AllowTCP" : "AllowUDP");
		sep = "; ";
	}
	for (size_t l = 0; l < r->n_listeners; l++) {
		char text[64];

		listener_text(text, sizeof(text), &r->listeners[l]);
		printf("%s%s", l ? ", " : sep, text);
	}
	if (!r->allowed && !r->n_listeners)
		printf("%sno listener left (closes at the next reconcile)", sep);
	printf("%s\n", cli_c(c, CLI_RESET));
}

/*
 * The first line of a port keeps the format scripts (and test_daemon)
 * parse: protocol, port, then only how it is open; who listens follows
 * on an indented line.
 */
void cli_ports_print(const struct cli *c, const struct cli_ports *p)
{
	printf("%s%-5s %6s  %s%s\n", cli_c(c, CLI_BOLD), "PROTO", "PORT", "OPEN ON", cli_c(c, CLI_RESET));
	for (size_t i = 0; i < p->n; i++) {
		const struct cli_port *r = &p->v[i];

		printf("%-5s %6u  %s\n", axdp_l4_names[r->l4], r->port, axdp_port_open_on(r->flags, false));
		printf("%14s", "");
		cli_port_detail(c, r);
	}
	if (!p->n)
		printf("(no port is open)\n");
}

void cli_port_json(struct json *j, const char *key, const struct cli_port *r)
{
	json_obj(j, key);
	json_str(j, "protocol", axdp_l4_names[r->l4]);
	json_u64(j, "port", r->port);
	json_str(j, "open_on", axdp_port_open_on(r->flags, true));
	json_arr(j, "addresses");
	for (size_t a = 0; a < r->n_addrs; a++) {
		char addr[INET6_ADDRSTRLEN];

		axdp_addr_format(addr, sizeof(addr), &r->addrs[a]);
		json_str(j, NULL, addr);
	}
	json_arr_end(j);
	json_bool(j, "allowed_by_config", r->allowed);
	json_arr(j, "listeners");
	for (size_t l = 0; l < r->n_listeners; l++) {
		const struct cli_listener *ls = &r->listeners[l];
		char addr[INET6_ADDRSTRLEN];

		axdp_addr_format(addr, sizeof(addr), &ls->addr);
		json_obj(j, NULL);
		json_str(j, "address", addr);
		if (ls->pid)
			json_i64(j, "pid", ls->pid);
		else
			json_null(j, "pid");
		json_str(j, "process", ls->pid ? ls->comm : NULL);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

void cli_ports_json(struct json *j, const struct cli_ports *p)
{
	json_arr(j, "ports");
	for (size_t i = 0; i < p->n; i++)
		cli_port_json(j, NULL, &p->v[i]);
	json_arr_end(j);
}

static int cmd_ports(struct cli *c, int argc, char **argv)
{
	struct cli_ports p;
	char **pos;
	int npos, rc;

	if (cli_getopt(c, argc, argv, NULL, NULL, &pos, &npos, &rc))
		return rc;
	if (npos)
		return cli_usage(c, "unexpected argument '%s'", pos[0]);
	cli_load_config(c);
	rc = cli_ports_collect(c, &p);
	if (rc != CLI_OK)
		return rc;
	if (c->json) {
		struct json j;

		json_start(&j, stdout);
		json_obj(&j, NULL);
		cli_ports_json(&j, &p);
		json_obj_end(&j);
		json_end(&j);
	} else {
		cli_ports_print(c, &p);
	}
	cli_ports_free(&p);
	return CLI_OK;
}

const struct cli_command cli_command_ports = {
	.name = "ports",
	.run = cmd_ports,
	.synopsis = "ports [--json]",
	.summary = "ports open to the outside, with bind address and process",
	.help = "Every open port: protocol, the addresses it is open on (* for all), and the processes listening\n"
		"on it, or 'AllowTCP=' / 'AllowUDP=' for a port the configuration opens.\n",
	.json = true,
};
