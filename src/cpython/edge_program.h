/* SPDX-License-Identifier: MIT */
/*
 * A type's traversal compiled once, when the type is described, into the
 * steps the hot passes run over each of its objects (traverse_program.c):
 * the words at fixed offsets, the item arrays and tables those words
 * lead to, in the order of the type's tp_traverse.  Only traversals that
 * are these steps and nothing else get a program; for the others, and
 * for an object whose fixed bytes cannot be read in one piece, the
 * general traversal runs, which the program mirrors reference for
 * reference (tests/unit/test_traverse.c runs both on every object).
 */
#ifndef PCC_EDGE_PROGRAM_H
#define PCC_EDGE_PROGRAM_H

#include "interpreter.h"

enum pcc_edge_op {
	PCC_EDGE_OP_TYPE,  /* Py_TYPE(self) */
	PCC_EDGE_OP_WORD,  /* the pointer at off */
	PCC_EDGE_OP_LIST,  /* ob_size items at ob_item */
	PCC_EDGE_OP_TUPLE, /* ob_size items inline */
	PCC_EDGE_OP_DICT,  /* ma_keys and ma_values */
	/* An instance's managed dict, or its values kept apart from one. */
	PCC_EDGE_OP_MANAGED_DICT,
};

/*
 * The struct members that a kind's traversal visits, in its order: fields
 * of the layout, then a member list.  Both the general traversal and the
 * compiler read this one table.
 */
enum { PCC_KIND_FIELDS_MAX = 6 };
struct pcc_kind_members {
	uint8_t nfields;
	struct {
		enum pcc_layout_field field;
		const char *name;
	} fields[PCC_KIND_FIELDS_MAX];
	/* enum pcc_layout_list; PCC_KIND_LIST_OF_TYPE: the type's own
	 * (member_list); -1: none. */
	int16_t list;
	/* The traversal is these members and nothing more. */
	bool only;
};
enum { PCC_KIND_LIST_OF_TYPE = -2 };

const struct pcc_kind_members *pcc_kind_members(enum pcc_kind kind);

/* Compile ti's program (ti->program.len stays 0 when it has none). */
void pcc_edge_program_compile(const struct pcc_python *py,
			      struct pcc_type_info *ti);

#endif
