/* SPDX-License-Identifier: MIT */
#ifndef PCC_GC_STATE_H
#define PCC_GC_STATE_H

#include "interpreter.h"

/* Where one collector state keeps each of its fields: members of a struct
 * (3.7+), or static variables of Modules/gcmodule.c (2.7, 3.6).  0 when the
 * field is absent or could not be found. */
struct pcc_gc_vars {
	uint64_t enabled, debug, collecting, garbage, callbacks;
	uint64_t generations, permanent;
};

/* 2.7 and 3.6: the static variables, from _PyGC_generation0 and the
 * symbol table or DWARF. */
struct pcc_error *pcc_python_gc_vars_static(struct pcc_python *py,
					   struct pcc_gc_vars *v);
/* Say once which of those could not be found. */
void pcc_python_warn_lost_statics(struct pcc_python *py,
				  const struct pcc_gc_vars *v);
/* Every interpreter's collector state into py->gcs, from the first
 * interpreter on (runtime: _PyRuntime, or 0 with statics: 2.7, 3.6). */
struct pcc_error *pcc_python_read_collectors(struct pcc_python *py,
					     uint64_t interp, uint64_t runtime,
					     const struct pcc_gc_vars *statics);

#endif
