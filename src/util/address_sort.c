/* SPDX-License-Identifier: MIT */
/*
 * An LSD radix sort is linear where a comparison sort of millions of
 * addresses would be the slowest step of the analysis, but its passes
 * grow with the span of the keys: a heap split between the brk region and
 * mmapped arenas (2^47 apart) took three passes.  So the addresses are
 * first renamed: each 16 MiB granule that holds any becomes its rank among
 * them, and the key is that rank above the offset in the granule.  A few
 * GB of heap in any number of regions then sorts in two passes of 13 bits
 * or so.  The count and scatter of each pass run on several threads, each
 * thread's share of a bucket placed after the shares before it, so the
 * sort stays stable and its result the same for any number of threads.
 *
 * A real heap is dense in its granules: an object every few slots.  Its
 * renamed keys then fit a bitmap smaller than the radix sort's second
 * array, and setting one bit per key and reading the bits back in order
 * sorts in one pass over the keys and one over the bitmap.  A bitmap
 * cannot hold a key twice: at the first duplicate (a corrupt heap) the
 * radix sort takes over.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "address_sort.h"
#include "error.h"
#include "parallel.h"
#include "sort.h"
#include "u64_map.h"
#include "vec.h"

enum {
	GRANULE_BITS = 24,
	MAX_DIGIT_BITS = 16,
};

struct sort_run {
	uint64_t *src, *dst;
	uint32_t n;
	unsigned at;
	uint64_t mask;
	uint32_t *count[PCC_PARALLEL_MAX];
	size_t buckets;
	/* renaming */
	const uint64_t *granules;
	size_t ngranules;
	unsigned shift;
	uint64_t low_bits; /* what every address has below shift */
};

enum { RECENT = 64 };

/* The last granules seen, by their low bits: a heap's few hundred hot
 * granules are consecutive numbers, so they rarely evict each other. */
struct recent {
	uint64_t granule[RECENT]; /* UINT64_MAX: none */
	uint64_t rank[RECENT];
};

static void recent_init(struct recent *c)
{
	memset(c->granule, 0xff, sizeof(c->granule));
}

/* The rank of g in the sorted, distinct granules (it is one of them). */
static uint64_t granule_rank(const struct sort_run *r, uint64_t g,
			     struct recent *c)
{
	unsigned k = (unsigned)(g % RECENT);
	if (c->granule[k] == g)
		return c->rank[k];
	size_t lo = 0, hi = r->ngranules;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->granules[mid] <= g)
			lo = mid;
		else
			hi = mid;
	}
	c->granule[k] = g;
	c->rank[k] = lo;
	return lo;
}

static void rename_share(void *ctx, unsigned share, unsigned shares)
{
	struct sort_run *r = ctx;
	uint32_t begin, end;
	pcc_parallel_range(share, shares, r->n, &begin, &end);
	unsigned in_granule = GRANULE_BITS - r->shift;
	struct recent recent;
	recent_init(&recent);
	for (uint32_t i = begin; i < end; i++) {
		uint64_t a = r->src[i];
		uint64_t rank = granule_rank(r, a >> GRANULE_BITS, &recent);
		r->src[i] = rank << in_granule
			    | (a & ((UINT64_C(1) << GRANULE_BITS) - 1)) >> r->shift;
	}
}

static void restore_share(void *ctx, unsigned share, unsigned shares)
{
	struct sort_run *r = ctx;
	uint32_t begin, end;
	pcc_parallel_range(share, shares, r->n, &begin, &end);
	unsigned in_granule = GRANULE_BITS - r->shift;
	uint64_t offset_mask = (UINT64_C(1) << in_granule) - 1;
	for (uint32_t i = begin; i < end; i++) {
		uint64_t k = r->src[i];
		r->dst[i] = r->granules[k >> in_granule] << GRANULE_BITS
			    | (k & offset_mask) << r->shift | r->low_bits;
	}
}

static void count_share(void *ctx, unsigned share, unsigned shares)
{
	struct sort_run *r = ctx;
	uint32_t begin, end;
	pcc_parallel_range(share, shares, r->n, &begin, &end);
	uint32_t *count = r->count[share];
	memset(count, 0, r->buckets * sizeof(uint32_t));
	for (uint32_t i = begin; i < end; i++)
		count[(r->src[i] >> r->at) & r->mask]++;
}

static void scatter_share(void *ctx, unsigned share, unsigned shares)
{
	struct sort_run *r = ctx;
	uint32_t begin, end;
	pcc_parallel_range(share, shares, r->n, &begin, &end);
	uint32_t *next = r->count[share];
	for (uint32_t i = begin; i < end; i++) {
		uint64_t k = r->src[i];
		r->dst[next[(k >> r->at) & r->mask]++] = k;
	}
}

/* The bitmap sort: bits[k / 64] has bit k % 64 for each key k. */
struct bitmap_run {
	uint64_t *keys;
	uint32_t n;
	uint64_t *bits;
	size_t words;
	bool duplicate; /* a key was set already */
	uint32_t first[PCC_PARALLEL_MAX]; /* where each share's keys go */
	const struct sort_run *r;
};

static void word_range(const struct bitmap_run *b, unsigned share,
		       unsigned shares, size_t *begin, size_t *end)
{
	*begin = b->words / shares * share;
	*end = share + 1 == shares ? b->words : b->words / shares * (share + 1);
}

/* On one thread: setting bits atomically on two costs more than it gains,
 * and so does each thread reading every key to set those of its own words
 * (the walk's keys alternate between its two ends, and the test of whose
 * a key is mispredicts every other time). */
static void set_bits(struct bitmap_run *b)
{
	for (uint32_t i = 0; i < b->n; i++) {
		uint64_t k = b->keys[i], bit = UINT64_C(1) << (k % 64);
		uint64_t old = b->bits[k / 64];
		b->bits[k / 64] = old | bit;
		if (old & bit) {
			b->duplicate = true;
			return;
		}
	}
}

static void count_bits_share(void *ctx, unsigned share, unsigned shares)
{
	struct bitmap_run *b = ctx;
	size_t begin, end;
	word_range(b, share, shares, &begin, &end);
	uint32_t count = 0;
	for (size_t w = begin; w < end; w++)
		count += (uint32_t)__builtin_popcountll(b->bits[w]);
	b->first[share] = count;
}

/* Each set bit, in order, as the address it stands for. */
static void emit_bits_share(void *ctx, unsigned share, unsigned shares)
{
	struct bitmap_run *b = ctx;
	const struct sort_run *r = b->r;
	unsigned in_granule = GRANULE_BITS - r->shift;
	uint64_t offset_mask = (UINT64_C(1) << in_granule) - 1;
	size_t begin, end;
	word_range(b, share, shares, &begin, &end);
	uint64_t *out = b->keys + b->first[share];
	for (size_t w = begin; w < end; w++)
		for (uint64_t x = b->bits[w]; x; x &= x - 1) {
			uint64_t k = w * 64 + (unsigned)__builtin_ctzll(x);
			*out++ = r->granules[k >> in_granule] << GRANULE_BITS
				 | (k & offset_mask) << r->shift | r->low_bits;
		}
}

/* Sort the renamed keys r->src[0..n) through a bitmap of keyspace bits,
 * back into addresses; false (the keys untouched) if one is there twice. */
static bool bitmap_sort(const struct sort_run *r, uint64_t keyspace,
			unsigned shares)
{
	struct bitmap_run b = { .keys = r->src, .n = r->n, .r = r,
				.words = (size_t)((keyspace + 63) / 64) };
	b.bits = pcc_xcalloc(b.words, sizeof(uint64_t));
	set_bits(&b);
	if (b.duplicate) {
		free(b.bits);
		return false;
	}
	pcc_parallel_run(shares, count_bits_share, &b);
	uint32_t sum = 0;
	for (unsigned s = 0; s < shares; s++) {
		uint32_t c = b.first[s];
		b.first[s] = sum;
		sum += c;
	}
	pcc_parallel_run(shares, emit_bits_share, &b);
	free(b.bits);
	return true;
}

/* The distinct granules of a[0..n), in no order, appended to out. */
static void distinct_granules(const uint64_t *a, uint32_t n,
			      struct pcc_u64_vec *out)
{
	/* A heap has a few hundred at most; a hostile one, up to n. */
	struct pcc_u64_map seen = { 0 };
	struct recent recent;
	recent_init(&recent);
	uint64_t unused;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t x = a[i] >> GRANULE_BITS;
		unsigned k = (unsigned)(x % RECENT);
		if (recent.granule[k] == x)
			continue;
		recent.granule[k] = x;
		if (pcc_u64_map_get(&seen, x, &unused))
			continue;
		pcc_u64_map_put(&seen, x, 0);
		*pcc_u64_vec_push(out) = x;
	}
	pcc_u64_map_free(&seen);
}

/* The shares' granules, sorted and distinct (the vectors are freed);
 * *len of them. */
static uint64_t *merge_granules(struct pcc_u64_vec *parts, unsigned shares,
				size_t *len)
{
	struct pcc_u64_vec all = { 0 };
	for (unsigned s = 0; s < shares; s++) {
		for (size_t k = 0; k < parts[s].len; k++)
			*pcc_u64_vec_push(&all) = parts[s].data[k];
		pcc_u64_vec_free(&parts[s]);
	}
	pcc_sort(all.data, all.len, sizeof(uint64_t), pcc_u64_cmp);
	size_t u = 0;
	for (size_t k = 0; k < all.len; k++)
		if (!u || all.data[u - 1] != all.data[k])
			all.data[u++] = all.data[k];
	*len = u;
	if (!all.data) /* n >= 2: never empty; for the analyser */
		all.data = pcc_xmalloc(sizeof(uint64_t));
	return all.data;
}

static unsigned low_zeros(uint64_t x)
{
	return x ? (unsigned)__builtin_ctzll(x) : 64;
}

/* What the addresses of each share have in common with the first, and
 * their granules. */
struct survey {
	const uint64_t *a;
	uint32_t n;
	uint64_t differ[PCC_PARALLEL_MAX]; /* bits where some differ from a[0] */
	struct pcc_u64_vec granules[PCC_PARALLEL_MAX];
};

static void survey_share(void *ctx, unsigned share, unsigned shares)
{
	struct survey *v = ctx;
	uint32_t begin, end;
	pcc_parallel_range(share, shares, v->n, &begin, &end);
	uint64_t first = v->a[0], differ = 0;
	for (uint32_t i = begin; i < end; i++)
		differ |= v->a[i] ^ first;
	v->differ[share] = differ;
	distinct_granules(v->a + begin, end - begin, &v->granules[share]);
}

struct pcc_sorted_addresses pcc_sort_addresses(uint64_t *a, uint32_t n,
					       unsigned threads)
{
	struct pcc_sorted_addresses out = { .may_repeat = false,
					    .low_zeros = n ? low_zeros(a[0]) : 64 };
	if (n < 2)
		return out;
	unsigned shares = threads < 1 ? 1
			  : threads > PCC_PARALLEL_MAX ? PCC_PARALLEL_MAX
						       : threads;
	if (n < 65536)
		shares = 1; /* not worth a thread */

	struct survey v = { .a = a, .n = n };
	pcc_parallel_run(shares, survey_share, &v);
	uint64_t any = 0;
	for (unsigned s = 0; s < shares; s++)
		any |= v.differ[s];
	if (!any) { /* all equal */
		for (unsigned s = 0; s < shares; s++)
			pcc_u64_vec_free(&v.granules[s]);
		out.may_repeat = true;
		return out;
	}
	unsigned shift = (unsigned)__builtin_ctzll(any);
	/* Below shift every address has a[0]'s bits; at shift, some a one. */
	uint64_t below = a[0] & ((UINT64_C(1) << shift) - 1);
	out.low_zeros = below ? low_zeros(below) : shift;
	if (shift > GRANULE_BITS)
		shift = GRANULE_BITS;

	struct sort_run r = { .n = n, .shift = shift,
			      .low_bits = a[0] & ((UINT64_C(1) << shift) - 1) };
	uint64_t *granules = merge_granules(v.granules, shares, &r.ngranules);
	r.granules = granules;
	r.src = a;
	pcc_parallel_run(shares, rename_share, &r);

	uint64_t top = (uint64_t)(r.ngranules - 1) << (GRANULE_BITS - shift)
		       | ((UINT64_C(1) << (GRANULE_BITS - shift)) - 1);
	/* Never more memory than the radix sort's second array. */
	if (top / 8 < (uint64_t)n * sizeof(uint64_t)
	    && bitmap_sort(&r, top + 1, shares)) {
		free(granules);
		return out;
	}
	out.may_repeat = true;
	unsigned bits = 64 - (unsigned)__builtin_clzll(top | 1);
	unsigned passes = (bits + MAX_DIGIT_BITS - 1) / MAX_DIGIT_BITS;
	unsigned width = (bits + passes - 1) / passes;
	r.buckets = (size_t)1 << width;
	r.mask = r.buckets - 1;
	for (unsigned s = 0; s < shares; s++)
		r.count[s] = pcc_xmalloc(r.buckets * sizeof(uint32_t));
	uint64_t *tmp = pcc_xmalloc((size_t)n * sizeof(uint64_t));
	uint64_t *src = a, *dst = tmp;
	for (unsigned pass = 0; pass < passes; pass++) {
		r.src = src;
		r.dst = dst;
		r.at = pass * width;
		pcc_parallel_run(shares, count_share, &r);
		uint32_t sum = 0;
		for (size_t b = 0; b < r.buckets; b++)
			for (unsigned s = 0; s < shares; s++) {
				uint32_t c = r.count[s][b];
				r.count[s][b] = sum;
				sum += c;
			}
		pcc_parallel_run(shares, scatter_share, &r);
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	r.src = src;
	r.dst = a;
	pcc_parallel_run(shares, restore_share, &r);
	for (unsigned s = 0; s < shares; s++)
		free(r.count[s]);
	free(tmp);
	free(granules);
	return out;
}
