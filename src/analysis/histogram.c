/* SPDX-License-Identifier: MIT */
/* The type histogram of the memory graph (the last phase). */
#include "config.h"

#include <stdlib.h>

#include "heap.h"
#include "../util/sort.h"

/* Most bytes first, then most objects, then by type address: an order
 * that does not depend on where the objects lie. */
static int by_bytes(const void *a, const void *b)
{
	const struct pcc_type_total *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return (x->type > y->type) - (x->type < y->type);
}

void pcc_heap_count_types(struct pcc_heap *h)
{
	/* Type ids are dense: one counter each, the last for no type. */
	size_t ntypes = pcc_python_type_count(h->py);
	uint64_t *count = pcc_xcalloc(ntypes + 1, sizeof(uint64_t));
	uint64_t *bytes = pcc_xcalloc(ntypes + 1, sizeof(uint64_t));
	uint64_t *tracked = pcc_xcalloc(ntypes + 1, sizeof(uint64_t));
	pcc_heap_count_by_type(h, count, bytes, ntypes);
	for (size_t id = 0; id <= ntypes; id++)
		tracked[id] = count[id];
	for (uint32_t k = 0; k < h->nothers; k++) {
		uint32_t id = h->other_type_ids[k];
		id = id < ntypes ? id : (uint32_t)ntypes;
		count[id]++;
		tracked[id] += h->other_frozen[k];
		bytes[id] += h->other_bytes[k];
	}
	h->graph_objects = h->graph_bytes = h->graph_bytes_bound = 0;
	for (size_t id = 0; id <= ntypes; id++) {
		if (!count[id])
			continue;
		const struct pcc_type_info *ti =
			id < ntypes ? pcc_python_type_by_id(h->py, (uint32_t)id) : NULL;
		bool exact = ti && ti->size_exact;
		*pcc_type_total_vec_push(&h->type_histogram) = (struct pcc_type_total){
			ti ? ti->addr : 0, count[id], tracked[id], bytes[id], exact
		};
		h->graph_objects += count[id];
		h->graph_bytes += bytes[id];
		if (!exact)
			h->graph_bytes_bound += bytes[id];
	}
	free(count);
	free(bytes);
	free(tracked);
	pcc_sort(h->type_histogram.data, h->type_histogram.len,
	        sizeof(struct pcc_type_total), by_bytes);
}
