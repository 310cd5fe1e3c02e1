/* SPDX-License-Identifier: MIT */
/*
 * Structs by name from DWARF, and their members by path.  One pass over the
 * top-level DIEs of every unit (and of the dwz supplementary file, which
 * holds the types shared between units) collects the structs asked for;
 * members are then resolved by path.  A name can be defined in several
 * units, sometimes differently (a typedef "block" in two modules), so every
 * distinct definition is kept and the first one that has the member wins.
 */
#ifndef PCC_DWARF_STRUCTS_H
#define PCC_DWARF_STRUCTS_H

#include <stdbool.h>
#include <stdint.h>

#include <elfutils/libdw.h>

#include "../util/vec.h"

struct pcc_named_die {
	const char *name; /* one of wanted */
	Dwarf_Die die;    /* the struct or union, typedefs resolved */
	/* Tells definitions apart (dwarf_structs.c). */
	uint64_t line, size;
	uint32_t members;
};
PCC_VEC(pcc_named_die_vec, struct pcc_named_die)
PCC_VEC(pcc_name_vec, char *)

struct pcc_dwarf_structs {
	struct pcc_name_vec wanted; /* owned; sorted and unique once scanned */
	struct pcc_named_die_vec found;
	/* A second handle on the first one's file, for the second thread
	 * of the scan: its DIEs are among found until the deinit. */
	Dwarf *second;
};

/* Ask for the structs of spec: names separated by '|' ("A|B"), typedefs
 * or tags.  Before pcc_dwarf_structs_scan. */
void pcc_dwarf_structs_want(struct pcc_dwarf_structs *c, const char *spec);

/* Collect the definitions of what was asked from dwarfs, in order (the
 * first handle's definitions are tried first).  With two_threads, the
 * second half of the first handle's units is scanned on a second thread,
 * through a handle of its own on the same file (not where a dwz file
 * holds part of it); the result is the same. */
void pcc_dwarf_structs_scan(struct pcc_dwarf_structs *c, Dwarf *const *dwarfs,
			    size_t n, bool two_threads);

/*
 * The byte offset of members ("x|y.z": alternatives, dots for nested
 * members, through anonymous structs and unions) in the first struct of
 * types ("A|B") that has one, and in *count the element count when it is an
 * array (else 0).  members "" asks for the struct's size.
 */
bool pcc_dwarf_structs_lookup(const struct pcc_dwarf_structs *c,
			      const char *types, const char *members,
			      int64_t *offset, int64_t *count);

void pcc_dwarf_structs_deinit(struct pcc_dwarf_structs *c);

#endif
