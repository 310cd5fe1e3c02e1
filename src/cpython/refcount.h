/* SPDX-License-Identifier: MIT */
#ifndef PCC_REFCOUNT_H
#define PCC_REFCOUNT_H

#include "model.h"

/* The object's reference count as the collector counts it, or
 * PCC_REFCNT_IMMORTAL, PCC_REFCNT_UNREADABLE. */
int64_t pcc_python_refcnt(struct pcc_python *py, uint64_t obj);

#endif
