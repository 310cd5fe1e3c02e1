/* SPDX-License-Identifier: MIT */
/*
 * What the traverse files share, and no other file includes: the walk one
 * traversal carries, the reads and visits it makes, and each object
 * family's traversal.  The reads and visits run per reference, so they
 * are inline here; a family's traversal runs once per object, so it may
 * be a call into another file.  Why a traversal visits less when in doubt:
 * traverse.c.
 */
#ifndef PCC_TRAVERSE_WALK_H
#define PCC_TRAVERSE_WALK_H

#include "interpreter.h"
#include "traverse.h"

enum {
	/* No real container is this large; a bigger count is corrupt data. */
	MAX_ITEMS = 1 << 28,
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
	if (w->out) { /* the hot passes: no visitor, which could stop */
		struct pcc_referents *r = w->out;
		if (!ref)
			return;
		if (r->len == PCC_REFERENTS_CAP)
			r->flush(r);
		r->addrs[r->len] = ref;
		r->owners[r->len++] = r->owner;
		return;
	}
	if (!ref || w->stop)
		return;
	if (w->labels) {
		struct pcc_edge e = { label, name, key, index };
		w->stop = w->visit(w->ctx, ref, &e);
	} else {
		w->stop = w->visit(w->ctx, ref, NULL);
	}
}

/*
 * The hot passes' form of emitting n words that lie stride bytes apart
 * from p: into the buffer, with its length and owner held in registers
 * between flushes.
 */
static inline void emit_words(struct pcc_referents *r, const uint8_t *p,
			      uint64_t n, uint64_t stride)
{
	uint32_t len = r->len, owner = r->owner;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t ref;
		memcpy(&ref, p + i * stride, 8);
		if (!ref)
			continue;
		if (len == PCC_REFERENTS_CAP) {
			r->len = len;
			r->flush(r);
			len = r->len;
		}
		r->addrs[len] = ref;
		r->owners[len++] = owner;
	}
	r->len = len;
}

static inline bool rd(struct walk *w, uint64_t addr, uint64_t *v)
{
	if (pcc_target_read_u64(w->py->t, addr, v))
		return true;
	w->partial = true;
	return false;
}

/* Once, when the interpreter's own budget runs out: the warning. */
void pcc_traverse_budget_spent(struct pcc_python *py);

/*
 * Pay for n items out of the traversals' budget (interpreter.h).  Sizes
 * are the target's words: each container's items are checked to be mapped,
 * but many containers can claim the same memory.  Once the budget is gone,
 * items are not read and their owners are partial (held from outside).
 */
static inline bool spend_items(struct walk *w, uint64_t n)
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
		pcc_traverse_budget_spent(w->py);
	w->partial = true;
	return false;
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
static inline void member(struct walk *w, uint64_t obj,
			  enum pcc_layout_field f, const char *name)
{
	int64_t off = w->py->l.off[f];
	uint64_t v;
	if (off >= 0 && rd(w, obj + (uint64_t)off, &v))
		emit(w, v, PCC_EDGE_MEMBER, name, 0, 0);
}

static inline void member_list(struct walk *w, uint64_t obj,
			       enum pcc_layout_list id)
{
	const struct pcc_member_list *ml = &w->py->l.lists[id];
	for (int i = 0; i < ml->n && !w->stop; i++) {
		uint64_t v;
		if (rd(w, obj + (uint64_t)ml->offset[i], &v))
			emit(w, v, PCC_EDGE_MEMBER, ml->name[i], 0, 0);
	}
}

static inline void visit_array(struct walk *w, uint64_t items, uint64_t n,
			       enum pcc_edge_label label)
{
	const uint8_t *p = rdn(w, items, n, 8);
	if (!p)
		return;
	if (w->out) {
		emit_words(w->out, p, n, 8);
		return;
	}
	for (uint64_t i = 0; i < n && !w->stop; i++)
		emit(w, word_at(p, i), label, NULL, 0, (int64_t)i);
}

/* traverse_containers.c */
void pcc_traverse_list(struct walk *w, uint64_t obj);
void pcc_traverse_tuple(struct walk *w, uint64_t obj);
void pcc_traverse_set(struct walk *w, uint64_t obj);
void pcc_traverse_deque(struct walk *w, uint64_t obj);

/* traverse_dict.c */
bool pcc_traverse_read_dict_keys(struct walk *w, uint64_t keys,
				 struct pcc_dict_keys *dk);
/* Values stored apart from the keys: a split dict's, or an instance's.
 * values is their PyDictValues, wherever the version starts its array; dk,
 * if not NULL, the keys that label them. */
void pcc_traverse_visit_values(struct walk *w, uint64_t values, uint64_t n,
			       const struct pcc_dict_keys *dk,
			       enum pcc_edge_label label);
void pcc_traverse_dict(struct walk *w, uint64_t obj);
/* A 3.6+ dict's tables, its ma_keys and ma_values read. */
void pcc_traverse_dict_tables(struct walk *w, uint64_t keys, uint64_t values);
void pcc_traverse_odict(struct walk *w, uint64_t obj);

/* traverse_instance.c: an instance's own references, as subtype_traverse
 * visits them before its base's traversal; false when that traversal is
 * unknown (the object is then partial), true when the caller must run it. */
bool pcc_traverse_instance(struct walk *w, uint64_t obj, uint64_t type,
			   const struct pcc_type_info *ti);

/* The instance's managed dict, or its values kept apart from one: slot
 * is the word at the version's managed-dict offset, before (3.11) the
 * values pointer one word before it. */
void pcc_traverse_managed_dict(struct walk *w, uint64_t obj,
			       const struct pcc_type_info *ti, uint64_t slot,
			       uint64_t before);

/* traverse.c: pcc_python_referents without a program (traverse_program.c
 * runs a type's program where it has one). */
enum pcc_kind pcc_traverse_general(struct walk *w, uint64_t obj,
				   struct pcc_type_info *ti, bool *partial,
				   enum pcc_is_gc *is_gc);

/* traverse_frame.c */
void pcc_traverse_frame(struct walk *w, uint64_t obj);
void pcc_traverse_generator(struct walk *w, uint64_t obj);

#endif
