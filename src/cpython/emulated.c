/* SPDX-License-Identifier: MIT */
/*
 * Traversals pycorecheck does not know, run as the type's own machine code.
 *
 * A C extension's type, a Cython or mypyc class, a builtin without a
 * traversal of ours: each has a tp_traverse in a file the core maps.  All of
 * them are run once, in batches, in the emulator (memory/emulator.h), right
 * after the snapshot is taken; every pass after that reads the referents
 * recorded here, in the order the type's own code visited them, which is
 * what gc.get_referents() returns.  Only ob_type and the tp_traverse slot
 * are read to do it: no DWARF is needed.
 *
 * Types are probed first, one object each, so that a type whose traversal
 * cannot run here (a system call, an instruction the emulator lacks, a loop)
 * costs one object's budget, not one per object.
 */
#include "config.h"

#include "emulated.h"
#include "interpreter.h"
#include "object_dict.h"
#include "types.h"
#include "../memory/emulator.h"
#include "../util/sort.h"

struct emulated_obj {
	uint64_t obj;
	uint32_t first, count;
};
PCC_VEC(emulated_obj_vec, struct emulated_obj)

struct pcc_emulated {
	struct pcc_emulator *emu;
	char *unavailable;
	struct emulated_obj_vec objs; /* succeeded, ascending */
	uint64_t *refs;
	size_t nrefs, refs_cap;
	struct pcc_emulation_summary summary;
};

/* A failure that says something about the type's code, not about the one
 * object: the type's other objects are not tried. */
static bool fails_for_type(enum pcc_emu_status s)
{
	switch (s) {
	case PCC_EMU_FETCH_FAULT:
	case PCC_EMU_WRITE:
	case PCC_EMU_SYSCALL:
	case PCC_EMU_INSTRUCTION:
	case PCC_EMU_BUDGET:
	case PCC_EMU_UNAVAILABLE:
		return true;
	default:
		return false;
	}
}

/* Whether traverse() needs the emulator for objects of this type.  Not for
 * a type with a tp_is_gc of its own (greenlet): what its traversal visits
 * depends on the same per-object state (a greenlet's thread, whether it
 * runs) that its tp_is_gc reads, and its objects are taken for alive. */
bool pcc_python_needs_emulation(const struct pcc_type_info *ti)
{
	return ti && ti->traverse && ti->is_gc != PCC_IS_GC_UNDECIDED
	       && (ti->kind == PCC_KIND_UNKNOWN
		   || (ti->kind == PCC_KIND_INSTANCE
		       && ti->base_kind == PCC_KIND_UNKNOWN));
}

struct type_tally {
	uint64_t type;
	uint64_t ok;
	uint64_t failed[PCC_EMU_STATUS_COUNT];
	uint64_t example[PCC_EMU_STATUS_COUNT];
	int type_status; /* a fails_for_type status of its probe, or -1 */
	bool probed;
};
PCC_VEC(type_tally_vec, struct type_tally)

/* The tally of a type: types are few, and looked up through a small open
 * addressing table of indexes. */
struct tallies {
	struct type_tally_vec v;
	uint32_t *slots; /* index + 1, 0 empty */
	size_t cap;
};

static struct type_tally *tally_of(struct tallies *t, uint64_t type)
{
	if ((t->v.len + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		uint32_t *slots = pcc_xcalloc(cap, sizeof(*slots));
		for (size_t i = 0; i < t->v.len; i++) {
			size_t j = (t->v.data[i].type * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
			while (slots[j])
				j = (j + 1) & (cap - 1);
			slots[j] = (uint32_t)i + 1;
		}
		free(t->slots);
		t->slots = slots;
		t->cap = cap;
	}
	size_t j = (type * 0x9e3779b97f4a7c15ull >> 20) & (t->cap - 1);
	while (t->slots[j]) {
		struct type_tally *x = &t->v.data[t->slots[j] - 1];
		if (x->type == type)
			return x;
		j = (j + 1) & (t->cap - 1);
	}
	t->slots[j] = (uint32_t)t->v.len + 1;
	struct type_tally *x = type_tally_vec_push(&t->v);
	memset(x, 0, sizeof(*x));
	x->type = type;
	x->type_status = -1;
	return x;
}

static void tally(struct type_tally *x, const struct pcc_emu_call *c)
{
	if (c->status == PCC_EMU_OK) {
		x->ok++;
		return;
	}
	if (!x->failed[c->status])
		x->example[c->status] = c->obj;
	x->failed[c->status]++;
}

static int fallback_desc(const void *a, const void *b)
{
	const struct pcc_emu_fallback *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->type < y->type ? -1 : x->type > y->type;
}

static void summarise(struct pcc_emulated *em, struct tallies *t)
{
	struct pcc_emulation_summary *s = &em->summary;
	for (size_t i = 0; i < t->v.len; i++) {
		const struct type_tally *x = &t->v.data[i];
		s->objects += x->ok;
		s->types += x->ok != 0;
		for (int st = 0; st < PCC_EMU_STATUS_COUNT; st++) {
			if (!x->failed[st])
				continue;
			struct pcc_emu_fallback *f = pcc_emu_fallback_vec_push(&s->fallbacks);
			f->type = x->type;
			f->count = x->failed[st];
			f->status = st;
			f->reason = pcc_emu_status_text((enum pcc_emu_status)st);
			f->example = x->example[st];
		}
	}
	pcc_sort(s->fallbacks.data, s->fallbacks.len, sizeof(s->fallbacks.data[0]),
		 fallback_desc);
	const struct pcc_emu_stats *es = pcc_emulator_stats(em->emu);
	if (es) {
		s->blocks = es->blocks;
		s->seconds = es->seconds;
	}
}

/* Keep the referents of the calls that succeeded, ascending by object. */
static void keep_results(struct pcc_emulated *em, const struct pcc_emu_call *calls,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (calls[i].status != PCC_EMU_OK)
			continue;
		struct emulated_obj *o = emulated_obj_vec_push(&em->objs);
		o->obj = calls[i].obj;
		o->first = calls[i].first;
		o->count = calls[i].count;
	}
}

static int obj_asc(const void *a, const void *b)
{
	const struct emulated_obj *x = a, *y = b;
	return x->obj < y->obj ? -1 : x->obj > y->obj;
}

static struct pcc_emulated *emulated_state(struct pcc_python *py)
{
	struct pcc_emulated *em = py->emulated;
	if (em)
		return em;
	em = py->emulated = pcc_xcalloc(1, sizeof(*em));
	em->emu = pcc_emulator_new(py->t, &em->unavailable);
	em->summary.unavailable = em->unavailable;
	return em;
}

void pcc_python_emulate_traversals(struct pcc_python *py, const uint64_t *objs,
				   uint32_t n)
{
	struct pcc_emu_call *calls = pcc_xmalloc((n ? n : 1) * sizeof(*calls));
	size_t ncalls = 0;
	struct tallies t = { 0 };
	for (uint32_t i = 0; i < n; i++) {
		struct pcc_type_info *ti = pcc_python_type_of(py, objs[i]);
		if (pcc_python_needs_emulation(ti))
			calls[ncalls++] = (struct pcc_emu_call){ .fn = ti->traverse,
								 .obj = objs[i] };
	}
	if (!ncalls) {
		free(calls);
		return;
	}
	struct pcc_emulated *em = emulated_state(py);
	em->summary.ran = true;
	em->summary.engine = pcc_emulator_engine();

	/* Probes: the first object of each type. */
	struct pcc_emu_call *probes = pcc_xmalloc(ncalls * sizeof(*probes));
	size_t nprobes = 0;
	for (size_t i = 0; i < ncalls; i++) {
		struct type_tally *x = tally_of(&t, pcc_python_ob_type(py, calls[i].obj));
		if (!x->probed) {
			x->probed = true;
			probes[nprobes++] = calls[i];
			calls[i].fn = 0;
		}
	}
	if (em->emu)
		pcc_emulator_run(em->emu, probes, nprobes, &em->refs, &em->nrefs,
				 &em->refs_cap);
	else
		for (size_t i = 0; i < nprobes; i++)
			probes[i].status = PCC_EMU_UNAVAILABLE;
	for (size_t i = 0; i < nprobes; i++) {
		struct type_tally *x = tally_of(&t, pcc_python_ob_type(py, probes[i].obj));
		tally(x, &probes[i]);
		if (fails_for_type(probes[i].status))
			x->type_status = probes[i].status;
	}
	keep_results(em, probes, nprobes);

	/* The rest, but for the types whose probe failed for the type. */
	size_t nrest = 0;
	for (size_t i = 0; i < ncalls; i++) {
		if (!calls[i].fn)
			continue;
		struct type_tally *x = tally_of(&t, pcc_python_ob_type(py, calls[i].obj));
		if (x->type_status >= 0) {
			calls[i].status = (enum pcc_emu_status)x->type_status;
			tally(x, &calls[i]);
			continue;
		}
		calls[nrest++] = calls[i];
	}
	if (nrest) {
		/* In pieces, so that a long emulation says how far it is. */
		enum { PIECE = 16384 };
		pcc_progress_begin(py->progress, "emulate traversals", "objects",
				   nrest);
		for (size_t done = 0; done < nrest; done += PIECE) {
			size_t k = nrest - done < PIECE ? nrest - done : PIECE;
			pcc_emulator_run(em->emu, calls + done, k, &em->refs,
					 &em->nrefs, &em->refs_cap);
			pcc_progress_poll(py->progress, done + k);
		}
		pcc_progress_end(py->progress);
		for (size_t i = 0; i < nrest; i++)
			tally(tally_of(&t, pcc_python_ob_type(py, calls[i].obj)),
			      &calls[i]);
		keep_results(em, calls, nrest);
	}
	pcc_sort(em->objs.data, em->objs.len, sizeof(em->objs.data[0]), obj_asc);
	summarise(em, &t);
	free(probes);
	free(calls);
	free(t.slots);
	type_tally_vec_free(&t.v);
}

bool pcc_python_emulator_built(void)
{
	return pcc_emulator_built();
}

const struct pcc_emulation_summary *pcc_python_emulation(const struct pcc_python *py)
{
	return py->emulated && py->emulated->summary.ran ? &py->emulated->summary
							 : NULL;
}

/* The recorded referents of obj: true, with *refs and *n, if its
 * traversal was emulated. */
bool pcc_python_emulated_referents(struct pcc_python *py, uint64_t obj,
				   const uint64_t **refs, uint32_t *n)
{
	struct pcc_emulated *em = py->emulated;
	if (!em || !em->objs.len)
		return false;
	const struct emulated_obj *a = em->objs.data;
	size_t lo = 0, hi = em->objs.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid].obj < obj)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == em->objs.len || a[lo].obj != obj)
		return false;
	*refs = em->refs + a[lo].first;
	*n = a[lo].count;
	return true;
}

/* The name of the member at offset off of a type or one of its bases
 * (PyMemberDef of T_OBJECT or T_OBJECT_EX): its C string's address, or 0.
 * tp_members comes two pointers before tp_base in every version. */
static uint64_t member_name_at(struct pcc_python *py, uint64_t type, int64_t off)
{
	const struct pcc_layout *l = &py->l;
	int64_t msize = l->off[PCC_L_MEMBERDEF_SIZE];
	if (msize <= 0 || off < 0)
		return 0;
	for (int depth = 0; type && depth < 64; depth++) {
		uint64_t members = 0, base = 0;
		pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_BASE] - 16, &members);
		for (int i = 0; members && i < 256; i++) {
			uint64_t m = members + (uint64_t)(i * msize), name, moff;
			uint32_t mtype;
			if (!pcc_target_read_u64(py->t, m + l->off[PCC_L_MEMBERDEF_NAME], &name)
			    || !name
			    || !pcc_target_read_u32(py->t, m + l->off[PCC_L_MEMBERDEF_TYPE], &mtype)
			    || !pcc_target_read_u64(py->t, m + l->off[PCC_L_MEMBERDEF_OFFSET], &moff))
				break;
			if ((mtype == 6 || mtype == 16) && (int64_t)moff == off)
				return name;
		}
		if (!pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_BASE], &base))
			break;
		type = base;
	}
	return 0;
}

/* The traversal of the first C type along type's bases: what a Python
 * subclass's subtype_traverse hands the object's own struct to. */
static uint64_t c_traverse(struct pcc_python *py, uint64_t type)
{
	const struct pcc_layout *l = &py->l;
	for (int depth = 0; type && depth < 64; depth++) {
		uint64_t fn = 0;
		if (!pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_TRAVERSE], &fn))
			return 0;
		if (fn != py->subtype_traverse)
			return fn;
		if (!pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_BASE], &type))
			return 0;
	}
	return 0;
}

/*
 * The referents of an emulated object with labels: each is named by where
 * the object holds it, the first offset inside its basic size not named yet
 * whose word is that pointer (what a traversal visits is nearly always a
 * member of the object), then by the type's member at that offset if it has
 * one, else by the member of the C struct there if the module that holds
 * the traversal has DWARF.  A referent the object does not hold itself
 * (loaded through another block, such as expat's table of handlers) gets
 * offset -1.
 */
void pcc_python_emulated_labelled(struct pcc_python *py, uint64_t obj,
				  const struct pcc_type_info *ti,
				  const uint64_t *refs, uint32_t n,
				  pcc_visit_fn *visit, void *ctx)
{
	enum { MAX_WORDS = 512 };
	uint64_t words = ti->basicsize > 0 ? (uint64_t)ti->basicsize / 8 : 0;
	words = words > MAX_WORDS ? MAX_WORDS : words;
	const uint8_t *mem = words ? pcc_target_ptr(py->t, obj, words * 8) : NULL;
	bool used[MAX_WORDS] = { false };
	uint64_t fn = 0;
	bool fn_known = false;
	/* A Python subclass's instance dict: where it is depends on the
	 * version (managed, or at tp_dictoffset), and its name is known. */
	uint64_t dict = ti->kind == PCC_KIND_INSTANCE ? pcc_python_object_dict(py, obj) : 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!refs[i])
			continue;
		if (refs[i] == dict) {
			dict = 0;
			struct pcc_edge e = { PCC_EDGE_DICT, NULL, 0, 0 };
			if (visit(ctx, refs[i], &e))
				return;
			continue;
		}
		int64_t off = -1;
		for (uint64_t w = 2; mem && w < words; w++) {
			uint64_t v;
			memcpy(&v, mem + w * 8, 8);
			if (v == refs[i] && !used[w]) {
				used[w] = true;
				off = (int64_t)(w * 8);
				break;
			}
		}
		uint64_t member = member_name_at(py, ti->addr, off);
		if (!member && off >= 0 && !fn_known) {
			fn = c_traverse(py, ti->addr);
			fn_known = true;
		}
		/* tp_traverse works on the object's own struct; a
		 * PyObject * (struct _object) says nothing, and every
		 * object's struct has at least PyObject's two words. */
		const char *c_member =
			member ? NULL
			       : pcc_debuginfo_function_struct_member(
					 py->di, fn, off, "_object", 16);
		struct pcc_edge e = { PCC_EDGE_OFFSET, c_member, member, off };
		if (visit(ctx, refs[i], &e))
			return;
	}
}

void pcc_python_emulated_free(struct pcc_python *py)
{
	struct pcc_emulated *em = py->emulated;
	if (!em)
		return;
	pcc_emulator_destroy(em->emu);
	free(em->unavailable);
	free(em->refs);
	emulated_obj_vec_free(&em->objs);
	pcc_emu_fallback_vec_free(&em->summary.fallbacks);
	free(em);
	py->emulated = NULL;
}

struct pcc_emulator *pcc_python_emulator(struct pcc_python *py)
{
	return emulated_state(py)->emu;
}
