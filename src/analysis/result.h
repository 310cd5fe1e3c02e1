/* SPDX-License-Identifier: MIT */
/*
 * The results of an analysis, as the reports show them: type names, edge
 * labels and every string from the target resolved and copied while they
 * are built, so that a renderer reads this and nothing else (no target
 * memory, no interpreter, no debug info).  Counts and objects are in the
 * order the reports give them.  Strings are as the target had them: each
 * renderer escapes them its own way.
 */
#ifndef PCC_RESULT_H
#define PCC_RESULT_H

#include <stdbool.h>
#include <stdint.h>

#include "../cpython/origin.h"
#include "../util/vec.h"

struct pcc_heap;
struct pcc_traversal_check;

struct pcc_result_count {
	const char *type; /* into pcc_result.type_names */
	uint64_t count;
};
PCC_VEC(pcc_result_count_vec, struct pcc_result_count)

/* A type's objects in the memory graph. */
struct pcc_result_type_total {
	const char *type;
	uint64_t type_addr; /* 0: the objects' type is unreadable */
	uint64_t count, tracked, bytes;
	bool bytes_exact; /* else a lower bound */
};
PCC_VEC(pcc_result_type_total_vec, struct pcc_result_type_total)

/* Which fields of a collector state are known (absent from the version, or
 * not found in a stripped interpreter: JSON null). */
enum {
	PCC_RESULT_GC_ENABLED = 1,
	PCC_RESULT_GC_DEBUG = 2,
	PCC_RESULT_GC_COLLECTING = 4,
	PCC_RESULT_GC_GARBAGE = 8,
	PCC_RESULT_GC_CALLBACKS = 16,
};

struct pcc_result_gc {
	int64_t interp_id;
	unsigned known; /* PCC_RESULT_GC_* */
	bool enabled, collecting;
	int thresholds[3], counts[3];
	int debug;
	int64_t garbage, callbacks; /* lengths of gc.garbage, gc.callbacks */
	uint64_t frozen;            /* objects in the permanent generation */
	struct pcc_result_count_vec garbage_types; /* most first */
};

/* One object of a group's example loop, and the edge to the next. */
struct pcc_result_node {
	uint64_t addr;
	const char *type;
	char *edge;
};

struct pcc_result_group {
	uint32_t id;
	char fingerprint[17];
	char *signature; /* the same with or without debug info */
	char *display;   /* with what debug info adds */
	uint32_t cycles;
	uint64_t objects; /* in cycles plus hanging off them */
	uint64_t bytes;   /* theirs, as sys.getsizeof gives them */
	uint32_t objects_per_cycle;
	struct pcc_result_count_vec types; /* most first */
	struct pcc_result_node *loop;
	uint32_t loop_len;
};

struct pcc_result_object {
	uint64_t addr;
	const char *type;
	uint32_t group; /* 0: in no cycle group (hangs off one) */
};

struct pcc_result_file {
	uint64_t addr; /* the descriptor's owner */
	const char *type;
	bool socket;
	int fd;
	char *name; /* NULL if unknown */
	char *mode; /* the mode the user opened it with */
	bool closefd, tracked, reachable, leaked, many_same_path;
	uint32_t same_path; /* open handles on this name, itself included */
	char *holder;       /* "LogWriter.__dict__['f']", NULL if none found */
	uint64_t wrappers[2]; /* outermost first */
	int nwrappers;
	uint64_t outermost;
	const char *outermost_type;
};

struct pcc_result_fallback {
	const char *type;
	uint64_t count;
	const char *reason;
	uint64_t example;
};
PCC_VEC(pcc_result_fallback_vec, struct pcc_result_fallback)

struct pcc_result_emulation {
	bool built;  /* this pycorecheck has the CPU emulator */
	bool needed; /* some object's traversal was left to it */
	char *unavailable; /* needed, but there was none: why */
	uint64_t objects, types; /* emulated successfully */
	struct pcc_result_fallback_vec fallbacks; /* most objects first */
};

struct pcc_result_diff {
	const char *type;
	const char *kind; /* of the native traversal */
	uint64_t objects, example, extra, missing;
};
PCC_VEC(pcc_result_diff_vec, struct pcc_result_diff)

/* --check-traversals. */
struct pcc_result_check {
	bool requested, ran;
	uint64_t compared, differ, not_emulated;
	struct pcc_result_diff_vec diffs; /* most objects first */
};

struct pcc_result {
	struct pcc_origin origin; /* its warnings come before the analysis's */
	struct pcc_result_gc *gcs; /* one per interpreter */
	size_t ngcs;
	struct pcc_string_vec diagnoses;

	uint64_t tracked; /* the permanent generation's too */
	uint64_t partial_objects, unreadable_objects;
	struct pcc_result_count_vec unknown_types, undecided_types;
	/* Untracked objects of the memory graph whose referents are not
	 * followed (their traversal is unknown). */
	struct pcc_result_count_vec untracked_unknown_types;
	/* The memory graph: tracked objects and what they hold.  Its types,
	 * most bytes first; its objects and bytes, and how many of the bytes
	 * are lower bounds. */
	struct pcc_result_type_total_vec type_histogram;
	uint64_t objects, bytes, bytes_bound;
	struct pcc_result_emulation emulation;
	struct pcc_result_check check;

	struct pcc_result_object *unreachable;
	uint32_t nunreachable;
	struct pcc_result_group *groups;
	size_t ngroups;

	uint64_t leaked_files;
	struct pcc_result_file *files; /* leaked first, then by name */
	size_t nfiles;

	struct pcc_string_vec warnings;
	bool complete;

	struct pcc_string_vec type_names; /* owns every type name above */
};

/* Resolve the results of an analysis of h (check: --check-traversals, or
 * NULL) into r: the last step that reads the target. */
void pcc_result_build(struct pcc_result *r, struct pcc_heap *h,
		      const struct pcc_traversal_check *check);
void pcc_result_deinit(struct pcc_result *r);

/* The referents of the heap's i-th object, as its traversal visits them
 * (--dump-referents): what the oracle compares with gc.get_referents. */
struct pcc_result_referents {
	uint64_t addr;
	const char *type; /* valid while the heap is */
	const char *kind;
	bool partial;
	uint64_t bytes;   /* as sys.getsizeof gives them */
	bool bytes_exact; /* else a lower bound */
	bool tracked, frozen; /* frozen: in the permanent generation */
	struct pcc_u64_vec refs;
	/* A dict's keys that refs leaves out, which the memory graph has. */
	struct pcc_u64_vec keys;
};
/* The memory graph's nodes: the tracked objects, then the others. */
uint32_t pcc_heap_objects(const struct pcc_heap *h);
void pcc_heap_referents(struct pcc_heap *h, uint32_t i,
			struct pcc_result_referents *out);

#endif
