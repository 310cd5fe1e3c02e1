/* SPDX-License-Identifier: MIT */
/*
 * The interpreter of the target, for the files of cpython/ only: which
 * version, its layout, its collectors, what is known of its traversals, and
 * the caches the readers share.  Nothing here includes libelf or libdw:
 * layouts come in as a struct pcc_layout and symbols through struct
 * pcc_debuginfo.
 */
#ifndef PCC_INTERPRETER_H
#define PCC_INTERPRETER_H

#include "layout.h"
#include "../memory/memory.h"
#include "../util/progress.h"
#include "model.h"
#include "versions.h"

PCC_VEC(pcc_slot_vec, struct pcc_slot)

struct pcc_python {
	struct pcc_target *t;
	struct pcc_debuginfo *di;
	/* What reading the interpreter found amiss, for the report (the
	 * target's and the debug info's own are theirs). */
	struct pcc_warnings warnings;
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
	 * type, by which pcc_traverse_set (traverse_containers.c) recognises
	 * it (see there). */
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
	 * (see traverse_walk.h). */
	uint64_t item_budget;
	bool item_budget_spent;

	/* The builtin types whose __sizeof__ object_size.c reproduces, and
	 * how many type ids pcc_python_resolve_sizes has seen. */
	uint64_t object_type, list_type, set_type, frozenset_type, dict_type;
	uint64_t long_type, bytes_type, tuple_type; /* bytes: 2.7's str */
	uint64_t unicode_struct_size; /* 2.7: sizeof(PyUnicodeObject) */
	uint64_t static_type_size; /* sizeof(PyTypeObject); 0: unknown */
	uint32_t sizes_resolved;
	uint64_t size_limit; /* no part of an object is larger: the target's bytes */

	/* Traversals run in the emulator (emulated.c); NULL until then. */
	struct pcc_emulated *emulated;
	/* Where long work says how far it is; may be NULL. */
	struct pcc_progress *progress;
};

/* ob_type of an object, 0 if unreadable. */
static inline uint64_t pcc_python_ob_type(struct pcc_python *py, uint64_t obj)
{
	uint64_t type;
	return pcc_target_read_u64(py->t, obj + (uint64_t)py->off_type, &type)
		       ? type
		       : 0;
}

/* Does the type keep its instances' dict at the managed-dict offset? */
static inline bool pcc_python_has_managed_dict(const struct pcc_python *py,
					       const struct pcc_type_info *ti)
{
	return py->traits && py->traits->managed_dict != PCC_MANAGED_DICT_NONE
	       && (ti->flags & py->traits->managed_dict_flag);
}

/* Bytes of the target's memory that reads can reach. */
static inline uint64_t pcc_python_mapped_bytes(const struct pcc_python *py)
{
	uint64_t bytes = 0;
	const struct pcc_segment_vec *segs = &py->t->segments;
	for (size_t i = 0; i < segs->len; i++)
		bytes += segs->data[i].end - segs->data[i].start;
	return bytes;
}

/* Add a warning for the report; one given before is dropped. */
#define pcc_python_warn(py, ...) pcc_warnings_add(&(py)->warnings, __VA_ARGS__)

#endif
