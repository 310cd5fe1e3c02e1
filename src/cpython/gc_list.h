/* SPDX-License-Identifier: MIT */
#ifndef PCC_GC_LIST_H
#define PCC_GC_LIST_H

#include "model.h"

struct pcc_gc_list_result {
	uint64_t count;
	/* 0 when the walk came back to the head; else where it stopped. */
	uint64_t broken_at;
	const char *reason;
};

/*
 * Append the address of every object on the list whose sentinel is at head
 * (objects, not PyGC_Head addresses), in no particular order.  At most
 * limit objects are read; where the list breaks, the objects before the
 * break from the head's side are the ones appended.
 */
struct pcc_gc_list_result pcc_gc_list_walk(struct pcc_python *py,
					   uint64_t head, uint64_t limit,
					   struct pcc_u64_vec *out);

#endif
