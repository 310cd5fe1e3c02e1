/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "debuginfo.h"

struct pcc_debuginfo_impl {
	struct pcc_debuginfo pub;
	Dwfl_Callbacks callbacks;
};

struct find_state {
	Dwfl_Module *found;
	/* Modules whose file could not be opened, for the error message. */
	char *missing;
	bool missing_python_file;
};

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
		if (name && strstr(name, "python"))
			st->missing_python_file = true;
		if (name && (!st->missing || strlen(st->missing) < 400)) {
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

struct pcc_error *pcc_debuginfo_open(struct pcc_target *t,
				     const char *extra_path,
				     struct pcc_debuginfo **ret)
{
	struct pcc_debuginfo_impl *impl = pcc_xcalloc(1, sizeof(*impl));
	struct pcc_debuginfo *di = &impl->pub;
	struct pcc_error *err = NULL;

	di->debuginfo_path = pcc_xasprintf("-.debug:/usr/lib/debug%s%s",
					   extra_path ? ":" : "",
					   extra_path ? extra_path : "");
	impl->callbacks.find_elf = dwfl_build_id_find_elf;
	impl->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	impl->callbacks.debuginfo_path = &di->debuginfo_path;

	di->dwfl = dwfl_begin(&impl->callbacks);
	if (!di->dwfl) {
		err = pcc_error_create(PCC_ERROR_BAD_DATA, "libdwfl: %s",
				       dwfl_errmsg(-1));
		goto fail;
	}
	dwfl_report_begin(di->dwfl);
	int n = dwfl_core_file_report(di->dwfl, t->core_elf, t->exe_path);
	if (dwfl_report_end(di->dwfl, NULL, NULL) != 0 || n < 0) {
		err = pcc_error_create(PCC_ERROR_INPUT,
				       "cannot list the modules of %s: %s",
				       t->core_path, dwfl_errmsg(-1));
		goto fail;
	}

	struct find_state st = { 0 };
	dwfl_getmodules(di->dwfl, find_python_module, &st, 0);
	if (!st.found) {
		if (st.missing_python_file)
			err = pcc_error_hint(
				pcc_error_create(PCC_ERROR_INPUT,
						 "the interpreter of %s cannot be "
						 "found: missing %s",
						 t->core_path, st.missing),
				"analyse the core on the machine that wrote it, "
				"or pass --sysroot DIR with its files");
		else
			err = pcc_error_hint(
				pcc_error_create(PCC_ERROR_INPUT,
						 "%s is not the core of a Python "
						 "process: no module defines "
						 "_PyRuntime or _PyGC_generation0",
						 t->core_path),
				st.missing ? "some modules were not found" : "only "
				"CPython processes can be analysed");
		free(st.missing);
		goto fail;
	}
	free(st.missing);
	di->python = st.found;
	const char *mainfile = NULL, *debugfile = NULL;
	di->python_name = dwfl_module_info(di->python, NULL, NULL, NULL, NULL,
					   NULL, &mainfile, &debugfile);
	di->dwarf = dwfl_module_getdwarf(di->python, &di->bias);
	dwfl_module_info(di->python, NULL, NULL, NULL, NULL, NULL, &mainfile,
			 &debugfile);
	di->python_file = mainfile;
	di->debug_file = di->dwarf ? (debugfile ? debugfile : mainfile) : NULL;
	*ret = di;
	return NULL;
fail:
	pcc_debuginfo_destroy(di);
	return err;
}

void pcc_debuginfo_destroy(struct pcc_debuginfo *di)
{
	if (!di)
		return;
	if (di->dwfl)
		dwfl_end(di->dwfl);
	free(di->debuginfo_path);
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
	qsort(di->symbol_names, n, sizeof(char *), str_cmp);
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
