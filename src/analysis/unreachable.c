/* SPDX-License-Identifier: MIT */
/*
 * CPython's cycle detection, redone on the snapshot (Modules/gcmodule.c,
 * Python/gc.c: update_refs, subtract_refs, move_unreachable):
 *
 *  1. gc_refs = the reference count of each tracked object;
 *  2. every reference from one tracked object to another, as the owner's
 *     tp_traverse reports it, is subtracted from the target's gc_refs;
 *  3. an object with gc_refs > 0 is referenced from outside the tracked
 *     set (a C global, a running frame, an untracked container): a root;
 *  4. whatever a root reaches is alive; the rest is what a full collection
 *     would find unreachable.
 *
 * An object whose traversal we do not know subtracts nothing, so what it
 * refers to looks referenced from outside: it can hide garbage but never
 * invent it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "../cpython/refcount.h"
#include "../cpython/traverse.h"
#include "../util/sort.h"

struct decref_ctx {
	struct pcc_heap *h;
	uint64_t owner;
};

static bool visit_decref(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	(void)e;
	struct decref_ctx *c = ctx;
	uint32_t j = pcc_heap_find(c->h, ref);
	if (j == UINT32_MAX)
		return false;
	c->h->gc_refs[j]--;
	if (c->h->flags[j] & PCC_OBJ_WATCHED) /* rare: file objects */
		pcc_heap_note_referrer(c->h, c->owner, ref);
	return false;
}

struct mark_ctx {
	struct pcc_heap *h;
	uint32_t *stack;
	size_t len, cap;
};

static bool visit_mark(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	(void)e;
	struct mark_ctx *m = ctx;
	uint32_t j = pcc_heap_find(m->h, ref);
	if (j == UINT32_MAX || (m->h->flags[j] & PCC_OBJ_REACHABLE))
		return false;
	m->h->flags[j] |= PCC_OBJ_REACHABLE;
	if (m->len == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 4096;
		m->stack = pcc_xreallocarray(m->stack, m->cap, sizeof(uint32_t));
	}
	m->stack[m->len++] = j;
	return false;
}

/* Small counter keyed by type address, for histograms. */
struct type_counter {
	struct pcc_count *slots;
	size_t cap, len;
};

static void counter_add(struct type_counter *c, uint64_t type, uint64_t n)
{
	if ((c->len + 1) * 2 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct pcc_count *s = pcc_xcalloc(cap, sizeof(*s));
		for (size_t i = 0; i < c->cap; i++) {
			if (!c->slots[i].count)
				continue;
			size_t j = (c->slots[i].type * 0x9e3779b97f4a7c15ull >> 20)
				   & (cap - 1);
			while (s[j].count)
				j = (j + 1) & (cap - 1);
			s[j] = c->slots[i];
		}
		free(c->slots);
		c->slots = s;
		c->cap = cap;
	}
	size_t j = (type * 0x9e3779b97f4a7c15ull >> 20) & (c->cap - 1);
	while (c->slots[j].count && c->slots[j].type != type)
		j = (j + 1) & (c->cap - 1);
	if (!c->slots[j].count) {
		c->slots[j].type = type;
		c->len++;
	}
	c->slots[j].count += n;
}

static int count_desc(const void *a, const void *b)
{
	const struct pcc_count *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->type < y->type ? -1 : x->type > y->type;
}

/* Move the counts into a vector, most frequent first. */
static void counter_finish(struct type_counter *c, struct pcc_count_vec *out)
{
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].count)
			*pcc_count_vec_push(out) = c->slots[i];
	pcc_sort(out->data, out->len, sizeof(out->data[0]), count_desc);
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

void pcc_heap_find_unreachable(struct pcc_heap *h)
{
	struct pcc_python *py = h->py;
	for (uint32_t i = 0; i < h->n; i++) {
		int64_t rc = pcc_python_refcnt(py, h->addrs[i]);
		if (rc == PCC_REFCNT_IMMORTAL) {
			h->flags[i] |= PCC_OBJ_IMMORTAL;
			rc = INT32_MAX;
		} else if (rc < 0) {
			h->flags[i] |= PCC_OBJ_HELD;
			h->unreadable_objects++;
			rc = INT32_MAX;
		}
		h->gc_refs[i] = rc > INT32_MAX ? INT32_MAX : (int32_t)rc;
	}

	struct type_counter unknown = { 0 }, undecided = { 0 };
	struct decref_ctx dc = { h, 0 };
	struct pcc_progress *progress = h->progress;
	pcc_progress_begin(progress, "reachability: references", "objects", h->n);
	for (uint32_t i = 0; i < h->n; i++) {
		pcc_progress_update(progress, i);
		bool partial;
		enum pcc_is_gc is_gc;
		dc.owner = h->addrs[i];
		enum pcc_kind kind = pcc_python_traverse_owned(py, h->addrs[i],
							       visit_decref, &dc,
							       &partial, &is_gc);
		if (is_gc != PCC_IS_GC_YES)
			h->flags[i] |= PCC_OBJ_HELD;
		if (is_gc == PCC_IS_GC_UNDECIDED)
			counter_add(&undecided, pcc_heap_type_addr(h, i), 1);
		if (kind == PCC_KIND_UNKNOWN) {
			h->flags[i] |= PCC_OBJ_UNKNOWN;
			counter_add(&unknown, pcc_heap_type_addr(h, i), 1);
		} else if (partial) {
			h->flags[i] |= PCC_OBJ_PARTIAL;
			h->partial_objects++;
		}
	}
	counter_finish(&unknown, &h->unknown_types);
	counter_finish(&undecided, &h->undecided_types);
	if (h->unreadable_objects)
		pcc_heap_warn(h,
			      "%llu objects on the generation lists cannot be read "
			      "(their reference count is unreadable or damaged): "
			      "they are taken for alive, with what they refer to",
			      (unsigned long long)h->unreadable_objects);

	struct mark_ctx m = { .h = h };
	uint64_t marked = 0;
	pcc_progress_begin(progress, "reachability: marking", "objects", h->n);
	for (uint32_t i = 0; i < h->n; i++) {
		bool held = h->flags[i] & PCC_OBJ_HELD;
		if (h->gc_refs[i] < 0 && !held)
			h->negative_refs++;
		if ((h->gc_refs[i] > 0 || held)
		    && !(h->flags[i] & PCC_OBJ_REACHABLE)) {
			h->flags[i] |= PCC_OBJ_REACHABLE;
			m.len = 0;
			m.stack = m.stack ? m.stack : pcc_xmalloc(4096 * sizeof(uint32_t));
			m.cap = m.cap ? m.cap : 4096;
			m.stack[m.len++] = i;
			while (m.len) {
				uint32_t x = m.stack[--m.len];
				pcc_progress_update(progress, ++marked);
				pcc_python_traverse(py, h->addrs[x], visit_mark, &m,
						    false, NULL);
			}
		}
	}
	free(m.stack);
	pcc_progress_end(progress);
	if (h->negative_refs)
		pcc_heap_warn(h,
			      "%llu objects are referenced more often than their "
			      "reference count says: the core is inconsistent or "
			      "a traversal is wrong; results may be incomplete",
			      (unsigned long long)h->negative_refs);

	h->unreachable = pcc_xcalloc(h->n ? h->n : 1, sizeof(uint32_t));
	for (uint32_t i = 0; i < h->n; i++)
		if (!(h->flags[i] & PCC_OBJ_REACHABLE))
			h->unreachable[h->nunreachable++] = i;
}

void pcc_heap_count_types(struct pcc_heap *h)
{
	/* Type ids are dense: one counter each, the last for no type. */
	size_t ntypes = pcc_python_type_count(h->py);
	uint64_t *per_id = pcc_xcalloc(ntypes + 1, sizeof(uint64_t));
	for (uint32_t i = 0; i < h->n; i++) {
		uint32_t id = h->type_ids[i];
		per_id[id < ntypes ? id : ntypes]++;
	}
	struct type_counter c = { 0 };
	for (size_t id = 0; id <= ntypes; id++) {
		const struct pcc_type_info *ti =
			id < ntypes ? pcc_python_type_by_id(h->py, (uint32_t)id) : NULL;
		if (per_id[id])
			counter_add(&c, ti ? ti->addr : 0, per_id[id]);
	}
	free(per_id);
	counter_finish(&c, &h->type_histogram);
}
