/* SPDX-License-Identifier: MIT */
/*
 * qsort() for arrays that may be empty.  An empty vector has a NULL data
 * pointer, and C declares qsort's base non-null even when nothing is sorted:
 * UBSan rightly reports it.  Every sort in the tool goes through here.
 */
#ifndef PCC_SORT_H
#define PCC_SORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline void pcc_sort(void *base, size_t count, size_t size,
			    int (*cmp)(const void *, const void *))
{
	if (count > 1)
		qsort(base, count, size, cmp);
}

/* Ascending uint64_t (addresses), for pcc_sort and bsearch. */
static inline int pcc_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

#endif
