/* SPDX-License-Identifier: MIT */
/*
 * The interpreter of a target, opened: which CPython this is, where its
 * collectors keep their lists, and the readers of its objects (types.h,
 * traverse.h, strings.h, ...).  The struct is opaque here.
 */
#ifndef PCC_PYTHON_H
#define PCC_PYTHON_H

#include "../util/error.h"
#include "../util/progress.h"
#include "model.h"

struct pcc_target;
struct pcc_debuginfo;

/*
 * Find the interpreter state and every interpreter's GC state.
 * Errors: PCC_ERROR_UNSUPPORTED for builds we do not read (free-threaded),
 * PCC_ERROR_BAD_DATA when the runtime cannot be read.
 */
struct pcc_error *pcc_python_open(struct pcc_target *t,
				  struct pcc_debuginfo *di,
				  struct pcc_python **ret);
void pcc_python_destroy(struct pcc_python *py);

/* Every interpreter's collector state, *n of them. */
const struct pcc_gc_state *pcc_python_gc_states(const struct pcc_python *py,
						size_t *n);

/* Where long work says how far it is from now on (may be NULL); returns
 * the one before. */
struct pcc_progress *pcc_python_set_progress(struct pcc_python *py,
					     struct pcc_progress *progress);

#endif
