/* SPDX-License-Identifier: MIT */
/*
 * An object's size as sys.getsizeof() gives it, offline: the __sizeof__
 * its type resolves to, plus what getsizeof adds before the object (the
 * GC head, and from 3.11 the pre-header of managed dicts and weakrefs).
 * Where pycorecheck does not reproduce that __sizeof__ (a class that
 * defines its own, a C type of an extension, code), the size is the
 * object's struct, tp_basicsize, with those bytes before it: what its
 * allocation holds at least, which that __sizeof__ may count otherwise.
 */
#ifndef PCC_OBJECT_SIZE_H
#define PCC_OBJECT_SIZE_H

#include "model.h"

enum pcc_size_rule {
	PCC_SIZE_UNRESOLVED,
	/* tp_basicsize: a lower bound (ob_size need not count items: a
	 * 3.12 frame's is its f_back) */
	PCC_SIZE_STRUCT,
	/* object.__sizeof__: tp_basicsize + ob_size * tp_itemsize */
	PCC_SIZE_OBJECT,
	PCC_SIZE_LIST, /* list: tp_basicsize + allocated pointers */
	PCC_SIZE_SET,  /* set, frozenset: the table when not the small one */
	/* dict: its keys when not shared, its values when split (2.7: its
	 * table when not the small one) */
	PCC_SIZE_DICT,
	PCC_SIZE_INT, /* int (2.7: long): tp_basicsize + its digits */
	PCC_SIZE_STR, /* str (2.7: unicode): its text, and its copies */
	PCC_SIZE_TYPE, /* type: its struct, a heap type's cached keys */
	PCC_SIZE_DEQUE, /* collections.deque: its blocks */
	PCC_SIZE_ODICT, /* OrderedDict: dict's, and its nodes */
	PCC_SIZE_BUFFERED, /* _io.Buffered*: its buffer */
};

/* Resolve the size rule of every type described since the last call.
 * Serial: it reads type dicts, which may describe more types. */
void pcc_python_resolve_sizes(struct pcc_python *py);

/* Whether the size of ti's objects reads what their traversal reads (a
 * dict's keys): best asked right after it, while that is in the cache. */
static inline bool pcc_python_size_follows_traversal(const struct pcc_type_info *ti)
{
	return ti->size_rule == PCC_SIZE_DICT;
}

/* The bytes sys.getsizeof gives obj, of type ti (resolved); 0 if ti is
 * NULL.  Reads only, so threads may ask at once.  A part that cannot be
 * read, or that would be larger than the target's memory, counts 0. */
uint64_t pcc_python_object_size(struct pcc_python *py,
				const struct pcc_type_info *ti, uint64_t obj);

#endif
