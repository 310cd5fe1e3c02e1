/* SPDX-License-Identifier: MIT */
/*
 * The members each kind's traversal visits, and the compiler of a type's
 * program from them and from what describe_type found (types.c).  A
 * program is compiled only where the general traversal (traverse.c)
 * reads nothing but words at fixed offsets, and the item arrays and
 * tables they lead to: everything that decides something from the
 * object's contents (a module's m_traverse, a C function's flags, frames,
 * sets, deques) stays with the general traversal.
 */
#include "config.h"

#include <string.h>

#include "edge_program.h"

#define FIELD(f, name) { PCC_L_##f, name }

static const struct pcc_kind_members kind_members[PCC_KIND_COUNT] = {
	[PCC_KIND_NONE] = { .list = -1, .only = true },
	[PCC_KIND_TYPE] = { 6,
			    { FIELD(TP_DICT, "__dict__"),
			      FIELD(TP_CACHE, "tp_cache"),
			      FIELD(TP_MRO, "__mro__"),
			      FIELD(TP_BASES, "__bases__"),
			      FIELD(TP_BASE, "__base__"),
			      FIELD(HT_MODULE, "ht_module") },
			    -1, true },
	[PCC_KIND_FUNCTION] = { .list = PCC_LL_FUNC, .only = true },
	[PCC_KIND_METHOD] = { 3,
			      { FIELD(METHOD_FUNC, "__func__"),
				FIELD(METHOD_SELF, "__self__"),
				FIELD(METHOD_CLASS, "im_class") },
			      -1, true },
	[PCC_KIND_CELL] = { 1, { FIELD(CELL_REF, "cell_contents") }, -1, true },
	[PCC_KIND_CLASSMETHOD] = { .list = PCC_LL_CLASSMETHOD, .only = true },
	[PCC_KIND_STATICMETHOD] = { .list = PCC_LL_STATICMETHOD, .only = true },
	[PCC_KIND_PROPERTY] = { .list = PCC_LL_PROPERTY, .only = true },
	[PCC_KIND_EXCEPTION] = { .list = PCC_LL_EXCEPTION, .only = true },
	[PCC_KIND_TRACEBACK] = { 2,
				 { FIELD(TRACEBACK_NEXT, "tb_next"),
				   FIELD(TRACEBACK_FRAME, "tb_frame") },
				 -1, true },
	[PCC_KIND_WEAKREF] = { 1, { FIELD(WEAKREF_CALLBACK, "__callback__") },
			       -1, true },
	[PCC_KIND_DESCRIPTOR] = { 1, { FIELD(DESCR_TYPE, "__objclass__") },
				  -1, true },
	[PCC_KIND_METHOD_WRAPPER] = { 2,
				      { FIELD(WRAPPER_DESCR, "descr"),
					FIELD(WRAPPER_SELF, "__self__") },
				      -1, true },
	[PCC_KIND_MAPPINGPROXY] = { 1,
				    { FIELD(MAPPINGPROXY_MAPPING, "mapping") },
				    -1, true },
	[PCC_KIND_MEMBERS] = { .list = PCC_KIND_LIST_OF_TYPE, .only = true },
	/* Then the dict's own traversal. */
	[PCC_KIND_DEFAULTDICT] = { 1,
				   { FIELD(DEFDICT_FACTORY, "default_factory") },
				   -1, false },
	[PCC_KIND_PARTIAL] = { .list = PCC_LL_PARTIAL, .only = true },
	[PCC_KIND_FILEIO] = { 1, { FIELD(FILEIO_DICT, "__dict__") }, -1, true },
	[PCC_KIND_BUFFERED] = { 2,
				{ FIELD(BUFFERED_RAW, "raw"),
				  FIELD(BUFFERED_DICT, "__dict__") },
				-1, true },
	[PCC_KIND_TEXTIO] = { .list = PCC_LL_TEXTIO, .only = true },
	[PCC_KIND_RWPAIR] = { .list = PCC_LL_RWPAIR, .only = true },
};

const struct pcc_kind_members *pcc_kind_members(enum pcc_kind kind)
{
	static const struct pcc_kind_members none = { .list = -1 };
	return kind < PCC_KIND_COUNT ? &kind_members[kind] : &none;
}

/* A program being compiled: offsets from the object until finish. */
struct builder {
	struct pcc_edge_program p;
	int64_t off[PCC_EDGE_PROGRAM_STEPS][2];
	int64_t lo, hi;
	bool ok;
};

/* Bytes a traversal reads at fixed offsets: a program's fixed bytes are
 * read at once, so they must be the object's, not the heap beyond it. */
enum { MAX_SPAN = 4096 };

static void need(struct builder *b, int64_t off)
{
	if (off < b->lo)
		b->lo = off;
	if (off + 8 > b->hi)
		b->hi = off + 8;
}

static void step(struct builder *b, enum pcc_edge_op op, int64_t off,
		 int64_t off2)
{
	if (b->p.len == PCC_EDGE_PROGRAM_STEPS) {
		b->ok = false;
		return;
	}
	b->p.steps[b->p.len].op = (uint8_t)op;
	b->off[b->p.len][0] = off;
	b->off[b->p.len][1] = off2;
	b->p.len++;
	need(b, off);
	need(b, off2);
}

static void word(struct builder *b, int64_t off)
{
	step(b, PCC_EDGE_OP_WORD, off, off);
}

static void required(struct builder *b, const struct pcc_layout *l,
		     enum pcc_layout_field f)
{
	if (!pcc_layout_has(l, f))
		b->ok = false;
}

static void members(struct builder *b, const struct pcc_python *py,
		    const struct pcc_kind_members *km, int16_t type_list)
{
	const struct pcc_layout *l = &py->l;
	for (unsigned i = 0; i < km->nfields; i++)
		if (pcc_layout_has(l, km->fields[i].field))
			word(b, l->off[km->fields[i].field]);
	int16_t list = km->list == PCC_KIND_LIST_OF_TYPE ? type_list : km->list;
	if (km->list == -1)
		return;
	if (list < 0 || list >= PCC_LL_COUNT) {
		b->ok = false;
		return;
	}
	const struct pcc_member_list *ml = &l->lists[list];
	for (int i = 0; i < ml->n; i++)
		word(b, ml->offset[i]);
}

static void dict(struct builder *b, const struct pcc_layout *l)
{
	/* 2.7's table, and versions without ma_values, stay general. */
	if (pcc_layout_has(l, PCC_L_DICT_TABLE))
		b->ok = false;
	required(b, l, PCC_L_DICT_KEYS);
	required(b, l, PCC_L_DICT_VALUES);
	if (b->ok)
		step(b, PCC_EDGE_OP_DICT, l->off[PCC_L_DICT_KEYS],
		     l->off[PCC_L_DICT_VALUES]);
}

/* What the general traversal's traverse_kind visits after the type. */
static void body(struct builder *b, const struct pcc_python *py,
		 enum pcc_kind kind, int16_t type_list)
{
	const struct pcc_layout *l = &py->l;
	switch (kind) {
	case PCC_KIND_LIST:
		required(b, l, PCC_L_LIST_ITEMS);
		if (b->ok)
			step(b, PCC_EDGE_OP_LIST, py->off_size,
			     l->off[PCC_L_LIST_ITEMS]);
		return;
	case PCC_KIND_TUPLE:
		required(b, l, PCC_L_TUPLE_ITEMS);
		step(b, PCC_EDGE_OP_TUPLE, py->off_size, py->off_size);
		return;
	case PCC_KIND_DICT:
		dict(b, l);
		return;
	case PCC_KIND_DEFAULTDICT:
		members(b, py, pcc_kind_members(kind), type_list);
		dict(b, l);
		return;
	default:
		if (!pcc_kind_members(kind)->only) {
			b->ok = false;
			return;
		}
		members(b, py, pcc_kind_members(kind), type_list);
	}
}

/* subtype_traverse before its base's traversal (traverse_instance.c). */
static void instance(struct builder *b, const struct pcc_python *py,
		     const struct pcc_type_info *ti)
{
	for (uint32_t i = 0; i < ti->slots_count; i++)
		word(b, py->slot_pool.data[ti->slots_start + i].offset);
	if (pcc_python_has_managed_dict(py, ti)) {
		int64_t at = py->traits->managed_dict_offset;
		bool before = py->traits->managed_dict
			      == PCC_MANAGED_DICT_VALUES_POINTER;
		step(b, PCC_EDGE_OP_MANAGED_DICT, at, before ? at - 8 : at);
	} else if (ti->visit_dict) {
		/* From the end of a variable-sized object: general. */
		if (ti->dictoffset <= 0)
			b->ok = false;
		else
			word(b, ti->dictoffset);
	}
	if (ti->visit_type)
		step(b, PCC_EDGE_OP_TYPE, 0, 0);
	if (ti->base_visits_type)
		step(b, PCC_EDGE_OP_TYPE, 0, 0);
}

void pcc_edge_program_compile(const struct pcc_python *py,
			      struct pcc_type_info *ti)
{
	struct builder b = { .ok = true };
	memset(&ti->program, 0, sizeof(ti->program));
	enum pcc_kind kind = ti->kind;
	if (kind == PCC_KIND_INSTANCE) {
		kind = ti->base_kind;
		if (kind == PCC_KIND_INSTANCE || kind == PCC_KIND_UNKNOWN)
			return;
		instance(&b, py, ti);
	} else if (ti->visit_type) {
		step(&b, PCC_EDGE_OP_TYPE, 0, 0);
	}
	if (kind == PCC_KIND_UNKNOWN || kind >= PCC_KIND_COUNT)
		return;
	body(&b, py, kind, ti->member_list);
	if (!b.ok || b.hi - b.lo > MAX_SPAN || b.lo < INT16_MIN
	    || b.hi > INT16_MAX)
		return;
	/* Offsets from the first fixed byte, which is what the run reads. */
	for (unsigned k = 0; k < b.p.len; k++) {
		b.p.steps[k].off = (int16_t)(b.off[k][0] - b.lo);
		b.p.steps[k].off2 = (int16_t)(b.off[k][1] - b.lo);
	}
	b.p.lo = (int16_t)b.lo;
	b.p.hi = (int16_t)b.hi;
	b.p.ready = true;
	ti->program = b.p;
}
