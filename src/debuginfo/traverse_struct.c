/* SPDX-License-Identifier: MIT */
/*
 * Names for what an emulated traversal visits: the struct a tp_traverse
 * function works on, from the DWARF of the module that holds it, and the
 * member of that struct at an offset.
 *
 * The struct is the pointee of the function's first parameter when that is
 * a pointer to a struct of the object's own (FutureObj *fut), else of the
 * first such variable in its body: newer code takes PyObject * and casts
 * (TaskObj *task = (TaskObj *)op).  A pointer to PyObject itself (struct
 * _object) says nothing and is skipped.
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
	/* A struct of an object has at least PyObject's two words. */
	MIN_OBJECT_SIZE = 16,
};

struct traverse_struct {
	uint64_t fn;
	bool found;
	Dwarf_Die type; /* DW_TAG_structure_type, when found */
};
PCC_VEC(traverse_struct_vec, struct traverse_struct);

struct pcc_traverse_structs {
	struct traverse_struct_vec v;
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

/* Is var (a parameter or variable) a pointer to an object's own struct? */
static bool points_to_object_struct(Dwarf_Die *var, Dwarf_Die *st)
{
	Dwarf_Die ptr;
	if (!type_of(var, &ptr) || dwarf_tag(&ptr) != DW_TAG_pointer_type
	    || !type_of(&ptr, st) || dwarf_tag(st) != DW_TAG_structure_type)
		return false;
	const char *name = dwarf_diename(st);
	Dwarf_Word size;
	Dwarf_Attribute attr;
	return !(name && strcmp(name, "_object") == 0)
	       && dwarf_attr_integrate(st, DW_AT_byte_size, &attr)
	       && dwarf_formudata(&attr, &size) == 0 && size >= MIN_OBJECT_SIZE;
}

/* The first parameter, else the first variable of the body (blocks
 * included), that points to an object's struct. */
static bool find_in_scope(Dwarf_Die *scope, Dwarf_Die *st, bool params,
			  int depth)
{
	Dwarf_Die child;
	if (depth > MAX_DEPTH || dwarf_child(scope, &child) != 0)
		return false;
	do {
		int tag = dwarf_tag(&child);
		if (params && tag == DW_TAG_formal_parameter)
			return points_to_object_struct(&child, st);
		if (!params && tag == DW_TAG_variable
		    && points_to_object_struct(&child, st))
			return true;
		if (!params && tag == DW_TAG_lexical_block
		    && find_in_scope(&child, st, false, depth + 1))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static bool struct_of_function(struct pcc_debuginfo *di, uint64_t fn,
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
		found = find_in_scope(&scopes[i], st, true, 0)
			|| find_in_scope(&scopes[i], st, false, 0);
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

const char *pcc_debuginfo_traverse_member(struct pcc_debuginfo *di,
					  uint64_t fn, int64_t off)
{
	if (!fn || off < 0 || pcc_debuginfo_dwarf_ignored())
		return NULL;
	if (!di->traverse_structs)
		di->traverse_structs = pcc_xcalloc(1, sizeof(*di->traverse_structs));
	struct traverse_struct_vec *v = &di->traverse_structs->v;
	struct traverse_struct *ts = NULL;
	for (size_t i = 0; i < v->len && !ts; i++)
		if (v->data[i].fn == fn)
			ts = &v->data[i];
	if (!ts) {
		ts = traverse_struct_vec_push(v);
		ts->fn = fn;
		ts->found = struct_of_function(di, fn, &ts->type);
	}
	return ts->found ? member_at(&ts->type, (uint64_t)off, 0) : NULL;
}

void pcc_debuginfo_free_traverse_structs(struct pcc_debuginfo *di)
{
	if (!di->traverse_structs)
		return;
	traverse_struct_vec_free(&di->traverse_structs->v);
	free(di->traverse_structs);
	di->traverse_structs = NULL;
}
