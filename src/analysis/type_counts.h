/* SPDX-License-Identifier: MIT */
/*
 * Counts keyed by type address, for the histograms of the report (all
 * tracked objects; those whose traversal is unknown; those left
 * undecided).
 */
#ifndef PCC_TYPE_COUNTS_H
#define PCC_TYPE_COUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

struct pcc_type_counts {
	struct pcc_count *slots; /* open addressing; count 0: empty */
	size_t cap, len;
};

void pcc_type_counts_add(struct pcc_type_counts *c, uint64_t type, uint64_t n);
/* Add the counts of src to dst, and free src. */
void pcc_type_counts_merge(struct pcc_type_counts *dst,
			   struct pcc_type_counts *src);
/* Move the counts into out, most frequent first (ties by address), and
 * free c. */
void pcc_type_counts_finish(struct pcc_type_counts *c,
			    struct pcc_count_vec *out);

#endif
