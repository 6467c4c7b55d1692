// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int axdp_grow(void *vp, size_t *cap, size_t n, size_t elsz, size_t min_cap)
{
	size_t ncap = *cap;
	void *v, *nv;

	if (n < *cap)
		return 0;
	while (ncap <= n) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap = ncap ? ncap * 2 : min_cap ? min_cap : 1;
	}
	/* The pointer is read and written as bytes: vp may point at any object pointer type. */
	memcpy(&v, vp, sizeof(v));
	nv = reallocarray(v, ncap, elsz);
	if (!nv)
		return -1;
	memcpy(vp, &nv, sizeof(nv));
	*cap = ncap;
	return 0;
}
