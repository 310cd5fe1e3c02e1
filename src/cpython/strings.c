/* SPDX-License-Identifier: MIT */
/*
 * Text of str objects, for display only: attribute names, dict keys, type
 * names.  Bounded, and anything odd comes out escaped rather than trusted.
 */
#include "config.h"

#include <stdlib.h>

#include "interpreter.h"
#include "strings.h"
#include "types.h"

/* PyASCIIObject.state bits, 3.3–3.13: interned:2, kind:3, compact:1, ascii:1. */
#define STATE_KIND(s) (((s) >> 2) & 7)
#define STATE_COMPACT(s) (((s) >> 5) & 1)
#define STATE_ASCII(s) (((s) >> 6) & 1)

enum str_kind { NOT_STR, STR_UNICODE, STR_BYTES };

/* Py_TPFLAGS_UNICODE_SUBCLASS; and Py_TPFLAGS_STRING_SUBCLASS, which 3.x
 * gives bytes, but which is 2.7's str (a PyStringObject). */
static enum str_kind str_kind(struct pcc_python *py, uint64_t obj)
{
	uint64_t type = pcc_python_ob_type(py, obj);
	struct pcc_type_info *ti = pcc_python_type(py, type);
	if (!ti)
		return NOT_STR;
	if (ti->flags & (1ul << 28))
		return STR_UNICODE;
	if ((ti->flags & (1ul << 27)) && pcc_layout_has(&py->l, PCC_L_STRING_SVAL))
		return STR_BYTES;
	return NOT_STR;
}

static void append_char(char *out, size_t *n, size_t cap, uint32_t c)
{
	if (*n + 11 >= cap)
		return;
	if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'' && c != '"') {
		out[(*n)++] = (char)c;
	} else if (c < 0x100) {
		*n += (size_t)snprintf(out + *n, cap - *n, "\\x%02x", c);
	} else if (c < 0x10000) {
		*n += (size_t)snprintf(out + *n, cap - *n, "\\u%04x", c);
	} else {
		*n += (size_t)snprintf(out + *n, cap - *n, "\\U%08x", c);
	}
}

/* The character as UTF-8; a lone surrogate (surrogateescape'd bytes of a
 * file name) becomes U+FFFD. */
static void append_utf8(char *out, size_t *n, size_t cap, uint32_t c)
{
	if (*n + 5 >= cap)
		return;
	if ((c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
		c = 0xfffd;
	if (c < 0x80) {
		out[(*n)++] = (char)c;
	} else if (c < 0x800) {
		out[(*n)++] = (char)(0xc0 | c >> 6);
		out[(*n)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		out[(*n)++] = (char)(0xe0 | c >> 12);
		out[(*n)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (c & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | c >> 18);
		out[(*n)++] = (char)(0x80 | ((c >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (c & 0x3f));
	}
}

/* text: the characters themselves (UTF-8; a 2.7 str's bytes as they are),
 * else escaped like a repr. */
static char *read_str(struct pcc_python *py, uint64_t obj, size_t max, bool text)
{
	const struct pcc_layout *l = &py->l;
	enum str_kind sk = obj ? str_kind(py, obj) : NOT_STR;
	uint64_t length, data;
	unsigned kind;
	if (sk == STR_BYTES) {
		/* 2.7 str: ob_size bytes in ob_sval. */
		if (!pcc_target_read_u64(py->t, obj + py->off_size, &length))
			return NULL;
		data = obj + (uint64_t)l->off[PCC_L_STRING_SVAL];
		kind = 1;
	} else if (sk == STR_UNICODE && pcc_layout_has(l, PCC_L_UNICODE_STR)) {
		/* 2.7 unicode: length Py_UNICODE units at str. */
		if (!pcc_target_read_u64(py->t, obj + l->off[PCC_L_UNICODE_LENGTH],
					 &length)
		    || !pcc_target_read_u64(py->t, obj + l->off[PCC_L_UNICODE_STR],
					    &data))
			return NULL;
		kind = py->unicode_width;
	} else {
		uint32_t state;
		if (sk != STR_UNICODE || !pcc_layout_has(l, PCC_L_ASCII_STATE)
		    || !pcc_target_read_u64(py->t, obj + l->off[PCC_L_ASCII_LENGTH],
					    &length)
		    || !pcc_target_read_u32(py->t, obj + l->off[PCC_L_ASCII_STATE],
					    &state)
		    || !STATE_COMPACT(state))
			return NULL;
		kind = STATE_KIND(state);
		data = obj + (uint64_t)(STATE_ASCII(state)
						? l->off[PCC_L_ASCII_SIZE]
						: l->off[PCC_L_COMPACT_SIZE]);
	}
	if (kind != 1 && kind != 2 && kind != 4)
		return NULL;
	size_t shown = length < max ? (size_t)length : max;
	const uint8_t *p = pcc_target_ptr(py->t, data, shown * kind);
	if (!p && shown)
		return NULL;
	size_t cap = shown * 10 + 8, n = 0;
	char *out = pcc_xmalloc(cap);
	for (size_t i = 0; i < shown; i++) {
		uint32_t c = 0;
		memcpy(&c, p + i * kind, kind);
		if (!text)
			append_char(out, &n, cap, c);
		else if (sk == STR_BYTES)
			out[n++] = (char)c; /* the writers make it valid UTF-8 */
		else
			append_utf8(out, &n, cap, c);
	}
	if (shown < length && n + 4 < cap) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = 0;
	return out;
}

char *pcc_python_str(struct pcc_python *py, uint64_t obj, size_t max)
{
	return read_str(py, obj, max, false);
}

char *pcc_python_str_text(struct pcc_python *py, uint64_t obj, size_t max)
{
	return read_str(py, obj, max, true);
}

char *pcc_python_key_repr(struct pcc_python *py, uint64_t obj)
{
	char *s = pcc_python_str(py, obj, 60);
	if (s) {
		char *q = pcc_xasprintf("'%s'", s);
		free(s);
		return q;
	}
	uint64_t type = pcc_python_ob_type(py, obj);
	return pcc_xasprintf("<%s>",
			     pcc_python_type_name(py, pcc_python_type(py, type)));
}

bool pcc_python_named_by_itself(const struct pcc_type_info *ti)
{
	return ti && (ti->kind == PCC_KIND_TYPE
		      || (ti->kind == PCC_KIND_MEMBERS
			  && (ti->member_list == PCC_LL_OLDINSTANCE
			      || ti->member_list == PCC_LL_CLASSOBJ)));
}

char *pcc_python_classic_name(struct pcc_python *py, uint64_t obj,
			      bool *is_class)
{
	struct pcc_type_info *ti = pcc_python_type(py, pcc_python_ob_type(py, obj));
	if (!ti || ti->kind != PCC_KIND_MEMBERS
	    || (ti->member_list != PCC_LL_OLDINSTANCE
		&& ti->member_list != PCC_LL_CLASSOBJ))
		return NULL;
	*is_class = ti->member_list == PCC_LL_CLASSOBJ;
	uint64_t cls = obj, name;
	int64_t off;
	if (!*is_class
	    && ((off = pcc_layout_list_member(&py->l, PCC_LL_OLDINSTANCE, "__class__")) < 0
		|| !pcc_target_read_u64(py->t, obj + (uint64_t)off, &cls)))
		return NULL;
	if ((off = pcc_layout_list_member(&py->l, PCC_LL_CLASSOBJ, "__name__")) < 0
	    || !pcc_target_read_u64(py->t, cls + (uint64_t)off, &name))
		return NULL;
	return pcc_python_str(py, name, 100);
}
