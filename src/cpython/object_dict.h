/* SPDX-License-Identifier: MIT */
/*
 * Where an object keeps its attributes: a module's or a classic instance's
 * dict, an instance's dict at tp_dictoffset or at the managed-dict offset
 * (3.11+, versions.h).
 */
#ifndef PCC_OBJECT_DICT_H
#define PCC_OBJECT_DICT_H

#include "model.h"

/* The object's __dict__ (an instance's, a module's), 0 if it has none or
 * keeps its attributes as inline values. */
uint64_t pcc_python_object_dict(struct pcc_python *py, uint64_t obj);
/* The same for an object whose type is known (ti; NULL: unreadable). */
uint64_t pcc_python_object_dict_of(struct pcc_python *py, uint64_t obj,
				   const struct pcc_type_info *ti);

/* Can an object of this type have a __dict__ that
 * pcc_python_object_dict_of finds?  False: it always gives 0. */
bool pcc_python_type_may_have_dict(const struct pcc_python *py,
				   const struct pcc_type_info *ti);

/* Where an instance's dict pointer is by tp_dictoffset (negative: from the
 * end of a variable-sized object); 0, with *bad set, when the sizes are
 * unreadable or absurd. */
uint64_t pcc_python_dict_slot(struct pcc_python *py, uint64_t obj,
			      const struct pcc_type_info *ti, bool *bad);

#endif
