/* SPDX-License-Identifier: MIT */
/*
 * The referents of the plain containers: lists and tuples (an array of
 * items), sets (a hash table, with 2.7's deleted-entry marker learned on
 * the way) and deques (a chain of fixed-size blocks).
 */
#include "config.h"

#include "chain.h"
#include "traverse_walk.h"

void pcc_traverse_list(struct walk *w, uint64_t obj)
{
	uint64_t n, items;
	if (rd(w, obj + w->py->off_size, &n)
	    && rd(w, obj + w->py->l.off[PCC_L_LIST_ITEMS], &items))
		visit_array(w, items, n, PCC_EDGE_INDEX);
}

void pcc_traverse_tuple(struct walk *w, uint64_t obj)
{
	uint64_t n;
	if (rd(w, obj + w->py->off_size, &n))
		visit_array(w, obj + w->py->l.off[PCC_L_TUPLE_ITEMS], n,
			    PCC_EDGE_INDEX);
}

/*
 * 2.7 keeps the marker of a deleted set entry in a static of setobject.c,
 * which only a full symbol table names.  Without it, the marker is known
 * by what setobject.c makes it: the str "<dummy key>".  A str that a
 * program puts in a set with that very text would be taken for it; str
 * objects are not tracked, so that can change a listing of referents,
 * never what is reachable.
 */
static void learn_set_dummy(struct pcc_python *py, uint64_t key)
{
	static const char text[] = "<dummy key>";
	const struct pcc_layout *l = &py->l;
	uint64_t size;
	const uint8_t *sval;
	if (pcc_python_ob_type(py, key) == py->set_dummy_str_type
	    && pcc_target_read_u64(py->t, key + py->off_size, &size)
	    && size == sizeof(text) - 1
	    && (sval = pcc_target_ptr(py->t, key + l->off[PCC_L_STRING_SVAL],
				      sizeof(text)))
	    && memcmp(sval, text, sizeof(text)) == 0)
		py->set_dummy = key;
}

void pcc_traverse_set(struct walk *w, uint64_t obj)
{
	const struct pcc_layout *l = &w->py->l;
	uint64_t mask, table;
	if (!rd(w, obj + l->off[PCC_L_SET_MASK], &mask)
	    || !rd(w, obj + l->off[PCC_L_SET_TABLE], &table))
		return;
	uint64_t esize = (uint64_t)l->off[PCC_L_SETENTRY_SIZE];
	const uint8_t *p = rdn(w, table, mask + 1, esize);
	if (!p || mask + 1 == 0)
		return;
	for (uint64_t i = 0; i <= mask && !w->stop; i++) {
		uint64_t key;
		memcpy(&key, p + i * esize + l->off[PCC_L_SETENTRY_KEY], 8);
		if (key && !w->py->set_dummy && w->py->set_dummy_str_type)
			learn_set_dummy(w->py, key);
		if (key && key != w->py->set_dummy)
			emit(w, key, PCC_EDGE_MEMBER, "<set item>", 0, 0);
	}
}

/*
 * Do the deque's blocks, from leftblock to rightblock, hold exactly len
 * items?  Checked before any item is visited, so that a chain that loops,
 * breaks or disagrees with len visits nothing; the walk stops after the
 * blocks that len allows, whatever the links say.
 */
static bool deque_blocks_agree(struct walk *w, uint64_t obj, uint64_t block,
			       uint64_t index, uint64_t len, uint64_t blocklen)
{
	const struct pcc_layout *l = &w->py->l;
	uint64_t right, rindex;
	if (!rd(w, obj + l->off[PCC_L_DEQUE_RIGHTBLOCK], &right)
	    || !rd(w, obj + l->off[PCC_L_DEQUE_RIGHTINDEX], &rindex)
	    || rindex >= blocklen)
		return false;
	uint64_t nblocks = 1, max_blocks = len / blocklen + 2;
	struct pcc_chain_check chain;
	pcc_chain_check_init(&chain, block);
	while (block != right) {
		if (nblocks >= max_blocks
		    || !rd(w, block + l->off[PCC_L_BLOCK_RIGHTLINK], &block)
		    || !block || pcc_chain_check_loops(&chain, block))
			return false;
		nblocks++;
	}
	return (nblocks - 1) * blocklen + rindex + 1 == len + index;
}

void pcc_traverse_deque(struct walk *w, uint64_t obj)
{
	const struct pcc_layout *l = &w->py->l;
	uint64_t block, index, len;
	int64_t blocklen = l->count[PCC_L_BLOCK_DATA];
	if (blocklen <= 0 || !rd(w, obj + l->off[PCC_L_DEQUE_LEFTBLOCK], &block)
	    || !rd(w, obj + l->off[PCC_L_DEQUE_LEFTINDEX], &index)
	    || !rd(w, obj + l->off[PCC_L_DEQUE_LEN], &len) || len > MAX_ITEMS
	    || index >= (uint64_t)blocklen) {
		w->partial = true;
		return;
	}
	if (!len)
		return;
	if (pcc_layout_has(l, PCC_L_DEQUE_RIGHTBLOCK)
	    && pcc_layout_has(l, PCC_L_DEQUE_RIGHTINDEX)
	    && !deque_blocks_agree(w, obj, block, index, len, (uint64_t)blocklen)) {
		w->partial = true;
		return;
	}
	if (!spend_items(w, len))
		return;
	/* Without rightblock in the layout, the same bounds as we go. */
	uint64_t nblocks = 1, max_blocks = len / (uint64_t)blocklen + 2;
	struct pcc_chain_check chain;
	pcc_chain_check_init(&chain, block);
	for (uint64_t i = 0; i < len && !w->stop; i++) {
		uint64_t item;
		if (!rd(w, block + l->off[PCC_L_BLOCK_DATA] + index * 8, &item))
			return;
		emit(w, item, PCC_EDGE_INDEX, NULL, 0, (int64_t)i);
		if (++index == (uint64_t)blocklen && i + 1 < len) {
			if (++nblocks > max_blocks
			    || !rd(w, block + l->off[PCC_L_BLOCK_RIGHTLINK], &block)
			    || !block || pcc_chain_check_loops(&chain, block)) {
				w->partial = true;
				return;
			}
			index = 0;
		}
	}
}
