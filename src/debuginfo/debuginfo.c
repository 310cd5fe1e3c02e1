/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debuginfo.h"
#include "debug_search.h"
#include "../util/sort.h"

struct pcc_debuginfo_impl {
	struct pcc_debuginfo pub;
	Dwfl_Callbacks callbacks;
};

struct find_state {
	Dwfl_Module *found;
	/* Modules whose file could not be opened, for the error message. */
	char *missing;
	bool missing_python_file;
	char *missing_python; /* the first such file named like Python */
	/* Modules without a usable file name ("[pie]", "[dso]": libdwfl's
	 * names when the core names none; garbage from a damaged list). */
	unsigned unnamed;
};

/* --no-default-debuginfo-path: only the --debuginfo-path directories (and
 * debuginfod), not /usr/lib/debug nor .debug next to the file. */
static bool no_default_path;

void pcc_debuginfo_no_default_path(bool on)
{
	no_default_path = on;
}

/* libdwfl's search path: see Dwfl_Callbacks.debuginfo_path. */
static char *default_search_path(const char *extra_path)
{
	if (no_default_path)
		return pcc_xasprintf("-%s", extra_path ? extra_path : "");
	return pcc_xasprintf("-.debug:/usr/lib/debug%s%s", extra_path ? ":" : "",
			     extra_path ? extra_path : "");
}

/*
 * The core being opened, for core_find_elf (libdwfl's callbacks carry no
 * argument of ours).
 */
static const struct pcc_target *core_target;

/*
 * For safe_find_debuginfo and core_find_elf, as long as the debug info
 * opened last lives (libdwfl looks for a module's debug info whenever it is
 * first asked for it): the target, for warnings, and libdwfl's search path.
 */
static struct pcc_target *search_target;
static const char *const *search_path;

/*
 * A path libdwfl's own search would open that is a FIFO or a device (see
 * debug_search.h): said once, and the search is not made.  debug: the
 * search is for the module's debug info, not for its file.
 */
static bool search_is_hazardous(Dwfl_Module *mod, const char *file_name,
				const char *debuglink, bool debug)
{
	const unsigned char *id = NULL;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &id, &vaddr);
	char *hazard = pcc_debug_search_hazard(search_path ? *search_path : NULL,
					       id, len, file_name, debuglink,
					       debug);
	if (!hazard)
		return false;
	const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL,
					    NULL, NULL);
	if (search_target)
		pcc_target_warn(search_target,
				"%s is not a regular file (a FIFO or a device): "
				"the %s of %s is not looked for where it is",
				hazard, debug ? "debug info" : "file",
				name ? name : "a module");
	free(hazard);
	return true;
}

/*
 * Files of a core: --executable for the main executable, then the file
 * under --sysroot, then libdwfl's own search (by build id in the debug
 * directories, then debuginfod when DEBUGINFOD_URLS is set, then the path
 * the core names).
 */
static int core_find_elf(Dwfl_Module *mod, void **userdata, const char *name,
			 Dwarf_Addr base, char **file_name, Elf **elfp)
{
	const struct pcc_target *t = core_target;
	if (t && name && name[0] == '/' && (t->sysroot || t->executable)) {
		char *full = NULL;
		if (t->executable && t->exe_mapping
		    && strcmp(name, t->exe_mapping) == 0)
			full = pcc_xstrdup(t->executable);
		else if (t->sysroot)
			full = pcc_xasprintf("%s%s", t->sysroot, name);
		int fd = full ? pcc_target_open_regular(full) : -1;
		if (fd >= 0) {
			free(*file_name);
			*file_name = full;
			*elfp = NULL;
			return fd;
		}
		free(full);
	}
	int fd = search_is_hazardous(mod, NULL, NULL, false)
			 ? -1
			 : dwfl_build_id_find_elf(mod, userdata, name, base,
						  file_name, elfp);
	/* A name left in *file_name is opened by libdwfl with a plain,
	 * blocking open(): open it here, safely, or take it away. */
	if (fd < 0 && !*elfp && *file_name) {
		fd = pcc_target_open_regular(*file_name);
		if (fd < 0) {
			free(*file_name);
			*file_name = NULL;
		}
	}
	return fd;
}

/*
 * --ignore-build-id: forget the build id the core gives a module whose file
 * does not match it, so that libdwfl takes the file (and looks for its
 * debug info by the file's own build id).
 */
static int forget_mismatched_id(Dwfl_Module *mod, void **userdata,
				const char *name, Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)start;
	const struct pcc_target *t = arg;
	for (size_t i = 0; name && i < t->files.len; i++)
		if (t->files.data[i].build_id_mismatch
		    && strcmp(t->files.data[i].path, name) == 0) {
			static const unsigned char none[1];
			dwfl_module_report_build_id(mod, none, 0, 0);
			break;
		}
	return DWARF_CB_OK;
}

/*
 * The copy of a module's file that debuginfod left in its cache, where
 * libdebuginfod puts it ($DEBUGINFOD_CACHE_PATH, else the XDG cache), or a
 * description when it is not there.  kind: "executable" or "debuginfo".
 */
static char *debuginfod_name(Dwfl_Module *mod, const char *kind)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!urls || !*urls) {
		/* Not from debuginfod: libdwfl read the module's headers from
		 * the core's memory (its file was not found). */
		return pcc_xstrdup(strcmp(kind, "executable") == 0
					   ? "(its image in the core's memory)"
					   : "(a separate debug file)");
	}
	int len = dwfl_module_build_id(mod, &bits, &vaddr);
	if (len <= 0 || len > 64)
		return pcc_xstrdup("(from debuginfod)");
	char hex[129];
	for (int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", bits[i]);
	char *path = pcc_debuginfod_cache_file(hex, kind);
	if (path && access(path, R_OK) == 0)
		return path;
	free(path);
	return pcc_xasprintf("(from debuginfod, build id %s)", hex);
}

static bool module_defines(Dwfl_Module *mod, const char *const *names)
{
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr,
							   NULL, NULL, NULL);
		if (!name || sym.st_shndx == SHN_UNDEF)
			continue;
		for (const char *const *w = names; *w; w++)
			if (strcmp(name, *w) == 0)
				return true;
	}
	return false;
}

static int find_python_module(Dwfl_Module *mod, void **userdata,
			      const char *name, Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)start;
	struct find_state *st = arg;
	static const char *const markers[] = { "_PyRuntime",
					       "_PyGC_generation0", NULL };
	GElf_Addr bias;
	if (!dwfl_module_getelf(mod, &bias)) {
		if (!name || name[0] != '/') {
			/* "[vdso]" needs no file; the others had no name. */
			if (!name || strcmp(name, "[vdso]") != 0)
				st->unnamed++;
			return DWARF_CB_OK;
		}
		const char *base = strrchr(name, '/') + 1;
		if (strstr(base, "python")) {
			st->missing_python_file = true;
			if (!st->missing_python)
				st->missing_python = pcc_xstrdup(name);
		}
		if (!st->missing || strlen(st->missing) < 400) {
			char *m = pcc_xasprintf("%s%s%s", st->missing ? st->missing : "",
						st->missing ? ", " : "", name);
			free(st->missing);
			st->missing = m;
		}
		return DWARF_CB_OK;
	}
	if (module_defines(mod, markers)) {
		st->found = mod;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

/* --no-dwarf: behave as on a machine without the interpreter's debug info
 * (separate debug files are not looked up, DWARF in the module is ignored),
 * so the built-in layouts and exported symbols are what is used. */
static bool ignore_dwarf;

void pcc_debuginfo_ignore_dwarf(bool ignore)
{
	ignore_dwarf = ignore;
}

bool pcc_debuginfo_dwarf_ignored(void)
{
	return ignore_dwarf;
}

static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			Dwarf_Addr base, const char *file_name,
			const char *debuglink_file, GElf_Word debuglink_crc,
			char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
	(void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
	return -1;
}

/* libdwfl's own search, once no path it would open is a FIFO or a device. */
static int safe_find_debuginfo(Dwfl_Module *mod, void **userdata,
			       const char *modname, Dwarf_Addr base,
			       const char *file_name, const char *debuglink_file,
			       GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	if (search_is_hazardous(mod, file_name, debuglink_file, true)) {
		errno = 0;
		return -1;
	}
	int fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base,
					      file_name, debuglink_file,
					      debuglink_crc, debuginfo_file_name);
	/* A name left without a descriptor is opened by libdwfl with a
	 * blocking open(): open it here, safely, or take it away. */
	if (fd < 0 && *debuginfo_file_name) {
		fd = pcc_target_open_regular(*debuginfo_file_name);
		if (fd < 0) {
			free(*debuginfo_file_name);
			*debuginfo_file_name = NULL;
		}
	}
	return fd;
}

static struct pcc_debuginfo_impl *debuginfo_new(struct pcc_target *t,
						const char *extra_path)
{
	struct pcc_debuginfo_impl *impl = pcc_xcalloc(1, sizeof(*impl));
	struct pcc_debuginfo *di = &impl->pub;
	di->debuginfo_path = default_search_path(extra_path);
	impl->callbacks.find_debuginfo = ignore_dwarf ? no_debuginfo
						    : safe_find_debuginfo;
	impl->callbacks.debuginfo_path = &di->debuginfo_path;
	search_target = t;
	search_path = (const char *const *)&di->debuginfo_path;
	return impl;
}

/* Can every unit header of the DWARF be read, up to the end?  A damaged
 * file stops the walk with an error (1 is the normal end). */
static bool dwarf_units_readable(Dwarf *dwarf)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	int rc;
	while ((rc = dwarf_next_unit(dwarf, off, &next, &hsize, NULL, NULL, NULL,
				     NULL, NULL, NULL)) == 0) {
		Dwarf_Die cu;
		if (!dwarf_offdie(dwarf, off + hsize, &cu))
			return false;
		off = next;
	}
	return rc == 1;
}

/* Where path (as the core names it) is read from here, if it is a regular
 * file there; NULL otherwise.  Owned by the caller. */
static char *file_here(const struct pcc_target *t, const char *path)
{
	char *full = t->executable && t->exe_mapping
				     && strcmp(path, t->exe_mapping) == 0
			     ? pcc_xstrdup(t->executable)
			     : pcc_xasprintf("%s%s", t->sysroot ? t->sysroot : "",
					     path);
	struct stat st;
	if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
		return full;
	free(full);
	return NULL;
}

/*
 * What says that a core is of a Python process even when no module of it
 * defines the interpreter's symbols: a mapped libpython or python
 * executable, or the program's name.  NULL when nothing does.
 */
static char *python_evidence(const struct pcc_target *t)
{
	for (size_t i = 0; i < t->files.len; i++) {
		const char *path = t->files.data[i].path;
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (strncmp(base, "libpython", 9) == 0
		    || strncmp(base, "python", 6) == 0)
			return pcc_xasprintf("it maps %s", path);
	}
	if (strncmp(t->prog_name, "python", 6) == 0)
		return pcc_xasprintf("its program is %s", t->prog_name);
	return NULL;
}

/*
 * Find the module that holds the interpreter among the reported ones.  what:
 * the target for messages ("core.123", "process 123 (python3)"); missing_hint:
 * what to do when the interpreter's file cannot be found.
 */
static struct pcc_error *find_python(struct pcc_debuginfo *di,
				     struct pcc_target *t,
				     const char *what, const char *not_python,
				     const char *missing_hint)
{
	struct find_state st = { 0 };
	dwfl_getmodules(di->dwfl, find_python_module, &st, 0);
	if (!st.found) {
		struct pcc_error *err;
		char *here = st.missing_python && t && !t->live
				     ? file_here(t, st.missing_python)
				     : NULL;
		char *evidence = t && !t->live ? python_evidence(t) : NULL;
		if (here)
			err = pcc_error_hint(
				pcc_error_create(PCC_ERROR_INPUT,
						 "%s is damaged: its interpreter %s is "
						 "here (%s), but it cannot be loaded "
						 "as the core describes it (its "
						 "headers or load address in the core "
						 "are damaged)",
						 what, st.missing_python, here),
				"take the core again, or check how it was copied");
		else if (st.missing_python_file)
			err = pcc_error_hint(
				pcc_error_create(PCC_ERROR_INPUT,
						 "the interpreter of %s cannot be "
						 "found: missing %s",
						 what, st.missing),
				"%s", missing_hint);
		else if (evidence)
			err = pcc_error_hint(
				pcc_error_create(PCC_ERROR_INPUT,
						 "%s is damaged: it is the core of a "
						 "Python process (%s), but no module "
						 "in it defines _PyRuntime or "
						 "_PyGC_generation0%s",
						 what, evidence,
						 st.unnamed ? " (its list of loaded "
							      "modules is damaged)"
							    : ""),
				"take the core again, or check how it was copied");
		else
			err = pcc_error_hint(
				pcc_error_create(PCC_ERROR_INPUT,
						 "%s %s: no module defines "
						 "_PyRuntime or _PyGC_generation0",
						 what, not_python),
				st.missing ? "some modules were not found" : "only "
				"CPython processes can be analysed");
		free(here);
		free(evidence);
		free(st.missing);
		free(st.missing_python);
		return err;
	}
	free(st.missing_python);
	free(st.missing);
	di->python = st.found;
	const char *mainfile = NULL, *debugfile = NULL;
	di->python_name = dwfl_module_info(di->python, NULL, NULL, NULL, NULL,
					   NULL, &mainfile, &debugfile);
	di->dwarf = ignore_dwarf ? NULL : dwfl_module_getdwarf(di->python, &di->bias);
	dwfl_module_info(di->python, NULL, NULL, NULL, NULL, NULL, &mainfile,
			 &debugfile);
	/* libdwfl keeps no name for what debuginfod gave it. */
	GElf_Addr bias;
	Elf *main_elf = dwfl_module_getelf(di->python, &bias);
	if (!mainfile)
		mainfile = di->fetched_python_file =
			debuginfod_name(di->python, "executable");
	if (di->dwarf && !debugfile && main_elf
	    && dwarf_getelf(di->dwarf) != main_elf)
		debugfile = di->fetched_debug_file =
			debuginfod_name(di->python, "debuginfo");
	di->python_file = mainfile;
	di->debug_file = di->dwarf ? (debugfile ? debugfile : mainfile) : NULL;
	if (di->dwarf && !dwarf_units_readable(di->dwarf)) {
		/* Its layouts cannot be trusted; a built-in table is checked
		 * against the core before it is used. */
		bool apart = di->debug_file && strcmp(di->debug_file, mainfile);
		pcc_target_warn(t, "the debug info of %s%s%s%s is damaged: not all "
				"of its compilation units can be read, so it is "
				"not used", mainfile, apart ? " (in " : "",
				apart ? di->debug_file : "", apart ? ")" : "");
		di->dwarf = NULL;
		di->debug_file = NULL;
	}
	return NULL;
}

struct pcc_error *pcc_debuginfo_open(struct pcc_target *t,
				     const char *extra_path,
				     struct pcc_debuginfo **ret)
{
	struct pcc_debuginfo_impl *impl = debuginfo_new(t, extra_path);
	struct pcc_debuginfo *di = &impl->pub;
	struct pcc_error *err = NULL;

	impl->callbacks.find_elf = core_find_elf;
	core_target = t;
	/* A core from another machine: its debug files may be in the sysroot
	 * too, where its distribution puts them. */
	if (t->sysroot && !no_default_path) {
		char *path = pcc_xasprintf("%s:%s/usr/lib/debug",
					   di->debuginfo_path, t->sysroot);
		free(di->debuginfo_path);
		di->debuginfo_path = path;
	}
	di->dwfl = dwfl_begin(&impl->callbacks);
	if (!di->dwfl) {
		err = pcc_error_create(PCC_ERROR_BAD_DATA, "libdwfl: %s",
				       dwfl_errmsg(-1));
		goto fail;
	}
	dwfl_report_begin(di->dwfl);
	/* libdwfl opens the executable it is given with a blocking open():
	 * only a regular file is given. */
	const char *exe = t->executable ? t->executable : t->exe_path;
	int exe_fd = exe ? pcc_target_open_regular(exe) : -1;
	if (exe_fd >= 0)
		close(exe_fd);
	else
		exe = NULL;
	int n = dwfl_core_file_report(di->dwfl, t->core_elf, exe);
	if (dwfl_report_end(di->dwfl, NULL, NULL) != 0 || n < 0) {
		err = pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "%s is damaged: its modules cannot be "
					 "listed (%s)", t->core_path,
					 pcc_error_library_text(dwfl_errmsg(-1))),
			"take the core again, or check how it was copied");
		goto fail;
	}
	if (t->ignore_build_id)
		dwfl_getmodules(di->dwfl, forget_mismatched_id, t, 0);
	char *hint = t->sysroot
			     ? pcc_xasprintf("they are not under %s either (or not "
					     "the files the core was written with): "
					     "copy them there with their absolute "
					     "paths, or set DEBUGINFOD_URLS",
					     t->sysroot)
			     : pcc_xstrdup("analyse the core on the machine that "
					   "wrote it, or pass --sysroot DIR with its "
					   "files, or set DEBUGINFOD_URLS");
	err = find_python(di, t, t->core_path,
			  "is not the core of a Python process", hint);
	free(hint);
	if (err)
		goto fail;
	core_target = NULL;
	*ret = di;
	return NULL;
fail:
	core_target = NULL;
	pcc_debuginfo_destroy(di);
	return err;
}

/*
 * The live process being opened, for live_find_elf (libdwfl's callbacks carry
 * no argument of ours): its pid, its root directory ("/proc/PID/root" when
 * it has its own, else ""), and its maps as read while it was stopped.
 */
static pid_t live_pid;
static char live_root[32];
static const char *live_maps;

/* The first mapping of path in live_maps: its range and inode. */
static bool live_maps_lookup(const char *path, unsigned long long *start,
			     unsigned long long *end, unsigned long long *ino)
{
	size_t plen = strlen(path);
	for (const char *line = live_maps; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		int at = -1;
		if (sscanf(line, "%llx-%llx %*s %*x %*x:%*x %llu %n", start, end, ino,
			   &at) == 3 && at > 0 && n - (size_t)at == plen
		    && memcmp(line + at, path, plen) == 0)
			return true;
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

/*
 * Open the file the live process maps as path: through map_files (the very
 * file, even deleted or replaced; needs privileges), else by its path under
 * the process's root, else by its path here, the last two only when the
 * inode is still the one mapped.  *shown: the name to show for it.
 */
static int live_open(const char *path, char **shown)
{
	unsigned long long start, end, ino;
	bool mapped = live_maps_lookup(path, &start, &end, &ino);
	char *by_path = NULL;
	int fd = -1;
	for (int how = 0; how < 3 && fd < 0; how++) {
		char *full;
		if (how == 0) {
			if (!mapped)
				continue;
			full = pcc_xasprintf("/proc/%d/map_files/%llx-%llx",
					     (int)live_pid, start, end);
		} else if (how == 1) {
			if (!live_root[0])
				continue;
			full = pcc_xasprintf("%s%s", live_root, path);
		} else {
			full = pcc_xstrdup(path);
		}
		fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		struct stat st;
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)
				|| (how > 0 && mapped && st.st_ino != ino))) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0 && how > 0)
			by_path = full;
		else
			free(full);
	}
	if (fd >= 0 && shown) {
		/* The name under our root if it is the same file there. */
		*shown = by_path ? by_path : pcc_xstrdup(path);
		by_path = NULL;
	}
	free(by_path);
	return fd;
}

/*
 * dwfl_linux_proc_find_elf, with the files found as live_open finds them;
 * libdwfl's own for the rest (the vDSO).
 */
static int live_find_elf(Dwfl_Module *mod, void **userdata, const char *name,
			 Dwarf_Addr base, char **file_name, Elf **elfp)
{
	if (name && name[0] == '/') {
		int fd = live_open(name, file_name);
		if (fd >= 0) {
			*elfp = NULL;
			return fd;
		}
	}
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name,
					elfp);
}

/*
 * The lines of a maps text that libdwfl should see: not those of data files
 * (locale files, caches), which it would report as modules it cannot open.
 * A file that cannot be read stays, so that a missing interpreter is named.
 */
static char *elf_lines_only(const char *text)
{
	size_t len = strlen(text);
	char *out = pcc_xmalloc(len + 1), *o = out;
	char last[4096] = "";
	bool keep_last = true;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
		const char *path = memchr(line, '/', n);
		bool keep = true;
		if (path) {
			size_t plen = (size_t)(line + n - path) - (nl ? 1 : 0);
			if (plen < sizeof(last) && memcmp(last, path, plen) == 0
			    && last[plen] == 0) {
				keep = keep_last;
			} else if (plen < sizeof(last)) {
				memcpy(last, path, plen);
				last[plen] = 0;
				int fd = live_open(last, NULL);
				if (fd >= 0) {
					char magic[4];
					keep = pread(fd, magic, 4, 0) == 4
					       && memcmp(magic, "\177ELF", 4) == 0;
					close(fd);
				}
				keep_last = keep;
			}
		}
		if (keep) {
			memcpy(o, line, n);
			o += n;
		}
		line += n;
	}
	*o = 0;
	return out;
}

struct pcc_error *pcc_debuginfo_open_live(struct pcc_target *t,
					  const char *extra_path,
					  struct pcc_debuginfo **ret)
{
	struct pcc_debuginfo_impl *impl = debuginfo_new(t, extra_path);
	struct pcc_debuginfo *di = &impl->pub;
	struct pcc_error *err = NULL;
	char *what = t->prog_name[0]
			     ? pcc_xasprintf("process %d (%s)", t->pid, t->prog_name)
			     : pcc_xasprintf("process %d", t->pid);

	live_pid = t->pid;
	memcpy(live_root, t->proc_root, sizeof(live_root));
	live_root[sizeof(live_root) - 1] = 0;
	live_maps = t->maps_text;
	impl->callbacks.find_elf = live_find_elf;
	di->dwfl = dwfl_begin(&impl->callbacks);
	if (!di->dwfl) {
		err = pcc_error_create(PCC_ERROR_BAD_DATA, "libdwfl: %s",
				       dwfl_errmsg(-1));
		goto fail;
	}
	/* The maps as they were while the process was stopped, so that the
	 * modules match the copy even if it mapped or exited since. */
	dwfl_report_begin(di->dwfl);
	int rc;
	if (t->maps_text) {
		char *text = elf_lines_only(t->maps_text);
		rc = 0; /* no ELF file at all: not Python, said below */
		if (*text) {
			FILE *f = fmemopen(text, strlen(text), "r");
			if (!f) {
				free(text);
				err = pcc_error_os("fmemopen");
				goto fail;
			}
			rc = dwfl_linux_proc_maps_report(di->dwfl, f);
			fclose(f);
		}
		free(text);
	} else {
		rc = dwfl_linux_proc_report(di->dwfl, t->pid);
	}
	if (dwfl_report_end(di->dwfl, NULL, NULL) != 0 || rc != 0) {
		if (rc > 0)
			errno = rc;
		err = rc == ENOENT ? pcc_error_create(PCC_ERROR_INPUT,
						      "%s exited before its modules "
						      "were read", what)
		      : rc > 0 ? pcc_error_os("cannot list the modules of %s", what)
			       : pcc_error_create(PCC_ERROR_INPUT,
						  "cannot list the modules of %s: %s",
						  what,
						  pcc_error_library_text(dwfl_errmsg(-1)));
		goto fail;
	}
	err = find_python(di, t, what, "is not a Python process",
			  "its files must be readable from here (the same "
			  "user, or root)");
	if (err)
		goto fail;
	free(what);
	*ret = di;
	return NULL;
fail:
	free(what);
	pcc_debuginfo_destroy(di);
	return err;
}

void pcc_debuginfo_destroy(struct pcc_debuginfo *di)
{
	if (!di)
		return;
	pcc_debuginfo_free_traverse_structs(di);
	if (di->dwfl)
		dwfl_end(di->dwfl);
	if (search_path == (const char *const *)&di->debuginfo_path) {
		search_path = NULL;
		search_target = NULL;
	}
	free(di->debuginfo_path);
	free(di->fetched_python_file);
	free(di->fetched_debug_file);
	free(di->symbol_names);
	free(di->symbols);
	free(di);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void pcc_debuginfo_load_symbols(struct pcc_debuginfo *di,
				const char *const *names, size_t n)
{
	free(di->symbol_names);
	free(di->symbols);
	di->symbol_names = pcc_xcalloc(n, sizeof(char *));
	di->symbols = pcc_xcalloc(n, sizeof(struct pcc_symbol));
	di->nsymbols = n;
	memcpy(di->symbol_names, names, n * sizeof(char *));
	pcc_sort(di->symbol_names, n, sizeof(char *), str_cmp);
	for (size_t i = 0; i < n; i++)
		di->symbols[i].name = di->symbol_names[i];

	int count = dwfl_module_getsymtab(di->python);
	for (int i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(di->python, i, &sym,
							   &addr, NULL, NULL, NULL);
		if (!name || sym.st_shndx == SHN_UNDEF)
			continue;
		/* LTO and IPA clones rename local functions
		 * ("subtype_traverse.lto_priv.0"); the clone is the function.
		 * ".cold" and ".part" pieces are fragments, not entry points. */
		char base[128];
		const char *dot = strchr(name, '.');
		bool suffixed = dot != NULL;
		if (suffixed) {
			if (strstr(dot, ".cold") || strstr(dot, ".part")
			    || (size_t)(dot - name) >= sizeof(base))
				continue;
			memcpy(base, name, (size_t)(dot - name));
			base[dot - name] = 0;
			name = base;
		}
		char **hit = bsearch(&name, di->symbol_names, n, sizeof(char *),
				     str_cmp);
		if (!hit)
			continue;
		struct pcc_symbol *s = &di->symbols[hit - di->symbol_names];
		/* Prefer the exact name, then a definition with a size. */
		if (!s->addr || (s->suffixed && !suffixed)
		    || (s->suffixed == suffixed && !s->size && sym.st_size)) {
			s->suffixed = suffixed;
			s->addr = addr;
			s->size = sym.st_size;
		}
	}
}

uint64_t pcc_debuginfo_symbol(const struct pcc_debuginfo *di, const char *name,
			      uint64_t *size_ret)
{
	char **hit = bsearch(&name, di->symbol_names, di->nsymbols,
			     sizeof(char *), str_cmp);
	if (!hit)
		return 0;
	const struct pcc_symbol *s = &di->symbols[hit - di->symbol_names];
	if (size_ret)
		*size_ret = s->size;
	return s->addr;
}

/* Does a unit or FILE symbol name ("Modules/gcmodule.c", "./x/gcmodule.c",
 * "gcmodule.c") name the source file file? */
static bool same_source(const char *path, const char *file)
{
	size_t n = strlen(path), m = strlen(file);
	return n >= m && strcmp(path + n - m, file) == 0
	       && (n == m || path[n - m - 1] == '/');
}

/* A file-scope variable of one unit of the DWARF: its address (unbiased). */
static bool dwarf_static_var(Dwarf *dwarf, const char *file, const char *name,
			     uint64_t *addr, uint64_t *size)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_next_unit(dwarf, off, &next, &hsize, NULL, NULL, NULL, NULL,
			       NULL, NULL) == 0) {
		Dwarf_Die cu, child;
		const char *cuname;
		if (!dwarf_offdie(dwarf, off + hsize, &cu)
		    || !(cuname = dwarf_diename(&cu)) || !same_source(cuname, file)
		    || dwarf_child(&cu, &child) != 0) {
			off = next;
			continue;
		}
		do {
			const char *n;
			if (dwarf_tag(&child) != DW_TAG_variable
			    || !(n = dwarf_diename(&child)) || strcmp(n, name) != 0)
				continue;
			Dwarf_Attribute attr;
			Dwarf_Op *expr;
			size_t len;
			if (!dwarf_attr(&child, DW_AT_location, &attr)
			    || dwarf_getlocation(&attr, &expr, &len) != 0 || len != 1)
				continue;
			Dwarf_Addr a;
			if (expr[0].atom == DW_OP_addr) {
				a = expr[0].number;
			} else {
				/* DW_OP_addrx (DWARF 5): the address is in .debug_addr. */
				Dwarf_Attribute res;
				if (dwarf_getlocation_attr(&attr, &expr[0], &res) != 0
				    || dwarf_formaddr(&res, &a) != 0)
					continue;
			}
			Dwarf_Die type;
			Dwarf_Word bytes = 0;
			if (dwarf_attr_integrate(&child, DW_AT_type, &attr)
			    && dwarf_formref_die(&attr, &type))
				dwarf_aggregate_size(&type, &bytes);
			*addr = a;
			*size = bytes;
			return true;
		} while (dwarf_siblingof(&child, &child) == 0);
		off = next;
	}
	return false;
}

uint64_t pcc_debuginfo_static_symbol(const struct pcc_debuginfo *di,
				     const char *file, const char *name,
				     uint64_t *size_ret)
{
	uint64_t addr, size = 0;
	if (di->dwarf && dwarf_static_var(di->dwarf, file, name, &addr, &size)) {
		if (size_ret)
			*size_ret = size;
		return addr + di->bias;
	}
	/* Without DWARF, the symbol table groups local symbols after the
	 * FILE symbol of their source file (libdwfl keeps .symtab's order).
	 * Names as common as "enabled" or "debug" are static in other files
	 * too: only the group of this file counts.  LTO renames them
	 * ("enabled.lto_priv.0"); the exact name wins over such a clone. */
	int count = dwfl_module_getsymtab(di->python);
	bool in_file = false;
	size_t len = strlen(name);
	uint64_t found = 0, found_size = 0;
	for (int i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Addr a;
		const char *n = dwfl_module_getsym_info(di->python, i, &sym, &a,
							NULL, NULL, NULL);
		if (!n)
			continue;
		if (GELF_ST_TYPE(sym.st_info) == STT_FILE) {
			in_file = same_source(n, file);
			continue;
		}
		if (!in_file || GELF_ST_BIND(sym.st_info) != STB_LOCAL
		    || GELF_ST_TYPE(sym.st_info) != STT_OBJECT
		    || sym.st_shndx == SHN_UNDEF || strncmp(n, name, len) != 0
		    || (n[len] != 0 && n[len] != '.'))
			continue;
		if (n[len] == 0 || !found) {
			found = a;
			found_size = sym.st_size;
		}
		if (n[len] == 0)
			break;
	}
	if (found && size_ret)
		*size_ret = found_size;
	return found;
}

bool pcc_debuginfo_has_local_symbols(const struct pcc_debuginfo *di)
{
	int count = dwfl_module_getsymtab(di->python);
	for (int i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Addr a;
		if (dwfl_module_getsym_info(di->python, i, &sym, &a, NULL, NULL,
					    NULL)
		    && GELF_ST_TYPE(sym.st_info) == STT_FILE)
			return true;
	}
	return false;
}

struct extension_state {
	Dwarf **out;
	size_t max, n;
};

/* Does the file itself carry DWARF?  Separate debug files of extension
 * modules are not looked for: that could ask a debuginfod server once per
 * module. */
static bool has_debug_info(Elf *elf)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr shdr;
		const char *name;
		if (gelf_getshdr(scn, &shdr)
		    && (name = elf_strptr(elf, shstrndx, shdr.sh_name))
		    && strcmp(name, ".debug_info") == 0)
			return shdr.sh_type != SHT_NOBITS;
	}
	return false;
}

static int collect_extension(Dwfl_Module *mod, void **userdata,
			     const char *name, Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)start;
	(void)name; /* a core names its modules by their file's base name */
	struct extension_state *st = arg;
	Dwarf_Addr bias;
	const char *file = NULL;
	Elf *elf;
	Dwarf *dwarf;
	if (st->n < st->max && (elf = dwfl_module_getelf(mod, &bias))
	    && dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &file, NULL)
	    && file && strstr(file, "/lib-dynload/") && has_debug_info(elf)
	    && (dwarf = dwfl_module_getdwarf(mod, &bias)))
		st->out[st->n++] = dwarf;
	return DWARF_CB_OK;
}

size_t pcc_debuginfo_extension_dwarf(struct pcc_debuginfo *di, Dwarf **out,
				     size_t max)
{
	struct extension_state st = { out, max, 0 };
	if (!ignore_dwarf)
		dwfl_getmodules(di->dwfl, collect_extension, &st, 0);
	return st.n;
}
