/* SPDX-License-Identifier: MIT */
/*
 * The references between tracked objects, as the reference pass found
 * them, kept for the marking pass: it then follows an object's references
 * without traversing it again (reading its memory, running its traversal,
 * looking each referent up in the index).
 *
 * Memory per object is the budget, so the cache is compact and bounded.
 * A reference is the zigzag varint of the distance between the two
 * objects' indexes (objects that refer to each other were mostly made
 * together, and lie near each other); an object's references take one
 * byte of length, and every 16 objects one 64-bit start: finding an
 * object's bytes adds up at most 15 lengths, two words' worth, with no
 * loop.  An object is
 * left out, and traversed again, when its references need more than 255
 * bytes (a big container: its traversal is a scan of one array anyway),
 * or once the cache is full.
 */
#ifndef PCC_EDGE_CACHE_H
#define PCC_EDGE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

enum {
	PCC_EDGE_CACHE_GROUP_SHIFT = 4, /* 16 objects per start */
	PCC_EDGE_CACHE_MAX_LEN = 255,
};
_Static_assert(PCC_EDGE_CACHE_GROUP_SHIFT == 4,
	       "pcc_edge_cache_find reads a group's lengths as two words");

struct pcc_edge_cache {
	uint32_t n;
	uint8_t *bytes;
	uint64_t cap;
	/* Per object: its references' bytes, 0: none; padded to whole
	 * groups, so that a group's lengths are read as two words. */
	uint8_t *len;
	uint64_t *group_start; /* where each group's first object's are */
	uint64_t used, left_out; /* bytes kept; objects with references left out */
};

/* A cache for n objects of at most bytes_per_object bytes of references
 * each on average. */
void pcc_edge_cache_init(struct pcc_edge_cache *c, uint32_t n,
			 unsigned bytes_per_object);
void pcc_edge_cache_free(struct pcc_edge_cache *c);

/* The objects of share i, in whole groups, so that each writer has its
 * own starts: as pcc_parallel_range. */
void pcc_edge_cache_range(unsigned share, unsigned shares, uint32_t n,
			  uint32_t *begin, uint32_t *end);

/*
 * One writer per share of the objects, each with its part of the bytes.
 * The references of each object are added in the order of the objects,
 * those of one object together.
 */
struct pcc_edge_cache_writer {
	struct pcc_edge_cache *c;
	uint64_t begin, at, end; /* the writer's bytes */
	uint32_t owner;        /* whose references are being added */
	uint32_t next_group;   /* the first group without its start */
	uint64_t owner_begin;
	bool overflow;         /* the owner's references do not fit */
	uint64_t left_out;
};

void pcc_edge_cache_writer_init(struct pcc_edge_cache_writer *w,
				struct pcc_edge_cache *c, unsigned share,
				unsigned shares, uint32_t begin);
/* Done with the owner being written: next is the next one's index. */
void pcc_edge_cache_next_owner(struct pcc_edge_cache_writer *w, uint32_t next);
/* All added: end is the share's end.  Then the caller adds the writers'
 * counts up (pcc_edge_cache_writer_count). */
void pcc_edge_cache_writer_finish(struct pcc_edge_cache_writer *w, uint32_t end);

void pcc_edge_cache_writer_count(struct pcc_edge_cache *c,
				 const struct pcc_edge_cache_writer *w);

/* owner refers to object j. */
static inline void pcc_edge_cache_add(struct pcc_edge_cache_writer *w,
				      uint32_t owner, uint32_t j)
{
	if (owner != w->owner)
		pcc_edge_cache_next_owner(w, owner);
	if (w->overflow)
		return;
	if (w->at + 5 > w->end
	    || w->at - w->owner_begin > PCC_EDGE_CACHE_MAX_LEN) {
		w->overflow = true;
		return;
	}
	int64_t d = (int64_t)j - (int64_t)owner;
	uint64_t z = (uint64_t)d << 1 ^ (uint64_t)(d >> 63);
	uint8_t *p = w->c->bytes + w->at;
	while (z >= 0x80) {
		*p++ = (uint8_t)(z | 0x80);
		z >>= 7;
	}
	*p++ = (uint8_t)z;
	w->at = (uint64_t)(p - w->c->bytes);
}

/* The bytes of the references of object i kept in the cache: false if
 * there are none (none found, or left out). */
static inline bool pcc_edge_cache_find(const struct pcc_edge_cache *c,
				       uint32_t i, const uint8_t **begin,
				       const uint8_t **end)
{
	unsigned len = c->len[i];
	if (!len)
		return false;
	uint32_t group = i >> PCC_EDGE_CACHE_GROUP_SHIFT;
	uint32_t before = i & ((1u << PCC_EDGE_CACHE_GROUP_SHIFT) - 1);
	const uint8_t *l = c->len + ((uint64_t)group << PCC_EDGE_CACHE_GROUP_SHIFT);
	uint64_t lo, hi;
	__builtin_memcpy(&lo, l, 8);
	__builtin_memcpy(&hi, l + 8, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	lo = __builtin_bswap64(lo);
	hi = __builtin_bswap64(hi);
#endif
	/* The lengths of the objects before i: whole bytes of the two words,
	 * added in 16-bit lanes, which cannot overflow (16 * 255). */
	unsigned in_lo = before < 8 ? before : 8, in_hi = before - in_lo;
	lo &= in_lo == 8 ? ~0ull : (1ull << (8 * in_lo)) - 1;
	hi &= (1ull << (8 * in_hi)) - 1;
	const uint64_t bytes = 0x00ff00ff00ff00ffull;
	uint64_t lanes = (lo & bytes) + (lo >> 8 & bytes) + (hi & bytes) + (hi >> 8 & bytes);
	uint64_t sum = lanes * 0x0001000100010001ull >> 48;
	*begin = c->bytes + c->group_start[group] + sum;
	*end = *begin + len;
	return true;
}

/* The next reference from *p (before end), as the object's index. */
static inline uint32_t pcc_edge_cache_next(const uint8_t **p, uint32_t owner)
{
	uint64_t z = 0;
	unsigned shift = 0;
	uint8_t b;
	do {
		b = *(*p)++;
		z |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	int64_t d = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
	return (uint32_t)((int64_t)owner + d);
}

#endif
