/* SPDX-License-Identifier: MIT */
/*
 * Modules, symbols and DWARF of the target.  This is the only part of
 * pycorecheck that talks to libdwfl; everything above it asks for symbol
 * addresses and struct layouts by name.
 */
#ifndef PCC_DEBUGINFO_H
#define PCC_DEBUGINFO_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "../memory/memory.h"

struct pcc_symbol {
	const char *name;
	uint64_t addr; /* 0: not found */
	uint64_t size;
	bool suffixed; /* found as name.lto_priv.N or similar */
};

struct pcc_debuginfo {
	Dwfl *dwfl;
	/* The module that holds the interpreter: the executable or libpython. */
	Dwfl_Module *python;
	const char *python_name;
	const char *python_file;
	const char *debug_file; /* where its DWARF came from, or NULL */
	Dwarf *dwarf;
	Dwarf_Addr bias;
	char *debuginfo_path; /* owned, for Dwfl_Callbacks */
	/* Names for files that came from debuginfod; python_file and
	 * debug_file may point here. */
	char *fetched_python_file, *fetched_debug_file;
	char **symbol_names;  /* sorted copy of what was asked, for lookups */
	struct pcc_symbol *symbols;
	size_t nsymbols;
	struct pcc_traverse_structs *traverse_structs; /* traverse_struct.c */
};

/*
 * Report the modules of a core and find the one holding the interpreter: the
 * module that defines _PyRuntime (3.7+) or _PyGC_generation0 (2.7, 3.6).
 * extra_path: more directories to search for separate debug info (may be
 * NULL).  Errors: PCC_ERROR_INPUT when no module is Python.
 */
struct pcc_error *pcc_debuginfo_open(struct pcc_target *t,
				     const char *extra_path,
				     struct pcc_debuginfo **ret);
/*
 * The same for a live process read by pcc_target_open_live (and detached
 * since): the modules come from the maps read while it was stopped, their
 * files through /proc/PID/root when it has another root (a container).
 */
struct pcc_error *pcc_debuginfo_open_live(struct pcc_target *t,
					  const char *extra_path,
					  struct pcc_debuginfo **ret);
void pcc_debuginfo_destroy(struct pcc_debuginfo *di);

/* Look for debug info only in the extra_path directories and through
 * debuginfod, not in the default places (--no-default-debuginfo-path). */
void pcc_debuginfo_no_default_path(bool on);

/* Ignore all debug info from now on (--no-dwarf). */
void pcc_debuginfo_ignore_dwarf(bool ignore);
bool pcc_debuginfo_dwarf_ignored(void);

/*
 * Resolve the given symbol names in the interpreter's module in one pass over
 * its symbol table (the full .symtab when there is one, from the module or
 * its debug file, else .dynsym).  Afterwards pcc_debuginfo_symbol() answers
 * for these names.
 */
void pcc_debuginfo_load_symbols(struct pcc_debuginfo *di,
				const char *const *names, size_t n);
/* Address of a loaded symbol, 0 if absent. */
uint64_t pcc_debuginfo_symbol(const struct pcc_debuginfo *di, const char *name,
			      uint64_t *size_ret);

/*
 * Address of a variable local to one source file ("gcmodule.c",
 * "generations"): static data that no symbol exports, whose name other
 * files may use too.  Found in that unit's DWARF, else in the symbol table
 * among the symbols that follow the file's FILE symbol.  0 if absent.
 */
uint64_t pcc_debuginfo_static_symbol(const struct pcc_debuginfo *di,
				     const char *file, const char *name,
				     uint64_t *size_ret);

/*
 * Does the interpreter's symbol table say which file each local symbol
 * comes from (a .symtab with FILE symbols)?  False for a stripped module,
 * whose .dynsym has exported symbols only: without DWARF, static
 * variables cannot be found there.
 */
bool pcc_debuginfo_has_local_symbols(const struct pcc_debuginfo *di);

/*
 * DWARF of the loaded extension modules of the standard library (files in
 * a lib-dynload directory that carry it), whose structs the interpreter's
 * DWARF lacks: up to max handles in out; returns how many.
 */
size_t pcc_debuginfo_extension_dwarf(struct pcc_debuginfo *di, Dwarf **out,
				     size_t max);

/*
 * The name of the pointer member at byte offset off of the struct that the
 * traversal function at address fn works on (see traverse_struct.c), from
 * the DWARF of whichever module holds fn; NULL when there is none.  The
 * string lives as long as di.
 */
const char *pcc_debuginfo_traverse_member(struct pcc_debuginfo *di,
					  uint64_t fn, int64_t off);
/* For pcc_debuginfo_destroy. */
void pcc_debuginfo_free_traverse_structs(struct pcc_debuginfo *di);

#endif
