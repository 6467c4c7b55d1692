// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include "autoxdpd.h"
#include "util.h"

/* From here on only CAP_BPF and CAP_NET_ADMIN: map updates, attaching, reloading need no more. */
int daemon_drop_privileges(char *err, size_t errlen)
{
	static const cap_value_t keep[] = { CAP_BPF, CAP_NET_ADMIN };
	cap_t caps = cap_init();
	int rc = -1;

	if (!caps)
		return snprintf(err, errlen, "cap_init: %s", strerror(errno)), -1;
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++)
		if (c != keep[0] && c != keep[1] && CAP_IS_SUPPORTED(c))
			cap_drop_bound(c);
	if (cap_set_flag(caps, CAP_PERMITTED, ARRAY_SIZE(keep), keep, CAP_SET) == 0 &&
	    cap_set_flag(caps, CAP_EFFECTIVE, ARRAY_SIZE(keep), keep, CAP_SET) == 0 && cap_set_proc(caps) == 0 &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		rc = 0;
	else
		snprintf(err, errlen, "dropping to CAP_BPF and CAP_NET_ADMIN: %s", strerror(errno));
	cap_free(caps);
	return rc;
}
