/* SPDX-License-Identifier: MIT */
#ifndef PCC_TRAVERSALS_H
#define PCC_TRAVERSALS_H

#include "interpreter.h"

/* The symbols the readers need, from the symbol table or DWARF. */
void pcc_python_load_symbols(struct pcc_python *py);
/* The tp_traverse functions pycorecheck has code for, by symbol and by the
 * exported types that use them; again when the layout changed. */
void pcc_python_find_traversals(struct pcc_python *py);
/* The rest, through the modules of the interpreter at interp (stripped
 * builds); and which traversals were written for heap types. */
void pcc_python_find_module_traversals(struct pcc_python *py, uint64_t interp);

#endif
