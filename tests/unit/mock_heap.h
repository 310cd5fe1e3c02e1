/* SPDX-License-Identifier: MIT */
/*
 * A CPython heap in mock memory, for unit tests of the engine without cores
 * or interpreters (as drgn's MockMemorySegment): one segment of host memory,
 * a 3.11-shaped layout, static types, and objects on generation lists that
 * the test builds and links by hand.
 */
#ifndef PCC_MOCK_HEAP_H
#define PCC_MOCK_HEAP_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/interpreter.h"
#include "cpython/layout_tables.h"
#include "cpython/python.h"
#include "cpython/types.h"

enum {
	MOCK_BASE = 0x10000000,
	MOCK_SIZE = 96 << 20, /* room for 2^16 types: calloc maps it lazily */
	/* 3.11 on x86-64: PyGC_Head, PyObject, PyVarObject, PyTypeObject. */
	MOCK_GC_HEAD = 16,
	MOCK_GC_NEXT = 0,
	MOCK_GC_PREV = 8,
	MOCK_OB_REFCNT = 0,
	MOCK_OB_TYPE = 8,
	MOCK_OB_SIZE = 16,
	MOCK_LIST_ITEMS = 24,
	MOCK_TUPLE_ITEMS = 24,
	MOCK_TP_NAME = 24,
	MOCK_TP_BASICSIZE = 32,
	MOCK_TP_ITEMSIZE = 40,
	MOCK_TP_FLAGS = 168,
	MOCK_TP_TRAVERSE = 184,
	MOCK_TP_BASE = 256,
	MOCK_TP_DICTOFFSET = 288,
	MOCK_TP_IS_GC = 328,
	MOCK_TYPE_SIZE = 1024, /* a heap type's too: 3.11's is 904 bytes */
	/* Made-up function addresses: only their identity matters. */
	MOCK_FN_LIST = 0x1157,
	MOCK_FN_TUPLE = 0x7091e,
	MOCK_FN_TYPE = 0x7e7e,
};

struct mock_heap {
	uint8_t *mem;
	uint64_t brk; /* next free address */
	struct pcc_target t;
	struct pcc_debuginfo di;
	struct pcc_python *py;
	uint64_t type_type, list_type, tuple_type;
	uint64_t heads[PCC_GENERATIONS]; /* list sentinels */
};

static inline void mock_put(struct mock_heap *m, uint64_t addr, uint64_t value)
{
	ck_assert(addr >= MOCK_BASE && addr + 8 <= MOCK_BASE + MOCK_SIZE);
	memcpy(m->mem + (addr - MOCK_BASE), &value, 8);
}

static inline uint64_t mock_get(struct mock_heap *m, uint64_t addr)
{
	uint64_t v;
	memcpy(&v, m->mem + (addr - MOCK_BASE), 8);
	return v;
}

static inline uint64_t mock_alloc(struct mock_heap *m, uint64_t size)
{
	uint64_t at = m->brk;
	m->brk += (size + 15) & ~(uint64_t)15;
	ck_assert(m->brk <= MOCK_BASE + MOCK_SIZE);
	return at;
}

static inline uint64_t mock_cstr(struct mock_heap *m, const char *s)
{
	uint64_t at = mock_alloc(m, strlen(s) + 1);
	memcpy(m->mem + (at - MOCK_BASE), s, strlen(s) + 1);
	return at;
}

/* A static type (not on any list) whose metatype is type_type. */
static inline uint64_t mock_type(struct mock_heap *m, const char *name,
				 uint64_t flags, uint64_t traverse)
{
	uint64_t t = mock_alloc(m, MOCK_TYPE_SIZE);
	mock_put(m, t + MOCK_OB_REFCNT, 1000);
	mock_put(m, t + MOCK_OB_TYPE, m->type_type ? m->type_type : t);
	mock_put(m, t + MOCK_TP_NAME, mock_cstr(m, name));
	mock_put(m, t + MOCK_TP_BASICSIZE, 32);
	mock_put(m, t + MOCK_TP_FLAGS, flags);
	mock_put(m, t + MOCK_TP_TRAVERSE, traverse);
	return t;
}

/* Link the PyGC_Head at node last on generation g's list. */
static inline void mock_track(struct mock_heap *m, int g, uint64_t node)
{
	uint64_t head = m->heads[g];
	uint64_t last = mock_get(m, head + MOCK_GC_PREV);
	mock_put(m, last + MOCK_GC_NEXT, node);
	mock_put(m, node + MOCK_GC_PREV, last);
	mock_put(m, node + MOCK_GC_NEXT, head);
	mock_put(m, head + MOCK_GC_PREV, node);
}

/* A tracked object of type with refcnt, size bytes after its GC head, on
 * generation 0's list. */
static inline uint64_t mock_object(struct mock_heap *m, uint64_t type,
				   uint64_t refcnt, uint64_t size)
{
	uint64_t node = mock_alloc(m, MOCK_GC_HEAD + size);
	uint64_t obj = node + MOCK_GC_HEAD;
	mock_put(m, obj + MOCK_OB_REFCNT, refcnt);
	mock_put(m, obj + MOCK_OB_TYPE, type);
	mock_track(m, 0, node);
	return obj;
}

/* A list holding n items (the array is not an object of its own). */
static inline uint64_t mock_list(struct mock_heap *m, uint64_t refcnt,
				 const uint64_t *items, uint64_t n)
{
	uint64_t obj = mock_object(m, m->list_type, refcnt, 40);
	uint64_t array = mock_alloc(m, 8 * (n ? n : 1));
	for (uint64_t i = 0; i < n; i++)
		mock_put(m, array + 8 * i, items[i]);
	mock_put(m, obj + MOCK_OB_SIZE, n);
	mock_put(m, obj + MOCK_LIST_ITEMS, array);
	return obj;
}

/* Set item i of a list made by mock_list. */
static inline void mock_list_set(struct mock_heap *m, uint64_t list,
				 uint64_t i, uint64_t item)
{
	mock_put(m, mock_get(m, list + MOCK_LIST_ITEMS) + 8 * i, item);
}

/* 3.11's layout on x86-64: the built-in table of 3.11.7, which the
 * MOCK_ offsets above agree with. */
static inline void mock_layout(struct pcc_python *py)
{
	const char *text = NULL;
	for (size_t i = 0; i < pcc_builtin_layouts_count; i++) {
		const struct pcc_builtin_layout *b = &pcc_builtin_layouts[i];
		if (b->major == 3 && b->minor == 11 && !b->debug_build)
			text = b->layout;
	}
	ck_assert_ptr_nonnull(text);
	ck_assert(pcc_layout_parse(text, &py->l));
	ck_assert_int_eq(py->l.off[PCC_L_LIST_ITEMS], MOCK_LIST_ITEMS);
	ck_assert_int_eq(py->l.off[PCC_L_TP_FLAGS], MOCK_TP_FLAGS);
	ck_assert_int_eq(py->l.off[PCC_L_TP_TRAVERSE], MOCK_TP_TRAVERSE);
	ck_assert_int_eq(py->l.off[PCC_L_TP_IS_GC], MOCK_TP_IS_GC);
	ck_assert_int_le(py->l.off[PCC_L_HEAPTYPE_SIZE], MOCK_TYPE_SIZE);
	py->off_refcnt = MOCK_OB_REFCNT;
	py->off_type = MOCK_OB_TYPE;
	py->off_size = MOCK_OB_SIZE;
	py->gc_head_size = MOCK_GC_HEAD;
}

static inline void mock_heap_init(struct mock_heap *m)
{
	memset(m, 0, sizeof(*m));
	m->mem = calloc(1, MOCK_SIZE);
	ck_assert_ptr_nonnull(m->mem);
	m->brk = MOCK_BASE + 4096; /* no object in the first page */
	struct pcc_segment *s = pcc_segment_vec_push(&m->t.segments);
	s->start = MOCK_BASE;
	s->end = MOCK_BASE + MOCK_SIZE;
	s->data = m->mem;
	s->source = PCC_SEGMENT_COPY;
	m->t.pid = 4242;
	m->t.core_path = strdup("mock.core");
	m->t.compression = "none";

	struct pcc_python *py = calloc(1, sizeof(*py));
	ck_assert_ptr_nonnull(py);
	m->py = py;
	py->t = &m->t;
	py->di = &m->di;
	py->major = 3;
	py->minor = 11;
	strcpy(py->version, "3.11.0 (mock)");
	py->traits = pcc_version_traits(3, 11);
	mock_layout(py);
	py->traverse_fn[PCC_KIND_LIST] = MOCK_FN_LIST;
	py->traverse_fn[PCC_KIND_TUPLE] = MOCK_FN_TUPLE;
	py->traverse_fn[PCC_KIND_TYPE] = MOCK_FN_TYPE;
	py->item_budget = UINT64_C(1) << 40;

	m->type_type = mock_type(m, "type", PCC_TPFLAGS_HAVE_GC, MOCK_FN_TYPE);
	py->type_type = m->type_type;
	m->list_type = mock_type(m, "list", PCC_TPFLAGS_HAVE_GC, MOCK_FN_LIST);
	m->tuple_type = mock_type(m, "tuple", PCC_TPFLAGS_HAVE_GC, MOCK_FN_TUPLE);

	struct pcc_gc_state *gs = pcc_gc_state_vec_push(&py->gcs);
	memset(gs, 0, sizeof(*gs));
	gs->enabled = 1;
	gs->thresholds[0] = 700;
	gs->thresholds[1] = gs->thresholds[2] = 10;
	gs->garbage_len = gs->callbacks_len = 0;
	for (int g = 0; g < PCC_GENERATIONS; g++) {
		uint64_t head = mock_alloc(m, MOCK_GC_HEAD);
		mock_put(m, head + MOCK_GC_NEXT, head);
		mock_put(m, head + MOCK_GC_PREV, head);
		m->heads[g] = gs->list_heads[g] = head;
	}
}

static inline void mock_heap_deinit(struct mock_heap *m)
{
	pcc_python_destroy(m->py);
	pcc_segment_vec_free(&m->t.segments);
	free(m->t.core_path);
	free(m->mem);
}

#endif
