/* SPDX-License-Identifier: MIT */
/*
 * Progress of long work, for the person at the terminal: when a phase has
 * run for a second, one line on stderr that rewrites itself ("pycorecheck:
 * reachability: 2.1M of 5.0M objects, 42%"), cleared when the phase ends.
 * Nothing at all unless enabled (stderr is a terminal, no --quiet): the
 * callers pass a NULL or disabled one freely.
 *
 * Inner loops call pcc_progress_update per item: it counts down and looks
 * at the clock once every PCC_PROGRESS_STRIDE items.  Coarse loops (a copy
 * in 64 MiB pieces, a batch of emulated calls) call pcc_progress_poll.
 */
#ifndef PCC_PROGRESS_H
#define PCC_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

enum { PCC_PROGRESS_STRIDE = 1 << 16 };

struct pcc_progress {
	bool enabled;
	FILE *out;
	double delay; /* seconds a phase runs before the line appears */
	const char *phase, *unit;
	uint64_t total; /* 0: not known */
	uint32_t countdown;
	struct timespec start, last;
	bool shown;
};

/* enabled: stderr is a terminal and the user did not ask for quiet. */
void pcc_progress_init(struct pcc_progress *p, bool enabled, FILE *out);
void pcc_progress_begin(struct pcc_progress *p, const char *phase,
			const char *unit, uint64_t total);
void pcc_progress_poll(struct pcc_progress *p, uint64_t done);
void pcc_progress_end(struct pcc_progress *p);

static inline void pcc_progress_update(struct pcc_progress *p, uint64_t done)
{
	if (p && p->enabled && --p->countdown == 0) {
		p->countdown = PCC_PROGRESS_STRIDE;
		pcc_progress_poll(p, done);
	}
}

#endif
