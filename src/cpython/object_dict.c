/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "interpreter.h"
#include "object_dict.h"
#include "types.h"

/* 2.7–3.10 _PyObject_GetDictPtr: a negative tp_dictoffset counts from the
 * end of a variable-sized object.  ob_size and the type's sizes are the
 * target's data: a computation that overflows, or a slot outside the
 * object, is a dict we cannot find (0, and the object is partial). */
uint64_t pcc_python_dict_slot(struct pcc_python *py, uint64_t obj,
			      const struct pcc_type_info *ti, bool *bad)
{
	int64_t off = ti->dictoffset;
	if (off >= 0)
		return obj + (uint64_t)off;
	uint64_t size;
	if (!pcc_target_read_u64(py->t, obj + (uint64_t)py->off_size, &size)) {
		*bad = true;
		return 0;
	}
	int64_t n = (int64_t)size, total;
	if (n < 0 && __builtin_sub_overflow((int64_t)0, n, &n))
		goto bad;
	if (__builtin_mul_overflow(n, ti->itemsize, &total)
	    || __builtin_add_overflow(total, ti->basicsize, &total)
	    || __builtin_add_overflow(total, (int64_t)7, &total))
		goto bad;
	total &= ~(int64_t)7;
	if (__builtin_add_overflow(total, off, &total) || total < 0)
		goto bad;
	return obj + (uint64_t)total;
bad:
	*bad = true;
	return 0;
}

bool pcc_python_type_may_have_dict(const struct pcc_python *py,
				   const struct pcc_type_info *ti)
{
	if (!ti)
		return false;
	if (ti->kind == PCC_KIND_MODULE || ti->kind == PCC_KIND_MEMBERS)
		return true;
	return ti->kind == PCC_KIND_INSTANCE
	       && (pcc_python_has_managed_dict(py, ti) || ti->dictoffset);
}

uint64_t pcc_python_object_dict(struct pcc_python *py, uint64_t obj)
{
	return pcc_python_object_dict_of(py, obj, pcc_python_type_of(py, obj));
}

uint64_t pcc_python_object_dict_of(struct pcc_python *py, uint64_t obj,
				   const struct pcc_type_info *ti)
{
	uint64_t dict = 0;
	if (!ti)
		return 0;
	if (ti->kind == PCC_KIND_MODULE) {
		if (pcc_layout_has(&py->l, PCC_L_MODULE_DICT))
			pcc_target_read_u64(py->t, obj + py->l.off[PCC_L_MODULE_DICT],
					    &dict);
		return dict;
	}
	if (ti->kind == PCC_KIND_MEMBERS) {
		/* 2.7 classic instances and classes: in_dict, cl_dict. */
		int64_t off = pcc_layout_list_member(
			&py->l, (enum pcc_layout_list)ti->member_list, "__dict__");
		if (off >= 0)
			pcc_target_read_u64(py->t, obj + (uint64_t)off, &dict);
		return dict;
	}
	if (ti->kind != PCC_KIND_INSTANCE)
		return 0;
	if (pcc_python_has_managed_dict(py, ti)) {
		const struct pcc_version_traits *v = py->traits;
		if (!pcc_target_read_u64(py->t, obj + (uint64_t)v->managed_dict_offset,
					 &dict))
			return 0;
		return v->managed_dict == PCC_MANAGED_DICT_TAGGED && (dict & 1) ? 0
										 : dict;
	}
	if (!ti->dictoffset)
		return 0;
	bool bad = false;
	uint64_t ptr = pcc_python_dict_slot(py, obj, ti, &bad);
	if (!ptr || !pcc_target_read_u64(py->t, ptr, &dict))
		return 0;
	return dict;
}
