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

static struct mock_heap m;

static void setup(void)
{
	mock_heap_init(&m);
}

static void teardown(void)
{
	mock_heap_deinit(&m);
}

static void run(struct pcc_analysis *a)
{
	struct pcc_analysis_options o = {
		.max_objects = 1000000,
		.same_path_threshold = 10,
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
	for (uint32_t i = 0; i < h->n; i++) {
		const struct pcc_type_info *ti = pcc_heap_type(h, i);
		ck_assert_ptr_nonnull(ti);
		ck_assert_uint_lt(ti->id, m.py->types_len);
		ck_assert_ptr_eq(pcc_python_type_by_id(m.py, ti->id), ti);
		ck_assert_uint_eq(ti->addr, h->addrs[i] == a ? m.list_type
							     : m.tuple_type);
	}
	ck_assert_ptr_null(pcc_python_type_by_id(m.py, PCC_NO_TYPE));
	pcc_analysis_deinit(&an);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("analysis");
	TCase *tc = tcase_create("mock heap");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cycle_is_garbage_and_rooted_cycle_is_not);
	tcase_add_test(tc, test_garbage_hanging_off_a_cycle);
	tcase_add_test(tc, test_unreadable_referent_keeps_nothing_alive_falsely);
	tcase_add_test(tc, test_unreadable_type_is_named_and_alive);
	tcase_add_test(tc, test_type_ids_are_dense_and_per_object);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
