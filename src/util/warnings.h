/* SPDX-License-Identifier: MIT */
/*
 * A list of warnings for the report, each given once: a warning already in
 * the list is dropped, in O(1) however many there are (a hostile core can
 * make the same complaint a million times).
 */
#ifndef PCC_WARNINGS_H
#define PCC_WARNINGS_H

#include <stdarg.h>
#include <stddef.h>

#include "vec.h"

struct pcc_warnings {
	struct pcc_string_vec list; /* in the order first given */
	/* Open-addressing set over list (index + 1, 0 empty). */
	size_t *slots;
	size_t cap; /* a power of two, or 0 */
};

void pcc_warnings_add(struct pcc_warnings *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pcc_warnings_vadd(struct pcc_warnings *w, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Forget all but the first n (for a test harness that runs many times on
 * one target). */
void pcc_warnings_truncate(struct pcc_warnings *w, size_t n);
void pcc_warnings_deinit(struct pcc_warnings *w);

#endif
