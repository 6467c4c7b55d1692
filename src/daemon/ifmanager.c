// SPDX-License-Identifier: MIT
/*
 * The interface and backend manager: which interfaces to protect (the
 * configured ones, or the default routes'), and by what: XDP, or nftables
 * where XDP does not attach or Backend= says so.
 */
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include "autoxdpd.h"
#include "log.h"

static bool attached(const struct daemon *d, const char *ifname)
{
	for (int i = 0; i < d->n_att; i++)
		if (strcmp(d->att[i].ifname, ifname) == 0 && d->att[i].ifindex == (int)if_nametoindex(ifname))
			return true;
	return false;
}

static void forget_vanished(struct daemon *d)
{
	char err[ERRLEN];

	for (int i = 0; i < d->n_att;) {
		if ((int)if_nametoindex(d->att[i].ifname) == d->att[i].ifindex) {
			i++;
			continue;
		}
		axdp_log_fields(LOG_NOTICE, &(struct axdp_log_fields){ .interface = d->att[i].ifname },
				"%s: interface gone; protection resumes when it comes back", d->att[i].ifname);
		if (axdp_detach(d->dp.pin_dir, d->att[i].ifname, err, sizeof(err)))
			axdp_log(LOG_WARNING, "%s", err);
		d->att[i] = d->att[--d->n_att];
	}
}

static bool attach_xdp(struct daemon *d, const char *ifname, char *err, size_t errlen)
{
	struct axdp_attachment a;
	struct axdp_log_fields f = { .interface = ifname };

	if (!d->bpf)
		return snprintf(err, errlen, "%s: no data path object loaded", ifname), false;
	if (d->n_att == AXDP_MAX_IFACES)
		return snprintf(err, errlen, "%s: already %d interfaces on XDP", ifname, AXDP_MAX_IFACES), false;
	if (axdp_attach(&d->dp, ifname, d->cfg.xdp_mode, &a, err, errlen))
		return false;
	d->att[d->n_att++] = a;
	axdp_log_fields(LOG_INFO, &f, "%s: protected, XDP %s, egress %s%s", a.ifname, axdp_xdp_mode_name(a.xdp_mode),
			axdp_tc_mode_name(a.tc_mode), a.adopted ? " (existing links kept)" : "");
	return true;
}

/*
 * Moves interfaces between backends without a moment unprotected: the new
 * protection is in place before the old one goes.  XDP to nftables when
 * Backend=nftables; nftables to XDP when Backend=xdp, or with Backend=auto
 * when retry (start and reload) and XDP attaches now.
 */
void daemon_switch_backends(struct daemon *d, bool retry)
{
	char err[ERRLEN], gone[AXDP_MAX_IFACES][IF_NAMESIZE];
	int n_gone = 0, n_nft = d->nft.n;

	if (d->cfg.backend == AXDP_BACKEND_XDP || (d->cfg.backend == AXDP_BACKEND_AUTO && retry)) {
		char names[AXDP_MAX_IFACES][IF_NAMESIZE];

		memcpy(names, d->nft.ifaces, sizeof(names));
		for (int i = 0; i < n_nft; i++) {
			char left[ERRLEN];

			if (attached(d, names[i]) ||
			    (if_nametoindex(names[i]) && attach_xdp(d, names[i], err, sizeof(err)))) {
				axdp_nft_del(&d->nft, names[i]);
				continue;
			}
			if (d->cfg.backend == AXDP_BACKEND_XDP)
				axdp_log_fields(LOG_ERR, &(struct axdp_log_fields){ .interface = names[i] },
						"%s: stays on nftables, XDP does not attach: %s", names[i],
						if_nametoindex(names[i]) ? err : "no such interface");
			/* What the attempt left (tc egress before XDP failed) goes; nftables still holds. */
			if (if_nametoindex(names[i]) && axdp_detach(d->cfg.pin_dir, names[i], left, sizeof(left)))
				axdp_log(LOG_WARNING, "%s", left);
		}
	}
	if (d->cfg.backend == AXDP_BACKEND_NFTABLES)
		for (int i = 0; i < d->n_att; i++)
			if (axdp_nft_add(&d->nft, d->att[i].ifname, err, sizeof(err)) == 0)
				snprintf(gone[n_gone++], IF_NAMESIZE, "%s", d->att[i].ifname);
	if (n_nft == d->nft.n && !n_gone)
		return;
	daemon_nft_sync(d);
	if (!d->nft.installed)
		return; /* XDP stays where nftables did not take over */
	for (int i = 0; i < n_gone; i++) {
		axdp_log_fields(LOG_NOTICE, &(struct axdp_log_fields){ .interface = gone[i] },
				"%s: protected, nftables (Backend=nftables; XDP removed)", gone[i]);
		if (axdp_detach(d->cfg.pin_dir, gone[i], err, sizeof(err)))
			axdp_log(LOG_WARNING, "%s", err);
		for (int j = 0; j < d->n_att; j++)
			if (strcmp(d->att[j].ifname, gone[i]) == 0)
				d->att[j--] = d->att[--d->n_att];
	}
}

/* Attaches to every wanted interface that exists and is not yet protected. */
void daemon_sync_interfaces(struct daemon *d)
{
	struct axdp_iface_list want = { .n = 0 };
	char err[ERRLEN], moved[AXDP_MAX_IFACES][IF_NAMESIZE];
	int n_moved = 0;

	forget_vanished(d);
	if (d->cfg.interfaces.n) {
		for (size_t i = 0; i < d->cfg.interfaces.n && want.n < AXDP_MAX_IFACES; i++)
			snprintf(want.name[want.n++], IF_NAMESIZE, "%s", d->cfg.interfaces.v[i]);
	} else if (axdp_default_route_ifaces(&want, err, sizeof(err))) {
		axdp_log(LOG_ERR, "%s", err);
	}
	for (int i = 0; i < want.n; i++) {
		struct axdp_log_fields f = { .interface = want.name[i] };
		char why[ERRLEN];

		if (attached(d, want.name[i]) || axdp_nft_protects(&d->nft, want.name[i]) ||
		    !if_nametoindex(want.name[i]))
			continue;
		if (d->cfg.backend != AXDP_BACKEND_NFTABLES && attach_xdp(d, want.name[i], err, sizeof(err)))
			continue;
		if (d->cfg.backend == AXDP_BACKEND_XDP) {
			axdp_log_fields(LOG_ERR, &f, "%s", err);
			continue;
		}
		snprintf(why, sizeof(why), "%s%s",
			 d->cfg.backend == AXDP_BACKEND_NFTABLES ? "Backend=nftables" : "XDP failed: ",
			 d->cfg.backend == AXDP_BACKEND_NFTABLES ? "" : err);
		if (axdp_nft_available(err, sizeof(err)) || axdp_nft_add(&d->nft, want.name[i], err, sizeof(err))) {
			axdp_log_fields(LOG_ERR, &f, "%s: not protected: %s%s%s", want.name[i], err,
					d->cfg.backend == AXDP_BACKEND_AUTO ? "; " : "",
					d->cfg.backend == AXDP_BACKEND_AUTO ? why : "");
			continue;
		}
		axdp_log_fields(d->cfg.backend == AXDP_BACKEND_AUTO ? LOG_WARNING : LOG_INFO, &f,
				"%s: protected, nftables (%s)", want.name[i], why);
		snprintf(moved[n_moved++], IF_NAMESIZE, "%s", want.name[i]);
	}
	if (n_moved) {
		daemon_nft_sync(d);
		/* Leftovers of an XDP attempt or an earlier run (tc egress, stale links) go once nftables holds. */
		for (int i = 0; i < n_moved && d->nft.installed; i++)
			if (axdp_detach(d->cfg.pin_dir, moved[i], err, sizeof(err)))
				axdp_log(LOG_WARNING, "%s", err);
	}
	if (!d->n_att && !d->nft.n)
		axdp_log(LOG_WARNING, "no interface to protect yet: waiting for %s",
			 d->cfg.interfaces.n ? "the configured interfaces" : "a default route");
}

/*
 * The interfaces an earlier run left in our nftables table stay protected,
 * as pinned XDP links do; Backend= may move them to XDP (switch_backends).
 */
void daemon_adopt_nft(struct daemon *d)
{
	char names[AXDP_MAX_IFACES][IF_NAMESIZE], err[ERRLEN];
	int n = axdp_nft_interfaces(names, AXDP_MAX_IFACES, err, sizeof(err));

	if (n < 0)
		axdp_log(LOG_WARNING, "nftables: reading the interfaces of an earlier run: %s", err);
	for (int i = 0; i < n; i++)
		if (axdp_nft_add(&d->nft, names[i], err, sizeof(err)) == 0)
			axdp_log_fields(LOG_INFO, &(struct axdp_log_fields){ .interface = names[i] },
					"%s: protected, nftables (kept from the earlier run)", names[i]);
}
