/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>

#include "parallel.h"

unsigned pcc_parallel_cpus(void)
{
	long n = 0;
#ifdef CPU_COUNT
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
#endif
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	return n > PCC_PARALLEL_MAX ? PCC_PARALLEL_MAX : (unsigned)n;
}

struct share {
	pcc_parallel_fn *fn;
	void *ctx;
	unsigned index, count;
};

static void *run_share(void *arg)
{
	struct share *s = arg;
	s->fn(s->ctx, s->index, s->count);
	return NULL;
}

void pcc_parallel_run(unsigned shares, pcc_parallel_fn *fn, void *ctx)
{
	if (shares < 1)
		shares = 1;
	if (shares > PCC_PARALLEL_MAX)
		shares = PCC_PARALLEL_MAX;
	struct share s[PCC_PARALLEL_MAX];
	pthread_t threads[PCC_PARALLEL_MAX];
	bool started[PCC_PARALLEL_MAX] = { false };
	for (unsigned i = 0; i < shares; i++)
		s[i] = (struct share){ fn, ctx, i, shares };
	for (unsigned i = 1; i < shares; i++)
		started[i] = pthread_create(&threads[i], NULL, run_share, &s[i]) == 0;
	fn(ctx, 0, shares);
	for (unsigned i = 1; i < shares; i++) {
		if (started[i])
			pthread_join(threads[i], NULL);
		else
			fn(ctx, i, shares);
	}
}
