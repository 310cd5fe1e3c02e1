/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>

#include "error.h"
#include "u64_set.h"

static size_t slot_of(uint64_t key, size_t cap)
{
	/* Fibonacci hashing: the product's high bits, where every bit of
	 * an address (aligned, so low zeros) has a say. */
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static void put(uint64_t *keys, size_t cap, uint64_t key)
{
	size_t i = slot_of(key, cap);
	while (keys[i])
		i = (i + 1) & (cap - 1);
	keys[i] = key;
}

static void grow(struct pcc_u64_set *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	uint64_t *keys = pcc_xcalloc(cap, sizeof(*keys));
	for (size_t i = 0; i < s->cap; i++)
		if (s->keys[i])
			put(keys, cap, s->keys[i]);
	free(s->keys);
	s->keys = keys;
	s->cap = cap;
}

bool pcc_u64_set_has(const struct pcc_u64_set *s, uint64_t key)
{
	if (!s->cap)
		return false;
	for (size_t i = slot_of(key, s->cap);; i = (i + 1) & (s->cap - 1)) {
		if (s->keys[i] == key)
			return true;
		if (!s->keys[i])
			return false;
	}
}

bool pcc_u64_set_add(struct pcc_u64_set *s, uint64_t key)
{
	if ((s->len + 1) * 2 > s->cap)
		grow(s);
	size_t i = slot_of(key, s->cap);
	while (s->keys[i]) {
		if (s->keys[i] == key)
			return false;
		i = (i + 1) & (s->cap - 1);
	}
	s->keys[i] = key;
	s->len++;
	return true;
}

void pcc_u64_set_free(struct pcc_u64_set *s)
{
	free(s->keys);
	*s = (struct pcc_u64_set){ 0 };
}
