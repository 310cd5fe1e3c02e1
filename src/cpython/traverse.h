/* SPDX-License-Identifier: MIT */
/*
 * What each object refers to, as its type's tp_traverse would report it:
 * per kind of traversal, from the layout, or from the emulator.
 */
#ifndef PCC_TRAVERSE_H
#define PCC_TRAVERSE_H

#include "model.h"

/*
 * Call visit for each reference the object's tp_traverse would report, in
 * the same order.  Returns the kind used; PCC_KIND_UNKNOWN means nothing was
 * visited because the type's traversal is not known (the caller must treat
 * the object's referents as external).  *partial is set when only a part of
 * the object could be traversed (a C extension base, an unreadable block).
 */
enum pcc_kind pcc_python_traverse(struct pcc_python *py, uint64_t obj,
				  pcc_visit_fn *visit, void *ctx,
				  bool want_labels, bool *partial);

/* The same for the refcount pass: only references the object owns; and
 * whether the object itself is a GC object (pcc_python_is_gc). */
enum pcc_kind pcc_python_traverse_owned(struct pcc_python *py, uint64_t obj,
					pcc_visit_fn *visit, void *ctx,
					bool *partial, enum pcc_is_gc *is_gc);

#endif
