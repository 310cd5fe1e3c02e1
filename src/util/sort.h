/* SPDX-License-Identifier: MIT */
/*
 * qsort() for arrays that may be empty.  An empty vector has a NULL data
 * pointer, and C declares qsort's base non-null even when nothing is sorted:
 * UBSan rightly reports it.  Every sort in the tool goes through here.
 */
#ifndef PCC_SORT_H
#define PCC_SORT_H

#include <stddef.h>
#include <stdlib.h>

static inline void pcc_sort(void *base, size_t count, size_t size,
			    int (*cmp)(const void *, const void *))
{
	if (count > 1)
		qsort(base, count, size, cmp);
}

#endif
