/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/cpython/traverse.c, object family by object family, on
 * objects built in mock memory with 3.11's layout: what each traversal
 * visits, in which order, with which label, and what it must leave out --
 * checked against what the type's own tp_traverse visits (Objects/
 * dictobject.c dict_traverse, setobject.c set_traverse, typeobject.c
 * subtype_traverse, frameobject.c frame_traverse, Modules/_io).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/run.h"
#include "cpython/traverse.h"
#include "mock_heap.h"
#include "run_suite.h"

enum {
	MOCK_FN_DICT = 0xd1c7,
	MOCK_FN_SET = 0x5e7,
	MOCK_FN_SUBTYPE = 0x5b7e,
	MOCK_FN_FILEIO = 0xf11e,
	MOCK_FN_BUFFERED = 0xb0ff,
	MOCK_FN_FRAME = 0xf4a3e,
	/* _PyInterpreterFrame.owner (3.11) */
	FRAME_OWNED_BY_THREAD = 0,
	FRAME_OWNED_BY_FRAME_OBJECT = 2,
	/* 3.11's dict: ob_refcnt, ob_type, ma_used, ma_version_tag,
	 * ma_keys, ma_values; its keys: dk_refcnt, dk_log2_size,
	 * dk_log2_index_bytes, dk_kind, dk_version, dk_usable, dk_nentries,
	 * then the indices and the entries. */
	DICT_SIZE = 48,
	DICT_KEYS_GENERAL = 0,
	DICT_KEYS_UNICODE = 1,
	DICT_KEYS_SPLIT = 2,
	TPFLAGS_MANAGED_DICT = 1 << 4,
	MAX_SEEN = 16,
};

static struct mock_heap m;
static uint64_t dict_type, set_type;

struct seen {
	uint64_t ref[MAX_SEEN];
	struct pcc_edge edge[MAX_SEEN];
	int n;
};

static bool collect(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	struct seen *s = ctx;
	ck_assert_int_lt(s->n, MAX_SEEN);
	s->ref[s->n] = ref;
	s->edge[s->n++] = *e;
	return false;
}

static void no_flush(struct pcc_referents *r)
{
	(void)r;
	ck_abort_msg("a mock object has more references than the buffer holds");
}

/* The hot passes' buffered references (pcc_python_referents: the type's
 * program when it has one) must be the visit's, in its order, with the
 * same partial; programs_run counts the objects whose type had one. */
static int programs_run;

static void check_buffered_agrees(uint64_t obj, const struct seen *s, bool partial)
{
	static struct pcc_referents r;
	r.len = 0;
	r.flush = no_flush;
	bool buffered_partial = !partial;
	struct pcc_type_info *ti = pcc_python_type_of(m.py, obj);
	pcc_python_referents(m.py, obj, ti, false, &r, &buffered_partial, NULL);
	if (ti && ti->program.ready)
		programs_run++;
	ck_assert_int_eq(buffered_partial, partial);
	ck_assert_int_eq((int)r.len, s->n);
	for (int i = 0; i < s->n; i++)
		ck_assert_uint_eq(r.addrs[i], s->ref[i]);
}

static struct seen traverse(uint64_t obj, bool *partial)
{
	struct seen s = { .n = 0 };
	bool p = false;
	pcc_python_traverse(m.py, obj, collect, &s, true, &p);
	check_buffered_agrees(obj, &s, p);
	if (partial)
		*partial = p;
	return s;
}

static void setup(void)
{
	programs_run = 0;
	mock_heap_init(&m);
	struct pcc_python *py = m.py;
	py->traverse_fn[PCC_KIND_DICT] = MOCK_FN_DICT;
	py->traverse_fn[PCC_KIND_SET] = MOCK_FN_SET;
	py->traverse_fn[PCC_KIND_FILEIO] = MOCK_FN_FILEIO;
	py->traverse_fn[PCC_KIND_BUFFERED] = MOCK_FN_BUFFERED;
	py->traverse_fn[PCC_KIND_FRAME] = MOCK_FN_FRAME;
	py->subtype_traverse = MOCK_FN_SUBTYPE;
	dict_type = mock_type(&m, "dict", PCC_TPFLAGS_HAVE_GC, MOCK_FN_DICT);
	set_type = mock_type(&m, "set", PCC_TPFLAGS_HAVE_GC, MOCK_FN_SET);
}

static void teardown(void)
{
	mock_heap_deinit(&m);
}

static void put8(uint64_t addr, uint8_t v)
{
	m.mem[addr - MOCK_BASE] = v;
}

/* A keys object of 8 slots (1-byte indices) with the entries given: n
 * (key, value) pairs, in the layout of kind. */
static uint64_t mock_keys(int kind, const uint64_t (*kv)[2], int n)
{
	const struct pcc_layout *l = &m.py->l;
	bool general = kind == DICT_KEYS_GENERAL;
	uint64_t esize = (uint64_t)(general ? l->off[PCC_L_DKE_SIZE]
					    : l->off[PCC_L_DKUE_SIZE]);
	uint64_t indices = (uint64_t)l->off[PCC_L_DK_INDICES];
	uint64_t keys = mock_alloc(&m, indices + 8 + 8 * esize);
	put8(keys + l->off[PCC_L_DK_LOG2_SIZE], 3);
	put8(keys + l->off[PCC_L_DK_LOG2_INDEX_BYTES], 3);
	put8(keys + l->off[PCC_L_DK_KIND], (uint8_t)kind);
	mock_put(&m, keys + l->off[PCC_L_DK_NENTRIES], (uint64_t)n);
	uint64_t entries = keys + indices + 8;
	for (int i = 0; i < n; i++) {
		uint64_t e = entries + (uint64_t)i * esize;
		mock_put(&m, e + (general ? l->off[PCC_L_DKE_KEY] : l->off[PCC_L_DKUE_KEY]),
			 kv[i][0]);
		mock_put(&m, e + (general ? l->off[PCC_L_DKE_VALUE]
					  : l->off[PCC_L_DKUE_VALUE]),
			 kv[i][1]);
	}
	return keys;
}

static uint64_t mock_dict(uint64_t keys, uint64_t values)
{
	const struct pcc_layout *l = &m.py->l;
	uint64_t d = mock_object(&m, dict_type, 1, DICT_SIZE);
	mock_put(&m, d + l->off[PCC_L_DICT_KEYS], keys);
	mock_put(&m, d + l->off[PCC_L_DICT_VALUES], values);
	return d;
}

START_TEST(test_dict_general_visits_keys_and_values)
{
	/* dict_traverse on a general table: each live entry's value, then
	 * its key; an entry whose value is NULL (deleted) is skipped. */
	uint64_t k1 = mock_list(&m, 1, NULL, 0), v1 = mock_list(&m, 1, NULL, 0);
	uint64_t k2 = mock_list(&m, 1, NULL, 0), v3 = mock_list(&m, 1, NULL, 0);
	uint64_t k3 = mock_list(&m, 1, NULL, 0);
	uint64_t keys = mock_keys(DICT_KEYS_GENERAL,
				  (const uint64_t[][2]){ { k1, v1 }, { k2, 0 }, { k3, v3 } }, 3);
	bool partial = true;
	struct seen s = traverse(mock_dict(keys, 0), &partial);
	ck_assert(!partial);
	ck_assert_int_eq(programs_run, 1); /* dict has a program */
	ck_assert_int_eq(s.n, 4);
	uint64_t want[] = { v1, k1, v3, k3 };
	enum pcc_edge_label labels[] = { PCC_EDGE_DICT_VALUE, PCC_EDGE_DICT_KEY,
					 PCC_EDGE_DICT_VALUE, PCC_EDGE_DICT_KEY };
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_eq(s.ref[i], want[i]);
		ck_assert_int_eq(s.edge[i].label, labels[i]);
		ck_assert_uint_eq(s.edge[i].key, i < 2 ? k1 : k3);
	}
}
END_TEST

START_TEST(test_dict_unicode_visits_values_only)
{
	/* Keys of a str-only table are never visited (they cannot be in a
	 * cycle): a tracked object there keeps its reference. */
	uint64_t k = mock_list(&m, 1, NULL, 0), v = mock_list(&m, 1, NULL, 0);
	uint64_t keys = mock_keys(DICT_KEYS_UNICODE, (const uint64_t[][2]){ { k, v } }, 1);
	struct seen s = traverse(mock_dict(keys, 0), NULL);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.ref[0], v);
	ck_assert_int_eq(s.edge[0].label, PCC_EDGE_DICT_VALUE);
	ck_assert_uint_eq(s.edge[0].key, k);
}
END_TEST

START_TEST(test_dict_split_visits_its_values_array)
{
	/* A split table's values live in the dict's own array, as many as
	 * the shared keys have entries; NULL values are skipped, and the
	 * shared keys' own values (none) are not read. */
	uint64_t k1 = mock_list(&m, 1, NULL, 0), k2 = mock_list(&m, 1, NULL, 0);
	uint64_t v2 = mock_list(&m, 1, NULL, 0);
	uint64_t keys = mock_keys(DICT_KEYS_SPLIT,
				  (const uint64_t[][2]){ { k1, 0 }, { k2, 0 } }, 2);
	uint64_t values = mock_alloc(&m, 16);
	mock_put(&m, values + 8, v2);
	struct seen s = traverse(mock_dict(keys, values), NULL);
	ck_assert_int_eq(programs_run, 1);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.ref[0], v2);
	ck_assert_uint_eq(s.edge[0].key, k2);
	ck_assert_int_eq(s.edge[0].index, 1);
}
END_TEST

START_TEST(test_dict_with_unreadable_keys_is_partial)
{
	bool partial = false;
	struct seen s = traverse(mock_dict(0x7000000000ull, 0), &partial);
	ck_assert_int_eq(s.n, 0);
	ck_assert(partial);
}
END_TEST

START_TEST(test_set_skips_empty_and_dummy_entries)
{
	/* set_traverse: every entry with a key but the dummy. */
	const struct pcc_layout *l = &m.py->l;
	uint64_t dummy = mock_list(&m, 1000, NULL, 0);
	m.py->set_dummy = dummy;
	uint64_t a = mock_list(&m, 1, NULL, 0), b = mock_list(&m, 1, NULL, 0);
	uint64_t esize = (uint64_t)l->off[PCC_L_SETENTRY_SIZE];
	uint64_t table = mock_alloc(&m, 4 * esize);
	uint64_t keys[] = { a, 0, dummy, b };
	for (int i = 0; i < 4; i++)
		mock_put(&m, table + i * esize + l->off[PCC_L_SETENTRY_KEY], keys[i]);
	uint64_t set = mock_object(&m, set_type, 1, 200);
	mock_put(&m, set + l->off[PCC_L_SET_MASK], 3);
	mock_put(&m, set + l->off[PCC_L_SET_TABLE], table);
	struct seen s = traverse(set, NULL);
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(s.ref[0], a);
	ck_assert_uint_eq(s.ref[1], b);
}
END_TEST

/* A Python class (heap type) with a managed dict, whose base is object. */
static uint64_t mock_class(uint64_t cached_keys)
{
	const struct pcc_layout *l = &m.py->l;
	uint64_t object = mock_type(&m, "object", 0, 0);
	uint64_t cls = mock_type(&m, "Record",
				 PCC_TPFLAGS_HAVE_GC | PCC_TPFLAGS_HEAPTYPE
					 | TPFLAGS_MANAGED_DICT,
				 MOCK_FN_SUBTYPE);
	mock_put(&m, cls + MOCK_TP_BASE, object);
	mock_put(&m, cls + MOCK_TP_BASICSIZE, 16);
	mock_put(&m, cls + MOCK_TP_DICTOFFSET, (uint64_t)-1);
	mock_put(&m, cls + l->off[PCC_L_HT_CACHED_KEYS], cached_keys);
	return cls;
}

/* An instance of cls with 3.11's pre-header (values, then dict) before
 * its GC head: the object is at the returned address. */
static uint64_t mock_instance(uint64_t cls, uint64_t values, uint64_t dict)
{
	uint64_t pre = mock_alloc(&m, 16 + MOCK_GC_HEAD + 16);
	uint64_t node = pre + 16, obj = node + MOCK_GC_HEAD;
	mock_put(&m, pre, values);
	mock_put(&m, pre + 8, dict);
	mock_put(&m, obj + MOCK_OB_REFCNT, 1);
	mock_put(&m, obj + MOCK_OB_TYPE, cls);
	mock_track(&m, 0, node);
	return obj;
}

START_TEST(test_instance_inline_values_then_its_class)
{
	/* 3.11 subtype_traverse: the values array, sized by the class's
	 * cached keys and labelled with their names, then the class (a heap
	 * type visits its instances' type from 3.9). */
	uint64_t n1 = mock_list(&m, 1, NULL, 0), n2 = mock_list(&m, 1, NULL, 0);
	uint64_t keys = mock_keys(DICT_KEYS_SPLIT,
				  (const uint64_t[][2]){ { n1, 0 }, { n2, 0 } }, 2);
	uint64_t cls = mock_class(keys);
	uint64_t a = mock_list(&m, 1, NULL, 0), b = mock_list(&m, 1, NULL, 0);
	uint64_t values = mock_alloc(&m, 16);
	mock_put(&m, values, a);
	mock_put(&m, values + 8, b);
	bool partial = true;
	struct seen s = traverse(mock_instance(cls, values, 0), &partial);
	ck_assert_int_eq(programs_run, 1); /* and a class of managed dicts */
	ck_assert(!partial);
	ck_assert_int_eq(s.n, 3);
	ck_assert_uint_eq(s.ref[0], a);
	ck_assert_int_eq(s.edge[0].label, PCC_EDGE_ATTR);
	ck_assert_uint_eq(s.edge[0].key, n1);
	ck_assert_uint_eq(s.ref[1], b);
	ck_assert_uint_eq(s.edge[1].key, n2);
	ck_assert_uint_eq(s.ref[2], cls);
	ck_assert_int_eq(s.edge[2].label, PCC_EDGE_TYPE);
}
END_TEST

/* The references of obj through the hot passes' buffer, r shared from
 * one object to the next as in a pass; the count, *partial as said. */
static uint32_t buffered(struct pcc_referents *r, uint64_t obj, bool *partial)
{
	r->len = 0;
	pcc_python_referents(m.py, obj, pcc_python_type_of(m.py, obj), true, r,
			     partial, NULL);
	return r->len;
}

static void drop_flush(struct pcc_referents *r)
{
	r->len = 0;
}

START_TEST(test_class_keys_read_once_and_told_each_time)
{
	/* A thread keeps the class keys it read last: instances of two
	 * classes in turn each get their own class's names and values, and
	 * a class whose keys cannot be read leaves each instance partial. */
	uint64_t n1 = mock_list(&m, 1, NULL, 0), n2 = mock_list(&m, 1, NULL, 0);
	uint64_t two = mock_keys(DICT_KEYS_SPLIT,
				 (const uint64_t[][2]){ { n1, 0 }, { n2, 0 } }, 2);
	uint64_t one = mock_keys(DICT_KEYS_SPLIT,
				 (const uint64_t[][2]){ { n1, 0 } }, 1);
	uint64_t a = mock_class(two), b = mock_class(one);
	uint64_t c = mock_class(0x10); /* unreadable */
	uint64_t values = mock_alloc(&m, 16);
	mock_put(&m, values, n1);
	mock_put(&m, values + 8, n2);
	uint64_t objs[] = { mock_instance(a, values, 0), mock_instance(b, values, 0),
			    mock_instance(a, values, 0), mock_instance(c, values, 0),
			    mock_instance(c, values, 0) };
	/* The values, then the class; none read for c. */
	const uint32_t want[] = { 3, 2, 3, 1, 1 };
	const bool want_partial[] = { false, false, false, true, true };
	struct pcc_referents *r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	r->flush = drop_flush;
	for (int i = 0; i < 5; i++) {
		bool partial = !want_partial[i];
		ck_assert_uint_eq(buffered(r, objs[i], &partial), want[i]);
		ck_assert_int_eq(partial, want_partial[i]);
	}
	free(r);
}
END_TEST

START_TEST(test_instance_managed_dict)
{
	/* Once the attributes moved to a dict, the dict is visited. */
	uint64_t cls = mock_class(0);
	uint64_t d = mock_dict(mock_keys(DICT_KEYS_UNICODE, NULL, 0), 0);
	struct seen s = traverse(mock_instance(cls, 0, d), NULL);
	ck_assert_int_eq(programs_run, 1);
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(s.ref[0], d);
	ck_assert_int_eq(s.edge[0].label, PCC_EDGE_DICT);
	ck_assert_uint_eq(s.ref[1], cls);
}
END_TEST

START_TEST(test_io_objects_visit_their_members)
{
	/* FileIO visits its __dict__; a buffered object its raw stream, then
	 * its __dict__. */
	const struct pcc_layout *l = &m.py->l;
	uint64_t fileio_type = mock_type(&m, "_io.FileIO", PCC_TPFLAGS_HAVE_GC,
					 MOCK_FN_FILEIO);
	uint64_t buffered_type = mock_type(&m, "_io.BufferedWriter",
					   PCC_TPFLAGS_HAVE_GC, MOCK_FN_BUFFERED);
	uint64_t d1 = mock_list(&m, 1, NULL, 0), d2 = mock_list(&m, 1, NULL, 0);
	uint64_t raw = mock_object(&m, fileio_type, 1, 64);
	mock_put(&m, raw + l->off[PCC_L_FILEIO_DICT], d1);
	uint64_t buf = mock_object(&m, buffered_type, 1, 160);
	mock_put(&m, buf + l->off[PCC_L_BUFFERED_RAW], raw);
	mock_put(&m, buf + l->off[PCC_L_BUFFERED_DICT], d2);
	struct seen s = traverse(raw, NULL);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.ref[0], d1);
	ck_assert_str_eq(s.edge[0].name, "__dict__");
	s = traverse(buf, NULL);
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(s.ref[0], raw);
	ck_assert_str_eq(s.edge[0].name, "raw");
	ck_assert_uint_eq(s.ref[1], d2);
}
END_TEST

/* A 3.11 frame object whose interpreter frame follows it, with owner,
 * three fast locals and stacktop, and a word after them (3.14's stack
 * pointer: mock_frame_314). */
static uint64_t mock_frame(uint8_t owner, const uint64_t *slots, uint32_t stacktop,
			   uint64_t *back, uint64_t *func, uint64_t *locals)
{
	const struct pcc_layout *l = &m.py->l;
	uint64_t frame_type = mock_type(&m, "frame", PCC_TPFLAGS_HAVE_GC,
					MOCK_FN_FRAME);
	uint64_t f = mock_object(&m, frame_type, 1, 64 + 72 + 4 * 8);
	uint64_t iframe = f + 64;
	*back = mock_list(&m, 1, NULL, 0);
	*func = mock_list(&m, 1, NULL, 0);
	*locals = mock_list(&m, 1, NULL, 0);
	mock_put(&m, f + l->lists[PCC_LL_FRAME_NEW].offset[0], *back);
	mock_put(&m, f + l->off[PCC_L_FRAME_FRAME], iframe);
	put8(iframe + l->off[PCC_L_IFRAME_OWNER], owner);
	mock_put(&m, iframe + l->off[PCC_L_IFRAME_FUNC], *func);
	mock_put(&m, iframe + l->off[PCC_L_IFRAME_LOCALS], *locals);
	mock_put(&m, iframe + l->off[PCC_L_IFRAME_FRAME_OBJ], f);
	uint32_t top = stacktop;
	memcpy(m.mem + (iframe + l->off[PCC_L_IFRAME_STACKTOP] - MOCK_BASE), &top, 4);
	for (int i = 0; i < 3; i++)
		mock_put(&m, iframe + l->off[PCC_L_IFRAME_LOCALSPLUS] + 8 * i, slots[i]);
	return f;
}

START_TEST(test_frame_owned_by_its_object_visits_the_frame)
{
	/* A frame that outlived its call owns its interpreter frame: frame_
	 * traverse visits f_back, then _PyFrame_Traverse the frame object,
	 * f_locals, f_func and the live slots below stacktop only. */
	uint64_t a = mock_list(&m, 1, NULL, 0), b = mock_list(&m, 1, NULL, 0);
	uint64_t dead = mock_list(&m, 1, NULL, 0);
	uint64_t back, func, locals;
	uint64_t f = mock_frame(FRAME_OWNED_BY_FRAME_OBJECT,
				(const uint64_t[]){ a, 0, b }, 3, &back, &func, &locals);
	(void)dead;
	struct seen s = traverse(f, NULL);
	uint64_t want[] = { back, f, locals, func, a, b };
	ck_assert_int_eq(s.n, 6);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(s.ref[i], want[i]);
	ck_assert_int_eq(s.edge[4].label, PCC_EDGE_LOCAL);
	ck_assert_int_eq(s.edge[5].index, 2);

	/* Slots at and above stacktop are not live. */
	f = mock_frame(FRAME_OWNED_BY_FRAME_OBJECT, (const uint64_t[]){ a, dead, dead },
		       1, &back, &func, &locals);
	s = traverse(f, NULL);
	ck_assert_int_eq(s.n, 5);
	ck_assert_uint_eq(s.ref[4], a);
}
END_TEST

START_TEST(test_frame_of_a_running_call_visits_its_members_only)
{
	/* While the call runs, the thread owns the interpreter frame and the
	 * frame object visits only its own members. */
	uint64_t a = mock_list(&m, 1, NULL, 0);
	uint64_t back, func, locals;
	uint64_t f = mock_frame(FRAME_OWNED_BY_THREAD, (const uint64_t[]){ a, 0, 0 },
				1, &back, &func, &locals);
	struct seen s = traverse(f, NULL);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.ref[0], back);
	ck_assert_str_eq(s.edge[0].name, "f_back");
}
END_TEST

/* 3.14's frames: a stack pointer instead of stacktop, and tagged stack
 * references (_PyStackRef) in f_func, f_code and localsplus.  The mock
 * frame's three slots end where the stack pointer is kept. */
static uint64_t mock_frame_314(const uint64_t *slots, uint32_t nslots)
{
	struct pcc_layout *l = &m.py->l;
	l->off[PCC_L_IFRAME_STACKPOINTER] = l->off[PCC_L_IFRAME_LOCALSPLUS] + 3 * 8;
	uint64_t back, func, locals;
	uint64_t f = mock_frame(FRAME_OWNED_BY_FRAME_OBJECT, slots, 0, &back, &func, &locals);
	uint64_t iframe = f + 64;
	mock_put(&m, iframe + l->off[PCC_L_IFRAME_STACKPOINTER],
		 iframe + l->off[PCC_L_IFRAME_LOCALSPLUS] + 8 * nslots);
	/* Nothing else tracked: f_back, f_func, f_locals, frame_obj. */
	mock_put(&m, f + l->lists[PCC_LL_FRAME_NEW].offset[0], 0);
	mock_put(&m, iframe + l->off[PCC_L_IFRAME_FUNC], 0);
	mock_put(&m, iframe + l->off[PCC_L_IFRAME_LOCALS], 0);
	mock_put(&m, iframe + l->off[PCC_L_IFRAME_FRAME_OBJ], 0);
	return f;
}


START_TEST(test_borrowed_stack_reference_is_left_out_and_said)
{
	/* The refcount pass counts owned stack references only, as
	 * _PyGC_VisitStackRef does; that it left one out is said, so that the
	 * marking pass, which follows them all, traverses the frame. */
	uint64_t a = mock_list(&m, 1, NULL, 0), b = mock_list(&m, 1, NULL, 0);
	uint64_t f = mock_frame_314((const uint64_t[]){ a, b | 1, 0 }, 3);
	struct pcc_referents *r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	r->flush = drop_flush;
	for (int owned_only = 0; owned_only < 2; owned_only++) {
		r->len = 0;
		r->omitted = false;
		pcc_python_referents(m.py, f, pcc_python_type_of(m.py, f), owned_only, r,
				     NULL, NULL);
		ck_assert_uint_eq(r->len, owned_only ? 1 : 2);
		ck_assert_uint_eq(r->addrs[0], a);
		if (!owned_only)
			ck_assert_uint_eq(r->addrs[1], b);
		ck_assert(r->omitted == (owned_only == 1));
	}
	free(r);
}
END_TEST

START_TEST(test_borrowed_stack_reference_keeps_its_referent_alive)
{
	/* A frame held from outside whose one other tracked referent is borrowed:
	 * x, in a cycle with y, is kept by the cycle's references only, so
	 * both have no references left from outside; marking follows the
	 * borrowed reference, as CPython's does, and finds them alive. */
	uint64_t x = mock_list(&m, 1, (uint64_t[]){ 0 }, 1);
	uint64_t y = mock_list(&m, 1, (uint64_t[]){ x }, 1);
	mock_list_set(&m, x, 0, y);
	/* And one reference it owns, which the reference pass finds: the
	 * marking pass must not take that for all the frame refers to. */
	uint64_t z = mock_list(&m, 1, NULL, 0);
	mock_frame_314((const uint64_t[]){ x | 1, z, 0 }, 2);
	struct pcc_analysis_options o = {
		.max_objects = 1000, .same_path_threshold = 10, .threads = 1 + (unsigned)_i,
	};
	struct pcc_analysis an;
	pcc_analysis_run(&an, m.py, &o, NULL, NULL);
	ck_assert_uint_eq(an.result.nunreachable, 0);
	ck_assert(an.result.complete);
	pcc_analysis_deinit(&an);
}
END_TEST

/* What the buffer handed over, flush after flush. */
static uint64_t flushed[PCC_REFERENTS_CAP + 100];
static uint32_t nflushed, nflushes;

static void record_flush(struct pcc_referents *r)
{
	for (uint32_t k = 0; k < r->len; k++) {
		ck_assert_uint_eq(r->owners[k], 7);
		flushed[nflushed++] = r->addrs[k];
	}
	nflushes++;
	r->len = 0;
}

START_TEST(test_referents_buffer_matches_the_visitor)
{
	/* The hot passes' form gives the same references as the visitor, the
	 * owner beside each, and flushes when the buffer is full. */
	enum { N = PCC_REFERENTS_CAP + 100 };
	uint64_t *items = calloc(N, sizeof(uint64_t));
	ck_assert_ptr_nonnull(items);
	for (int i = 0; i < N; i++)
		items[i] = MOCK_BASE + 0x800000 + 16 * (uint64_t)i;
	items[5] = 0; /* a NULL item is no reference */
	uint64_t list = mock_list(&m, 1, items, N);
	struct pcc_referents *r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	r->flush = record_flush;
	r->owner = 7;
	nflushed = nflushes = 0;
	bool partial = true;
	enum pcc_is_gc is_gc = PCC_IS_GC_NO;
	enum pcc_kind kind = pcc_python_referents(m.py, list,
						  pcc_python_type_of(m.py, list),
						  false, r, &partial, &is_gc);
	ck_assert_int_eq(kind, PCC_KIND_LIST);
	ck_assert(!partial);
	ck_assert_int_eq(is_gc, PCC_IS_GC_YES);
	ck_assert_uint_eq(nflushes, 1); /* the buffer filled once */
	record_flush(r);
	ck_assert_uint_eq(nflushed, N - 1);
	for (uint32_t i = 0, k = 0; i < N; i++)
		if (items[i])
			ck_assert_uint_eq(flushed[k++], items[i]);
	free(r);
	free(items);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("traverse");
	TCase *tc = tcase_create("object families");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_dict_general_visits_keys_and_values);
	tcase_add_test(tc, test_dict_unicode_visits_values_only);
	tcase_add_test(tc, test_dict_split_visits_its_values_array);
	tcase_add_test(tc, test_dict_with_unreadable_keys_is_partial);
	tcase_add_test(tc, test_set_skips_empty_and_dummy_entries);
	tcase_add_test(tc, test_instance_inline_values_then_its_class);
	tcase_add_test(tc, test_class_keys_read_once_and_told_each_time);
	tcase_add_test(tc, test_instance_managed_dict);
	tcase_add_test(tc, test_io_objects_visit_their_members);
	tcase_add_test(tc, test_frame_owned_by_its_object_visits_the_frame);
	tcase_add_test(tc, test_frame_of_a_running_call_visits_its_members_only);
	tcase_add_test(tc, test_borrowed_stack_reference_is_left_out_and_said);
	tcase_add_loop_test(tc, test_borrowed_stack_reference_keeps_its_referent_alive, 0, 3);
	tcase_add_test(tc, test_referents_buffer_matches_the_visitor);
	suite_add_tcase(s, tc);
	return pcc_run_suite(s);
}
