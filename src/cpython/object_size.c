/* SPDX-License-Identifier: MIT */
/*
 * Which __sizeof__ a type resolves to: the first class of its MRO that
 * defines one (in its dict for a heap type, in its method table for a
 * static one).  object's, list's, set's, frozenset's and dict's are
 * reproduced here; every other makes the type's sizes a lower bound.
 */
#include "config.h"

#include <string.h>

#include "interpreter.h"
#include "io_objects.h"
#include "object_size.h"
#include "types.h"

enum {
	MAX_MRO = 256,
	MAX_METHODS = 1024,
	/* PyMethodDef is in the stable ABI: ml_name first, 32 bytes. */
	METHODDEF_SIZE = 32,
	PREHEADER_WORDS_BYTES = 2 * 8,
	DICT_KEYS_GENERAL = 0, /* dk_kind, 3.11+ */
	MAX_LOG2_SIZE = 40,
};

static bool names_sizeof(struct pcc_python *py, uint64_t name)
{
	static const char want[] = "__sizeof__";
	char buf[sizeof(want)];
	return name && pcc_target_read(py->t, name, buf, sizeof(buf))
	       && memcmp(buf, want, sizeof(want)) == 0;
}

/* Whether a static type's tp_methods has __sizeof__; *unreadable when
 * the table cannot be read to its end. */
static bool static_defines_sizeof(struct pcc_python *py, uint64_t type,
				  bool *unreadable)
{
	const struct pcc_layout *l = &py->l;
	uint64_t methods;
	if (!pcc_layout_has(l, PCC_L_TP_METHODS)
	    || !pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_METHODS], &methods)) {
		*unreadable = true;
		return false;
	}
	for (unsigned i = 0; methods && i < MAX_METHODS; i++) {
		uint64_t name;
		if (!pcc_target_read_u64(py->t, methods + (uint64_t)i * METHODDEF_SIZE,
					 &name)) {
			*unreadable = true;
			return false;
		}
		if (!name)
			return false;
		if (names_sizeof(py, name))
			return true;
	}
	*unreadable = methods != 0; /* no end in sight */
	return false;
}

static bool heap_defines_sizeof(struct pcc_python *py, uint64_t type,
				bool *unreadable)
{
	uint64_t dict;
	if (!pcc_layout_has(&py->l, PCC_L_TP_DICT)
	    || !pcc_target_read_u64(py->t, type + py->l.off[PCC_L_TP_DICT], &dict)
	    || !dict) {
		*unreadable = true;
		return false;
	}
	return pcc_python_dict_get(py, dict, "__sizeof__") != 0;
}

/* The rule of the __sizeof__ ti's MRO resolves to; *exact when it is one
 * reproduced here. */
static enum pcc_size_rule rule_of(struct pcc_python *py,
				  const struct pcc_type_info *ti, bool *exact)
{
	const struct pcc_layout *l = &py->l;
	*exact = false;
	uint64_t mro, n;
	if (!pcc_layout_has(l, PCC_L_TP_MRO) || !pcc_layout_has(l, PCC_L_TUPLE_ITEMS)
	    || !pcc_target_read_u64(py->t, ti->addr + l->off[PCC_L_TP_MRO], &mro)
	    || !mro || !pcc_target_read_u64(py->t, mro + (uint64_t)py->off_size, &n)
	    || n > MAX_MRO)
		return PCC_SIZE_STRUCT;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t m, flags;
		if (!pcc_target_read_u64(py->t, mro + l->off[PCC_L_TUPLE_ITEMS] + 8 * i, &m)
		    || !m
		    || !pcc_target_read_u64(py->t, m + l->off[PCC_L_TP_FLAGS], &flags))
			return PCC_SIZE_STRUCT;
		bool unreadable = false;
		bool defines = (flags & PCC_TPFLAGS_HEAPTYPE)
				       ? heap_defines_sizeof(py, m, &unreadable)
				       : static_defines_sizeof(py, m, &unreadable);
		if (unreadable)
			return PCC_SIZE_STRUCT;
		if (!defines)
			continue;
		enum pcc_size_rule rule =
			m == py->object_type ? PCC_SIZE_OBJECT
			: m == py->list_type ? PCC_SIZE_LIST
			: m == py->dict_type ? PCC_SIZE_DICT
			: m == py->set_type || m == py->frozenset_type ? PCC_SIZE_SET
									: PCC_SIZE_STRUCT;
		*exact = rule != PCC_SIZE_STRUCT;
		return rule;
	}
	return PCC_SIZE_STRUCT;
}

/* What getsizeof adds before the objects of the type, and whether an
 * object may differ (before_object): a type object of PyType_Type (3.11+
 * adds none before a static one), and before 3.11 an object whose type's
 * tp_is_gc decides whether it is a GC object. */
static void bytes_before(const struct pcc_python *py, struct pcc_type_info *ti)
{
	bool preheader = py->traits && py->traits->getsizeof_preheader;
	bool gc = ti->flags & PCC_TPFLAGS_HAVE_GC;
	if (!preheader && ti->is_gc == PCC_IS_GC_NO)
		gc = false;
	uint64_t before = gc ? (uint64_t)py->gc_head_size : 0;
	if (preheader && (ti->flags & py->traits->preheader_flags))
		before += PREHEADER_WORDS_BYTES;
	ti->size_before = (uint8_t)before;
	ti->size_before_varies = preheader ? ti->addr == py->type_type
					   : gc && ti->is_gc != PCC_IS_GC_YES;
}

/* The size of every object of ti, when its objects cannot differ (no
 * items, no tables, the same bytes before each); else 0. */
static uint32_t fixed_size(const struct pcc_type_info *ti)
{
	bool struct_only = ti->size_rule == PCC_SIZE_STRUCT
			   || (ti->size_rule == PCC_SIZE_OBJECT && ti->itemsize <= 0);
	uint64_t bytes = (ti->basicsize > 0 ? (uint64_t)ti->basicsize : 0)
			 + ti->size_before;
	return struct_only && !ti->size_before_varies && bytes < UINT32_MAX / 2
		       ? (uint32_t)bytes
		       : 0;
}

/* Where the rule finds a count of items in the object, and their bytes
 * (size_count_each 0: no such count). */
static void count_items(const struct pcc_python *py, struct pcc_type_info *ti)
{
	const struct pcc_layout *l = &py->l;
	ti->size_count_each = 0;
	if (ti->size_rule == PCC_SIZE_LIST && pcc_layout_has(l, PCC_L_LIST_ALLOCATED)) {
		ti->size_count_at = (uint32_t)l->off[PCC_L_LIST_ALLOCATED];
		ti->size_count_each = 8;
	} else if (ti->size_rule == PCC_SIZE_OBJECT && ti->itemsize > 0
		   && ti->itemsize <= UINT16_MAX) {
		ti->size_count_at = (uint32_t)py->off_size;
		ti->size_count_each = (uint16_t)ti->itemsize;
	}
}

void pcc_python_resolve_sizes(struct pcc_python *py)
{
	if (!py->size_limit) {
		py->size_limit = pcc_python_mapped_bytes(py);
		if (!py->object_type) {
			const struct pcc_debuginfo *di = py->di;
			py->object_type = pcc_debuginfo_symbol(di, "PyBaseObject_Type", NULL);
			py->list_type = pcc_debuginfo_symbol(di, "PyList_Type", NULL);
			py->set_type = pcc_debuginfo_symbol(di, "PySet_Type", NULL);
			py->frozenset_type = pcc_debuginfo_symbol(di, "PyFrozenSet_Type", NULL);
			py->dict_type = pcc_debuginfo_symbol(di, "PyDict_Type", NULL);
		}
	}
	bool preheader = py->traits && py->traits->getsizeof_preheader;
	/* Reading a type's dict may describe more types: they are next. */
	while (py->sizes_resolved < pcc_python_type_count(py)) {
		struct pcc_type_info *ti = pcc_python_type_by_id(py, py->sizes_resolved++);
		bool exact;
		ti->size_rule = (uint8_t)rule_of(py, ti, &exact);
		bytes_before(py, ti);
		/* Before 3.11 the GC head counts when the object is a GC
		 * object, which a type's own tp_is_gc may decide. */
		ti->size_exact = exact
				 && (preheader || ti->is_gc != PCC_IS_GC_UNDECIDED);
		ti->size_fixed = fixed_size(ti);
		count_items(py, ti);
	}
}

/* count items of each bytes, or 0 if that is more than the target has
 * (no division: a call per container). */
static uint64_t items_bytes(const struct pcc_python *py, uint64_t count,
			    uint64_t each)
{
	uint64_t bytes;
	if (__builtin_mul_overflow(count, each, &bytes) || bytes > py->size_limit)
		return 0;
	return bytes;
}

static bool read_u8(struct pcc_python *py, uint64_t addr, uint64_t *v)
{
	const uint8_t *b = pcc_target_ptr(py->t, addr, 1);
	if (!b)
		return false;
	*v = *b;
	return true;
}

/* A keys object's table (3.6+): its size in slots, the bytes of its
 * indices and of an entry; false if unreadable. */
static bool keys_table(struct pcc_python *py, uint64_t keys, uint64_t *size,
		       uint64_t *index_bytes, uint64_t *entry)
{
	const struct pcc_layout *l = &py->l;
	uint64_t log2, log2_index, kind;
	if (pcc_layout_has(l, PCC_L_DK_SIZE)) { /* 3.6-3.10 */
		if (!pcc_target_read_u64(py->t, keys + l->off[PCC_L_DK_SIZE], size))
			return false;
		unsigned ix = *size <= 0xff ? 1 : *size <= 0xffff ? 2
						: *size <= 0xffffffff ? 4 : 8;
		*index_bytes = items_bytes(py, *size, ix);
		*entry = (uint64_t)l->off[PCC_L_DKE_SIZE];
		return true;
	}
	if (!pcc_layout_has(l, PCC_L_DK_LOG2_SIZE)
	    || !pcc_layout_has(l, PCC_L_DK_LOG2_INDEX_BYTES)
	    || !pcc_layout_has(l, PCC_L_DK_KIND) || !pcc_layout_has(l, PCC_L_DKUE_SIZE)
	    || !read_u8(py, keys + l->off[PCC_L_DK_LOG2_SIZE], &log2)
	    || !read_u8(py, keys + l->off[PCC_L_DK_LOG2_INDEX_BYTES], &log2_index)
	    || !read_u8(py, keys + l->off[PCC_L_DK_KIND], &kind)
	    || log2 > MAX_LOG2_SIZE || log2_index > MAX_LOG2_SIZE + 3)
		return false;
	*size = UINT64_C(1) << log2;
	*index_bytes = UINT64_C(1) << log2_index;
	*entry = (uint64_t)(kind == DICT_KEYS_GENERAL ? l->off[PCC_L_DKE_SIZE]
						     : l->off[PCC_L_DKUE_SIZE]);
	return true;
}

/* A hash table of mask + 1 entries, counted when it is not the small one
 * inside the object's struct (struct_bytes): a set's, a 2.7 dict's. */
static uint64_t own_table_bytes(struct pcc_python *py, uint64_t obj,
				uint64_t struct_bytes, enum pcc_layout_field table_at,
				enum pcc_layout_field mask_at,
				enum pcc_layout_field entry_size)
{
	const struct pcc_layout *l = &py->l;
	uint64_t table, mask;
	if (pcc_layout_has(l, table_at) && pcc_layout_has(l, mask_at)
	    && pcc_layout_has(l, entry_size)
	    && pcc_target_read_u64(py->t, obj + l->off[table_at], &table)
	    && (table < obj || table - obj >= struct_bytes)
	    && pcc_target_read_u64(py->t, obj + l->off[mask_at], &mask)
	    && mask < UINT64_MAX)
		return items_bytes(py, mask + 1, (uint64_t)l->off[entry_size]);
	return 0;
}

/* What dict.__sizeof__ adds to the dict's struct (struct_bytes). */
static uint64_t dict_tables(struct pcc_python *py, uint64_t obj,
			    uint64_t struct_bytes)
{
	const struct pcc_layout *l = &py->l;
	uint64_t keys, values, refcnt, size, index_bytes, entry;
	if (pcc_layout_has(l, PCC_L_DICT_TABLE)) /* 2.7 */
		return own_table_bytes(py, obj, struct_bytes, PCC_L_DICT_TABLE,
				       PCC_L_DICT_MASK, PCC_L_DKE_SIZE);
	if (!pcc_layout_has(l, PCC_L_DICT_KEYS) || !pcc_layout_has(l, PCC_L_DICT_VALUES)
	    || !pcc_layout_has(l, PCC_L_DK_REFCNT) || !pcc_layout_has(l, PCC_L_DK_INDICES)
	    || !pcc_target_read_u64(py->t, obj + l->off[PCC_L_DICT_KEYS], &keys)
	    || !pcc_target_read_u64(py->t, obj + l->off[PCC_L_DICT_VALUES], &values)
	    || !pcc_target_read_u64(py->t, keys + l->off[PCC_L_DK_REFCNT], &refcnt)
	    || !keys_table(py, keys, &size, &index_bytes, &entry))
		return 0;
	uint64_t usable = size > UINT64_MAX / 2 ? 0 : (size << 1) / 3;
	uint64_t bytes = 0;
	if (values) {
		uint64_t nentries, dk_usable;
		if (!py->traits || !py->traits->split_values_by_keys_usable)
			bytes += items_bytes(py, usable, 8);
		else if (pcc_layout_has(l, PCC_L_DK_USABLE)
			 && pcc_target_read_u64(py->t, keys + l->off[PCC_L_DK_NENTRIES],
						&nentries)
			 && pcc_target_read_u64(py->t, keys + l->off[PCC_L_DK_USABLE],
						&dk_usable)
			 && nentries + dk_usable >= nentries)
			bytes += items_bytes(py, nentries + dk_usable, 8);
	}
	/* Keys that several dicts share are the type's. */
	if (refcnt == 1)
		bytes += (uint64_t)l->off[PCC_L_DK_INDICES] + index_bytes
			 + items_bytes(py, usable, entry);
	return bytes;
}

/* getsizeof's bytes before an object of a type whose objects differ
 * there (bytes_before). */
static uint64_t before_object(struct pcc_python *py,
			      const struct pcc_type_info *ti, uint64_t obj)
{
	if (py->traits && py->traits->getsizeof_preheader) {
		uint64_t flags;
		if (pcc_target_read_u64(py->t, obj + py->l.off[PCC_L_TP_FLAGS], &flags)
		    && !(flags & PCC_TPFLAGS_HEAPTYPE))
			return 0;
		return ti->size_before;
	}
	return pcc_python_is_gc(py, ti, obj) == PCC_IS_GC_YES ? ti->size_before : 0;
}

/* The part of the size that depends on the object's tables. */
static uint64_t tables_bytes(struct pcc_python *py, const struct pcc_type_info *ti,
			     uint64_t obj, uint64_t struct_bytes)
{
	switch ((enum pcc_size_rule)ti->size_rule) {
	case PCC_SIZE_SET:
		return own_table_bytes(py, obj, struct_bytes, PCC_L_SET_TABLE,
				       PCC_L_SET_MASK, PCC_L_SETENTRY_SIZE);
	case PCC_SIZE_DICT:
		return dict_tables(py, obj, struct_bytes);
	default:
		return 0;
	}
}

uint64_t pcc_python_object_size(struct pcc_python *py,
				const struct pcc_type_info *ti, uint64_t obj)
{
	if (!ti)
		return 0;
	uint64_t bytes = ti->basicsize > 0 ? (uint64_t)ti->basicsize : 0;
	if (ti->size_count_each) {
		/* A count of items in the object: a list's allocated, a
		 * var-sized object's ob_size. */
		uint64_t n;
		if (pcc_target_read_u64(py->t, obj + ti->size_count_at, &n) && (int64_t)n > 0)
			bytes += items_bytes(py, n, ti->size_count_each);
	} else if (ti->size_rule == PCC_SIZE_SET || ti->size_rule == PCC_SIZE_DICT) {
		bytes += tables_bytes(py, ti, obj, bytes);
	}
	return bytes + (ti->size_before_varies ? before_object(py, ti, obj)
					       : ti->size_before);
}
