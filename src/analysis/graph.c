/* SPDX-License-Identifier: MIT */
/*
 * The memory graph's nodes besides the tracked objects: the objects of
 * the permanent generation, and what the tracked ones hold that the
 * collector does not track -- str, bytes, int, float, static types, and
 * the tuples and dicts it untracked, whose own referents are followed in
 * turn.  A dict holds its keys too, where its traversal leaves them out
 * (gc.get_referents does): a dict of a million long strings is big.
 *
 * The tracked objects' traversals, the costly part, run on the heap's
 * threads, each thread gathering what it finds in a set of its own; what
 * follows, the few rounds through untracked containers and the reading of
 * each node's type, is serial.  The nodes are bounded by the objects the
 * analysis may read at most, and every traversal by the item budget.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "type_counts.h"
#include "../cpython/object_size.h"
#include "../cpython/traverse.h"
#include "../util/address_sort.h"
#include "../util/parallel.h"
#include "../util/u64_set.h"

enum {
	/* A direct-mapped memory of the addresses seen last, per thread:
	 * the same few objects (None, small ints, interned names, types)
	 * come up again and again, and need no look in the set. */
	RECENT_SLOTS = 4096,
};

struct others_share {
	struct pcc_heap *h;
	struct pcc_referents *refs;
	struct pcc_item_budget budget;
	struct pcc_u64_set found;
	uint64_t recent[RECENT_SLOTS];
};

static inline bool seen_recently(uint64_t *recent, uint64_t addr)
{
	uint64_t *slot = &recent[(addr >> 4) % RECENT_SLOTS];
	if (*slot == addr)
		return true;
	*slot = addr;
	return false;
}

/* The referents in the buffer that are not tracked, into the share's set. */
static void flush_others(struct pcc_referents *r)
{
	struct others_share *s = r->ctx;
	uint32_t idx[PCC_REFERENTS_CAP];
	pcc_heap_find_many(s->h, r->addrs, r->len, idx);
	for (uint32_t k = 0; k < r->len; k++)
		if (idx[k] == UINT32_MAX && !seen_recently(s->recent, r->addrs[k]))
			pcc_u64_set_add(&s->found, r->addrs[k]);
	r->len = 0;
}

static void others_run(void *ctx, unsigned share, unsigned shares)
{
	struct others_share *s = (struct others_share *)ctx + share;
	struct pcc_heap *h = s->h;
	uint32_t begin, end;
	pcc_parallel_range(share, shares, h->n, &begin, &end);
	struct pcc_heap_cursor cursor = { 0 };
	for (uint32_t i = begin; i < end; i++) {
		if (h->flags[i] & PCC_OBJ_UNKNOWN)
			continue;
		s->refs->owner = i;
		pcc_python_referents(h->py, pcc_heap_cursor_addr(h, &cursor, i),
				     pcc_heap_type(h, i), false, s->refs, NULL, NULL);
	}
	flush_others(s->refs);
}

/* What the tracked objects refer to that is not tracked, as a set. */
static void referents_of_tracked(struct pcc_heap *h, struct pcc_u64_set *out)
{
	unsigned shares = h->threads <= 1 || h->n < 65536
					  || !pcc_python_referents_parallel(h->py)
				  ? 1
				  : h->threads > PCC_PARALLEL_MAX ? PCC_PARALLEL_MAX
								  : h->threads;
	struct others_share *s = pcc_xcalloc(shares, sizeof(*s));
	struct pcc_item_budget budget[PCC_PARALLEL_MAX];
	pcc_python_budget_share(h->py, budget, shares);
	for (unsigned k = 0; k < shares; k++) {
		s[k].h = h;
		s[k].budget = budget[k];
		s[k].refs = pcc_xmalloc(sizeof(*s[k].refs));
		*s[k].refs = (struct pcc_referents){
			.flush = flush_others, .ctx = &s[k], .budget = &s[k].budget,
			.dict_keys = true
		};
	}
	pcc_parallel_run(shares, others_run, s);
	for (unsigned k = 0; k < shares; k++) {
		budget[k] = s[k].budget;
		free(s[k].refs);
	}
	pcc_python_budget_return(h->py, budget, shares);
	/* The largest set is kept, the others poured into it. */
	unsigned largest = 0;
	for (unsigned k = 1; k < shares; k++)
		if (s[k].found.len > s[largest].found.len)
			largest = k;
	*out = s[largest].found;
	for (unsigned k = 0; k < shares; k++) {
		if (k == largest)
			continue;
		for (size_t j = 0; j < s[k].found.cap; j++)
			if (s[k].found.keys[j])
				pcc_u64_set_add(out, s[k].found.keys[j]);
		pcc_u64_set_free(&s[k].found);
	}
	free(s);
}

/* The serial rounds: each node found is read, and a GC object among
 * them (an untracked tuple or dict, an object of the permanent
 * generation) is traversed for more. */
struct others_walk {
	struct pcc_heap *h;
	struct pcc_type_counts unknown; /* nodes whose traversal is unknown */
	struct pcc_u64_set *seen;
	struct pcc_u64_vec *nodes;
	uint64_t limit;
	bool truncated;
};

static void flush_more(struct pcc_referents *r)
{
	struct others_walk *w = r->ctx;
	uint32_t idx[PCC_REFERENTS_CAP];
	pcc_heap_find_many(w->h, r->addrs, r->len, idx);
	for (uint32_t k = 0; k < r->len; k++) {
		if (idx[k] != UINT32_MAX || !pcc_u64_set_add(w->seen, r->addrs[k]))
			continue;
		if (w->nodes->len >= w->limit)
			w->truncated = true;
		else
			*pcc_u64_vec_push(w->nodes) = r->addrs[k];
	}
	r->len = 0;
}

static void follow_through(struct others_walk *w)
{
	struct pcc_heap *h = w->h;
	struct pcc_referents *refs = pcc_xmalloc(sizeof(*refs));
	*refs = (struct pcc_referents){ .flush = flush_more, .ctx = w,
					.dict_keys = true };
	for (size_t k = 0; k < w->nodes->len; k++) {
		uint64_t addr = w->nodes->data[k];
		struct pcc_type_info *ti = pcc_python_type_of(h->py, addr);
		if (!ti || !(ti->flags & PCC_TPFLAGS_HAVE_GC)
		    || pcc_python_is_gc(h->py, ti, addr) != PCC_IS_GC_YES)
			continue;
		if (pcc_python_referents(h->py, addr, ti, false, refs, NULL, NULL)
		    == PCC_KIND_UNKNOWN)
			pcc_type_counts_add(&w->unknown, ti->addr, 1);
		flush_more(refs);
	}
	free(refs);
}

/* Each node's type and bytes; nodes whose type cannot be read are no
 * objects pycorecheck can show, and are dropped. */
static void read_nodes(struct pcc_heap *h, uint64_t *addrs, uint32_t n)
{
	uint32_t *ids = pcc_xmalloc((n ? n : 1) * sizeof(uint32_t));
	uint32_t kept = 0;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t id = pcc_python_type_id_of(h->py, addrs[k]);
		if (id == PCC_NO_TYPE) {
			h->others_unreadable++;
			continue;
		}
		addrs[kept] = addrs[k];
		ids[kept++] = id;
	}
	pcc_python_resolve_sizes(h->py);
	h->other_addrs = addrs;
	h->other_type_ids = ids;
	h->nothers = kept;
	h->other_bytes = pcc_xmalloc((kept ? kept : 1) * sizeof(uint64_t));
	h->other_frozen = pcc_xcalloc(kept ? kept : 1, sizeof(bool));
	size_t f = 0; /* both ascending */
	for (uint32_t k = 0; k < kept; k++) {
		const struct pcc_type_info *ti = pcc_python_type_by_id(h->py, ids[k]);
		h->other_bytes[k] = pcc_python_object_size(h->py, ti, addrs[k]);
		while (f < h->nfrozen && h->frozen_addrs[f] < addrs[k])
			f++;
		h->other_frozen[k] = f < h->nfrozen && h->frozen_addrs[f] == addrs[k];
	}
}

void pcc_heap_find_others(struct pcc_heap *h)
{
	uint64_t max_objects = h->max_objects;
	struct pcc_u64_set seen;
	referents_of_tracked(h, &seen);
	for (size_t k = 0; k < h->nfrozen; k++)
		pcc_u64_set_add(&seen, h->frozen_addrs[k]);
	struct pcc_u64_vec nodes = { 0 };
	struct others_walk w = { .h = h, .seen = &seen, .nodes = &nodes,
				 .limit = max_objects < UINT32_MAX / 2 ? max_objects
								       : UINT32_MAX / 2 };
	for (size_t j = 0; j < seen.cap; j++) {
		if (!seen.keys[j])
			continue;
		if (nodes.len >= w.limit) {
			w.truncated = true;
			break;
		}
		*pcc_u64_vec_push(&nodes) = seen.keys[j];
	}
	follow_through(&w);
	pcc_type_counts_finish(&w.unknown, &h->others_unknown_types);
	pcc_u64_set_free(&seen);
	if (w.truncated)
		pcc_heap_warn(h,
			      "the tracked objects hold more than %llu objects "
			      "the collector does not track: the memory totals "
			      "leave the rest out (--max-objects)",
			      (unsigned long long)w.limit);
	pcc_sort_addresses(nodes.data, (uint32_t)nodes.len, h->threads);
	read_nodes(h, nodes.data, (uint32_t)nodes.len);
}
