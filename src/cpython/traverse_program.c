/* SPDX-License-Identifier: MIT */
/*
 * A type's program run over one object (edge_program.h): its fixed bytes
 * found in the core with one lookup, each step's words taken from them,
 * and the arrays and tables they lead to read by the very functions the
 * general traversal calls, so that the two visit the same references in
 * the same order and leave an object partial for the same reasons.
 */
#include "config.h"

#include "edge_program.h"
#include "traverse.h"
#include "traverse_walk.h"
#include "types.h"

static inline uint64_t fixed_word(const uint8_t *fixed, int16_t off)
{
	uint64_t v;
	memcpy(&v, fixed + off, 8);
	return v;
}

/* False, with nothing visited, when the fixed bytes cannot be read in
 * one piece: the general traversal then runs. */
static inline bool run_program(struct walk *w, uint64_t obj,
			       const struct pcc_type_info *ti)
{
	const struct pcc_edge_program *p = &ti->program;
	const uint8_t *fixed = pcc_target_ptr(w->py->t, obj + (uint64_t)(int64_t)p->lo,
					      (size_t)(p->hi - p->lo));
	if (!fixed)
		return false;
	for (unsigned k = 0; k < p->len; k++) {
		const struct pcc_edge_step *s = &p->steps[k];
		switch ((enum pcc_edge_op)s->op) {
		case PCC_EDGE_OP_TYPE:
			emit(w, ti->addr, PCC_EDGE_TYPE, NULL, 0, 0);
			break;
		case PCC_EDGE_OP_WORD:
			emit(w, fixed_word(fixed, s->off), PCC_EDGE_MEMBER, NULL, 0, 0);
			break;
		case PCC_EDGE_OP_LIST:
			visit_array(w, fixed_word(fixed, s->off2),
				    fixed_word(fixed, s->off), PCC_EDGE_INDEX);
			break;
		case PCC_EDGE_OP_TUPLE:
			visit_array(w, obj + (uint64_t)w->py->l.off[PCC_L_TUPLE_ITEMS],
				    fixed_word(fixed, s->off), PCC_EDGE_INDEX);
			break;
		case PCC_EDGE_OP_DICT:
			pcc_traverse_dict_tables(w, fixed_word(fixed, s->off),
						 fixed_word(fixed, s->off2));
			break;
		case PCC_EDGE_OP_MANAGED_DICT:
			pcc_traverse_managed_dict(w, obj, ti,
						  fixed_word(fixed, s->off),
						  fixed_word(fixed, s->off2));
			break;
		}
	}
	return true;
}

enum pcc_kind pcc_python_referents(struct pcc_python *py, uint64_t obj,
				   struct pcc_type_info *ti, bool owned_only,
				   struct pcc_referents *out, bool *partial,
				   enum pcc_is_gc *is_gc)
{
	struct walk w = { .py = py, .owned_only = owned_only, .out = out };
	if (!ti || !ti->program.ready || !run_program(&w, obj, ti))
		return pcc_traverse_general(&w, obj, ti, partial, is_gc);
	if (is_gc) /* pcc_python_is_gc reads the object for type objects */
		*is_gc = ti->is_gc == PCC_IS_GC_IF_HEAP_TYPE
				 ? pcc_python_is_gc(py, ti, obj)
				 : ti->is_gc;
	if (partial)
		*partial = w.partial;
	return ti->kind;
}
