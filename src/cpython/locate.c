/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "locate.h"

const char *const pcc_python_library_names[] = { "libpython", NULL };

static const char *const interpreter_symbols[] = { "_PyRuntime",
						    "_PyGC_generation0", NULL };

/* Where path (as the core names it) is read from here, if it is a regular
 * file there; NULL otherwise.  Owned by the caller. */
static char *file_here(const struct pcc_target *t, const char *path)
{
	char *full = pcc_mapped_files_local_path(&t->files, path);
	struct stat st;
	if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
		return full;
	free(full);
	return NULL;
}

static bool named_like_python(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (const char *const *p = pcc_python_library_names; *p; p++)
		if (strncmp(base, *p, strlen(*p)) == 0)
			return true;
	return strncmp(base, "python", 6) == 0;
}

/*
 * What says that a core is of a Python process even when no module of it
 * defines the interpreter's symbols: a mapped libpython or python
 * executable, or the program's name.  NULL when nothing does.
 */
static char *python_evidence(const struct pcc_target *t)
{
	for (size_t i = 0; i < t->files.list.len; i++) {
		const char *path = t->files.list.data[i].path;
		if (named_like_python(path))
			return pcc_xasprintf("it maps %s", path);
	}
	if (strncmp(t->prog_name, "python", 6) == 0)
		return pcc_xasprintf("its program is %s", t->prog_name);
	return NULL;
}

/* What to do when the interpreter's file cannot be found. */
static char *missing_hint(const struct pcc_target *t)
{
	if (t->live)
		return pcc_xstrdup("its files must be readable from here (the "
				   "same user, or root)");
	if (t->files.root)
		return pcc_xasprintf("they are not under %s either (or not the "
				     "files the core was written with): copy "
				     "them there with their absolute paths, or "
				     "set DEBUGINFOD_URLS", t->files.root);
	return pcc_xstrdup("analyse the core on the machine that wrote it, or "
			   "pass --sysroot DIR with its files, or set "
			   "DEBUGINFOD_URLS");
}

static struct pcc_error *not_found(struct pcc_target *t,
				   const struct pcc_module_search *s)
{
	const char *damaged_hint = "take the core again, or check how it was "
				   "copied";
	char *what = pcc_target_name(t);
	char *here = s->missing_named && !t->live
			     ? file_here(t, s->missing_named) : NULL;
	char *evidence = !t->live ? python_evidence(t) : NULL;
	struct pcc_error *err;
	if (here) {
		err = pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "%s is damaged: its interpreter %s is "
					 "here (%s), but it cannot be loaded as "
					 "the core describes it (its headers or "
					 "load address in the core are damaged)",
					 what, s->missing_named, here),
			"%s", damaged_hint);
	} else if (s->missing_named) {
		char *hint = missing_hint(t);
		err = pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "the interpreter of %s cannot be found: "
					 "missing %s", what, s->missing),
			"%s", hint);
		free(hint);
	} else if (evidence) {
		err = pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "%s is damaged: it is the core of a "
					 "Python process (%s), but no module in "
					 "it defines _PyRuntime or "
					 "_PyGC_generation0%s",
					 what, evidence,
					 s->unnamed ? " (its list of loaded "
						      "modules is damaged)"
						    : ""),
			"%s", damaged_hint);
	} else {
		err = pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "%s %s: no module defines _PyRuntime or "
					 "_PyGC_generation0", what,
					 t->live ? "is not a Python process"
						 : "is not the core of a Python "
						   "process"),
			s->missing ? "some modules were not found"
				   : "only CPython processes can be analysed");
	}
	free(here);
	free(evidence);
	free(what);
	return err;
}

struct pcc_error *pcc_python_locate(struct pcc_target *t,
				    struct pcc_debuginfo *di)
{
	struct pcc_module_search s;
	pcc_debuginfo_find_module(di, interpreter_symbols, "python", &s);
	struct pcc_error *err = NULL;
	if (s.found)
		pcc_debuginfo_use_module(di, s.found);
	else
		err = not_found(t, &s);
	pcc_module_search_deinit(&s);
	return err;
}
