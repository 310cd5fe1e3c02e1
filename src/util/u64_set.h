/* SPDX-License-Identifier: MIT */
/*
 * A set of 64-bit keys other than 0 (addresses): open addressing, linear
 * probing, load at most one half.
 */
#ifndef PCC_U64_SET_H
#define PCC_U64_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pcc_u64_set {
	uint64_t *keys; /* 0: an empty slot */
	size_t cap, len; /* cap: a power of two, or 0 */
};

/* Add key (not 0): true if it was not there. */
bool pcc_u64_set_add(struct pcc_u64_set *s, uint64_t key);
bool pcc_u64_set_has(const struct pcc_u64_set *s, uint64_t key);
void pcc_u64_set_free(struct pcc_u64_set *s);

#endif
