/* SPDX-License-Identifier: MIT */
/*
 * The collector's generation lists: circular doubly linked lists of
 * PyGC_Head, one sentinel head per generation.  The target's memory is not
 * trusted: every step checks that the next node is readable and points back
 * to the one we came from, and the walk stops at a hard bound.
 */
#include "config.h"

#include "gc_list.h"
#include "interpreter.h"

/* 3.8+: the low two bits of both links are flags (finalized, collecting,
 * unreachable, old space); the pointer is what remains.  2.7–3.7 keep
 * gc_refs apart and their links are plain pointers to 8-byte aligned
 * heads, which the mask leaves as they are. */
static const uint64_t LINK_MASK = ~(uint64_t)3;

/*
 * How many tracked objects the target's memory can hold: each takes a
 * PyGC_Head and an object header at least.  The prev check keeps one list
 * from looping, but the lists of a corrupt interpreter can run through
 * another's; this bounds what all the lists of one walk add together.
 */
static uint64_t objects_that_fit(const struct pcc_python *py)
{
	uint64_t min_size = (uint64_t)py->gc_head_size + 16;
	return pcc_python_mapped_bytes(py) / min_size;
}

/* A node's links, if its PyGC_Head is readable. */
static bool read_links(struct pcc_python *py, uint64_t node, uint64_t *next,
		       uint64_t *prev)
{
	const uint8_t *h = pcc_target_ptr(py->t, node, (size_t)py->gc_head_size);
	if (!h)
		return false;
	memcpy(next, h + py->l.off[PCC_L_GC_NEXT], 8);
	memcpy(prev, h + py->l.off[PCC_L_GC_PREV], 8);
	*next &= LINK_MASK;
	*prev &= LINK_MASK;
	return true;
}

/*
 * The list from both ends at once, until they meet: two chains of
 * dependent loads that the CPU overlaps, where one walk waits for every
 * load in turn.  False, with out as it was, at anything but a whole,
 * consistent list within limit: the one-way walk then says what is wrong
 * and where, as it always has.
 */
static bool walk_both_ways(struct pcc_python *py, uint64_t head, uint64_t limit,
			   struct pcc_u64_vec *out)
{
	size_t start = out->len;
	uint64_t gc_head = (uint64_t)py->gc_head_size;
	uint64_t fwd_node = head, bwd_node = head, fwd, bwd, next, prev;
	if (!read_links(py, head, &fwd, &bwd))
		return false;
	uint64_t count = 0;
	for (;;) {
		if (fwd == bwd_node) {
			/* The cursors crossed between two nodes: each must be
			 * the other's neighbour. */
			if (bwd != fwd_node)
				goto inconsistent;
			return true;
		}
		if (count >= limit)
			goto inconsistent;
		if (!read_links(py, fwd, &next, &prev) || prev != fwd_node)
			goto inconsistent;
		*pcc_u64_vec_push(out) = fwd + gc_head;
		count++;
		if (fwd == bwd) { /* the middle node, reached from both sides */
			if (next != bwd_node)
				goto inconsistent;
			return true;
		}
		fwd_node = fwd;
		fwd = next;
		if (bwd == fwd_node) {
			if (fwd != bwd_node)
				goto inconsistent;
			return true;
		}
		if (count >= limit)
			goto inconsistent;
		if (!read_links(py, bwd, &next, &prev) || next != bwd_node)
			goto inconsistent;
		*pcc_u64_vec_push(out) = bwd + gc_head;
		count++;
		bwd_node = bwd;
		bwd = prev;
		pcc_progress_update(py->progress, out->len);
	}
inconsistent:
	out->len = start;
	return false;
}

struct pcc_gc_list_result pcc_gc_list_walk(struct pcc_python *py,
					   uint64_t head, uint64_t limit,
					   struct pcc_u64_vec *out)
{
	struct pcc_gc_list_result r = { 0 };
	uint64_t fit = objects_that_fit(py), room = fit > out->len ? fit - out->len : 0;
	const char *limit_reason = "more objects than the walk limit (--max-objects)";
	if (room < limit) {
		limit = room;
		limit_reason = "more objects than the core's memory can hold: "
			       "the lists overlap";
	}
	size_t before = out->len;
	if (walk_both_ways(py, head, limit, out)) {
		r.count = out->len - before;
		return r;
	}
	int64_t next_off = py->l.off[PCC_L_GC_NEXT];
	int64_t prev_off = py->l.off[PCC_L_GC_PREV];
	uint64_t node = head, next;
	if (!pcc_target_read_u64(py->t, head + next_off, &next)) {
		r.broken_at = head;
		r.reason = "list head is unreadable";
		return r;
	}
	next &= LINK_MASK;
	while (next != head) {
		if (r.count >= limit) {
			r.broken_at = next;
			r.reason = limit_reason;
			return r;
		}
		const uint8_t *h = pcc_target_ptr(py->t, next,
						  (size_t)py->gc_head_size);
		if (!h) {
			r.broken_at = next;
			r.reason = "next object is not in readable memory";
			return r;
		}
		uint64_t prev, after;
		memcpy(&prev, h + prev_off, 8);
		memcpy(&after, h + next_off, 8);
		if ((prev & LINK_MASK) != node) {
			r.broken_at = next;
			r.reason = "next object does not link back (prev mismatch)";
			return r;
		}
		*pcc_u64_vec_push(out) = next + (uint64_t)py->gc_head_size;
		r.count++;
		pcc_progress_update(py->progress, out->len);
		node = next;
		next = after & LINK_MASK;
	}
	return r;
}
