/* SPDX-License-Identifier: MIT */
/*
 * The interpreter's struct layouts: the fields CPython's objects are read
 * by, from DWARF (through dwarf_structs.h) or in the text form of the
 * built-in tables.
 */
#include "config.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "../debuginfo/dwarf_structs.h"

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

enum { MAX_EXTENSIONS = 64 };

static struct pcc_error *layout_from_dwarfs(Dwarf *const *dwarfs, size_t n,
					    bool two_threads, const char *what,
					    struct pcc_layout *ret);

struct pcc_error *pcc_layout_from_dwarf(struct pcc_debuginfo *di,
					struct pcc_layout *ret)
{
	if (!di->dwarf)
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_LOOKUP,
					 "no debug info for %s",
					 di->module_file ? di->module_file
							 : di->module_name),
			"install the interpreter's debug symbols (Debian: "
			"python3.X-dbg) or pass --debuginfo-path DIR");
	/* The interpreter first: its definitions win.  Then its extension
	 * modules, for the structs that live there (2.7's _io, _collections
	 * and _functools are not part of libpython). */
	Dwarf *dwarfs[1 + MAX_EXTENSIONS];
	dwarfs[0] = di->dwarf;
	size_t n = 1 + pcc_debuginfo_dwarf_of_modules(di, "/lib-dynload/",
						      dwarfs + 1, MAX_EXTENSIONS);
	struct pcc_error *err = layout_from_dwarfs(
		dwarfs, n, di->threads > 1,
		di->module_file ? di->module_file : di->module_name, ret);
	if (!err)
		ret->source = di->debug_file;
	return err;
}

struct pcc_error *pcc_layout_from_dwarf_handles(Dwarf *const *dwarfs, size_t n,
						const char *what,
						struct pcc_layout *ret)
{
	return layout_from_dwarfs(dwarfs, n, false, what, ret);
}

static struct pcc_error *layout_from_dwarfs(Dwarf *const *dwarfs, size_t n,
					    bool two_threads, const char *what,
					    struct pcc_layout *ret)
{
	struct pcc_dwarf_structs c = { 0 };
	for (size_t i = 0; i < PCC_L_COUNT; i++)
		pcc_dwarf_structs_want(&c, field_types[i]);
	for (size_t i = 0; i < PCC_LL_COUNT; i++)
		pcc_dwarf_structs_want(&c, list_types[i]);
	pcc_dwarf_structs_scan(&c, dwarfs, n, two_threads);

	struct pcc_layout l;
	for (size_t i = 0; i < PCC_L_COUNT; i++) {
		if (!pcc_dwarf_structs_lookup(&c, field_types[i], field_members[i],
					      &l.off[i], &l.count[i]))
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
			    && pcc_dwarf_structs_lookup(&c, list_types[i], tok, &off,
							 &count)) {
				ml->offset[ml->n] = (int)off;
				snprintf(ml->name[ml->n], sizeof(ml->name[0]),
					 "%s", label ? label : tok);
				ml->n++;
			}
		}
	}
	l.source = NULL;

	pcc_dwarf_structs_deinit(&c);

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

/*
 * Members that built-in tables written before them lack, each at the same
 * place beside one they have in every version that has both (2.7 on, 3.6
 * on for the keys object): PyTypeObject's tp_methods three pointers
 * before tp_base (tp_methods, tp_members, tp_getset, tp_base),
 * PyListObject's allocated right after ob_item, PyDictKeysObject's
 * dk_refcnt first and dk_usable right before dk_nentries.
 */
static void derive_fixed_members(struct pcc_layout *l)
{
	static const struct {
		enum pcc_layout_field field, beside;
		int64_t delta; /* from beside; absolute: from the struct */
		bool absolute;
	} fixed[] = {
		{ PCC_L_TP_METHODS, PCC_L_TP_BASE, -3 * 8, false },
		{ PCC_L_LIST_ALLOCATED, PCC_L_LIST_ITEMS, 8, false },
		{ PCC_L_DK_REFCNT, PCC_L_DK_INDICES, 0, true },
		{ PCC_L_DK_USABLE, PCC_L_DK_NENTRIES, -8, false },
		/* od_first, od_last, od_fast_nodes, od_fast_nodes_size */
		{ PCC_L_ODICT_FAST_NODES_SIZE, PCC_L_ODICT_FIRST, 3 * 8, false },
		/* raw; ok, detached, readable, writable; finalizing and
		 * fast_closed_checks; abs_pos; buffer */
		{ PCC_L_BUFFERED_BUFFER, PCC_L_BUFFERED_RAW, 5 * 8, false },
		/* buffer_size, buffer_mask, dict */
		{ PCC_L_BUFFERED_BUFFER_SIZE, PCC_L_BUFFERED_DICT, -2 * 8, false },
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (l->off[fixed[i].field] < 0 && l->off[fixed[i].beside] >= 0)
			l->off[fixed[i].field] =
				fixed[i].delta
				+ (fixed[i].absolute ? 0 : l->off[fixed[i].beside]);
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
	derive_fixed_members(&l);
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
