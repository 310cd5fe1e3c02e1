/* SPDX-License-Identifier: MIT */
/*
 * The modules of a target as libdwfl reports them, their files found as
 * the target's mapped files say, and the search for the module that
 * defines given symbols.
 *
 * libdwfl's callbacks take no argument of ours, but each module has a
 * pointer for its owner (userdata): once the modules are reported, each
 * gets the debug info's state there, so that nothing is process-wide.
 * libdwfl asks for no file while it reports (it opens what it needs there
 * itself), so every callback sees the state.
 */
#include "config.h"

#include <dwarf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debuginfo.h"
#include "debug_search.h"

struct pcc_debuginfo_impl {
	struct pcc_debuginfo pub;
	Dwfl_Callbacks callbacks;
	struct pcc_target *t; /* for its mapped files */
};

/* The state a callback runs with: NULL before the modules were adopted. */
static struct pcc_debuginfo_impl *state_of(void **userdata)
{
	return userdata ? *userdata : NULL;
}

static int adopt_module(Dwfl_Module *mod, void **userdata, const char *name,
			Dwarf_Addr start, void *arg)
{
	(void)mod, (void)name, (void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

/*
 * A path libdwfl's own search would open that is a FIFO or a device (see
 * debug_search.h): said once, and the search is not made.  debug: the
 * search is for the module's debug info, not for its file.
 */
static bool search_is_hazardous(struct pcc_debuginfo_impl *impl,
				Dwfl_Module *mod, const char *file_name,
				const char *debuglink, bool debug)
{
	const unsigned char *id = NULL;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &id, &vaddr);
	char *hazard = pcc_debug_search_hazard(impl ? impl->pub.debuginfo_path
						    : NULL,
					       id, len, file_name, debuglink,
					       debug);
	if (!hazard)
		return false;
	const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL,
					    NULL, NULL);
	if (impl)
		pcc_warnings_add(&impl->pub.warnings,
				 "%s is not a regular file (a FIFO or a device): "
				 "the %s of %s is not looked for where it is",
				 hazard, debug ? "debug info" : "file",
				 name ? name : "a module");
	free(hazard);
	return true;
}

/* A name left in *file_name is opened by libdwfl with a plain, blocking
 * open(): open it here, safely, or take it away. */
static int open_left_name(int fd, char **file_name)
{
	if (fd < 0 && *file_name) {
		fd = pcc_target_open_regular(*file_name);
		if (fd < 0) {
			free(*file_name);
			*file_name = NULL;
		}
	}
	return fd;
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
	struct pcc_debuginfo_impl *impl = state_of(userdata);
	const struct pcc_mapped_files *files = impl ? &impl->t->files : NULL;
	if (files && name && name[0] == '/' && (files->root || files->executable)) {
		char *local = NULL;
		int fd = pcc_mapped_files_open(files, name, NULL, &local);
		if (fd >= 0) {
			free(*file_name);
			*file_name = local;
			*elfp = NULL;
			return fd;
		}
	}
	int fd = search_is_hazardous(impl, mod, NULL, NULL, false)
			 ? -1
			 : dwfl_build_id_find_elf(mod, userdata, name, base,
						  file_name, elfp);
	return *elfp ? fd : open_left_name(fd, file_name);
}

/*
 * Files of a live process, found as its mapped files say (the very file
 * even when deleted or replaced); libdwfl's own for the rest (the vDSO).
 */
static int live_find_elf(Dwfl_Module *mod, void **userdata, const char *name,
			 Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct pcc_debuginfo_impl *impl = state_of(userdata);
	if (impl && name && name[0] == '/') {
		char *local = NULL;
		int fd = pcc_mapped_files_open(&impl->t->files, name, NULL, &local);
		if (fd >= 0) {
			free(*file_name);
			*file_name = local;
			*elfp = NULL;
			return fd;
		}
	}
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name,
					elfp);
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
	if (search_is_hazardous(state_of(userdata), mod, file_name,
				debuglink_file, true)) {
		errno = 0;
		return -1;
	}
	int fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base,
					      file_name, debuglink_file,
					      debuglink_crc, debuginfo_file_name);
	return open_left_name(fd, debuginfo_file_name);
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
	const struct pcc_mapped_files *files = arg;
	for (size_t i = 0; name && i < files->list.len; i++)
		if (files->list.data[i].build_id_mismatch
		    && strcmp(files->list.data[i].path, name) == 0) {
			static const unsigned char none[1];
			dwfl_module_report_build_id(mod, none, 0, 0);
			break;
		}
	return DWARF_CB_OK;
}

/* libdwfl's search path: see Dwfl_Callbacks.debuginfo_path.  A core from
 * another machine may have its debug files in the sysroot too, where its
 * distribution puts them. */
static char *search_path(const struct pcc_target *t,
			 const struct pcc_debuginfo_options *o)
{
	const char *extra = o->extra_path;
	if (o->no_default_path)
		return pcc_xasprintf("-%s", extra ? extra : "");
	const char *root = !t->live ? t->files.root : NULL;
	return pcc_xasprintf("-.debug:/usr/lib/debug%s%s%s%s%s",
			     extra ? ":" : "", extra ? extra : "",
			     root ? ":" : "", root ? root : "",
			     root ? "/usr/lib/debug" : "");
}

static struct pcc_error *report_core(struct pcc_debuginfo *di,
				     struct pcc_target *t)
{
	dwfl_report_begin(di->dwfl);
	/* libdwfl opens the executable it is given with a blocking open():
	 * only a regular file is given. */
	const char *exe = t->files.executable ? t->files.executable : t->exe_path;
	int exe_fd = exe ? pcc_target_open_regular(exe) : -1;
	if (exe_fd >= 0)
		close(exe_fd);
	else
		exe = NULL;
	int n = dwfl_core_file_report(di->dwfl, t->core_elf, exe);
	if (dwfl_report_end(di->dwfl, NULL, NULL) != 0 || n < 0)
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "%s is damaged: its modules cannot be "
					 "listed (%s)", t->core_path,
					 pcc_error_library_text(dwfl_errmsg(-1))),
			"take the core again, or check how it was copied");
	return NULL;
}

/*
 * The lines of a maps text that libdwfl should see: not those of data files
 * (locale files, caches), which it would report as modules it cannot open.
 * A file that cannot be read stays, so that a missing interpreter is named.
 */
static char *elf_lines_only(const struct pcc_mapped_files *files,
			    const char *text)
{
	size_t len = strlen(text);
	char *out = pcc_xmalloc(len + 1), *o = out;
	char last[4096] = "";
	bool keep_last = true;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
		struct pcc_maps_line m;
		bool keep = true;
		if (pcc_maps_line_parse(line, n - (nl ? 1 : 0), &m) && m.path_len
		    && m.path[0] == '/' && m.path_len < sizeof(last)) {
			if (memcmp(last, m.path, m.path_len) == 0
			    && last[m.path_len] == 0) {
				keep = keep_last;
			} else {
				memcpy(last, m.path, m.path_len);
				last[m.path_len] = 0;
				struct pcc_mapped_file mapping = {
					.start = m.start, .end = m.end,
					.inode = m.inode, .deleted = m.deleted
				};
				int fd = pcc_mapped_files_open(files, last,
							       &mapping, NULL);
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

static struct pcc_error *report_live(struct pcc_debuginfo *di,
				     struct pcc_target *t)
{
	/* The maps as they were while the process was stopped, so that the
	 * modules match the copy even if it mapped or exited since. */
	dwfl_report_begin(di->dwfl);
	int rc;
	if (t->files.maps_text) {
		char *text = elf_lines_only(&t->files, t->files.maps_text);
		rc = 0; /* no ELF file at all: not Python, said above us */
		if (*text) {
			FILE *f = fmemopen(text, strlen(text), "r");
			if (!f) {
				free(text);
				return pcc_error_os("fmemopen");
			}
			rc = dwfl_linux_proc_maps_report(di->dwfl, f);
			fclose(f);
		}
		free(text);
	} else {
		rc = dwfl_linux_proc_report(di->dwfl, t->pid);
	}
	if (dwfl_report_end(di->dwfl, NULL, NULL) == 0 && rc == 0)
		return NULL;
	char *what = pcc_target_name(t);
	struct pcc_error *err;
	if (rc > 0)
		errno = rc;
	if (rc == ENOENT)
		err = pcc_error_create(PCC_ERROR_INPUT,
				       "%s exited before its modules were read",
				       what);
	else if (rc > 0)
		err = pcc_error_os("cannot list the modules of %s", what);
	else
		err = pcc_error_create(PCC_ERROR_INPUT,
				       "cannot list the modules of %s: %s", what,
				       pcc_error_library_text(dwfl_errmsg(-1)));
	free(what);
	return err;
}

struct pcc_error *pcc_debuginfo_open(struct pcc_target *t,
				     const struct pcc_debuginfo_options *o,
				     struct pcc_debuginfo **ret)
{
	struct pcc_debuginfo_impl *impl = pcc_xcalloc(1, sizeof(*impl));
	struct pcc_debuginfo *di = &impl->pub;
	impl->t = t;
	di->ignore_dwarf = o->ignore_dwarf;
	di->threads = o->threads;
	di->debuginfo_path = search_path(t, o);
	impl->callbacks.find_elf = t->live ? live_find_elf : core_find_elf;
	impl->callbacks.find_debuginfo = o->ignore_dwarf ? no_debuginfo
						       : safe_find_debuginfo;
	impl->callbacks.debuginfo_path = &di->debuginfo_path;
	struct pcc_error *err = NULL;
	di->dwfl = dwfl_begin(&impl->callbacks);
	if (!di->dwfl)
		err = pcc_error_create(PCC_ERROR_BAD_DATA, "libdwfl: %s",
				       dwfl_errmsg(-1));
	else
		err = t->live ? report_live(di, t) : report_core(di, t);
	if (err) {
		pcc_debuginfo_destroy(di);
		return err;
	}
	dwfl_getmodules(di->dwfl, adopt_module, impl, 0);
	if (t->ignore_build_id)
		dwfl_getmodules(di->dwfl, forget_mismatched_id, &t->files, 0);
	*ret = di;
	return NULL;
}

void pcc_debuginfo_destroy(struct pcc_debuginfo *di)
{
	if (!di)
		return;
	pcc_debuginfo_free_function_structs(di);
	if (di->dwfl)
		dwfl_end(di->dwfl);
	free(di->debuginfo_path);
	free(di->fetched_module_file);
	free(di->fetched_debug_file);
	free(di->symbol_names);
	free(di->symbols);
	pcc_warnings_deinit(&di->warnings);
	free(di);
}

/* ---- the search ---- */

struct find_state {
	const char *const *symbols;
	const char *named;
	bool named_only; /* the first round: modules named so, found or not */
	struct pcc_module_search *out;
};

static bool module_named(const char *name, const char *named)
{
	if (!name || !named)
		return false;
	const char *base = strrchr(name, '/');
	return strstr(base ? base + 1 : name, named) != NULL;
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

static void note_missing(struct pcc_module_search *out, const char *named,
			 const char *name)
{
	const char *base = strrchr(name, '/') + 1;
	if (named && !out->missing_named && strstr(base, named))
		out->missing_named = pcc_xstrdup(name);
	if (!out->missing || strlen(out->missing) < 400) {
		char *m = pcc_xasprintf("%s%s%s", out->missing ? out->missing : "",
					out->missing ? ", " : "", name);
		free(out->missing);
		out->missing = m;
	}
}

static int find_module(Dwfl_Module *mod, void **userdata, const char *name,
		       Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)start;
	struct find_state *st = arg;
	GElf_Addr bias;
	if (st->named_only) {
		if (module_named(name, st->named) && dwfl_module_getelf(mod, &bias)
		    && module_defines(mod, st->symbols)) {
			st->out->found = mod;
			return DWARF_CB_ABORT;
		}
		return DWARF_CB_OK;
	}
	if (!dwfl_module_getelf(mod, &bias)) {
		if (name && name[0] == '/')
			note_missing(st->out, st->named, name);
		else if (!name || strcmp(name, "[vdso]") != 0)
			st->out->unnamed++; /* "[vdso]" needs no file */
		return DWARF_CB_OK;
	}
	if (module_defines(mod, st->symbols)) {
		st->out->found = mod;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

void pcc_debuginfo_find_module(struct pcc_debuginfo *di,
			       const char *const *symbols, const char *named,
			       struct pcc_module_search *out)
{
	memset(out, 0, sizeof(*out));
	/* The module named so first: reading another's symbols may mean
	 * finding and reading its debug file (libc's is several MB). */
	struct find_state st = { symbols, named, true, out };
	dwfl_getmodules(di->dwfl, find_module, &st, 0);
	if (out->found)
		return;
	st.named_only = false;
	dwfl_getmodules(di->dwfl, find_module, &st, 0);
}

void pcc_module_search_deinit(struct pcc_module_search *s)
{
	free(s->missing);
	free(s->missing_named);
	memset(s, 0, sizeof(*s));
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

void pcc_debuginfo_use_module(struct pcc_debuginfo *di, Dwfl_Module *mod)
{
	di->module = mod;
	const char *mainfile = NULL, *debugfile = NULL;
	di->module_name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL,
					   &mainfile, &debugfile);
	di->dwarf = di->ignore_dwarf ? NULL : dwfl_module_getdwarf(mod, &di->bias);
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, &debugfile);
	/* libdwfl keeps no name for what debuginfod gave it. */
	GElf_Addr bias;
	Elf *main_elf = dwfl_module_getelf(mod, &bias);
	if (!mainfile)
		mainfile = di->fetched_module_file =
			debuginfod_name(mod, "executable");
	if (di->dwarf && !debugfile && main_elf
	    && dwarf_getelf(di->dwarf) != main_elf)
		debugfile = di->fetched_debug_file =
			debuginfod_name(mod, "debuginfo");
	di->module_file = mainfile;
	di->debug_file = di->dwarf ? (debugfile ? debugfile : mainfile) : NULL;
	if (di->dwarf && !dwarf_units_readable(di->dwarf)) {
		/* Its layouts cannot be trusted: the caller goes on as
		 * without DWARF. */
		bool apart = di->debug_file && strcmp(di->debug_file, mainfile);
		pcc_warnings_add(&di->warnings,
				 "the debug info of %s%s%s%s is damaged: not all "
				 "of its compilation units can be read, so it is "
				 "not used", mainfile, apart ? " (in " : "",
				 apart ? di->debug_file : "", apart ? ")" : "");
		di->dwarf = NULL;
		di->debug_file = NULL;
	}
}

/* ---- DWARF of other modules ---- */

struct other_dwarf_state {
	const char *path_part;
	Dwarf **out;
	size_t max, n;
};

/* Does the file itself carry DWARF?  Separate debug files of other modules
 * are not looked for: that could ask a debuginfod server once per
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

static int collect_dwarf(Dwfl_Module *mod, void **userdata, const char *name,
			 Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)start;
	(void)name; /* a core names its modules by their file's base name */
	struct other_dwarf_state *st = arg;
	Dwarf_Addr bias;
	const char *file = NULL;
	Elf *elf;
	Dwarf *dwarf;
	if (st->n < st->max && (elf = dwfl_module_getelf(mod, &bias))
	    && dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &file, NULL)
	    && file && strstr(file, st->path_part) && has_debug_info(elf)
	    && (dwarf = dwfl_module_getdwarf(mod, &bias)))
		st->out[st->n++] = dwarf;
	return DWARF_CB_OK;
}

size_t pcc_debuginfo_dwarf_of_modules(struct pcc_debuginfo *di,
				      const char *path_part, Dwarf **out,
				      size_t max)
{
	struct other_dwarf_state st = { path_part, out, max, 0 };
	if (!di->ignore_dwarf)
		dwfl_getmodules(di->dwfl, collect_dwarf, &st, 0);
	return st.n;
}
