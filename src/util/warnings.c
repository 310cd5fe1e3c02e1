/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "warnings.h"

/* FNV-1a: warnings are short strings, and no key is chosen to collide
 * with another in a way that matters (a collision costs a strcmp). */
static size_t string_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
	return (size_t)h;
}

/* The slot of msg in the set: where it is, or the free one. */
static size_t *slot_of(struct pcc_warnings *w, const char *msg)
{
	size_t mask = w->cap - 1;
	for (size_t i = string_hash(msg) & mask;; i = (i + 1) & mask) {
		size_t *slot = &w->slots[i];
		if (!*slot || strcmp(w->list.data[*slot - 1], msg) == 0)
			return slot;
	}
}

static void grow(struct pcc_warnings *w)
{
	size_t cap = w->cap ? w->cap * 2 : 64;
	free(w->slots);
	w->slots = pcc_xcalloc(cap, sizeof(size_t));
	w->cap = cap;
	for (size_t i = 0; i < w->list.len; i++)
		*slot_of(w, w->list.data[i]) = i + 1;
}

void pcc_warnings_vadd(struct pcc_warnings *w, const char *fmt, va_list ap)
{
	char *msg = pcc_xvasprintf(fmt, ap);
	/* At most half full, so that a probe ends quickly. */
	if (2 * (w->list.len + 1) > w->cap)
		grow(w);
	size_t *slot = slot_of(w, msg);
	if (*slot) {
		free(msg);
		return;
	}
	*pcc_string_vec_push(&w->list) = msg;
	*slot = w->list.len;
}

void pcc_warnings_add(struct pcc_warnings *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pcc_warnings_vadd(w, fmt, ap);
	va_end(ap);
}

void pcc_warnings_truncate(struct pcc_warnings *w, size_t n)
{
	if (n >= w->list.len)
		return;
	for (size_t i = n; i < w->list.len; i++)
		free(w->list.data[i]);
	w->list.len = n;
	memset(w->slots, 0, w->cap * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		*slot_of(w, w->list.data[i]) = i + 1;
}

void pcc_warnings_deinit(struct pcc_warnings *w)
{
	for (size_t i = 0; i < w->list.len; i++)
		free(w->list.data[i]);
	pcc_string_vec_free(&w->list);
	free(w->slots);
	memset(w, 0, sizeof(*w));
}
