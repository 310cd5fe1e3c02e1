/* SPDX-License-Identifier: MIT */
/*
 * A growable array of one element type, declared with PCC_VEC(name, type).
 * Growth doubles, so appends are amortised O(1) and the data stays one flat
 * block that can be handed out as an array.
 */
#ifndef PCC_VEC_H
#define PCC_VEC_H

#include <stddef.h>
#include <stdlib.h>

#include "error.h"

#define PCC_VEC(name, type)                                                   \
	struct name {                                                         \
		type *data;                                                   \
		size_t len, cap;                                              \
	};                                                                    \
	static inline void name##_reserve(struct name *v, size_t want)        \
	{                                                                     \
		if (want <= v->cap)                                           \
			return;                                               \
		size_t cap = v->cap ? v->cap : 16;                            \
		while (cap < want)                                            \
			cap *= 2;                                             \
		v->data = pcc_xreallocarray(v->data, cap, sizeof(type));      \
		v->cap = cap;                                                 \
		pcc_advise_huge(v->data, cap * sizeof(type));                 \
	}                                                                     \
	static inline type *name##_push(struct name *v)                       \
	{                                                                     \
		name##_reserve(v, v->len + 1);                                \
		return &v->data[v->len++];                                    \
	}                                                                     \
	static inline void name##_free(struct name *v)                        \
	{                                                                     \
		free(v->data);                                                \
		v->data = NULL;                                               \
		v->len = v->cap = 0;                                          \
	}

/* The vectors every layer uses. */
PCC_VEC(pcc_u64_vec, uint64_t)
PCC_VEC(pcc_string_vec, char *)

#endif
