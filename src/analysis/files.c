/* SPDX-License-Identifier: MIT */
/*
 * Open files and sockets in the heap, and which of them leak.
 *
 * A descriptor is owned by an _io.FileIO or a socket object; TextIOWrapper
 * and Buffered* objects wrap it and are reported with it, never apart.
 * Descriptor owners are usually tracked by the collector, but a socket of
 * a version where _socket.socket is not a GC type (up to 3.11), held in a
 * container that the collector does not track either (a dict holding only
 * it), is found only by looking at what tracked objects refer to; so are
 * 2.7's file objects, which are never tracked.
 *
 * Leaked = open, and reachable only from garbage: it stays open until the
 * collector runs, and forever when automatic collection is disabled.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "../cpython/edge_text.h"
#include "../cpython/io_objects.h"
#include "../cpython/object_dict.h"
#include "../cpython/strings.h"
#include "../cpython/traverse.h"
#include "../util/parallel.h"
#include "../util/sort.h"

enum {
	/* Untracked containers followed below a tracked object. */
	MAX_UNTRACKED_DEPTH = 3,
	MAX_HOLDERS = PCC_HEAP_MAX_REFERRERS,
};

struct found {
	uint64_t addr;
	enum pcc_file_role role;
	uint64_t holder;       /* for untracked objects: who refers to it */
	uint32_t tracked_root; /* index of the tracked object above it */
};
PCC_VEC(found_vec, struct found)

struct scan {
	struct pcc_heap *h;
	struct found_vec found;
	uint32_t current; /* tracked object being traversed */
	uint64_t holder;  /* object whose referents are being visited */
	int depth;
	/* Untracked containers already followed (open addressing). */
	uint64_t *seen;
	size_t seen_cap, seen_len;
};

static bool seen_add(struct scan *s, uint64_t addr)
{
	if ((s->seen_len + 1) * 2 > s->seen_cap) {
		size_t cap = s->seen_cap ? s->seen_cap * 2 : 4096;
		uint64_t *t = pcc_xcalloc(cap, sizeof(uint64_t));
		for (size_t i = 0; i < s->seen_cap; i++) {
			uint64_t a = s->seen[i];
			if (!a)
				continue;
			size_t j = (a * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
			while (t[j])
				j = (j + 1) & (cap - 1);
			t[j] = a;
		}
		free(s->seen);
		s->seen = t;
		s->seen_cap = cap;
	}
	size_t j = (addr * 0x9e3779b97f4a7c15ull >> 20) & (s->seen_cap - 1);
	while (s->seen[j]) {
		if (s->seen[j] == addr)
			return false;
		j = (j + 1) & (s->seen_cap - 1);
	}
	s->seen[j] = addr;
	s->seen_len++;
	return true;
}

static bool visit_untracked(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	(void)e;
	struct scan *s = ctx;
	struct pcc_heap *h = s->h;
	if (pcc_heap_find(h, ref) != UINT32_MAX)
		return false; /* tracked: seen on its own */
	struct pcc_python *py = h->py;
	struct pcc_type_info *ti = pcc_python_type_of(py, ref);
	if (!ti)
		return false;
	enum pcc_file_role role = pcc_python_file_role(py, ti);
	if (role != PCC_FILE_NONE) {
		if (!seen_add(s, ref))
			return false;
		*found_vec_push(&s->found) = (struct found){ ref, role, s->holder,
							     s->current };
		return false;
	}
	if (s->depth >= MAX_UNTRACKED_DEPTH
	    || (ti->kind != PCC_KIND_DICT && ti->kind != PCC_KIND_TUPLE
		&& ti->kind != PCC_KIND_LIST)
	    || !seen_add(s, ref))
		return false;
	uint64_t saved = s->holder;
	s->holder = ref;
	s->depth++;
	pcc_python_traverse(py, ref, visit_untracked, s, false, NULL);
	s->depth--;
	s->holder = saved;
	return false;
}

struct referrers {
	const uint64_t *targets; /* sorted */
	size_t n;
	uint64_t (*holders)[MAX_HOLDERS];
	uint64_t current;
};

static bool visit_referrer(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	(void)e;
	struct referrers *r = ctx;
	if (ref < r->targets[0] || ref > r->targets[r->n - 1])
		return false;
	const uint64_t *hit = bsearch(&ref, r->targets, r->n, sizeof(uint64_t),
				      pcc_u64_cmp);
	if (!hit)
		return false;
	uint64_t *slots = r->holders[hit - r->targets];
	for (int i = 0; i < MAX_HOLDERS; i++) {
		if (slots[i] == r->current)
			return false;
		if (!slots[i]) {
			slots[i] = r->current;
			return false;
		}
	}
	return false;
}

/* Up to MAX_HOLDERS tracked referrers of each target, in one heap pass. */
static uint64_t (*find_referrers(struct pcc_heap *h, uint64_t *targets,
				 size_t n))[MAX_HOLDERS]
{
	uint64_t (*holders)[MAX_HOLDERS] = pcc_xcalloc(n ? n : 1,
						       sizeof(*holders));
	if (!n)
		return holders;
	pcc_sort(targets, n, sizeof(uint64_t), pcc_u64_cmp);
	struct referrers r = { targets, n, holders, 0 };
	for (uint32_t i = 0; i < h->n; i++) {
		r.current = pcc_heap_addr(h, i);
		pcc_python_traverse(h->py, r.current, visit_referrer, &r, false, NULL);
	}
	return holders;
}

struct label_find {
	struct pcc_python *py;
	uint64_t target;
	char *text;
};

static bool visit_label(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	struct label_find *f = ctx;
	if (!f->text && ref == f->target && e)
		f->text = pcc_python_edge_text(f->py, e, false);
	return f->text != NULL;
}

static char *edge_label(struct pcc_python *py, uint64_t from, uint64_t to)
{
	struct label_find f = { py, to, NULL };
	pcc_python_traverse(py, from, visit_label, &f, true, NULL);
	return f.text ? f.text : pcc_xstrdup(" ?");
}

static const char *type_name(struct pcc_python *py, uint64_t obj)
{
	return pcc_python_type_name(py, pcc_python_type_of(py, obj));
}

static bool is_kind(struct pcc_python *py, uint64_t obj, enum pcc_kind kind)
{
	struct pcc_type_info *ti = pcc_python_type_of(py, obj);
	return ti && ti->kind == kind;
}

/* Which referrer names a file best: a module's globals ("module
 * sys['stderr']"), then any other dict (an instance's __dict__), then the
 * rest; the lowest address breaks ties, so the choice never depends on the
 * order of the heap pass. */
enum { HOLDER_RANKS = 3 };

/* Untracked objects (an untracked dict holding a file) count as reachable:
 * only tracked ones can be shown to be garbage. */
static bool is_reachable(const struct pcc_heap *h, uint64_t obj)
{
	uint32_t j = pcc_heap_find(h, obj);
	return j == UINT32_MAX || (h->flags[j] & PCC_OBJ_REACHABLE);
}

static int holder_rank(struct pcc_python *py, uint64_t holder)
{
	if (!is_kind(py, holder, PCC_KIND_DICT))
		return 2;
	return pcc_python_dict_get(py, holder, "__name__") ? 0 : 1;
}

/*
 * "LogWriter.__dict__['f']": the holder's name and the edge to the file;
 * a dict is named after the object whose __dict__ it is, if any.
 */
static char *describe_holder(struct pcc_heap *h, uint64_t holder,
			     uint64_t target, const uint64_t *dict_owners,
			     uint64_t (*owner_of)[MAX_HOLDERS], size_t ndicts)
{
	struct pcc_python *py = h->py;
	char *label = edge_label(py, holder, target);
	const uint64_t *hit = ndicts ? bsearch(&holder, dict_owners, ndicts,
					       sizeof(uint64_t), pcc_u64_cmp)
				     : NULL;
	char *out = NULL;
	if (hit) {
		for (int i = 0; i < MAX_HOLDERS && !out; i++) {
			uint64_t owner = owner_of[hit - dict_owners][i];
			if (!owner)
				break;
			char *via = edge_label(py, owner, holder);
			if (strcmp(via, ".__dict__") == 0) {
				if (is_kind(py, owner, PCC_KIND_MODULE)) {
					char *name = pcc_python_str(
						py, pcc_python_dict_get(py, holder, "__name__"),
						100);
					out = pcc_xasprintf("module %s%s", name ? name : "?",
							    label);
					free(name);
				} else {
					/* A 2.7 classic instance by its class. */
					bool is_class;
					char *classic = pcc_python_classic_name(py, owner,
										&is_class);
					out = pcc_xasprintf("%s%s.__dict__%s",
							    classic && is_class ? "class " : "",
							    classic ? classic : type_name(py, owner),
							    label);
					free(classic);
				}
			}
			free(via);
		}
	}
	if (!out)
		out = pcc_xasprintf("%s%s", type_name(py, holder), label);
	free(label);
	return out;
}

/*
 * The heap's types (by id) for which pred holds, and their count: a
 * question about a type is asked once, and each object is then one look
 * at its type id.  The entry at the count, for objects of no type, is
 * false.
 */
static bool *types_where(struct pcc_heap *h,
			 bool (*pred)(struct pcc_python *, struct pcc_type_info *),
			 size_t *ntypes)
{
	*ntypes = pcc_python_type_count(h->py);
	bool *yes = pcc_xcalloc(*ntypes + 1, sizeof(bool));
	for (size_t id = 0; id < *ntypes; id++) {
		struct pcc_type_info *ti = pcc_python_type_by_id(h->py, (uint32_t)id);
		yes[id] = ti && pred(h->py, ti);
	}
	return yes;
}

static bool may_have_dict(struct pcc_python *py, struct pcc_type_info *ti)
{
	return pcc_python_type_may_have_dict(py, ti);
}

static bool is_file_type(struct pcc_python *py, struct pcc_type_info *ti)
{
	return pcc_python_file_role(py, ti) != PCC_FILE_NONE;
}

struct dict_owner_hit {
	uint32_t dict; /* index in dicts */
	uint64_t owner;
};
PCC_VEC(dict_owner_hit_vec, struct dict_owner_hit)

struct dict_owner_search {
	struct pcc_heap *h;
	const uint64_t *dicts;
	size_t n;
	const bool *may_own; /* per type id, the last for none */
	size_t ntypes;
	struct dict_owner_hit_vec hits[PCC_PARALLEL_MAX];
};

static void find_dict_owners_share(void *ctx, unsigned share, unsigned shares)
{
	struct dict_owner_search *s = ctx;
	struct pcc_heap *h = s->h;
	uint32_t begin, end;
	pcc_parallel_range(share, shares, h->n, &begin, &end);
	struct pcc_heap_cursor cursor = { 0 };
	for (uint32_t i = begin; i < end; i++) {
		uint32_t id = pcc_heap_type_id(h, i);
		if (!s->may_own[id < s->ntypes ? id : s->ntypes])
			continue;
		uint64_t addr = pcc_heap_cursor_addr(h, &cursor, i);
		uint64_t d = pcc_python_object_dict_of(h->py, addr,
						       pcc_heap_type(h, i));
		if (!d || d < s->dicts[0] || d > s->dicts[s->n - 1])
			continue;
		const uint64_t *hit = bsearch(&d, s->dicts, s->n, sizeof(uint64_t),
					      pcc_u64_cmp);
		if (hit)
			*dict_owner_hit_vec_push(&s->hits[share]) =
				(struct dict_owner_hit){ (uint32_t)(hit - s->dicts),
							 addr };
	}
}

/* Owners of the given dicts: whose __dict__ each is (one cheap heap pass,
 * no traversal: only instances and modules have a __dict__ slot), the
 * first MAX_HOLDERS of each in address order, on any number of threads. */
static uint64_t (*find_dict_owners(struct pcc_heap *h, const uint64_t *dicts,
				   size_t n))[MAX_HOLDERS]
{
	uint64_t (*owners)[MAX_HOLDERS] = pcc_xcalloc(n ? n : 1, sizeof(*owners));
	if (!n)
		return owners;
	/* Only the objects of a type that can have a __dict__ are read. */
	size_t ntypes;
	bool *may_own = types_where(h, may_have_dict, &ntypes);
	struct dict_owner_search s = { .h = h, .dicts = dicts, .n = n,
				       .may_own = may_own, .ntypes = ntypes };
	unsigned shares = pcc_python_referents_parallel(h->py) && h->threads > 1
				  ? h->threads : 1;
	if (shares > PCC_PARALLEL_MAX)
		shares = PCC_PARALLEL_MAX;
	pcc_parallel_run(shares, find_dict_owners_share, &s);
	for (unsigned t = 0; t < shares; t++) {
		for (size_t k = 0; k < s.hits[t].len; k++) {
			uint64_t *slots = owners[s.hits[t].data[k].dict];
			for (int j = 0; j < MAX_HOLDERS; j++) {
				if (!slots[j]) {
					slots[j] = s.hits[t].data[k].owner;
					break;
				}
			}
		}
		dict_owner_hit_vec_free(&s.hits[t]);
	}
	free(may_own);
	return owners;
}

static int owner_cmp(const void *a, const void *b)
{
	const struct pcc_open_file *x = a, *y = b;
	return x->owner < y->owner ? -1 : x->owner > y->owner;
}

static int name_cmp(const void *a, const void *b)
{
	const struct pcc_open_file *x = *(const struct pcc_open_file *const *)a;
	const struct pcc_open_file *y = *(const struct pcc_open_file *const *)b;
	return strcmp(x->info.name ? x->info.name : "",
		      y->info.name ? y->info.name : "");
}

static int file_cmp(const void *a, const void *b)
{
	const struct pcc_open_file *x = a, *y = b;
	if (x->leaked != y->leaked)
		return x->leaked ? -1 : 1;
	int c = strcmp(x->info.name ? x->info.name : "",
		       y->info.name ? y->info.name : "");
	if (c)
		return c;
	return x->info.fd < y->info.fd ? -1 : x->info.fd > y->info.fd;
}

/* The reachability pass writes down the referrers of what is watched here,
 * and pcc_heap_find_files takes its file objects from it (run.c). */
void pcc_heap_watch_files(struct pcc_heap *h)
{
	size_t ntypes;
	bool *is_file = types_where(h, is_file_type, &ntypes);
	struct pcc_u64_vec objs = { 0 };
	pcc_heap_objects_of_types(h, is_file, ntypes, &objs);
	free(is_file);
	pcc_heap_watch(h, objs.data, objs.len);
	pcc_u64_vec_free(&objs);
}

/* Referrers of each target: those the reachability pass wrote down for
 * watched objects; one more heap pass only for the others (untracked
 * files found below untracked containers). */
static uint64_t (*target_referrers(struct pcc_heap *h, uint64_t *targets,
				   size_t n))[MAX_HOLDERS]
{
	uint64_t *unwatched = pcc_xcalloc(n ? n : 1, sizeof(uint64_t));
	size_t nu = 0;
	for (size_t i = 0; i < n; i++)
		if (!pcc_heap_referrers(h, targets[i]))
			unwatched[nu++] = targets[i];
	uint64_t(*found)[MAX_HOLDERS] = find_referrers(h, unwatched, nu);
	uint64_t(*out)[MAX_HOLDERS] = pcc_xcalloc(n ? n : 1, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const uint64_t *r = pcc_heap_referrers(h, targets[i]);
		if (!r) {
			const uint64_t *hit = bsearch(&targets[i], unwatched, nu,
						      sizeof(uint64_t), pcc_u64_cmp);
			r = hit ? found[hit - unwatched] : NULL;
		}
		if (r)
			memcpy(out[i], r, sizeof(out[i]));
	}
	free(found);
	free(unwatched);
	return out;
}

void pcc_heap_find_files(struct pcc_heap *h, uint32_t same_path_threshold)
{
	struct pcc_python *py = h->py;
	struct scan s = { .h = h };
	struct found_vec wrappers = { 0 };

	/* The tracked file objects are exactly the watched ones. */
	for (size_t k = 0; k < h->nwatched; k++) {
		uint64_t obj = h->watched[k];
		struct pcc_type_info *ti =
			pcc_python_type_of(py, obj);
		enum pcc_file_role role = pcc_python_file_role(py, ti);
		uint32_t i = pcc_heap_find(h, obj);
		if (role == PCC_FILE_FILEIO || role == PCC_FILE_SOCKET
		    || role == PCC_FILE_CFILE)
			*found_vec_push(&s.found) = (struct found){ obj, role, 0, i };
		else if (role != PCC_FILE_NONE)
			*found_vec_push(&wrappers) = (struct found){ obj, role, 0, i };
	}
	if (pcc_python_descriptors_may_be_untracked(py)) {
		/* An untracked object is found once, from the first tracked
		 * object above it: reachable ones go first, so that a file
		 * that garbage also holds (2.7's sys.stdout in a dead
		 * unittest result) takes its reachability from a live one. */
		for (int reachable = 1; reachable >= 0; reachable--) {
			for (uint32_t i = 0; i < h->n; i++) {
				if (((h->flags[i] & PCC_OBJ_REACHABLE) != 0) != reachable)
					continue;
				s.current = i;
				s.holder = pcc_heap_addr(h, i);
				s.depth = 0;
				pcc_python_traverse(py, pcc_heap_addr(h, i), visit_untracked,
						    &s, false, NULL);
			}
		}
	}
	free(s.seen);

	/* Descriptor owners that are open; wrappers attached to them. */
	for (size_t i = 0; i < s.found.len; i++) {
		struct found *f = &s.found.data[i];
		struct pcc_file_info info;
		if (!pcc_python_read_file(py, f->addr, f->role, &info))
			continue;
		if (info.fd < 0) {
			pcc_file_info_deinit(&info);
			continue;
		}
		struct pcc_open_file *of = pcc_open_file_vec_push(&h->files);
		memset(of, 0, sizeof(*of));
		of->owner = f->addr;
		of->role = f->role;
		of->info = info;
		uint32_t j = pcc_heap_find(h, f->addr);
		of->tracked = j != UINT32_MAX;
		uint32_t root = of->tracked ? j : f->tracked_root;
		of->reachable = (h->flags[root] & PCC_OBJ_REACHABLE) != 0;
		of->holder_addr = f->holder;
	}
	pcc_sort(h->files.data, h->files.len, sizeof(h->files.data[0]), owner_cmp);
	for (size_t i = 0; i < wrappers.len; i++) {
		struct found *w = &wrappers.data[i];
		uint64_t inner = pcc_python_wrapped(py, w->addr, w->role);
		uint64_t chain[2] = { w->addr, 0 };
		if (inner && w->role == PCC_FILE_TEXTIO) {
			struct pcc_type_info *ti =
				pcc_python_type_of(py, inner);
			if (pcc_python_file_role(py, ti) == PCC_FILE_BUFFERED) {
				chain[1] = inner;
				inner = pcc_python_wrapped(py, inner, PCC_FILE_BUFFERED);
			}
		}
		/* h->files is in owner order here (see above). */
		size_t lo = 0, hi = h->files.len;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (h->files.data[mid].owner < inner)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t k = lo; k < h->files.len && h->files.data[k].owner == inner; k++) {
			struct pcc_open_file *of = &h->files.data[k];
			/* The outermost wrapper decides: a text wrapper wins
			 * over the buffered object it contains. */
			if (w->role == PCC_FILE_TEXTIO || !of->nwrappers) {
				of->nwrappers = chain[1] ? 2 : 1;
				of->wrappers[0] = chain[0];
				of->wrappers[1] = chain[1];
			}
		}
	}
	found_vec_free(&s.found);
	found_vec_free(&wrappers);

	/* Holders: who refers to the outermost object of each chain, and,
	 * for a dict holder, whose __dict__ it is. */
	size_t n = h->files.len;
	uint64_t *outer = pcc_xcalloc(n ? n : 1, sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		struct pcc_open_file *of = &h->files.data[i];
		of->outermost = of->nwrappers ? of->wrappers[0] : of->owner;
		outer[i] = of->outermost;
		if (of->role == PCC_FILE_FILEIO && of->nwrappers
		    && pcc_python_type_of(py, of->wrappers[0])) {
			struct pcc_type_info *ti = pcc_python_type_of(py, of->wrappers[0]);
			if (pcc_python_file_role(py, ti) == PCC_FILE_TEXTIO)
				of->text_mode = pcc_python_text_mode(py, of->wrappers[0]);
		}
	}
	uint64_t *sorted_outer = pcc_xcalloc(n ? n : 1, sizeof(uint64_t));
	memcpy(sorted_outer, outer, n * sizeof(uint64_t));
	pcc_sort(sorted_outer, n, sizeof(uint64_t), pcc_u64_cmp);
	uint64_t(*holders)[MAX_HOLDERS] = target_referrers(h, sorted_outer, n);

	struct pcc_u64_vec dicts = { 0 };
	for (size_t i = 0; i < n; i++) {
		struct pcc_open_file *of = &h->files.data[i];
		const uint64_t *hit = bsearch(&of->outermost, sorted_outer, n,
					      sizeof(uint64_t), pcc_u64_cmp);
		/* The scan's holder of an untracked file is reachable when
		 * any is (reachable objects are scanned first). */
		uint64_t holder = of->holder_addr;
		int best = holder ? holder_rank(py, holder) : INT_MAX;
		if (holder && of->reachable != is_reachable(h, holder))
			best += HOLDER_RANKS;
		for (int k = 0; hit && k < MAX_HOLDERS; k++) {
			uint64_t cand = holders[hit - sorted_outer][k];
			if (!cand)
				break;
			/* A wrapper of the same chain is not a holder. */
			if (cand == of->wrappers[0] || cand == of->wrappers[1])
				continue;
			int rank = holder_rank(py, cand);
			/* A reachable file is named after what keeps it: a
			 * garbage referrer of it is no explanation. */
			if (of->reachable && !is_reachable(h, cand))
				rank += HOLDER_RANKS;
			if (rank < best || (rank == best && cand < holder)) {
				best = rank;
				holder = cand;
			}
		}
		of->holder_addr = holder;
		if (holder && is_kind(py, holder, PCC_KIND_DICT))
			*pcc_u64_vec_push(&dicts) = holder;
	}
	pcc_sort(dicts.data, dicts.len, sizeof(uint64_t), pcc_u64_cmp);
	size_t u = 0;
	for (size_t i = 0; i < dicts.len; i++)
		if (!u || dicts.data[u - 1] != dicts.data[i])
			dicts.data[u++] = dicts.data[i];
	dicts.len = u;
	uint64_t *dict_targets = pcc_xcalloc(u ? u : 1, sizeof(uint64_t));
	if (u)
		memcpy(dict_targets, dicts.data, u * sizeof(uint64_t));
	uint64_t(*dict_owners)[MAX_HOLDERS] = find_dict_owners(h, dict_targets, u);
	for (size_t i = 0; i < n; i++) {
		struct pcc_open_file *of = &h->files.data[i];
		if (of->holder_addr)
			of->holder = describe_holder(h, of->holder_addr, of->outermost,
						     dict_targets, dict_owners, u);
		of->leaked = !of->reachable;
	}
	free(dict_owners);
	free(dict_targets);
	pcc_u64_vec_free(&dicts);
	free(holders);
	free(sorted_outer);
	free(outer);

	pcc_sort(h->files.data, n, sizeof(h->files.data[0]), file_cmp);
	/* Handles open on the same path, leaked or not. */
	struct pcc_open_file **by_name = pcc_xcalloc(n ? n : 1, sizeof(*by_name));
	for (size_t i = 0; i < n; i++)
		by_name[i] = &h->files.data[i];
	pcc_sort(by_name, n, sizeof(*by_name), name_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && by_name[i]->info.name && by_name[j]->info.name
		       && strcmp(by_name[i]->info.name, by_name[j]->info.name) == 0)
			j++;
		for (size_t k = i; k < j; k++)
			by_name[k]->same_path = (uint32_t)(j - i);
		i = j;
	}
	free(by_name);
	for (size_t i = 0; i < n; i++) {
		struct pcc_open_file *of = &h->files.data[i];
		if (of->leaked)
			h->leaked_files++;
		if (of->same_path >= same_path_threshold && of->info.name
		    && of->info.name[0] != '<')
			of->many_same_path = true;
	}
}
