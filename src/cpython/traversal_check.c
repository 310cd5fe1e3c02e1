/* SPDX-License-Identifier: MIT */
/*
 * --check-traversals: pycorecheck's own traversals against each type's own
 * tp_traverse, run in the emulator, object by object.
 */
#include "config.h"

#include <string.h>

#include "emulated.h"
#include "interpreter.h"
#include "traversal_check.h"
#include "traverse.h"
#include "types.h"
#include "../memory/emulator.h"
#include "../util/sort.h"

/* Types listed with their differences; the rest are only counted. */
enum { MAX_DIFF_TYPES = 1000 };

struct collect {
	struct pcc_u64_vec refs;
};

static bool collect_ref(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	struct collect *c = ctx;
	(void)e;
	*pcc_u64_vec_push(&c->refs) = ref;
	return false;
}

static int u64_asc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Compare two sorted multisets: the first element only in a (*extra) and
 * only in b (*missing), 0 when there is none. */
static void multiset_diff(const uint64_t *a, size_t na, const uint64_t *b,
			  size_t nb, uint64_t *extra, uint64_t *missing)
{
	size_t i = 0, j = 0;
	*extra = *missing = 0;
	while (i < na || j < nb) {
		if (j == nb || (i < na && a[i] < b[j])) {
			if (!*extra)
				*extra = a[i];
			i++;
		} else if (i == na || b[j] < a[i]) {
			if (!*missing)
				*missing = b[j];
			j++;
		} else {
			i++, j++;
		}
	}
}

static struct pcc_traversal_diff *diff_of(struct pcc_traversal_check *out,
					  uint64_t type, enum pcc_kind kind)
{
	for (size_t i = 0; i < out->diffs.len; i++)
		if (out->diffs.data[i].type == type)
			return &out->diffs.data[i];
	if (out->diffs.len == MAX_DIFF_TYPES)
		return NULL;
	struct pcc_traversal_diff *d = pcc_traversal_diff_vec_push(&out->diffs);
	memset(d, 0, sizeof(*d));
	d->type = type;
	d->kind = kind;
	return d;
}

static int diff_desc(const void *a, const void *b)
{
	const struct pcc_traversal_diff *x = a, *y = b;
	if (x->objects != y->objects)
		return x->objects > y->objects ? -1 : 1;
	return x->type < y->type ? -1 : x->type > y->type;
}

/* Compare one object's native referents with the emulated ones. */
static void check_one(struct pcc_python *py, const struct pcc_emu_call *c,
		      const uint64_t *emulated, struct collect *col,
		      struct pcc_traversal_check *out)
{
	bool partial = false;
	col->refs.len = 0;
	enum pcc_kind kind = pcc_python_traverse(py, c->obj, collect_ref, col,
						 false, &partial);
	if (kind == PCC_KIND_UNKNOWN || kind == PCC_KIND_EMULATED)
		return;
	struct pcc_u64_vec mine = { 0 };
	for (uint32_t i = 0; i < c->count; i++)
		if (emulated[i])
			*pcc_u64_vec_push(&mine) = emulated[i];
	pcc_sort(col->refs.data, col->refs.len, sizeof(uint64_t), u64_asc);
	pcc_sort(mine.data, mine.len, sizeof(uint64_t), u64_asc);
	uint64_t extra, missing;
	multiset_diff(col->refs.data, col->refs.len, mine.data, mine.len, &extra,
		      &missing);
	pcc_u64_vec_free(&mine);
	out->compared++;
	if (!extra && (!missing || partial))
		return;
	out->differ++;
	struct pcc_traversal_diff *d = diff_of(out, pcc_python_ob_type(py, c->obj), kind);
	if (d && !d->objects++) {
		d->example = c->obj;
		d->extra = extra;
		d->missing = missing;
	}
}

void pcc_python_check_traversals(struct pcc_python *py, const uint64_t *objs,
				 uint32_t n, struct pcc_traversal_check *out)
{
	enum { CHUNK = 1 << 16 };
	memset(out, 0, sizeof(*out));
	struct pcc_emulator *emu = pcc_python_emulator(py);
	if (!emu)
		return;
	out->ran = true;
	struct pcc_emu_call *calls = pcc_xmalloc(CHUNK * sizeof(*calls));
	uint64_t *refs = NULL;
	size_t cap = 0;
	struct collect col = { { 0 } };
	for (uint32_t at = 0; at < n;) {
		size_t k = 0;
		for (; at < n && k < CHUNK; at++) {
			struct pcc_type_info *ti =
				pcc_python_type(py, pcc_python_ob_type(py, objs[at]));
			if (!ti || !ti->traverse || pcc_python_needs_emulation(ti))
				continue;
			calls[k++] = (struct pcc_emu_call){ .fn = ti->traverse,
							    .obj = objs[at] };
		}
		size_t nrefs = 0;
		pcc_emulator_run(emu, calls, k, &refs, &nrefs, &cap);
		for (size_t i = 0; i < k; i++) {
			if (calls[i].status != PCC_EMU_OK)
				out->not_emulated++;
			else
				check_one(py, &calls[i], refs + calls[i].first, &col, out);
		}
	}
	pcc_sort(out->diffs.data, out->diffs.len, sizeof(out->diffs.data[0]),
		 diff_desc);
	pcc_u64_vec_free(&col.refs);
	free(refs);
	free(calls);
}

void pcc_traversal_check_free(struct pcc_traversal_check *c)
{
	pcc_traversal_diff_vec_free(&c->diffs);
}
