/* SPDX-License-Identifier: MIT */
/*
 * Referents of an object, as its type's tp_traverse would report them.
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

#include "chain.h"
#include "emulated.h"
#include "interpreter.h"
#include "object_dict.h"
#include "traverse.h"
#include "types.h"

enum {
	/* No real container is this large; a bigger count is corrupt data. */
	MAX_ITEMS = 1 << 28,
	/* _PyGenObject.gi_frame_state once the frame is gone (3.11+). */
	FRAME_CLEARED = 4,
	/* _PyInterpreterFrame.owner of a frame copied into its frame object. */
	FRAME_OWNED_BY_FRAME_OBJECT = 2,
	METH_METHOD = 0x0200,
	DICT_KEYS_GENERAL = 0,
};

struct walk {
	struct pcc_python *py;
	pcc_visit_fn *visit;
	void *ctx;
	bool labels;
	bool partial;
	/* The refcount pass: leave out references the owner does not hold
	 * (3.14 borrowed stack references). */
	bool owned_only;
	bool stop; /* the visitor has what it wants */
	struct pcc_referents *out; /* instead of visit, when set */
};

static inline void emit(struct walk *w, uint64_t ref, enum pcc_edge_label label,
			const char *name, uint64_t key, int64_t index)
{
	if (!ref || w->stop)
		return;
	if (w->out) {
		struct pcc_referents *r = w->out;
		if (r->len == PCC_REFERENTS_CAP)
			r->flush(r);
		r->addrs[r->len] = ref;
		r->owners[r->len++] = r->owner;
		return;
	}
	if (w->labels) {
		struct pcc_edge e = { label, name, key, index };
		w->stop = w->visit(w->ctx, ref, &e);
	} else {
		w->stop = w->visit(w->ctx, ref, NULL);
	}
}

static inline bool rd(struct walk *w, uint64_t addr, uint64_t *v)
{
	if (pcc_target_read_u64(w->py->t, addr, v))
		return true;
	w->partial = true;
	return false;
}

/*
 * Pay for n items out of the traversals' budget (python.h).  Sizes are the
 * target's words: each container's items are checked to be mapped, but
 * many containers can claim the same memory.  Once the budget is gone,
 * items are not read and their owners are partial (held from outside).
 */
static void budget_spent(struct pcc_python *py)
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

static bool spend_items(struct walk *w, uint64_t n)
{
	struct pcc_item_budget *share = w->out ? w->out->budget : NULL;
	uint64_t *left = share ? &share->items : &w->py->item_budget;
	if (n <= *left) {
		*left -= n;
		return true;
	}
	if (share)
		share->spent = true;
	else
		budget_spent(w->py);
	w->partial = true;
	return false;
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
		budget_spent(py);
}

static inline const uint8_t *rdn(struct walk *w, uint64_t addr, uint64_t n,
				 uint64_t size)
{
	if (n > MAX_ITEMS || !spend_items(w, n)) {
		w->partial = true;
		return NULL;
	}
	const uint8_t *p = pcc_target_ptr(w->py->t, addr, n * size);
	if (!p && n)
		w->partial = true;
	return p;
}

static inline uint64_t word_at(const uint8_t *p, uint64_t i)
{
	uint64_t v;
	memcpy(&v, p + i * 8, 8);
	return v;
}

/* Visit a pointer member at a layout offset, if the version has it. */
static void member(struct walk *w, uint64_t obj, enum pcc_layout_field f,
		   const char *name)
{
	int64_t off = w->py->l.off[f];
	uint64_t v;
	if (off >= 0 && rd(w, obj + (uint64_t)off, &v))
		emit(w, v, PCC_EDGE_MEMBER, name, 0, 0);
}

static void member_list(struct walk *w, uint64_t obj, enum pcc_layout_list id)
{
	const struct pcc_member_list *ml = &w->py->l.lists[id];
	for (int i = 0; i < ml->n && !w->stop; i++) {
		uint64_t v;
		if (rd(w, obj + (uint64_t)ml->offset[i], &v))
			emit(w, v, PCC_EDGE_MEMBER, ml->name[i], 0, 0);
	}
}

static void visit_array(struct walk *w, uint64_t items, uint64_t n,
			enum pcc_edge_label label)
{
	const uint8_t *p = rdn(w, items, n, 8);
	if (!p)
		return;
	for (uint64_t i = 0; i < n && !w->stop; i++)
		emit(w, word_at(p, i), label, NULL, 0, (int64_t)i);
}

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

static void traverse_list(struct walk *w, uint64_t obj)
{
	uint64_t n, items;
	if (rd(w, obj + w->py->off_size, &n)
	    && rd(w, obj + w->py->l.off[PCC_L_LIST_ITEMS], &items))
		visit_array(w, items, n, PCC_EDGE_INDEX);
}

static void traverse_tuple(struct walk *w, uint64_t obj)
{
	uint64_t n;
	if (rd(w, obj + w->py->off_size, &n))
		visit_array(w, obj + w->py->l.off[PCC_L_TUPLE_ITEMS], n,
			    PCC_EDGE_INDEX);
}

/*
 * 2.7 keeps the marker of a deleted set entry in a static of setobject.c,
 * which only a full symbol table names.  Without it, the marker is known
 * by what setobject.c makes it: the str "<dummy key>".  A str that a
 * program puts in a set with that very text would be taken for it; str
 * objects are not tracked, so that can change a listing of referents,
 * never what is reachable.
 */
static void learn_set_dummy(struct pcc_python *py, uint64_t key)
{
	static const char text[] = "<dummy key>";
	const struct pcc_layout *l = &py->l;
	uint64_t size;
	const uint8_t *sval;
	if (pcc_python_ob_type(py, key) == py->set_dummy_str_type
	    && pcc_target_read_u64(py->t, key + py->off_size, &size)
	    && size == sizeof(text) - 1
	    && (sval = pcc_target_ptr(py->t, key + l->off[PCC_L_STRING_SVAL],
				      sizeof(text)))
	    && memcmp(sval, text, sizeof(text)) == 0)
		py->set_dummy = key;
}

static void traverse_set(struct walk *w, uint64_t obj)
{
	const struct pcc_layout *l = &w->py->l;
	uint64_t mask, table;
	if (!rd(w, obj + l->off[PCC_L_SET_MASK], &mask)
	    || !rd(w, obj + l->off[PCC_L_SET_TABLE], &table))
		return;
	uint64_t esize = (uint64_t)l->off[PCC_L_SETENTRY_SIZE];
	const uint8_t *p = rdn(w, table, mask + 1, esize);
	if (!p || mask + 1 == 0)
		return;
	for (uint64_t i = 0; i <= mask && !w->stop; i++) {
		uint64_t key;
		memcpy(&key, p + i * esize + l->off[PCC_L_SETENTRY_KEY], 8);
		if (key && !w->py->set_dummy && w->py->set_dummy_str_type)
			learn_set_dummy(w->py, key);
		if (key && key != w->py->set_dummy)
			emit(w, key, PCC_EDGE_MEMBER, "<set item>", 0, 0);
	}
}

struct dict_keys {
	uint64_t nentries;
	uint64_t entries;
	uint64_t esize, key_off, value_off;
	bool general; /* keys may be any object: the traversal visits them */
	/* 3.6–3.10 without the lookdict symbol: decided by the keys. */
	bool general_unknown;
};

static bool read_dict_keys(struct walk *w, uint64_t keys, struct dict_keys *dk)
{
	const struct pcc_layout *l = &w->py->l;
	struct pcc_target *t = w->py->t;
	if (!rd(w, keys + l->off[PCC_L_DK_NENTRIES], &dk->nentries))
		return false;
	uint64_t slots, index_bytes;
	dk->general_unknown = false;
	if (pcc_layout_has(l, PCC_L_DK_LOG2_SIZE)) {
		/* 3.11+: sizes are log2 bytes; entries are 16 bytes (str keys)
		 * or 24 bytes (general) depending on dk_kind. */
		const uint8_t *p = pcc_target_ptr(t, keys, (size_t)l->off[PCC_L_DK_INDICES]);
		if (!p) {
			w->partial = true;
			return false;
		}
		uint8_t log2_size = p[l->off[PCC_L_DK_LOG2_SIZE]];
		uint8_t log2_index = p[l->off[PCC_L_DK_LOG2_INDEX_BYTES]];
		uint8_t kind = p[l->off[PCC_L_DK_KIND]];
		if (log2_size > 40 || log2_index > 44)
			goto bad;
		slots = 1ull << log2_size;
		index_bytes = 1ull << log2_index;
		dk->general = kind == DICT_KEYS_GENERAL;
		if (dk->general) {
			dk->esize = (uint64_t)l->off[PCC_L_DKE_SIZE];
			dk->key_off = (uint64_t)l->off[PCC_L_DKE_KEY];
			dk->value_off = (uint64_t)l->off[PCC_L_DKE_VALUE];
		} else {
			dk->esize = (uint64_t)l->off[PCC_L_DKUE_SIZE];
			dk->key_off = (uint64_t)l->off[PCC_L_DKUE_KEY];
			dk->value_off = (uint64_t)l->off[PCC_L_DKUE_VALUE];
		}
	} else {
		/* 3.6–3.10: the index width follows dk_size; tables using the
		 * general lookdict visit their keys too. */
		uint64_t lookup = 0;
		if (!rd(w, keys + l->off[PCC_L_DK_SIZE], &slots))
			return false;
		if (pcc_layout_has(l, PCC_L_DK_LOOKUP))
			rd(w, keys + l->off[PCC_L_DK_LOOKUP], &lookup);
		if (slots == 0 || slots > (1ull << 40))
			goto bad;
		uint64_t width = slots <= 0xff ? 1 : slots <= 0xffff ? 2
					      : slots <= 0xffffffffull ? 4 : 8;
		index_bytes = slots * width;
		dk->general = lookup == w->py->lookdict;
		dk->general_unknown = !w->py->lookdict;
		dk->esize = (uint64_t)l->off[PCC_L_DKE_SIZE];
		dk->key_off = (uint64_t)l->off[PCC_L_DKE_KEY];
		dk->value_off = (uint64_t)l->off[PCC_L_DKE_VALUE];
	}
	if (dk->nentries > slots)
		goto bad;
	dk->entries = keys + (uint64_t)l->off[PCC_L_DK_INDICES] + index_bytes;
	return true;
bad:
	w->partial = true;
	return false;
}

/* Key of entry i (for labels): the attribute or item name. */
static uint64_t entry_key(struct walk *w, const struct dict_keys *dk,
			  uint64_t i)
{
	uint64_t key = 0;
	if (w->labels)
		pcc_target_read_u64(w->py->t,
				    dk->entries + i * dk->esize + dk->key_off,
				    &key);
	return key;
}

static int64_t dv_values_off(const struct pcc_python *py)
{
	/* 3.6–3.12 point at the array itself; 3.13+ has a header before it. */
	return py->l.off[PCC_L_DV_VALUES] > 0 ? py->l.off[PCC_L_DV_VALUES] : 0;
}

/* Values stored apart from the keys: a split dict's, or an instance's.
 * values is their PyDictValues, wherever the version starts its array; dk,
 * if not NULL, the keys that label them. */
static void visit_values(struct walk *w, uint64_t values, uint64_t n,
			 const struct dict_keys *dk, enum pcc_edge_label label)
{
	const uint8_t *p = rdn(w, values + dv_values_off(w->py), n, 8);
	if (!p)
		return;
	for (uint64_t i = 0; i < n && !w->stop; i++) {
		uint64_t v = word_at(p, i);
		if (v)
			emit(w, v, label, NULL,
			     dk && i < dk->nentries ? entry_key(w, dk, i) : 0,
			     (int64_t)i);
	}
}

/* 2.7: the entries are the dict's own table, ma_mask + 1 of them; those
 * with a value are active, and their keys are visited too. */
static void traverse_dict_table(struct walk *w, uint64_t obj)
{
	const struct pcc_layout *l = &w->py->l;
	uint64_t mask, table;
	if (!rd(w, obj + l->off[PCC_L_DICT_MASK], &mask)
	    || !rd(w, obj + l->off[PCC_L_DICT_TABLE], &table))
		return;
	uint64_t esize = (uint64_t)l->off[PCC_L_DKE_SIZE];
	const uint8_t *p = mask + 1 ? rdn(w, table, mask + 1, esize) : NULL;
	if (!p) {
		w->partial = true;
		return;
	}
	for (uint64_t i = 0; i <= mask && !w->stop; i++) {
		uint64_t key, value;
		memcpy(&key, p + i * esize + l->off[PCC_L_DKE_KEY], 8);
		memcpy(&value, p + i * esize + l->off[PCC_L_DKE_VALUE], 8);
		if (!value)
			continue;
		emit(w, key, PCC_EDGE_DICT_KEY, NULL, key, 0);
		emit(w, value, PCC_EDGE_DICT_VALUE, NULL, key, 0);
	}
}

static void traverse_dict(struct walk *w, uint64_t obj)
{
	struct pcc_python *py = w->py;
	const struct pcc_layout *l = &py->l;
	uint64_t keys, values = 0;
	struct dict_keys dk;
	if (pcc_layout_has(l, PCC_L_DICT_TABLE)) {
		traverse_dict_table(w, obj);
		return;
	}
	if (!rd(w, obj + l->off[PCC_L_DICT_KEYS], &keys)
	    || (pcc_layout_has(l, PCC_L_DICT_VALUES)
		&& !rd(w, obj + l->off[PCC_L_DICT_VALUES], &values))
	    || !read_dict_keys(w, keys, &dk))
		return;
	if (values) {
		if (py->inline_values_owner_only
		    && pcc_layout_has(l, PCC_L_DV_EMBEDDED)) {
			const uint8_t *e = pcc_target_ptr(
				py->t, values + l->off[PCC_L_DV_EMBEDDED], 1);
			if (e && *e)
				return;
		}
		visit_values(w, values, dk.nentries, &dk, PCC_EDGE_DICT_VALUE);
		return;
	}
	const uint8_t *p = rdn(w, dk.entries, dk.nentries, dk.esize);
	if (!p)
		return;
	if (dk.general_unknown) {
		/* A table with a key that is not exactly str uses the general
		 * lookdict (which visits keys); str-only tables are taken as
		 * the str-specialised kind, which is all but certain. */
		for (uint64_t i = 0; i < dk.nentries && !dk.general; i++) {
			uint64_t key, value;
			memcpy(&key, p + i * dk.esize + dk.key_off, 8);
			memcpy(&value, p + i * dk.esize + dk.value_off, 8);
			if (value && key
			    && pcc_python_ob_type(py, key) != py->unicode_type)
				dk.general = true;
		}
	}
	for (uint64_t i = 0; i < dk.nentries && !w->stop; i++) {
		uint64_t key, value;
		memcpy(&key, p + i * dk.esize + dk.key_off, 8);
		memcpy(&value, p + i * dk.esize + dk.value_off, 8);
		if (!value)
			continue;
		emit(w, value, PCC_EDGE_DICT_VALUE, NULL, key, 0);
		if (dk.general)
			emit(w, key, PCC_EDGE_DICT_KEY, NULL, key, 0);
	}
}


/*
 * Attributes kept outside a dict (3.11+): a values array laid out like the
 * type's shared keys.  3.11 and 3.12 size it by the cached keys' entry
 * count, 3.13+ by the capacity byte in the values header.
 */
static void visit_inline_values(struct walk *w, uint64_t values,
				const struct pcc_type_info *ti)
{
	struct pcc_python *py = w->py;
	struct dict_keys dk;
	bool have_keys = ti->cached_keys && read_dict_keys(w, ti->cached_keys, &dk);
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
	visit_values(w, values, n, have_keys ? &dk : NULL, PCC_EDGE_ATTR);
}

/* Does a 3.13+ object keep valid inline values? */
static bool inline_values_valid(struct walk *w, uint64_t values)
{
	const uint8_t *h = pcc_target_ptr(w->py->t, values, 8);
	return h && h[w->py->l.off[PCC_L_DV_VALID]];
}


static void instance_dict(struct walk *w, uint64_t obj,
			  const struct pcc_type_info *ti)
{
	struct pcc_python *py = w->py;
	const struct pcc_version_traits *v = py->traits;
	if (pcc_python_has_managed_dict(py, ti)) {
		uint64_t slot, at = obj + (uint64_t)v->managed_dict_offset;
		if (!rd(w, at, &slot))
			return;
		if (v->managed_dict == PCC_MANAGED_DICT_VALUES_POINTER) {
			uint64_t values;
			if (rd(w, at - 8, &values) && values)
				visit_inline_values(w, values, ti);
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

/* An instance's own references, as subtype_traverse visits them before its
 * base's traversal; false when that traversal is unknown (the object is
 * then partial), true when the caller must run it. */
static bool traverse_instance(struct walk *w, uint64_t obj, uint64_t type,
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

static void traverse_type(struct walk *w, uint64_t obj)
{
	member(w, obj, PCC_L_TP_DICT, "__dict__");
	member(w, obj, PCC_L_TP_CACHE, "tp_cache");
	member(w, obj, PCC_L_TP_MRO, "__mro__");
	member(w, obj, PCC_L_TP_BASES, "__bases__");
	member(w, obj, PCC_L_TP_BASE, "__base__");
	member(w, obj, PCC_L_HT_MODULE, "ht_module");
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
	if ((bits & 1) && w->owned_only)
		return;
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

static void traverse_frame(struct walk *w, uint64_t obj)
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

static void traverse_generator(struct walk *w, uint64_t obj)
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

/*
 * Do the deque's blocks, from leftblock to rightblock, hold exactly len
 * items?  Checked before any item is visited, so that a chain that loops,
 * breaks or disagrees with len visits nothing; the walk stops after the
 * blocks that len allows, whatever the links say.
 */
static bool deque_blocks_agree(struct walk *w, uint64_t obj, uint64_t block,
			       uint64_t index, uint64_t len, uint64_t blocklen)
{
	const struct pcc_layout *l = &w->py->l;
	uint64_t right, rindex;
	if (!rd(w, obj + l->off[PCC_L_DEQUE_RIGHTBLOCK], &right)
	    || !rd(w, obj + l->off[PCC_L_DEQUE_RIGHTINDEX], &rindex)
	    || rindex >= blocklen)
		return false;
	uint64_t nblocks = 1, max_blocks = len / blocklen + 2;
	struct pcc_chain_check chain;
	pcc_chain_check_init(&chain, block);
	while (block != right) {
		if (nblocks >= max_blocks
		    || !rd(w, block + l->off[PCC_L_BLOCK_RIGHTLINK], &block)
		    || !block || pcc_chain_check_loops(&chain, block))
			return false;
		nblocks++;
	}
	return (nblocks - 1) * blocklen + rindex + 1 == len + index;
}

static void traverse_deque(struct walk *w, uint64_t obj)
{
	const struct pcc_layout *l = &w->py->l;
	uint64_t block, index, len;
	int64_t blocklen = l->count[PCC_L_BLOCK_DATA];
	if (blocklen <= 0 || !rd(w, obj + l->off[PCC_L_DEQUE_LEFTBLOCK], &block)
	    || !rd(w, obj + l->off[PCC_L_DEQUE_LEFTINDEX], &index)
	    || !rd(w, obj + l->off[PCC_L_DEQUE_LEN], &len) || len > MAX_ITEMS
	    || index >= (uint64_t)blocklen) {
		w->partial = true;
		return;
	}
	if (!len)
		return;
	if (pcc_layout_has(l, PCC_L_DEQUE_RIGHTBLOCK)
	    && pcc_layout_has(l, PCC_L_DEQUE_RIGHTINDEX)
	    && !deque_blocks_agree(w, obj, block, index, len, (uint64_t)blocklen)) {
		w->partial = true;
		return;
	}
	if (!spend_items(w, len))
		return;
	/* Without rightblock in the layout, the same bounds as we go. */
	uint64_t nblocks = 1, max_blocks = len / (uint64_t)blocklen + 2;
	struct pcc_chain_check chain;
	pcc_chain_check_init(&chain, block);
	for (uint64_t i = 0; i < len && !w->stop; i++) {
		uint64_t item;
		if (!rd(w, block + l->off[PCC_L_BLOCK_DATA] + index * 8, &item))
			return;
		emit(w, item, PCC_EDGE_INDEX, NULL, 0, (int64_t)i);
		if (++index == (uint64_t)blocklen && i + 1 < len) {
			if (++nblocks > max_blocks
			    || !rd(w, block + l->off[PCC_L_BLOCK_RIGHTLINK], &block)
			    || !block || pcc_chain_check_loops(&chain, block)) {
				w->partial = true;
				return;
			}
			index = 0;
		}
	}
}

/*
 * The node list has one node per item.  ma_used is the target's word, so
 * the walk is also bounded by the entries the keys table really holds, and
 * a list that loops is cut (partial) where the loop is found.
 */
static void traverse_odict(struct walk *w, uint64_t obj)
{
	const struct pcc_layout *l = &w->py->l;
	member(w, obj, PCC_L_ODICT_INST_DICT, "__dict__");
	uint64_t node, used, keys;
	struct dict_keys dk;
	if (!rd(w, obj + l->off[PCC_L_ODICT_FIRST], &node)
	    || !rd(w, obj + l->off[PCC_L_DICT_USED], &used))
		return;
	if (node && (!pcc_layout_has(l, PCC_L_DICT_KEYS)
		     || !rd(w, obj + l->off[PCC_L_DICT_KEYS], &keys)
		     || !read_dict_keys(w, keys, &dk) || used > dk.nentries
		     || !rdn(w, dk.entries, dk.nentries, dk.esize))) {
		w->partial = true;
		node = 0;
	}
	if (node && !spend_items(w, used))
		node = 0;
	struct pcc_chain_check chain;
	pcc_chain_check_init(&chain, 0);
	for (uint64_t i = 0; node && !w->stop; i++) {
		uint64_t key;
		if (i == used || pcc_chain_check_loops(&chain, node)) {
			/* More nodes than items: a list that loops or runs
			 * into other memory. */
			w->partial = true;
			break;
		}
		if (!rd(w, node + l->off[PCC_L_ODICTNODE_KEY], &key))
			return;
		emit(w, key, PCC_EDGE_DICT_KEY, NULL, key, 0);
		if (!rd(w, node + l->off[PCC_L_ODICTNODE_NEXT], &node))
			return;
	}
	traverse_dict(w, obj);
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
	case PCC_KIND_NONE:
	case PCC_KIND_INSTANCE: /* handled by the caller */
	case PCC_KIND_EMULATED:
	case PCC_KIND_COUNT:
		break;
	case PCC_KIND_LIST:
		traverse_list(w, obj);
		break;
	case PCC_KIND_TUPLE:
		traverse_tuple(w, obj);
		break;
	case PCC_KIND_DICT:
		traverse_dict(w, obj);
		break;
	case PCC_KIND_SET:
		traverse_set(w, obj);
		break;
	case PCC_KIND_TYPE:
		traverse_type(w, obj);
		break;
	case PCC_KIND_FUNCTION:
		member_list(w, obj, PCC_LL_FUNC);
		break;
	case PCC_KIND_METHOD:
		member(w, obj, PCC_L_METHOD_FUNC, "__func__");
		member(w, obj, PCC_L_METHOD_SELF, "__self__");
		member(w, obj, PCC_L_METHOD_CLASS, "im_class");
		break;
	case PCC_KIND_CELL:
		member(w, obj, PCC_L_CELL_REF, "cell_contents");
		break;
	case PCC_KIND_CLASSMETHOD:
		member_list(w, obj, PCC_LL_CLASSMETHOD);
		break;
	case PCC_KIND_STATICMETHOD:
		member_list(w, obj, PCC_LL_STATICMETHOD);
		break;
	case PCC_KIND_PROPERTY:
		member_list(w, obj, PCC_LL_PROPERTY);
		break;
	case PCC_KIND_MODULE:
		traverse_module(w, obj);
		break;
	case PCC_KIND_FRAME:
		traverse_frame(w, obj);
		break;
	case PCC_KIND_ASYNC_GENERATOR:
		member(w, obj, PCC_L_ASYNCGEN_FINALIZER, "ag_finalizer");
		traverse_generator(w, obj);
		break;
	case PCC_KIND_GENERATOR:
		traverse_generator(w, obj);
		break;
	case PCC_KIND_EXCEPTION:
		member_list(w, obj, PCC_LL_EXCEPTION);
		break;
	case PCC_KIND_TRACEBACK:
		member(w, obj, PCC_L_TRACEBACK_NEXT, "tb_next");
		member(w, obj, PCC_L_TRACEBACK_FRAME, "tb_frame");
		break;
	case PCC_KIND_WEAKREF:
		member(w, obj, PCC_L_WEAKREF_CALLBACK, "__callback__");
		break;
	case PCC_KIND_CFUNCTION:
		traverse_cfunction(w, obj);
		break;
	case PCC_KIND_DESCRIPTOR:
		member(w, obj, PCC_L_DESCR_TYPE, "__objclass__");
		break;
	case PCC_KIND_METHOD_WRAPPER:
		member(w, obj, PCC_L_WRAPPER_DESCR, "descr");
		member(w, obj, PCC_L_WRAPPER_SELF, "__self__");
		break;
	case PCC_KIND_MAPPINGPROXY:
		member(w, obj, PCC_L_MAPPINGPROXY_MAPPING, "mapping");
		break;
	case PCC_KIND_MEMBERS:
		member_list(w, obj, (enum pcc_layout_list)list);
		break;
	case PCC_KIND_DEQUE:
		traverse_deque(w, obj);
		break;
	case PCC_KIND_DEFAULTDICT:
		member(w, obj, PCC_L_DEFDICT_FACTORY, "default_factory");
		traverse_dict(w, obj);
		break;
	case PCC_KIND_ORDEREDDICT:
		traverse_odict(w, obj);
		break;
	case PCC_KIND_PARTIAL:
		member_list(w, obj, PCC_LL_PARTIAL);
		break;
	case PCC_KIND_FILEIO:
		member(w, obj, PCC_L_FILEIO_DICT, "__dict__");
		break;
	case PCC_KIND_BUFFERED:
		member(w, obj, PCC_L_BUFFERED_RAW, "raw");
		member(w, obj, PCC_L_BUFFERED_DICT, "__dict__");
		break;
	case PCC_KIND_TEXTIO:
		member_list(w, obj, PCC_LL_TEXTIO);
		break;
	case PCC_KIND_RWPAIR:
		member_list(w, obj, PCC_LL_RWPAIR);
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
		if (traverse_instance(w, obj, ti->addr, ti))
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

enum pcc_kind pcc_python_referents(struct pcc_python *py, uint64_t obj,
				   struct pcc_type_info *ti, bool owned_only,
				   struct pcc_referents *out, bool *partial,
				   enum pcc_is_gc *is_gc)
{
	struct walk w = { .py = py, .owned_only = owned_only, .out = out };
	return traverse(&w, obj, ti, partial, is_gc);
}
