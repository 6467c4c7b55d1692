/* SPDX-License-Identifier: MIT */
/* Small helpers every part of src/ uses: array lengths, growing arrays and sorting them. */
#ifndef AXDP_UTIL_H
#define AXDP_UTIL_H

#include <stddef.h>
#include <stdlib.h>

/* Elements of an array (not of a pointer: the compiler rejects those with -Werror=sizeof-pointer-div). */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Makes room for element n of the array *vp (capacity *cap elements of
 * elsz bytes), doubling from min_cap.  0, or -1 on overflow or out of
 * memory, with *vp and *cap untouched (still the caller's to free).
 * vp is the address of the array pointer, as void * so any element type
 * goes; use the AXDP_GROW() macro.
 */
int axdp_grow(void *vp, size_t *cap, size_t n, size_t elsz, size_t min_cap);

/* Room for element n of v, whose capacity is cap; 0 or -1 as axdp_grow(). */
#define AXDP_GROW(v, cap, n) axdp_grow(&(v), &(cap), (n), sizeof(*(v)), 8)

/*
 * qsort() for arrays grown by AXDP_GROW(), which are NULL while empty:
 * qsort's base must not be NULL even for no elements (C11 7.22.5).
 */
static inline void axdp_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n)
		qsort(base, n, size, cmp);
}

#endif
