/* SPDX-License-Identifier: MIT */
#ifndef PCC_STRINGS_H
#define PCC_STRINGS_H

#include "model.h"

/*
 * Display helpers, bounded: a str object's text (ASCII/latin-1 shown as is,
 * other characters escaped), NULL if not a readable str.
 */
char *pcc_python_str(struct pcc_python *py, uint64_t obj, size_t max);
/* The same as text (UTF-8, nothing escaped; a 2.7 str's bytes as they
 * are), for names the report gives as they are: file names. */
char *pcc_python_str_text(struct pcc_python *py, uint64_t obj, size_t max);
/* Short repr-like text for a dict key: 'name', 3, <Foo object>. */
char *pcc_python_key_repr(struct pcc_python *py, uint64_t obj);
/* Is an object of type ti named by something of its own rather than by
 * its type's name: a class (by itself), a 2.7 classic instance or class? */
bool pcc_python_named_by_itself(const struct pcc_type_info *ti);
/* 2.7 classic classes: the name of an old-style class, or of the class of
 * an old-style instance (*is_class says which); NULL for anything else. */
char *pcc_python_classic_name(struct pcc_python *py, uint64_t obj,
			      bool *is_class);

#endif
