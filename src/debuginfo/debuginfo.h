/* SPDX-License-Identifier: MIT */
/*
 * Modules, symbols and DWARF of the target.  This is the only part of
 * pycorecheck that talks to libdwfl; everything above it asks for symbol
 * addresses and struct layouts by name.  It knows ELF and DWARF, not
 * CPython: which module is the interpreter is for cpython/ to say.
 * modules.c reports and searches the modules, symbols.c reads symbols.
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

struct pcc_debuginfo_options {
	/* More directories to search for separate debug info, ':'-separated
	 * (--debuginfo-path), or NULL. */
	const char *extra_path;
	/* Only those directories and debuginfod, not /usr/lib/debug nor
	 * .debug next to the file (--no-default-debuginfo-path). */
	bool no_default_path;
	/* Behave as on a machine without debug info: separate debug files
	 * are not looked up, DWARF in the files is ignored (--no-dwarf). */
	bool ignore_dwarf;
	/* Threads that reading the debug info may use (0 or 1: one). */
	unsigned threads;
};

struct pcc_debuginfo {
	Dwfl *dwfl;
	bool ignore_dwarf;
	unsigned threads; /* pcc_debuginfo_options */
	/* What was found amiss in the files and their DWARF, for the
	 * report. */
	struct pcc_warnings warnings;
	/* The module whose symbols and DWARF are asked for, once chosen
	 * (pcc_debuginfo_use_module); NULL before. */
	Dwfl_Module *module;
	const char *module_name;
	const char *module_file;
	const char *debug_file; /* where its DWARF came from, or NULL */
	Dwarf *dwarf;
	Dwarf_Addr bias;
	char *debuginfo_path; /* owned, for Dwfl_Callbacks */
	/* Names for files that came from debuginfod; module_file and
	 * debug_file may point here. */
	char *fetched_module_file, *fetched_debug_file;
	char **symbol_names;  /* sorted copy of what was asked, for lookups */
	struct pcc_symbol *symbols;
	size_t nsymbols;
	struct pcc_function_structs *function_structs; /* function_struct.c */
};

/*
 * Report the modules of a target: a core's (libdwfl reads them from its
 * notes and memory) or a live process's, read by pcc_target_open_live (and
 * detached since), from the maps read while it was stopped.  Their files
 * are found as the target's mapped files say (mapped_files.h), then by
 * libdwfl's search (build id, debuginfod).  Errors: PCC_ERROR_INPUT when
 * the modules cannot be listed.
 */
struct pcc_error *pcc_debuginfo_open(struct pcc_target *t,
				     const struct pcc_debuginfo_options *o,
				     struct pcc_debuginfo **ret);
void pcc_debuginfo_destroy(struct pcc_debuginfo *di);

/* What a search of the modules found. */
struct pcc_module_search {
	Dwfl_Module *found; /* NULL: none defines the symbols */
	/* Modules whose file could not be found: their names, ", "-joined
	 * (the first few hundred bytes), and the first whose base name
	 * contains the search's `named` (NULL if none). */
	char *missing;
	char *missing_named;
	/* Modules without a usable name ("[pie]", "[dso]": libdwfl's names
	 * when the core names none; garbage from a damaged list). */
	unsigned unnamed;
};

/*
 * The first module whose base name contains named and that defines one of
 * symbols (NULL-ended), else the first module that defines one; with the
 * modules whose file is missing, the first of those whose base name
 * contains named.  pcc_module_search_deinit frees it.
 */
void pcc_debuginfo_find_module(struct pcc_debuginfo *di,
			       const char *const *symbols, const char *named,
			       struct pcc_module_search *out);
void pcc_module_search_deinit(struct pcc_module_search *s);

/*
 * Ask mod for symbols and DWARF from now on.  DWARF that cannot be read to
 * its end is not used, with a warning.
 */
void pcc_debuginfo_use_module(struct pcc_debuginfo *di, Dwfl_Module *mod);

/*
 * Resolve the given symbol names in the chosen module in one pass over
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
 * Does the chosen module's symbol table say which file each local symbol
 * comes from (a .symtab with FILE symbols)?  False for a stripped module,
 * whose .dynsym has exported symbols only: without DWARF, static
 * variables cannot be found there.
 */
bool pcc_debuginfo_has_local_symbols(const struct pcc_debuginfo *di);

/*
 * DWARF carried by the files of other modules whose path contains
 * path_part (an interpreter's extension modules: "/lib-dynload/"), whose
 * structs the chosen module's DWARF lacks: up to max handles in out;
 * returns how many.
 */
size_t pcc_debuginfo_dwarf_of_modules(struct pcc_debuginfo *di,
				      const char *path_part, Dwarf **out,
				      size_t max);

/*
 * The name of the pointer member at byte offset off of the struct that the
 * function at address fn works on (see function_struct.c), from the DWARF
 * of whichever module holds fn; NULL when there is none.  generic: the
 * struct a pointer to which says nothing (code that casts it); min_size:
 * the least size of the struct looked for.  The first answer for fn stays
 * (the same generic and min_size each time).  The string lives as long as
 * di.
 */
const char *pcc_debuginfo_function_struct_member(struct pcc_debuginfo *di,
						 uint64_t fn, int64_t off,
						 const char *generic,
						 uint64_t min_size);
/* For pcc_debuginfo_destroy. */
void pcc_debuginfo_free_function_structs(struct pcc_debuginfo *di);

#endif
