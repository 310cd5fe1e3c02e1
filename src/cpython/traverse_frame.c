/* SPDX-License-Identifier: MIT */
/*
 * The referents of frames and generators: the frame object (2.7–3.10, its
 * own slots; 3.11+, the interpreter frame once it owns it), the
 * interpreter frame's locals and stack (3.14: tagged stack references),
 * and a generator's frame while it is not cleared.
 */
#include "config.h"

#include "traverse_walk.h"

enum {
	/* _PyGenObject.gi_frame_state once the frame is gone (3.11+). */
	FRAME_CLEARED = 4,
	/* _PyInterpreterFrame.owner of a frame copied into its frame object. */
	FRAME_OWNED_BY_FRAME_OBJECT = 2,
};

/* Item i of a tuple, 0 if out of range or unreadable. */
static uint64_t tuple_item(struct pcc_python *py, uint64_t tuple, uint64_t i)
{
	uint64_t n, item;
	if (!tuple || !pcc_target_read_u64(py->t, tuple + py->off_size, &n)
	    || i >= n
	    || !pcc_target_read_u64(py->t,
				    tuple + py->l.off[PCC_L_TUPLE_ITEMS] + i * 8,
				    &item))
		return 0;
	return item;
}

/*
 * A frame's fast locals, cells and free variables, then its value stack:
 * labelled with the variable's name where the code object has one
 * (co_localsplusnames from 3.11, co_varnames + co_cellvars + co_freevars
 * before).
 */
static void visit_frame_slots(struct walk *w, uint64_t slots, uint64_t n,
			      uint64_t code)
{
	const uint8_t *p = rdn(w, slots, n, 8);
	if (!p)
		return;
	const struct pcc_layout *l = &w->py->l;
	uint64_t names[3] = { 0, 0, 0 }, counts[3] = { 0, 0, 0 };
	if (w->labels && code) {
		static const enum pcc_layout_field fields[] = {
			PCC_L_CODE_LOCALSPLUSNAMES, PCC_L_CODE_VARNAMES,
			PCC_L_CODE_CELLVARS, PCC_L_CODE_FREEVARS
		};
		int k = 0;
		for (size_t f = pcc_layout_has(l, PCC_L_CODE_LOCALSPLUSNAMES) ? 0 : 1;
		     f < 4 && k < 3; f++) {
			uint64_t t = 0;
			if (pcc_layout_has(l, fields[f]))
				pcc_target_read_u64(w->py->t, code + l->off[fields[f]], &t);
			if (t)
				pcc_target_read_u64(w->py->t, t + w->py->off_size,
						    &counts[k]);
			names[k++] = t;
			if (f == 0)
				break;
		}
	}
	for (uint64_t i = 0; i < n && !w->stop; i++) {
		uint64_t v = word_at(p, i);
		if (!v)
			continue;
		uint64_t name = 0, j = i;
		for (int k = 0; k < 3 && w->labels; k++) {
			if (j < counts[k]) {
				name = tuple_item(w->py, names[k], j);
				break;
			}
			j -= counts[k];
		}
		emit(w, v, PCC_EDGE_LOCAL, NULL, name, (int64_t)i);
	}
}

/*
 * 3.14 keeps tagged _PyStackRef words in frames: a set low bit marks a
 * reference the slot does not own (borrowed, immortal, or NULL as 1), and
 * the low bits 11 a small int that is no pointer at all.  Like CPython's
 * _PyGC_VisitStackRef, the refcount pass counts owned references only;
 * every other visit sees them all.
 */
static void visit_stackref(struct walk *w, uint64_t bits, enum pcc_edge_label label,
			   const char *name, uint64_t key, int64_t index)
{
	if ((bits & 3) == 3 || (bits & ~(uint64_t)3) == 0)
		return; /* a tagged int, or NULL */
	if ((bits & 1) && w->owned_only) {
		if (w->out)
			w->out->omitted = true;
		return;
	}
	emit(w, bits & ~(uint64_t)3, label, name, key, index);
}

static void traverse_iframe_stackrefs(struct walk *w, uint64_t f)
{
	const struct pcc_layout *l = &w->py->l;
	uint64_t func, code, sp;
	if (rd(w, f + l->off[PCC_L_IFRAME_FUNC], &func))
		visit_stackref(w, func, PCC_EDGE_MEMBER, "f_func", 0, 0);
	if (rd(w, f + l->off[PCC_L_IFRAME_CODE], &code))
		visit_stackref(w, code, PCC_EDGE_MEMBER, "f_code", 0, 0);
	uint64_t base = f + l->off[PCC_L_IFRAME_LOCALSPLUS];
	if (!rd(w, f + l->off[PCC_L_IFRAME_STACKPOINTER], &sp))
		return;
	if (sp < base || (sp - base) % 8) {
		w->partial = true;
		return;
	}
	uint64_t n = (sp - base) / 8;
	const uint8_t *p = rdn(w, base, n, 8);
	if (!p)
		return;
	for (uint64_t i = 0; i < n && !w->stop; i++)
		visit_stackref(w, word_at(p, i), PCC_EDGE_INDEX, NULL, 0, (int64_t)i);
}

/* _PyFrame_Traverse (3.11+): the interpreter frame's objects and its live
 * locals and stack, localsplus[0 .. stacktop). */
static void traverse_iframe(struct walk *w, uint64_t f)
{
	const struct pcc_layout *l = &w->py->l;
	member(w, f, PCC_L_IFRAME_FRAME_OBJ, "frame_obj");
	member(w, f, PCC_L_IFRAME_LOCALS, "f_locals");
	if (pcc_layout_has(l, PCC_L_IFRAME_STACKPOINTER)) {
		traverse_iframe_stackrefs(w, f);
		return;
	}
	member(w, f, PCC_L_IFRAME_FUNC, "f_func");
	member(w, f, PCC_L_IFRAME_CODE, "f_code");
	if (!pcc_layout_has(l, PCC_L_IFRAME_STACKTOP)) {
		w->partial = true;
		return;
	}
	uint32_t top;
	if (!pcc_target_read_u32(w->py->t, f + l->off[PCC_L_IFRAME_STACKTOP], &top)) {
		w->partial = true;
		return;
	}
	uint64_t code = 0;
	if (w->labels)
		pcc_target_read_u64(w->py->t, f + l->off[PCC_L_IFRAME_CODE], &code);
	visit_frame_slots(w, f + l->off[PCC_L_IFRAME_LOCALSPLUS],
			  (int32_t)top < 0 ? 0 : top, code);
}

void pcc_traverse_frame(struct walk *w, uint64_t obj)
{
	struct pcc_python *py = w->py;
	const struct pcc_layout *l = &py->l;
	if (pcc_layout_has(l, PCC_L_FRAME_FRAME)) {
		/* 3.11+: the frame object visits its interpreter frame only
		 * once it owns it (the frame outlived its execution). */
		member_list(w, obj, PCC_LL_FRAME_NEW);
		uint64_t f;
		if (!rd(w, obj + l->off[PCC_L_FRAME_FRAME], &f) || !f)
			return;
		const uint8_t *owner =
			pcc_target_ptr(py->t, f + l->off[PCC_L_IFRAME_OWNER], 1);
		if (!owner) {
			w->partial = true;
			return;
		}
		if (*owner == FRAME_OWNED_BY_FRAME_OBJECT)
			traverse_iframe(w, f);
		return;
	}
	/* 2.7–3.10: fixed members, then locals, cells and free variables,
	 * then the value stack. */
	member_list(w, obj, PCC_LL_FRAME_OLD);
	uint64_t code = 0, nlocals = 0, cells = 0, frees = 0, n = 0;
	if (rd(w, obj + l->off[PCC_L_FRAME_CODE], &code) && code) {
		uint32_t nl;
		if (pcc_target_read_u32(py->t, code + l->off[PCC_L_CODE_NLOCALS], &nl))
			nlocals = nl;
		uint64_t tup;
		if (rd(w, code + l->off[PCC_L_CODE_CELLVARS], &tup) && tup)
			rd(w, tup + py->off_size, &cells);
		if (rd(w, code + l->off[PCC_L_CODE_FREEVARS], &tup) && tup)
			rd(w, tup + py->off_size, &frees);
	}
	uint64_t localsplus = obj + l->off[PCC_L_FRAME_LOCALSPLUS];
	visit_frame_slots(w, localsplus, nlocals + cells + frees, code);
	uint64_t valuestack;
	if (!rd(w, obj + l->off[PCC_L_FRAME_VALUESTACK], &valuestack))
		return;
	if (pcc_layout_has(l, PCC_L_FRAME_STACKDEPTH)) {
		uint32_t depth;
		if (pcc_target_read_u32(py->t, obj + l->off[PCC_L_FRAME_STACKDEPTH],
					&depth))
			n = depth;
	} else if (pcc_layout_has(l, PCC_L_FRAME_STACKTOP)) {
		uint64_t top;
		if (rd(w, obj + l->off[PCC_L_FRAME_STACKTOP], &top) && top
		    && top >= valuestack)
			n = (top - valuestack) / 8;
	}
	visit_array(w, valuestack, n, PCC_EDGE_INDEX);
}

void pcc_traverse_generator(struct walk *w, uint64_t obj)
{
	const struct pcc_layout *l = &w->py->l;
	member(w, obj, PCC_L_GEN_FRAME, "gi_frame");
	member_list(w, obj, PCC_LL_GEN);
	if (pcc_layout_has(l, PCC_L_GEN_IFRAME)) {
		const int8_t *state = pcc_target_ptr(
			w->py->t, obj + l->off[PCC_L_GEN_FRAME_STATE], 1);
		if (!state)
			w->partial = true;
		else if (*state < FRAME_CLEARED)
			traverse_iframe(w, obj + l->off[PCC_L_GEN_IFRAME]);
		else if (pcc_layout_has(l, PCC_L_IFRAME_STACKPOINTER)) {
			/* 3.14: a cleared frame still visits its code, which a
			 * deferred reference may be all that keeps alive. */
			uint64_t code;
			if (rd(w, obj + l->off[PCC_L_GEN_IFRAME]
					  + l->off[PCC_L_IFRAME_CODE], &code))
				visit_stackref(w, code, PCC_EDGE_MEMBER, "f_code", 0, 0);
		}
	}
	if (pcc_layout_has(l, PCC_L_GEN_EXC_STATE)) {
		uint64_t es = obj + l->off[PCC_L_GEN_EXC_STATE];
		member(w, es, PCC_L_EXC_ITEM_TYPE, "gi_exc_state.exc_type");
		member(w, es, PCC_L_EXC_ITEM_VALUE, "gi_exc_state.exc_value");
		member(w, es, PCC_L_EXC_ITEM_TRACEBACK, "gi_exc_state.exc_traceback");
	}
}
