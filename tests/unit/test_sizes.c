/* SPDX-License-Identifier: MIT */
/*
 * sys.getsizeof offline (cpython/object_size.c), on a mock 3.11 heap:
 * which __sizeof__ a type's MRO resolves to, and the bytes of each rule.
 */
#include "config.h"

#include "cpython/object_size.h"
#include "mock_heap.h"

enum {
	/* Py_TPFLAGS_MANAGED_DICT: two words of pre-header before the GC
	 * head, which getsizeof counts from 3.11. */
	TPFLAGS_MANAGED_DICT = 1u << 4,
	METHODDEF = 32,
	SET_SMALL = 8 * 16, /* the small table: 8 entries inside the object */
};

static struct mock_heap m;
static uint64_t object_type, set_type, frozenset_type, sizeof_name;

/* tp_methods of type: a PyMethodDef per name, then the terminator. */
static void mock_methods(uint64_t type, const char *const *names, int n)
{
	uint64_t defs = mock_alloc(&m, METHODDEF * (uint64_t)(n + 1));
	for (int i = 0; i < n; i++)
		mock_put(&m, defs + METHODDEF * (uint64_t)i,
			 strcmp(names[i], "__sizeof__") ? mock_cstr(&m, names[i])
							: sizeof_name);
	mock_put(&m, type + (uint64_t)m.py->l.off[PCC_L_TP_METHODS], defs);
}

/* type's tp_mro: type itself, then the others, as a tuple. */
static void mock_mro(uint64_t type, const uint64_t *bases, int n)
{
	uint64_t mro = mock_object(&m, m.tuple_type, 1, 24 + 8 * (uint64_t)(n + 1));
	mock_put(&m, mro + MOCK_OB_SIZE, (uint64_t)(n + 1));
	mock_put(&m, mro + MOCK_TUPLE_ITEMS, type);
	for (int i = 0; i < n; i++)
		mock_put(&m, mro + MOCK_TUPLE_ITEMS + 8 * (uint64_t)(i + 1), bases[i]);
	mock_put(&m, type + (uint64_t)m.py->l.off[PCC_L_TP_MRO], mro);
}

static const char *const with_sizeof[] = { "__reduce__", "__sizeof__" };
static const char *const without_sizeof[] = { "__reduce__", "count" };

static void setup(void)
{
	mock_heap_init(&m);
	struct pcc_python *py = m.py;
	sizeof_name = mock_cstr(&m, "__sizeof__");
	object_type = mock_type(&m, "object", 0, 0);
	set_type = mock_type(&m, "set", PCC_TPFLAGS_HAVE_GC, 0);
	frozenset_type = mock_type(&m, "frozenset", PCC_TPFLAGS_HAVE_GC, 0);
	uint64_t statics[] = { object_type, m.list_type, set_type, frozenset_type };
	for (size_t i = 0; i < sizeof(statics) / sizeof(statics[0]); i++)
		mock_methods(statics[i], with_sizeof, 2);
	mock_methods(m.tuple_type, without_sizeof, 2);
	mock_mro(object_type, NULL, 0);
	mock_mro(m.list_type, &object_type, 1);
	mock_mro(m.tuple_type, &object_type, 1);
	mock_mro(set_type, &object_type, 1);
	mock_mro(frozenset_type, &object_type, 1);
	mock_put(&m, m.list_type + MOCK_TP_BASICSIZE, 40);
	mock_put(&m, m.tuple_type + MOCK_TP_BASICSIZE, 24);
	mock_put(&m, m.tuple_type + MOCK_TP_ITEMSIZE, 8);
	mock_put(&m, set_type + MOCK_TP_BASICSIZE, 200);
	mock_put(&m, frozenset_type + MOCK_TP_BASICSIZE, 200);
	/* What the symbols give a real interpreter. */
	py->object_type = object_type;
	py->list_type = m.list_type;
	py->set_type = set_type;
	py->frozenset_type = frozenset_type;
}

static void teardown(void)
{
	mock_heap_deinit(&m);
}

/* obj's size as the heap pass computes it, its type resolved first. */
static uint64_t size_of(uint64_t obj, bool *exact)
{
	struct pcc_python *py = m.py;
	uint32_t id = pcc_python_type_id_of(py, obj);
	pcc_python_resolve_sizes(py);
	struct pcc_type_info *ti = pcc_python_type_by_id(py, id);
	ck_assert_ptr_nonnull(ti);
	*exact = ti->size_exact;
	return pcc_python_object_size(py, ti, obj);
}

START_TEST(test_list_by_allocation)
{
	uint64_t items[] = { 0x10, 0x20, 0x30 };
	uint64_t list = mock_list(&m, 1, items, 3);
	mock_put(&m, list + MOCK_LIST_ITEMS + 8, 7); /* allocated */
	bool exact;
	ck_assert_uint_eq(size_of(list, &exact), 40 + 7 * 8 + MOCK_GC_HEAD);
	ck_assert(exact);
	/* An allocation no target can hold: not counted. */
	mock_put(&m, list + MOCK_LIST_ITEMS + 8, UINT64_C(1) << 61);
	ck_assert_uint_eq(size_of(list, &exact), 40 + MOCK_GC_HEAD);
}
END_TEST

START_TEST(test_tuple_inherits_object_sizeof)
{
	/* tuple defines no __sizeof__: object's counts ob_size items. */
	uint64_t t = mock_object(&m, m.tuple_type, 1, 24 + 8 * 5);
	mock_put(&m, t + MOCK_OB_SIZE, 5);
	bool exact;
	ck_assert_uint_eq(size_of(t, &exact), 24 + 5 * 8 + MOCK_GC_HEAD);
	ck_assert(exact);
}
END_TEST

START_TEST(test_set_table_outside_only)
{
	bool exact;
	uint64_t small = mock_object(&m, set_type, 1, 200);
	mock_put(&m, small + (uint64_t)m.py->l.off[PCC_L_SET_MASK], 7);
	mock_put(&m, small + (uint64_t)m.py->l.off[PCC_L_SET_TABLE],
		 small + 200 - SET_SMALL);
	ck_assert_uint_eq(size_of(small, &exact), 200 + MOCK_GC_HEAD);
	ck_assert(exact);
	uint64_t big = mock_object(&m, frozenset_type, 1, 200);
	uint64_t table = mock_alloc(&m, 32 * 16);
	mock_put(&m, big + (uint64_t)m.py->l.off[PCC_L_SET_MASK], 31);
	mock_put(&m, big + (uint64_t)m.py->l.off[PCC_L_SET_TABLE], table);
	ck_assert_uint_eq(size_of(big, &exact), 200 + 32 * 16 + MOCK_GC_HEAD);
	ck_assert(exact);
}
END_TEST

START_TEST(test_python_subclass_with_preheader)
{
	/* class R(list) on 3.11: a managed dict, so two more words. */
	uint64_t cls = mock_type(&m, "R", PCC_TPFLAGS_HAVE_GC | PCC_TPFLAGS_HEAPTYPE
					       | TPFLAGS_MANAGED_DICT,
				 MOCK_FN_LIST);
	mock_put(&m, cls + MOCK_TP_BASICSIZE, 48);
	mock_put(&m, cls + MOCK_TP_BASE, m.list_type);
	uint64_t bases[] = { m.list_type, object_type };
	mock_mro(cls, bases, 2);
	/* Its dict cannot be read: whether it defines __sizeof__ is not
	 * known, and its sizes are its struct's, a lower bound. */
	uint64_t r = mock_object(&m, cls, 1, 48);
	mock_put(&m, r + MOCK_LIST_ITEMS + 8, 4);
	bool exact;
	ck_assert_uint_eq(size_of(r, &exact), 48 + MOCK_GC_HEAD + 16);
	ck_assert(!exact);
}
END_TEST

/* An object of ob_size items of a static type of an extension, with
 * these two methods, whose base is object. */
static uint64_t ext_object(const char *name, const char *const *methods,
			   uint64_t items)
{
	uint64_t ext = mock_type(&m, name, PCC_TPFLAGS_HAVE_GC, 0);
	mock_put(&m, ext + MOCK_TP_ITEMSIZE, 8);
	mock_methods(ext, methods, 2);
	mock_mro(ext, &object_type, 1);
	uint64_t obj = mock_object(&m, ext, 1, 32 + 8 * items);
	mock_put(&m, obj + MOCK_OB_SIZE, items);
	return obj;
}

START_TEST(test_extension_sizeof_is_a_lower_bound)
{
	/* A static type of an extension with a __sizeof__ of its own, and
	 * one whose MRO cannot be read: their structs, flagged. */
	uint64_t b = ext_object("ext.Buffer", with_sizeof, 100);
	bool exact;
	ck_assert_uint_eq(size_of(b, &exact), 32 + MOCK_GC_HEAD);
	ck_assert(!exact);

	uint64_t lost = mock_type(&m, "ext.Lost", PCC_TPFLAGS_HAVE_GC, 0);
	mock_put(&m, lost + (uint64_t)m.py->l.off[PCC_L_TP_MRO], 0x7);
	ck_assert_uint_eq(size_of(mock_object(&m, lost, 1, 32), &exact),
			  32 + MOCK_GC_HEAD);
	ck_assert(!exact);

	/* The same type without the method: object's, exact. */
	uint64_t p = ext_object("ext.Plain", without_sizeof, 3);
	ck_assert_uint_eq(size_of(p, &exact), 32 + 3 * 8 + MOCK_GC_HEAD);
	ck_assert(exact);
}
END_TEST

static void put_u8(uint64_t addr, uint8_t v)
{
	m.mem[addr - MOCK_BASE] = v;
}

/* A 3.11 keys object of 8 slots (1-byte indices) of kind 1 (unicode). */
static uint64_t mock_keys(uint64_t refcnt, uint64_t nentries, uint64_t usable)
{
	const struct pcc_layout *l = &m.py->l;
	uint64_t keys = mock_alloc(&m, 256);
	mock_put(&m, keys + (uint64_t)l->off[PCC_L_DK_REFCNT], refcnt);
	put_u8(keys + (uint64_t)l->off[PCC_L_DK_LOG2_SIZE], 3);
	put_u8(keys + (uint64_t)l->off[PCC_L_DK_LOG2_INDEX_BYTES], 3);
	put_u8(keys + (uint64_t)l->off[PCC_L_DK_KIND], 1);
	mock_put(&m, keys + (uint64_t)l->off[PCC_L_DK_NENTRIES], nentries);
	mock_put(&m, keys + (uint64_t)l->off[PCC_L_DK_USABLE], usable);
	return keys;
}

START_TEST(test_dict_keys_unless_shared)
{
	const struct pcc_layout *l = &m.py->l;
	uint64_t dict_type = mock_type(&m, "dict", PCC_TPFLAGS_HAVE_GC, 0);
	mock_put(&m, dict_type + MOCK_TP_BASICSIZE, 48);
	mock_methods(dict_type, with_sizeof, 2);
	mock_mro(dict_type, &object_type, 1);
	m.py->dict_type = dict_type;
	bool exact;
	/* Its own keys: the indices, and 5 (two thirds of 8) entries of 16
	 * bytes, after the keys object's header. */
	uint64_t own = mock_object(&m, dict_type, 1, 48);
	mock_put(&m, own + (uint64_t)l->off[PCC_L_DICT_KEYS], mock_keys(1, 2, 3));
	ck_assert_uint_eq(size_of(own, &exact),
			  48 + (uint64_t)l->off[PCC_L_DK_INDICES] + 8 + 5 * 16
				  + MOCK_GC_HEAD);
	ck_assert(exact);
	/* Split: the keys are the class's; the values, one per entry the
	 * shared keys have or may have (3.11: dk_nentries + dk_usable). */
	uint64_t split = mock_object(&m, dict_type, 1, 48);
	mock_put(&m, split + (uint64_t)l->off[PCC_L_DICT_KEYS], mock_keys(7, 2, 3));
	mock_put(&m, split + (uint64_t)l->off[PCC_L_DICT_VALUES], mock_alloc(&m, 64));
	ck_assert_uint_eq(size_of(split, &exact), 48 + (2 + 3) * 8 + MOCK_GC_HEAD);
	/* Keys that cannot be read: the struct alone. */
	uint64_t lost = mock_object(&m, dict_type, 1, 48);
	mock_put(&m, lost + (uint64_t)l->off[PCC_L_DICT_KEYS], 0x8);
	ck_assert_uint_eq(size_of(lost, &exact), 48 + MOCK_GC_HEAD);
}
END_TEST

/* A str of length characters of kind bytes each, in state's form. */
static uint64_t mock_str(uint64_t str_type, uint32_t state, uint64_t length)
{
	const struct pcc_layout *l = &m.py->l;
	uint64_t s = mock_object(&m, str_type, 1, 256);
	mock_put(&m, s + (uint64_t)l->off[PCC_L_ASCII_LENGTH], length);
	uint32_t *at = (uint32_t *)&m.mem[s + (uint64_t)l->off[PCC_L_ASCII_STATE]
					  - MOCK_BASE];
	*at = state;
	return s;
}

START_TEST(test_str_text_and_copies)
{
	/* 3.11: PyASCIIObject 48 bytes, PyCompactUnicodeObject 72. */
	uint64_t str_type = mock_type(&m, "str", 0, 0);
	mock_put(&m, str_type + MOCK_TP_BASICSIZE, 80);
	mock_methods(str_type, with_sizeof, 2);
	mock_mro(str_type, &object_type, 1);
	m.py->unicode_type = str_type;
	uint64_t ascii = 48, compact = 72;
	const uint32_t ready = 1u << 7, compact_ascii = 3u << 5 | 1u << 2 | ready;
	bool exact;
	/* Compact ASCII: the struct and the text with its NUL. */
	ck_assert_uint_eq(size_of(mock_str(str_type, compact_ascii, 5), &exact),
			  ascii + 5 + 1);
	ck_assert(exact);
	/* Compact UCS-2, with a UTF-8 copy of 9 bytes elsewhere. */
	uint64_t ucs2 = mock_str(str_type, 1u << 5 | 2u << 2 | ready, 4);
	mock_put(&m, ucs2 + ascii + 8, mock_alloc(&m, 16));
	mock_put(&m, ucs2 + ascii, 9);
	ck_assert_uint_eq(size_of(ucs2, &exact), compact + 5 * 2 + 9 + 1);
	/* Compact ASCII with a wchar_t copy (3.11 and before). */
	uint64_t wide = mock_str(str_type, compact_ascii, 3);
	mock_put(&m, wide + ascii - 8, mock_alloc(&m, 16));
	ck_assert_uint_eq(size_of(wide, &exact), ascii + 3 + 1 + 4 * 4);
	/* Its text elsewhere (a legacy string): PyUnicodeObject and the
	 * text; none when the data pointer is NULL. */
	uint64_t legacy = mock_str(str_type, 1u << 2 | ready, 6);
	mock_put(&m, legacy + compact, mock_alloc(&m, 16));
	ck_assert_uint_eq(size_of(legacy, &exact), compact + 8 + 7);
	mock_put(&m, legacy + compact, 0);
	ck_assert_uint_eq(size_of(legacy, &exact), compact + 8);
	/* A length no target can hold: the struct. */
	ck_assert_uint_eq(size_of(mock_str(str_type, compact_ascii, UINT64_C(1) << 60),
				  &exact),
			  compact + 8);
}
END_TEST

START_TEST(test_int_digits)
{
	uint64_t int_type = mock_type(&m, "int", 0, 0);
	mock_put(&m, int_type + MOCK_TP_BASICSIZE, 24);
	mock_put(&m, int_type + MOCK_TP_ITEMSIZE, 4);
	mock_methods(int_type, with_sizeof, 2);
	mock_mro(int_type, &object_type, 1);
	m.py->long_type = int_type;
	bool exact;
	/* 3.11: |ob_size| digits, one at least; a negative one counts its
	 * digits too. */
	uint64_t neg = mock_object(&m, int_type, 1, 32);
	mock_put(&m, neg + MOCK_OB_SIZE, (uint64_t)-3);
	ck_assert_uint_eq(size_of(neg, &exact), 24 + 3 * 4);
	ck_assert(exact);
	uint64_t zero = mock_object(&m, int_type, 1, 32);
	ck_assert_uint_eq(size_of(zero, &exact), 24 + 4); /* one digit at least */
	m.py->traits = pcc_version_traits(3, 10);
	ck_assert_uint_eq(pcc_python_object_size(m.py, pcc_python_type_of(m.py, zero),
						 zero),
			  24);
	/* 3.12+: lv_tag >> 3 digits, one at least. */
	m.py->traits = pcc_version_traits(3, 12);
	mock_put(&m, neg + MOCK_OB_SIZE, 3u << 3 | 2);
	ck_assert_uint_eq(pcc_python_object_size(m.py, pcc_python_type_of(m.py, neg), neg),
			  24 + 3 * 4);
	ck_assert_uint_eq(pcc_python_object_size(m.py, pcc_python_type_of(m.py, zero),
						 zero),
			  24 + 4);
}
END_TEST

static Suite *sizes_suite(void)
{
	Suite *s = suite_create("sizes");
	TCase *tc = tcase_create("getsizeof");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_list_by_allocation);
	tcase_add_test(tc, test_tuple_inherits_object_sizeof);
	tcase_add_test(tc, test_set_table_outside_only);
	tcase_add_test(tc, test_python_subclass_with_preheader);
	tcase_add_test(tc, test_extension_sizeof_is_a_lower_bound);
	tcase_add_test(tc, test_dict_keys_unless_shared);
	tcase_add_test(tc, test_str_text_and_copies);
	tcase_add_test(tc, test_int_digits);
	suite_add_tcase(s, tc);
	return s;
}

#include "run_suite.h"

int main(void)
{
	return pcc_run_suite(sizes_suite());
}
