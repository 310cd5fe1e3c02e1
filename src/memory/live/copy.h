/* SPDX-License-Identifier: MIT */
#ifndef PCC_LIVE_COPY_H
#define PCC_LIVE_COPY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"

/*
 * The copy goes into windows of host memory that mirror stretches of the
 * target's address space: a copied mapping inside a window lands at the same
 * offset from the window's start as its address, so that pages prepared for
 * the estimate line up with the truth even after the mapping grew or shrank
 * a little (a heap growing between the two), and each mapping stays
 * contiguous (an object may span pages, touched or not).
 */
struct window {
	uint64_t start, end; /* target addresses */
	uint8_t *local;
};
PCC_VEC(window_vec, struct window)

struct hole {
	uint64_t start, end;
};
PCC_VEC(hole_vec, struct hole)

/* From the estimate: windows around the copied mappings, prepared. */
void pcc_live_make_windows(struct pcc_target *t, const struct plan *est,
			   struct window_vec *w);
/* Host memory for every copied mapping of the plan; false: out of memory. */
bool pcc_live_place_mappings(struct pcc_target *t, struct plan *p,
			     const struct window_vec *w);
/*
 * Read the runs; a page that cannot be read becomes a hole and the read goes
 * on after it.  *used_mem: it went through /proc/PID/mem.
 */
struct pcc_error *pcc_live_read_runs(pid_t pid, const struct run_vec *runs,
				     long page, struct hole_vec *holes,
				     bool *used_mem, struct pcc_progress *progress);

#endif
