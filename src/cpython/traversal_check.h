/* SPDX-License-Identifier: MIT */
#ifndef PCC_TRAVERSAL_CHECK_H
#define PCC_TRAVERSAL_CHECK_H

#include "model.h"

/*
 * --check-traversals: every object of objs that pycorecheck traverses with
 * its own code is traversed again by its type's tp_traverse in the emulator,
 * and the two lists of referents compared (as multisets; a partial native
 * traversal may visit fewer).  Types whose objects differ are listed.
 */
struct pcc_traversal_diff {
	uint64_t type;
	int kind; /* enum pcc_kind of the native traversal */
	uint64_t objects; /* that differ */
	uint64_t example;
	/* Of the example: a referent only the native traversal visits, one
	 * only the emulated one does (0: none). */
	uint64_t extra, missing;
};
PCC_VEC(pcc_traversal_diff_vec, struct pcc_traversal_diff)
struct pcc_traversal_check {
	bool ran;
	uint64_t compared, differ;
	uint64_t not_emulated; /* the emulation failed: not compared */
	struct pcc_traversal_diff_vec diffs; /* most objects first */
};
void pcc_python_check_traversals(struct pcc_python *py, const uint64_t *objs,
				 uint32_t n, struct pcc_traversal_check *out);
void pcc_traversal_check_free(struct pcc_traversal_check *c);

#endif
