/* SPDX-License-Identifier: MIT */
#ifndef PCC_LIVE_PLAN_H
#define PCC_LIVE_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../memory.h"

struct map_entry {
	/* Its path is NUL-terminated in the maps text, " (deleted)" and all. */
	struct pcc_maps_line line;
	enum { M_SKIP, M_COPY, M_FILE } how;
	bool copy_all; /* every page, not only those pagemap says are there */
	const uint8_t *file_data; /* M_FILE */
	uint64_t file_len;        /* bytes of the mapping the file covers */
	uint8_t *local;           /* M_COPY: where its copy goes */
	size_t run_first, run_end; /* M_COPY: its runs in the plan */
};
PCC_VEC(map_entry_vec, struct map_entry)

struct file_image {
	uint64_t inode;
	unsigned dev_major, dev_minor;
	const uint8_t *data;
	uint64_t size;
	bool failed;
};
PCC_VEC(file_image_vec, struct file_image)

struct run {
	uint64_t remote;
	uint64_t len;
	uint8_t *local;
};
PCC_VEC(run_vec, struct run)

/*
 * What to do with each mapping.  Made twice: once before the process is
 * stopped (an estimate, to prepare the copy buffer: faulting in fresh pages
 * is most of the cost of a copy, and is best paid before the pause), and
 * again while it is stopped (the truth).
 */
struct plan {
	struct map_entry_vec maps;
	struct run_vec runs; /* of the copied mappings, in address order */
	uint64_t copy_bytes;
};

/*
 * Parse text (in place) and decide per mapping.  estimate: before the stop
 * (files are opened into images, for later, but nothing is recorded in t).
 */
void pcc_live_plan(struct pcc_target *t, pid_t pid, char *text, bool estimate,
		   struct file_image_vec *images, struct plan *p);
void pcc_live_plan_free(struct plan *p);

#endif
