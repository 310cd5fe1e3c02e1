/* SPDX-License-Identifier: MIT */
/*
 * What each object refers to, as its type's tp_traverse would report it:
 * per kind of traversal, from the layout, or from the emulator.
 */
#ifndef PCC_TRAVERSE_H
#define PCC_TRAVERSE_H

#include "model.h"

/*
 * Call visit for each reference the object's tp_traverse would report, in
 * the same order.  Returns the kind used; PCC_KIND_UNKNOWN means nothing was
 * visited because the type's traversal is not known (the caller must treat
 * the object's referents as external).  *partial is set when only a part of
 * the object could be traversed (a C extension base, an unreadable block).
 */
enum pcc_kind pcc_python_traverse(struct pcc_python *py, uint64_t obj,
				  pcc_visit_fn *visit, void *ctx,
				  bool want_labels, bool *partial);

/*
 * The hot passes' form: no call per reference.  The references are
 * appended to a buffer, with the owner's index beside each; when the
 * buffer is full, flush is called to consume them (and must empty it).
 */
enum { PCC_REFERENTS_CAP = 4096 };

/* One thread's share of the traversals' item budget (interpreter.h). */
struct pcc_item_budget {
	uint64_t items;
	bool spent;
};

/* A dict's keys table as the traversals read it (traverse_dict.c). */
struct pcc_dict_keys {
	uint64_t nentries;
	uint64_t entries;
	uint64_t esize, key_off, value_off;
	bool general; /* keys may be any object: the traversal visits them */
	/* 3.6–3.10 without the lookdict symbol: decided by the keys. */
	bool general_unknown;
};

struct pcc_referents {
	uint64_t addrs[PCC_REFERENTS_CAP];
	uint32_t owners[PCC_REFERENTS_CAP];
	uint32_t len;
	uint32_t owner; /* written beside each reference appended */
	/* Set when owned_only left a reference out (the caller clears it):
	 * the object may refer to more than was appended. */
	bool omitted;
	/* Set by the caller: a dict's keys too, where its traversal leaves
	 * them out (a table of str keys, a split dict): the memory graph. */
	bool dict_keys;
	void (*flush)(struct pcc_referents *r);
	void *ctx;
	/* NULL: the interpreter's own budget; else a share of it, taken
	 * with pcc_python_budget_share, for a thread of parallel work. */
	struct pcc_item_budget *budget;
	/* The class keys table last read (traverse_instance.c): a class's
	 * instances share one, and come one after another. */
	uint64_t class_keys; /* 0: none yet */
	bool class_keys_ok, class_keys_partial;
	struct pcc_dict_keys class_keys_read;
};

/*
 * Append to out each reference that obj's tp_traverse would report, ti
 * being obj's type as the snapshot read it (NULL: unreadable).  With
 * owned_only, only the references obj owns (the refcount pass: 3.14
 * leaves borrowed stack references out); *is_gc, if not NULL, says
 * whether obj is a GC object (pcc_python_is_gc).  Returns the kind used,
 * as pcc_python_traverse does, and sets *partial the same way.
 */
enum pcc_kind pcc_python_referents(struct pcc_python *py, uint64_t obj,
				   struct pcc_type_info *ti, bool owned_only,
				   struct pcc_referents *out, bool *partial,
				   enum pcc_is_gc *is_gc);

/*
 * May pcc_python_referents run on several threads at once, each with its
 * own buffer and budget share?  Not while a traversal still learns what
 * the interpreter is (2.7's set dummy, found by its text).
 */
bool pcc_python_referents_parallel(const struct pcc_python *py);

/* The budget left, split into n shares; and the shares given back (what
 * is left of them, and the warning if one ran out). */
void pcc_python_budget_share(struct pcc_python *py,
			     struct pcc_item_budget *shares, unsigned n);
void pcc_python_budget_return(struct pcc_python *py,
			      const struct pcc_item_budget *shares, unsigned n);

#endif
