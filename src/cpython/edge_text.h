/* SPDX-License-Identifier: MIT */
#ifndef PCC_EDGE_TEXT_H
#define PCC_EDGE_TEXT_H

#include "model.h"

/*
 * An edge label as text: ".__dict__", "['recv']", "[3]", ".f_locals['x']".
 * stable: without what depends on the debug info at hand (an emulated
 * edge's C member name), for signatures that read the same with or without
 * DWARF.  Strings from the target are bounded, not escaped.
 */
char *pcc_python_edge_text(struct pcc_python *py, const struct pcc_edge *e,
			   bool stable);

#endif
