/* SPDX-License-Identifier: MIT */
/*
 * Choosing a built-in layout for an interpreter without DWARF.
 *
 * Internal structs change within a minor version (3.13.0 → 3.13.12 moved
 * the generations by 4 bytes), and distributions patch them, so a table is
 * never taken on the strength of a version number: each candidate is
 * checked against the core — the runtime leads to an interpreter (3.7+)
 * or _PyGC_generation0 to the generations (2.7, 3.6), the collector has
 * sane flags and thresholds and well-formed lists, the objects on them
 * have types whose type is `type` and are (or are not) on the all-objects
 * list of a Py_TRACE_REFS build as the table says, and sys.version names
 * the table's minor version (pcc_python_open chooses again once it has
 * read it) — and the first one that passes every check, the nearest in
 * version first, is used.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "builtin_layout.h"
#include "layout_tables.h"

enum {
	MAX_THRESHOLD = 100000000,
	/* Objects of each list whose types are checked. */
	TYPES_CHECKED = 16,
};

static bool read_int_at(struct pcc_python *py, uint64_t addr, int *v)
{
	uint32_t u;
	if (!pcc_target_read_u32(py->t, addr, &u))
		return false;
	*v = (int)u;
	return true;
}

/* Is type a type object: its own type is `type` or a subclass of it? */
static bool looks_like_type(struct pcc_python *py, uint64_t type)
{
	uint64_t meta = pcc_python_ob_type(py, type);
	for (int depth = 0; meta && depth < 3; depth++) {
		if (meta == py->type_type)
			return true;
		meta = pcc_python_ob_type(py, meta);
	}
	return false;
}

/*
 * Does this object agree with the candidate about Py_TRACE_REFS?  Such a
 * build prepends _ob_next/_ob_prev (the list of all objects) to every
 * object, and nothing else tells the two builds of one version apart:
 * offsets that are right for one read plausible words in the other, a
 * type pointer among them.  So the list itself decides: in a trace-refs
 * core the first word points at an object whose second word points back,
 * or is NULL (a static object never linked); in any other core the first
 * word is ob_refcnt, which is never such a pointer.
 */
static bool trace_refs_agree(struct pcc_python *py, uint64_t obj)
{
	const struct pcc_layout *l = &py->l;
	bool table_traces = pcc_layout_has(l, PCC_L_OB_NEXT)
			    && pcc_layout_has(l, PCC_L_OB_PREV);
	/* Where Py_TRACE_REFS puts the links in every version that has them. */
	int64_t off_next = table_traces ? l->off[PCC_L_OB_NEXT] : 0;
	int64_t off_prev = table_traces ? l->off[PCC_L_OB_PREV] : 8;
	uint64_t next, back;
	if (!pcc_target_read_u64(py->t, obj + (uint64_t)off_next, &next))
		return false;
	if (!next)
		return table_traces;
	bool linked = pcc_target_read_u64(py->t, next + (uint64_t)off_prev, &back)
		      && back == obj;
	return linked == table_traces;
}

static bool list_is_sane(struct pcc_python *py, uint64_t head)
{
	const struct pcc_layout *l = &py->l;
	uint64_t next, prev;
	if (!pcc_target_read_u64(py->t, head + l->off[PCC_L_GC_NEXT], &next))
		return false;
	next &= ~(uint64_t)3;
	uint64_t node = head;
	for (int i = 0; i < TYPES_CHECKED && next != head; i++) {
		if (!pcc_target_read_u64(py->t, next + l->off[PCC_L_GC_PREV], &prev)
		    || (prev & ~(uint64_t)3) != node)
			return false;
		uint64_t obj = next + (uint64_t)py->gc_head_size;
		if (!trace_refs_agree(py, obj)
		    || !looks_like_type(py, pcc_python_ob_type(py, obj)))
			return false;
		node = next;
		if (!pcc_target_read_u64(py->t, next + l->off[PCC_L_GC_NEXT], &next))
			return false;
		next &= ~(uint64_t)3;
	}
	return true;
}

/*
 * Where the candidate puts the collector: the address of generations[0]
 * and of the enabled and collecting flags (0 when not known), or false
 * when the candidate's form does not match the core's.  3.7+ keep the
 * state in a struct reached from _PyRuntime; 2.7 and 3.6 (no _PyRuntime)
 * in statics of gcmodule.c, whose generations[0] head the exported
 * _PyGC_generation0 points at.
 */
static bool candidate_gc(struct pcc_python *py, uint64_t runtime,
			 uint64_t *interp, uint64_t *gens, uint64_t *enabled,
			 uint64_t *collecting)
{
	const struct pcc_layout *l = &py->l;
	*interp = 0;
	if (!runtime) {
		uint64_t ptr = pcc_debuginfo_symbol(py->di, "_PyGC_generation0", NULL),
			 gen0;
		if (pcc_layout_has(l, PCC_L_RUNTIME_INTERP_HEAD) || !ptr
		    || !pcc_target_read_u64(py->t, ptr, &gen0) || !gen0)
			return false;
		*gens = gen0 - (uint64_t)l->off[PCC_L_GEN_HEAD];
		*enabled = pcc_debuginfo_static_symbol(py->di, "gcmodule.c",
						       "enabled", NULL);
		*collecting = pcc_debuginfo_static_symbol(py->di, "gcmodule.c",
							  "collecting", NULL);
		return true;
	}
	if (!pcc_layout_has(l, PCC_L_RUNTIME_INTERP_HEAD)
	    || !pcc_layout_has(l, PCC_L_GCSTATE_GENERATIONS))
		return false;
	if (!pcc_target_read_u64(py->t, runtime + l->off[PCC_L_RUNTIME_INTERP_HEAD],
				 interp)
	    || !*interp)
		return false;
	uint64_t state = pcc_layout_has(l, PCC_L_INTERP_GC)
				 ? *interp + l->off[PCC_L_INTERP_GC]
				 : runtime + l->off[PCC_L_RUNTIME_GC];
	*gens = state + l->off[PCC_L_GCSTATE_GENERATIONS];
	*enabled = state + l->off[PCC_L_GCSTATE_ENABLED];
	*collecting = state + l->off[PCC_L_GCSTATE_COLLECTING];
	return true;
}

/* A flag of the collector is 0 or 1; true when it is not known. */
static bool flag_is_sane(struct pcc_python *py, uint64_t addr)
{
	int v;
	return !addr || (read_int_at(py, addr, &v) && (v == 0 || v == 1));
}

/* The checks of one candidate against the core.  py->l is the candidate. */
static bool candidate_fits(struct pcc_python *py, uint64_t runtime)
{
	const struct pcc_layout *l = &py->l;
	py->gc_head_size = l->off[PCC_L_GC_HEAD_SIZE];
	py->off_refcnt = l->off[PCC_L_OB_REFCNT];
	py->off_type = l->off[PCC_L_OB_TYPE];
	py->off_size = l->off[PCC_L_OB_SIZE];
	uint64_t interp, gens, enabled, collecting;
	if (py->gc_head_size <= 0 || py->off_type < 0
	    || !pcc_layout_has(l, PCC_L_GEN_SIZE)
	    || !pcc_layout_has(l, PCC_L_GEN_HEAD)
	    || !pcc_layout_has(l, PCC_L_GEN_THRESHOLD)
	    || !pcc_layout_has(l, PCC_L_GEN_COUNT)
	    || !candidate_gc(py, runtime, &interp, &gens, &enabled, &collecting)
	    || !flag_is_sane(py, enabled) || !flag_is_sane(py, collecting))
		return false;
	for (int g = 0; g < PCC_GENERATIONS; g++) {
		uint64_t gen = gens + (uint64_t)g * l->off[PCC_L_GEN_SIZE];
		int threshold, count;
		if (!read_int_at(py, gen + l->off[PCC_L_GEN_THRESHOLD], &threshold)
		    || threshold < 0 || threshold > MAX_THRESHOLD
		    || !read_int_at(py, gen + l->off[PCC_L_GEN_COUNT], &count)
		    || count < -1000000)
			return false;
		if (!list_is_sane(py, gen + l->off[PCC_L_GEN_HEAD]))
			return false;
	}
	/* Lists can all be empty; the sys dict is always there, so the
	 * Py_TRACE_REFS check always has one object to look at (3.7+: 2.7
	 * and 3.6 find no interpreter here; their lists are never empty). */
	uint64_t sysdict;
	if (interp && pcc_layout_has(l, PCC_L_INTERP_SYSDICT)
	    && pcc_target_read_u64(py->t, interp + l->off[PCC_L_INTERP_SYSDICT],
				   &sysdict)
	    && sysdict
	    && (!trace_refs_agree(py, sysdict)
		|| !looks_like_type(py, pcc_python_ob_type(py, sysdict))))
		return false;
	return true;
}

static int distance(const struct pcc_builtin_layout *b, int major, int minor,
		    int micro)
{
	if (!major)
		return 0;
	if (b->major != major || b->minor != minor)
		return 1000;
	return abs(b->micro - micro);
}

struct pcc_error *pcc_python_builtin_layout(struct pcc_python *py,
					    uint64_t runtime, int major,
					    int minor, int micro)
{
	/* Nearest version first; without a version (before 3.11, Py_Version
	 * is not exported) every table is tried and sys.version decides. */
	size_t n = pcc_builtin_layouts_count;
	size_t *order = pcc_xcalloc(n, sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = 1; i < n; i++) {
		for (size_t j = i; j > 0; j--) {
			const struct pcc_builtin_layout *a = &pcc_builtin_layouts[order[j - 1]];
			const struct pcc_builtin_layout *b = &pcc_builtin_layouts[order[j]];
			if (distance(b, major, minor, micro)
			    >= distance(a, major, minor, micro))
				break;
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}
	const struct pcc_builtin_layout *chosen = NULL;
	for (size_t k = 0; k < n && !chosen; k++) {
		const struct pcc_builtin_layout *b = &pcc_builtin_layouts[order[k]];
		if (major && distance(b, major, minor, micro) >= 1000)
			continue;
		if (!pcc_layout_parse(b->layout, &py->l) || !candidate_fits(py, runtime))
			continue;
		chosen = b;
	}
	free(order);
	if (!chosen)
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_LOOKUP,
					 "%s has no debug info and none of the "
					 "built-in layouts fits it",
					 py->di->module_file ? py->di->module_file
							     : py->di->module_name),
			"install the interpreter's debug symbols (Debian: "
			"python3.X-dbg) or pass --debuginfo-path DIR");
	free(py->layout_source);
	py->layout_source = pcc_xasprintf("built-in table of %d.%d.%d: %s",
					  chosen->major, chosen->minor,
					  chosen->micro, chosen->source);
	py->l.source = py->layout_source;
	py->layout_major = chosen->major;
	py->layout_minor = chosen->minor;
	return NULL;
}
