/* SPDX-License-Identifier: MIT */
/*
 * The collector's health: the state the interpreter was in, turned into
 * sentences that say why garbage piles up.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>

#include "heap.h"
#include "../cpython/traverse.h"
#include "../util/sort.h"

enum {
	DEBUG_SAVEALL = 32,
	MAX_GARBAGE_SCANNED = 1 << 20,
};

static void diagnose(struct pcc_heap *h, const struct pcc_gc_state *gs,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void diagnose(struct pcc_heap *h, const struct pcc_gc_state *gs,
		     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = pcc_xvasprintf(fmt, ap);
	va_end(ap);
	if (h->ngcs > 1) {
		char *m = pcc_xasprintf("interpreter %lld: %s",
					(long long)gs->interp_id, msg);
		free(msg);
		msg = m;
	}
	*pcc_string_vec_push(&h->diagnoses) = msg;
}

struct garbage_types {
	struct pcc_python *py;
	struct pcc_count_vec *counts;
	uint64_t seen;
};

static bool visit_garbage(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	(void)e;
	struct garbage_types *g = ctx;
	if (++g->seen > MAX_GARBAGE_SCANNED)
		return false;
	const struct pcc_type_info *ti = pcc_python_type_of(g->py, ref);
	uint64_t type = ti ? ti->addr : 0;
	for (size_t i = 0; i < g->counts->len; i++) {
		if (g->counts->data[i].type == type) {
			g->counts->data[i].count++;
			return false;
		}
	}
	if (g->counts->len < 64)
		*pcc_count_vec_push(g->counts) = (struct pcc_count){ type, 1 };
	return false;
}

static int count_desc(const void *a, const void *b)
{
	const struct pcc_count *x = a, *y = b;
	return x->count != y->count ? (x->count > y->count ? -1 : 1) : 0;
}

/* "12 × Foo, 3 × dict" for the most common types. */
static char *type_summary(struct pcc_heap *h, const struct pcc_count_vec *v)
{
	char *out = pcc_xstrdup("");
	for (size_t i = 0; i < v->len && i < 4; i++) {
		char *next = pcc_xasprintf(
			"%s%s%llu × %s", out, i ? ", " : "",
			(unsigned long long)v->data[i].count,
			pcc_python_type_name(h->py, pcc_python_type(h->py,
								    v->data[i].type)));
		free(out);
		out = next;
	}
	return out;
}

void pcc_heap_check_health(struct pcc_heap *h)
{
	struct pcc_python *py = h->py;
	h->garbage_types = pcc_xcalloc(h->ngcs ? h->ngcs : 1,
				       sizeof(struct pcc_count_vec));
	for (size_t i = 0; i < h->ngcs; i++) {
		const struct pcc_gc_state *gs = &h->gcs[i];
		struct pcc_count_vec *types = &h->garbage_types[i];
		if (gs->garbage_list && gs->garbage_len > 0) {
			struct garbage_types g = { py, types, 0 };
			pcc_python_traverse(py, gs->garbage_list, visit_garbage, &g,
					    false, NULL);
			pcc_sort(types->data, types->len, sizeof(types->data[0]),
			      count_desc);
		}
		if (!gs->enabled && !(gs->unknown & PCC_GC_ENABLED))
			diagnose(h, gs,
				 "automatic collection is disabled (gc.disable()); "
				 "%d allocations pending: cycles are never freed "
				 "unless gc.collect() is called",
				 gs->counts[0]);
		else if (gs->thresholds[0] == 0)
			diagnose(h, gs,
				 "the generation 0 threshold is 0 "
				 "(gc.set_threshold(0)): automatic collection "
				 "never runs");
		if (gs->collecting > 0)
			diagnose(h, gs,
				 "a collection was in progress when the process "
				 "was captured");
		if ((gs->debug & DEBUG_SAVEALL) && !(gs->unknown & PCC_GC_DEBUG))
			diagnose(h, gs,
				 "DEBUG_SAVEALL is on: gc.garbage keeps every "
				 "collected object alive (%lld now)",
				 (long long)gs->garbage_len);
		else if (gs->garbage_len > 0) {
			char *summary = type_summary(h, types);
			diagnose(h, gs,
				 "gc.garbage holds %lld uncollectable objects "
				 "(%s): they are never freed",
				 (long long)gs->garbage_len, summary);
			free(summary);
		}
		if (h->frozen && h->frozen[i])
			diagnose(h, gs,
				 "%llu objects are frozen (gc.freeze()): the "
				 "collector never examines them",
				 (unsigned long long)h->frozen[i]);
	}
	if (h->nunreachable)
		diagnose(h, &h->gcs[0],
			 "%u objects are unreachable: %s", h->nunreachable,
			 h->ngcs && (h->gcs[0].enabled
					 || (h->gcs[0].unknown & PCC_GC_ENABLED))
				 ? "the next full collection frees them"
				 : "with collection disabled they stay until "
				   "gc.collect() runs");
	if (h->leaked_files)
		diagnose(h, &h->gcs[0],
			 "%llu open files or sockets are reachable only from "
			 "garbage: they stay open until the collector frees them",
			 (unsigned long long)h->leaked_files);
}
