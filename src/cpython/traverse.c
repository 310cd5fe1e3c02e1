/* SPDX-License-Identifier: MIT */
/*
 * Referents of an object, as its type's tp_traverse would report them:
 * here, which traversal each kind gets, the kinds whose traversal is a few
 * members (a type's, a module's, a C function's among them), and the API;
 * the other families are traverse_containers.c, traverse_dict.c,
 * traverse_instance.c and traverse_frame.c.
 *
 * Exactness matters in one direction only: visiting a reference that the
 * real traversal does not report can make a live object look like garbage,
 * so when in doubt we visit less and mark the object partial (its referents
 * then keep a positive gc_refs, as if held from outside).  Struct offsets
 * come from the layout; only behaviour that no struct records (which flag
 * bits mean what, where the pre-header slots are) is tied to the version,
 * and each such place says which change it follows.
 */
#include "config.h"

#include "edge_program.h"
#include "emulated.h"
#include "interpreter.h"
#include "traverse.h"
#include "traverse_walk.h"
#include "types.h"

enum {
	METH_METHOD = 0x0200,
};

void pcc_traverse_budget_spent(struct pcc_python *py)
{
	if (py->item_budget_spent)
		return;
	py->item_budget_spent = true;
	pcc_python_warn(py,
			"the heap's containers claim many times more items "
			"than the core's memory holds (corrupt sizes): "
			"containers read after this are not followed, and "
			"count as held from outside");
}

bool pcc_python_referents_parallel(const struct pcc_python *py)
{
	return !py->set_dummy_str_type || py->set_dummy;
}

void pcc_python_budget_share(struct pcc_python *py,
			     struct pcc_item_budget *shares, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		shares[i] = (struct pcc_item_budget){ py->item_budget / n, false };
	py->item_budget -= py->item_budget / n * n;
}

void pcc_python_budget_return(struct pcc_python *py,
			      const struct pcc_item_budget *shares, unsigned n)
{
	bool spent = false;
	for (unsigned i = 0; i < n; i++) {
		py->item_budget += shares[i].items;
		spent |= shares[i].spent;
	}
	if (spent)
		pcc_traverse_budget_spent(py);
}

static void traverse_module(struct walk *w, uint64_t obj)
{
	/* An extension module's m_traverse is its own C code: its state's
	 * references are left external. */
	const struct pcc_layout *l = &w->py->l;
	uint64_t def, fn;
	if (pcc_layout_has(l, PCC_L_MODULE_DEF)
	    && pcc_layout_has(l, PCC_L_MODULEDEF_TRAVERSE)
	    && rd(w, obj + l->off[PCC_L_MODULE_DEF], &def) && def
	    && rd(w, def + l->off[PCC_L_MODULEDEF_TRAVERSE], &fn) && fn)
		w->partial = true;
	member(w, obj, PCC_L_MODULE_DICT, "__dict__");
}

static void traverse_cfunction(struct walk *w, uint64_t obj)
{
	const struct pcc_layout *l = &w->py->l;
	member_list(w, obj, PCC_LL_CFUNC);
	/* PyCMethodObject.mm_class exists only with METH_METHOD. */
	uint64_t ml;
	uint32_t flags;
	if (pcc_layout_has(l, PCC_L_METHODDEF_FLAGS)
	    && l->lists[PCC_LL_CMETHOD].n
	    && rd(w, obj + l->off[PCC_L_CFUNC_ML], &ml) && ml
	    && pcc_target_read_u32(w->py->t, ml + l->off[PCC_L_METHODDEF_FLAGS],
				   &flags)
	    && (flags & METH_METHOD))
		member_list(w, obj, PCC_LL_CMETHOD);
}

/* The kinds whose traversal is struct members (edge_program.c's table). */
static void traverse_members(struct walk *w, uint64_t obj, enum pcc_kind kind,
			     int16_t type_list)
{
	const struct pcc_kind_members *km = pcc_kind_members(kind);
	for (unsigned i = 0; i < km->nfields && !w->stop; i++)
		member(w, obj, km->fields[i].field, km->fields[i].name);
	int16_t list = km->list == PCC_KIND_LIST_OF_TYPE ? type_list : km->list;
	if (km->list != -1 && list >= 0 && list < PCC_LL_COUNT)
		member_list(w, obj, (enum pcc_layout_list)list);
}

static void traverse_kind(struct walk *w, uint64_t obj, enum pcc_kind kind,
			  int16_t list, uint64_t type, bool visit_type)
{
	if (visit_type && kind != PCC_KIND_INSTANCE)
		emit(w, type, PCC_EDGE_TYPE, NULL, 0, 0);
	switch (kind) {
	case PCC_KIND_UNKNOWN:
		w->partial = true;
		break;
	case PCC_KIND_INSTANCE: /* handled by the caller */
	case PCC_KIND_EMULATED:
	case PCC_KIND_COUNT:
		break;
	case PCC_KIND_LIST:
		pcc_traverse_list(w, obj);
		break;
	case PCC_KIND_TUPLE:
		pcc_traverse_tuple(w, obj);
		break;
	case PCC_KIND_DICT:
		pcc_traverse_dict(w, obj);
		break;
	case PCC_KIND_SET:
		pcc_traverse_set(w, obj);
		break;
	case PCC_KIND_MODULE:
		traverse_module(w, obj);
		break;
	case PCC_KIND_FRAME:
		pcc_traverse_frame(w, obj);
		break;
	case PCC_KIND_ASYNC_GENERATOR:
		member(w, obj, PCC_L_ASYNCGEN_FINALIZER, "ag_finalizer");
		pcc_traverse_generator(w, obj);
		break;
	case PCC_KIND_GENERATOR:
		pcc_traverse_generator(w, obj);
		break;
	case PCC_KIND_CFUNCTION:
		traverse_cfunction(w, obj);
		break;
	case PCC_KIND_DEQUE:
		pcc_traverse_deque(w, obj);
		break;
	case PCC_KIND_DEFAULTDICT:
		traverse_members(w, obj, kind, list);
		pcc_traverse_dict(w, obj);
		break;
	case PCC_KIND_ORDEREDDICT:
		pcc_traverse_odict(w, obj);
		break;
	default: /* NONE, and the kinds of struct members */
		traverse_members(w, obj, kind, list);
		break;
	}
}

static enum pcc_kind traverse(struct walk *w, uint64_t obj,
			      struct pcc_type_info *ti, bool *partial,
			      enum pcc_is_gc *is_gc)
{
	struct pcc_python *py = w->py;
	if (is_gc)
		*is_gc = pcc_python_is_gc(py, ti, obj);
	enum pcc_kind kind = ti ? ti->kind : PCC_KIND_UNKNOWN;
	const uint64_t *refs;
	uint32_t nrefs;
	if (py->emulated
	    && (kind == PCC_KIND_UNKNOWN
		|| (kind == PCC_KIND_INSTANCE && ti->base_kind == PCC_KIND_UNKNOWN))
	    && pcc_python_emulated_referents(py, obj, &refs, &nrefs)) {
		if (partial)
			*partial = false;
		if (w->labels) {
			pcc_python_emulated_labelled(py, obj, ti, refs, nrefs,
						     w->visit, w->ctx);
			return PCC_KIND_EMULATED;
		}
		for (uint32_t i = 0; i < nrefs && !w->stop; i++)
			emit(w, refs[i], PCC_EDGE_OFFSET, NULL, 0, -1);
		return PCC_KIND_EMULATED;
	}
	if (kind == PCC_KIND_INSTANCE) {
		if (pcc_traverse_instance(w, obj, ti->addr, ti))
			traverse_kind(w, obj, ti->base_kind, ti->member_list,
				      ti->addr, ti->base_visits_type);
	} else if (kind != PCC_KIND_UNKNOWN) {
		traverse_kind(w, obj, kind, ti->member_list, ti->addr,
			      ti->visit_type);
	}
	if (partial)
		*partial = w->partial || kind == PCC_KIND_UNKNOWN;
	return kind;
}

enum pcc_kind pcc_python_traverse(struct pcc_python *py, uint64_t obj,
				  pcc_visit_fn *visit, void *ctx,
				  bool want_labels, bool *partial)
{
	struct walk w = { .py = py, .visit = visit, .ctx = ctx,
			  .labels = want_labels };
	return traverse(&w, obj, pcc_python_type_of(py, obj), partial, NULL);
}

enum pcc_kind pcc_traverse_general(struct walk *w, uint64_t obj,
				   struct pcc_type_info *ti, bool *partial,
				   enum pcc_is_gc *is_gc)
{
	return traverse(w, obj, ti, partial, is_gc);
}
