/* SPDX-License-Identifier: MIT */
/*
 * Work shared by a few threads: the passes over the whole heap whose
 * objects are independent (reading headers, subtracting references,
 * marking).  The caller is one of the threads; when no thread can be
 * made, the work still runs, on the caller, one share after the other.
 */
#ifndef PCC_PARALLEL_H
#define PCC_PARALLEL_H

#include <stdint.h>

enum {
	/* Beyond this the passes are bound by memory, not cores. */
	PCC_PARALLEL_MAX = 8,
};

/* The CPUs this process may run on, between 1 and PCC_PARALLEL_MAX. */
unsigned pcc_parallel_cpus(void);

typedef void pcc_parallel_fn(void *ctx, unsigned share, unsigned shares);

/*
 * Run fn(ctx, i, shares) for every i below shares (at most
 * PCC_PARALLEL_MAX), each on its own thread when threads can be made.
 * Returns once all have returned.  fn must not wait for a share that has
 * not started: they may run one after the other.
 */
void pcc_parallel_run(unsigned shares, pcc_parallel_fn *fn, void *ctx);

/* Split n items into shares: [*begin, *end) is share i's. */
static inline void pcc_parallel_range(unsigned share, unsigned shares,
				      uint32_t n, uint32_t *begin, uint32_t *end)
{
	*begin = (uint32_t)((uint64_t)n * share / shares);
	*end = (uint32_t)((uint64_t)n * (share + 1) / shares);
}

#endif
