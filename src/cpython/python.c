/* SPDX-License-Identifier: MIT */
/*
 * Opening the interpreter, on top of the folder: the layout (DWARF, or a
 * built-in table checked against the core), the build flavour, the
 * version, the traversals, and every interpreter's collector, in that
 * order.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "builtin_layout.h"
#include "emulated.h"
#include "gc_state.h"
#include "interpreter.h"
#include "locate.h"
#include "python.h"
#include "traversals.h"
#include "types.h"
#include "version.h"

enum {
	/* Every pass over the heap reads each item slot once, and a real
	 * heap's slots are a fraction of its memory: 16 reads per mapped
	 * word leave room for all passes many times over. */
	ITEM_READS_PER_WORD = 16,
};

/* The first field of a list (ended by PCC_L_COUNT) that the layout lacks. */
static enum pcc_layout_field first_missing(const struct pcc_layout *l,
					   const enum pcc_layout_field *fields)
{
	for (; *fields != PCC_L_COUNT; fields++)
		if (!pcc_layout_has(l, *fields))
			return *fields;
	return PCC_L_COUNT;
}

/*
 * 3.14.0-3.14.4's incremental collector names its lists young, old[0] and
 * old[1]: the same three gc_generation structs, in the same place, as the
 * generations[3] before and after it.  For a full collection, which is what
 * is redone here, they are the three generations.
 */
static void adopt_incremental_lists(struct pcc_layout *l)
{
	if (pcc_layout_has(l, PCC_L_GCSTATE_GENERATIONS)
	    || !pcc_layout_has(l, PCC_L_GCSTATE_YOUNG)
	    || !pcc_layout_has(l, PCC_L_GCSTATE_OLD)
	    || !pcc_layout_has(l, PCC_L_GEN_SIZE)
	    || l->off[PCC_L_GCSTATE_OLD]
		       != l->off[PCC_L_GCSTATE_YOUNG] + l->off[PCC_L_GEN_SIZE])
		return;
	l->off[PCC_L_GCSTATE_GENERATIONS] = l->off[PCC_L_GCSTATE_YOUNG];
	l->count[PCC_L_GCSTATE_GENERATIONS] = PCC_GENERATIONS;
}

/* gc_in_struct: the collector's state is a struct (3.7+). */
static struct pcc_error *check_layout(struct pcc_python *py, bool gc_in_struct)
{
	static const enum pcc_layout_field required[] = {
		PCC_L_OB_REFCNT, PCC_L_OB_TYPE, PCC_L_OB_SIZE, PCC_L_GC_HEAD_SIZE,
		PCC_L_GC_NEXT, PCC_L_GC_PREV, PCC_L_TP_NAME, PCC_L_TP_BASICSIZE,
		PCC_L_TP_ITEMSIZE, PCC_L_TP_FLAGS, PCC_L_TP_TRAVERSE,
		PCC_L_TP_DICTOFFSET, PCC_L_TP_BASE, PCC_L_MEMBERDEF_SIZE,
		PCC_L_MEMBERDEF_TYPE, PCC_L_MEMBERDEF_OFFSET, PCC_L_MEMBERDEF_NAME,
		PCC_L_INTERP_NEXT, PCC_L_GEN_SIZE, PCC_L_GEN_HEAD,
		PCC_L_GEN_THRESHOLD, PCC_L_GEN_COUNT, PCC_L_LIST_ITEMS,
		PCC_L_TUPLE_ITEMS, PCC_L_DKE_SIZE, PCC_L_DKE_KEY, PCC_L_DKE_VALUE,
		PCC_L_SET_MASK, PCC_L_SET_TABLE, PCC_L_SETENTRY_SIZE,
		PCC_L_SETENTRY_KEY, PCC_L_COUNT
	};
	/* The collector's state in a struct (3.7+; 2.7 and 3.6 keep it in
	 * static variables). */
	static const enum pcc_layout_field gc_struct[] = {
		PCC_L_GCSTATE_ENABLED, PCC_L_GCSTATE_DEBUG,
		PCC_L_GCSTATE_GENERATIONS, PCC_L_GCSTATE_COLLECTING,
		PCC_L_GCSTATE_GARBAGE, PCC_L_COUNT
	};
	/* Dicts with a keys object (3.6+) or with their table inline (2.7). */
	static const enum pcc_layout_field dict_keys[] = {
		PCC_L_DICT_KEYS, PCC_L_DK_NENTRIES, PCC_L_DK_INDICES, PCC_L_COUNT
	};
	static const enum pcc_layout_field dict_table[] = {
		PCC_L_DICT_MASK, PCC_L_DICT_TABLE, PCC_L_COUNT
	};
	const struct pcc_debuginfo *di = py->di;
	bool apart = di->debug_file && di->module_file
		     && strcmp(di->debug_file, di->module_file) != 0;
	enum pcc_layout_field missing = first_missing(&py->l, required);
	if (missing == PCC_L_COUNT && gc_in_struct)
		missing = first_missing(&py->l, gc_struct);
	if (missing == PCC_L_COUNT && first_missing(&py->l, dict_table) != PCC_L_COUNT)
		missing = first_missing(&py->l, dict_keys);
	if (missing == PCC_L_COUNT)
		return NULL;
	/* Built-in layouts are complete: this is DWARF that does not describe
	 * the interpreter (partial, or of another build). */
	char *what = pcc_layout_field_describe(missing);
	struct pcc_error *err = pcc_error_hint(
		pcc_error_create(PCC_ERROR_UNSUPPORTED,
				 "the debug info of %s%s%s%s does not describe "
				 "%s: it is incomplete, or not that of this "
				 "build", di->module_file,
				 apart ? " (in " : "", apart ? di->debug_file : "",
				 apart ? ")" : "", what),
		"pass this build's own debug info (--debuginfo-path DIR), or "
		"--no-dwarf to use pycorecheck's built-in layouts");
	free(what);
	return err;
}

/*
 * The first interpreter: _PyRuntime.interpreters.head (3.7+); before
 * _PyRuntime (2.7, 3.6) the static interp_head of Python/pystate.c, else
 * the interpreter of the thread that held the GIL.  0 if unreadable.
 */
static uint64_t first_interpreter(struct pcc_python *py, uint64_t runtime)
{
	const struct pcc_layout *l = &py->l;
	uint64_t interp = 0, head, tstate;
	if (runtime) {
		if (pcc_layout_has(l, PCC_L_RUNTIME_INTERP_HEAD))
			pcc_target_read_u64(py->t,
					    runtime + l->off[PCC_L_RUNTIME_INTERP_HEAD],
					    &interp);
		return interp;
	}
	head = pcc_debuginfo_static_symbol(py->di, "pystate.c", "interp_head", NULL);
	if (head && pcc_target_read_u64(py->t, head, &interp) && interp)
		return interp;
	head = pcc_debuginfo_symbol(py->di, "_PyThreadState_Current", NULL);
	if (head && pcc_layout_has(l, PCC_L_TSTATE_INTERP)
	    && pcc_target_read_u64(py->t, head, &tstate) && tstate)
		pcc_target_read_u64(py->t, tstate + l->off[PCC_L_TSTATE_INTERP],
				    &interp);
	return interp;
}

struct pcc_error *pcc_python_open(struct pcc_target *t,
				  struct pcc_debuginfo *di,
				  struct pcc_python **ret)
{
	struct pcc_error *located = pcc_python_locate(t, di);
	if (located)
		return located;
	struct pcc_python *py = pcc_xcalloc(1, sizeof(*py));
	py->t = t;
	py->di = di;
	py->item_budget = pcc_python_mapped_bytes(py) / 8 * ITEM_READS_PER_WORD;
	pcc_python_load_symbols(py);
	uint64_t runtime = pcc_debuginfo_symbol(di, "_PyRuntime", NULL);
	py->type_type = pcc_debuginfo_symbol(di, "PyType_Type", NULL);
	py->unicode_type = pcc_debuginfo_symbol(di, "PyUnicode_Type", NULL);
	/* 3.13+ start _PyRuntime with _Py_DebugOffsets, which says whether
	 * this is a free-threaded build: its objects have no PyGC_Head, so
	 * no layout, from DWARF or a table, can be walked.  Said first, before
	 * a layout error could hide the reason. */
	const uint8_t *cookie = runtime ? pcc_target_ptr(t, runtime, 24) : NULL;
	if (cookie && memcmp(cookie, "xdebugpy", 8) == 0) {
		uint64_t version, free_threaded;
		memcpy(&version, cookie + 8, 8);
		memcpy(&free_threaded, cookie + 16, 8);
		/* Only a well-formed record (a 3.13+ version, a flag of 1)
		 * says free-threaded; anything else there is damage. */
		bool plausible = version >> 24 == 3 && ((version >> 16) & 0xff) >= 13;
		if (free_threaded > 1 || (free_threaded && !plausible)) {
			pcc_python_destroy(py);
			return pcc_error_hint(
				pcc_error_create(PCC_ERROR_INPUT,
						 "the memory of the target is "
						 "damaged: the _Py_DebugOffsets "
						 "record of %s holds version 0x%llx, "
						 "free_threaded %llu",
						 di->module_file ? di->module_file
								 : di->module_name,
						 (unsigned long long)version,
						 (unsigned long long)free_threaded),
				"if it is a core, take it again or check how it was copied");
		}
		if (free_threaded) {
			pcc_python_destroy(py);
			return pcc_error_hint(
				pcc_error_create(PCC_ERROR_UNSUPPORTED,
						 "%s is a free-threaded Python "
						 "build (--disable-gil), which "
						 "pycorecheck does not analyse "
						 "yet",
						 di->module_file ? di->module_file
								 : di->module_name),
				"pycorecheck walks the collector's PyGC_Head lists, "
				"which such builds do not have");
		}
	}
	struct pcc_error *err = pcc_layout_from_dwarf(di, &py->l);
	if (err && !di->dwarf) {
		/* No DWARF: a built-in table, checked against the core.  3.11+
		 * export their version, which picks the nearest table. */
		pcc_error_destroy(err);
		uint64_t hex = 0, addr = pcc_debuginfo_symbol(di, "Py_Version", NULL);
		if (addr)
			pcc_target_read_u64(t, addr, &hex);
		int major = (int)(hex >> 24) & 0xff, minor = (int)(hex >> 16) & 0xff,
		    micro = (int)(hex >> 8) & 0xff;
		/* Before 3.11 the file name is the hint: libpython3.9.so. */
		const char *name = di->module_file ? strstr(di->module_file, "python")
						   : NULL;
		if (!hex && name && sscanf(name, "python%d.%d", &major, &minor) != 2)
			major = minor = 0;
		err = pcc_python_builtin_layout(py, runtime, major, minor, micro);
	}
	if (err)
		goto fail;

	/* 2.7 and 3.6 have no _PyRuntime: their collector's state is static. */
	struct pcc_gc_vars statics = { 0 };
	if (!runtime) {
		err = pcc_python_gc_vars_static(py, &statics);
		if (err)
			goto fail;
	}
	adopt_incremental_lists(&py->l);
	err = check_layout(py, runtime != 0);
	if (err)
		goto fail;

	const struct pcc_layout *l = &py->l;
	py->gc_head_size = l->off[PCC_L_GC_HEAD_SIZE];
	py->off_refcnt = l->off[PCC_L_OB_REFCNT];
	py->off_type = l->off[PCC_L_OB_TYPE];
	py->off_size = l->off[PCC_L_OB_SIZE];
	py->gc_head_size = l->off[PCC_L_GC_HEAD_SIZE];
	py->gc_refs_in_head = pcc_layout_has(l, PCC_L_GC_REFS);
	pcc_python_find_traversals(py);

	uint64_t interp = first_interpreter(py, runtime);
	if (!interp) {
		err = pcc_error_create(PCC_ERROR_BAD_DATA,
				       "cannot read the interpreter list %s%s: "
				       "the core may be truncated or from "
				       "another build",
				       runtime ? "at _PyRuntime in " : "of ",
				       di->module_file);
		goto fail;
	}
	err = pcc_python_find_version(py, interp);
	if (err)
		goto fail;
	py->traits = pcc_version_traits(py->major, py->minor);
	if (!py->traits) {
		err = pcc_error_create(PCC_ERROR_UNSUPPORTED,
				       "Python %s is older than 2.7, the oldest "
				       "pycorecheck reads", py->version);
		goto fail;
	}
	if (py->layout_major
	    && (py->layout_major != py->major || py->layout_minor != py->minor)) {
		/* The checks let another version's table through (3.9 and 3.10
		 * agree on everything they look at): now that sys.version is
		 * known, choose again among that version's tables. */
		int major = py->major, minor = py->minor, micro = py->micro;
		err = pcc_python_builtin_layout(py, runtime, major, minor, micro);
		if (err)
			goto fail;
		pcc_python_find_traversals(py);
		pcc_python_forget_types(py);
	}
	py->immortal_refcnt = py->traits->immortal_refcnt;
	py->heap_types_visit_self = py->traits->heap_types_visit_self;
	py->inline_values_owner_only =
		pcc_version_inline_values_owner_only(py->traits, py->micro);

	pcc_python_find_module_traversals(py, interp);

	err = pcc_python_read_collectors(py, interp, runtime, &statics);
	if (err)
		goto fail;
	if (!runtime)
		pcc_python_warn_lost_statics(py, &statics);
	*ret = py;
	return NULL;
fail:
	pcc_python_destroy(py);
	return err;
}


void pcc_python_destroy(struct pcc_python *py)
{
	if (!py)
		return;
	pcc_python_emulated_free(py);
	pcc_python_forget_types(py);
	free(py->layout_source);
	pcc_slot_vec_free(&py->slot_pool);
	pcc_gc_state_vec_free(&py->gcs);
	pcc_warnings_deinit(&py->warnings);
	free(py);
}

const struct pcc_gc_state *pcc_python_gc_states(const struct pcc_python *py,
						size_t *n)
{
	*n = py->gcs.len;
	return py->gcs.data;
}

struct pcc_progress *pcc_python_set_progress(struct pcc_python *py,
					     struct pcc_progress *progress)
{
	struct pcc_progress *before = py->progress;
	py->progress = progress;
	return before;
}
