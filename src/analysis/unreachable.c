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
 *     would find unreachable.  An object that step 2 found referring to no
 *     tracked object is marked without being traversed again, and the
 *     others mostly through what step 2 wrote down (edge_cache.h).
 *
 * An object whose traversal we do not know subtracts nothing, so what it
 * refers to looks referenced from outside: it can hide garbage but never
 * invent it.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "edge_cache.h"
#include "heap.h"
#include "type_counts.h"
#include "../cpython/object_size.h"
#include "../cpython/refcount.h"
#include "../cpython/traverse.h"
#include "../util/parallel.h"

/*
 * Both passes run on h->threads threads when the traversals allow it.
 * In the reference pass each thread takes a range of owners; the gc_refs
 * of their referents, in any range, are decremented atomically, and what
 * else a thread finds is kept apart and merged in range order, so that
 * the result is the same for any number of threads.  In the marking pass
 * each thread starts from the roots of its range and gives half of its
 * stack to a thread that has run out of work.  Flags are read and set
 * atomically while both run: a flag byte of one range may be read by
 * another thread.
 */

static inline uint8_t flags_get(const struct pcc_heap *h, uint32_t i)
{
	return __atomic_load_n(&h->flags[i], __ATOMIC_RELAXED);
}

/* In the reference pass only the thread of i's range writes i's flags
 * (others read them): no atomic read-modify-write is needed. */
static inline void flags_set_own(struct pcc_heap *h, uint32_t i, uint8_t f)
{
	__atomic_store_n(&h->flags[i], flags_get(h, i) | f, __ATOMIC_RELAXED);
}

enum {
	/* What the edge cache may take, on average per object: within the
	 * budget of the snapshot's memory. */
	EDGE_CACHE_BYTES_PER_OBJECT = 4,
};

static unsigned pass_threads(const struct pcc_heap *h)
{
	if (h->threads <= 1 || !pcc_python_referents_parallel(h->py))
		return 1;
	return h->threads > PCC_PARALLEL_MAX ? PCC_PARALLEL_MAX : h->threads;
}

struct referrer_note {
	uint64_t owner, ref;
};
PCC_VEC(referrer_note_vec, struct referrer_note)

/* One thread's part of the reference pass. */
struct decref_share {
	struct pcc_heap *h;
	bool atomic; /* other threads decrement too */
	struct pcc_referents *refs;
	struct pcc_item_budget budget;
	struct pcc_type_counts unknown, undecided;
	uint64_t partial_objects;
	struct referrer_note_vec notes; /* owners of watched referents */
	uint32_t last_refers; /* the last owner flagged PCC_OBJ_REFERS */
	struct pcc_edge_cache_writer cache;
	/* The sizes left for this pass (PCC_HEAP_SIZE_LATER) of 64 KiB or
	 * more. */
	struct pcc_heap_big_size_vec big_sizes;
};

/* Subtract each reference in the buffer from its target's gc_refs. */
static void flush_decref(struct pcc_referents *r)
{
	struct decref_share *d = r->ctx;
	struct pcc_heap *h = d->h;
	uint32_t idx[PCC_REFERENTS_CAP];
	pcc_heap_find_many(h, r->addrs, r->len, idx);
	for (uint32_t k = 0; k < r->len; k++) {
		uint32_t j = idx[k];
		if (j == UINT32_MAX)
			continue;
		if (r->owners[k] != d->last_refers) {
			d->last_refers = r->owners[k];
			flags_set_own(h, d->last_refers, PCC_OBJ_REFERS);
		}
		pcc_edge_cache_add(&d->cache, r->owners[k], j);
		if (d->atomic)
			__atomic_fetch_sub(&h->gc_refs[j], 1, __ATOMIC_RELAXED);
		else
			h->gc_refs[j]--;
		if (pcc_heap_is_watched(h, j)) /* rare: file objects */
			*referrer_note_vec_push(&d->notes) = (struct referrer_note){
				pcc_heap_addr(h, r->owners[k]), r->addrs[k]
			};
	}
	r->len = 0;
}

static void decref_run(void *ctx, unsigned share, unsigned shares)
{
	struct decref_share *d = (struct decref_share *)ctx + share;
	struct pcc_heap *h = d->h;
	struct pcc_referents *refs = d->refs;
	uint32_t begin, end;
	pcc_edge_cache_range(share, shares, h->n, &begin, &end);
	pcc_edge_cache_writer_init(&d->cache, h->edges, share, shares, begin);
	struct pcc_progress *progress = share == 0 ? h->progress : NULL;
	struct pcc_heap_cursor cursor = { 0 };
	for (uint32_t i = begin; i < end; i++) {
		pcc_progress_update(progress, (uint64_t)(i - begin) * shares);
		bool partial;
		enum pcc_is_gc is_gc;
		refs->owner = i;
		uint64_t addr = pcc_heap_cursor_addr(h, &cursor, i);
		struct pcc_type_info *ti = pcc_heap_type(h, i);
		enum pcc_kind kind = pcc_python_referents(h->py, addr, ti, true, refs,
							  &partial, &is_gc);
		/* What the traversal read is in the cache now. */
		if (h->sizes[i] == PCC_HEAP_SIZE_LATER)
			pcc_heap_set_size(h, &d->big_sizes, i,
					  pcc_python_object_size(h->py, ti, addr));
		uint8_t f = 0;
		if (is_gc != PCC_IS_GC_YES)
			f |= PCC_OBJ_HELD;
		if (is_gc == PCC_IS_GC_UNDECIDED)
			pcc_type_counts_add(&d->undecided, pcc_heap_type_addr(h, i), 1);
		if (refs->omitted) {
			f |= PCC_OBJ_REFERS | PCC_OBJ_OMITTED;
			refs->omitted = false;
		}
		if (kind == PCC_KIND_UNKNOWN) {
			f |= PCC_OBJ_UNKNOWN;
			pcc_type_counts_add(&d->unknown, pcc_heap_type_addr(h, i), 1);
		} else if (partial) {
			f |= PCC_OBJ_PARTIAL;
			d->partial_objects++;
		}
		if (f)
			flags_set_own(h, i, f);
	}
	flush_decref(refs);
	pcc_edge_cache_writer_finish(&d->cache, end);
}

/* Steps 2 and 3: gc_refs less the references from tracked objects. */
static void subtract_references(struct pcc_heap *h)
{
	unsigned shares = pass_threads(h);
	struct decref_share d[PCC_PARALLEL_MAX];
	struct pcc_item_budget budget[PCC_PARALLEL_MAX];
	pcc_python_budget_share(h->py, budget, shares);
	for (unsigned s = 0; s < shares; s++) {
		d[s] = (struct decref_share){ .h = h, .atomic = shares > 1,
					      .budget = budget[s],
					      .last_refers = UINT32_MAX };
		d[s].refs = pcc_xmalloc(sizeof(*d[s].refs));
		*d[s].refs = (struct pcc_referents){
			.flush = flush_decref, .ctx = &d[s], .budget = &d[s].budget
		};
	}
	pcc_progress_begin(h->progress, "reachability: references", "objects", h->n);
	pcc_parallel_run(shares, decref_run, d);
	for (unsigned s = 0; s < shares; s++)
		pcc_edge_cache_writer_count(h->edges, &d[s].cache);

	struct pcc_type_counts unknown = { 0 }, undecided = { 0 };
	for (unsigned s = 0; s < shares; s++) {
		budget[s] = d[s].budget;
		pcc_type_counts_merge(&unknown, &d[s].unknown);
		pcc_type_counts_merge(&undecided, &d[s].undecided);
		h->partial_objects += d[s].partial_objects;
		for (size_t k = 0; k < d[s].notes.len; k++)
			pcc_heap_note_referrer(h, d[s].notes.data[k].owner,
					       d[s].notes.data[k].ref);
		referrer_note_vec_free(&d[s].notes);
		free(d[s].refs);
	}
	pcc_python_budget_return(h->py, budget, shares);
	struct pcc_heap_big_size_vec big[PCC_PARALLEL_MAX];
	for (unsigned s = 0; s < shares; s++)
		big[s] = d[s].big_sizes;
	pcc_heap_add_big_sizes(h, big, shares);
	pcc_type_counts_finish(&unknown, &h->unknown_types);
	pcc_type_counts_finish(&undecided, &h->undecided_types);
}

PCC_VEC(index_vec, uint32_t)

/* Work handed between the threads of the marking pass. */
struct mark_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct index_vec work;
	unsigned busy;    /* threads with work in hand */
	unsigned waiting; /* threads waiting for some */
};

/* One thread's part of the marking pass. */
struct mark_share {
	struct pcc_heap *h;
	struct mark_pool *pool; /* NULL with one thread */
	struct pcc_referents *refs;
	struct pcc_item_budget budget;
	uint32_t *stack;
	size_t len, cap;
	uint64_t marked, leaves, negative_refs; /* leaves: marked, not followed */
};

static __attribute__((noinline)) void mark_grow(struct mark_share *m)
{
	m->cap = m->cap ? m->cap * 2 : 4096;
	m->stack = pcc_xreallocarray(m->stack, m->cap, sizeof(uint32_t));
}

static inline void mark_push(struct mark_share *m, uint32_t j)
{
	if (m->len == m->cap)
		mark_grow(m);
	m->stack[m->len++] = j;
}

/*
 * Mark i, if it is not yet: then it is followed when it refers to
 * anything, and only counted when not.  No read-modify-write: only the
 * reachable bit changes while the marking runs, so two threads that both
 * find i unmarked store the same byte, and both follow i, which marks
 * nothing twice.
 */
static inline __attribute__((always_inline)) void mark(struct mark_share *m,
						       uint32_t i)
{
	uint8_t *flag = &m->h->flags[i];
	uint8_t f = __atomic_load_n(flag, __ATOMIC_RELAXED);
	if (f & PCC_OBJ_REACHABLE)
		return;
	__atomic_store_n(flag, f | PCC_OBJ_REACHABLE, __ATOMIC_RELAXED);
	if (!(f & PCC_OBJ_REFERS)) {
		m->leaves++;
		return;
	}
	mark_push(m, i);
}

/* Mark what the buffer's references reach, and stack it to be followed. */
static void flush_mark(struct pcc_referents *r)
{
	struct mark_share *m = r->ctx;
	uint32_t idx[PCC_REFERENTS_CAP];
	pcc_heap_find_many(m->h, r->addrs, r->len, idx);
	for (uint32_t k = 0; k < r->len; k++)
		if (idx[k] != UINT32_MAX)
			mark(m, idx[k]);
	r->len = 0;
}

/* Mark what x refers to, from the references the reference pass kept. */
static void mark_cached(struct mark_share *m, uint32_t x, const uint8_t *p,
			const uint8_t *end)
{
	uint32_t n = m->h->n;
	while (p < end) {
		uint32_t j = pcc_edge_cache_next(&p, x);
		if (j < n)
			mark(m, j);
	}
}

/* Half of the stack to the pool, when a thread waits for work. */
static void mark_give(struct mark_share *m)
{
	struct mark_pool *p = m->pool;
	if (!p || m->len < 2 || !__atomic_load_n(&p->waiting, __ATOMIC_RELAXED))
		return;
	size_t half = m->len / 2;
	pthread_mutex_lock(&p->lock);
	for (size_t k = 0; k < half; k++)
		*index_vec_push(&p->work) = m->stack[k];
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	memmove(m->stack, m->stack + half, (m->len - half) * sizeof(uint32_t));
	m->len -= half;
}

/* Out of work: some from the pool, or false once no thread has any. */
static bool mark_take(struct mark_share *m)
{
	struct mark_pool *p = m->pool;
	if (!p)
		return false;
	pthread_mutex_lock(&p->lock);
	p->busy--;
	for (;;) {
		if (p->work.len) {
			size_t take = (p->work.len + 1) / 2;
			for (size_t k = 0; k < take; k++)
				mark_push(m, p->work.data[--p->work.len]);
			p->busy++;
			pthread_mutex_unlock(&p->lock);
			return true;
		}
		if (!p->busy) {
			pthread_cond_broadcast(&p->wake);
			pthread_mutex_unlock(&p->lock);
			return false;
		}
		__atomic_fetch_add(&p->waiting, 1, __ATOMIC_RELAXED);
		pthread_cond_wait(&p->wake, &p->lock);
		__atomic_fetch_sub(&p->waiting, 1, __ATOMIC_RELAXED);
	}
}

static void mark_run(void *ctx, unsigned share, unsigned shares)
{
	struct mark_share *m = (struct mark_share *)ctx + share;
	struct pcc_heap *h = m->h;
	uint32_t i, end;
	pcc_parallel_range(share, shares, h->n, &i, &end);
	struct pcc_progress *progress = share == 0 ? h->progress : NULL;
	if (m->pool) {
		pthread_mutex_lock(&m->pool->lock);
		m->pool->busy++;
		pthread_mutex_unlock(&m->pool->lock);
	}
	for (;;) {
		while (m->len || m->refs->len) {
			while (m->len) {
				uint32_t x = m->stack[--m->len];
				pcc_progress_update(progress,
						    (++m->marked + m->leaves) * shares);
				const uint8_t *edges, *edges_end;
				if (!(flags_get(h, x) & PCC_OBJ_OMITTED)
				    && pcc_edge_cache_find(h->edges, x, &edges,
							   &edges_end))
					mark_cached(m, x, edges, edges_end);
				else
					pcc_python_referents(h->py, pcc_heap_addr(h, x),
							     pcc_heap_type(h, x),
							     false, m->refs, NULL,
							     NULL);
				if ((m->marked & 255) == 0)
					mark_give(m);
			}
			flush_mark(m->refs);
		}
		/* The next root of this thread's range. */
		for (; i < end; i++) {
			bool held = flags_get(h, i) & PCC_OBJ_HELD;
			if (h->gc_refs[i] < 0 && !held)
				m->negative_refs++;
			if (h->gc_refs[i] > 0 || held) {
				mark(m, i);
				if (m->len) {
					i++;
					break;
				}
			}
		}
		if (!m->len && !mark_take(m))
			break;
	}
}

/* Step 4: what the roots reach. */
static void mark_reachable(struct pcc_heap *h)
{
	unsigned shares = pass_threads(h);
	struct mark_share m[PCC_PARALLEL_MAX];
	struct pcc_item_budget budget[PCC_PARALLEL_MAX];
	struct mark_pool pool = { .work = { 0 } };
	if (shares > 1) {
		pthread_mutex_init(&pool.lock, NULL);
		pthread_cond_init(&pool.wake, NULL);
	}
	pcc_python_budget_share(h->py, budget, shares);
	for (unsigned s = 0; s < shares; s++) {
		m[s] = (struct mark_share){ .h = h, .budget = budget[s],
					    .pool = shares > 1 ? &pool : NULL };
		m[s].refs = pcc_xmalloc(sizeof(*m[s].refs));
		*m[s].refs = (struct pcc_referents){
			.flush = flush_mark, .ctx = &m[s], .budget = &m[s].budget
		};
	}
	pcc_progress_begin(h->progress, "reachability: marking", "objects", h->n);
	pcc_parallel_run(shares, mark_run, m);
	for (unsigned s = 0; s < shares; s++) {
		budget[s] = m[s].budget;
		h->negative_refs += m[s].negative_refs;
		free(m[s].stack);
		free(m[s].refs);
	}
	pcc_python_budget_return(h->py, budget, shares);
	if (shares > 1) {
		pthread_mutex_destroy(&pool.lock);
		pthread_cond_destroy(&pool.wake);
	}
	index_vec_free(&pool.work);
	pcc_progress_end(h->progress);
}

void pcc_heap_find_unreachable(struct pcc_heap *h)
{
	h->edges = pcc_xmalloc(sizeof(*h->edges));
	pcc_edge_cache_init(h->edges, h->n, EDGE_CACHE_BYTES_PER_OBJECT);
	subtract_references(h);
	if (h->unreadable_objects)
		pcc_heap_warn(h,
			      "%llu objects on the generation lists cannot be read "
			      "(their reference count is unreadable or damaged): "
			      "they are taken for alive, with what they refer to",
			      (unsigned long long)h->unreadable_objects);

	mark_reachable(h);
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

void pcc_heap_drop_edges(struct pcc_heap *h)
{
	if (!h->edges)
		return;
	pcc_edge_cache_free(h->edges);
	free(h->edges);
	h->edges = NULL;
}
