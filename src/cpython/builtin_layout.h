/* SPDX-License-Identifier: MIT */
#ifndef PCC_BUILTIN_LAYOUT_H
#define PCC_BUILTIN_LAYOUT_H

#include "interpreter.h"

/*
 * Choose a built-in layout for an interpreter without DWARF into py->l,
 * checked against the core; major == 0 when the version is not known yet.
 */
struct pcc_error *pcc_python_builtin_layout(struct pcc_python *py,
					    uint64_t runtime, int major,
					    int minor, int micro);

#endif
