/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/debuginfo/function_struct.c: the names of the members
 * an emulated traversal visits, read from DWARF.  The DWARF is this test's
 * own (it is built with -g): the traversal functions below stand for an
 * extension's, and the compiler's offsetof is the truth.
 */
#include "config.h"

#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debuginfo/debuginfo.h"
#include "run_suite.h"

/* CPython's shapes, as an extension sees them. */
struct _object {
	long ob_refcnt;
	void *ob_type;
};
typedef struct _object PyObject;
typedef int (*visitproc)(PyObject *, void *);

struct head {
	PyObject ob_base;
	PyObject *first;
	PyObject *second;
};

typedef struct {
	struct head base; /* an embedded "head", like FutureObj_HEAD */
	long counter;     /* not a pointer: never a referent */
	PyObject *callbacks;
	PyObject *const weak; /* qualified */
} ThingObject;

typedef struct {
	PyObject ob_base;
	PyObject *dict;
	PyObject *cache;
} CastObject;

/* The first parameter says which struct. */
/* Not static: the compiler keeps their signatures as they are written. */
int thing_traverse(ThingObject *self, visitproc visit, void *arg);
int cast_traverse(PyObject *op, visitproc visit, void *arg);
int opaque_traverse(void *op, visitproc visit, void *arg);

__attribute__((noinline)) int thing_traverse(ThingObject *self, visitproc visit,
					    void *arg)
{
	return visit(self->callbacks, arg) || visit(self->base.first, arg);
}

/* New style: PyObject *, and the cast in the body. */
__attribute__((noinline)) int cast_traverse(PyObject *op, visitproc visit, void *arg)
{
	if (op) {
		CastObject *self = (CastObject *)op;
		return visit(self->cache, arg);
	}
	return 0;
}

/* Nothing to go by. */
__attribute__((noinline)) int opaque_traverse(void *op, visitproc visit, void *arg)
{
	return visit((PyObject *)op, arg);
}

#define FN(f) ((uint64_t)(uintptr_t)&(f))

static Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

static struct pcc_debuginfo *self_debuginfo(void)
{
	struct pcc_debuginfo *di = calloc(1, sizeof(*di));
	ck_assert_ptr_nonnull(di);
	di->dwfl = dwfl_begin(&callbacks);
	ck_assert_ptr_nonnull(di->dwfl);
	ck_assert_int_eq(dwfl_linux_proc_report(di->dwfl, getpid()), 0);
	ck_assert_int_eq(dwfl_report_end(di->dwfl, NULL, NULL), 0);
	return di;
}

static void free_debuginfo(struct pcc_debuginfo *di)
{
	pcc_debuginfo_free_function_structs(di);
	dwfl_end(di->dwfl);
	free(di);
}

static void assert_member(struct pcc_debuginfo *di, uint64_t fn, size_t off,
			  const char *want)
{
	const char *got = pcc_debuginfo_function_struct_member(di, fn, (int64_t)off,
							       "_object", 16);
	if (want)
		ck_assert_pstr_eq(got, want);
	else
		ck_assert_ptr_null(got);
}

START_TEST(test_first_parameter)
{
	struct pcc_debuginfo *di = self_debuginfo();
	assert_member(di, FN(thing_traverse), offsetof(ThingObject, callbacks), "callbacks");
	assert_member(di, FN(thing_traverse), offsetof(ThingObject, weak), "weak");
	/* Inside the embedded head: its own member's name. */
	assert_member(di, FN(thing_traverse), offsetof(ThingObject, base.first), "first");
	assert_member(di, FN(thing_traverse), offsetof(ThingObject, base.second), "second");
	assert_member(di, FN(thing_traverse), offsetof(ThingObject, base.ob_base.ob_type),
		      "ob_type");
	/* Not a pointer, not a member's start, past the end. */
	assert_member(di, FN(thing_traverse), offsetof(ThingObject, counter), NULL);
	assert_member(di, FN(thing_traverse), offsetof(ThingObject, callbacks) + 4, NULL);
	assert_member(di, FN(thing_traverse), sizeof(ThingObject), NULL);
	assert_member(di, FN(thing_traverse), 1u << 20, NULL);
	/* Asked again: the same answer (from the cache). */
	assert_member(di, FN(thing_traverse), offsetof(ThingObject, callbacks), "callbacks");
	free_debuginfo(di);
}
END_TEST

START_TEST(test_cast_in_body)
{
	struct pcc_debuginfo *di = self_debuginfo();
	assert_member(di, FN(cast_traverse), offsetof(CastObject, cache), "cache");
	assert_member(di, FN(cast_traverse), offsetof(CastObject, dict), "dict");
	free_debuginfo(di);
}
END_TEST

START_TEST(test_nothing_to_go_by)
{
	struct pcc_debuginfo *di = self_debuginfo();
	assert_member(di, FN(opaque_traverse), 16, NULL);
	/* Not a function of any module; no address; a negative offset. */
	assert_member(di, 0x10, 16, NULL);
	assert_member(di, 0, 16, NULL);
	ck_assert_ptr_null(pcc_debuginfo_function_struct_member(
		di, FN(thing_traverse), -8, "_object", 16));
	free_debuginfo(di);
}
END_TEST

START_TEST(test_no_dwarf)
{
	struct pcc_debuginfo *di = self_debuginfo();
	di->ignore_dwarf = true;
	assert_member(di, FN(thing_traverse), offsetof(ThingObject, callbacks), NULL);
	di->ignore_dwarf = false;
	assert_member(di, FN(thing_traverse), offsetof(ThingObject, callbacks), "callbacks");
	free_debuginfo(di);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("function_struct");
	TCase *tc = tcase_create("dwarf");
	tcase_add_test(tc, test_first_parameter);
	tcase_add_test(tc, test_cast_in_body);
	tcase_add_test(tc, test_nothing_to_go_by);
	tcase_add_test(tc, test_no_dwarf);
	suite_add_tcase(s, tc);
	return pcc_run_suite(s);
}
