/* SPDX-License-Identifier: MIT */
#ifndef PCC_DEBUG_SEARCH_H
#define PCC_DEBUG_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * libdwfl looks for a module's files itself: by build id in every debug
 * directory, by .gnu_debuglink name next to the file and under the debug
 * directories, the dwz file a debug file names, debuginfod's cache.  It
 * opens each candidate with a blocking open(), so a FIFO planted in one of
 * those places (a sysroot's usr/lib/debug, a --debuginfo-path directory)
 * would stop pycorecheck for good, and a device would be read without end.
 *
 * pcc_debug_search_hazard returns the first candidate that exists and is
 * neither a regular file nor a directory (malloc'd), or NULL when libdwfl
 * may search safely.  The build id paths are taken in libdwfl's order, which
 * ends at the first that exists (libdwfl then looks no further); the names
 * after them are a superset of what libdwfl 0.188-0.192 tries: an extra
 * path that is absent or regular costs a stat.
 *
 *   search_path  libdwfl's Dwfl_Callbacks.debuginfo_path
 *   build_id     the module's, or NULL (len <= 0)
 *   file_name    the module's main file (or, for the dwz lookup, its debug
 *                file), or NULL
 *   debuglink    the .gnu_debuglink name (or the dwz file's name), or NULL
 *   debug        true: the debug info is looked for (build id paths end in
 *                ".debug", the dwz file named in file_name too); false: the
 *                ELF file itself (find_elf)
 */
char *pcc_debug_search_hazard(const char *search_path,
			      const unsigned char *build_id, int build_id_len,
			      const char *file_name, const char *debuglink,
			      bool debug);

/* Where libdebuginfod keeps its copy of a file (kind: "debuginfo" or
 * "executable"): $DEBUGINFOD_CACHE_PATH, else the XDG cache.  NULL when
 * neither HOME nor a cache directory is set. */
char *pcc_debuginfod_cache_file(const char *hex_build_id, const char *kind);

#endif
