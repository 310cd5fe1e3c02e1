/* SPDX-License-Identifier: MIT */
/*
 * Type objects: what each type's tp_traverse is, and the facts about the type
 * that its instances' traversal needs, read once per type and cached.
 */
#include "config.h"

#include <stdlib.h>

#include "edge_program.h"
#include "interpreter.h"
#include "types.h"

enum {
	/* PyMemberDef.type of a __slots__ entry (T_OBJECT_EX / Py_T_OBJECT_EX). */
	MEMBER_T_OBJECT_EX = 16,
	/* A class hierarchy deeper than this is corrupt data. */
	MAX_BASE_DEPTH = 256,
	MAX_SLOTS = 4096,
	TYPE_CHUNK = 256,
	/* type(type(...)) reaches PyType_Type within a few metaclasses. */
	MAX_META_DEPTH = 16,
};

struct pcc_type_chunk {
	struct pcc_type_chunk *next;
	size_t used;
	struct pcc_type_info items[TYPE_CHUNK];
};

static const char *const kind_names[] = {
#define X(id, name) name,
	PCC_KINDS(X)
#undef X
};

const char *pcc_kind_name(enum pcc_kind kind)
{
	return kind < PCC_KIND_COUNT ? kind_names[kind] : "?";
}

static enum pcc_kind kind_of_traverse(struct pcc_python *py, uint64_t fn,
				      int16_t *list)
{
	if (fn == 0)
		return PCC_KIND_NONE;
	if (fn == py->subtype_traverse)
		return PCC_KIND_INSTANCE;
	for (int k = PCC_KIND_LIST; k < PCC_KIND_COUNT; k++)
		if (py->traverse_fn[k] == fn)
			return (enum pcc_kind)k;
	for (int i = 0; i < PCC_LL_COUNT; i++) {
		if (py->member_traverse_fn[i] == fn) {
			*list = (int16_t)i;
			return PCC_KIND_MEMBERS;
		}
	}
	return PCC_KIND_UNKNOWN;
}

struct type_fields {
	uint64_t flags, traverse, base, is_gc;
	int64_t basicsize, itemsize, dictoffset;
};

static bool read_type_fields(struct pcc_python *py, uint64_t type,
			     struct type_fields *f)
{
	const struct pcc_layout *l = &py->l;
	uint64_t v;
	if (!pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_FLAGS], &f->flags)
	    || !pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_TRAVERSE],
				    &f->traverse)
	    || !pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_BASE], &f->base)
	    || !pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_BASICSIZE], &v))
		return false;
	f->basicsize = (int64_t)v;
	if (!pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_ITEMSIZE], &v))
		return false;
	f->itemsize = (int64_t)v;
	if (!pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_DICTOFFSET], &v))
		return false;
	f->dictoffset = (int64_t)v;
	f->is_gc = 0;
	if (pcc_layout_has(l, PCC_L_TP_IS_GC)
	    && !pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_IS_GC], &f->is_gc))
		return false;
	return true;
}

/* PyType_Type's tp_is_gc (type_is_gc), found through the metaclass chain of
 * any type when the symbol is not at hand. */
static uint64_t type_is_gc_fn(struct pcc_python *py, uint64_t type)
{
	if (py->type_is_gc)
		return py->type_is_gc;
	uint64_t meta = py->type_type;
	for (int i = 0; !meta && type && i < MAX_META_DEPTH; i++) {
		uint64_t up = pcc_python_ob_type(py, type);
		if (up == type)
			meta = type;
		type = up;
	}
	if (meta && pcc_layout_has(&py->l, PCC_L_TP_IS_GC))
		pcc_target_read_u64(py->t, meta + py->l.off[PCC_L_TP_IS_GC],
				    &py->type_is_gc);
	return py->type_is_gc;
}

static enum pcc_is_gc is_gc_of(struct pcc_python *py, uint64_t type,
			       const struct type_fields *f)
{
	if (!(f->flags & PCC_TPFLAGS_HAVE_GC))
		return PCC_IS_GC_NO;
	if (!f->is_gc)
		return PCC_IS_GC_YES;
	return f->is_gc == type_is_gc_fn(py, type) ? PCC_IS_GC_IF_HEAP_TYPE
						   : PCC_IS_GC_UNDECIDED;
}

enum pcc_is_gc pcc_python_is_gc(struct pcc_python *py,
				const struct pcc_type_info *ti, uint64_t obj)
{
	if (!ti)
		return PCC_IS_GC_UNDECIDED;
	if (ti->is_gc != PCC_IS_GC_IF_HEAP_TYPE)
		return ti->is_gc;
	uint64_t flags;
	if (!pcc_target_read_u64(py->t, obj + py->l.off[PCC_L_TP_FLAGS], &flags))
		return PCC_IS_GC_UNDECIDED;
	return (flags & PCC_TPFLAGS_HEAPTYPE) ? PCC_IS_GC_YES : PCC_IS_GC_NO;
}

/* Whether a traversal visits Py_TYPE(self) for an object of a heap type:
 * only those written for heap types do (3.9+).  A type made in C with
 * PyType_FromSpec that inherits dict's, BaseException's or type's
 * traversal is a heap type whose traversal does not. */
static bool visits_heap_type(const struct pcc_python *py, enum pcc_kind kind,
			     int16_t list)
{
	if (kind == PCC_KIND_MEMBERS)
		return list >= 0 && list < PCC_LL_COUNT
		       && py->list_visits_heap_type[list];
	return kind < PCC_KIND_COUNT && py->kind_visits_heap_type[kind];
}

/* Collect the T_OBJECT_EX members that subtype_traverse visits for one class
 * in the chain: the PyMemberDef array right after the heap type object. */
static void collect_slots(struct pcc_python *py, uint64_t type)
{
	uint64_t nslots, meta, meta_basicsize;
	const struct pcc_layout *l = &py->l;
	if (!pcc_target_read_u64(py->t, type + py->off_size, &nslots)
	    || nslots == 0 || nslots > MAX_SLOTS)
		return;
	meta = pcc_python_ob_type(py, type);
	if (!meta || !pcc_target_read_u64(py->t, meta + l->off[PCC_L_TP_BASICSIZE],
					  &meta_basicsize))
		return;
	int64_t msize = l->off[PCC_L_MEMBERDEF_SIZE];
	if (msize <= 0)
		return;
	for (uint64_t i = 0; i < nslots; i++) {
		uint64_t m = type + meta_basicsize + i * (uint64_t)msize;
		uint32_t mtype;
		uint64_t moff, mname;
		if (!pcc_target_read_u32(py->t, m + l->off[PCC_L_MEMBERDEF_TYPE],
					 &mtype)
		    || !pcc_target_read_u64(py->t,
					    m + l->off[PCC_L_MEMBERDEF_OFFSET],
					    &moff)
		    || !pcc_target_read_u64(py->t, m + l->off[PCC_L_MEMBERDEF_NAME],
					    &mname))
			return;
		if (mtype != MEMBER_T_OBJECT_EX)
			continue;
		struct pcc_slot *s = pcc_slot_vec_push(&py->slot_pool);
		s->offset = (int64_t)moff;
		s->name_addr = mname;
	}
}

static void describe_fields(struct pcc_python *py, uint64_t type,
			    struct pcc_type_info *ti)
{
	struct type_fields f;
	ti->addr = type;
	ti->kind = PCC_KIND_UNKNOWN;
	if (!read_type_fields(py, type, &f))
		return;
	ti->flags = f.flags;
	ti->is_gc = is_gc_of(py, type, &f);
	ti->heap = f.flags & PCC_TPFLAGS_HEAPTYPE;
	ti->basicsize = f.basicsize;
	ti->itemsize = f.itemsize;
	ti->dictoffset = f.dictoffset;
	ti->traverse = f.traverse;
	ti->kind = kind_of_traverse(py, f.traverse, &ti->member_list);
	if (ti->heap && pcc_layout_has(&py->l, PCC_L_HT_CACHED_KEYS))
		pcc_target_read_u64(py->t, type + py->l.off[PCC_L_HT_CACHED_KEYS],
				    &ti->cached_keys);
	if (ti->kind != PCC_KIND_INSTANCE) {
		ti->visit_type = ti->heap
				 && visits_heap_type(py, ti->kind, ti->member_list);
		return;
	}

	/* subtype_traverse: walk the Python classes up to the first base
	 * with another traversal, collecting __slots__ on the way. */
	ti->slots_start = (uint32_t)py->slot_pool.len;
	uint64_t base = type;
	struct type_fields bf = f;
	int depth = 0;
	while (kind_of_traverse(py, bf.traverse, &ti->member_list) == PCC_KIND_INSTANCE) {
		collect_slots(py, base);
		base = bf.base;
		if (!base || ++depth > MAX_BASE_DEPTH
		    || !read_type_fields(py, base, &bf)) {
			ti->kind = PCC_KIND_UNKNOWN;
			py->slot_pool.len = ti->slots_start;
			return;
		}
	}
	ti->slots_count = (uint32_t)(py->slot_pool.len - ti->slots_start);
	ti->base_kind = kind_of_traverse(py, bf.traverse, &ti->member_list);
	ti->visit_dict = f.dictoffset != bf.dictoffset;
	/* subtype_traverse (3.9+) leaves Py_TYPE(self) to a base whose type
	 * is a heap type, whether or not that base's traversal visits it. */
	bool base_heap = bf.flags & PCC_TPFLAGS_HEAPTYPE;
	bool defers = base_heap && py->heap_types_visit_self
		      && ti->base_kind != PCC_KIND_NONE;
	ti->visit_type = ti->heap && !defers;
	ti->base_visits_type = base_heap
			       && visits_heap_type(py, ti->base_kind, ti->member_list);
}

static void describe_type(struct pcc_python *py, uint64_t type,
			  struct pcc_type_info *ti)
{
	describe_fields(py, type, ti);
	pcc_edge_program_compile(py, ti);
}

static size_t type_slot(uint64_t addr, size_t cap)
{
	uint64_t h = addr * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 20) & (cap - 1);
}

static void grow_types(struct pcc_python *py)
{
	size_t cap = py->types_cap ? py->types_cap * 2 : 1024;
	struct pcc_type_info **t = pcc_xcalloc(cap, sizeof(*t));
	for (size_t i = 0; i < py->types_cap; i++) {
		if (!py->types[i])
			continue;
		size_t j = type_slot(py->types[i]->addr, cap);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = py->types[i];
	}
	free(py->types);
	py->types = t;
	py->types_cap = cap;
}

static struct pcc_type_info *new_type_entry(struct pcc_python *py)
{
	struct pcc_type_chunk *c = py->type_chunks;
	if (!c || c->used == TYPE_CHUNK) {
		c = pcc_xcalloc(1, sizeof(*c));
		c->next = py->type_chunks;
		py->type_chunks = c;
	}
	return &c->items[c->used++];
}

struct pcc_type_info *pcc_python_type_known(const struct pcc_python *py,
					    uint64_t type)
{
	if (!type || !py->types_cap)
		return NULL;
	size_t i = type_slot(type, py->types_cap);
	while (py->types[i] && py->types[i]->addr != type)
		i = (i + 1) & (py->types_cap - 1);
	return py->types[i];
}

uint32_t pcc_python_known_type_id_of(const struct pcc_python *py, uint64_t obj,
				     struct pcc_type_id_cache *cache)
{
	uint64_t type;
	if (!pcc_target_read_u64(py->t, obj + (uint64_t)py->off_type, &type)
	    || !type)
		return PCC_NO_TYPE;
	_Static_assert(PCC_TYPE_ID_CACHE == 16, "four bits of hash");
	unsigned k = (unsigned)(type * 0x9e3779b97f4a7c15ull >> 60);
	if (type != cache->addr[k]) {
		const struct pcc_type_info *ti = pcc_python_type_known(py, type);
		cache->addr[k] = type;
		cache->id[k] = ti ? ti->id : PCC_TYPE_NOT_YET;
	}
	return cache->id[k];
}

struct pcc_type_info *pcc_python_type(struct pcc_python *py, uint64_t type)
{
	if (type == py->last_type_addr && py->last_type)
		return py->last_type;
	if (!type)
		return NULL;
	if ((py->types_len + 1) * 2 > py->types_cap)
		grow_types(py);
	size_t i = type_slot(type, py->types_cap);
	while (py->types[i] && py->types[i]->addr != type)
		i = (i + 1) & (py->types_cap - 1);
	struct pcc_type_info *ti = py->types[i];
	if (!ti) {
		/* Entered before it is described: describing reads other
		 * types, which may grow the table. */
		ti = py->types[i] = new_type_entry(py);
		ti->addr = type;
		ti->id = (uint32_t)py->types_len;
		if (py->types_len == py->type_by_id_cap) {
			py->type_by_id_cap = py->type_by_id_cap ? 2 * py->type_by_id_cap : 256;
			py->type_by_id = pcc_xreallocarray(py->type_by_id,
							   py->type_by_id_cap,
							   sizeof(*py->type_by_id));
		}
		py->type_by_id[py->types_len++] = ti;
		describe_type(py, type, ti);
	}
	py->last_type_addr = type;
	py->last_type = ti;
	return ti;
}

uint32_t pcc_python_type_id_of(struct pcc_python *py, uint64_t obj)
{
	struct pcc_type_info *ti = pcc_python_type(py, pcc_python_ob_type(py, obj));
	return ti ? ti->id : PCC_NO_TYPE;
}

struct pcc_type_info *pcc_python_type_of(struct pcc_python *py, uint64_t obj)
{
	return pcc_python_type(py, pcc_python_ob_type(py, obj));
}

const char *pcc_python_type_name(struct pcc_python *py,
				 struct pcc_type_info *ti)
{
	if (!ti)
		return "<unreadable type>";
	if (ti->name)
		return ti->name;
	uint64_t name_addr;
	char *name = NULL;
	if (pcc_target_read_u64(py->t, ti->addr + py->l.off[PCC_L_TP_NAME],
				&name_addr))
		name = pcc_target_read_cstr(py->t, name_addr, 200);
	if (!name)
		name = pcc_xasprintf("<type at 0x%llx>",
				     (unsigned long long)ti->addr);
	ti->name = name;
	return name;
}

void pcc_python_forget_types(struct pcc_python *py)
{
	while (py->type_chunks) {
		struct pcc_type_chunk *c = py->type_chunks;
		py->type_chunks = c->next;
		for (size_t i = 0; i < c->used; i++)
			free(c->items[i].name);
		free(c);
	}
	free(py->types);
	py->types = NULL;
	py->types_cap = py->types_len = 0;
	free(py->type_by_id);
	py->type_by_id = NULL;
	py->type_by_id_cap = 0;
	py->slot_pool.len = 0;
	py->sizes_resolved = 0;
	py->last_type = NULL;
	py->last_type_addr = 0;
}

struct pcc_type_info *pcc_python_type_by_id(const struct pcc_python *py,
					    uint32_t id)
{
	return id < py->types_len ? py->type_by_id[id] : NULL;
}

uint32_t pcc_python_type_count(const struct pcc_python *py)
{
	return (uint32_t)py->types_len;
}
