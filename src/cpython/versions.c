/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stddef.h>

#include "versions.h"

enum {
	MANAGED_DICT = 1u << 4,  /* Py_TPFLAGS_MANAGED_DICT, 3.11+ */
	MANAGED_WEAKREF = 1u << 3, /* Py_TPFLAGS_MANAGED_WEAKREF, 3.12+ */
	INLINE_VALUES = 1u << 2, /* Py_TPFLAGS_INLINE_VALUES, 3.13+ */
	MANAGED_DICT_OFFSET = -24, /* three words before the object */
};

/* Oldest first.  A row holds until the next. */
static const struct pcc_version_traits table[] = {
	{ .major = 2, .minor = 7, .int_sizeof_own_basicsize = true },
	{ .major = 3, .minor = 0, .gc_callbacks = true, .unicode_wstr = true,
	  .heap_type_method_slots = 3 + 51 },
	{ .major = 3, .minor = 9, .gc_callbacks = true, .unicode_wstr = true,
	  .heap_types_visit_self = true, .heap_type_method_slots = 3 + 51 },
	/* am_send joins PyAsyncMethods. */
	{ .major = 3, .minor = 10, .gc_callbacks = true, .unicode_wstr = true,
	  .heap_types_visit_self = true, .heap_type_method_slots = 4 + 51 },
	{ .major = 3, .minor = 11, .gc_callbacks = true,
	  .heap_types_visit_self = true, .heap_type_method_slots = 4 + 51,
	  .managed_dict = PCC_MANAGED_DICT_VALUES_POINTER,
	  .managed_dict_offset = MANAGED_DICT_OFFSET,
	  .managed_dict_flag = MANAGED_DICT,
	  .getsizeof_preheader = true, .preheader_flags = MANAGED_DICT,
	  .split_values_by_keys_usable = true, .unicode_wstr = true,
	  .int_one_digit_at_least = true },
	{ .major = 3, .minor = 12, .gc_callbacks = true,
	  .heap_types_visit_self = true, .heap_type_method_slots = 4 + 51,
	  .managed_dict = PCC_MANAGED_DICT_TAGGED,
	  .managed_dict_offset = MANAGED_DICT_OFFSET,
	  .managed_dict_flag = MANAGED_DICT, .immortal_refcnt = true,
	  .getsizeof_preheader = true,
	  .preheader_flags = MANAGED_DICT | MANAGED_WEAKREF,
	  .split_values_by_keys_usable = true, .int_digits_tagged = true, .int_one_digit_at_least = true },
	{ .major = 3, .minor = 13, .gc_callbacks = true,
	  .heap_types_visit_self = true, .heap_type_method_slots = 4 + 51,
	  .managed_dict = PCC_MANAGED_DICT_INLINE_VALUES,
	  .managed_dict_offset = MANAGED_DICT_OFFSET,
	  .managed_dict_flag = MANAGED_DICT, .inline_values_flag = INLINE_VALUES,
	  .getsizeof_preheader = true, .getsizeof_static_types_bare = true,
	  .int_sizeof_own_basicsize = true,
	  .preheader_flags = MANAGED_DICT | MANAGED_WEAKREF,
	  .split_values_by_keys_usable = true, .int_digits_tagged = true, .int_one_digit_at_least = true,
	  .immortal_refcnt = true, .inline_values_owner_only_below_micro = 13 },
	{ .major = 3, .minor = 14, .gc_callbacks = true,
	  .heap_types_visit_self = true, .heap_type_method_slots = 4 + 51,
	  .managed_dict = PCC_MANAGED_DICT_INLINE_VALUES,
	  .managed_dict_offset = MANAGED_DICT_OFFSET,
	  .managed_dict_flag = MANAGED_DICT, .inline_values_flag = INLINE_VALUES,
	  .getsizeof_preheader = true, .getsizeof_static_types_bare = true,
	  .int_sizeof_own_basicsize = true,
	  .preheader_flags = MANAGED_DICT | MANAGED_WEAKREF,
	  .split_values_by_keys_usable = true, .int_digits_tagged = true, .int_one_digit_at_least = true,
	  .immortal_refcnt = true, .refcnt_low32 = true,
	  .inline_values_owner_only_below_micro = 4 },
	{ .major = 3, .minor = 15, .gc_callbacks = true,
	  .heap_types_visit_self = true, .heap_type_method_slots = 4 + 51,
	  .managed_dict = PCC_MANAGED_DICT_INLINE_VALUES,
	  .managed_dict_offset = MANAGED_DICT_OFFSET,
	  .managed_dict_flag = MANAGED_DICT, .inline_values_flag = INLINE_VALUES,
	  .getsizeof_preheader = true, .getsizeof_static_types_bare = true,
	  .int_sizeof_own_basicsize = true,
	  .preheader_flags = MANAGED_DICT | MANAGED_WEAKREF,
	  .split_values_by_keys_usable = true, .int_digits_tagged = true, .int_one_digit_at_least = true,
	  .immortal_refcnt = true, .refcnt_low32 = true },
};

const struct pcc_version_traits *pcc_version_traits(int major, int minor)
{
	const struct pcc_version_traits *found = NULL;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct pcc_version_traits *v = &table[i];
		if (v->major < major || (v->major == major && v->minor <= minor))
			found = v;
	}
	return found;
}

bool pcc_version_inline_values_owner_only(const struct pcc_version_traits *v,
					  int micro)
{
	return v && micro < v->inline_values_owner_only_below_micro;
}
