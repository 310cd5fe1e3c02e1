/* SPDX-License-Identifier: MIT */
/*
 * The struct a function works on, from the DWARF of the module that holds
 * it, and the member of that struct at an offset: names for what emulated
 * code read.
 *
 * The struct is the pointee of the function's first parameter when that is
 * a pointer to a struct that says something (FutureObj *fut), else of the
 * first such variable in its body, for code that takes a generic pointer
 * and casts (TaskObj *task = (TaskObj *)op).  The caller names the generic
 * struct that says nothing, and the size below which a struct is not the
 * one looked for.
 */
#include "config.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "../util/vec.h"
#include "debuginfo.h"

enum {
	/* Bounds on DWARF that is data too: typedef chains, nested blocks
	 * and embedded structs. */
	MAX_PEEL = 16,
	MAX_DEPTH = 8,
};

struct function_struct {
	uint64_t fn;
	bool found;
	Dwarf_Die type; /* DW_TAG_structure_type, when found */
};
PCC_VEC(function_struct_vec, struct function_struct);

struct pcc_function_structs {
	struct function_struct_vec v;
};

/* Follow typedefs and qualifiers to the type they name. */
static bool peel(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;
	*out = *die;
	for (int i = 0; i < MAX_PEEL; i++) {
		int tag = dwarf_tag(out);
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type
		    && tag != DW_TAG_volatile_type && tag != DW_TAG_restrict_type)
			return true;
		if (!dwarf_attr_integrate(out, DW_AT_type, &attr)
		    || !dwarf_formref_die(&attr, out))
			return false;
	}
	return false;
}

static bool type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;
	Dwarf_Die t;
	return dwarf_attr_integrate(die, DW_AT_type, &attr)
	       && dwarf_formref_die(&attr, &t) && peel(&t, out);
}

/* The struct that says nothing, and the least size of one that does. */
struct wanted {
	const char *generic;
	uint64_t min_size;
};

/* Is var (a parameter or variable) a pointer to a struct that says
 * something? */
static bool points_to_struct(const struct wanted *w, Dwarf_Die *var,
			     Dwarf_Die *st)
{
	Dwarf_Die ptr;
	if (!type_of(var, &ptr) || dwarf_tag(&ptr) != DW_TAG_pointer_type
	    || !type_of(&ptr, st) || dwarf_tag(st) != DW_TAG_structure_type)
		return false;
	const char *name = dwarf_diename(st);
	Dwarf_Word size;
	Dwarf_Attribute attr;
	return !(name && w->generic && strcmp(name, w->generic) == 0)
	       && dwarf_attr_integrate(st, DW_AT_byte_size, &attr)
	       && dwarf_formudata(&attr, &size) == 0 && size >= w->min_size;
}

/* The first parameter, else the first variable of the body (blocks
 * included), that points to a struct that says something. */
static bool find_in_scope(const struct wanted *w, Dwarf_Die *scope,
			  Dwarf_Die *st, bool params, int depth)
{
	Dwarf_Die child;
	if (depth > MAX_DEPTH || dwarf_child(scope, &child) != 0)
		return false;
	do {
		int tag = dwarf_tag(&child);
		if (params && tag == DW_TAG_formal_parameter)
			return points_to_struct(w, &child, st);
		if (!params && tag == DW_TAG_variable
		    && points_to_struct(w, &child, st))
			return true;
		if (!params && tag == DW_TAG_lexical_block
		    && find_in_scope(w, &child, st, false, depth + 1))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static bool struct_of_function(const struct wanted *w,
			       struct pcc_debuginfo *di, uint64_t fn,
			       Dwarf_Die *st)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_addrdie(di->dwfl, fn, &bias);
	Dwarf_Die *scopes = NULL;
	int n = cu ? dwarf_getscopes(cu, fn - bias, &scopes) : 0;
	bool found = false;
	for (int i = 0; i < n && !found; i++) {
		if (dwarf_tag(&scopes[i]) != DW_TAG_subprogram)
			continue;
		found = find_in_scope(w, &scopes[i], st, true, 0)
			|| find_in_scope(w, &scopes[i], st, false, 0);
		break;
	}
	free(scopes);
	return found;
}

static bool member_offset(Dwarf_Die *member, Dwarf_Word *off)
{
	Dwarf_Attribute attr;
	return dwarf_attr_integrate(member, DW_AT_data_member_location, &attr)
	       && dwarf_formudata(&attr, off) == 0;
}

/* The innermost named member of st that starts at off: a struct embedded
 * at an offset (another object's head) is looked into. */
static const char *member_at(Dwarf_Die *st, uint64_t off, int depth)
{
	Dwarf_Die m;
	if (depth > MAX_DEPTH || dwarf_child(st, &m) != 0)
		return NULL;
	do {
		Dwarf_Word at, size;
		Dwarf_Die t;
		if (dwarf_tag(&m) != DW_TAG_member || !member_offset(&m, &at)
		    || at > off || !type_of(&m, &t))
			continue;
		if (at == off && dwarf_tag(&t) == DW_TAG_pointer_type)
			return dwarf_diename(&m);
		Dwarf_Attribute attr;
		if ((dwarf_tag(&t) == DW_TAG_structure_type
		     || dwarf_tag(&t) == DW_TAG_union_type)
		    && dwarf_attr_integrate(&t, DW_AT_byte_size, &attr)
		    && dwarf_formudata(&attr, &size) == 0 && off < at + size)
			return member_at(&t, off - at, depth + 1);
	} while (dwarf_siblingof(&m, &m) == 0);
	return NULL;
}

const char *pcc_debuginfo_function_struct_member(struct pcc_debuginfo *di,
						 uint64_t fn, int64_t off,
						 const char *generic,
						 uint64_t min_size)
{
	const struct wanted w = { generic, min_size };
	if (!fn || off < 0 || di->ignore_dwarf)
		return NULL;
	if (!di->function_structs)
		di->function_structs = pcc_xcalloc(1, sizeof(*di->function_structs));
	struct function_struct_vec *v = &di->function_structs->v;
	struct function_struct *ts = NULL;
	for (size_t i = 0; i < v->len && !ts; i++)
		if (v->data[i].fn == fn)
			ts = &v->data[i];
	if (!ts) {
		ts = function_struct_vec_push(v);
		ts->fn = fn;
		ts->found = struct_of_function(&w, di, fn, &ts->type);
	}
	return ts->found ? member_at(&ts->type, (uint64_t)off, 0) : NULL;
}

void pcc_debuginfo_free_function_structs(struct pcc_debuginfo *di)
{
	if (!di->function_structs)
		return;
	function_struct_vec_free(&di->function_structs->v);
	free(di->function_structs);
	di->function_structs = NULL;
}
