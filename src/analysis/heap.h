/* SPDX-License-Identifier: MIT */
/*
 * The heap snapshot and what is computed on it.
 *
 * Memory per tracked object and cache misses are the budgets that matter
 * (millions of objects, a reference lookup for every edge in every pass).
 * The objects are kept sorted by address (4 bytes each: the high bits are
 * shared by runs of objects) with their type id (2, or 4 in a heap of
 * 65,535 types or more), gc_refs (4), size (2, the large ones apart) and
 * flags (1) beside them.  An
 * address is found through
 * the block of 256 aligned slots it lies in: a hash table of blocks gives
 * the index of the block's first object and a bitmap of its occupied
 * slots, and the bits set below the address's own slot give its index --
 * two cache lines, no search.  The hot passes put the references of many
 * objects in a buffer first and then look them all up, so that the
 * lookups' cache misses overlap.  The reachability passes keep the edges
 * between tracked objects, compactly and within a bound, only while they
 * run (edge_cache.h); later phases run the traversal again when needed.
 * Only the unreachable part, usually small, gets an explicit graph.
 */
#ifndef PCC_HEAP_H
#define PCC_HEAP_H

#include "../cpython/io_objects.h"
#include "../cpython/python.h"
#include "../cpython/types.h"
#include "../util/progress.h"

struct pcc_edge_cache;

enum pcc_obj_flag {
	PCC_OBJ_REACHABLE = 1,
	PCC_OBJ_UNKNOWN = 2, /* traversal unknown: referents left external */
	PCC_OBJ_PARTIAL = 4, /* traversal read only part of the object */
	PCC_OBJ_IMMORTAL = 8,
	/* Alive whatever refers to it: the collector never counts references
	 * to an object that is not a GC object (tp_is_gc), and one whose
	 * header cannot be read cannot be shown to be garbage. */
	PCC_OBJ_HELD = 16,
	/* Its referrers are written down (pcc_heap_watch). */
	PCC_OBJ_WATCHED = 32,
	/* Refers to a tracked object, or may: the reference pass found one
	 * among its referents, or left one out (pcc_referents.omitted).  The
	 * marking pass traverses only these: the others reach nothing. */
	PCC_OBJ_REFERS = 64,
	/* Its reference pass left borrowed references out: what that pass
	 * found of its references is not all of them. */
	PCC_OBJ_OMITTED = 128,
};

struct pcc_count {
	uint64_t type;
	uint64_t count;
};
PCC_VEC(pcc_count_vec, struct pcc_count)

/* A type's objects in the memory graph. */
struct pcc_type_total {
	uint64_t type;
	uint64_t count, tracked, bytes;
	bool bytes_exact; /* else its bytes are a lower bound */
};
PCC_VEC(pcc_type_total_vec, struct pcc_type_total)

struct pcc_group {
	uint32_t id;
	/* Of the example loop: type names and edge labels, the same with or
	 * without debug info (the fingerprint hashes it); the same for the
	 * report, with what debug info adds (emulated edges' C names). */
	char *signature, *display;
	char fingerprint[17];
	uint32_t cycles;
	uint64_t objects; /* in cycles plus hanging off them */
	uint64_t bytes;   /* theirs, as sys.getsizeof gives them */
	uint32_t objects_per_cycle; /* of the example cycle's component */
	/* The example: a loop through one cycle, node indexes, and edges. */
	uint32_t *loop;
	char **loop_labels; /* label of the edge leaving loop[i] */
	uint32_t loop_len;
	struct pcc_count_vec types; /* type histogram of the group */
};
PCC_VEC(pcc_group_vec, struct pcc_group)

/* An open descriptor owner (FileIO, socket) with its wrappers. */
struct pcc_open_file {
	uint64_t owner;
	enum pcc_file_role role;
	struct pcc_file_info info;
	char *text_mode;   /* mode the user opened a text file with */
	uint64_t wrappers[2]; /* outermost first */
	int nwrappers;
	uint64_t outermost;
	bool tracked, reachable, leaked, many_same_path;
	uint32_t same_path; /* open handles with this name, itself included */
	uint64_t holder_addr;
	char *holder; /* "LogWriter.__dict__['f']", NULL if none found */
};
PCC_VEC(pcc_open_file_vec, struct pcc_open_file)

/*
 * The tracked objects of one block of PCC_HEAP_BLOCK_SLOTS aligned slots:
 * the index of its first object, and where its bitmap of occupied slots
 * is.  An object's index is then first + the bits set below its own: no
 * search, and one cache line of the table and one of the bitmaps per
 * lookup.  The bits set in the bitmap's words before each word ride in
 * the key's unused high bytes, so that a lookup counts the bits of one
 * word, with no loop whose length the CPU must guess.
 */
struct pcc_heap_block {
	/* Bits 0-39: address >> block_shift (48-bit addresses, a shift of 8
	 * at least); 0 = empty entry.  Byte 4 + w, for w = 1..3: the bits
	 * set in words 0..w-1 of the bitmap. */
	uint64_t block;
	uint32_t first; /* index of the block's first object */
	uint32_t bits;  /* its bitmap: block_bits[bits] */
};

enum {
	PCC_HEAP_BLOCK_SLOTS = 256,
	PCC_HEAP_BLOCK_WORDS = PCC_HEAP_BLOCK_SLOTS / 64,
	/* Objects are 16-byte aligned from 3.8, 8 before: the slot size is
	 * the largest alignment, up to this, that every object has. */
	PCC_HEAP_MAX_ALIGN_SHIFT = 4,
	/* Referrers written down per watched object. */
	PCC_HEAP_MAX_REFERRERS = 4,
	PCC_HEAP_BLOCK_KEY_BITS = 40,
	PCC_HEAP_REGION_HINT_SHIFT = 12,
	PCC_HEAP_WATCH_GROUP_SHIFT = 6,
	/* A gap this long ends a dense run; and a run's table holds at most
	 * four entries per block that has objects. */
	PCC_HEAP_DENSE_GAP = 64 << 20,
	PCC_HEAP_DENSE_SPREAD = 4,
	PCC_HEAP_NARROW_NO_TYPE = UINT16_MAX,
	/* While the headers are read: a type not described yet, or an id
	 * too wide for 16 bits. */
	PCC_HEAP_NARROW_NOT_YET = UINT16_MAX - 1,
	PCC_HEAP_BIG_SIZE = UINT16_MAX,
	PCC_HEAP_SIZE_LATER = UINT16_MAX - 1,
};

/* The objects from first on, up to the next region's first, have the
 * slots (high << 32) + their addr_slots. */
struct pcc_heap_region {
	uint32_t first;
	uint32_t high;
};

struct pcc_heap_big_size {
	uint32_t index;
	uint64_t bytes;
};
PCC_VEC(pcc_heap_big_size_vec, struct pcc_heap_big_size)

struct pcc_heap {
	struct pcc_python *py;
	const struct pcc_gc_state *gcs; /* the interpreters' collectors */
	size_t ngcs;
	struct pcc_progress *progress; /* or NULL */
	unsigned threads; /* for the passes over all objects; 0 = 1 */
	uint32_t n;
	/*
	 * The objects' addresses, ascending, in 4 bytes each: per object the
	 * low 32 bits of its slot (address >> align_shift); the bits above
	 * them once per region, the run of objects that shares them.  A
	 * region spans 2^32 slots (32 or 64 GiB): a heap has a few.
	 */
	uint32_t *addr_slots;
	/* Ascending first, the first at 0, and after the last one more
	 * whose first is UINT32_MAX. */
	struct pcc_heap_region *regions;
	uint32_t nregions;
	/* Per PCC_HEAP_REGION_HINT objects in index order: the region of the
	 * first. */
	uint32_t *region_hints;
	/*
	 * The lookup: an entry and a bitmap per block.  The blocks of the
	 * heap's densest run (its most objects with no gap of over
	 * PCC_HEAP_DENSE_GAP) have theirs in a table of their own, one per
	 * block of the run, in address order, where the lookups of
	 * neighbouring objects share cache lines; the others, if any, in a
	 * hash table, open addressing, load <= 1/2.
	 */
	struct pcc_heap_block *dense;
	uint64_t dense_first, dense_blocks; /* the run's first block; 0: none */
	struct pcc_heap_block *blocks;
	uint64_t block_mask;
	unsigned block_hash_shift; /* 64 - log2 of the table's size */
	uint64_t (*block_bits)[PCC_HEAP_BLOCK_WORDS];
	unsigned align_shift, block_shift;
	uint64_t min_addr, addr_span; /* every tracked address is in range */
	/* Objects whose tracked referrers the reachability pass writes down
	 * as it visits every reference anyway (file objects, whose holders
	 * the report names): sorted, and up to PCC_HEAP_MAX_REFERRERS each. */
	uint64_t *watched;
	size_t nwatched;
	uint64_t (*referrers)[PCC_HEAP_MAX_REFERRERS];
	/* A bit per PCC_HEAP_WATCH_GROUP objects in index order, set where
	 * one of them is watched: a look small enough to stay in the cache
	 * before the one at the object's flags, on every reference. */
	uint64_t *watched_groups;
	/* Per object, read once by the walk: its type (pcc_python_type_id_of),
	 * so that no later pass reads an object's header again.  In 16 bits
	 * (PCC_HEAP_NARROW_NO_TYPE for none), type_ids then NULL; in 32 only
	 * when the heap has more types than that, narrow_type_ids then NULL. */
	uint32_t *type_ids;
	uint16_t *narrow_type_ids;
	int32_t *gc_refs;
	uint8_t *flags;
	/* Per object, read with its header: its bytes as sys.getsizeof
	 * gives them (pcc_python_object_size), in 16 bits, or
	 * PCC_HEAP_BIG_SIZE for 64 KiB or more, whose bytes big_sizes holds
	 * by index (at 16 bytes each, a 4,000th of the object's own);
	 * PCC_HEAP_SIZE_LATER where the size reads what the object's
	 * traversal reads (a dict's keys), until the reference pass, which
	 * reads them anyway. */
	uint16_t *sizes;
	struct pcc_heap_big_size *big_sizes;
	size_t nbig_sizes;
	/* From pcc_heap_find_unreachable to pcc_heap_drop_edges: the
	 * references the reference pass found, for the marking pass
	 * (edge_cache.h). */
	struct pcc_edge_cache *edges;

	/* Results. */
	uint32_t *unreachable; /* object indexes */
	uint32_t nunreachable;
	uint32_t *group_of;     /* per unreachable position: group id (1-based) */
	struct pcc_group_vec groups;
	struct pcc_count_vec unknown_types; /* objects whose traversal is unknown */
	/* Objects whose type's own tp_is_gc decides whether the collector
	 * counts them (greenlet): taken for alive. */
	struct pcc_count_vec undecided_types;
	uint64_t unreadable_objects; /* reference count unreadable: alive */
	/* The memory graph's types, most bytes first (pcc_heap_count_types),
	 * and its objects and bytes in all. */
	struct pcc_type_total_vec type_histogram;
	uint64_t graph_objects, graph_bytes, graph_bytes_bound;
	uint64_t partial_objects;
	uint64_t *frozen; /* per interpreter: objects in the permanent generation */
	/* Theirs, every interpreter's, ascending. */
	uint64_t *frozen_addrs;
	size_t nfrozen;
	/*
	 * The memory graph's other nodes (pcc_heap_find_others): the objects
	 * of the permanent generation, and those the tracked objects hold
	 * that the collector does not track, followed through untracked
	 * containers; ascending, each with its type id, its bytes as
	 * sys.getsizeof gives them, and whether it is tracked (frozen).
	 */
	uint64_t *other_addrs;
	uint32_t *other_type_ids;
	uint64_t *other_bytes;
	bool *other_frozen;
	uint32_t nothers;
	uint64_t others_unreadable; /* referents whose type is unreadable */
	/* Other nodes whose referents are not followed: their traversal is
	 * unknown (what they hold is left out). */
	struct pcc_count_vec others_unknown_types;
	uint64_t max_objects; /* read at most, of each kind */
	uint64_t negative_refs; /* objects whose gc_refs went below zero */
	struct pcc_open_file_vec files; /* leaked first, then by name */
	uint64_t leaked_files;
	struct pcc_count_vec *garbage_types; /* per interpreter */
	struct pcc_string_vec diagnoses;
	struct pcc_string_vec warnings;
	bool complete;
};

/* Walk every interpreter's generation lists into a snapshot; with emulate,
 * run the traversals pycorecheck does not know in the CPU emulator.  The
 * passes over all objects, here and after, use up to threads threads. */
void pcc_heap_build(struct pcc_heap *h, struct pcc_python *py,
		    uint64_t max_objects, bool emulate, unsigned threads);
/* Sort the n addresses (malloc'd: the heap takes them, and frees them),
 * drop what cannot be an object, and build the lookup: the part of
 * pcc_heap_build after the walk. */
void pcc_heap_index(struct pcc_heap *h, uint64_t *addrs, uint32_t n);
/* Read each object's header once, in address order: its type id, and its
 * reference count into gc_refs (flagged immortal or held where it is not
 * a count).  The part of pcc_heap_build after pcc_heap_index. */
void pcc_heap_read_headers(struct pcc_heap *h);
void pcc_heap_deinit(struct pcc_heap *h);
void pcc_heap_warn(struct pcc_heap *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline uint64_t pcc_heap_block_slot(const struct pcc_heap *h,
					   uint64_t block)
{
	/* Fibonacci hashing takes the product's top bits: consecutive
	 * blocks, the common case, then land in distinct entries. */
	return block * 0x9e3779b97f4a7c15ull >> h->block_hash_shift;
}

static inline __attribute__((always_inline)) unsigned
pcc_heap_popcount(uint64_t x)
{
#ifdef __POPCNT__
	return (unsigned)__builtin_popcountll(x);
#else
	/* Without the instruction, GCC calls a table-driven routine. */
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
#endif
}

/* The address of the i-th object.  Its region is the hint's for its
 * group of objects, or one after: regions are far fewer than groups. */
static inline uint64_t pcc_heap_addr(const struct pcc_heap *h, uint32_t i)
{
	uint32_t r = h->region_hints[i >> PCC_HEAP_REGION_HINT_SHIFT];
	while (h->regions[r + 1].first <= i)
		r++;
	return ((uint64_t)h->regions[r].high << 32 | h->addr_slots[i])
	       << h->align_shift;
}

/* A pass over the objects in index order: their addresses without a
 * look for the region of each. */
struct pcc_heap_cursor {
	const struct pcc_heap_region *next; /* the region after the current */
	uint64_t high;                      /* the current's, shifted */
};

/* The address of the i-th object, i at or after the cursor's last. */
static inline uint64_t pcc_heap_cursor_addr(const struct pcc_heap *h,
					    struct pcc_heap_cursor *c,
					    uint32_t i)
{
	if (__builtin_expect(!c->next || c->next->first <= i, 0)) {
		uint32_t r = h->region_hints[i >> PCC_HEAP_REGION_HINT_SHIFT];
		while (h->regions[r + 1].first <= i)
			r++;
		c->next = &h->regions[r + 1];
		c->high = (uint64_t)h->regions[r].high << 32;
	}
	return (c->high | h->addr_slots[i]) << h->align_shift;
}

/* Every object's address, in index order, malloc'd. */
uint64_t *pcc_heap_addresses(const struct pcc_heap *h);

/* The type id of the i-th object (pcc_python_type_id_of). */
static inline uint32_t pcc_heap_type_id(const struct pcc_heap *h, uint32_t i)
{
	if (h->narrow_type_ids) {
		uint16_t id = h->narrow_type_ids[i];
		return id == PCC_HEAP_NARROW_NO_TYPE ? PCC_NO_TYPE : id;
	}
	return h->type_ids[i];
}

/* The bytes of the i-th object, as sys.getsizeof gives them. */
uint64_t pcc_heap_size_apart(const struct pcc_heap *h, uint32_t i);
static inline uint64_t pcc_heap_size(const struct pcc_heap *h, uint32_t i)
{
	uint16_t bytes = h->sizes[i];
	return bytes >= PCC_HEAP_SIZE_LATER ? pcc_heap_size_apart(h, i) : bytes;
}

/* Write down the i-th object's size; one of PCC_HEAP_SIZE_LATER bytes or
 * more goes to big, for pcc_heap_add_big_sizes. */
static inline void pcc_heap_set_size(struct pcc_heap *h,
				     struct pcc_heap_big_size_vec *big,
				     uint32_t i, uint64_t bytes)
{
	if (bytes >= PCC_HEAP_SIZE_LATER) {
		*pcc_heap_big_size_vec_push(big) = (struct pcc_heap_big_size){ i, bytes };
		bytes = PCC_HEAP_BIG_SIZE;
	}
	h->sizes[i] = (uint16_t)bytes;
}

/* The sizes of these n vectors join big_sizes; the vectors are freed. */
void pcc_heap_add_big_sizes(struct pcc_heap *h,
			    struct pcc_heap_big_size_vec *vecs, unsigned n);

/* The type of the i-th object; NULL if its ob_type is unreadable. */
static inline struct pcc_type_info *pcc_heap_type(const struct pcc_heap *h,
						  uint32_t i)
{
	return pcc_python_type_by_id(h->py, pcc_heap_type_id(h, i));
}

/* Its type object's address, 0 if unreadable. */
static inline uint64_t pcc_heap_type_addr(const struct pcc_heap *h, uint32_t i)
{
	const struct pcc_type_info *ti = pcc_heap_type(h, i);
	return ti ? ti->addr : 0;
}

/* The block entry of addr, or NULL if no tracked object can be there. */
static inline const struct pcc_heap_block *pcc_heap_block_of(
	const struct pcc_heap *h, uint64_t addr)
{
	if (addr & ((1u << h->align_shift) - 1))
		return NULL;
	uint64_t block = addr >> h->block_shift;
	const uint64_t key_mask = (UINT64_C(1) << PCC_HEAP_BLOCK_KEY_BITS) - 1;
	if (block - h->dense_first < h->dense_blocks) {
		const struct pcc_heap_block *b = &h->dense[block - h->dense_first];
		return (b->block & key_mask) == block ? b : NULL;
	}
	/* Most referents that are not tracked (types, interned strings,
	 * small ints) live outside the heap's address range: no probe. */
	if (addr - h->min_addr > h->addr_span)
		return NULL;
	uint64_t slot = pcc_heap_block_slot(h, block);
	for (;;) {
		const struct pcc_heap_block *b = &h->blocks[slot];
		if (!b->block) /* empty: no object lies in block 0 */
			return NULL;
		if ((b->block & key_mask) == block)
			return b;
		slot = (slot + 1) & h->block_mask;
	}
}

/*
 * pcc_heap_find with the popcount given: the hot passes take the CPU's
 * instruction where it has one (pcc_heap_find_many), the rest the portable
 * one.  Inlined, so that the popcount is too.
 */
static inline __attribute__((always_inline)) uint32_t
pcc_heap_find_counting(const struct pcc_heap *h, uint64_t addr,
		       unsigned (*popcount)(uint64_t))
{
	const struct pcc_heap_block *b = pcc_heap_block_of(h, addr);
	if (!b)
		return UINT32_MAX;
	const uint64_t *bits = h->block_bits[b->bits];
	unsigned s = (unsigned)(addr >> h->align_shift) % PCC_HEAP_BLOCK_SLOTS;
	uint64_t bit = 1ull << (s % 64);
	if (!(bits[s / 64] & bit))
		return UINT32_MAX;
	unsigned w = s / 64;
	uint32_t before = w ? (uint32_t)(b->block >> (32 + 8 * w)) & 0xff : 0;
	return b->first + before + popcount(bits[w] & (bit - 1));
}

/* Index of a tracked object, or UINT32_MAX. */
static inline uint32_t pcc_heap_find(const struct pcc_heap *h, uint64_t addr)
{
	return pcc_heap_find_counting(h, addr, pcc_heap_popcount);
}

/* Bring the lookup's first memory for addr into the cache, ahead of use. */
static inline void pcc_heap_prefetch(const struct pcc_heap *h, uint64_t addr)
{
	uint64_t block = addr >> h->block_shift;
	if (block - h->dense_first < h->dense_blocks)
		__builtin_prefetch(&h->dense[block - h->dense_first]);
	else if (addr - h->min_addr <= h->addr_span)
		__builtin_prefetch(&h->blocks[pcc_heap_block_slot(h, block)]);
}

/* pcc_heap_find for n addresses at once, into idx: the lookups' cache
 * misses overlap instead of coming one after the other. */
void pcc_heap_find_many(const struct pcc_heap *h, const uint64_t *addrs,
			uint32_t n, uint32_t *idx);

/* The objects whose type id has want[id] set (want holds ntypes + 1, the
 * last for the objects of no type), in address order, appended to out:
 * one pass on the heap's threads. */
void pcc_heap_objects_of_types(const struct pcc_heap *h, const bool *want,
			       size_t ntypes, struct pcc_u64_vec *out);
/* Add to counts[id] and bytes[id] (ntypes + 1 of them, the last for no
 * type) the objects of each type id and their bytes, on the heap's
 * threads. */
void pcc_heap_count_by_type(const struct pcc_heap *h, uint64_t *counts,
			    uint64_t *bytes, size_t ntypes);

/* Is object i watched (PCC_OBJ_WATCHED)? */
static inline bool pcc_heap_is_watched(const struct pcc_heap *h, uint32_t i)
{
	uint32_t g = i >> PCC_HEAP_WATCH_GROUP_SHIFT;
	return h->watched_groups && (h->watched_groups[g / 64] >> (g % 64) & 1)
	       && (__atomic_load_n(&h->flags[i], __ATOMIC_RELAXED) & PCC_OBJ_WATCHED);
}

/* Watch these tracked objects (copied; the others are ignored): see
 * pcc_heap.watched.  They are flagged PCC_OBJ_WATCHED. */
void pcc_heap_watch(struct pcc_heap *h, const uint64_t *objs, size_t n);

/* owner refers to ref, a watched object: written down. */
void pcc_heap_note_referrer(struct pcc_heap *h, uint64_t owner, uint64_t ref);

/* The referrers written down for obj (0-terminated when fewer than
 * PCC_HEAP_MAX_REFERRERS), or NULL if obj is not watched. */
const uint64_t *pcc_heap_referrers(const struct pcc_heap *h, uint64_t obj);

/* The phases of an analysis; run.c calls them in their order and says what
 * each needs from the ones before it. */

/* Watch every file object and wrapper. */
void pcc_heap_watch_files(struct pcc_heap *h);
/* CPython's collection, offline: gc_refs, roots, the unreachable set. */
void pcc_heap_find_unreachable(struct pcc_heap *h);
/* The edge cache that pass made, no longer needed. */
void pcc_heap_drop_edges(struct pcc_heap *h);
/* Cycles of the unreachable set, grouped by signature. */
void pcc_heap_group_cycles(struct pcc_heap *h);
/* Open files and sockets. */
void pcc_heap_find_files(struct pcc_heap *h, uint32_t same_path_threshold);
/* Diagnoses of the collector's state. */
void pcc_heap_check_health(struct pcc_heap *h);
/* The memory graph's nodes besides the tracked objects (graph.c). */
void pcc_heap_find_others(struct pcc_heap *h);
/* Type histogram of the memory graph: every type's objects, how many are
 * tracked, and their bytes. */
void pcc_heap_count_types(struct pcc_heap *h);

#endif
