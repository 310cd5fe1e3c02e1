/* SPDX-License-Identifier: MIT */
/*
 * Type objects: what each type's tp_traverse is, and what its instances'
 * traversal needs, read once per type and kept in a table whose entries
 * never move, each with a dense id.
 */
#ifndef PCC_TYPES_H
#define PCC_TYPES_H

#include "model.h"

/* What a traversal kind is called ("list", "emulated"). */
const char *pcc_kind_name(enum pcc_kind kind);

/* Type information, cached; NULL if the type object is unreadable. */
struct pcc_type_info *pcc_python_type(struct pcc_python *py, uint64_t type);

/* The type of obj, as a stable id; PCC_NO_TYPE if unreadable.  Ids are
 * dense and never change once the interpreter is open. */
uint32_t pcc_python_type_id_of(struct pcc_python *py, uint64_t obj);

/* The type at this address if it is known already, NULL if not: no type
 * is described and nothing is written, so threads may ask at once. */
struct pcc_type_info *pcc_python_type_known(const struct pcc_python *py,
					    uint64_t type);

/* A caller's memory of the types pcc_python_known_type_id_of read last:
 * a heap's objects, in address order, take turns among a few types.
 * Zeroed to start. */
enum { PCC_TYPE_ID_CACHE = 16 };
struct pcc_type_id_cache {
	uint64_t addr[PCC_TYPE_ID_CACHE];
	uint32_t id[PCC_TYPE_ID_CACHE];
};
enum { PCC_TYPE_NOT_YET = PCC_NO_TYPE - 1 };

/* The type id of obj, PCC_NO_TYPE if unreadable, or PCC_TYPE_NOT_YET if
 * its type is not known yet (pcc_python_type_id_of then describes it).
 * Reads only, as pcc_python_type_known. */
uint32_t pcc_python_known_type_id_of(const struct pcc_python *py, uint64_t obj,
				     struct pcc_type_id_cache *cache);
/* The type with this id, NULL for PCC_NO_TYPE. */
struct pcc_type_info *pcc_python_type_by_id(const struct pcc_python *py,
					    uint32_t id);
/* How many ids there are so far. */
uint32_t pcc_python_type_count(const struct pcc_python *py);

/* The type of an object that may not be tracked: NULL if unreadable. */
struct pcc_type_info *pcc_python_type_of(struct pcc_python *py, uint64_t obj);
const char *pcc_python_type_name(struct pcc_python *py,
				 struct pcc_type_info *ti);
/* Drop the type cache: what is known about traversals changed. */
void pcc_python_forget_types(struct pcc_python *py);
/* Whether obj, of the type ti describes, is a GC object: PCC_IS_GC_YES,
 * PCC_IS_GC_NO or PCC_IS_GC_UNDECIDED. */
enum pcc_is_gc pcc_python_is_gc(struct pcc_python *py,
				const struct pcc_type_info *ti, uint64_t obj);

#endif
