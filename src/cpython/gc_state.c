/* SPDX-License-Identifier: MIT */
/*
 * The collectors' states: where each interpreter's collector keeps its
 * fields, read with what is unknown marked so, along an interpreter list
 * that may be corrupt.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "gc_state.h"

enum { MAX_INTERPRETERS = 4096 };

static bool read_int(struct pcc_python *py, uint64_t addr, int *ret)
{
	uint32_t v;
	bool ok = pcc_target_read_u32(py->t, addr, &v);
	*ret = ok ? (int)v : -1;
	return ok;
}


static void gc_vars_in_struct(const struct pcc_layout *l, uint64_t s,
			      struct pcc_gc_vars *v)
{
	v->enabled = s + l->off[PCC_L_GCSTATE_ENABLED];
	v->debug = s + l->off[PCC_L_GCSTATE_DEBUG];
	v->collecting = s + l->off[PCC_L_GCSTATE_COLLECTING];
	v->garbage = s + l->off[PCC_L_GCSTATE_GARBAGE];
	v->callbacks = pcc_layout_has(l, PCC_L_GCSTATE_CALLBACKS)
			       ? s + l->off[PCC_L_GCSTATE_CALLBACKS] : 0;
	v->generations = s + l->off[PCC_L_GCSTATE_GENERATIONS];
	v->permanent = pcc_layout_has(l, PCC_L_GCSTATE_PERMANENT)
			       ? s + l->off[PCC_L_GCSTATE_PERMANENT] : 0;
}

/*
 * 2.7 and 3.6: the exported _PyGC_generation0 points at the head of
 * generations[0]; the array and the other fields are static variables of
 * gcmodule.c whose names (enabled, debug, garbage) other files use too.
 */
struct pcc_error *pcc_python_gc_vars_static(struct pcc_python *py,
					   struct pcc_gc_vars *v)
{
	const struct pcc_layout *l = &py->l;
	struct pcc_debuginfo *di = py->di;
	memset(v, 0, sizeof(*v));
	uint64_t gen0_ptr = pcc_debuginfo_symbol(di, "_PyGC_generation0", NULL),
		 gen0 = 0;
	if (!gen0_ptr || !pcc_target_read_u64(py->t, gen0_ptr, &gen0) || !gen0)
		return pcc_error_create(PCC_ERROR_BAD_DATA,
					"cannot read _PyGC_generation0 of %s: "
					"the core may be truncated or from "
					"another build",
					di->module_file);
	static const char file[] = "gcmodule.c";
	v->generations = pcc_debuginfo_static_symbol(di, file, "generations", NULL);
	if (v->generations && v->generations + l->off[PCC_L_GEN_HEAD] != gen0)
		return pcc_error_create(PCC_ERROR_BAD_DATA,
					"_PyGC_generation0 (0x%llx) is not the "
					"head of generations[0] (0x%llx): the "
					"debug info does not match the core",
					(unsigned long long)gen0,
					(unsigned long long)v->generations);
	if (!v->generations)
		v->generations = gen0 - (uint64_t)l->off[PCC_L_GEN_HEAD];
	v->enabled = pcc_debuginfo_static_symbol(di, file, "enabled", NULL);
	v->debug = pcc_debuginfo_static_symbol(di, file, "debug", NULL);
	v->collecting = pcc_debuginfo_static_symbol(di, file, "collecting", NULL);
	v->garbage = pcc_debuginfo_static_symbol(di, file, "garbage", NULL);
	v->callbacks = pcc_debuginfo_static_symbol(di, file, "callbacks", NULL);
	return NULL;
}

/*
 * 2.7 and 3.6 without DWARF and without a full symbol table (a stripped
 * module has .dynsym only): the generations come from _PyGC_generation0,
 * but the other static variables cannot be found.  They are reported as
 * unknown, never guessed; say so once.
 */
void pcc_python_warn_lost_statics(struct pcc_python *py,
				  const struct pcc_gc_vars *v)
{
	/* gc.callbacks came with 3.3. */
	const struct {
		uint64_t addr;
		const char *name;
	} vars[] = {
		{ v->enabled, "enabled" },
		{ v->debug, "debug" },
		{ v->collecting, "collecting" },
		{ v->garbage, "garbage" },
		{ py->traits->gc_callbacks ? v->callbacks : 1, "callbacks" },
	};
	char names[128] = "";
	size_t len = 0;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (vars[i].addr)
			continue;
		int n = snprintf(names + len, sizeof(names) - len, "%s%s",
				 len ? ", " : "", vars[i].name);
		if (n > 0 && (size_t)n < sizeof(names) - len)
			len += (size_t)n;
	}
	if (!len)
		return;
	pcc_python_warn(py,
			"%s has no debug info and %s: the collector's static "
			"variables %s of gcmodule.c cannot be found, so they "
			"are reported as unknown (the generation lists come "
			"from _PyGC_generation0)",
			py->di->module_file ? py->di->module_file
					    : py->di->module_name,
			pcc_debuginfo_has_local_symbols(py->di)
				? "its symbol table lacks them"
				: "no symbol table of local symbols (stripped)",
			names);
}

/* An int field of the state at addr (0: not found); unknown marks it. */
static void read_gc_int(struct pcc_python *py, struct pcc_gc_state *gs,
			uint64_t addr, unsigned field, int *ret)
{
	if (!addr || !read_int(py, addr, ret)) {
		*ret = 0;
		gs->unknown |= field;
	}
}

/* The length of a list whose address is stored at addr, -1 if unknown. */
static int64_t read_list_len(struct pcc_python *py, struct pcc_gc_state *gs,
			     uint64_t addr, unsigned field, uint64_t *list)
{
	uint64_t len;
	*list = 0;
	if (!addr || !pcc_target_read_u64(py->t, addr, list) || !*list
	    || !pcc_target_read_u64(py->t, *list + py->off_size, &len)) {
		gs->unknown |= field;
		return -1;
	}
	return (int64_t)len;
}

static void read_gc_state(struct pcc_python *py, struct pcc_gc_state *gs,
			  const struct pcc_gc_vars *v)
{
	const struct pcc_layout *l = &py->l;
	read_gc_int(py, gs, v->enabled, PCC_GC_ENABLED, &gs->enabled);
	read_gc_int(py, gs, v->debug, PCC_GC_DEBUG, &gs->debug);
	read_gc_int(py, gs, v->collecting, PCC_GC_COLLECTING, &gs->collecting);
	gs->garbage_len = read_list_len(py, gs, v->garbage, PCC_GC_GARBAGE,
					&gs->garbage_list);
	gs->callbacks_len = read_list_len(py, gs, v->callbacks, PCC_GC_CALLBACKS,
					  &gs->callbacks_list);
	for (int i = 0; i < PCC_GENERATIONS; i++) {
		uint64_t gen = v->generations + (uint64_t)i * l->off[PCC_L_GEN_SIZE];
		gs->list_heads[i] = gen + l->off[PCC_L_GEN_HEAD];
		read_int(py, gen + l->off[PCC_L_GEN_THRESHOLD], &gs->thresholds[i]);
		read_int(py, gen + l->off[PCC_L_GEN_COUNT], &gs->counts[i]);
	}
	if (v->permanent)
		gs->permanent_head = v->permanent + l->off[PCC_L_GEN_HEAD];
}

/*
 * interp->next comes from the target: a list that comes back to an
 * interpreter already read loops, and whatever follows is not another
 * interpreter.  Said once; the list ends there.  Quadratic in the
 * interpreters read, which MAX_INTERPRETERS bounds.
 */
static bool interpreter_seen(struct pcc_python *py, uint64_t interp)
{
	for (size_t i = 0; i < py->gcs.len; i++) {
		if (py->gcs.data[i].interp_addr != interp)
			continue;
		pcc_python_warn(py,
				"the interpreter list loops back to the "
				"interpreter at 0x%llx after %zu interpreters: "
				"it is corrupt, and the loop is not followed",
				(unsigned long long)interp, py->gcs.len);
		return true;
	}
	return false;
}

/* Does the state just read (the last one) share a collector state or a
 * generation list with one before it?  Two interpreters never do: the
 * "interpreter" lies over another one, and walking its lists would walk
 * the same objects again. */
static bool lists_seen(struct pcc_python *py, const struct pcc_gc_state *gs)
{
	uint64_t mine[PCC_GENERATIONS + 1];
	memcpy(mine, gs->list_heads, sizeof(gs->list_heads));
	mine[PCC_GENERATIONS] = gs->permanent_head;
	for (size_t i = 0; i + 1 < py->gcs.len; i++) {
		const struct pcc_gc_state *o = &py->gcs.data[i];
		bool same = gs->state_addr && o->state_addr == gs->state_addr;
		for (int g = 0; g <= PCC_GENERATIONS && !same; g++) {
			if (!mine[g])
				continue;
			for (int k = 0; k < PCC_GENERATIONS; k++)
				same |= o->list_heads[k] == mine[g];
			same |= o->permanent_head == mine[g];
		}
		if (!same)
			continue;
		pcc_python_warn(py,
				"the interpreter at 0x%llx shares the "
				"collector's lists of the interpreter at "
				"0x%llx: the interpreter list is corrupt, and "
				"is not followed further",
				(unsigned long long)gs->interp_addr,
				(unsigned long long)o->interp_addr);
		return true;
	}
	return false;
}

struct pcc_error *pcc_python_read_collectors(struct pcc_python *py,
					     uint64_t interp, uint64_t runtime,
					     const struct pcc_gc_vars *statics)
{
	struct pcc_target *t = py->t;
	const struct pcc_layout *l = &py->l;
	int n = 0;
	for (; interp && n < MAX_INTERPRETERS; n++) {
		if (interpreter_seen(py, interp))
			break;
		struct pcc_gc_state *gs = pcc_gc_state_vec_push(&py->gcs);
		memset(gs, 0, sizeof(*gs));
		gs->interp_addr = interp;
		uint64_t id = (uint64_t)n;
		if (pcc_layout_has(l, PCC_L_INTERP_ID))
			pcc_target_read_u64(t, interp + l->off[PCC_L_INTERP_ID], &id);
		gs->interp_id = (int64_t)id;
		struct pcc_gc_vars vars;
		if (pcc_layout_has(l, PCC_L_INTERP_GC)) {
			gs->state_addr = interp + l->off[PCC_L_INTERP_GC];
			gc_vars_in_struct(l, gs->state_addr, &vars);
		} else if (n == 0 && runtime && pcc_layout_has(l, PCC_L_RUNTIME_GC)) {
			gs->state_addr = runtime + l->off[PCC_L_RUNTIME_GC];
			gs->shared = true;
			gc_vars_in_struct(l, gs->state_addr, &vars);
		} else if (n == 0 && !runtime) {
			vars = *statics;
			gs->shared = true;
		} else {
			py->gcs.len--;
			break;
		}
		read_gc_state(py, gs, &vars);
		if (lists_seen(py, gs)) {
			py->gcs.len--;
			break;
		}
		if (!pcc_target_read_u64(t, interp + l->off[PCC_L_INTERP_NEXT],
					 &interp))
			break;
	}
	if (interp && n == MAX_INTERPRETERS)
		pcc_python_warn(py, "the interpreter list goes on after %d "
				"interpreters (at 0x%llx): it is corrupt, and "
				"only the first %d are analysed",
				MAX_INTERPRETERS, (unsigned long long)interp,
				MAX_INTERPRETERS);
	if (py->gcs.len == 0)
		return pcc_error_create(PCC_ERROR_BAD_DATA,
					"no garbage collector state found");
	return NULL;
}
