/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>

#include "heap.h"

void pcc_heap_warn(struct pcc_heap *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	*pcc_string_vec_push(&h->warnings) = pcc_xvasprintf(fmt, ap);
	va_end(ap);
}

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
		    uint64_t max_objects)
{
	memset(h, 0, sizeof(*h));
	h->py = py;
	h->complete = true;
	struct pcc_u64_vec objs = { 0 };
	static const char *const names[] = { "generation 0", "generation 1",
					     "generation 2" };
	for (size_t i = 0; i < py->gcs.len; i++) {
		const struct pcc_gc_state *gs = &py->gcs.data[i];
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
	h->frozen = pcc_xcalloc(py->gcs.len ? py->gcs.len : 1, sizeof(uint64_t));
	for (size_t i = 0; i < py->gcs.len; i++) {
		const struct pcc_gc_state *gs = &py->gcs.data[i];
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
	uint64_t cap = 1024;
	/* Load factor at most 2/3: 4 bytes a slot keeps the index under 7
	 * bytes per object, and linear probing stays short. */
	while (cap < (uint64_t)h->n + h->n / 2)
		cap *= 2;
	h->index = pcc_xcalloc(cap, sizeof(uint32_t));
	h->index_mask = cap - 1;
	uint32_t dups = 0;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		lo = h->addrs[i] < lo ? h->addrs[i] : lo;
		hi = h->addrs[i] > hi ? h->addrs[i] : hi;
	}
	h->min_addr = h->n ? lo : 1;
	h->addr_span = h->n ? hi - lo : 0;
	for (uint32_t i = 0; i < h->n; i++) {
		uint64_t addr = h->addrs[i];
		uint64_t slot = (addr * 0x9e3779b97f4a7c15ull >> 17) & h->index_mask;
		while (h->index[slot] && h->addrs[h->index[slot] - 1] != addr)
			slot = (slot + 1) & h->index_mask;
		if (h->index[slot])
			dups++;
		else
			h->index[slot] = i + 1;
	}
	if (dups) {
		pcc_heap_warn(h, "%u objects appear on more than one GC list: the "
			      "lists are corrupt", dups);
		h->complete = false;
	}
	h->gc_refs = pcc_xcalloc(h->n, sizeof(int32_t));
	h->flags = pcc_xcalloc(h->n, 1);
}

void pcc_heap_deinit(struct pcc_heap *h)
{
	free(h->addrs);
	free(h->frozen);
	free(h->index);
	free(h->gc_refs);
	free(h->flags);
	free(h->unreachable);
	free(h->group_of);
	for (size_t i = 0; i < h->groups.len; i++) {
		struct pcc_group *g = &h->groups.data[i];
		free(g->signature);
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
	pcc_count_vec_free(&h->type_histogram);
	if (h->garbage_types)
		for (size_t i = 0; i < h->py->gcs.len; i++)
			pcc_count_vec_free(&h->garbage_types[i]);
	free(h->garbage_types);
	for (size_t i = 0; i < h->diagnoses.len; i++)
		free(h->diagnoses.data[i]);
	pcc_string_vec_free(&h->diagnoses);
	for (size_t i = 0; i < h->warnings.len; i++)
		free(h->warnings.data[i]);
	pcc_string_vec_free(&h->warnings);
}
