/* SPDX-License-Identifier: MIT */
/*
 * The object model as the layers above see it: how referents are found
 * (kinds), what an edge is, what is known of a type and of a collector.
 * The interpreter itself (struct pcc_python) is opaque outside cpython/:
 * nothing here reads the target.
 */
#ifndef PCC_MODEL_H
#define PCC_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/vec.h"

struct pcc_python;

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
	const char *name; /* static, or the debug info's: lives as long as py */
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
	PCC_TPFLAGS_DICT_SUBCLASS = 1u << 29, /* dict and its subclasses */
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

/*
 * A type's traversal compiled for the reference and marking passes
 * (edge_program.c): steps over the object's fixed bytes, which one read
 * brings in, in the order the type's tp_traverse visits.
 */
enum { PCC_EDGE_PROGRAM_STEPS = 16 };
struct pcc_edge_step {
	uint8_t op; /* enum pcc_edge_op (edge_program.h) */
	/* The words the step reads, from the first fixed byte. */
	int16_t off, off2;
};
struct pcc_edge_program {
	bool ready; /* false: the general traversal */
	uint8_t len;
	int16_t lo, hi; /* the fixed bytes: [obj + lo, obj + hi) */
	struct pcc_edge_step steps[PCC_EDGE_PROGRAM_STEPS];
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
	/* How sys.getsizeof sizes its objects (object_size.h), once
	 * pcc_python_resolve_sizes has seen the type: enum
	 * pcc_size_rule, the bytes it adds before the object, and whether
	 * the rule is the type's own __sizeof__ (else a lower bound). */
	uint8_t size_rule;
	uint8_t size_before;
	bool size_before_varies;
	bool size_exact;
	uint32_t size_fixed; /* the size of every object of the type; 0: each its own */
	uint32_t size_count_at;   /* a count of items at this offset, */
	uint16_t size_count_each; /* of these bytes each; 0: no count */
	/* The struct the rule counts: PCC_SIZE_TYPE sizeof(PyHeapTypeObject),
	 * PCC_SIZE_INT offsetof(PyLongObject, ob_digit) or tp_basicsize. */
	uint32_t size_base;
	int8_t file_role; /* enum pcc_file_role, once file_role_known */
	bool file_role_known;
	struct pcc_edge_program program;
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

/* No type: the object's ob_type could not be read. */
enum { PCC_NO_TYPE = UINT32_MAX };

/*
 * Reference count as the collector counts it, or one of these: an immortal
 * object is never garbage; an unreadable one must be taken for alive.
 */
enum { PCC_REFCNT_IMMORTAL = -1, PCC_REFCNT_UNREADABLE = -2 };

#endif
