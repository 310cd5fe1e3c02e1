/* SPDX-License-Identifier: MIT */
/* Unit tests for the heap index of src/analysis/heap.[ch]: every address
 * put in is found at its sorted position, nothing else is found, and
 * corruption (duplicates, impossible addresses) is dropped and reported;
 * and the address sort under it, on heaps of one region and of many, on
 * one thread and on several. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/edge_cache.h"
#include "analysis/heap.h"
#include "util/address_sort.h"
#include "run_suite.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void index_copy(struct pcc_heap *h, const uint64_t *addrs, uint32_t n)
{
	memset(h, 0, sizeof(*h));
	h->complete = true;
	uint64_t *copy = malloc((n ? n : 1) * sizeof(uint64_t));
	ck_assert_ptr_nonnull(copy);
	if (n)
		memcpy(copy, addrs, n * sizeof(uint64_t));
	pcc_heap_index(h, copy, n);
}

/* Everything pcc_heap_index made: pcc_heap_deinit frees it all. */
static void heap_free(struct pcc_heap *h)
{
	pcc_heap_deinit(h);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

START_TEST(test_find_random_heap)
{
	/* Objects in clusters (arenas) far apart, as a real heap. */
	enum { N = 200000 };
	uint64_t *addrs = malloc(N * sizeof(uint64_t));
	ck_assert_ptr_nonnull(addrs);
	uint64_t bases[] = { 0x555555554000ull, 0x7f0000000000ull, 0x7ffff0000000ull };
	for (uint32_t i = 0; i < N; i++) {
		uint64_t base = bases[rng() % 3];
		addrs[i] = base + ((rng() % (N * 4)) * 16);
	}
	/* The generator may repeat an address: keep the first only. */
	uint64_t *sorted = malloc(N * sizeof(uint64_t));
	memcpy(sorted, addrs, N * sizeof(uint64_t));
	qsort(sorted, N, sizeof(uint64_t), u64_cmp);
	uint32_t unique = 0;
	for (uint32_t i = 0; i < N; i++)
		if (!unique || sorted[unique - 1] != sorted[i])
			sorted[unique++] = sorted[i];

	struct pcc_heap h;
	index_copy(&h, addrs, N);
	ck_assert_uint_eq(h.n, unique);
	ck_assert_int_eq(h.complete, unique == N);
	for (uint32_t i = 0; i < unique; i++) {
		ck_assert_uint_eq(pcc_heap_addr(&h, i), sorted[i]);
		ck_assert_uint_eq(pcc_heap_find(&h, sorted[i]), i);
	}
	/* Between, before and after the objects: never found. */
	for (uint32_t i = 0; i < unique; i++) {
		uint64_t probe = sorted[i] + 8;
		if (i + 1 < unique && sorted[i + 1] == probe)
			continue;
		ck_assert_uint_eq(pcc_heap_find(&h, probe), UINT32_MAX);
	}
	ck_assert_uint_eq(pcc_heap_find(&h, sorted[0] - 16), UINT32_MAX);
	ck_assert_uint_eq(pcc_heap_find(&h, sorted[unique - 1] + 16), UINT32_MAX);
	ck_assert_uint_eq(pcc_heap_find(&h, 0), UINT32_MAX);
	ck_assert_uint_eq(pcc_heap_find(&h, UINT64_MAX), UINT32_MAX);
	heap_free(&h);
	free(sorted);
	free(addrs);
}
END_TEST

/* Addresses keep 32 bits of their slot each, the rest once per region:
 * objects on both sides of a region's edge, in regions one apart and far
 * apart, at both alignments, read back as they went in. */
START_TEST(test_regions)
{
	for (unsigned align = 8; align <= 16; align *= 2) {
		uint64_t edge = (UINT64_C(1) << 32) * align; /* slot 2^32 */
		uint64_t in[] = {
			edge - 2 * align, edge - align, edge, edge + align,
			3 * edge - align, 3 * edge, 0x7ff000000000ull,
			0x7ffffffff000ull - align,
		};
		enum { N = sizeof(in) / sizeof(in[0]) };
		struct pcc_heap h;
		index_copy(&h, in, N);
		ck_assert_uint_eq(h.n, N);
		ck_assert_uint_eq(h.align_shift, align == 8 ? 3 : 4);
		ck_assert_uint_eq(h.nregions, align == 8 ? 6 : 5);
		for (uint32_t i = 0; i < N; i++) {
			ck_assert_uint_eq(pcc_heap_addr(&h, i), in[i]);
			ck_assert_uint_eq(pcc_heap_find(&h, in[i]), i);
		}
		uint64_t *all = pcc_heap_addresses(&h);
		ck_assert_mem_eq(all, in, sizeof(in));
		free(all);
		heap_free(&h);
	}
}
END_TEST

/* Sizes in 16 bits, the large ones apart: written from several vectors
 * (the threads'), in any order, each reads back whole. */
START_TEST(test_big_sizes)
{
	struct pcc_heap h;
	memset(&h, 0, sizeof(h));
	h.n = 8;
	uint16_t sizes[8];
	h.sizes = sizes;
	struct pcc_heap_big_size_vec big[2] = { { 0 }, { 0 } };
	const uint64_t want[8] = { 48, UINT64_C(1) << 40, 65533, 65534,
				   65535, 65536, 0, 1234567 };
	for (uint32_t i = 0; i < 8; i++)
		pcc_heap_set_size(&h, &big[i % 2 ? 0 : 1], 7 - i, want[7 - i]);
	pcc_heap_add_big_sizes(&h, big, 2);
	ck_assert_uint_eq(h.nbig_sizes, 5);
	for (uint32_t i = 0; i < 8; i++)
		ck_assert_uint_eq(pcc_heap_size(&h, i), want[i]);
	free(h.big_sizes);
}
END_TEST

/* Every object found at its index, and the address after each not. */
static void check_lookups(const struct pcc_heap *h)
{
	uint32_t wrong = 0;
	for (uint32_t i = 0; i < h->n; i++)
		wrong += pcc_heap_find(h, pcc_heap_addr(h, i)) != i
			 || (pcc_heap_find(h, pcc_heap_addr(h, i) + 8) != UINT32_MAX
			     && (i + 1 == h->n || pcc_heap_addr(h, i + 1) != pcc_heap_addr(h, i) + 8));
	ck_assert_uint_eq(wrong, 0);
}

START_TEST(test_dense_run_and_the_rest)
{
	/* Three runs far apart: the one of the most objects gets the table of
	 * its own, the others the hash table; an object every fifth block
	 * spreads too thin for one; a gap in every run of a heap of many
	 * runs leaves them all to the hash table. */
	enum { N = 30000 };
	uint64_t *addrs = malloc(N * sizeof(uint64_t));
	ck_assert_ptr_nonnull(addrs);
	uint32_t n = 0;
	for (uint32_t i = 0; i < 5000; i++)
		addrs[n++] = 0x555555554000ull + 48 * (uint64_t)i;
	for (uint32_t i = 0; i < 20000; i++)
		addrs[n++] = 0x7f0000000000ull + 32 * (uint64_t)i;
	for (uint32_t i = 0; i < 5000; i++)
		addrs[n++] = 0x7ffff0000000ull + 64 * (uint64_t)i;
	struct pcc_heap h;
	index_copy(&h, addrs, n);
	ck_assert_uint_eq(h.dense_first, 0x7f0000000000ull >> h.block_shift);
	ck_assert_uint_eq(h.dense_blocks, (20000 * 32 + 4095) / 4096);
	check_lookups(&h);
	heap_free(&h);

	for (uint32_t i = 0; i < 1000; i++) /* a 4 KiB block of every five */
		addrs[i] = 0x7f0000000000ull + 5 * 4096 * (uint64_t)i;
	index_copy(&h, addrs, 1000);
	ck_assert_uint_eq(h.dense_blocks, 0);
	check_lookups(&h);
	heap_free(&h);

	for (uint32_t i = 0; i < 1000; i++) /* 100 runs of 10, 128 MiB apart */
		addrs[i] = 0x7f0000000000ull + (uint64_t)(i / 10) * (128 << 20)
			   + 16 * (uint64_t)(i % 10);
	index_copy(&h, addrs, 1000);
	ck_assert_uint_eq(h.dense_blocks, 0);
	check_lookups(&h);
	heap_free(&h);
	free(addrs);
}
END_TEST

/* The table filled on several threads: the same lookups as on one. */
START_TEST(test_find_index_threads)
{
	enum { N = 400000 };
	uint64_t *addrs = malloc(N * sizeof(uint64_t));
	ck_assert_ptr_nonnull(addrs);
	for (uint32_t i = 0; i < N; i++) /* every third slot, two regions */
		addrs[i] = (i % 2 ? 0x7f0000000000ull : 0x555555554000ull)
			   + (uint64_t)(i / 2) * 48;
	for (unsigned threads = 1; threads <= 3; threads++) {
		struct pcc_heap h;
		memset(&h, 0, sizeof(h));
		h.threads = threads;
		uint64_t *copy = malloc(N * sizeof(uint64_t));
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, addrs, N * sizeof(uint64_t));
		pcc_heap_index(&h, copy, N);
		ck_assert_uint_eq(h.n, N);
		/* One assertion for all: check writes down every one. */
		uint32_t wrong = 0;
		for (uint32_t i = 0; i < N; i++)
			wrong += pcc_heap_addr(&h, i)
				 != (i < N / 2 ? 0x555555554000ull + (uint64_t)i * 48
					       : 0x7f0000000000ull
						 + (uint64_t)(i - N / 2) * 48)
				 || pcc_heap_find(&h, pcc_heap_addr(&h, i)) != i
				 || pcc_heap_find(&h, pcc_heap_addr(&h, i) + 16) != UINT32_MAX;
		ck_assert_uint_eq(wrong, 0);
		pcc_heap_deinit(&h);
	}
	free(addrs);
}
END_TEST

START_TEST(test_page_edges)
{
	/* First and last byte offsets of a page, unaligned addresses, and a
	 * page holding a single object. */
	uint64_t addrs[] = { 0x10001ff8, 0x10001000, 0x10002000, 0x10001001,
			     0x10001008, 0x10fff000 };
	uint32_t n = sizeof(addrs) / sizeof(addrs[0]);
	struct pcc_heap h;
	index_copy(&h, addrs, n);
	ck_assert_uint_eq(h.n, n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = pcc_heap_find(&h, addrs[i]);
		ck_assert_uint_ne(k, UINT32_MAX);
		ck_assert_uint_eq(pcc_heap_addr(&h, k), addrs[i]);
	}
	ck_assert_uint_eq(pcc_heap_find(&h, 0x10001010), UINT32_MAX);
	ck_assert_uint_eq(pcc_heap_find(&h, 0x10ffeff8), UINT32_MAX);
	heap_free(&h);
}
END_TEST

START_TEST(test_corruption_dropped)
{
	uint64_t addrs[] = { 0x7f0000001000ull, 0x7f0000001000ull, 0x40,
			     0x1000000000000ull | 0x2000, 0x7f0000001010ull };
	struct pcc_heap h;
	index_copy(&h, addrs, 5);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_int_eq(h.complete, false);
	ck_assert_uint_eq(h.warnings.len, 2);
	ck_assert_uint_eq(pcc_heap_find(&h, 0x7f0000001000ull), 0);
	ck_assert_uint_eq(pcc_heap_find(&h, 0x7f0000001010ull), 1);
	ck_assert_uint_eq(pcc_heap_find(&h, 0x40), UINT32_MAX);
	heap_free(&h);
}
END_TEST

static int u64_order(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Addresses as heaps have them: kind 0, 16-byte aligned in one region;
 * 1, in the brk region and in arenas 2^47 away, with duplicates; 2, any
 * 8-byte aligned value (a hostile heap: one granule per address); 3, two
 * values only, far apart; 4, distinct and dense in two regions, as real
 * heaps are (the bitmap sort); 5, the same with one duplicate late (the
 * bitmap sort gives up half-way). */
static uint64_t sample_address(int kind, uint32_t i, uint32_t n)
{
	uint64_t slots = 4;
	while (slots < 4 * (uint64_t)n)
		slots *= 2;
	if (kind == 5 && n > 2 && i == n - 2)
		i = 1;
	switch (kind) {
	case 4:
	case 5:
		/* An odd multiplier permutes the slots: distinct for i < slots. */
		return (i & 1 ? 0x55d000000000ull : 0x7f3000000000ull)
		       + ((uint64_t)i * 2654435761u % slots) * 16;
	case 0:
		return 0x7f0000000000ull + (rng() % (1ull << 28)) * 16;
	case 1:
		if (i % 97 == 0)
			return 0x55d000001000ull; /* the same address, often */
		return (rng() & 1 ? 0x55d000000000ull : 0x7f3000000000ull)
		       + (rng() % (1ull << 30)) * 16 + (rng() % 4) * (1ull << 33);
	case 2:
		return (rng() & ((1ull << 48) - 1)) & ~7ull;
	default:
		return i & 1 ? 0x1000 : 0xfffffffffff8ull;
	}
}

START_TEST(test_sort_addresses)
{
	static const uint32_t sizes[] = { 2, 3, 1000, 70000, 300001 };
	static const unsigned threads[] = { 1, 2, 3, 8 };
	for (int kind = 0; kind < 6; kind++)
		for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
			uint32_t n = sizes[z];
			uint64_t *in = malloc(n * sizeof(uint64_t));
			uint64_t *want = malloc(n * sizeof(uint64_t));
			uint64_t *got = malloc(n * sizeof(uint64_t));
			ck_assert(in && want && got);
			for (uint32_t i = 0; i < n; i++)
				in[i] = sample_address(kind, i, n);
			memcpy(want, in, n * sizeof(uint64_t));
			qsort(want, n, sizeof(uint64_t), u64_order);
			for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
				memcpy(got, in, n * sizeof(uint64_t));
				struct pcc_sorted_addresses info =
					pcc_sort_addresses(got, n, threads[t]);
				ck_assert_msg(memcmp(got, want, n * sizeof(uint64_t)) == 0,
					      "kind %d, %u addresses, %u threads",
					      kind, n, threads[t]);
				/* What it says of them is so. */
				uint64_t all = 0;
				bool repeat = false;
				for (uint32_t i = 0; i < n; i++) {
					all |= want[i];
					repeat |= i && want[i] == want[i - 1];
				}
				ck_assert_uint_eq(info.low_zeros,
						  all ? (unsigned)__builtin_ctzll(all) : 64);
				ck_assert(info.may_repeat || !repeat);
			}
			free(in);
			free(want);
			free(got);
		}
	/* All equal, and one: nothing to do, but to say so. */
	uint64_t same[3] = { 0x5000, 0x5000, 0x5000 }, one = 0x9000;
	struct pcc_sorted_addresses s3 = pcc_sort_addresses(same, 3, 2);
	struct pcc_sorted_addresses s1 = pcc_sort_addresses(&one, 1, 2);
	uint64_t far[2] = { UINT64_C(3) << 40, UINT64_C(1) << 40 };
	struct pcc_sorted_addresses s2 = pcc_sort_addresses(far, 2, 1);
	ck_assert_uint_eq(far[0], UINT64_C(1) << 40);
	ck_assert_uint_eq(s2.low_zeros, 40); /* beyond a granule's bits */
	ck_assert_uint_eq(same[0] + same[1] + same[2], 3 * 0x5000);
	ck_assert_uint_eq(one, 0x9000);
	ck_assert(s3.may_repeat);
	ck_assert_uint_eq(s3.low_zeros, 12);
	ck_assert(!s1.may_repeat);
	ck_assert_uint_eq(s1.low_zeros, 12);
}
END_TEST

START_TEST(test_empty)
{
	struct pcc_heap h;
	index_copy(&h, NULL, 0);
	ck_assert_uint_eq(h.n, 0);
	ck_assert_uint_eq(pcc_heap_find(&h, 0x7f0000001000ull), UINT32_MAX);
	ck_assert_uint_eq(pcc_heap_find(&h, 1), UINT32_MAX);
	heap_free(&h);
}
END_TEST

/* Owner i's references in the edge-cache tests: a few, anywhere, with
 * one owner whose references take more than an owner may keep. */
enum { EC_N = 3000, EC_BIG = 1234 };

static uint32_t ec_refs(uint32_t i, uint32_t *out)
{
	if (i == EC_BIG) {
		for (uint32_t k = 0; k < 300; k++)
			out[k] = (i * 7 + k * 977) % EC_N;
		return 300;
	}
	uint32_t n = (uint32_t)((i * 2654435761u) >> 29); /* 0..7 */
	for (uint32_t k = 0; k < n; k++)
		out[k] = k % 2 ? (i + k) % EC_N /* near */
			       : (uint32_t)((i * 40503u + k * 7919u) % EC_N);
	return n;
}

static void ec_fill(struct pcc_edge_cache *c, unsigned shares)
{
	for (unsigned s = 0; s < shares; s++) {
		uint32_t begin, end, refs[300];
		pcc_edge_cache_range(s, shares, EC_N, &begin, &end);
		struct pcc_edge_cache_writer w;
		pcc_edge_cache_writer_init(&w, c, s, shares, begin);
		for (uint32_t i = begin; i < end; i++) {
			uint32_t n = ec_refs(i, refs);
			for (uint32_t k = 0; k < n; k++)
				pcc_edge_cache_add(&w, i, refs[k]);
		}
		pcc_edge_cache_writer_finish(&w, end);
		pcc_edge_cache_writer_count(c, &w);
	}
}

/* How many owners' references read back wrong: each kept one exactly,
 * in order; *kept counts those kept. */
static uint32_t ec_wrong(const struct pcc_edge_cache *c, uint32_t *kept)
{
	uint32_t wrong = 0, refs[300];
	*kept = 0;
	for (uint32_t i = 0; i < EC_N; i++) {
		uint32_t n = ec_refs(i, refs);
		const uint8_t *p, *end;
		if (!pcc_edge_cache_find(c, i, &p, &end))
			continue;
		++*kept;
		uint32_t k = 0;
		while (p < end && k < n)
			wrong += pcc_edge_cache_next(&p, i) != refs[k++];
		wrong += p != end || k != n;
	}
	return wrong;
}

START_TEST(test_edge_cache_round_trip)
{
	unsigned shares = (unsigned)_i + 1;
	struct pcc_edge_cache c;
	pcc_edge_cache_init(&c, EC_N, 8);
	ec_fill(&c, shares);
	uint32_t kept, with_refs = 0, refs[300];
	ck_assert_uint_eq(ec_wrong(&c, &kept), 0);
	for (uint32_t i = 0; i < EC_N; i++)
		with_refs += i != EC_BIG && ec_refs(i, refs) > 0;
	/* All kept but the big one, which is left out, and said. */
	ck_assert_uint_eq(kept, with_refs);
	ck_assert_uint_eq(c.left_out, 1);
	const uint8_t *p, *end;
	ck_assert(!pcc_edge_cache_find(&c, EC_BIG, &p, &end));
	pcc_edge_cache_free(&c);
}
END_TEST

START_TEST(test_edge_cache_full)
{
	/* A byte per object for seven references at most: once full, the
	 * owners are left out, and those kept still read back exactly. */
	struct pcc_edge_cache c;
	pcc_edge_cache_init(&c, EC_N, 1);
	ec_fill(&c, 2);
	uint32_t kept;
	ck_assert_uint_eq(ec_wrong(&c, &kept), 0);
	ck_assert_uint_gt(kept, 100);
	ck_assert_uint_gt(c.left_out, 100);
	ck_assert_uint_le(c.used, c.cap);
	pcc_edge_cache_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("heap");
	TCase *tc = tcase_create("index");
	tcase_add_test(tc, test_find_random_heap);
	tcase_add_test(tc, test_regions);
	tcase_add_test(tc, test_big_sizes);
	tcase_add_test(tc, test_find_index_threads);
	tcase_add_test(tc, test_dense_run_and_the_rest);
	tcase_add_test(tc, test_page_edges);
	tcase_add_test(tc, test_corruption_dropped);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_sort_addresses);
	suite_add_tcase(s, tc);
	TCase *cache = tcase_create("edge cache");
	tcase_add_loop_test(cache, test_edge_cache_round_trip, 0, 3);
	tcase_add_test(cache, test_edge_cache_full);
	suite_add_tcase(s, cache);
	return pcc_run_suite(s);
}
