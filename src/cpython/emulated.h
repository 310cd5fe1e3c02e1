/* SPDX-License-Identifier: MIT */
/*
 * Traversals pycorecheck has no code for, run as the type's own machine code
 * in the CPU emulator (memory/emulator.h) once, right after the walk.
 */
#ifndef PCC_EMULATED_H
#define PCC_EMULATED_H

#include "model.h"

struct pcc_emulator;

/*
 * Run, in the CPU emulator, the type's own tp_traverse of every object of
 * objs (n, ascending) whose type pcc_python_needs_emulation says
 * pcc_python_traverse cannot follow itself: from then on their referents
 * are the ones it visited (PCC_KIND_EMULATED).  Objects whose emulation
 * fails stay as they were (unknown, partial).
 */
void pcc_python_emulate_traversals(struct pcc_python *py, const uint64_t *objs,
				   uint32_t n);

/* What the emulation did, for the report. */
struct pcc_emu_fallback {
	uint64_t type;
	uint64_t count;
	int status; /* enum pcc_emu_status */
	const char *reason; /* the status as text (static) */
	uint64_t example; /* one object it happened to */
};
PCC_VEC(pcc_emu_fallback_vec, struct pcc_emu_fallback)
struct pcc_emulation_summary {
	bool ran;          /* some objects needed it */
	const char *unavailable; /* why there was no emulator, or NULL */
	uint64_t objects, types; /* emulated, successfully */
	uint64_t blocks;
	double seconds;
	const char *engine; /* "Unicorn 2.0" */
	struct pcc_emu_fallback_vec fallbacks; /* most objects first */
};
/* Whether this build has the CPU emulator. */
bool pcc_python_emulator_built(void);
/* NULL when no object needed the emulator. */
const struct pcc_emulation_summary *pcc_python_emulation(const struct pcc_python *py);

/* The emulator over the target, started on first use; NULL if there is
 * none (then pcc_python_emulation says why). */
struct pcc_emulator *pcc_python_emulator(struct pcc_python *py);
/* Whether objects of the type are left to the emulator. */
bool pcc_python_needs_emulation(const struct pcc_type_info *ti);

/* For traverse.c: the referents recorded for obj, if it was emulated. */
bool pcc_python_emulated_referents(struct pcc_python *py, uint64_t obj,
				   const uint64_t **refs, uint32_t *n);
/* For traverse.c: visit an emulated object's referents with labels. */
void pcc_python_emulated_labelled(struct pcc_python *py, uint64_t obj,
				  const struct pcc_type_info *ti,
				  const uint64_t *refs, uint32_t n,
				  pcc_visit_fn *visit, void *ctx);
void pcc_python_emulated_free(struct pcc_python *py);

#endif
