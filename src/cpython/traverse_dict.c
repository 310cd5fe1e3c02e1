/* SPDX-License-Identifier: MIT */
/*
 * The referents of dicts: the keys table in each version's form, its
 * entries or the values kept apart from it (split dicts; an instance's
 * inline values use the same reading), 2.7's single table, and
 * OrderedDict, a dict whose linked list of nodes holds its keys again.
 */
#include "config.h"

#include "chain.h"
#include "traverse_walk.h"

enum {
	DICT_KEYS_GENERAL = 0,
};

bool pcc_traverse_read_dict_keys(struct walk *w, uint64_t keys,
				 struct pcc_dict_keys *dk)
{
	const struct pcc_layout *l = &w->py->l;
	struct pcc_target *t = w->py->t;
	if (!rd(w, keys + l->off[PCC_L_DK_NENTRIES], &dk->nentries))
		return false;
	uint64_t slots, index_bytes;
	dk->general_unknown = false;
	if (pcc_layout_has(l, PCC_L_DK_LOG2_SIZE)) {
		/* 3.11+: sizes are log2 bytes; entries are 16 bytes (str keys)
		 * or 24 bytes (general) depending on dk_kind. */
		const uint8_t *p = pcc_target_ptr(t, keys, (size_t)l->off[PCC_L_DK_INDICES]);
		if (!p) {
			w->partial = true;
			return false;
		}
		uint8_t log2_size = p[l->off[PCC_L_DK_LOG2_SIZE]];
		uint8_t log2_index = p[l->off[PCC_L_DK_LOG2_INDEX_BYTES]];
		uint8_t kind = p[l->off[PCC_L_DK_KIND]];
		if (log2_size > 40 || log2_index > 44)
			goto bad;
		slots = 1ull << log2_size;
		index_bytes = 1ull << log2_index;
		dk->general = kind == DICT_KEYS_GENERAL;
		if (dk->general) {
			dk->esize = (uint64_t)l->off[PCC_L_DKE_SIZE];
			dk->key_off = (uint64_t)l->off[PCC_L_DKE_KEY];
			dk->value_off = (uint64_t)l->off[PCC_L_DKE_VALUE];
		} else {
			dk->esize = (uint64_t)l->off[PCC_L_DKUE_SIZE];
			dk->key_off = (uint64_t)l->off[PCC_L_DKUE_KEY];
			dk->value_off = (uint64_t)l->off[PCC_L_DKUE_VALUE];
		}
	} else {
		/* 3.6–3.10: the index width follows dk_size; tables using the
		 * general lookdict visit their keys too. */
		uint64_t lookup = 0;
		if (!rd(w, keys + l->off[PCC_L_DK_SIZE], &slots))
			return false;
		if (pcc_layout_has(l, PCC_L_DK_LOOKUP))
			rd(w, keys + l->off[PCC_L_DK_LOOKUP], &lookup);
		if (slots == 0 || slots > (1ull << 40))
			goto bad;
		uint64_t width = slots <= 0xff ? 1 : slots <= 0xffff ? 2
					      : slots <= 0xffffffffull ? 4 : 8;
		index_bytes = slots * width;
		dk->general = lookup == w->py->lookdict;
		dk->general_unknown = !w->py->lookdict;
		dk->esize = (uint64_t)l->off[PCC_L_DKE_SIZE];
		dk->key_off = (uint64_t)l->off[PCC_L_DKE_KEY];
		dk->value_off = (uint64_t)l->off[PCC_L_DKE_VALUE];
	}
	if (dk->nentries > slots)
		goto bad;
	dk->entries = keys + (uint64_t)l->off[PCC_L_DK_INDICES] + index_bytes;
	return true;
bad:
	w->partial = true;
	return false;
}

/* Key of entry i (for labels): the attribute or item name. */
static uint64_t entry_key(struct walk *w, const struct pcc_dict_keys *dk,
			  uint64_t i)
{
	uint64_t key = 0;
	if (w->labels)
		pcc_target_read_u64(w->py->t,
				    dk->entries + i * dk->esize + dk->key_off,
				    &key);
	return key;
}

static int64_t dv_values_off(const struct pcc_python *py)
{
	/* 3.6–3.12 point at the array itself; 3.13+ has a header before it. */
	return py->l.off[PCC_L_DV_VALUES] > 0 ? py->l.off[PCC_L_DV_VALUES] : 0;
}

void pcc_traverse_visit_values(struct walk *w, uint64_t values, uint64_t n,
			       const struct pcc_dict_keys *dk,
			       enum pcc_edge_label label)
{
	const uint8_t *p = rdn(w, values + dv_values_off(w->py), n, 8);
	if (!p)
		return;
	if (w->out) {
		emit_words(w->out, p, n, 8);
		return;
	}
	for (uint64_t i = 0; i < n && !w->stop; i++) {
		uint64_t v = word_at(p, i);
		if (v)
			emit(w, v, label, NULL,
			     dk && i < dk->nentries ? entry_key(w, dk, i) : 0,
			     (int64_t)i);
	}
}

/* 2.7: the entries are the dict's own table, ma_mask + 1 of them; those
 * with a value are active, and their keys are visited too. */
static void traverse_dict_table(struct walk *w, uint64_t obj)
{
	const struct pcc_layout *l = &w->py->l;
	uint64_t mask, table;
	if (!rd(w, obj + l->off[PCC_L_DICT_MASK], &mask)
	    || !rd(w, obj + l->off[PCC_L_DICT_TABLE], &table))
		return;
	uint64_t esize = (uint64_t)l->off[PCC_L_DKE_SIZE];
	const uint8_t *p = mask + 1 ? rdn(w, table, mask + 1, esize) : NULL;
	if (!p) {
		w->partial = true;
		return;
	}
	for (uint64_t i = 0; i <= mask && !w->stop; i++) {
		uint64_t key, value;
		memcpy(&key, p + i * esize + l->off[PCC_L_DKE_KEY], 8);
		memcpy(&value, p + i * esize + l->off[PCC_L_DKE_VALUE], 8);
		if (!value)
			continue;
		emit(w, key, PCC_EDGE_DICT_KEY, NULL, key, 0);
		emit(w, value, PCC_EDGE_DICT_VALUE, NULL, key, 0);
	}
}

void pcc_traverse_dict(struct walk *w, uint64_t obj)
{
	const struct pcc_layout *l = &w->py->l;
	uint64_t keys, values = 0;
	if (pcc_layout_has(l, PCC_L_DICT_TABLE)) {
		traverse_dict_table(w, obj);
		return;
	}
	if (rd(w, obj + l->off[PCC_L_DICT_KEYS], &keys)
	    && (!pcc_layout_has(l, PCC_L_DICT_VALUES)
		|| rd(w, obj + l->off[PCC_L_DICT_VALUES], &values)))
		pcc_traverse_dict_tables(w, keys, values);
}

/* For the memory graph: the keys of a table whose traversal visits only
 * its values, or of a split dict, those whose values are set. */
static void emit_keys(struct walk *w, const struct pcc_dict_keys *dk,
		      uint64_t values)
{
	const uint8_t *p = rdn(w, dk->entries, dk->nentries, dk->esize);
	const uint8_t *v = values ? rdn(w, values + dv_values_off(w->py), dk->nentries, 8)
				  : NULL;
	if (!p || (values && !v))
		return;
	for (uint64_t i = 0; i < dk->nentries; i++) {
		uint64_t key, value;
		memcpy(&key, p + i * dk->esize + dk->key_off, 8);
		if (v)
			value = word_at(v, i);
		else
			memcpy(&value, p + i * dk->esize + dk->value_off, 8);
		if (value)
			emit(w, key, PCC_EDGE_DICT_KEY, NULL, key, 0);
	}
}

void pcc_traverse_dict_tables(struct walk *w, uint64_t keys, uint64_t values)
{
	struct pcc_python *py = w->py;
	const struct pcc_layout *l = &py->l;
	struct pcc_dict_keys dk;
	if (!pcc_traverse_read_dict_keys(w, keys, &dk))
		return;
	if (w->out && w->out->dict_keys && (values || !dk.general))
		emit_keys(w, &dk, values);
	if (values) {
		if (py->inline_values_owner_only
		    && pcc_layout_has(l, PCC_L_DV_EMBEDDED)) {
			const uint8_t *e = pcc_target_ptr(
				py->t, values + l->off[PCC_L_DV_EMBEDDED], 1);
			if (e && *e)
				return;
		}
		pcc_traverse_visit_values(w, values, dk.nentries, &dk,
					  PCC_EDGE_DICT_VALUE);
		return;
	}
	const uint8_t *p = rdn(w, dk.entries, dk.nentries, dk.esize);
	if (!p)
		return;
	if (dk.general_unknown) {
		/* A table with a key that is not exactly str uses the general
		 * lookdict (which visits keys); str-only tables are taken as
		 * the str-specialised kind, which is all but certain. */
		for (uint64_t i = 0; i < dk.nentries && !dk.general; i++) {
			uint64_t key, value;
			memcpy(&key, p + i * dk.esize + dk.key_off, 8);
			memcpy(&value, p + i * dk.esize + dk.value_off, 8);
			if (value && key
			    && pcc_python_ob_type(py, key) != py->unicode_type)
				dk.general = true;
		}
	}
	if (w->out && !dk.general) {
		/* A str-keyed table: its values alone, skipping deleted
		 * entries (NULL) as the general loop does. */
		emit_words(w->out, p + dk.value_off, dk.nentries, dk.esize);
		return;
	}
	for (uint64_t i = 0; i < dk.nentries && !w->stop; i++) {
		uint64_t key, value;
		memcpy(&key, p + i * dk.esize + dk.key_off, 8);
		memcpy(&value, p + i * dk.esize + dk.value_off, 8);
		if (!value)
			continue;
		emit(w, value, PCC_EDGE_DICT_VALUE, NULL, key, 0);
		if (dk.general)
			emit(w, key, PCC_EDGE_DICT_KEY, NULL, key, 0);
	}
}

/*
 * The node list has one node per item.  ma_used is the target's word, so
 * the walk is also bounded by the entries the keys table really holds, and
 * a list that loops is cut (partial) where the loop is found.
 */
void pcc_traverse_odict(struct walk *w, uint64_t obj)
{
	const struct pcc_layout *l = &w->py->l;
	member(w, obj, PCC_L_ODICT_INST_DICT, "__dict__");
	uint64_t node, used, keys;
	struct pcc_dict_keys dk;
	if (!rd(w, obj + l->off[PCC_L_ODICT_FIRST], &node)
	    || !rd(w, obj + l->off[PCC_L_DICT_USED], &used))
		return;
	if (node && (!pcc_layout_has(l, PCC_L_DICT_KEYS)
		     || !rd(w, obj + l->off[PCC_L_DICT_KEYS], &keys)
		     || !pcc_traverse_read_dict_keys(w, keys, &dk)
		     || used > dk.nentries
		     || !rdn(w, dk.entries, dk.nentries, dk.esize))) {
		w->partial = true;
		node = 0;
	}
	if (node && !spend_items(w, used))
		node = 0;
	struct pcc_chain_check chain;
	pcc_chain_check_init(&chain, 0);
	for (uint64_t i = 0; node && !w->stop; i++) {
		uint64_t key;
		if (i == used || pcc_chain_check_loops(&chain, node)) {
			/* More nodes than items: a list that loops or runs
			 * into other memory. */
			w->partial = true;
			break;
		}
		if (!rd(w, node + l->off[PCC_L_ODICTNODE_KEY], &key))
			return;
		emit(w, key, PCC_EDGE_DICT_KEY, NULL, key, 0);
		if (!rd(w, node + l->off[PCC_L_ODICTNODE_NEXT], &node))
			return;
	}
	pcc_traverse_dict(w, obj);
}
