/* SPDX-License-Identifier: MIT */
/*
 * One analysis of one heap, phase by phase.  The order, and what each
 * phase hands the next, are written down once, in run.c.
 */
#ifndef PCC_RUN_H
#define PCC_RUN_H

#include "heap.h"
#include "result.h"
#include "../cpython/traversal_check.h"

struct pcc_analysis_options {
	uint64_t max_objects;  /* of the generation lists, all together */
	bool emulate;          /* run unknown traversals in the CPU emulator */
	bool check_traversals; /* compare native traversals with the emulator */
	uint32_t same_path_threshold; /* open handles on one name to warn of */
	struct pcc_progress *progress; /* or NULL */
	unsigned threads; /* for the passes over all objects; 0 = 1 */
};

enum pcc_phase {
	PCC_PHASE_WALK,         /* the snapshot: generation lists, emulation */
	PCC_PHASE_REACHABILITY, /* refcounts, roots, the unreachable set */
	PCC_PHASE_CYCLES,       /* cycles of the unreachable set, grouped */
	PCC_PHASE_FILES_HEALTH, /* open files, leaked ones; the collector */
	PCC_PHASE_MEMORY,       /* what the tracked objects hold, and sizes */
	PCC_PHASE_HISTOGRAM,    /* the memory graph's objects by type */
	PCC_PHASE_CHECK,        /* --check-traversals */
	PCC_PHASE_RESULTS,      /* names and labels resolved for the reports */
	PCC_PHASE_COUNT
};

/* What a phase is called in --stats. */
const char *pcc_phase_name(enum pcc_phase phase);

/* Called as each phase ends (for --stats and progress). */
typedef void pcc_phase_done_fn(void *ctx, enum pcc_phase phase,
			       const struct pcc_heap *h);

struct pcc_analysis {
	struct pcc_heap heap;
	struct pcc_traversal_check check;
	struct pcc_result result;
};

void pcc_analysis_run(struct pcc_analysis *a, struct pcc_python *py,
		      const struct pcc_analysis_options *o,
		      pcc_phase_done_fn *done, void *ctx);
void pcc_analysis_deinit(struct pcc_analysis *a);

#endif
