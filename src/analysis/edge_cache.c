/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "edge_cache.h"
#include "../util/error.h"

enum { GROUP = 1u << PCC_EDGE_CACHE_GROUP_SHIFT };

static uint32_t groups(uint32_t n)
{
	return (uint32_t)(((uint64_t)n + GROUP - 1) / GROUP);
}

void pcc_edge_cache_init(struct pcc_edge_cache *c, uint32_t n,
			 unsigned bytes_per_object)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->cap = (uint64_t)n * bytes_per_object;
	/* Only what is written becomes resident. */
	c->bytes = pcc_xmalloc(c->cap ? c->cap : 1);
	pcc_advise_huge(c->bytes, c->cap);
	c->len = pcc_xcalloc((groups(n) ? groups(n) : 1) * (size_t)GROUP, 1);
	pcc_advise_huge(c->len, n);
	c->group_start = pcc_xcalloc(groups(n) ? groups(n) : 1, sizeof(uint64_t));
}

void pcc_edge_cache_free(struct pcc_edge_cache *c)
{
	free(c->bytes);
	free(c->len);
	free(c->group_start);
	memset(c, 0, sizeof(*c));
}

void pcc_edge_cache_range(unsigned share, unsigned shares, uint32_t n,
			  uint32_t *begin, uint32_t *end)
{
	uint64_t g = groups(n);
	uint64_t b = g * share / shares * GROUP, e = g * (share + 1) / shares * GROUP;
	*begin = (uint32_t)(b < n ? b : n);
	*end = (uint32_t)(e < n ? e : n);
}

void pcc_edge_cache_writer_init(struct pcc_edge_cache_writer *w,
				struct pcc_edge_cache *c, unsigned share,
				unsigned shares, uint32_t begin)
{
	*w = (struct pcc_edge_cache_writer){
		.c = c,
		.begin = c->cap / shares * share,
		.at = c->cap / shares * share,
		.end = share + 1 == shares ? c->cap : c->cap / shares * (share + 1),
		.owner = UINT32_MAX,
		.next_group = begin >> PCC_EDGE_CACHE_GROUP_SHIFT,
	};
}

/* The owner's references are all there: its length, or, when they do not
 * fit, none (its bytes are given back). */
static void close_owner(struct pcc_edge_cache_writer *w)
{
	if (w->owner == UINT32_MAX)
		return;
	uint64_t len = w->at - w->owner_begin;
	if (w->overflow || len > PCC_EDGE_CACHE_MAX_LEN) {
		w->at = w->owner_begin;
		len = 0;
		w->left_out++;
	}
	w->c->len[w->owner] = (uint8_t)len;
	/* Full: what follows is left out (an owner too big for the cache
	 * does not stop the others). */
	w->overflow = w->at + 5 > w->end;
}

static void start_groups(struct pcc_edge_cache_writer *w, uint32_t last)
{
	for (; w->next_group <= last; w->next_group++)
		w->c->group_start[w->next_group] = w->at;
}

void pcc_edge_cache_next_owner(struct pcc_edge_cache_writer *w, uint32_t next)
{
	close_owner(w);
	start_groups(w, next >> PCC_EDGE_CACHE_GROUP_SHIFT);
	w->owner = next;
	w->owner_begin = w->at;
}

void pcc_edge_cache_writer_finish(struct pcc_edge_cache_writer *w, uint32_t end)
{
	close_owner(w);
	w->owner = UINT32_MAX;
	if (end)
		start_groups(w, (end - 1) >> PCC_EDGE_CACHE_GROUP_SHIFT);
}

void pcc_edge_cache_writer_count(struct pcc_edge_cache *c,
				 const struct pcc_edge_cache_writer *w)
{
	c->used += w->at - w->begin;
	c->left_out += w->left_out;
}
