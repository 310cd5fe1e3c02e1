/* SPDX-License-Identifier: MIT */
/*
 * Which __sizeof__ a type resolves to: the first class of its MRO that
 * defines one (in its dict for a heap type, in its method table for a
 * static one).  object's, list's, set's, frozenset's, dict's, int's and
 * str's are reproduced here (and 2.7's str's and tuple's, which are
 * object's rule); every other makes the type's sizes a lower bound.
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
	/* PyLongObject.long_value.lv_tag, 3.12+: the digits above these. */
	INT_TAG_BITS = 3,
	/* PyASCIIObject.state: kind:3 after interned:2, then compact,
	 * ascii, and to 3.11 ready. */
	STATE_KIND_SHIFT = 2,
	STATE_COMPACT = 1 << 5,
	STATE_ASCII = 1 << 6,
	STATE_READY = 1 << 7,
	WCHAR_BYTES = 4, /* wchar_t on Linux */
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

/* The rules of the types of extension modules that CPython ships, known
 * by their traversal and their name: a look-alike of another name keeps
 * the lower bound. */
static const struct {
	enum pcc_kind kind;
	const char *name;
	enum pcc_size_rule rule;
	enum pcc_layout_field needs;
} module_rules[] = {
	{ PCC_KIND_DEQUE, "collections.deque", PCC_SIZE_DEQUE, PCC_L_DEQUE_LEFTINDEX },
	{ PCC_KIND_ORDEREDDICT, "collections.OrderedDict", PCC_SIZE_ODICT,
	  PCC_L_ODICT_FAST_NODES_SIZE },
	{ PCC_KIND_BUFFERED, "_io.BufferedReader", PCC_SIZE_BUFFERED,
	  PCC_L_BUFFERED_BUFFER_SIZE },
	{ PCC_KIND_BUFFERED, "_io.BufferedWriter", PCC_SIZE_BUFFERED,
	  PCC_L_BUFFERED_BUFFER_SIZE },
	{ PCC_KIND_BUFFERED, "_io.BufferedRandom", PCC_SIZE_BUFFERED,
	  PCC_L_BUFFERED_BUFFER_SIZE },
};

static enum pcc_size_rule module_rule(struct pcc_python *py, uint64_t m)
{
	struct pcc_type_info *mi = pcc_python_type(py, m);
	if (!mi)
		return PCC_SIZE_STRUCT;
	for (size_t i = 0; i < sizeof(module_rules) / sizeof(module_rules[0]); i++)
		if (mi->kind == module_rules[i].kind
		    && pcc_layout_has(&py->l, module_rules[i].needs)
		    && strcmp(pcc_python_type_name(py, mi), module_rules[i].name) == 0)
			return module_rules[i].rule;
	return PCC_SIZE_STRUCT;
}

/* The rule of the __sizeof__ that type m defines. */
static enum pcc_size_rule defined_rule(struct pcc_python *py, uint64_t m)
{
	if (m == py->object_type || m == py->bytes_type || m == py->tuple_type)
		return PCC_SIZE_OBJECT; /* 2.7's str and tuple: object's rule */
	if (m == py->list_type)
		return PCC_SIZE_LIST;
	if (m == py->dict_type)
		return PCC_SIZE_DICT;
	if (m == py->set_type || m == py->frozenset_type)
		return PCC_SIZE_SET;
	if (m == py->long_type)
		return PCC_SIZE_INT;
	bool unicode_known = pcc_layout_has(&py->l, PCC_L_UNICODE_STR)
				     ? py->unicode_width && py->unicode_struct_size
				     : pcc_layout_has(&py->l, PCC_L_COMPACT_SIZE)
					       && pcc_layout_has(&py->l, PCC_L_ASCII_STATE);
	if (m == py->unicode_type && unicode_known)
		return PCC_SIZE_STR;
	if (m == py->type_type)
		return py->static_type_size ? PCC_SIZE_TYPE : PCC_SIZE_STRUCT;
	return module_rule(py, m);
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
		enum pcc_size_rule rule = defined_rule(py, m);
		*exact = rule != PCC_SIZE_STRUCT;
		return rule;
	}
	return PCC_SIZE_STRUCT;
}

/* What getsizeof adds before the objects of the type, and whether an
 * object may differ (before_object): a type object of PyType_Type (3.13+
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
						     && py->traits->getsizeof_static_types_bare
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

/* sizeof(PyTypeObject): where PyHeapTypeObject's method tables begin, or
 * ht_name less the tables. */
static uint64_t static_type_size(const struct pcc_python *py)
{
	const struct pcc_layout *l = &py->l;
	if (pcc_layout_has(l, PCC_L_HT_AS_ASYNC))
		return (uint64_t)l->off[PCC_L_HT_AS_ASYNC];
	int slots = py->traits ? py->traits->heap_type_method_slots : 0;
	if (slots && pcc_layout_has(l, PCC_L_HT_NAME) && l->off[PCC_L_HT_NAME] > 8 * slots)
		return (uint64_t)(l->off[PCC_L_HT_NAME] - 8 * slots);
	return 0;
}

/* The struct a rule counts (pcc_type_info.size_base). */
static uint32_t base_of_rule(struct pcc_python *py, const struct pcc_type_info *ti)
{
	uint64_t of = 0;
	if (ti->size_rule == PCC_SIZE_TYPE)
		of = py->type_type; /* sizeof(PyHeapTypeObject) */
	else if (ti->size_rule == PCC_SIZE_INT)
		of = py->traits && py->traits->int_sizeof_own_basicsize ? ti->addr
									: py->long_type;
	const struct pcc_type_info *t = of ? pcc_python_type(py, of) : NULL;
	return t && t->basicsize > 0 && t->basicsize < UINT16_MAX ? (uint32_t)t->basicsize
								  : 0;
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
			py->long_type = pcc_debuginfo_symbol(di, "PyLong_Type", NULL);
			py->tuple_type = pcc_debuginfo_symbol(di, "PyTuple_Type", NULL);
			py->bytes_type = pcc_debuginfo_symbol(di, "PyBytes_Type", NULL);
			if (!py->bytes_type)
				py->bytes_type = pcc_debuginfo_symbol(di, "PyString_Type",
								      NULL);
			py->static_type_size = static_type_size(py);
			if (!pcc_layout_has(&py->l, PCC_L_UNICODE_STR)
			    || !pcc_target_read_u64(py->t, py->unicode_type
							   + py->l.off[PCC_L_TP_BASICSIZE],
						    &py->unicode_struct_size)
			    || py->unicode_struct_size > UINT16_MAX)
				py->unicode_struct_size = 0;
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
		ti->size_base = base_of_rule(py, ti);
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

/* The bytes of a keys object of size slots (_PyDict_KeysSize). */
static uint64_t keys_bytes(struct pcc_python *py, uint64_t size,
			   uint64_t index_bytes, uint64_t entry)
{
	uint64_t usable = size > UINT64_MAX / 2 ? 0 : (size << 1) / 3;
	return (uint64_t)py->l.off[PCC_L_DK_INDICES] + index_bytes
	       + items_bytes(py, usable, entry);
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
		bytes += keys_bytes(py, size, index_bytes, entry);
	return bytes;
}

/* type.__sizeof__: a heap type's struct (the definer's, type's
 * tp_basicsize) and its instances' cached keys; a static type's. */
static uint64_t type_size(struct pcc_python *py, const struct pcc_type_info *ti,
			  uint64_t obj)
{
	const struct pcc_layout *l = &py->l;
	uint64_t flags, keys, size, index_bytes, entry;
	if (!pcc_target_read_u64(py->t, obj + l->off[PCC_L_TP_FLAGS], &flags))
		return ti->size_base;
	if (!(flags & PCC_TPFLAGS_HEAPTYPE))
		return py->static_type_size;
	if (pcc_layout_has(l, PCC_L_HT_CACHED_KEYS)
	    && pcc_target_read_u64(py->t, obj + l->off[PCC_L_HT_CACHED_KEYS], &keys)
	    && keys && keys_table(py, keys, &size, &index_bytes, &entry))
		return ti->size_base + keys_bytes(py, size, index_bytes, entry);
	return ti->size_base;
}

enum {
	ODICT_NODE_BYTES = 4 * 8, /* key, hash, next, prev */
	BLOCK_LINKS_BYTES = 2 * 8,
};

/* deque.__sizeof__: the blocks its items span. */
static uint64_t deque_blocks_bytes(struct pcc_python *py, uint64_t obj)
{
	const struct pcc_layout *l = &py->l;
	int64_t blocklen = l->count[PCC_L_BLOCK_DATA];
	uint64_t index, len;
	if (blocklen <= 0
	    || !pcc_target_read_u64(py->t, obj + l->off[PCC_L_DEQUE_LEFTINDEX], &index)
	    || !pcc_target_read_u64(py->t, obj + l->off[PCC_L_DEQUE_LEN], &len)
	    || index >= (uint64_t)blocklen || len > py->size_limit)
		return 0;
	uint64_t blocks = (index + len + (uint64_t)blocklen - 1) / (uint64_t)blocklen;
	return items_bytes(py, blocks, BLOCK_LINKS_BYTES + 8 * (uint64_t)blocklen);
}

/* What OrderedDict.__sizeof__ adds to dict's: its table of nodes by
 * slot, and a node per item. */
static uint64_t odict_nodes_bytes(struct pcc_python *py, uint64_t obj)
{
	const struct pcc_layout *l = &py->l;
	uint64_t fast, first, used, bytes = 0;
	if (pcc_target_read_u64(py->t, obj + l->off[PCC_L_ODICT_FAST_NODES_SIZE], &fast))
		bytes += items_bytes(py, fast, 8);
	if (pcc_target_read_u64(py->t, obj + l->off[PCC_L_ODICT_FIRST], &first) && first
	    && pcc_target_read_u64(py->t, obj + l->off[PCC_L_DICT_USED], &used))
		bytes += items_bytes(py, used, ODICT_NODE_BYTES);
	return bytes;
}

/* A buffered object's buffer. */
static uint64_t buffer_bytes(struct pcc_python *py, uint64_t obj)
{
	const struct pcc_layout *l = &py->l;
	uint64_t buffer, size;
	if (!pcc_target_read_u64(py->t, obj + l->off[PCC_L_BUFFERED_BUFFER], &buffer)
	    || !buffer
	    || !pcc_target_read_u64(py->t, obj + l->off[PCC_L_BUFFERED_BUFFER_SIZE],
				    &size)
	    || size > py->size_limit)
		return 0;
	return size;
}

/* 3.0-3.11: the wchar_t copy of a string's text, when it has one that
 * is not the text itself (data); wstr_length wide characters. */
static uint64_t wstr_bytes(struct pcc_python *py, uint64_t obj, uint32_t state,
			   uint64_t data, uint64_t wstr_length)
{
	uint64_t wstr;
	if (!py->traits || !py->traits->unicode_wstr
	    || !pcc_target_read_u64(py->t,
				    obj + (uint64_t)py->l.off[PCC_L_ASCII_SIZE] - 8,
				    &wstr)
	    || !wstr || ((state & STATE_READY) && wstr == data)
	    || wstr_length >= py->size_limit)
		return 0;
	return items_bytes(py, wstr_length + 1, WCHAR_BYTES);
}

/* int.__sizeof__: tp_basicsize and the digits. */
static uint64_t int_bytes(struct pcc_python *py, const struct pcc_type_info *ti,
			  uint64_t obj)
{
	uint64_t word, digits;
	if (!pcc_target_read_u64(py->t, obj + (uint64_t)py->off_size, &word)
	    || ti->itemsize <= 0)
		return 0;
	if (py->traits && py->traits->int_digits_tagged) {
		digits = word >> INT_TAG_BITS;
	} else {
		int64_t size = (int64_t)word;
		digits = size < 0 ? -(uint64_t)size : (uint64_t)size;
	}
	if (!digits && py->traits && py->traits->int_one_digit_at_least)
		digits = 1; /* zero has room for one */
	return items_bytes(py, digits, (uint64_t)ti->itemsize);
}

/* str.__sizeof__, which counts sizeof(PyUnicodeObject) and not a
 * subclass's tp_basicsize: the struct of the string's form (compact
 * ASCII, compact, or its text elsewhere), the text, and the UTF-8 and
 * wchar_t copies that are not the text itself. */
static uint64_t str_size(struct pcc_python *py, uint64_t obj)
{
	const struct pcc_layout *l = &py->l;
	uint64_t length;
	if (pcc_layout_has(l, PCC_L_UNICODE_STR)) /* 2.7 */
		return pcc_target_read_u64(py->t, obj + l->off[PCC_L_UNICODE_LENGTH],
					   &length) && length < py->size_limit
			       ? py->unicode_struct_size
					 + items_bytes(py, length + 1,
						       (uint64_t)py->unicode_width)
			       : py->unicode_struct_size;
	uint64_t ascii_size = (uint64_t)l->off[PCC_L_ASCII_SIZE];
	uint64_t compact_size = (uint64_t)l->off[PCC_L_COMPACT_SIZE];
	uint64_t unicode_size = compact_size + 8; /* and the data pointer */
	uint32_t state;
	if (!pcc_target_read_u64(py->t, obj + l->off[PCC_L_ASCII_LENGTH], &length)
	    || !pcc_target_read_u32(py->t, obj + l->off[PCC_L_ASCII_STATE], &state)
	    || length >= py->size_limit)
		return unicode_size;
	uint64_t kind = state >> STATE_KIND_SHIFT & 7;
	bool compact = state & STATE_COMPACT, ascii = state & STATE_ASCII;
	if (compact && ascii) /* utf8 is the text; wstr_length the length */
		return ascii_size + length + 1
		       + wstr_bytes(py, obj, state, obj + ascii_size, length);
	uint64_t bytes, data;
	if (compact) {
		data = obj + compact_size;
		bytes = compact_size + items_bytes(py, length + 1, kind);
	} else {
		if (!pcc_target_read_u64(py->t, obj + compact_size, &data))
			return unicode_size;
		bytes = unicode_size + (data ? items_bytes(py, length + 1, kind) : 0);
	}
	uint64_t utf8, utf8_length, wstr_length;
	if (pcc_target_read_u64(py->t, obj + ascii_size + 8, &utf8) && utf8
	    && utf8 != data
	    && pcc_target_read_u64(py->t, obj + ascii_size, &utf8_length)
	    && utf8_length < py->size_limit)
		bytes += utf8_length + 1;
	if (py->traits && py->traits->unicode_wstr
	    && pcc_target_read_u64(py->t, obj + ascii_size + 16, &wstr_length))
		bytes += wstr_bytes(py, obj, state, data, wstr_length);
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
	case PCC_SIZE_ODICT:
		return dict_tables(py, obj, struct_bytes) + odict_nodes_bytes(py, obj);
	case PCC_SIZE_DEQUE:
		return deque_blocks_bytes(py, obj);
	case PCC_SIZE_BUFFERED:
		return buffer_bytes(py, obj);
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
	if (ti->size_rule == PCC_SIZE_INT)
		bytes = ti->size_base;
	if (ti->size_rule == PCC_SIZE_STR) {
		bytes = str_size(py, obj);
	} else if (ti->size_rule == PCC_SIZE_TYPE) {
		bytes = type_size(py, ti, obj);
	} else if (ti->size_count_each) {
		/* A count of items in the object: a list's allocated, a
		 * var-sized object's ob_size. */
		uint64_t n;
		if (pcc_target_read_u64(py->t, obj + ti->size_count_at, &n) && (int64_t)n > 0)
			bytes += items_bytes(py, n, ti->size_count_each);
	} else if (ti->size_rule == PCC_SIZE_INT) {
		bytes += int_bytes(py, ti, obj);
	} else {
		bytes += tables_bytes(py, ti, obj, bytes);
	}
	return bytes + (ti->size_before_varies ? before_object(py, ti, obj)
					       : ti->size_before);
}
