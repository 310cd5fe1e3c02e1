/* SPDX-License-Identifier: MIT */
/*
 * DWARF → struct layouts.  One pass over the top-level DIEs of every unit
 * (and of the dwz supplementary file, which holds the types shared between
 * units) collects the structs we name; members are then resolved by path.
 * A name can be defined in several units, sometimes differently (a typedef
 * "block" in two modules), so every definition is kept and the first one
 * that has the member wins.
 */
#include "config.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "../util/sort.h"

static const char *const field_types[] = {
#define X(id, type, member) type,
	PCC_LAYOUT_FIELDS(X)
#undef X
};
static const char *const field_members[] = {
#define X(id, type, member) member,
	PCC_LAYOUT_FIELDS(X)
#undef X
};
static const char *const field_names[] = {
#define X(id, type, member) #id,
	PCC_LAYOUT_FIELDS(X)
#undef X
};
static const char *const list_names[] = {
#define X(id, type, members) #id,
	PCC_LAYOUT_MEMBER_LISTS(X)
#undef X
};
static const char *const list_types[] = {
#define X(id, type, members) type,
	PCC_LAYOUT_MEMBER_LISTS(X)
#undef X
};
static const char *const list_members[] = {
#define X(id, type, members) members,
	PCC_LAYOUT_MEMBER_LISTS(X)
#undef X
};

const char *pcc_layout_field_name(enum pcc_layout_field f)
{
	return f < PCC_L_COUNT ? field_names[f] : "?";
}

char *pcc_layout_field_describe(enum pcc_layout_field f)
{
	if (f >= PCC_L_COUNT)
		return pcc_xstrdup("a field");
	/* The types are alternatives ("PyDictKeyEntry|PyDictEntry"): the
	 * first is the name of the newest versions. */
	const char *type = field_types[f];
	int type_len = (int)strcspn(type, "|");
	const char *member = field_members[f];
	if (!*member)
		return pcc_xasprintf("the struct %.*s", type_len, type);
	return pcc_xasprintf("the member %.*s of %.*s", (int)strcspn(member, "|"),
			     member, type_len, type);
}

struct named_die {
	const char *name; /* points into the wanted-name table */
	Dwarf_Die die;     /* the struct/union, typedefs resolved */
};
PCC_VEC(named_die_vec, struct named_die)
PCC_VEC(name_vec, const char *)

struct collector {
	struct name_vec wanted; /* sorted, unique */
	struct named_die_vec found;
};

static int cstr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Add each '|'-separated name of spec to the wanted list (unsorted). */
static void want_names(struct collector *c, const char *spec,
		       struct name_vec *storage)
{
	while (*spec) {
		const char *bar = strchr(spec, '|');
		size_t len = bar ? (size_t)(bar - spec) : strlen(spec);
		char *name = pcc_xmalloc(len + 1);
		memcpy(name, spec, len);
		name[len] = 0;
		*name_vec_push(storage) = name;
		*name_vec_push(&c->wanted) = name;
		spec += len + (bar ? 1 : 0);
	}
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

static void scan_unit_dies(struct collector *c, Dwarf_Die *cu)
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
		const char **hit = bsearch(&name, c->wanted.data, c->wanted.len,
					   sizeof(char *), cstr_cmp);
		if (!hit)
			continue;
		Dwarf_Die die = child;
		if (!peel_type(&die) || !is_complete_aggregate(&die))
			continue;
		struct named_die *nd = named_die_vec_push(&c->found);
		nd->name = *hit;
		nd->die = die;
	} while (dwarf_siblingof(&child, &child) == 0);
}

static void scan_dwarf(struct collector *c, Dwarf *dwarf)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	/* Type signature out-parameters left NULL: non-NULL ones would make
	 * libdw walk .debug_types instead of .debug_info. */
	while (dwarf_next_unit(dwarf, off, &next, &hsize, NULL, NULL, NULL, NULL,
			       NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(dwarf, off + hsize, &cu))
			scan_unit_dies(c, &cu);
		off = next;
	}
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
static bool lookup(struct collector *c, const char *types, const char *members,
		   int64_t *offset, int64_t *count)
{
	*count = 0;
	for (size_t i = 0; i < c->found.len; i++) {
		struct named_die *nd = &c->found.data[i];
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
			if (dwarf_attr_integrate(&nd->die, DW_AT_byte_size, &attr)
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

enum { MAX_EXTENSIONS = 64 };

static struct pcc_error *layout_from_dwarfs(Dwarf *const *dwarfs, size_t n,
					    const char *what,
					    struct pcc_layout *ret);

struct pcc_error *pcc_layout_from_dwarf(struct pcc_debuginfo *di,
					struct pcc_layout *ret)
{
	if (!di->dwarf)
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_LOOKUP,
					 "no debug info for %s",
					 di->python_file ? di->python_file
							 : di->python_name),
			"install the interpreter's debug symbols (Debian: "
			"python3.X-dbg) or pass --debuginfo-path DIR");
	/* The interpreter first: its definitions win.  Then its extension
	 * modules, for the structs that live there (2.7's _io, _collections
	 * and _functools are not part of libpython). */
	Dwarf *dwarfs[1 + MAX_EXTENSIONS];
	dwarfs[0] = di->dwarf;
	size_t n = 1 + pcc_debuginfo_extension_dwarf(di, dwarfs + 1,
						     MAX_EXTENSIONS);
	struct pcc_error *err = layout_from_dwarfs(
		dwarfs, n, di->python_file ? di->python_file : di->python_name,
		ret);
	if (!err)
		ret->source = di->debug_file;
	return err;
}

struct pcc_error *pcc_layout_from_dwarf_handles(Dwarf *const *dwarfs, size_t n,
						const char *what,
						struct pcc_layout *ret)
{
	return layout_from_dwarfs(dwarfs, n, what, ret);
}

static struct pcc_error *layout_from_dwarfs(Dwarf *const *dwarfs, size_t n,
					    const char *what,
					    struct pcc_layout *ret)
{
	struct collector c = { 0 };
	struct name_vec storage = { 0 };
	for (size_t i = 0; i < PCC_L_COUNT; i++)
		want_names(&c, field_types[i], &storage);
	for (size_t i = 0; i < PCC_LL_COUNT; i++)
		want_names(&c, list_types[i], &storage);
	pcc_sort(c.wanted.data, c.wanted.len, sizeof(char *), cstr_cmp);
	/* Deduplicate so bsearch hits one canonical pointer per name. */
	size_t u = 0;
	for (size_t i = 0; i < c.wanted.len; i++)
		if (!u || strcmp(c.wanted.data[u - 1], c.wanted.data[i]) != 0)
			c.wanted.data[u++] = c.wanted.data[i];
	c.wanted.len = u;

	for (size_t i = 0; i < n; i++) {
		scan_dwarf(&c, dwarfs[i]);
		Dwarf *alt = dwarf_getalt(dwarfs[i]);
		if (alt)
			scan_dwarf(&c, alt);
	}

	struct pcc_layout l;
	for (size_t i = 0; i < PCC_L_COUNT; i++) {
		if (!lookup(&c, field_types[i], field_members[i], &l.off[i],
			    &l.count[i]))
			l.off[i] = -1;
	}
	for (size_t i = 0; i < PCC_LL_COUNT; i++) {
		struct pcc_member_list *ml = &l.lists[i];
		ml->n = 0;
		char buf[512];
		snprintf(buf, sizeof(buf), "%s", list_members[i]);
		for (char *save, *tok = strtok_r(buf, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save)) {
			int64_t off, count;
			/* "cname:label": the label is how Python spells it. */
			char *label = strchr(tok, ':');
			if (label)
				*label++ = 0;
			if (ml->n < PCC_LAYOUT_LIST_MAX
			    && lookup(&c, list_types[i], tok, &off, &count)) {
				ml->offset[ml->n] = (int)off;
				snprintf(ml->name[ml->n], sizeof(ml->name[0]),
					 "%s", label ? label : tok);
				ml->n++;
			}
		}
	}
	l.source = NULL;

	for (size_t i = 0; i < storage.len; i++)
		free((char *)storage.data[i]);
	name_vec_free(&storage);
	name_vec_free(&c.wanted);
	named_die_vec_free(&c.found);

	if (l.off[PCC_L_OB_TYPE] < 0 || l.off[PCC_L_TP_FLAGS] < 0)
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_LOOKUP,
					 "the debug info of %s does not describe "
					 "PyObject",
					 what),
			"install the interpreter's full debug symbols");
	*ret = l;
	return NULL;
}

/*
 * The text form of a layout, for the built-in tables: "NAME=OFF" for each
 * field present ("NAME=OFF/COUNT" for arrays), then "@LIST=label:OFF,..."
 * for each member list.  Fields are named, not numbered, so a table written
 * by an older pycorecheck still reads after fields are added.
 */
void pcc_layout_format(const struct pcc_layout *l, FILE *out)
{
	for (size_t i = 0; i < PCC_L_COUNT; i++) {
		if (l->off[i] < 0)
			continue;
		fprintf(out, "%s=%lld", field_names[i], (long long)l->off[i]);
		if (l->count[i])
			fprintf(out, "/%lld", (long long)l->count[i]);
		fputc(' ', out);
	}
	for (size_t i = 0; i < PCC_LL_COUNT; i++) {
		const struct pcc_member_list *ml = &l->lists[i];
		if (!ml->n)
			continue;
		fprintf(out, "@%s=", list_names[i]);
		for (int k = 0; k < ml->n; k++)
			fprintf(out, "%s%s:%d", k ? "," : "", ml->name[k],
				ml->offset[k]);
		fputc(' ', out);
	}
}

bool pcc_layout_parse(const char *text, struct pcc_layout *ret)
{
	struct pcc_layout l;
	memset(&l, 0, sizeof(l));
	for (size_t i = 0; i < PCC_L_COUNT; i++)
		l.off[i] = -1;
	const char *p = text;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char tok[512];
		if (len >= sizeof(tok))
			return false;
		memcpy(tok, p, len);
		tok[len] = 0;
		p += len;
		char *eq = strchr(tok, '=');
		if (!eq)
			return false;
		*eq++ = 0;
		if (tok[0] == '@') {
			size_t i;
			for (i = 0; i < PCC_LL_COUNT && strcmp(list_names[i], tok + 1); i++)
				;
			if (i == PCC_LL_COUNT)
				continue; /* a list this version no longer has */
			struct pcc_member_list *ml = &l.lists[i];
			for (char *save, *m = strtok_r(eq, ",", &save); m;
			     m = strtok_r(NULL, ",", &save)) {
				char *colon = strrchr(m, ':');
				if (!colon || ml->n >= PCC_LAYOUT_LIST_MAX)
					return false;
				*colon = 0;
				snprintf(ml->name[ml->n], sizeof(ml->name[0]), "%s", m);
				ml->offset[ml->n++] = atoi(colon + 1);
			}
			continue;
		}
		size_t i;
		for (i = 0; i < PCC_L_COUNT && strcmp(field_names[i], tok); i++)
			;
		if (i == PCC_L_COUNT)
			continue;
		char *slash;
		l.off[i] = strtoll(eq, &slash, 10);
		if (*slash == '/')
			l.count[i] = strtoll(slash + 1, NULL, 10);
	}
	*ret = l;
	return true;
}

int64_t pcc_layout_list_member(const struct pcc_layout *l,
			       enum pcc_layout_list list, const char *label)
{
	const struct pcc_member_list *ml = &l->lists[list];
	for (int i = 0; i < ml->n; i++)
		if (strcmp(ml->name[i], label) == 0)
			return ml->offset[i];
	return -1;
}
