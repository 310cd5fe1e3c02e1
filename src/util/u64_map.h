/* SPDX-License-Identifier: MIT */
/*
 * A map from 64-bit keys (addresses) to 64-bit values: open addressing,
 * linear probing, load at most one half.
 */
#ifndef PCC_U64_MAP_H
#define PCC_U64_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pcc_u64_map {
	uint64_t *keys, *values; /* key 0 marks an empty slot */
	size_t cap, len;         /* cap: a power of two, or 0 */
	bool has_zero;           /* key 0 is kept here */
	uint64_t zero_value;
};

bool pcc_u64_map_get(const struct pcc_u64_map *m, uint64_t key, uint64_t *value);
void pcc_u64_map_put(struct pcc_u64_map *m, uint64_t key, uint64_t value);
void pcc_u64_map_free(struct pcc_u64_map *m);

#endif
