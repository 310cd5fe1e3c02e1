/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>

#include "error.h"
#include "u64_map.h"

static size_t slot_of(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

bool pcc_u64_map_get(const struct pcc_u64_map *m, uint64_t key, uint64_t *value)
{
	if (!key) {
		if (m->has_zero)
			*value = m->zero_value;
		return m->has_zero;
	}
	if (!m->cap)
		return false;
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			*value = m->values[i];
			return true;
		}
		if (!m->keys[i])
			return false;
	}
}

static void grow(struct pcc_u64_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	uint64_t *keys = pcc_xcalloc(cap, sizeof(*keys));
	uint64_t *values = pcc_xcalloc(cap, sizeof(*values));
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = slot_of(m->keys[i], cap);
		while (keys[j])
			j = (j + 1) & (cap - 1);
		keys[j] = m->keys[i];
		values[j] = m->values[i];
	}
	free(m->keys);
	free(m->values);
	m->keys = keys;
	m->values = values;
	m->cap = cap;
}

void pcc_u64_map_put(struct pcc_u64_map *m, uint64_t key, uint64_t value)
{
	if (!key) {
		m->has_zero = true;
		m->zero_value = value;
		return;
	}
	if ((m->len + 1) * 2 > m->cap)
		grow(m);
	size_t i = slot_of(key, m->cap);
	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->len++;
	}
	m->values[i] = value;
}

void pcc_u64_map_free(struct pcc_u64_map *m)
{
	free(m->keys);
	free(m->values);
	*m = (struct pcc_u64_map){ 0 };
}
