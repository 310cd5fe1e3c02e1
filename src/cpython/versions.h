/* SPDX-License-Identifier: MIT */
/*
 * How the interpreter versions differ, in one table (versions.c): what a
 * reader of the object model must know of a version beyond the struct
 * layouts, which come from DWARF or the built-in tables.  "How does 3.11
 * differ from 3.12" is two rows of it.  Nothing else compares version
 * numbers: the code asks for a trait.
 */
#ifndef PCC_VERSIONS_H
#define PCC_VERSIONS_H

#include <stdbool.h>
#include <stdint.h>

/* Where an instance of a Py_TPFLAGS_MANAGED_DICT type keeps its dict. */
enum pcc_managed_dict {
	PCC_MANAGED_DICT_NONE, /* no such flag: tp_dictoffset only */
	/* 3.11: the dict pointer at managed_dict_offset, a values pointer
	 * one word before it. */
	PCC_MANAGED_DICT_VALUES_POINTER,
	/* 3.12: the dict, or a values pointer tagged with bit 0, in one
	 * word at managed_dict_offset. */
	PCC_MANAGED_DICT_TAGGED,
	/* 3.13+: the dict at managed_dict_offset; values inline after the
	 * object (Py_TPFLAGS_INLINE_VALUES). */
	PCC_MANAGED_DICT_INLINE_VALUES,
};

struct pcc_version_traits {
	int major, minor; /* the row holds from this version on */
	enum pcc_managed_dict managed_dict;
	int64_t managed_dict_offset; /* from the object: MANAGED_DICT_OFFSET */
	uint64_t managed_dict_flag, inline_values_flag; /* tp_flags bits */
	/* sys.getsizeof adds the pre-header (_PyType_PreHeaderSize, 3.11+):
	 * the GC head of a GC type and two words for a type with any of
	 * these tp_flags; before it, the GC head of a GC object only. */
	bool getsizeof_preheader;
	uint64_t preheader_flags;
	/* ... but not to a static type (3.13+; 3.11.7 and 3.12.1 add the GC
	 * head to every type object). */
	bool getsizeof_static_types_bare;
	/* dict.__sizeof__ counts a split dict's values as the shared keys'
	 * dk_nentries + dk_usable (3.11+), not the keys' usable fraction. */
	bool split_values_by_keys_usable;
	/* The pointers of the method tables PyHeapTypeObject holds between
	 * its PyTypeObject and ht_name (as_async, as_number, as_mapping,
	 * as_sequence, as_buffer): sizeof(PyTypeObject), type.__sizeof__ of
	 * a static type, follows from ht_name's offset.  0: unknown. */
	int heap_type_method_slots;
	/* str.__sizeof__ counts a wchar_t copy of the text (3.0-3.11). */
	bool unicode_wstr;
	/* int.__sizeof__ counts digits by lv_tag >> 3, one at least (3.12+);
	 * before, by |ob_size|. */
	bool int_digits_tagged;
	/* ... and one digit at least, zero's (3.11+, gh-100637). */
	bool int_one_digit_at_least;
	/* ... after the object's own tp_basicsize (2.7's long, 3.13+), not
	 * int's (offsetof(PyLongObject, ob_digit)). */
	bool int_sizeof_own_basicsize;
	/* 3.12+: an immortal object's refcount has bit 31 set (PEP 683). */
	bool immortal_refcnt;
	/* 3.14+: the count is the low 32 bits of ob_refcnt. */
	bool refcnt_low32;
	/* bpo-40217, 3.9.0: a heap type's traversal visits Py_TYPE(self),
	 * and subtype_traverse leaves that to a base whose type is a heap
	 * type. */
	bool heap_types_visit_self;
	/* gc.callbacks (3.3+). */
	bool gc_callbacks;
	/* gh-130327 made a managed dict visit embedded values and the owner
	 * prefer its dict; before it (micro versions below this one; 0:
	 * never), inline values are visited by the owner only and preferred
	 * over the dict.  Merged for 3.13.13 and 3.14.4 by our reading of
	 * the release dates. */
	int inline_values_owner_only_below_micro;
};

/* The traits of major.minor: its row, or the newest row before it for a
 * version newer than the table.  NULL for a version older than the table
 * (below 2.7). */
const struct pcc_version_traits *pcc_version_traits(int major, int minor);

/* The micro-version trait, for major.minor.micro. */
bool pcc_version_inline_values_owner_only(const struct pcc_version_traits *v,
					  int micro);

#endif
