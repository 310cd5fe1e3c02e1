/* SPDX-License-Identifier: MIT */
/*
 * Symbols of the chosen module: exported and local ones, by name, and
 * file-scope variables that only DWARF or FILE symbols can place.
 */
#include "config.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo.h"
#include "../util/sort.h"

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

	int count = dwfl_module_getsymtab(di->module);
	for (int i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(di->module, i, &sym,
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
	char **hit = di->nsymbols ? bsearch(&name, di->symbol_names, di->nsymbols,
					   sizeof(char *), str_cmp)
				  : NULL;
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
	int count = dwfl_module_getsymtab(di->module);
	bool in_file = false;
	size_t len = strlen(name);
	uint64_t found = 0, found_size = 0;
	for (int i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Addr a;
		const char *n = dwfl_module_getsym_info(di->module, i, &sym, &a,
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
	int count = dwfl_module_getsymtab(di->module);
	for (int i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Addr a;
		if (dwfl_module_getsym_info(di->module, i, &sym, &a, NULL, NULL,
					    NULL)
		    && GELF_ST_TYPE(sym.st_info) == STT_FILE)
			return true;
	}
	return false;
}
