/* SPDX-License-Identifier: MIT */
/*
 * Sorting the heap's millions of object addresses: a radix sort, on a few
 * threads, whose passes depend on how far apart the heap's regions are
 * rather than on the width of an address.
 */
#ifndef PCC_ADDRESS_SORT_H
#define PCC_ADDRESS_SORT_H

#include <stdint.h>

/* Sort a[0..n) ascending, on up to threads threads (0 or 1: the caller's). */
void pcc_sort_addresses(uint64_t *a, uint32_t n, unsigned threads);

#endif
