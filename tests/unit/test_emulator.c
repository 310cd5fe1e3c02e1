/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/memory/emulator.[ch] on a mock target: traversal
 * functions of tests/unit/emulator_code.S that behave and misbehave (loop
 * forever, make system calls, jump or read outside the core, write, use
 * instructions the emulator lacks, overwrite the emulator's bookkeeping,
 * visit without end), run between well-behaved ones.  Each bad call must
 * fail with its own reason, in bounded time, and leave the calls around it
 * with exactly their referents.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/emulator.h"
#include "run_suite.h"

extern const uint8_t pcc_emu_test_code[], pcc_emu_test_code_end[];

enum test_fn {
	VISIT_TWO, LOOP_FOREVER, DO_SYSCALL, JUMP_AWAY, WRITE_OBJ, INVALID,
	VISIT_MANY, CLOBBER, READ_UNMAPPED, RETURN_ERROR, CANARY, CORRUPT,
	EVEX,
};

enum {
	CODE_ADDR = 0x400000,
	DATA_ADDR = 0x600000,
	OBJ = DATA_ADDR + 0x100,
	REF_A = 0x1111,
	REF_B = 0x2222,
	PAGE = 4096,
};

static struct pcc_target target;
static uint8_t *code, *data;

static uint64_t fn(enum test_fn f)
{
	return CODE_ADDR + 64 * (uint64_t)f;
}

static void add_segment(uint64_t start, const uint8_t *bytes)
{
	struct pcc_segment *s = pcc_segment_vec_push(&target.segments);
	s->start = start;
	s->end = start + PAGE;
	s->data = bytes;
	s->source = PCC_SEGMENT_CORE;
}

static void setup(void)
{
	memset(&target, 0, sizeof(target));
	size_t len = (size_t)(pcc_emu_test_code_end - pcc_emu_test_code);
	ck_assert_uint_le(len, PAGE);
	code = aligned_alloc(PAGE, PAGE);
	data = aligned_alloc(PAGE, PAGE);
	ck_assert_ptr_nonnull(code);
	ck_assert_ptr_nonnull(data);
	memset(code, 0xcc, PAGE);
	memcpy(code, pcc_emu_test_code, len);
	memset(data, 0, PAGE);
	uint64_t a = REF_A, b = REF_B;
	memcpy(data + (OBJ - DATA_ADDR) + 16, &a, 8);
	memcpy(data + (OBJ - DATA_ADDR) + 24, &b, 8);
	add_segment(CODE_ADDR, code);
	add_segment(DATA_ADDR, data);
}

static void teardown(void)
{
	pcc_segment_vec_free(&target.segments);
	free(code);
	free(data);
}

struct result {
	uint64_t *refs;
	size_t n, cap;
};

static void run(struct pcc_emulator *e, struct pcc_emu_call *calls, size_t n,
		struct result *r)
{
	memset(r, 0, sizeof(*r));
	pcc_emulator_run(e, calls, n, &r->refs, &r->n, &r->cap);
}

static void assert_refs(const struct result *r, const struct pcc_emu_call *c,
			const uint64_t *want, uint32_t n)
{
	ck_assert_int_eq(c->status, PCC_EMU_OK);
	ck_assert_uint_eq(c->count, n);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_uint_eq(r->refs[c->first + i], want[i]);
}

static const uint64_t two[] = { REF_A, REF_B };

#ifdef HAVE_UNICORN

static struct pcc_emulator *new_emulator(void)
{
	char *why = NULL;
	struct pcc_emulator *e = pcc_emulator_new(&target, &why);
	ck_assert_msg(e != NULL, "no emulator: %s", why ? why : "?");
	return e;
}

START_TEST(test_failures_between_good_calls)
{
	static const struct {
		enum test_fn f;
		enum pcc_emu_status want;
	} bad[] = {
		{ LOOP_FOREVER, PCC_EMU_BUDGET },
		{ DO_SYSCALL, PCC_EMU_SYSCALL },
		{ JUMP_AWAY, PCC_EMU_FETCH_FAULT },
		{ WRITE_OBJ, PCC_EMU_WRITE },
		{ INVALID, PCC_EMU_INSTRUCTION },
		{ READ_UNMAPPED, PCC_EMU_READ_FAULT },
		{ RETURN_ERROR, PCC_EMU_RETURNED_ERROR },
		{ EVEX, PCC_EMU_INSTRUCTION },
	};
	enum { NBAD = sizeof(bad) / sizeof(bad[0]) };
	struct pcc_emu_call calls[2 * NBAD + 1];
	for (size_t i = 0; i < NBAD; i++) {
		calls[2 * i] = (struct pcc_emu_call){ .fn = fn(VISIT_TWO), .obj = OBJ };
		calls[2 * i + 1] = (struct pcc_emu_call){ .fn = fn(bad[i].f), .obj = OBJ };
	}
	calls[2 * NBAD] = (struct pcc_emu_call){ .fn = fn(VISIT_TWO), .obj = OBJ };
	struct pcc_emulator *e = new_emulator();
	struct result r;
	run(e, calls, 2 * NBAD + 1, &r);
	for (size_t i = 0; i <= NBAD; i++)
		assert_refs(&r, &calls[2 * i], two, 2);
	for (size_t i = 0; i < NBAD; i++)
		ck_assert_msg(calls[2 * i + 1].status == bad[i].want,
			      "function %d: status %s, expected %s", bad[i].f,
			      pcc_emu_status_text(calls[2 * i + 1].status),
			      pcc_emu_status_text(bad[i].want));
	ck_assert_uint_eq(calls[5].fault_addr, 0xdead0000);
	ck_assert_uint_eq(pcc_emulator_stats(e)->failed, NBAD);
	free(r.refs);
	pcc_emulator_destroy(e);
}
END_TEST

START_TEST(test_odd_but_correct_code)
{
	/* Callee-saved registers clobbered; the stack protector's canary read
	 * through %fs with no thread pointer in the core. */
	struct pcc_emu_call calls[] = {
		{ .fn = fn(CLOBBER), .obj = OBJ },
		{ .fn = fn(VISIT_TWO), .obj = OBJ },
		{ .fn = fn(CANARY), .obj = OBJ },
		{ .fn = fn(VISIT_TWO), .obj = OBJ },
	};
	struct pcc_emulator *e = new_emulator();
	struct result r;
	run(e, calls, 4, &r);
	assert_refs(&r, &calls[0], two, 1);
	assert_refs(&r, &calls[1], two, 2);
	assert_refs(&r, &calls[2], two, 1);
	assert_refs(&r, &calls[3], two, 2);
	free(r.refs);
	pcc_emulator_destroy(e);
}
END_TEST

START_TEST(test_overflow)
{
	/* More referents than the out buffer holds: the call is cut and
	 * failed, and calls after it run in a batch of their own. */
	struct pcc_emu_call calls[] = {
		{ .fn = fn(VISIT_TWO), .obj = OBJ },
		{ .fn = fn(VISIT_MANY), .obj = OBJ },
		{ .fn = fn(VISIT_TWO), .obj = OBJ },
	};
	struct pcc_emulator *e = new_emulator();
	struct result r;
	run(e, calls, 3, &r);
	assert_refs(&r, &calls[0], two, 2);
	ck_assert_int_eq(calls[1].status, PCC_EMU_OVERFLOW);
	ck_assert_uint_gt(calls[1].count, 100000);
	assert_refs(&r, &calls[2], two, 2);
	free(r.refs);
	pcc_emulator_destroy(e);
}
END_TEST

START_TEST(test_corrupt_bookkeeping)
{
	/* A call that finds the emulator's memory through its stack pointer
	 * and moves the out buffer's cursor: what it and the calls after it
	 * in its batch recorded cannot be believed; the next run can. */
	struct pcc_emu_call calls[] = {
		{ .fn = fn(VISIT_TWO), .obj = OBJ },
		{ .fn = fn(CORRUPT), .obj = OBJ },
		{ .fn = fn(VISIT_TWO), .obj = OBJ },
	};
	struct pcc_emulator *e = new_emulator();
	struct result r;
	run(e, calls, 3, &r);
	assert_refs(&r, &calls[0], two, 2);
	ck_assert_int_eq(calls[1].status, PCC_EMU_CORRUPT);
	ck_assert_int_eq(calls[2].status, PCC_EMU_CORRUPT);
	free(r.refs);
	struct pcc_emu_call again = { .fn = fn(VISIT_TWO), .obj = OBJ };
	run(e, &again, 1, &r);
	assert_refs(&r, &again, two, 2);
	free(r.refs);
	pcc_emulator_destroy(e);
}
END_TEST

START_TEST(test_many_batches)
{
	enum { N = 10000 };
	struct pcc_emu_call *calls = calloc(N, sizeof(*calls));
	ck_assert_ptr_nonnull(calls);
	for (size_t i = 0; i < N; i++)
		calls[i] = (struct pcc_emu_call){
			.fn = fn(i % 7 == 3 ? DO_SYSCALL : VISIT_TWO), .obj = OBJ
		};
	struct pcc_emulator *e = new_emulator();
	struct result r;
	run(e, calls, N, &r);
	/* One assertion at the end: check writes a record per assertion. */
	size_t wrong = 0;
	for (size_t i = 0; i < N; i++) {
		const struct pcc_emu_call *c = &calls[i];
		if (i % 7 == 3)
			wrong += c->status != PCC_EMU_SYSCALL;
		else
			wrong += c->status != PCC_EMU_OK || c->count != 2
				 || r.refs[c->first] != REF_A
				 || r.refs[c->first + 1] != REF_B;
	}
	ck_assert_uint_eq(wrong, 0);
	ck_assert_uint_eq(pcc_emulator_stats(e)->calls, N);
	free(r.refs);
	free(calls);
	pcc_emulator_destroy(e);
}
END_TEST

#else

START_TEST(test_unavailable)
{
	char *why = NULL;
	ck_assert(!pcc_emulator_built());
	ck_assert_ptr_null(pcc_emulator_new(&target, &why));
	ck_assert_ptr_nonnull(why);
	free(why);
	struct pcc_emu_call call = { .fn = fn(VISIT_TWO), .obj = OBJ };
	struct result r;
	run(NULL, &call, 1, &r);
	ck_assert_int_eq(call.status, PCC_EMU_UNAVAILABLE);
	(void)assert_refs, (void)two;
}
END_TEST

#endif

static Suite *emulator_suite(void)
{
	Suite *s = suite_create("emulator");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
#ifdef HAVE_UNICORN
	tcase_add_test(tc, test_failures_between_good_calls);
	tcase_add_test(tc, test_odd_but_correct_code);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_corrupt_bookkeeping);
	tcase_add_test(tc, test_many_batches);
#else
	tcase_add_test(tc, test_unavailable);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* Both drivers, whichever the engine at hand would choose: the one
	 * that stores to memory, and the one that writes to the port. */
	int failed = 0;
	for (int port = 0; port < 2; port++) {
		setenv("PCC_EMU_PORT", port ? "1" : "0", 1);
		printf("driver: %s\n", port ? "port" : "memory");
		failed += pcc_run_suite_failures(emulator_suite());
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
