/* SPDX-License-Identifier: MIT */
/*
 * Reference counts as the collector counts them: an immortal object's
 * (3.12+) is never garbage, and a count no live object can have is damage.
 */
#include "config.h"

#include "interpreter.h"
#include "refcount.h"

int64_t pcc_python_refcnt(struct pcc_python *py, uint64_t obj)
{
	uint64_t rc;
	if (!pcc_target_read_u64(py->t, obj + (uint64_t)py->off_refcnt, &rc))
		return PCC_REFCNT_UNREADABLE;
	if (py->immortal_refcnt && (int32_t)(uint32_t)rc < 0)
		return PCC_REFCNT_IMMORTAL;
	if (py->traits && py->traits->refcnt_low32)
		rc &= 0xffffffffu;
	/* No live object has so many references: the word is damaged. */
	return (int64_t)rc < 0 ? PCC_REFCNT_UNREADABLE : (int64_t)rc;
}
