/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/analysis/ on heaps built in mock memory: the phases of
 * run.c from the generation lists to the results the reports render.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/run.h"
#include "mock_heap.h"
#include "run_suite.h"

static struct mock_heap m;

static void setup(void)
{
	mock_heap_init(&m);
}

static void teardown(void)
{
	mock_heap_deinit(&m);
}

/* Every test runs with 1, 2 and 3 threads (its loop index + 1): the
 * result may not depend on how many there are. */
#define run(a) run_threads((a), 1 + (unsigned)_i)

static void run_threads(struct pcc_analysis *a, unsigned threads)
{
	struct pcc_analysis_options o = {
		.max_objects = 1000000,
		.same_path_threshold = 10,
		.threads = threads,
	};
	pcc_analysis_run(a, m.py, &o, NULL, NULL);
}

static bool unreachable_has(const struct pcc_result *r, uint64_t addr)
{
	for (uint32_t i = 0; i < r->nunreachable; i++)
		if (r->unreachable[i].addr == addr)
			return true;
	return false;
}

START_TEST(test_cycle_is_garbage_and_rooted_cycle_is_not)
{
	/* a <-> b, referenced only by each other: garbage.  c <-> d with one
	 * reference more on c than the cycle explains: a root. */
	uint64_t a = mock_list(&m, 1, (uint64_t[]){ 0 }, 1);
	uint64_t b = mock_list(&m, 1, (uint64_t[]){ a }, 1);
	mock_list_set(&m, a, 0, b);
	uint64_t c = mock_list(&m, 2, (uint64_t[]){ 0 }, 1);
	uint64_t d = mock_list(&m, 1, (uint64_t[]){ c }, 1);
	mock_list_set(&m, c, 0, d);

	struct pcc_analysis an;
	run(&an);
	const struct pcc_result *r = &an.result;
	ck_assert_uint_eq(r->tracked, 4);
	ck_assert_uint_eq(r->nunreachable, 2);
	ck_assert(unreachable_has(r, a));
	ck_assert(unreachable_has(r, b));
	ck_assert_uint_eq(r->ngroups, 1);
	const struct pcc_result_group *g = &r->groups[0];
	ck_assert_uint_eq(g->cycles, 1);
	ck_assert_uint_eq(g->objects, 2);
	ck_assert_uint_eq(g->loop_len, 2);
	for (uint32_t i = 0; i < g->loop_len; i++) {
		ck_assert_str_eq(g->loop[i].type, "list");
		ck_assert_str_eq(g->loop[i].edge, "[0]");
		ck_assert(g->loop[i].addr == a || g->loop[i].addr == b);
	}
	ck_assert_uint_eq(g->types.len, 1);
	ck_assert_str_eq(g->types.data[0].type, "list");
	ck_assert_uint_eq(g->types.data[0].count, 2);
	ck_assert_uint_eq(r->type_histogram.len, 1);
	ck_assert_uint_eq(r->type_histogram.data[0].count, 4);
	ck_assert(r->complete);
	ck_assert_str_eq(r->origin.core_path, "mock.core");
	ck_assert_str_eq(r->origin.python_version, "3.11.0 (mock)");
	pcc_analysis_deinit(&an);
}
END_TEST

/* An object the collector does not track: on no list, though of a GC
 * type it has a GC head (as an untracked tuple has). */
static uint64_t untracked(uint64_t type, uint64_t size)
{
	uint64_t obj = mock_alloc(&m, MOCK_GC_HEAD + size) + MOCK_GC_HEAD;
	mock_put(&m, obj + MOCK_OB_REFCNT, 1);
	mock_put(&m, obj + MOCK_OB_TYPE, type);
	return obj;
}

static const struct pcc_result_type_total *total_of(const struct pcc_result *r,
						     const char *type)
{
	for (size_t i = 0; i < r->type_histogram.len; i++)
		if (strcmp(r->type_histogram.data[i].type, type) == 0)
			return &r->type_histogram.data[i];
	ck_abort_msg("no %s in the type histogram", type);
	return NULL;
}

START_TEST(test_memory_graph_follows_untracked_containers)
{
	/* A tracked list holds an untracked tuple and a blob (of a type that
	 * is no GC type); the tuple holds that blob again and another one:
	 * each is counted once, and what the tuple holds is found through
	 * it.  A list in the permanent generation is a tracked node too. */
	uint64_t blob_type = mock_type(&m, "blob", 0, 0);
	uint64_t b1 = untracked(blob_type, 16), b2 = untracked(blob_type, 16);
	uint64_t t = untracked(m.tuple_type, 24 + 16);
	mock_put(&m, t + MOCK_OB_SIZE, 2);
	mock_put(&m, t + MOCK_TUPLE_ITEMS, b1);
	mock_put(&m, t + MOCK_TUPLE_ITEMS + 8, b2);
	uint64_t l = mock_list(&m, 1, (uint64_t[]){ t, b1 }, 2);
	uint64_t frozen_head = mock_alloc(&m, MOCK_GC_HEAD);
	mock_put(&m, frozen_head + MOCK_GC_NEXT, frozen_head);
	mock_put(&m, frozen_head + MOCK_GC_PREV, frozen_head);
	m.py->gcs.data[0].permanent_head = frozen_head;
	uint64_t f = mock_alloc(&m, MOCK_GC_HEAD + 40);
	mock_put(&m, frozen_head + MOCK_GC_NEXT, f);
	mock_put(&m, frozen_head + MOCK_GC_PREV, f);
	mock_put(&m, f + MOCK_GC_NEXT, frozen_head);
	mock_put(&m, f + MOCK_GC_PREV, frozen_head);
	f += MOCK_GC_HEAD;
	mock_put(&m, f + MOCK_OB_REFCNT, 1);
	mock_put(&m, f + MOCK_OB_TYPE, m.list_type);
	(void)l;

	struct pcc_analysis an;
	run(&an);
	const struct pcc_result *r = &an.result;
	ck_assert_uint_eq(r->tracked, 2);
	ck_assert_uint_eq(r->objects, 5);
	const struct pcc_result_type_total *lists = total_of(r, "list");
	ck_assert_uint_eq(lists->count, 2);
	ck_assert_uint_eq(lists->tracked, 2);
	const struct pcc_result_type_total *tuples = total_of(r, "tuple");
	ck_assert_uint_eq(tuples->count, 1);
	ck_assert_uint_eq(tuples->tracked, 0);
	const struct pcc_result_type_total *blobs = total_of(r, "blob");
	ck_assert_uint_eq(blobs->count, 2);
	ck_assert_uint_eq(blobs->tracked, 0);
	ck_assert_uint_eq(blobs->bytes, 2 * 32);
	uint64_t bytes = 0;
	for (size_t i = 0; i < r->type_histogram.len; i++)
		bytes += r->type_histogram.data[i].bytes;
	ck_assert_uint_eq(r->bytes, bytes);
	pcc_analysis_deinit(&an);
}
END_TEST

START_TEST(test_garbage_hanging_off_a_cycle)
{
	/* e is referenced only from the garbage cycle: garbage too, in the
	 * group's objects, but not in its loop. */
	uint64_t e = mock_list(&m, 1, NULL, 0);
	uint64_t a = mock_list(&m, 1, (uint64_t[]){ 0, e }, 2);
	uint64_t b = mock_list(&m, 1, (uint64_t[]){ a }, 1);
	mock_list_set(&m, a, 0, b);
	struct pcc_analysis an;
	run(&an);
	const struct pcc_result *r = &an.result;
	ck_assert_uint_eq(r->nunreachable, 3);
	ck_assert(unreachable_has(r, e));
	ck_assert_uint_eq(r->ngroups, 1);
	ck_assert_uint_eq(r->groups[0].objects, 3);
	ck_assert_uint_eq(r->groups[0].loop_len, 2);
	pcc_analysis_deinit(&an);
}
END_TEST

START_TEST(test_unreadable_referent_keeps_nothing_alive_falsely)
{
	/* A self-cycle whose list array lies outside readable memory: the
	 * traversal cannot subtract, so the object is held, never garbage. */
	uint64_t a = mock_list(&m, 1, NULL, 0);
	mock_put(&m, a + MOCK_OB_SIZE, 1);
	mock_put(&m, a + MOCK_LIST_ITEMS, 0x7000000000);
	struct pcc_analysis an;
	run(&an);
	ck_assert_uint_eq(an.result.nunreachable, 0);
	pcc_analysis_deinit(&an);
}
END_TEST

START_TEST(test_unreadable_type_is_named_and_alive)
{
	/* An object whose ob_type points nowhere: counted, named, alive. */
	uint64_t a = mock_list(&m, 1, NULL, 0);
	uint64_t b = mock_list(&m, 1, (uint64_t[]){ a }, 1);
	mock_put(&m, a + MOCK_OB_TYPE, 0x7000000000);
	struct pcc_analysis an;
	run(&an);
	const struct pcc_result *r = &an.result;
	ck_assert_uint_eq(r->nunreachable, 0);
	ck_assert_uint_eq(r->type_histogram.len, 2);
	bool named = false;
	for (size_t i = 0; i < r->type_histogram.len; i++)
		named |= strstr(r->type_histogram.data[i].type, "0x7000000000") != NULL;
	ck_assert(named);
	(void)b;
	pcc_analysis_deinit(&an);
}
END_TEST

START_TEST(test_type_ids_are_dense_and_per_object)
{
	uint64_t a = mock_list(&m, 1, NULL, 0);
	uint64_t t = mock_object(&m, m.tuple_type, 1, 32);
	mock_put(&m, t + MOCK_OB_SIZE, 0);
	struct pcc_analysis an;
	run(&an);
	const struct pcc_heap *h = &an.heap;
	ck_assert_uint_eq(h->n, 2);
	ck_assert_ptr_nonnull(h->narrow_type_ids); /* few types: 16 bits */
	for (uint32_t i = 0; i < h->n; i++) {
		const struct pcc_type_info *ti = pcc_heap_type(h, i);
		ck_assert_ptr_nonnull(ti);
		ck_assert_uint_lt(ti->id, m.py->types_len);
		ck_assert_ptr_eq(pcc_python_type_by_id(m.py, ti->id), ti);
		ck_assert_uint_eq(ti->addr, pcc_heap_addr(h, i) == a ? m.list_type
							     : m.tuple_type);
	}
	ck_assert_ptr_null(pcc_python_type_by_id(m.py, PCC_NO_TYPE));
	pcc_analysis_deinit(&an);
}
END_TEST

START_TEST(test_more_types_than_16_bits_hold)
{
	/* Type ids are kept in 16 bits until a heap has more types than
	 * that: each object of 65,600 types, one each, still gets its own,
	 * whether its type was described before the threads read the headers
	 * (every 512th object) or after. */
	enum { NTYPES = 65600 };
	uint64_t *types = malloc(NTYPES * sizeof(uint64_t));
	uint64_t *objs = malloc(NTYPES * sizeof(uint64_t));
	ck_assert(types && objs);
	for (uint32_t i = 0; i < NTYPES; i++) {
		types[i] = mock_type(&m, "T", PCC_TPFLAGS_HAVE_GC, MOCK_FN_LIST);
		objs[i] = mock_object(&m, types[i], 1, 40);
	}
	struct pcc_analysis an;
	run(&an);
	const struct pcc_heap *h = &an.heap;
	ck_assert_uint_eq(h->n, NTYPES);
	ck_assert_ptr_null(h->narrow_type_ids);
	for (uint32_t i = 0; i < h->n; i++) {
		/* Objects and their types are allocated in the same order. */
		const struct pcc_type_info *ti = pcc_heap_type(h, i);
		ck_assert_ptr_nonnull(ti);
		ck_assert_uint_eq(pcc_heap_addr(h, i), objs[i]);
		ck_assert_uint_eq(ti->addr, types[i]);
	}
	pcc_analysis_deinit(&an);
	free(types);
	free(objs);
}
END_TEST

START_TEST(test_watched_objects_get_their_referrers)
{
	/* The reference pass writes down who refers to a watched object, and
	 * to nothing else: 300 lists, every one referring to the next; two
	 * watched, far apart (in different groups of the quick look). */
	enum { N = 300 };
	uint64_t lists[N];
	for (int i = N - 1; i >= 0; i--)
		lists[i] = mock_list(&m, 2, i + 1 < N ? &lists[i + 1] : NULL,
				     i + 1 < N ? 1 : 0);
	struct pcc_heap h;
	pcc_heap_build(&h, m.py, 1000000, false, 1 + (unsigned)_i);
	ck_assert_uint_eq(h.n, N);
	uint64_t watch[] = { lists[7], lists[250] };
	pcc_heap_watch(&h, watch, 2);
	pcc_heap_find_unreachable(&h);
	for (int w = 0; w < 2; w++) {
		const uint64_t *r = pcc_heap_referrers(&h, watch[w]);
		ck_assert_ptr_nonnull(r);
		uint64_t want = watch[w] == lists[7] ? lists[6] : lists[249];
		ck_assert_uint_eq(r[0], want);
		ck_assert_uint_eq(r[1], 0);
	}
	ck_assert_ptr_null(pcc_heap_referrers(&h, lists[100]));
	pcc_heap_deinit(&h);
}
END_TEST

START_TEST(test_lists_of_every_small_length)
{
	/* The walk goes from both ends: odd and even lengths, and none. */
	uint32_t len = (uint32_t)_i;
	for (uint32_t i = 0; i < len; i++)
		mock_list(&m, 1, NULL, 0);
	struct pcc_analysis an;
	run_threads(&an, 1);
	ck_assert_uint_eq(an.result.tracked, len);
	ck_assert(an.result.complete);
	ck_assert_uint_eq(an.result.warnings.len, 0);
	pcc_analysis_deinit(&an);
}
END_TEST

START_TEST(test_broken_list_keeps_objects_before_the_break)
{
	/* Object _i of five does not link back: the objects before it, from
	 * the head, are analysed, and the break is named. */
	uint64_t obj[5];
	for (uint32_t i = 0; i < 5; i++)
		obj[i] = mock_list(&m, 1, NULL, 0);
	mock_put(&m, obj[_i] - MOCK_GC_HEAD + MOCK_GC_PREV, 0x10000040);
	struct pcc_analysis an;
	run_threads(&an, 1);
	ck_assert_uint_eq(an.result.tracked, (uint32_t)_i);
	ck_assert(!an.result.complete);
	ck_assert_uint_eq(an.result.warnings.len, 1);
	ck_assert_ptr_nonnull(strstr(an.result.warnings.data[0], "prev mismatch"));
	pcc_analysis_deinit(&an);
}
END_TEST

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

START_TEST(test_random_heap_matches_plain_reachability)
{
	/* Lists referring to random others, a few held from outside.  The
	 * answer is reachability from those few, computed here the plain
	 * way; the analysis must find exactly the rest unreachable, whatever
	 * the threads.  Enough objects that the marking threads hand work to
	 * each other. */
	enum { N = 60000, MAX_OUT = 3, ROOT_EVERY = 997 };
	static uint64_t addr[N];
	static uint32_t out[N][MAX_OUT], nout[N], refcnt[N];
	static bool reached[N];
	static uint32_t stack[N];
	rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
	memset(refcnt, 0, sizeof(refcnt));
	for (uint32_t i = 0; i < N; i++) {
		nout[i] = (uint32_t)(rng() % (MAX_OUT + 1));
		for (uint32_t k = 0; k < nout[i]; k++) {
			/* Mostly near neighbours, as allocation makes them. */
			uint32_t j = rng() % 4 ? (uint32_t)((i + 1 + rng() % 8) % N)
					       : (uint32_t)(rng() % N);
			out[i][k] = j;
			refcnt[j]++;
		}
	}
	uint32_t len = 0;
	memset(reached, 0, sizeof(reached));
	for (uint32_t i = 0; i < N; i += ROOT_EVERY) {
		refcnt[i]++; /* held from outside */
		if (!reached[i]) {
			reached[i] = true;
			stack[len++] = i;
		}
	}
	while (len) {
		uint32_t x = stack[--len];
		for (uint32_t k = 0; k < nout[x]; k++)
			if (!reached[out[x][k]]) {
				reached[out[x][k]] = true;
				stack[len++] = out[x][k];
			}
	}
	uint32_t expected = 0;
	for (uint32_t i = 0; i < N; i++) {
		addr[i] = mock_list(&m, refcnt[i], (uint64_t[]){ 0, 0, 0 }, nout[i]);
		expected += !reached[i];
	}
	for (uint32_t i = 0; i < N; i++)
		for (uint32_t k = 0; k < nout[i]; k++)
			mock_list_set(&m, addr[i], k, addr[out[i][k]]);

	struct pcc_analysis an;
	run(&an);
	const struct pcc_result *r = &an.result;
	ck_assert_uint_eq(r->tracked, N);
	ck_assert_uint_eq(r->nunreachable, expected);
	/* Both in address order: the objects were allocated ascending. */
	for (uint32_t i = 0, u = 0; i < N; i++)
		if (!reached[i])
			ck_assert_uint_eq(r->unreachable[u++].addr, addr[i]);
	ck_assert_uint_eq(an.heap.negative_refs, 0);
	ck_assert(r->complete);
	pcc_analysis_deinit(&an);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("analysis");
	TCase *tc = tcase_create("mock heap");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_cycle_is_garbage_and_rooted_cycle_is_not, 0, 3);
	tcase_add_loop_test(tc, test_garbage_hanging_off_a_cycle, 0, 3);
	tcase_add_loop_test(tc, test_memory_graph_follows_untracked_containers, 0, 3);
	tcase_add_loop_test(tc, test_unreadable_referent_keeps_nothing_alive_falsely, 0, 3);
	tcase_add_loop_test(tc, test_unreadable_type_is_named_and_alive, 0, 3);
	tcase_add_loop_test(tc, test_type_ids_are_dense_and_per_object, 0, 3);
	tcase_add_test(tc, test_more_types_than_16_bits_hold);
	tcase_add_loop_test(tc, test_watched_objects_get_their_referrers, 0, 3);
	tcase_add_loop_test(tc, test_random_heap_matches_plain_reachability, 0, 3);
	tcase_add_loop_test(tc, test_lists_of_every_small_length, 0, 6);
	tcase_add_loop_test(tc, test_broken_list_keeps_objects_before_the_break, 0, 5);
	suite_add_tcase(s, tc);
	return pcc_run_suite(s);
}
