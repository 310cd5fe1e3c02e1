/* SPDX-License-Identifier: MIT */
/*
 * The phases of an analysis, in their order.  Each reads what the ones
 * before it left in the heap, and nothing reads the target after the
 * results are built.
 *
 *   walk          py's generation lists  -> heap: sorted addresses, the
 *                                           block index, type ids, sizes
 *                                           (but the dicts'), flags
 *                                           (immortal, held), emulated
 *                                           referents kept in py
 *   reachability  heap, watched files    -> gc_refs, PCC_OBJ_REACHABLE,
 *                                           the unreachable set (ascending),
 *                                           each watched object's referrers,
 *                                           the dicts' sizes (their keys
 *                                           read by the traversal)
 *   cycles        the unreachable set    -> groups, group_of; gc_refs is
 *                                           reused for positions
 *   files         reachability, referrers-> open files, leaked ones, holders
 *   health        all of the above       -> diagnoses, garbage types
 *   memory        heap, permanent gen.   -> the graph's other nodes: what
 *                                           the tracked objects hold that is
 *                                           not tracked, with types, sizes
 *   histogram     heap, other nodes      -> the graph's objects by type
 *   check         heap                   -> traversal differences
 *   results       all of the above       -> struct pcc_result
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "run.h"

static const char *const phase_names[PCC_PHASE_COUNT] = {
	[PCC_PHASE_WALK] = "walk the GC lists and emulate traversals",
	[PCC_PHASE_REACHABILITY] = "reachability",
	[PCC_PHASE_CYCLES] = "cycles",
	[PCC_PHASE_FILES_HEALTH] = "files and health",
	[PCC_PHASE_MEMORY] = "memory graph",
	[PCC_PHASE_HISTOGRAM] = "type histogram",
	[PCC_PHASE_CHECK] = "check traversals",
	[PCC_PHASE_RESULTS] = "results",
};

const char *pcc_phase_name(enum pcc_phase phase)
{
	return phase < PCC_PHASE_COUNT ? phase_names[phase] : "?";
}

static void phase_done(pcc_phase_done_fn *done, void *ctx,
		       enum pcc_phase phase, const struct pcc_heap *h)
{
	if (done)
		done(ctx, phase, h);
}

void pcc_analysis_run(struct pcc_analysis *a, struct pcc_python *py,
		      const struct pcc_analysis_options *o,
		      pcc_phase_done_fn *done, void *ctx)
{
	memset(a, 0, sizeof(*a));
	struct pcc_heap *h = &a->heap;
	struct pcc_progress *saved = pcc_python_set_progress(py, o->progress);
	pcc_progress_begin(o->progress, "walk the GC lists", "objects", 0);
	pcc_heap_build(h, py, o->max_objects, o->emulate, o->threads);
	pcc_progress_end(o->progress);
	h->progress = o->progress;
	phase_done(done, ctx, PCC_PHASE_WALK, h);

	/* The reachability pass visits every reference: it writes down the
	 * referrers of the file objects on the way, for the files phase. */
	pcc_heap_watch_files(h);
	pcc_heap_find_unreachable(h);
	phase_done(done, ctx, PCC_PHASE_REACHABILITY, h);
	/* The references the marking pass followed: for no later phase. */
	pcc_heap_drop_edges(h);

	pcc_heap_group_cycles(h);
	phase_done(done, ctx, PCC_PHASE_CYCLES, h);

	pcc_heap_find_files(h, o->same_path_threshold);
	pcc_heap_check_health(h);
	phase_done(done, ctx, PCC_PHASE_FILES_HEALTH, h);

	pcc_progress_begin(o->progress, "memory graph", "objects", 0);
	pcc_heap_find_others(h);
	pcc_progress_end(o->progress);
	phase_done(done, ctx, PCC_PHASE_MEMORY, h);

	pcc_heap_count_types(h);
	phase_done(done, ctx, PCC_PHASE_HISTOGRAM, h);

	if (o->check_traversals) {
		uint64_t *objs = pcc_heap_addresses(h);
		pcc_python_check_traversals(py, objs, h->n, &a->check);
		free(objs);
		phase_done(done, ctx, PCC_PHASE_CHECK, h);
	}

	pcc_result_build(&a->result, h, o->check_traversals ? &a->check : NULL);
	phase_done(done, ctx, PCC_PHASE_RESULTS, h);
	pcc_python_set_progress(py, saved);
}

void pcc_analysis_deinit(struct pcc_analysis *a)
{
	pcc_result_deinit(&a->result);
	pcc_traversal_check_free(&a->check);
	pcc_heap_deinit(&a->heap);
}
