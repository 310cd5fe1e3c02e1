/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "../cpython/emulated.h"
#include "../cpython/gc_list.h"
#include "../util/sort.h"

void pcc_heap_warn(struct pcc_heap *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	*pcc_string_vec_push(&h->warnings) = pcc_xvasprintf(fmt, ap);
	va_end(ap);
}

static void sort_addresses(uint64_t *a, uint32_t n);
static void drop_impossible(struct pcc_heap *h);
static void index_pages(struct pcc_heap *h);

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
		    uint64_t max_objects, bool emulate)
{
	memset(h, 0, sizeof(*h));
	h->py = py;
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
	for (size_t i = 0; i < h->ngcs; i++) {
		const struct pcc_gc_state *gs = &h->gcs[i];
		if (!gs->permanent_head)
			continue;
		struct pcc_u64_vec frozen = { 0 };
		size_t before = objs.len;
		walk_list(h, &frozen, gs->permanent_head, gs->interp_id,
			  "permanent generation", max_objects > before ? max_objects - before : 0);
		h->frozen[i] = frozen.len;
		pcc_u64_vec_free(&frozen);
	}
	if (objs.len >= UINT32_MAX / 2) {
		pcc_heap_warn(h, "more than %u tracked objects: only the first "
			      "are analysed", UINT32_MAX / 2);
		objs.len = UINT32_MAX / 2 - 1;
		h->complete = false;
	}

	h->n = (uint32_t)objs.len;
	h->addrs = objs.data;
	pcc_heap_index(h);
	/* In address order: consecutive objects mostly share a type, which
	 * the type cache answers without a probe. */
	for (uint32_t i = 0; i < h->n; i++)
		h->type_ids[i] = pcc_python_type_id_of(py, h->addrs[i]);
	if (emulate)
		pcc_python_emulate_traversals(py, h->addrs, h->n);
}

void pcc_heap_index(struct pcc_heap *h)
{
	sort_addresses(h->addrs, h->n);
	drop_impossible(h);
	index_pages(h);
	h->type_ids = pcc_xmalloc((h->n ? h->n : 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < h->n; i++)
		h->type_ids[i] = PCC_NO_TYPE;
	h->gc_refs = pcc_xcalloc(h->n ? h->n : 1, sizeof(int32_t));
	h->flags = pcc_xcalloc(h->n ? h->n : 1, 1);
}

/* LSD radix sort on the low 48 bits (user-space addresses), 16 bits a
 * pass: linear, where the heap's millions of addresses would make a
 * comparison sort the slowest step of the analysis. */
static void sort_addresses(uint64_t *a, uint32_t n)
{
	enum { BITS = 16, BUCKETS = 1 << BITS, PASSES = 3 };
	if (n < 2)
		return;
	uint64_t *tmp = pcc_xmalloc((size_t)n * sizeof(uint64_t));
	uint32_t *count = pcc_xmalloc(BUCKETS * sizeof(uint32_t));
	uint64_t *src = a, *dst = tmp;
	for (int pass = 0; pass < PASSES; pass++) {
		int shift = pass * BITS;
		memset(count, 0, BUCKETS * sizeof(uint32_t));
		for (uint32_t i = 0; i < n; i++)
			count[(src[i] >> shift) & (BUCKETS - 1)]++;
		uint32_t sum = 0;
		for (uint32_t b = 0; b < BUCKETS; b++) {
			uint32_t c = count[b];
			count[b] = sum;
			sum += c;
		}
		for (uint32_t i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & (BUCKETS - 1)]++] = src[i];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, (size_t)n * sizeof(uint64_t));
	free(count);
	free(tmp);
}

/* No CPython object sits in the first page, beyond 48 bits (the sort
 * ignores the rest) or on two lists at once: such entries are corruption,
 * reported and left out. */
static void drop_impossible(struct pcc_heap *h)
{
	uint32_t kept = 0, bad = 0, dups = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		uint64_t addr = h->addrs[i];
		if (addr >> 48 || addr >> PCC_HEAP_PAGE_SHIFT == 0)
			bad++;
		else if (kept && h->addrs[kept - 1] == addr)
			dups++;
		else
			h->addrs[kept++] = addr;
	}
	h->n = kept;
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

static void index_pages(struct pcc_heap *h)
{
	uint64_t npages = 0;
	for (uint32_t i = 0; i < h->n; i++)
		if (!i || h->addrs[i] >> PCC_HEAP_PAGE_SHIFT
				  != h->addrs[i - 1] >> PCC_HEAP_PAGE_SHIFT)
			npages++;
	uint64_t cap = 64;
	while (cap < 2 * npages)
		cap *= 2;
	h->pages = pcc_xcalloc(cap, sizeof(*h->pages));
	h->page_mask = cap - 1;
	struct pcc_heap_page *p = NULL;
	for (uint32_t i = 0; i < h->n; i++) {
		uint64_t page = h->addrs[i] >> PCC_HEAP_PAGE_SHIFT;
		if (p && p->page == page) {
			p->count++;
			continue;
		}
		uint64_t slot = pcc_heap_page_slot(h, page);
		while (h->pages[slot].page)
			slot = (slot + 1) & h->page_mask;
		p = &h->pages[slot];
		*p = (struct pcc_heap_page){ page, i, 1 };
	}
	h->min_addr = h->n ? h->addrs[0] : 1;
	h->addr_span = h->n ? h->addrs[h->n - 1] - h->addrs[0] : 0;
}

void pcc_heap_watch(struct pcc_heap *h, const uint64_t *objs, size_t n)
{
	free(h->watched);
	free(h->referrers);
	h->watched = pcc_xcalloc(n ? n : 1, sizeof(uint64_t));
	if (n)
		memcpy(h->watched, objs, n * sizeof(uint64_t));
	pcc_sort(h->watched, n, sizeof(uint64_t), pcc_u64_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t j = pcc_heap_find(h, h->watched[i]);
		if (j == UINT32_MAX || (u && h->watched[u - 1] == h->watched[i]))
			continue;
		h->flags[j] |= PCC_OBJ_WATCHED;
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
	free(h->watched);
	free(h->referrers);
	free(h->addrs);
	free(h->frozen);
	free(h->pages);
	free(h->type_ids);
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
	pcc_count_vec_free(&h->type_histogram);
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
