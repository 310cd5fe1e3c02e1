/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/cpython/types.c on type objects built in mock memory:
 * the cached entries never move while the cache grows, a traversal visits
 * Py_TYPE(self) only where CPython's does, and tp_is_gc is respected.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/refcount.h"
#include "mock_heap.h"
#include "run_suite.h"

enum {
	BASE = 0x10000000,
	TYPE_SIZE = 1024,
	NTYPES = 4096,
};

/* Made-up function addresses: only their identity matters. */
enum {
	FN_DICT_TRAVERSE = 0xd1c7,
	FN_DEQUE_TRAVERSE = 0xde0e,
	FN_SUBTYPE_TRAVERSE = 0x5b7,
	FN_TYPE_TRAVERSE = 0x7e7e,
	FN_TYPE_IS_GC = 0x7150,
	FN_GREENLET_IS_GC = 0x6e6e,
	HEAP = PCC_TPFLAGS_HEAPTYPE,
	GC = PCC_TPFLAGS_HAVE_GC,
};

static uint8_t *mem;
static struct pcc_target target;
static struct pcc_python *py;

static uint64_t type_addr(int i)
{
	return BASE + (uint64_t)i * TYPE_SIZE;
}

static void put(uint64_t addr, uint64_t value)
{
	memcpy(mem + (addr - BASE), &value, 8);
}

/* Type i: a type object whose metatype is type 0 (PyType_Type). */
static uint64_t make_type(int i, uint64_t flags, uint64_t traverse,
			  uint64_t base, uint64_t is_gc)
{
	uint64_t t = type_addr(i);
	put(t + MOCK_OB_TYPE, type_addr(0));
	put(t + MOCK_TP_FLAGS, flags);
	put(t + MOCK_TP_TRAVERSE, traverse);
	put(t + MOCK_TP_BASE, base);
	put(t + MOCK_TP_IS_GC, is_gc);
	put(t + MOCK_TP_BASICSIZE, 48);
	return t;
}

static void setup(void)
{
	mem = calloc(NTYPES, TYPE_SIZE);
	ck_assert_ptr_nonnull(mem);
	memset(&target, 0, sizeof(target));
	struct pcc_segment *s = pcc_segment_vec_push(&target.segments);
	s->start = BASE;
	s->end = BASE + (uint64_t)NTYPES * TYPE_SIZE;
	s->data = mem;
	s->source = PCC_SEGMENT_COPY;

	py = calloc(1, sizeof(*py));
	ck_assert_ptr_nonnull(py);
	py->t = &target;
	mock_layout(py);
	py->traverse_fn[PCC_KIND_DICT] = FN_DICT_TRAVERSE;
	py->traverse_fn[PCC_KIND_DEQUE] = FN_DEQUE_TRAVERSE;
	py->traverse_fn[PCC_KIND_TYPE] = FN_TYPE_TRAVERSE;
	py->subtype_traverse = FN_SUBTYPE_TRAVERSE;
	/* 3.13: deque's traversal was written for a heap type. */
	py->heap_types_visit_self = true;
	py->kind_visits_heap_type[PCC_KIND_DEQUE] = true;
	/* PyType_Type is its own metatype; no symbol for it here. */
	make_type(0, GC, FN_TYPE_TRAVERSE, 0, FN_TYPE_IS_GC);
}

static void teardown(void)
{
	pcc_python_destroy(py);
	pcc_segment_vec_free(&target.segments);
	free(mem);
}

START_TEST(test_entries_never_move)
{
	/* A walk holds its object's entry while visitors describe new
	 * types: the cache grows several times under it. */
	uint64_t first = make_type(1, GC | HEAP, FN_DICT_TRAVERSE, 0, 0);
	struct pcc_type_info *ti = pcc_python_type(py, first);
	ck_assert_ptr_nonnull(ti);
	for (int i = 2; i < NTYPES; i++) {
		uint64_t t = make_type(i, GC, FN_DICT_TRAVERSE, 0, 0);
		ck_assert_uint_eq(pcc_python_type(py, t)->addr, t);
	}
	ck_assert_uint_eq(ti->addr, first);
	ck_assert_int_eq(ti->kind, PCC_KIND_DICT);
	ck_assert_ptr_eq(pcc_python_type(py, first), ti);
}
END_TEST

START_TEST(test_c_heap_type_inheriting_static_traversal)
{
	/* PyType_FromSpec with base dict: a heap type whose traversal is
	 * dict_traverse, which never visits Py_TYPE(self). */
	uint64_t cdict = make_type(1, GC | HEAP, FN_DICT_TRAVERSE, 0, 0);
	struct pcc_type_info *ti = pcc_python_type(py, cdict);
	ck_assert_int_eq(ti->kind, PCC_KIND_DICT);
	ck_assert(ti->heap);
	ck_assert(!ti->visit_type);

	/* deque as a heap type (3.13): its traversal visits the type, and
	 * so does a C type that inherits it. */
	uint64_t deque = make_type(2, GC | HEAP, FN_DEQUE_TRAVERSE, 0, 0);
	ck_assert(pcc_python_type(py, deque)->visit_type);
	uint64_t static_deque = make_type(3, GC, FN_DEQUE_TRAVERSE, 0, 0);
	ck_assert(!pcc_python_type(py, static_deque)->visit_type);

	/* A C metatype inheriting type_traverse. */
	uint64_t cmeta = make_type(4, GC | HEAP, FN_TYPE_TRAVERSE, 0, FN_TYPE_IS_GC);
	ck_assert(!pcc_python_type(py, cmeta)->visit_type);
}
END_TEST

START_TEST(test_python_subclasses)
{
	uint64_t dict = make_type(1, GC, FN_DICT_TRAVERSE, 0, 0);
	uint64_t cdict = make_type(2, GC | HEAP, FN_DICT_TRAVERSE, dict, 0);
	uint64_t deque = make_type(3, GC | HEAP, FN_DEQUE_TRAVERSE, 0, 0);

	/* class D(dict): subtype_traverse visits the type. */
	struct pcc_type_info *ti = pcc_python_type(
		py, make_type(4, GC | HEAP, FN_SUBTYPE_TRAVERSE, dict, 0));
	ck_assert_int_eq(ti->kind, PCC_KIND_INSTANCE);
	ck_assert_int_eq(ti->base_kind, PCC_KIND_DICT);
	ck_assert(ti->visit_type);
	ck_assert(!ti->base_visits_type);

	/* class S(CDict): subtype_traverse leaves the type to the heap base,
	 * whose dict_traverse does not visit it: nobody does. */
	ti = pcc_python_type(py, make_type(5, GC | HEAP, FN_SUBTYPE_TRAVERSE,
					   cdict, 0));
	ck_assert(!ti->visit_type);
	ck_assert(!ti->base_visits_type);

	/* class Q(deque) on 3.13: the heap base's traversal visits it. */
	ti = pcc_python_type(py, make_type(6, GC | HEAP, FN_SUBTYPE_TRAVERSE,
					   deque, 0));
	ck_assert(!ti->visit_type);
	ck_assert(ti->base_visits_type);
}
END_TEST

START_TEST(test_tp_is_gc)
{
	uint64_t plain = make_type(1, GC, FN_DICT_TRAVERSE, 0, 0);
	uint64_t not_gc = make_type(2, 0, 0, 0, 0);
	uint64_t greenlet = make_type(3, GC | HEAP, 0x1234, 0, FN_GREENLET_IS_GC);
	uint64_t heap_type = make_type(4, GC | HEAP, FN_TYPE_TRAVERSE, 0, FN_TYPE_IS_GC);
	uint64_t obj = type_addr(100);

	ck_assert_int_eq(pcc_python_is_gc(py, pcc_python_type(py, plain), obj),
			 PCC_IS_GC_YES);
	ck_assert_int_eq(pcc_python_is_gc(py, pcc_python_type(py, not_gc), obj),
			 PCC_IS_GC_NO);
	ck_assert_int_eq(pcc_python_is_gc(py, pcc_python_type(py, greenlet), obj),
			 PCC_IS_GC_UNDECIDED);
	/* type_is_gc: a type object is a GC object iff it is a heap type. */
	struct pcc_type_info *meta = pcc_python_type(py, type_addr(0));
	ck_assert_int_eq(pcc_python_is_gc(py, meta, heap_type), PCC_IS_GC_YES);
	ck_assert_int_eq(pcc_python_is_gc(py, meta, plain), PCC_IS_GC_NO);
	/* An unreadable object or type decides nothing. */
	ck_assert_int_eq(pcc_python_is_gc(py, meta, 0x8), PCC_IS_GC_UNDECIDED);
	ck_assert_int_eq(pcc_python_is_gc(py, NULL, obj), PCC_IS_GC_UNDECIDED);
}
END_TEST

START_TEST(test_refcnt_unreadable_is_not_zero)
{
	/* An object whose count cannot be read must not look unreferenced. */
	py->off_refcnt = 0;
	uint64_t obj = type_addr(10);
	put(obj, 3);
	ck_assert_int_eq(pcc_python_refcnt(py, obj), 3);
	ck_assert_int_eq(pcc_python_refcnt(py, BASE - 64), PCC_REFCNT_UNREADABLE);
	put(obj, UINT64_MAX - 5); /* no live object has 2^63 references */
	ck_assert_int_eq(pcc_python_refcnt(py, obj), PCC_REFCNT_UNREADABLE);
	/* 3.12+: bit 31 of the low word marks an immortal object. */
	py->immortal_refcnt = true;
	py->minor = 12;
	put(obj, 0xffffffffu);
	ck_assert_int_eq(pcc_python_refcnt(py, obj), PCC_REFCNT_IMMORTAL);
}
END_TEST

static Suite *types_suite(void)
{
	Suite *s = suite_create("types");
	TCase *tc = tcase_create("types");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_entries_never_move);
	tcase_add_test(tc, test_c_heap_type_inheriting_static_traversal);
	tcase_add_test(tc, test_python_subclasses);
	tcase_add_test(tc, test_tp_is_gc);
	tcase_add_test(tc, test_refcnt_unreadable_is_not_zero);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return pcc_run_suite(types_suite());
}
