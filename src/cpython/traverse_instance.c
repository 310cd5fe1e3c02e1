/* SPDX-License-Identifier: MIT */
/*
 * The referents of a Python class's instances, as subtype_traverse visits
 * them: the __slots__, the instance dict (at tp_dictoffset, or managed and
 * perhaps kept as inline values, 3.11+), the type; then the base's own
 * traversal, which the dispatch runs (traverse.c).
 */
#include "config.h"

#include "object_dict.h"
#include "traverse_walk.h"

/*
 * Attributes kept outside a dict (3.11+): a values array laid out like the
 * type's shared keys.  3.11 and 3.12 size it by the cached keys' entry
 * count, 3.13+ by the capacity byte in the values header.
 */
/* A class's shared keys table: read once on each thread while the class's
 * instances come one after another, as they do in address order. */
static bool read_class_keys(struct walk *w, uint64_t keys,
			    struct pcc_dict_keys *dk)
{
	struct pcc_referents *r = w->out;
	if (r && r->class_keys == keys) {
		w->partial |= r->class_keys_partial;
		*dk = r->class_keys_read;
		return r->class_keys_ok;
	}
	bool was_partial = w->partial;
	w->partial = false;
	bool ok = pcc_traverse_read_dict_keys(w, keys, dk);
	if (r) {
		r->class_keys = keys;
		r->class_keys_ok = ok;
		r->class_keys_partial = w->partial;
		r->class_keys_read = *dk;
	}
	w->partial |= was_partial;
	return ok;
}

static void visit_inline_values(struct walk *w, uint64_t values,
				const struct pcc_type_info *ti)
{
	struct pcc_python *py = w->py;
	struct pcc_dict_keys dk;
	bool have_keys = ti->cached_keys
			 && read_class_keys(w, ti->cached_keys, &dk);
	uint64_t n;
	if (pcc_layout_has(&py->l, PCC_L_DV_CAPACITY)) {
		const uint8_t *h = pcc_target_ptr(py->t, values, 8);
		if (!h) {
			w->partial = true;
			return;
		}
		if (pcc_layout_has(&py->l, PCC_L_DV_VALID)
		    && !h[py->l.off[PCC_L_DV_VALID]])
			return;
		n = h[py->l.off[PCC_L_DV_CAPACITY]];
	} else {
		if (!have_keys)
			return;
		n = dk.nentries;
	}
	pcc_traverse_visit_values(w, values, n, have_keys ? &dk : NULL,
				  PCC_EDGE_ATTR);
}

/* Does a 3.13+ object keep valid inline values? */
static bool inline_values_valid(struct walk *w, uint64_t values)
{
	const uint8_t *h = pcc_target_ptr(w->py->t, values, 8);
	return h && h[w->py->l.off[PCC_L_DV_VALID]];
}

void pcc_traverse_managed_dict(struct walk *w, uint64_t obj,
			       const struct pcc_type_info *ti, uint64_t slot,
			       uint64_t before)
{
	struct pcc_python *py = w->py;
	const struct pcc_version_traits *v = py->traits;
	if (v->managed_dict == PCC_MANAGED_DICT_VALUES_POINTER) {
		if (before)
			visit_inline_values(w, before, ti);
		emit(w, slot, PCC_EDGE_DICT, NULL, 0, 0);
		return;
	}
	if (v->managed_dict == PCC_MANAGED_DICT_TAGGED) {
		if (slot & 1)
			visit_inline_values(w, slot + 1, ti);
		else
			emit(w, slot, PCC_EDGE_DICT, NULL, 0, 0);
		return;
	}
	uint64_t values = obj + (uint64_t)ti->basicsize;
	bool inline_ok = (ti->flags & v->inline_values_flag)
			 && inline_values_valid(w, values);
	if (py->inline_values_owner_only) {
		if (inline_ok)
			visit_inline_values(w, values, ti);
		else
			emit(w, slot, PCC_EDGE_DICT, NULL, 0, 0);
		return;
	}
	if (slot)
		emit(w, slot, PCC_EDGE_DICT, NULL, 0, 0);
	else if (inline_ok)
		visit_inline_values(w, values, ti);
}

static void instance_dict(struct walk *w, uint64_t obj,
			  const struct pcc_type_info *ti)
{
	struct pcc_python *py = w->py;
	if (pcc_python_has_managed_dict(py, ti)) {
		const struct pcc_version_traits *v = py->traits;
		uint64_t slot, before = 0, at = obj + (uint64_t)v->managed_dict_offset;
		if (!rd(w, at, &slot))
			return;
		if (v->managed_dict == PCC_MANAGED_DICT_VALUES_POINTER
		    && !rd(w, at - 8, &before))
			before = 0;
		pcc_traverse_managed_dict(w, obj, ti, slot, before);
		return;
	}
	if (ti->visit_dict) {
		bool bad = false;
		uint64_t dictptr = pcc_python_dict_slot(py, obj, ti, &bad), dict;
		w->partial |= bad;
		if (dictptr && rd(w, dictptr, &dict))
			emit(w, dict, PCC_EDGE_DICT, NULL, 0, 0);
	}
}

bool pcc_traverse_instance(struct walk *w, uint64_t obj, uint64_t type,
			   const struct pcc_type_info *ti)
{
	struct pcc_python *py = w->py;
	for (uint32_t i = 0; i < ti->slots_count && !w->stop; i++) {
		const struct pcc_slot *s = &py->slot_pool.data[ti->slots_start + i];
		uint64_t v;
		if (rd(w, obj + (uint64_t)s->offset, &v))
			emit(w, v, PCC_EDGE_SLOT, NULL, s->name_addr, 0);
	}
	instance_dict(w, obj, ti);
	if (ti->visit_type)
		emit(w, type, PCC_EDGE_TYPE, NULL, 0, 0);
	if (ti->base_kind == PCC_KIND_UNKNOWN) {
		/* Whether that base visits Py_TYPE(self) is unknown too: the
		 * reference is left uncounted, as held from outside. */
		w->partial = true;
		return false;
	}
	return true;
}
