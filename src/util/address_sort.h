/* SPDX-License-Identifier: MIT */
/*
 * Sorting the heap's millions of object addresses: a radix sort, on a few
 * threads, whose passes depend on how far apart the heap's regions are
 * rather than on the width of an address.
 */
#ifndef PCC_ADDRESS_SORT_H
#define PCC_ADDRESS_SORT_H

#include <stdint.h>

#include <stdbool.h>

/* What the sort learnt of the addresses on the way. */
struct pcc_sorted_addresses {
	/* An address may be there more than once (only the radix sort lets
	 * repeats through; the bitmap's cannot hold one). */
	bool may_repeat;
	/* How many low bits are zero in every address (64 for none). */
	unsigned low_zeros;
};

/* Sort a[0..n) ascending, on up to threads threads (0 or 1: the caller's). */
struct pcc_sorted_addresses pcc_sort_addresses(uint64_t *a, uint32_t n,
					       unsigned threads);

#endif
