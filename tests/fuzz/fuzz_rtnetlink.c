// SPDX-License-Identifier: MIT
/*
 * The rtnetlink route dump parser (axdp_route_reply_parse) fed any bytes as
 * one recv() worth.  Properties: no memory error, at most AXDP_MAX_IFACES
 * distinct, NUL-terminated names.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "fuzz_util.h"
#include "ifaces.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	struct axdp_iface_list out = { .n = 0 };
	int rc;

	FUZZ_ASSERT(buf, "out of memory");
	memcpy(buf, data, size);
	rc = axdp_route_reply_parse(buf, size, &out);
	FUZZ_ASSERT(rc >= -1 && rc <= 1, "rc %d", rc);
	FUZZ_ASSERT(out.n >= 0 && out.n <= AXDP_MAX_IFACES, "%d interfaces", out.n);
	for (int i = 0; i < out.n; i++) {
		FUZZ_ASSERT(memchr(out.name[i], 0, IF_NAMESIZE), "name %d not terminated", i);
		for (int k = 0; k < i; k++)
			FUZZ_ASSERT(strcmp(out.name[i], out.name[k]), "%s twice", out.name[i]);
	}
	free(buf);
	return 0;
}
