/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "../cpython/emulated.h"
#include "../cpython/gc_list.h"
#include "../cpython/object_size.h"
#include "../cpython/refcount.h"
#include "../util/address_sort.h"
#include "../util/parallel.h"
#include "../util/sort.h"

void pcc_heap_warn(struct pcc_heap *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	*pcc_string_vec_push(&h->warnings) = pcc_xvasprintf(fmt, ap);
	va_end(ap);
}

static void drop_impossible(struct pcc_heap *h, uint64_t *addrs, bool may_repeat);
static void index_blocks(struct pcc_heap *h, const uint64_t *addrs,
			 unsigned low_zeros);
static void find_regions(struct pcc_heap *h, const uint64_t *addrs);
static void emulate_traversals(struct pcc_heap *h);

static void walk_list(struct pcc_heap *h, struct pcc_u64_vec *objs,
		      uint64_t head, int64_t interp_id, const char *what,
		      uint64_t max_objects)
{
	uint64_t room = max_objects > objs->len ? max_objects - objs->len : 0;
	struct pcc_gc_list_result r = pcc_gc_list_walk(h->py, head, room, objs);
	if (r.broken_at) {
		pcc_heap_warn(h,
			      "interpreter %lld, %s: list broken at 0x%llx after "
			      "%llu objects (%s); the rest of this list is not "
			      "analysed",
			      (long long)interp_id, what,
			      (unsigned long long)r.broken_at,
			      (unsigned long long)r.count, r.reason);
		h->complete = false;
	}
}

void pcc_heap_build(struct pcc_heap *h, struct pcc_python *py,
		    uint64_t max_objects, bool emulate, unsigned threads)
{
	memset(h, 0, sizeof(*h));
	h->py = py;
	h->threads = threads;
	h->max_objects = max_objects;
	h->gcs = pcc_python_gc_states(py, &h->ngcs);
	h->complete = true;
	struct pcc_u64_vec objs = { 0 };
	static const char *const names[] = { "generation 0", "generation 1",
					     "generation 2" };
	for (size_t i = 0; i < h->ngcs; i++) {
		const struct pcc_gc_state *gs = &h->gcs[i];
		if (gs->collecting > 0) {
			pcc_heap_warn(h,
				      "interpreter %lld was collecting garbage "
				      "when the core was taken: objects being "
				      "collected sit on private lists and are "
				      "not analysed",
				      (long long)gs->interp_id);
			h->complete = false;
		}
		for (int g = 0; g < PCC_GENERATIONS; g++)
			walk_list(h, &objs, gs->list_heads[g], gs->interp_id,
				  names[g], max_objects);
	}
	/* gc.freeze() moves objects out of the collector's reach: they are
	 * only counted, and count as referenced from outside. */
	h->frozen = pcc_xcalloc(h->ngcs ? h->ngcs : 1, sizeof(uint64_t));
	struct pcc_u64_vec frozen = { 0 };
	for (size_t i = 0; i < h->ngcs; i++) {
		const struct pcc_gc_state *gs = &h->gcs[i];
		if (!gs->permanent_head)
			continue;
		size_t before = objs.len + frozen.len, had = frozen.len;
		walk_list(h, &frozen, gs->permanent_head, gs->interp_id,
			  "permanent generation", max_objects > before ? max_objects - before : 0);
		h->frozen[i] = frozen.len - had;
	}
	pcc_sort_addresses(frozen.data, (uint32_t)frozen.len, threads);
	h->frozen_addrs = frozen.data;
	h->nfrozen = frozen.len;
	if (objs.len >= UINT32_MAX / 2) {
		pcc_heap_warn(h, "more than %u tracked objects: only the first "
			      "are analysed", UINT32_MAX / 2);
		objs.len = UINT32_MAX / 2 - 1;
		h->complete = false;
	}

	pcc_heap_index(h, objs.data, (uint32_t)objs.len);
	pcc_heap_read_headers(h);
	if (emulate)
		emulate_traversals(h);
}

/* The objects whose types only the CPU emulator can follow, handed to it
 * in address order. */
static void emulate_traversals(struct pcc_heap *h)
{
	uint32_t ntypes = pcc_python_type_count(h->py);
	bool *needs = pcc_xcalloc(ntypes + 1, sizeof(bool));
	bool any = false;
	for (uint32_t id = 0; id < ntypes; id++)
		any |= needs[id] = pcc_python_needs_emulation(pcc_python_type_by_id(h->py, id));
	struct pcc_u64_vec objs = { 0 };
	if (any)
		pcc_heap_objects_of_types(h, needs, ntypes, &objs);
	free(needs);
	if (objs.len)
		pcc_python_emulate_traversals(h->py, objs.data, (uint32_t)objs.len);
	pcc_u64_vec_free(&objs);
}

static unsigned pass_shares(const struct pcc_heap *h)
{
	if (h->n < 65536 || h->threads <= 1)
		return 1; /* not worth a thread */
	return h->threads > PCC_PARALLEL_MAX ? PCC_PARALLEL_MAX : h->threads;
}

uint64_t *pcc_heap_addresses(const struct pcc_heap *h)
{
	uint64_t *addrs = pcc_xmalloc((h->n ? h->n : 1) * sizeof(uint64_t));
	struct pcc_heap_cursor cursor = { 0 };
	for (uint32_t i = 0; i < h->n; i++)
		addrs[i] = pcc_heap_cursor_addr(h, &cursor, i);
	return addrs;
}

struct types_pass {
	const struct pcc_heap *h;
	const bool *want;
	size_t ntypes;
	struct pcc_u64_vec found[PCC_PARALLEL_MAX];
	uint64_t *counts[PCC_PARALLEL_MAX], *bytes[PCC_PARALLEL_MAX];
};

static void objects_of_types_share(void *ctx, unsigned share, unsigned shares)
{
	struct types_pass *p = ctx;
	uint32_t begin, end;
	pcc_parallel_range(share, shares, p->h->n, &begin, &end);
	struct pcc_heap_cursor cursor = { 0 };
	for (uint32_t i = begin; i < end; i++) {
		uint32_t id = pcc_heap_type_id(p->h, i);
		if (p->want[id < p->ntypes ? id : p->ntypes])
			*pcc_u64_vec_push(&p->found[share]) =
				pcc_heap_cursor_addr(p->h, &cursor, i);
	}
}

void pcc_heap_objects_of_types(const struct pcc_heap *h, const bool *want,
			       size_t ntypes, struct pcc_u64_vec *out)
{
	struct types_pass p = { .h = h, .want = want, .ntypes = ntypes };
	unsigned shares = pass_shares(h);
	pcc_parallel_run(shares, objects_of_types_share, &p);
	for (unsigned s = 0; s < shares; s++) {
		for (size_t k = 0; k < p.found[s].len; k++)
			*pcc_u64_vec_push(out) = p.found[s].data[k];
		pcc_u64_vec_free(&p.found[s]);
	}
}

static void count_by_type_share(void *ctx, unsigned share, unsigned shares)
{
	struct types_pass *p = ctx;
	uint32_t begin, end;
	pcc_parallel_range(share, shares, p->h->n, &begin, &end);
	uint64_t *counts = p->counts[share], *bytes = p->bytes[share];
	for (uint32_t i = begin; i < end; i++) {
		uint32_t id = pcc_heap_type_id(p->h, i);
		id = id < p->ntypes ? id : (uint32_t)p->ntypes;
		counts[id]++;
		bytes[id] += pcc_heap_size(p->h, i);
	}
}

void pcc_heap_count_by_type(const struct pcc_heap *h, uint64_t *counts,
			    uint64_t *bytes, size_t ntypes)
{
	struct types_pass p = { .h = h, .ntypes = ntypes };
	unsigned shares = pass_shares(h);
	p.counts[0] = counts;
	p.bytes[0] = bytes;
	for (unsigned s = 1; s < shares; s++) {
		p.counts[s] = pcc_xcalloc(ntypes + 1, sizeof(uint64_t));
		p.bytes[s] = pcc_xcalloc(ntypes + 1, sizeof(uint64_t));
	}
	pcc_parallel_run(shares, count_by_type_share, &p);
	for (unsigned s = 1; s < shares; s++) {
		for (size_t id = 0; id <= ntypes; id++) {
			counts[id] += p.counts[s][id];
			bytes[id] += p.bytes[s][id];
		}
		free(p.counts[s]);
		free(p.bytes[s]);
	}
}

void pcc_heap_index(struct pcc_heap *h, uint64_t *addrs, uint32_t count)
{
	h->n = count;
	struct pcc_sorted_addresses sorted = pcc_sort_addresses(addrs, h->n,
								 h->threads);
	drop_impossible(h, addrs, sorted.may_repeat);
	index_blocks(h, addrs, sorted.low_zeros);
	find_regions(h, addrs);
	free(addrs);
	size_t n = h->n ? h->n : 1;
	h->gc_refs = pcc_xcalloc(n, sizeof(int32_t));
	pcc_advise_huge(h->gc_refs, n * sizeof(int32_t));
	h->flags = pcc_xcalloc(n, 1);
	pcc_advise_huge(h->flags, n);
}

enum {
	/* Before the threads, the types of every so many objects are looked
	 * up (described, when new), so that few are left pending. */
	TYPE_SAMPLE_STRIDE = 512,
};

struct headers_work {
	struct pcc_heap *h;
	/* The types known when the threads start, by id: all that they see. */
	struct pcc_type_info **types;
	uint32_t ntypes;
	uint64_t unreadable[PCC_PARALLEL_MAX];
	uint32_t pending[PCC_PARALLEL_MAX];
	/* Per share, and one more for the serial part. */
	struct pcc_heap_big_size_vec big[PCC_PARALLEL_MAX + 1];
};

static int big_size_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct pcc_heap_big_size *)a)->index;
	uint32_t y = ((const struct pcc_heap_big_size *)b)->index;
	return x < y ? -1 : x > y;
}

/* The object's size: the type's own when all its objects have one, or
 * PCC_HEAP_SIZE_LATER when the reference pass reads what it needs. */
static inline __attribute__((always_inline)) void
read_size(struct pcc_heap *h, struct pcc_heap_big_size_vec *big,
		      uint32_t i, const struct pcc_type_info *ti, uint64_t addr)
{
	if (ti && ti->size_fixed && ti->size_fixed < PCC_HEAP_SIZE_LATER)
		h->sizes[i] = (uint16_t)ti->size_fixed;
	else if (ti && pcc_python_size_follows_traversal(ti))
		h->sizes[i] = PCC_HEAP_SIZE_LATER;
	else
		pcc_heap_set_size(h, big, i, pcc_python_object_size(h->py, ti, addr));
}

/* An object whose type was not known to the threads: its type id and
 * its size, the type now described. */
static uint32_t settle(struct pcc_heap *h, struct pcc_heap_big_size_vec *big,
		       uint32_t i)
{
	uint64_t addr = pcc_heap_addr(h, i);
	uint32_t id = pcc_python_type_id_of(h->py, addr);
	pcc_python_resolve_sizes(h->py);
	read_size(h, big, i, pcc_python_type_by_id(h->py, id), addr);
	return id;
}

static inline uint16_t narrow_id(uint32_t id)
{
	if (id == PCC_NO_TYPE)
		return PCC_HEAP_NARROW_NO_TYPE;
	return id < PCC_HEAP_NARROW_NOT_YET ? (uint16_t)id : PCC_HEAP_NARROW_NOT_YET;
}

/* One share of the objects: their reference count, and their type id if
 * the type is known already (describing a type is not for threads). */
static void read_headers_share(void *ctx, unsigned share, unsigned shares)
{
	struct headers_work *work = ctx;
	struct pcc_heap *h = work->h;
	uint32_t begin, end;
	pcc_parallel_range(share, shares, h->n, &begin, &end);
	struct pcc_type_id_cache cache = { { 0 }, { 0 } };
	uint64_t unreadable = 0;
	uint32_t pending = 0;
	struct pcc_heap_cursor cursor = { 0 };
	for (uint32_t i = begin; i < end; i++) {
		uint64_t addr = pcc_heap_cursor_addr(h, &cursor, i);
		uint32_t wide = pcc_python_known_type_id_of(h->py, addr, &cache);
		uint16_t id = narrow_id(wide);
		h->narrow_type_ids[i] = id;
		if (id == PCC_HEAP_NARROW_NOT_YET) {
			pending++; /* and its size with its type */
		} else {
			read_size(h, &work->big[share], i,
				  wide < work->ntypes ? work->types[wide] : NULL, addr);
		}
		int64_t rc = pcc_python_refcnt(h->py, addr);
		if (rc == PCC_REFCNT_IMMORTAL) {
			h->flags[i] |= PCC_OBJ_IMMORTAL;
			rc = INT32_MAX;
		} else if (rc < 0) {
			h->flags[i] |= PCC_OBJ_HELD;
			unreadable++;
			rc = INT32_MAX;
		}
		h->gc_refs[i] = rc > INT32_MAX ? INT32_MAX : (int32_t)rc;
	}
	work->unreadable[share] = unreadable;
	work->pending[share] = pending;
}

/* More types than 16 bits hold (a heap of generated classes, or a
 * corrupt one): the ids in 32, those from object "from" on read again. */
static void widen_type_ids(struct pcc_heap *h, uint32_t from,
			   struct pcc_heap_big_size_vec *big)
{
	h->type_ids = pcc_xmalloc((h->n ? h->n : 1) * sizeof(uint32_t));
	pcc_advise_huge(h->type_ids, h->n * sizeof(uint32_t));
	for (uint32_t i = 0; i < h->n; i++) {
		uint16_t id = h->narrow_type_ids[i];
		if (id == PCC_HEAP_NARROW_NOT_YET && i >= from)
			h->type_ids[i] = settle(h, big, i);
		else
			h->type_ids[i] = id == PCC_HEAP_NARROW_NO_TYPE ? PCC_NO_TYPE : id;
	}
	free(h->narrow_type_ids);
	h->narrow_type_ids = NULL;
}

void pcc_heap_add_big_sizes(struct pcc_heap *h,
			    struct pcc_heap_big_size_vec *vecs, unsigned n)
{
	struct pcc_heap_big_size_vec all = { .data = h->big_sizes,
					     .len = h->nbig_sizes,
					     .cap = h->nbig_sizes };
	for (unsigned s = 0; s < n; s++) {
		for (size_t k = 0; k < vecs[s].len; k++)
			*pcc_heap_big_size_vec_push(&all) = vecs[s].data[k];
		pcc_heap_big_size_vec_free(&vecs[s]);
	}
	pcc_sort(all.data, all.len, sizeof(*all.data), big_size_cmp);
	h->big_sizes = all.data;
	h->nbig_sizes = all.len;
}

void pcc_heap_read_headers(struct pcc_heap *h)
{
	size_t n = h->n ? h->n : 1;
	h->narrow_type_ids = pcc_xmalloc(n * sizeof(uint16_t));
	pcc_advise_huge(h->narrow_type_ids, h->n * sizeof(uint16_t));
	h->sizes = pcc_xmalloc(n * sizeof(uint16_t));
	pcc_advise_huge(h->sizes, h->n * sizeof(uint16_t));
	for (uint32_t i = 0; i < h->n; i += TYPE_SAMPLE_STRIDE)
		pcc_python_type_id_of(h->py, pcc_heap_addr(h, i));
	pcc_python_resolve_sizes(h->py);
	struct headers_work work = { .h = h, .ntypes = pcc_python_type_count(h->py) };
	work.types = pcc_xmalloc((work.ntypes + 1) * sizeof(*work.types));
	for (uint32_t id = 0; id < work.ntypes; id++)
		work.types[id] = pcc_python_type_by_id(h->py, id);
	unsigned shares = h->threads ? h->threads : 1;
	if (shares > PCC_PARALLEL_MAX)
		shares = PCC_PARALLEL_MAX;
	pcc_parallel_run(shares, read_headers_share, &work);
	uint64_t pending = 0;
	for (unsigned s = 0; s < shares; s++) {
		h->unreadable_objects += work.unreadable[s];
		pending += work.pending[s];
	}
	/* The types the threads did not know, described one by one; the
	 * sizes, like the ids, written in the extra vector at [shares]. */
	struct pcc_heap_big_size_vec *serial = &work.big[shares];
	/* In address order: consecutive objects mostly share a type, which
	 * the type cache answers without a probe. */
	for (uint32_t i = 0; i < h->n && pending; i++) {
		if (h->narrow_type_ids[i] != PCC_HEAP_NARROW_NOT_YET)
			continue;
		uint32_t id = settle(h, serial, i);
		if (id != PCC_NO_TYPE && id >= PCC_HEAP_NARROW_NOT_YET) {
			widen_type_ids(h, i, serial);
			break;
		}
		h->narrow_type_ids[i] = narrow_id(id);
		pending--;
	}
	pcc_heap_add_big_sizes(h, work.big, shares + 1);
	free(work.types);
}

static int big_size_find(const void *key, const void *elem)
{
	uint32_t i = *(const uint32_t *)key;
	const struct pcc_heap_big_size *b = elem;
	return i < b->index ? -1 : i > b->index;
}

uint64_t pcc_heap_size_apart(const struct pcc_heap *h, uint32_t i)
{
	if (h->sizes[i] == PCC_HEAP_SIZE_LATER) /* no reference pass ran */
		return pcc_python_object_size(h->py, pcc_heap_type(h, i),
					      pcc_heap_addr(h, i));
	const struct pcc_heap_big_size *b =
		bsearch(&i, h->big_sizes, h->nbig_sizes, sizeof(*b), big_size_find);
	return b ? b->bytes : 0;
}

enum { FIND_AHEAD = 16 };

#if defined(__x86_64__) && !defined(__POPCNT__)
/*
 * x86-64's baseline has no POPCNT, so the portable build counts bits with
 * a dozen instructions, four times per lookup: most of a lookup's work
 * when its memory is in the cache.  Nearly every x86-64 CPU since 2008 has
 * the instruction; the lookups of the hot passes use it when this one
 * does.
 */
static inline __attribute__((always_inline, target("popcnt"))) unsigned
popcount_instruction(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

static __attribute__((target("popcnt"))) void
find_many_popcnt(const struct pcc_heap *h, const uint64_t *addrs, uint32_t n,
		 uint32_t *idx)
{
	for (uint32_t k = 0; k < n; k++) {
		if (k + FIND_AHEAD < n)
			pcc_heap_prefetch(h, addrs[k + FIND_AHEAD]);
		idx[k] = pcc_heap_find_counting(h, addrs[k], popcount_instruction);
	}
}

static bool cpu_has_popcnt(void)
{
	static int known; /* 0 unknown, 1 no, 2 yes: the same for all */
	int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
	if (!k) {
		__builtin_cpu_init();
		k = __builtin_cpu_supports("popcnt") ? 2 : 1;
		__atomic_store_n(&known, k, __ATOMIC_RELAXED);
	}
	return k == 2;
}
#endif

void pcc_heap_find_many(const struct pcc_heap *h, const uint64_t *addrs,
			uint32_t n, uint32_t *idx)
{
#if defined(__x86_64__) && !defined(__POPCNT__)
	if (cpu_has_popcnt()) {
		find_many_popcnt(h, addrs, n, idx);
		return;
	}
#endif
	for (uint32_t k = 0; k < n; k++) {
		if (k + FIND_AHEAD < n)
			pcc_heap_prefetch(h, addrs[k + FIND_AHEAD]);
		idx[k] = pcc_heap_find(h, addrs[k]);
	}
}

/* No CPython object sits in the first page, beyond 48 bits or on two
 * lists at once: such entries are corruption, reported and left out.
 * The addresses are sorted: the first two kinds are at the ends, and
 * the third needs a look only when the sort says it may be there. */
static void drop_impossible(struct pcc_heap *h, uint64_t *addrs, bool may_repeat)
{
	/* Also keeps the lookup's block 0 (its empty entries) empty. */
	enum { NULL_PAGE_END = 4096 };
	uint32_t lo = 0, hi = h->n, dups = 0;
	while (lo < hi && addrs[lo] < NULL_PAGE_END)
		lo++;
	while (hi > lo && addrs[hi - 1] >> 48)
		hi--;
	uint32_t bad = lo + (h->n - hi);
	if (lo)
		memmove(addrs, addrs + lo, (size_t)(hi - lo) * sizeof(uint64_t));
	h->n = hi - lo;
	if (may_repeat) {
		uint32_t kept = 0;
		for (uint32_t i = 0; i < h->n; i++) {
			if (kept && addrs[kept - 1] == addrs[i])
				dups++;
			else
				addrs[kept++] = addrs[i];
		}
		h->n = kept;
	}
	if (bad) {
		pcc_heap_warn(h, "%u objects on the GC lists are at addresses no "
			      "object can have: the lists are corrupt", bad);
		h->complete = false;
	}
	if (dups) {
		pcc_heap_warn(h, "%u objects appear on more than one GC list: the "
			      "lists are corrupt", dups);
		h->complete = false;
	}
}

static bool starts_block(const uint64_t *addrs, unsigned block_shift,
			 uint32_t i)
{
	return i == 0 || addrs[i] >> block_shift != addrs[i - 1] >> block_shift;
}

/*
 * The table of blocks is filled on the heap's threads.  Each share of the
 * objects starts at a block's first object, so that no two threads write
 * one block's bitmap, and claims its blocks' entries with a compare-and-
 * swap.  Which entry a block gets may differ from run to run; what a
 * lookup finds does not.
 */
enum { MAX_GAPS = 32 }; /* per share: more, and no run is dense */

/* Where a gap of over PCC_HEAP_DENSE_GAP ends: the object after it, and
 * the blocks before that object. */
struct heap_gap {
	uint32_t at, blocks_before;
};

struct block_fill {
	struct pcc_heap *h;
	const uint64_t *addrs; /* sorted: what the heap keeps 4 bytes of */
	uint32_t begin[PCC_PARALLEL_MAX + 1];
	uint32_t first_bits[PCC_PARALLEL_MAX]; /* blocks before the share */
	struct heap_gap gaps[PCC_PARALLEL_MAX][MAX_GAPS];
	unsigned ngaps[PCC_PARALLEL_MAX];
	bool too_many_gaps;
};

static void count_blocks_share(void *ctx, unsigned share, unsigned shares)
{
	(void)shares;
	struct block_fill *f = ctx;
	const uint64_t *addrs = f->addrs;
	uint32_t count = 0;
	unsigned ngaps = 0;
	for (uint32_t i = f->begin[share]; i < f->begin[share + 1]; i++) {
		if (i && addrs[i] - addrs[i - 1] > PCC_HEAP_DENSE_GAP) {
			if (ngaps == MAX_GAPS)
				f->too_many_gaps = true; /* the same from any share */
			else
				f->gaps[share][ngaps++] = (struct heap_gap){ i, count };
		}
		count += starts_block(addrs, f->h->block_shift, i);
	}
	f->first_bits[share] = count;
	f->ngaps[share] = ngaps;
}

/* The run of the most objects between gaps: it gets a table of its own
 * when its blocks are a quarter of its span at least.  Returns its
 * blocks, those that the hash table need not hold. */
static uint32_t choose_dense_run(struct pcc_heap *h, const struct block_fill *f,
				 unsigned shares, uint32_t nblocks)
{
	h->dense_first = h->dense_blocks = 0;
	if (!h->n || f->too_many_gaps)
		return 0;
	/* Where the runs end: at each gap, and at the heap's end. */
	struct heap_gap ends[PCC_PARALLEL_MAX * MAX_GAPS + 1];
	unsigned nends = 0;
	for (unsigned s = 0; s < shares; s++)
		for (unsigned k = 0; k < f->ngaps[s]; k++)
			ends[nends++] = (struct heap_gap){
				f->gaps[s][k].at,
				f->first_bits[s] + f->gaps[s][k].blocks_before
			};
	ends[nends++] = (struct heap_gap){ h->n, nblocks };
	struct heap_gap start = { 0, 0 }, best = { 0, 0 }, best_end = { 0, 0 };
	for (unsigned k = 0; k < nends; k++) {
		if (ends[k].at - start.at > best_end.at - best.at) {
			best = start;
			best_end = ends[k];
		}
		start = ends[k];
	}
	uint32_t blocks = best_end.blocks_before - best.blocks_before;
	uint64_t first = f->addrs[best.at] >> h->block_shift;
	uint64_t span = (f->addrs[best_end.at - 1] >> h->block_shift) - first + 1;
	if (span > (uint64_t)PCC_HEAP_DENSE_SPREAD * blocks)
		return 0;
	h->dense_first = first;
	h->dense_blocks = span;
	return blocks;
}

/* A new block's entry: its own in the dense run's table, else one
 * claimed in the hash table. */
static struct pcc_heap_block *claim_entry(struct pcc_heap *h, uint64_t block)
{
	if (block - h->dense_first < h->dense_blocks) {
		struct pcc_heap_block *b = &h->dense[block - h->dense_first];
		b->block = block;
		return b;
	}
	uint64_t slot = pcc_heap_block_slot(h, block), empty = 0;
	while (!__atomic_compare_exchange_n(&h->blocks[slot].block, &empty, block,
					    false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED)) {
		slot = (slot + 1) & h->block_mask;
		empty = 0;
	}
	return &h->blocks[slot];
}

static void fill_blocks_share(void *ctx, unsigned share, unsigned shares)
{
	(void)shares;
	struct block_fill *f = ctx;
	struct pcc_heap *h = f->h;
	uint32_t bits = f->first_bits[share];
	struct pcc_heap_block *b = NULL;
	for (uint32_t i = f->begin[share]; i < f->begin[share + 1]; i++) {
		uint64_t addr = f->addrs[i];
		h->addr_slots[i] = (uint32_t)(addr >> h->align_shift);
		if (starts_block(f->addrs, h->block_shift, i)) {
			b = claim_entry(h, addr >> h->block_shift);
			b->first = i;
			b->bits = bits++;
		}
		unsigned s = (unsigned)(addr >> h->align_shift) % PCC_HEAP_BLOCK_SLOTS;
		h->block_bits[b->bits][s / 64] |= 1ull << (s % 64);
	}
}

/* Each entry's counts of the bits before each word of its bitmap. */
static void count_bits_before(struct pcc_heap *h, struct pcc_heap_block *table,
			      uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		struct pcc_heap_block *b = &table[k];
		if (!b->block)
			continue;
		const uint64_t *bits = h->block_bits[b->bits];
		uint64_t before = 0;
		for (unsigned w = 1; w < PCC_HEAP_BLOCK_WORDS; w++) {
			before += (uint64_t)__builtin_popcountll(bits[w - 1]);
			b->block |= before << (32 + 8 * w);
		}
	}
}

/* Three counts of at most 192 bits, in the bytes above a 40-bit key. */
_Static_assert(PCC_HEAP_BLOCK_WORDS == 4 && PCC_HEAP_BLOCK_KEY_BITS + 8 <= 48,
	       "the counts of a block's words fit its key's high bytes");

/* low_zeros: the low bits that are zero in every address (of those the
 * sort saw: any it dropped can only make it fewer). */
static void index_blocks(struct pcc_heap *h, const uint64_t *addrs,
			 unsigned low_zeros)
{
	h->align_shift = low_zeros < PCC_HEAP_MAX_ALIGN_SHIFT ? low_zeros
							      : PCC_HEAP_MAX_ALIGN_SHIFT;
	h->block_shift = h->align_shift + 8; /* log2 PCC_HEAP_BLOCK_SLOTS */

	unsigned shares = h->threads < 1 ? 1
			  : h->threads > PCC_PARALLEL_MAX ? PCC_PARALLEL_MAX
							  : h->threads;
	if (h->n < 65536)
		shares = 1; /* not worth a thread */
	struct block_fill f = { .h = h, .addrs = addrs };
	for (unsigned s = 1; s < shares; s++) {
		uint32_t i = (uint32_t)((uint64_t)h->n * s / shares);
		if (i < f.begin[s - 1])
			i = f.begin[s - 1];
		while (i < h->n && !starts_block(addrs, h->block_shift, i))
			i++;
		f.begin[s] = i;
	}
	f.begin[shares] = h->n;
	pcc_parallel_run(shares, count_blocks_share, &f);
	uint32_t nblocks = 0;
	for (unsigned s = 0; s < shares; s++) {
		uint32_t c = f.first_bits[s];
		f.first_bits[s] = nblocks;
		nblocks += c;
	}

	uint32_t hashed = nblocks - choose_dense_run(h, &f, shares, nblocks);
	h->dense = pcc_xcalloc(h->dense_blocks ? h->dense_blocks : 1, sizeof(*h->dense));
	pcc_advise_huge(h->dense, h->dense_blocks * sizeof(*h->dense));
	uint64_t cap = 64;
	h->block_hash_shift = 64 - 6;
	while (cap < 2 * (uint64_t)hashed) {
		cap *= 2;
		h->block_hash_shift--;
	}
	h->blocks = pcc_xcalloc(cap, sizeof(*h->blocks));
	pcc_advise_huge(h->blocks, cap * sizeof(*h->blocks));
	h->block_mask = cap - 1;
	h->block_bits = pcc_xcalloc(nblocks ? nblocks : 1, sizeof(*h->block_bits));
	pcc_advise_huge(h->block_bits, nblocks * sizeof(*h->block_bits));
	h->addr_slots = pcc_xmalloc((h->n ? h->n : 1) * sizeof(uint32_t));
	pcc_advise_huge(h->addr_slots, h->n * sizeof(uint32_t));
	pcc_parallel_run(shares, fill_blocks_share, &f);
	count_bits_before(h, h->dense, h->dense_blocks);
	count_bits_before(h, h->blocks, cap);
	h->min_addr = h->n ? addrs[0] : 1;
	h->addr_span = h->n ? addrs[h->n - 1] - addrs[0] : 0;
}

static uint32_t high_bits(const struct pcc_heap *h, uint64_t addr)
{
	return (uint32_t)(addr >> h->align_shift >> 32);
}

/* The first object after i whose high bits differ from i's (h->n if
 * none): they ascend with the addresses, so a binary search finds it. */
static uint32_t region_end(const struct pcc_heap *h, const uint64_t *addrs,
			   uint32_t i)
{
	uint32_t high = high_bits(h, addrs[i]), lo = i, hi = h->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (high_bits(h, addrs[mid]) <= high)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The regions, each a binary search away: at most 2^13 of them (47-bit
 * user addresses, 8-byte slots). */
static void find_regions(struct pcc_heap *h, const uint64_t *addrs)
{
	uint32_t n = 1;
	for (uint32_t i = 0; h->n && (i = region_end(h, addrs, i)) < h->n;)
		n++;
	h->regions = pcc_xmalloc((n + 1) * sizeof(*h->regions));
	h->nregions = n;
	uint32_t i = 0;
	for (uint32_t r = 0; r < n; r++) {
		h->regions[r] = (struct pcc_heap_region){ i, h->n ? high_bits(h, addrs[i]) : 0 };
		if (h->n)
			i = region_end(h, addrs, i);
	}
	h->regions[n] = (struct pcc_heap_region){ UINT32_MAX, 0 };

	uint32_t nhints = (h->n >> PCC_HEAP_REGION_HINT_SHIFT) + 1;
	h->region_hints = pcc_xmalloc(nhints * sizeof(uint32_t));
	uint32_t r = 0;
	for (uint32_t k = 0; k < nhints; k++) {
		uint32_t first = k << PCC_HEAP_REGION_HINT_SHIFT;
		while (h->regions[r + 1].first <= first)
			r++;
		h->region_hints[k] = r;
	}
}

void pcc_heap_watch(struct pcc_heap *h, const uint64_t *objs, size_t n)
{
	free(h->watched);
	free(h->referrers);
	h->watched = pcc_xcalloc(n ? n : 1, sizeof(uint64_t));
	if (n)
		memcpy(h->watched, objs, n * sizeof(uint64_t));
	pcc_sort(h->watched, n, sizeof(uint64_t), pcc_u64_cmp);
	free(h->watched_groups);
	uint64_t groups = ((uint64_t)h->n >> PCC_HEAP_WATCH_GROUP_SHIFT) + 1;
	h->watched_groups = pcc_xcalloc((groups + 63) / 64, sizeof(uint64_t));
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t j = pcc_heap_find(h, h->watched[i]);
		if (j == UINT32_MAX || (u && h->watched[u - 1] == h->watched[i]))
			continue;
		h->flags[j] |= PCC_OBJ_WATCHED;
		uint32_t g = j >> PCC_HEAP_WATCH_GROUP_SHIFT;
		h->watched_groups[g / 64] |= UINT64_C(1) << (g % 64);
		h->watched[u++] = h->watched[i];
	}
	h->nwatched = u;
	h->referrers = pcc_xcalloc(u ? u : 1, sizeof(*h->referrers));
}

static const uint64_t *find_watched(const struct pcc_heap *h, uint64_t obj)
{
	if (!h->nwatched)
		return NULL;
	return bsearch(&obj, h->watched, h->nwatched, sizeof(uint64_t), pcc_u64_cmp);
}

void pcc_heap_note_referrer(struct pcc_heap *h, uint64_t owner, uint64_t ref)
{
	const uint64_t *hit = find_watched(h, ref);
	if (!hit)
		return;
	uint64_t *slots = h->referrers[hit - h->watched];
	for (int i = 0; i < PCC_HEAP_MAX_REFERRERS; i++) {
		if (slots[i] == owner)
			return;
		if (!slots[i]) {
			slots[i] = owner;
			return;
		}
	}
}

const uint64_t *pcc_heap_referrers(const struct pcc_heap *h, uint64_t obj)
{
	const uint64_t *hit = find_watched(h, obj);
	return hit ? h->referrers[hit - h->watched] : NULL;
}

void pcc_heap_deinit(struct pcc_heap *h)
{
	pcc_heap_drop_edges(h);
	free(h->watched);
	free(h->watched_groups);
	free(h->referrers);
	free(h->addr_slots);
	free(h->regions);
	free(h->region_hints);
	free(h->frozen);
	free(h->frozen_addrs);
	free(h->other_addrs);
	free(h->other_type_ids);
	free(h->other_bytes);
	free(h->other_frozen);
	free(h->dense);
	free(h->blocks);
	free(h->block_bits);
	free(h->type_ids);
	free(h->narrow_type_ids);
	free(h->sizes);
	free(h->big_sizes);
	free(h->gc_refs);
	free(h->flags);
	free(h->unreachable);
	free(h->group_of);
	for (size_t i = 0; i < h->groups.len; i++) {
		struct pcc_group *g = &h->groups.data[i];
		free(g->signature);
		free(g->display);
		free(g->loop);
		for (uint32_t j = 0; j < g->loop_len; j++)
			free(g->loop_labels[j]);
		free(g->loop_labels);
		pcc_count_vec_free(&g->types);
	}
	pcc_group_vec_free(&h->groups);
	for (size_t i = 0; i < h->files.len; i++) {
		pcc_file_info_deinit(&h->files.data[i].info);
		free(h->files.data[i].text_mode);
		free(h->files.data[i].holder);
	}
	pcc_open_file_vec_free(&h->files);
	pcc_count_vec_free(&h->unknown_types);
	pcc_count_vec_free(&h->undecided_types);
	pcc_type_total_vec_free(&h->type_histogram);
	pcc_count_vec_free(&h->others_unknown_types);
	if (h->garbage_types)
		for (size_t i = 0; i < h->ngcs; i++)
			pcc_count_vec_free(&h->garbage_types[i]);
	free(h->garbage_types);
	for (size_t i = 0; i < h->diagnoses.len; i++)
		free(h->diagnoses.data[i]);
	pcc_string_vec_free(&h->diagnoses);
	for (size_t i = 0; i < h->warnings.len; i++)
		free(h->warnings.data[i]);
	pcc_string_vec_free(&h->warnings);
}
