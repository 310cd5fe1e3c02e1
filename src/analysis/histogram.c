/* SPDX-License-Identifier: MIT */
/* The type histogram of every tracked object (the last phase). */
#include "config.h"

#include <stdlib.h>

#include "heap.h"
#include "type_counts.h"

void pcc_heap_count_types(struct pcc_heap *h)
{
	/* Type ids are dense: one counter each, the last for no type. */
	size_t ntypes = pcc_python_type_count(h->py);
	uint64_t *per_id = pcc_xcalloc(ntypes + 1, sizeof(uint64_t));
	pcc_heap_count_by_type(h, per_id, ntypes);
	struct pcc_type_counts c = { 0 };
	for (size_t id = 0; id <= ntypes; id++) {
		const struct pcc_type_info *ti =
			id < ntypes ? pcc_python_type_by_id(h->py, (uint32_t)id) : NULL;
		if (per_id[id])
			pcc_type_counts_add(&c, ti ? ti->addr : 0, per_id[id]);
	}
	free(per_id);
	pcc_type_counts_finish(&c, &h->type_histogram);
}
