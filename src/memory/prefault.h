/* SPDX-License-Identifier: MIT */
/*
 * Page tables filled ahead of the reads.  The walk of the collector's
 * lists is a chain of dependent loads through the whole heap, and on a
 * mapped core it takes a page fault every 64 KiB of it, one after the
 * other.  A second thread maps into our page tables, ahead of it, the
 * pages of each core segment the analysis has started to read -- only
 * those the page cache holds (mincore), so that it never reads from disk
 * what the analysis may not need, and never a segment nobody read.  At
 * the end, the same two threads let go of the pages.
 */
#ifndef PCC_PREFAULT_H
#define PCC_PREFAULT_H

#include "memory.h"

/* Start the thread over t's segments (the list as it is now: segments
 * added later are left alone), and set t->segments_read for the readers
 * to say which they read.  Nothing happens if it cannot start. */
void pcc_prefault_start(struct pcc_target *t);

/* A reader has begun a segment: the thread is to look (prefault.c; for
 * memory.c, once per segment). */
void pcc_prefault_wake(struct pcc_prefault *p);

/* Stop the thread, wait for it, and free what it used (none: nothing). */
void pcc_prefault_stop(struct pcc_target *t);

/* Stop the thread (pcc_prefault_stop) and unmap t's maps: the pages of
 * the big ones let go of on two threads when the thread was there, which
 * halves the kernel's work that an exit would do on one. */
void pcc_prefault_unmap(struct pcc_target *t);

#endif
