/* SPDX-License-Identifier: MIT */
/*
 * Results, resolved: every type name is looked up here once per type, and
 * copied, so that the renderers never see an address they must look up.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "result.h"
#include "../cpython/emulated.h"
#include "../cpython/origin.h"
#include "../cpython/traversal_check.h"
#include "../cpython/traverse.h"
#include "../util/u64_map.h"
#include "../util/u64_set.h"

struct builder {
	struct pcc_result *r;
	struct pcc_python *py;
	struct pcc_u64_map names; /* type address -> index in r->type_names */
};

static char *dup_or_null(const char *s)
{
	return s ? pcc_xstrdup(s) : NULL;
}

static const char *type_name(struct builder *b, uint64_t type)
{
	uint64_t i;
	if (pcc_u64_map_get(&b->names, type, &i))
		return b->r->type_names.data[i];
	const char *name = pcc_python_type_name(b->py, pcc_python_type(b->py, type));
	pcc_u64_map_put(&b->names, type, b->r->type_names.len);
	return *pcc_string_vec_push(&b->r->type_names) = pcc_xstrdup(name);
}

static const char *type_of(struct builder *b, uint64_t obj)
{
	const struct pcc_type_info *ti = pcc_python_type_of(b->py, obj);
	return type_name(b, ti ? ti->addr : 0);
}

static void copy_counts(struct builder *b, struct pcc_result_count_vec *out,
			const struct pcc_count_vec *in)
{
	pcc_result_count_vec_reserve(out, in->len);
	for (size_t i = 0; i < in->len; i++)
		*pcc_result_count_vec_push(out) = (struct pcc_result_count){
			type_name(b, in->data[i].type), in->data[i].count
		};
}

static void copy_strings(struct pcc_string_vec *out,
			 const struct pcc_string_vec *in)
{
	for (size_t i = 0; i < in->len; i++)
		*pcc_string_vec_push(out) = pcc_xstrdup(in->data[i]);
}

static void build_gc(struct builder *b, const struct pcc_heap *h)
{
	static const struct {
		unsigned unknown, known;
	} fields[] = {
		{ PCC_GC_ENABLED, PCC_RESULT_GC_ENABLED },
		{ PCC_GC_DEBUG, PCC_RESULT_GC_DEBUG },
		{ PCC_GC_COLLECTING, PCC_RESULT_GC_COLLECTING },
		{ PCC_GC_GARBAGE, PCC_RESULT_GC_GARBAGE },
		{ PCC_GC_CALLBACKS, PCC_RESULT_GC_CALLBACKS },
	};
	struct pcc_result *r = b->r;
	r->ngcs = h->ngcs;
	r->gcs = pcc_xcalloc(r->ngcs ? r->ngcs : 1, sizeof(*r->gcs));
	for (size_t i = 0; i < r->ngcs; i++) {
		const struct pcc_gc_state *gs = &h->gcs[i];
		struct pcc_result_gc *g = &r->gcs[i];
		g->interp_id = gs->interp_id;
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
			if (!(gs->unknown & fields[f].unknown))
				g->known |= fields[f].known;
		g->enabled = gs->enabled;
		g->collecting = gs->collecting > 0;
		for (int k = 0; k < PCC_GENERATIONS; k++) {
			g->thresholds[k] = gs->thresholds[k];
			g->counts[k] = gs->counts[k];
		}
		g->debug = gs->debug;
		g->garbage = gs->garbage_len;
		g->callbacks = gs->callbacks_len;
		g->frozen = h->frozen[i];
		copy_counts(b, &g->garbage_types, &h->garbage_types[i]);
	}
}

static void build_groups(struct builder *b, const struct pcc_heap *h)
{
	struct pcc_result *r = b->r;
	r->nunreachable = h->nunreachable;
	r->unreachable = pcc_xcalloc(h->nunreachable ? h->nunreachable : 1,
				     sizeof(*r->unreachable));
	for (uint32_t i = 0; i < h->nunreachable; i++) {
		uint32_t obj = h->unreachable[i];
		r->unreachable[i] = (struct pcc_result_object){
			pcc_heap_addr(h, obj), type_name(b, pcc_heap_type_addr(h, obj)),
			h->group_of[i]
		};
	}
	r->ngroups = h->groups.len;
	r->groups = pcc_xcalloc(r->ngroups ? r->ngroups : 1, sizeof(*r->groups));
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct pcc_group *g = &h->groups.data[i];
		struct pcc_result_group *out = &r->groups[i];
		out->id = g->id;
		memcpy(out->fingerprint, g->fingerprint, sizeof(out->fingerprint));
		out->signature = pcc_xstrdup(g->signature);
		out->display = pcc_xstrdup(g->display);
		out->cycles = g->cycles;
		out->objects = g->objects;
		out->objects_per_cycle = g->objects_per_cycle;
		out->bytes = g->bytes;
		copy_counts(b, &out->types, &g->types);
		out->loop_len = g->loop_len;
		out->loop = pcc_xcalloc(g->loop_len ? g->loop_len : 1,
					sizeof(*out->loop));
		for (uint32_t j = 0; j < g->loop_len; j++) {
			const struct pcc_result_object *o = &r->unreachable[g->loop[j]];
			out->loop[j] = (struct pcc_result_node){
				o->addr, o->type, pcc_xstrdup(g->loop_labels[j])
			};
		}
	}
}

static void build_files(struct builder *b, const struct pcc_heap *h)
{
	struct pcc_result *r = b->r;
	r->leaked_files = h->leaked_files;
	r->nfiles = h->files.len;
	r->files = pcc_xcalloc(r->nfiles ? r->nfiles : 1, sizeof(*r->files));
	for (size_t i = 0; i < r->nfiles; i++) {
		const struct pcc_open_file *f = &h->files.data[i];
		struct pcc_result_file *out = &r->files[i];
		out->addr = f->owner;
		out->type = type_of(b, f->owner);
		out->socket = f->role == PCC_FILE_SOCKET;
		out->fd = f->info.fd;
		out->name = dup_or_null(f->info.name);
		out->mode = pcc_xstrdup(f->text_mode ? f->text_mode : f->info.mode);
		out->closefd = f->info.closefd;
		out->tracked = f->tracked;
		out->reachable = f->reachable;
		out->leaked = f->leaked;
		out->many_same_path = f->many_same_path;
		out->same_path = f->same_path;
		out->holder = dup_or_null(f->holder);
		out->nwrappers = f->nwrappers;
		for (int k = 0; k < f->nwrappers && k < 2; k++)
			out->wrappers[k] = f->wrappers[k];
		out->outermost = f->outermost;
		out->outermost_type = type_of(b, f->outermost);
	}
}

static void build_emulation(struct builder *b)
{
	struct pcc_result_emulation *e = &b->r->emulation;
	e->built = pcc_python_emulator_built();
	const struct pcc_emulation_summary *s = pcc_python_emulation(b->py);
	if (!s)
		return;
	e->needed = true;
	e->unavailable = dup_or_null(s->unavailable);
	e->objects = s->objects;
	e->types = s->types;
	for (size_t i = 0; i < s->fallbacks.len; i++) {
		const struct pcc_emu_fallback *f = &s->fallbacks.data[i];
		*pcc_result_fallback_vec_push(&e->fallbacks) = (struct pcc_result_fallback){
			type_name(b, f->type), f->count, f->reason, f->example
		};
	}
}

static void build_check(struct builder *b, const struct pcc_traversal_check *c)
{
	struct pcc_result_check *out = &b->r->check;
	if (!c)
		return;
	out->requested = true;
	out->ran = c->ran;
	out->compared = c->compared;
	out->differ = c->differ;
	out->not_emulated = c->not_emulated;
	for (size_t i = 0; i < c->diffs.len; i++) {
		const struct pcc_traversal_diff *d = &c->diffs.data[i];
		*pcc_result_diff_vec_push(&out->diffs) = (struct pcc_result_diff){
			type_name(b, d->type), pcc_kind_name((enum pcc_kind)d->kind),
			d->objects, d->example, d->extra, d->missing
		};
	}
}

void pcc_result_build(struct pcc_result *r, struct pcc_heap *h,
		      const struct pcc_traversal_check *check)
{
	memset(r, 0, sizeof(*r));
	struct builder b = { r, h->py, { 0 } };
	pcc_python_origin(h->py, &r->origin);
	build_gc(&b, h);
	copy_strings(&r->diagnoses, &h->diagnoses);
	r->tracked = h->n;
	for (size_t i = 0; i < h->ngcs; i++)
		r->tracked += h->frozen[i];
	r->objects = h->graph_objects;
	r->bytes = h->graph_bytes;
	r->bytes_bound = h->graph_bytes_bound;
	pcc_result_type_total_vec_reserve(&r->type_histogram, h->type_histogram.len);
	for (size_t i = 0; i < h->type_histogram.len; i++) {
		const struct pcc_type_total *t = &h->type_histogram.data[i];
		*pcc_result_type_total_vec_push(&r->type_histogram) =
			(struct pcc_result_type_total){
				type_name(&b, t->type), t->type, t->count, t->tracked,
				t->bytes, t->bytes_exact
			};
	}
	r->partial_objects = h->partial_objects;
	r->unreadable_objects = h->unreadable_objects;
	copy_counts(&b, &r->unknown_types, &h->unknown_types);
	copy_counts(&b, &r->undecided_types, &h->undecided_types);
	copy_counts(&b, &r->untracked_unknown_types, &h->others_unknown_types);
	build_emulation(&b);
	build_check(&b, check);
	build_groups(&b, h);
	build_files(&b, h);
	copy_strings(&r->warnings, &h->warnings);
	r->complete = h->complete;
	pcc_u64_map_free(&b.names);
}

static void free_strings(struct pcc_string_vec *v)
{
	for (size_t i = 0; i < v->len; i++)
		free(v->data[i]);
	pcc_string_vec_free(v);
}

void pcc_result_deinit(struct pcc_result *r)
{
	pcc_origin_deinit(&r->origin);
	for (size_t i = 0; i < r->ngcs; i++)
		pcc_result_count_vec_free(&r->gcs[i].garbage_types);
	free(r->gcs);
	free_strings(&r->diagnoses);
	pcc_result_count_vec_free(&r->unknown_types);
	pcc_result_count_vec_free(&r->undecided_types);
	pcc_result_count_vec_free(&r->untracked_unknown_types);
	pcc_result_type_total_vec_free(&r->type_histogram);
	free(r->emulation.unavailable);
	pcc_result_fallback_vec_free(&r->emulation.fallbacks);
	pcc_result_diff_vec_free(&r->check.diffs);
	free(r->unreachable);
	for (size_t i = 0; i < r->ngroups; i++) {
		struct pcc_result_group *g = &r->groups[i];
		free(g->signature);
		free(g->display);
		pcc_result_count_vec_free(&g->types);
		for (uint32_t j = 0; j < g->loop_len; j++)
			free(g->loop[j].edge);
		free(g->loop);
	}
	free(r->groups);
	for (size_t i = 0; i < r->nfiles; i++) {
		free(r->files[i].name);
		free(r->files[i].mode);
		free(r->files[i].holder);
	}
	free(r->files);
	free_strings(&r->warnings);
	free_strings(&r->type_names);
	memset(r, 0, sizeof(*r));
}

uint32_t pcc_heap_objects(const struct pcc_heap *h)
{
	return h->n + h->nothers;
}

static bool visit_collect(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	(void)e;
	*pcc_u64_vec_push(ctx) = ref;
	return false;
}

static void flush_keys(struct pcc_referents *r)
{
	for (uint32_t k = 0; k < r->len; k++)
		*pcc_u64_vec_push(r->ctx) = r->addrs[k];
	r->len = 0;
}

void pcc_heap_referents(struct pcc_heap *h, uint32_t i,
			struct pcc_result_referents *out)
{
	const struct pcc_type_info *ti;
	out->tracked = true;
	out->frozen = false;
	if (i < h->n) {
		out->addr = pcc_heap_addr(h, i);
		ti = pcc_heap_type(h, i);
		out->bytes = pcc_heap_size(h, i);
	} else {
		uint32_t k = i - h->n;
		out->addr = h->other_addrs[k];
		ti = pcc_python_type_by_id(h->py, h->other_type_ids[k]);
		out->bytes = h->other_bytes[k];
		out->tracked = out->frozen = h->other_frozen[k];
	}
	out->type = pcc_python_type_name(h->py, (struct pcc_type_info *)ti);
	out->bytes_exact = ti && ti->size_exact;
	out->refs.len = 0;
	out->keys.len = 0;
	out->partial = false;
	enum pcc_kind kind = PCC_KIND_NONE;
	bool gc = ti && (ti->flags & PCC_TPFLAGS_HAVE_GC)
		  && pcc_python_is_gc(h->py, ti, out->addr) == PCC_IS_GC_YES;
	if (i < h->n || gc)
		kind = pcc_python_traverse(h->py, out->addr, visit_collect,
					   &out->refs, false, &out->partial);
	out->kind = pcc_kind_name(kind);
	if ((i >= h->n && !gc) || !ti || !(ti->flags & PCC_TPFLAGS_DICT_SUBCLASS))
		return;
	/* What the memory graph's walk finds beyond the traversal: a dict's
	 * keys. */
	struct pcc_u64_vec all = { 0 };
	struct pcc_referents *r = pcc_xmalloc(sizeof(*r));
	*r = (struct pcc_referents){ .flush = flush_keys, .ctx = &all,
				     .dict_keys = true };
	pcc_python_referents(h->py, out->addr, (struct pcc_type_info *)ti, false, r,
			     NULL, NULL);
	flush_keys(r);
	free(r);
	struct pcc_u64_set in_refs = { 0 };
	for (size_t j = 0; j < out->refs.len; j++)
		pcc_u64_set_add(&in_refs, out->refs.data[j]);
	for (size_t k = 0; k < all.len; k++)
		if (!pcc_u64_set_has(&in_refs, all.data[k]))
			*pcc_u64_vec_push(&out->keys) = all.data[k];
	pcc_u64_set_free(&in_refs);
	pcc_u64_vec_free(&all);
}
