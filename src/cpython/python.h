/* SPDX-License-Identifier: MIT */
/*
 * The CPython object model of the target: which interpreter this is, where
 * its collector keeps its lists, and what each object refers to.  Nothing
 * here includes libelf or libdw: layouts come in as a struct pcc_layout and
 * symbols through struct pcc_debuginfo.
 */
#ifndef PCC_PYTHON_H
#define PCC_PYTHON_H

#include "../debuginfo/layout.h"
#include "../memory/memory.h"
#include "../util/progress.h"
#include "versions.h"

/* How an object's referents are enumerated: one per tp_traverse we know. */
#define PCC_KINDS(X)                                                          \
	X(UNKNOWN, "unknown")                                                 \
	X(NONE, "none")                                                       \
	X(LIST, "list")                                                       \
	X(TUPLE, "tuple")                                                     \
	X(DICT, "dict")                                                       \
	X(SET, "set")                                                         \
	X(INSTANCE, "instance")                                               \
	X(TYPE, "type")                                                       \
	X(FUNCTION, "function")                                               \
	X(METHOD, "method")                                                   \
	X(CELL, "cell")                                                       \
	X(CLASSMETHOD, "classmethod")                                         \
	X(STATICMETHOD, "staticmethod")                                       \
	X(PROPERTY, "property")                                               \
	X(MODULE, "module")                                                   \
	X(FRAME, "frame")                                                     \
	X(GENERATOR, "generator")                                             \
	X(ASYNC_GENERATOR, "async_generator")                                 \
	X(EXCEPTION, "exception")                                             \
	X(TRACEBACK, "traceback")                                             \
	X(WEAKREF, "weakref")                                                 \
	X(CFUNCTION, "builtin_function")                                      \
	X(DESCRIPTOR, "descriptor")                                           \
	X(METHOD_WRAPPER, "method-wrapper")                                   \
	X(MAPPINGPROXY, "mappingproxy")                                       \
	X(MEMBERS, "members")                                                 \
	X(DEQUE, "deque")                                                     \
	X(DEFAULTDICT, "defaultdict")                                         \
	X(ORDEREDDICT, "OrderedDict")                                         \
	X(PARTIAL, "partial")                                                 \
	X(FILEIO, "FileIO")                                                   \
	X(BUFFERED, "Buffered")                                               \
	X(TEXTIO, "TextIOWrapper")                                            \
	X(RWPAIR, "BufferedRWPair")                                           \
	/* The type's own tp_traverse, run in the emulator (emulated.c). */    \
	X(EMULATED, "emulated")

enum pcc_kind {
#define X(id, name) PCC_KIND_##id,
	PCC_KINDS(X)
#undef X
	PCC_KIND_COUNT
};

const char *pcc_kind_name(enum pcc_kind kind);

/* What an edge is, for the report.  The hot path ignores it. */
enum pcc_edge_label {
	PCC_EDGE_MEMBER,   /* .name: a C struct member (name is static) */
	PCC_EDGE_INDEX,    /* [index] */
	PCC_EDGE_DICT_VALUE, /* [key]: key is a target object address */
	PCC_EDGE_DICT_KEY, /* <key> */
	PCC_EDGE_ATTR,     /* .key: instance attribute, key is a str address */
	PCC_EDGE_SLOT,     /* .name: __slots__ member, name is a target C string */
	PCC_EDGE_DICT,     /* .__dict__ */
	PCC_EDGE_TYPE,     /* .__class__ */
	PCC_EDGE_LOCAL,    /* frame slot index */
	/* Emulated traversal: loaded from offset index of the object (-1:
	 * not from the object itself); key: the name of the type's member
	 * there (a target C string), or 0; else name: the C struct's member
	 * there, from DWARF, or NULL. */
	PCC_EDGE_OFFSET,
};

struct pcc_edge {
	enum pcc_edge_label label;
	const char *name;
	uint64_t key;   /* dict key / attribute name object / C string address */
	int64_t index;
};

/*
 * Visitor: called for each referent.  The label is built only when the
 * caller asked for it (want_labels), so the hot path passes NULL.  Returns
 * true when it has what it wants: the walk then stops.
 */
typedef bool pcc_visit_fn(void *ctx, uint64_t referent,
			  const struct pcc_edge *edge);

/* tp_flags bits, the same in every version that has them. */
enum {
	PCC_TPFLAGS_HEAPTYPE = 1u << 9,
	PCC_TPFLAGS_HAVE_GC = 1u << 14,
};

/*
 * Whether the collector counts references to an object of a type
 * (_PyObject_IS_GC: Py_TPFLAGS_HAVE_GC, and the type's tp_is_gc, if it has
 * one, says yes).  An object on a generation list that is not a GC object is
 * never decremented: the collector takes it for referenced from outside.
 */
enum pcc_is_gc {
	PCC_IS_GC_YES,
	PCC_IS_GC_NO,
	PCC_IS_GC_IF_HEAP_TYPE, /* type_is_gc: type objects */
	PCC_IS_GC_UNDECIDED,    /* a tp_is_gc of its own (greenlet) */
};

struct pcc_type_info {
	uint64_t addr;
	uint32_t id; /* dense, from 0, in the order types were first seen */
	enum pcc_kind kind;
	enum pcc_is_gc is_gc;
	/* For INSTANCE: the traversal of the first base that is not a Python
	 * class (list for a list subclass, UNKNOWN for a C extension base). */
	enum pcc_kind base_kind;
	/* MEMBERS (or an INSTANCE whose base is MEMBERS): which list. */
	int16_t member_list;
	bool heap;
	bool visit_type;     /* the traversal visits Py_TYPE(self) once */
	/* INSTANCE: the base's own traversal visits Py_TYPE(self) too. */
	bool base_visits_type;
	bool visit_dict;     /* INSTANCE: tp_dictoffset differs from the base's */
	uint64_t flags;
	int64_t basicsize, itemsize, dictoffset;
	uint64_t cached_keys; /* ht_cached_keys (3.11, 3.12) */
	/* INSTANCE: __slots__ members along the chain, in slot_pool. */
	uint32_t slots_start, slots_count;
	uint64_t traverse; /* tp_traverse */
	char *name; /* tp_name, read on first use for the report */
	int8_t file_role; /* enum pcc_file_role, once file_role_known */
	bool file_role_known;
};

struct pcc_slot {
	int64_t offset;
	uint64_t name_addr;
};

enum { PCC_GENERATIONS = 3 };

/* Fields of a collector state that may be unknown: absent from the
 * version (2.7 has no gc.callbacks), or static variables that a stripped
 * module without DWARF gives no way to find (2.7, 3.6). */
enum {
	PCC_GC_ENABLED = 1,
	PCC_GC_DEBUG = 2,
	PCC_GC_COLLECTING = 4,
	PCC_GC_GARBAGE = 8,
	PCC_GC_CALLBACKS = 16,
};

struct pcc_gc_state {
	uint64_t interp_addr;
	int64_t interp_id;
	uint64_t state_addr; /* struct _gc_runtime_state; 0: static (2.7, 3.6) */
	uint64_t list_heads[PCC_GENERATIONS];
	uint64_t permanent_head; /* 0 when the version has none */
	int thresholds[PCC_GENERATIONS];
	int counts[PCC_GENERATIONS];
	int enabled, debug, collecting; /* 0 when unknown */
	uint64_t garbage_list, callbacks_list;
	int64_t garbage_len, callbacks_len; /* -1 when unknown */
	unsigned unknown; /* PCC_GC_* */
	bool shared; /* 3.7/3.8: one state for all interpreters */
};
PCC_VEC(pcc_gc_state_vec, struct pcc_gc_state)
PCC_VEC(pcc_slot_vec, struct pcc_slot)

struct pcc_python {
	struct pcc_target *t;
	struct pcc_debuginfo *di;
	struct pcc_layout l;
	/* Without DWARF: which built-in table, and its version. */
	char *layout_source;
	int layout_major, layout_minor;
	int major, minor, micro;
	char version[32];
	/* What sets this version apart (versions.c); NULL until the version
	 * is known. */
	const struct pcc_version_traits *traits;
	struct pcc_gc_state_vec gcs;

	/* Layout facts used on every object, hoisted out of the table. */
	int64_t gc_head_size, off_refcnt, off_type, off_size;
	bool gc_refs_in_head; /* 2.7–3.7: tracked iff gc_refs != UNTRACKED */
	bool immortal_refcnt; /* 3.12+: low 32 bits with bit 31 set */
	/* 3.9+: heap types' traversals visit Py_TYPE(self), and
	 * subtype_traverse leaves it to a heap base (bpo-40217). */
	bool heap_types_visit_self;
	/* 3.13 before gh-130327: inline values are visited by the owner only,
	 * and the owner prefers them over its managed dict. */
	bool inline_values_owner_only;

	/* tp_traverse address → kind, and well-known objects. */
	uint64_t traverse_fn[PCC_KIND_COUNT];
	uint64_t subtype_traverse;
	/* Traversals that visit exactly a member list of the layout. */
	uint64_t member_traverse_fn[PCC_LL_COUNT];
	uint64_t set_dummy;
	/* 2.7 without a symbol table for setobject.c's static dummy: the str
	 * type, by which traverse_set recognises it (see there). */
	uint64_t set_dummy_str_type;
	uint64_t lookdict; /* 3.6–3.10: general tables also visit keys */
	uint64_t type_type;
	uint64_t unicode_type;
	int unicode_width;  /* 2.7: bytes per Py_UNICODE (UCS2 or UCS4 build) */
	uint64_t file_type; /* 2.7: the file type, whose objects are not GC */

	/* type_is_gc, PyType_Type's tp_is_gc; 0 until the first type needs it. */
	uint64_t type_is_gc;
	/* 3.9+: the traversals that were written for heap types, and so visit
	 * Py_TYPE(self); the built-in static types' traversals never do. */
	bool kind_visits_heap_type[PCC_KIND_COUNT];
	bool list_visits_heap_type[PCC_LL_COUNT];

	/* Type cache: open addressing on the type's address, pointing into
	 * chunks that never move (a walk keeps its object's entry while a
	 * visitor may describe new types). */
	struct pcc_type_info **types;
	size_t types_cap, types_len;
	struct pcc_type_chunk *type_chunks;
	struct pcc_type_info **type_by_id; /* types_len of them */
	size_t type_by_id_cap;
	struct pcc_slot_vec slot_pool;
	uint64_t last_type_addr;
	struct pcc_type_info *last_type;

	/* Items that traversals may still read, all passes together: a few
	 * times what the target's memory can hold, so that containers whose
	 * sizes lie cannot make the total work more than linear in the core
	 * (see traverse.c). */
	uint64_t item_budget;
	bool item_budget_spent;

	/* Traversals run in the emulator (emulated.c); NULL until then. */
	struct pcc_emulated *emulated;
	/* Where long work says how far it is; may be NULL. */
	struct pcc_progress *progress;
};

/* Bytes of the target's memory that reads can reach. */
uint64_t pcc_python_mapped_bytes(const struct pcc_python *py);

/*
 * Find the interpreter state and every interpreter's GC state.
 * Errors: PCC_ERROR_UNSUPPORTED for builds we do not read (free-threaded),
 * PCC_ERROR_BAD_DATA when the runtime cannot be read.
 */
struct pcc_error *pcc_python_open(struct pcc_target *t,
				  struct pcc_debuginfo *di,
				  struct pcc_python **ret);
void pcc_python_destroy(struct pcc_python *py);

/*
 * Choose a built-in layout for an interpreter without DWARF into py->l,
 * checked against the core; major == 0 when the version is not known yet.
 */
struct pcc_error *pcc_python_builtin_layout(struct pcc_python *py,
					    uint64_t runtime, int major,
					    int minor, int micro);

/* Type information, cached; NULL if the type object is unreadable. */
struct pcc_type_info *pcc_python_type(struct pcc_python *py, uint64_t type);

/* No type: the object's ob_type could not be read. */
enum { PCC_NO_TYPE = UINT32_MAX };

/* The type of obj, as a stable id; PCC_NO_TYPE if unreadable.  Ids are
 * dense and never change once the interpreter is open. */
uint32_t pcc_python_type_id_of(struct pcc_python *py, uint64_t obj);

/* The type with this id, NULL for PCC_NO_TYPE. */
static inline struct pcc_type_info *pcc_python_type_by_id(const struct pcc_python *py,
							  uint32_t id)
{
	return id < py->types_len ? py->type_by_id[id] : NULL;
}

/* The type of an object that may not be tracked: NULL if unreadable. */
struct pcc_type_info *pcc_python_type_of(struct pcc_python *py, uint64_t obj);
const char *pcc_python_type_name(struct pcc_python *py,
				 struct pcc_type_info *ti);
/* Drop the type cache: what is known about traversals changed. */
void pcc_python_forget_types(struct pcc_python *py);
/* Whether obj, of the type ti describes, is a GC object: PCC_IS_GC_YES,
 * PCC_IS_GC_NO or PCC_IS_GC_UNDECIDED. */
enum pcc_is_gc pcc_python_is_gc(struct pcc_python *py,
				const struct pcc_type_info *ti, uint64_t obj);

/* ob_type of an object, 0 if unreadable. */
static inline uint64_t pcc_python_ob_type(struct pcc_python *py, uint64_t obj)
{
	uint64_t type;
	return pcc_target_read_u64(py->t, obj + (uint64_t)py->off_type, &type)
		       ? type
		       : 0;
}

/*
 * Reference count as the collector counts it, or one of these: an immortal
 * object is never garbage; an unreadable one must be taken for alive.
 */
enum { PCC_REFCNT_IMMORTAL = -1, PCC_REFCNT_UNREADABLE = -2 };
int64_t pcc_python_refcnt(struct pcc_python *py, uint64_t obj);

/*
 * Call visit for each reference the object's tp_traverse would report, in
 * the same order.  Returns the kind used; PCC_KIND_UNKNOWN means nothing was
 * visited because the type's traversal is not known (the caller must treat
 * the object's referents as external).  *partial is set when only a part of
 * the object could be traversed (a C extension base, an unreadable block).
 */
enum pcc_kind pcc_python_traverse(struct pcc_python *py, uint64_t obj,
				  pcc_visit_fn *visit, void *ctx,
				  bool want_labels, bool *partial);

/* The object's __dict__ (an instance's, a module's), 0 if it has none or
 * keeps its attributes as inline values. */
uint64_t pcc_python_object_dict(struct pcc_python *py, uint64_t obj);

/* The same for the refcount pass: only references the object owns; and
 * whether the object itself is a GC object (pcc_python_is_gc). */
enum pcc_kind pcc_python_traverse_owned(struct pcc_python *py, uint64_t obj,
					pcc_visit_fn *visit, void *ctx,
					bool *partial, enum pcc_is_gc *is_gc);

/*
 * Display helpers, bounded: a str object's text (ASCII/latin-1 shown as is,
 * other characters escaped), NULL if not a readable str.
 */
char *pcc_python_str(struct pcc_python *py, uint64_t obj, size_t max);
/* The same as text (UTF-8, nothing escaped; a 2.7 str's bytes as they
 * are), for names the report gives as they are: file names. */
char *pcc_python_str_text(struct pcc_python *py, uint64_t obj, size_t max);
/* Short repr-like text for a dict key: 'name', 3, <Foo object>. */
char *pcc_python_key_repr(struct pcc_python *py, uint64_t obj);
/* 2.7 classic classes: the name of an old-style class, or of the class of
 * an old-style instance (*is_class says which); NULL for anything else. */
char *pcc_python_classic_name(struct pcc_python *py, uint64_t obj,
			      bool *is_class);
/*
 * Run, in the CPU emulator, the type's own tp_traverse of every object of
 * objs (n, ascending) that pcc_python_traverse cannot follow itself: from
 * then on their referents are the ones it visited (PCC_KIND_EMULATED).
 * Objects whose emulation fails stay as they were (unknown, partial).
 */
void pcc_python_emulate_traversals(struct pcc_python *py, const uint64_t *objs,
				   uint32_t n);

/* What the emulation did, for the report. */
struct pcc_emu_fallback {
	uint64_t type;
	uint64_t count;
	int status; /* enum pcc_emu_status */
	const char *reason; /* the status as text (static) */
	uint64_t example; /* one object it happened to */
};
PCC_VEC(pcc_emu_fallback_vec, struct pcc_emu_fallback)
struct pcc_emulation_summary {
	bool ran;          /* some objects needed it */
	const char *unavailable; /* why there was no emulator, or NULL */
	uint64_t objects, types; /* emulated, successfully */
	uint64_t blocks;
	double seconds;
	const char *engine; /* "Unicorn 2.0" */
	struct pcc_emu_fallback_vec fallbacks; /* most objects first */
};
/* Whether this build has the CPU emulator. */
bool pcc_python_emulator_built(void);
/* NULL when no object needed the emulator. */
const struct pcc_emulation_summary *pcc_python_emulation(const struct pcc_python *py);

/*
 * --check-traversals: every object of objs that pycorecheck traverses with
 * its own code is traversed again by its type's tp_traverse in the emulator,
 * and the two lists of referents compared (as multisets; a partial native
 * traversal may visit fewer).  Types whose objects differ are listed.
 */
struct pcc_traversal_diff {
	uint64_t type;
	int kind; /* enum pcc_kind of the native traversal */
	uint64_t objects; /* that differ */
	uint64_t example;
	/* Of the example: a referent only the native traversal visits, one
	 * only the emulated one does (0: none). */
	uint64_t extra, missing;
};
PCC_VEC(pcc_traversal_diff_vec, struct pcc_traversal_diff)
struct pcc_traversal_check {
	bool ran;
	uint64_t compared, differ;
	uint64_t not_emulated; /* the emulation failed: not compared */
	struct pcc_traversal_diff_vec diffs; /* most objects first */
};
void pcc_python_check_traversals(struct pcc_python *py, const uint64_t *objs,
				 uint32_t n, struct pcc_traversal_check *out);
void pcc_traversal_check_free(struct pcc_traversal_check *c);

/* For traverse.c: the referents recorded for obj, if it was emulated. */
bool pcc_python_emulated_referents(struct pcc_python *py, uint64_t obj,
				   const uint64_t **refs, uint32_t *n);
/* For traverse.c: visit an emulated object's referents with labels. */
void pcc_python_emulated_labelled(struct pcc_python *py, uint64_t obj,
				  const struct pcc_type_info *ti,
				  const uint64_t *refs, uint32_t n,
				  pcc_visit_fn *visit, void *ctx);
void pcc_python_emulated_free(struct pcc_python *py);

/* Offset of the member that Python calls label in a member list, -1. */
int64_t pcc_python_list_member(const struct pcc_python *py,
			       enum pcc_layout_list list, const char *label);

#endif
