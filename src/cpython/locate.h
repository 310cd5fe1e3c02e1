/* SPDX-License-Identifier: MIT */
/*
 * Which of the target's modules is the interpreter: the one that defines
 * _PyRuntime (3.7+) or _PyGC_generation0 (2.7, 3.6); and, when none does,
 * why, in the words the user needs (not Python, a missing file, damage).
 */
#ifndef PCC_LOCATE_H
#define PCC_LOCATE_H

#include "../debuginfo/debuginfo.h"

/*
 * The base names (their start) of the interpreter's library, NULL-ended:
 * a core's copy of it must have the build id the core records
 * (pcc_core_options.must_match).
 */
extern const char *const pcc_python_library_names[];

/*
 * Find the interpreter's module among di's and use it (its symbols and
 * DWARF).  Errors: PCC_ERROR_INPUT when no module is Python, saying why.
 */
struct pcc_error *pcc_python_locate(struct pcc_target *t,
				    struct pcc_debuginfo *di);

#endif
