/* SPDX-License-Identifier: MIT */
#ifndef PCC_VERSION_H
#define PCC_VERSION_H

#include "interpreter.h"

/* py->version, major, minor, micro; PCC_ERROR_BAD_DATA if neither
 * Py_Version nor sys.version can be read. */
struct pcc_error *pcc_python_find_version(struct pcc_python *py,
					  uint64_t first_interp);

#endif
