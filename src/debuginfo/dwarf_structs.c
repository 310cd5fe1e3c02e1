/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dwarf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_structs.h"
#include "../util/error.h"
#include "../util/sort.h"

static int cstr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Add each '|'-separated name of spec to the wanted list (unsorted). */
void pcc_dwarf_structs_want(struct pcc_dwarf_structs *c, const char *spec)
{
	while (*spec) {
		const char *bar = strchr(spec, '|');
		size_t len = bar ? (size_t)(bar - spec) : strlen(spec);
		char *name = pcc_xmalloc(len + 1);
		memcpy(name, spec, len);
		name[len] = 0;
				*pcc_name_vec_push(&c->wanted) = name;
		spec += len + (bar ? 1 : 0);
	}
}

static void close_second(struct pcc_dwarf_structs *c)
{
	if (c->second)
		dwarf_end(c->second);
	c->second = NULL;
}

/* Strip typedefs and qualifiers; false if the chain is broken. */
static bool peel_type(Dwarf_Die *die)
{
	for (int depth = 0; depth < 16; depth++) {
		int tag = dwarf_tag(die);
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type
		    && tag != DW_TAG_volatile_type && tag != DW_TAG_restrict_type
		    && tag != DW_TAG_atomic_type)
			return true;
		Dwarf_Attribute attr;
		if (!dwarf_attr_integrate(die, DW_AT_type, &attr)
		    || !dwarf_formref_die(&attr, die))
			return false;
	}
	return false;
}

static bool is_complete_aggregate(Dwarf_Die *die)
{
	int tag = dwarf_tag(die);
	if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type)
		return false;
	Dwarf_Attribute attr;
	return !dwarf_attr_integrate(die, DW_AT_declaration, &attr)
	       && dwarf_hasattr_integrate(die, DW_AT_byte_size);
}

/* What tells two definitions of a name apart: the line that declares it,
 * its size and its member count.  The same header included by every unit
 * gives thousands of copies of one definition; they are kept once, so
 * that a lookup (of a member that this version lacks, often) tries each
 * distinct definition once. */
static void definition_key(Dwarf_Die *die, struct pcc_named_die *nd)
{
	Dwarf_Attribute attr;
	Dwarf_Word v;
	nd->line = dwarf_attr_integrate(die, DW_AT_decl_line, &attr)
			   && dwarf_formudata(&attr, &v) == 0
		   ? v : UINT64_MAX;
	nd->size = dwarf_attr_integrate(die, DW_AT_byte_size, &attr)
			   && dwarf_formudata(&attr, &v) == 0
		   ? v : UINT64_MAX;
	nd->members = 0;
	Dwarf_Die child;
	if (dwarf_child(die, &child) == 0)
		do
			nd->members++;
		while (dwarf_siblingof(&child, &child) == 0);
}

static bool known_definition(const struct pcc_dwarf_structs *c,
			     const struct pcc_named_die *nd)
{
	for (size_t i = 0; i < c->found.len; i++) {
		const struct pcc_named_die *o = &c->found.data[i];
		if (o->name == nd->name && o->line == nd->line
		    && o->size == nd->size && o->members == nd->members)
			return true;
	}
	return false;
}

static void scan_unit_dies(struct pcc_dwarf_structs *c, Dwarf_Die *cu)
{
	Dwarf_Die child;
	if (dwarf_child(cu, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		if (tag != DW_TAG_typedef && tag != DW_TAG_structure_type
		    && tag != DW_TAG_union_type)
			continue;
		const char *name = dwarf_diename(&child);
		if (!name)
			continue;
		char **hit = bsearch(&name, c->wanted.data, c->wanted.len,
					   sizeof(char *), cstr_cmp);
		if (!hit)
			continue;
		Dwarf_Die die = child;
		if (!peel_type(&die) || !is_complete_aggregate(&die))
			continue;
		struct pcc_named_die nd = { .name = *hit, .die = die };
		definition_key(&die, &nd);
		if (!known_definition(c, &nd))
			*pcc_named_die_vec_push(&c->found) = nd;
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* The units that start in [from, to). */
static void scan_units(struct pcc_dwarf_structs *c, Dwarf *dwarf, Dwarf_Off from,
		       Dwarf_Off to)
{
	Dwarf_Off off = from, next;
	size_t hsize;
	/* Type signature out-parameters left NULL: non-NULL ones would make
	 * libdw walk .debug_types instead of .debug_info. */
	while (off < to && dwarf_next_unit(dwarf, off, &next, &hsize, NULL, NULL,
					   NULL, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(dwarf, off + hsize, &cu))
			scan_unit_dies(c, &cu);
		off = next;
	}
}

static void scan_dwarf(struct pcc_dwarf_structs *c, Dwarf *dwarf)
{
	scan_units(c, dwarf, 0, UINT64_MAX);
}

/* ---- the first handle's units on two threads ---- */

enum {
	/* Less .debug_info than this is not worth a thread. */
	SPLIT_MIN_BYTES = 4 << 20,
};

/* The offset of the first unit at or after the middle of .debug_info;
 * 0 if there is none past the first. */
static Dwarf_Off middle_unit(Dwarf *dwarf)
{
	Dwarf_Off off = 0, next, last = 0;
	size_t hsize;
	while (dwarf_next_unit(dwarf, off, &next, &hsize, NULL, NULL, NULL, NULL,
			       NULL, NULL) == 0) {
		last = off;
		off = next;
	}
	Dwarf_Off end = off, mid = 0;
	if (end < SPLIT_MIN_BYTES)
		return 0;
	for (off = 0; off <= last;) {
		if (off >= end / 2) {
			mid = off;
			break;
		}
		if (dwarf_next_unit(dwarf, off, &next, &hsize, NULL, NULL, NULL,
				    NULL, NULL, NULL) != 0)
			break;
		off = next;
	}
	return mid;
}

/* A second handle on the first one's ELF file: its sections' data, read
 * and decompressed once, shared; its units, abbreviations and caches its
 * own, so that two threads can each read one.  None where a dwz file
 * holds part of the DWARF: the two would share that file's handle. */
static bool open_second(struct pcc_dwarf_structs *c, Dwarf *first)
{
	if (dwarf_getalt(first))
		return false;
	c->second = dwarf_begin_elf(dwarf_getelf(first), DWARF_C_READ, NULL);
	if (c->second && !dwarf_getalt(c->second))
		return true;
	close_second(c);
	return false;
}

struct second_half {
	struct pcc_dwarf_structs part; /* its own found; wanted shared */
	Dwarf *dwarf;
	Dwarf_Off from;
};

static void *scan_second_half(void *arg)
{
	struct second_half *s = arg;
	scan_units(&s->part, s->dwarf, s->from, UINT64_MAX);
	return NULL;
}

/* The first handle's units: the second half on a second thread, whose
 * definitions come after the first half's, as in one pass. */
static bool scan_split(struct pcc_dwarf_structs *c, Dwarf *first)
{
	Dwarf_Off mid = middle_unit(first);
	if (!mid || !open_second(c, first))
		return false;
	struct second_half s = { .part = { .wanted = c->wanted },
				 .dwarf = c->second, .from = mid };
	pthread_t thread;
	if (pthread_create(&thread, NULL, scan_second_half, &s) != 0) {
		close_second(c);
		return false;
	}
	scan_units(c, first, 0, mid);
	pthread_join(thread, NULL);
	for (size_t i = 0; i < s.part.found.len; i++)
		if (!known_definition(c, &s.part.found.data[i]))
			*pcc_named_die_vec_push(&c->found) = s.part.found.data[i];
	pcc_named_die_vec_free(&s.part.found);
	return true;
}

/* Find a member by name, looking through anonymous structs and unions. */
static bool find_member(Dwarf_Die *agg, const char *name, size_t len,
			int64_t *offset, Dwarf_Die *member, int depth)
{
	Dwarf_Die child;
	if (depth > 8 || dwarf_child(agg, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		Dwarf_Word loc = 0;
		Dwarf_Attribute attr;
		if (dwarf_attr_integrate(&child, DW_AT_data_member_location, &attr)
		    && dwarf_formudata(&attr, &loc) != 0)
			continue;
		const char *mname = dwarf_diename(&child);
		if (mname) {
			if (strlen(mname) == len && memcmp(mname, name, len) == 0) {
				*offset += (int64_t)loc;
				*member = child;
				return true;
			}
			continue;
		}
		Dwarf_Die type;
		if (!dwarf_attr_integrate(&child, DW_AT_type, &attr)
		    || !dwarf_formref_die(&attr, &type) || !peel_type(&type))
			continue;
		int64_t inner = *offset + (int64_t)loc;
		if (find_member(&type, name, len, &inner, member, depth + 1)) {
			*offset = inner;
			return true;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static int64_t array_count(Dwarf_Die *member)
{
	Dwarf_Attribute attr;
	Dwarf_Die type;
	if (!dwarf_attr_integrate(member, DW_AT_type, &attr)
	    || !dwarf_formref_die(&attr, &type) || !peel_type(&type)
	    || dwarf_tag(&type) != DW_TAG_array_type)
		return 0;
	Dwarf_Die sub;
	if (dwarf_child(&type, &sub) != 0 || dwarf_tag(&sub) != DW_TAG_subrange_type)
		return 0;
	Dwarf_Word v;
	if (dwarf_attr_integrate(&sub, DW_AT_count, &attr)
	    && dwarf_formudata(&attr, &v) == 0)
		return (int64_t)v;
	if (dwarf_attr_integrate(&sub, DW_AT_upper_bound, &attr)
	    && dwarf_formudata(&attr, &v) == 0)
		return (int64_t)v + 1;
	return 0;
}

/* Resolve "a.b.c" inside agg: offset of c, and c's DIE. */
static bool resolve_path(Dwarf_Die agg, const char *path, int64_t *offset,
			 Dwarf_Die *member)
{
	*offset = 0;
	const char *p = path;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (!find_member(&agg, p, len, offset, member, 0))
			return false;
		if (!dot)
			return true;
		Dwarf_Attribute attr;
		if (!dwarf_attr_integrate(member, DW_AT_type, &attr)
		    || !dwarf_formref_die(&attr, &agg) || !peel_type(&agg))
			return false;
		p = dot + 1;
	}
}

/*
 * Look up spec ("A|B") × member alternatives ("x|y.z"); for sizeof
 * (member "") return the byte size.
 */
bool pcc_dwarf_structs_lookup(const struct pcc_dwarf_structs *c,
			      const char *types, const char *members,
			      int64_t *offset, int64_t *count)
{
	*count = 0;
	for (size_t i = 0; i < c->found.len; i++) {
		const struct pcc_named_die *nd = &c->found.data[i];
		/* Is nd->name one of the alternatives in types? */
		size_t nlen = strlen(nd->name);
		bool match = false;
		for (const char *t = types; *t;) {
			const char *bar = strchr(t, '|');
			size_t len = bar ? (size_t)(bar - t) : strlen(t);
			if (len == nlen && memcmp(t, nd->name, len) == 0)
				match = true;
			t += len + (bar ? 1 : 0);
		}
		if (!match)
			continue;
		if (!*members) {
			Dwarf_Word size;
			Dwarf_Attribute attr;
			Dwarf_Die die = nd->die; /* libdw takes no const DIE */
			if (dwarf_attr_integrate(&die, DW_AT_byte_size, &attr)
			    && dwarf_formudata(&attr, &size) == 0) {
				*offset = (int64_t)size;
				return true;
			}
			continue;
		}
		for (const char *m = members; *m;) {
			const char *bar = strchr(m, '|');
			size_t len = bar ? (size_t)(bar - m) : strlen(m);
			char path[128];
			if (len < sizeof(path)) {
				memcpy(path, m, len);
				path[len] = 0;
				Dwarf_Die member;
				if (resolve_path(nd->die, path, offset, &member)) {
					*count = array_count(&member);
					return true;
				}
			}
			m += len + (bar ? 1 : 0);
		}
	}
	return false;
}

void pcc_dwarf_structs_scan(struct pcc_dwarf_structs *c, Dwarf *const *dwarfs,
			    size_t n, bool two_threads)
{
	pcc_sort(c->wanted.data, c->wanted.len, sizeof(char *), cstr_cmp);
	/* Unique, so that a definition is found under one name. */
	size_t u = 0;
	for (size_t i = 0; i < c->wanted.len; i++) {
		if (u && strcmp(c->wanted.data[u - 1], c->wanted.data[i]) == 0)
			free(c->wanted.data[i]);
		else
			c->wanted.data[u++] = c->wanted.data[i];
	}
	c->wanted.len = u;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 || !two_threads || !scan_split(c, dwarfs[i]))
			scan_dwarf(c, dwarfs[i]);
		Dwarf *alt = dwarf_getalt(dwarfs[i]);
		if (alt)
			scan_dwarf(c, alt);
	}
}

void pcc_dwarf_structs_deinit(struct pcc_dwarf_structs *c)
{
	close_second(c);
	for (size_t i = 0; i < c->wanted.len; i++)
		free(c->wanted.data[i]);
	pcc_name_vec_free(&c->wanted);
	pcc_named_die_vec_free(&c->found);
}
