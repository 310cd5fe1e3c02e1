/* SPDX-License-Identifier: MIT */
/*
 * What a report says about where its heap came from: the core or process,
 * the interpreter, where the layout came from, what went wrong on the way.
 * Copied out of the lower layers so that results outlive them.
 */
#ifndef PCC_ORIGIN_H
#define PCC_ORIGIN_H

#include "../util/vec.h"

struct pcc_python;

struct pcc_origin {
	bool live;
	char *core_path;   /* NULL for a live process */
	char *compression; /* NULL for a live process */
	int pid, signal;
	double pause_seconds; /* live: how long the target was stopped */
	unsigned threads;     /* live: threads stopped and read */
	char *prog_name;      /* "" if the core does not say */
	char *executable;     /* the file, else prog_name */
	char *python_version;
	char *python_module;  /* NULL if unknown */
	/* Without DWARF: the built-in table; NULL with DWARF. */
	char *layout_source;
	char *dwarf_source; /* with DWARF: the file it was read from, or NULL */
	struct pcc_string_vec warnings; /* found while opening */
};

void pcc_python_origin(const struct pcc_python *py, struct pcc_origin *out);
void pcc_origin_deinit(struct pcc_origin *o);

#endif
