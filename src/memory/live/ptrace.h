/* SPDX-License-Identifier: MIT */
#ifndef PCC_LIVE_PTRACE_H
#define PCC_LIVE_PTRACE_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "../../util/error.h"

static inline double pcc_live_elapsed(const struct timespec *a,
				      const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec)
	       + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Detach every stopped thread when a fatal signal arrives (SIGINT, SIGTERM,
 * SIGHUP, SIGPIPE, SIGQUIT, unless ignored); and stop doing so. */
void pcc_live_install_handlers(void);
void pcc_live_restore_handlers(void);
/* Whether such a signal came (then *sig): a long read gives up. */
bool pcc_live_interrupted(int *sig);

/* Forget the threads of an earlier process. */
void pcc_live_threads_reset(void);
/* Seize and interrupt every thread of pid, until a scan made after all
 * known threads stopped finds no new one; *started: when the first was. */
struct pcc_error *pcc_live_seize_all(pid_t pid, struct timespec *started);
/* Detach every thread (they resume, or go back to the stop they were in). */
void pcc_live_detach_all(pid_t pid);
unsigned pcc_live_threads_seized(void);
/* Threads that stopped, and of those, the ones stopped before (state T). */
void pcc_live_threads_count(unsigned *stopped, unsigned *stopped_before);

#endif
