/* SPDX-License-Identifier: MIT */
/*
 * The files a target maps, from a core's NT_FILE note or a live process's
 * /proc/PID/maps, and how each is found and opened here: one parser of maps
 * lines, one mapping from the target's paths to ours (--sysroot,
 * --executable, a container's root), one policy for opening the file behind
 * a mapping.  The core reader, the live copier and the module search of
 * debuginfo all go through it.
 */
#ifndef PCC_MAPPED_FILES_H
#define PCC_MAPPED_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/vec.h"

/* One NT_FILE entry, or one /proc/PID/maps line with a path. */
struct pcc_mapped_file {
	uint64_t start, end;
	uint64_t offset; /* in bytes */
	char *path;      /* as the target names it, without " (deleted)" */
	/* From /proc/PID/maps only (a core records neither): 0 unknown. */
	uint64_t inode;
	bool deleted;
	/* Set once the file was opened and checked against the core. */
	bool checked;
	bool build_id_mismatch;
};
PCC_VEC(pcc_mapped_file_vec, struct pcc_mapped_file)

struct pcc_mapped_files {
	struct pcc_mapped_file_vec list; /* in the target's order */
	/* Prefix of the target's paths here: --sysroot for a core,
	 * "/proc/PID/root" for a process with its own root (a container);
	 * NULL: the paths are ours. */
	char *root;
	/* --executable: the file read for the mapping at exe_mapping. */
	char *executable;
	/* The path the target maps its executable from, or NULL. */
	char *exe_mapping;
	/* A live process: its /proc/PID/map_files can open a mapping's very
	 * file, even deleted or replaced.  0 for a core. */
	int pid;
	/* /proc/PID/maps as read while the process was stopped (NUL-
	 * terminated, not owned), for libdwfl's module list; NULL for a core. */
	const char *maps_text;
};

/* One line of /proc/PID/maps. */
struct pcc_maps_line {
	uint64_t start, end, offset, inode;
	unsigned dev_major, dev_minor;
	char perms[5];
	const char *path; /* into the line; "" for anonymous memory */
	size_t path_len;  /* without " (deleted)" */
	bool deleted;
};

/*
 * Parse the n bytes at line (no newline in them).  False for anything that
 * is not a mapping (a malformed line, an empty range).
 */
bool pcc_maps_line_parse(const char *line, size_t n, struct pcc_maps_line *out);

/* Record a maps line with a path in m->list. */
void pcc_mapped_files_add_line(struct pcc_mapped_files *m,
			       const struct pcc_maps_line *line);

/* The first mapping of path, or NULL. */
const struct pcc_mapped_file *pcc_mapped_files_find(const struct pcc_mapped_files *m,
						    const char *path);

/*
 * Where a file that the target names is read from here: --executable for
 * the executable, else the path under the root.  Owned by the caller.
 */
char *pcc_mapped_files_local_path(const struct pcc_mapped_files *m,
				  const char *path);

/*
 * Open the file the target maps as path, without blocking and only if it is
 * a regular file (see pcc_target_open_regular).  mapping: the mapping it is
 * opened for (NULL: the first mapping of path, if any).  A live process's
 * file is opened by its path under the root when that is still the inode it
 * maps, else through map_files (a file deleted or replaced since; needs
 * privileges); a core's file by its local path.  Returns the fd, or -1 with
 * errno set; *local (if not NULL) is the name it was opened by, or the
 * target's own name when it came through map_files (owned by the caller).
 */
int pcc_mapped_files_open(const struct pcc_mapped_files *m, const char *path,
			  const struct pcc_mapped_file *mapping, char **local);

void pcc_mapped_files_deinit(struct pcc_mapped_files *m);

#endif
