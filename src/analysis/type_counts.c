/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "type_counts.h"
#include "../util/sort.h"

void pcc_type_counts_add(struct pcc_type_counts *c, uint64_t type, uint64_t n)
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

void pcc_type_counts_merge(struct pcc_type_counts *dst,
			   struct pcc_type_counts *src)
{
	for (size_t i = 0; i < src->cap; i++)
		if (src->slots[i].count)
			pcc_type_counts_add(dst, src->slots[i].type, src->slots[i].count);
	free(src->slots);
	memset(src, 0, sizeof(*src));
}

static int count_desc(const void *a, const void *b)
{
	const struct pcc_count *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->type < y->type ? -1 : x->type > y->type;
}

void pcc_type_counts_finish(struct pcc_type_counts *c,
			    struct pcc_count_vec *out)
{
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].count)
			*pcc_count_vec_push(out) = c->slots[i];
	pcc_sort(out->data, out->len, sizeof(out->data[0]), count_desc);
	free(c->slots);
	memset(c, 0, sizeof(*c));
}
