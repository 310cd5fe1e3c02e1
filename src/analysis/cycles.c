/* SPDX-License-Identifier: MIT */
/*
 * Cycles of the unreachable set.  Strongly connected components (Tarjan,
 * "Depth-first search and linear graph algorithms", SIAM J. Comput. 1972,
 * done iteratively) of the subgraph induced by the unreachable objects are
 * the cycles; an unreachable object outside every cycle hangs off one and
 * is counted with the first cycle that reaches it.  Cycles are grouped by a
 * signature made of type names and edge labels only, so that a leak
 * repeated ten thousand times is one line, and the fingerprint of that
 * signature is the same in every core of the same program.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "../cpython/edge_text.h"
#include "../cpython/strings.h"
#include "../cpython/traverse.h"
#include "../util/sort.h"
#include "../util/u64_map.h"

struct graph {
	uint32_t n;
	uint32_t *start; /* n + 1 */
	uint32_t *targets;
};

struct edge_collect {
	struct pcc_heap *h;
	uint32_t *out;
	uint32_t count;
	bool fill;
};

/* After pcc_heap_find_unreachable, gc_refs of an unreachable object is no
 * longer needed: it holds the object's position in h->unreachable. */
static inline uint32_t upos(const struct pcc_heap *h, uint64_t addr)
{
	uint32_t j = pcc_heap_find(h, addr);
	if (j == UINT32_MAX || (h->flags[j] & PCC_OBJ_REACHABLE))
		return UINT32_MAX;
	return (uint32_t)h->gc_refs[j];
}

static bool visit_edge(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	(void)e;
	struct edge_collect *c = ctx;
	uint32_t p = upos(c->h, ref);
	if (p == UINT32_MAX)
		return false;
	if (c->fill)
		c->out[c->count] = p;
	c->count++;
	return false;
}

static void build_graph(struct pcc_heap *h, struct graph *g)
{
	uint32_t n = h->nunreachable;
	g->n = n;
	g->start = pcc_xcalloc((size_t)n + 1, sizeof(uint32_t));
	struct edge_collect c = { .h = h };
	for (uint32_t i = 0; i < n; i++) {
		uint32_t before = c.count;
		pcc_python_traverse(h->py, pcc_heap_addr(h, h->unreachable[i]), visit_edge,
				    &c, false, NULL);
		g->start[i] = before;
	}
	g->start[n] = c.count;
	g->targets = pcc_xcalloc(c.count ? c.count : 1, sizeof(uint32_t));
	c.out = g->targets;
	c.fill = true;
	for (uint32_t i = 0; i < n; i++) {
		c.count = g->start[i];
		pcc_python_traverse(h->py, pcc_heap_addr(h, h->unreachable[i]), visit_edge,
				    &c, false, NULL);
		/* A second read of the same bytes gives the same edges; clamp
		 * anyway so a surprise cannot write past the array. */
		if (c.count > g->start[i + 1])
			abort();
	}
}

/* Iterative Tarjan: comp[v] = component id; returns the count. */
static uint32_t tarjan(const struct graph *g, uint32_t *comp)
{
	uint32_t n = g->n, next_index = 0, ncomp = 0;
	uint32_t *index = pcc_xmalloc((size_t)n * sizeof(uint32_t) + 4);
	uint32_t *low = pcc_xmalloc((size_t)n * sizeof(uint32_t) + 4);
	uint32_t *stack = pcc_xmalloc((size_t)n * sizeof(uint32_t) + 4);
	uint32_t *call_v = pcc_xmalloc((size_t)n * sizeof(uint32_t) + 4);
	uint32_t *call_e = pcc_xmalloc((size_t)n * sizeof(uint32_t) + 4);
	bool *on_stack = pcc_xcalloc(n ? n : 1, sizeof(bool));
	uint32_t sp = 0;
	for (uint32_t v = 0; v < n; v++)
		index[v] = UINT32_MAX;
	for (uint32_t root = 0; root < n; root++) {
		if (index[root] != UINT32_MAX)
			continue;
		uint32_t depth = 0;
		call_v[depth] = root;
		call_e[depth] = g->start[root];
		index[root] = low[root] = next_index++;
		stack[sp++] = root;
		on_stack[root] = true;
		for (;;) {
			uint32_t v = call_v[depth];
			if (call_e[depth] < g->start[v + 1]) {
				uint32_t w = g->targets[call_e[depth]++];
				if (index[w] == UINT32_MAX) {
					index[w] = low[w] = next_index++;
					stack[sp++] = w;
					on_stack[w] = true;
					depth++;
					call_v[depth] = w;
					call_e[depth] = g->start[w];
				} else if (on_stack[w] && index[w] < low[v]) {
					low[v] = index[w];
				}
				continue;
			}
			if (low[v] == index[v]) {
				uint32_t w;
				do {
					w = stack[--sp];
					on_stack[w] = false;
					comp[w] = ncomp;
				} while (w != v);
				ncomp++;
			}
			if (depth == 0)
				break;
			depth--;
			uint32_t parent = call_v[depth];
			if (low[v] < low[parent])
				low[parent] = low[v];
		}
	}
	free(index);
	free(low);
	free(stack);
	free(call_v);
	free(call_e);
	free(on_stack);
	return ncomp;
}

enum { MAX_LOOP = 64 };

/* The edge of a loop, as the traversal labelled it: what its text is
 * made of. */
struct raw_edge {
	bool found;
	struct pcc_edge e;
};

/*
 * An example loop before any text is made of it: its length, its
 * component's size, each node's type (or the node itself, where it is
 * named by itself: a class, a classic instance) and each edge.  Equal
 * shapes give equal signatures and displays, so a leak repeated ten
 * thousand times is named once.
 */
struct loop_shape {
	uint32_t len, size;
	uint64_t node[MAX_LOOP];
	struct raw_edge edge[MAX_LOOP];
};

struct find_label {
	uint64_t target;
	struct raw_edge *out;
};

static bool visit_find_label(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	struct find_label *f = ctx;
	if (f->out->found || ref != f->target || !e)
		return false;
	f->out->found = true;
	f->out->e = *e;
	return true;
}

static const char *type_name_of(struct pcc_heap *h, uint32_t pos)
{
	return pcc_python_type_name(h->py, pcc_heap_type(h, h->unreachable[pos]));
}

/* 0: an instance of a class, 1: a class, 2: anything else. */
static int start_rank(struct pcc_heap *h, uint32_t pos)
{
	uint64_t addr = pcc_heap_addr(h, h->unreachable[pos]);
	struct pcc_type_info *ti = pcc_heap_type(h, h->unreachable[pos]);
	if (!ti)
		return 2;
	if (ti->heap)
		return 0;
	bool is_class;
	char *classic = pcc_python_classic_name(h->py, addr, &is_class);
	if (classic) {
		free(classic);
		return is_class ? 1 : 0;
	}
	return ti->kind == PCC_KIND_TYPE ? 1 : 2;
}

static bool start_before(struct pcc_heap *h, uint32_t a, uint32_t b)
{
	int ra = start_rank(h, a), rb = start_rank(h, b);
	if (ra != rb)
		return ra < rb;
	return strcmp(type_name_of(h, a), type_name_of(h, b)) < 0;
}

/* How a node is named in a loop: its type, or "class X" for a class; a
 * 2.7 classic instance by its class, a classic class as a class. */
static char *node_name(struct pcc_heap *h, uint32_t pos)
{
	uint64_t addr = pcc_heap_addr(h, h->unreachable[pos]);
	struct pcc_type_info *ti = pcc_heap_type(h, h->unreachable[pos]);
	if (ti && ti->kind == PCC_KIND_TYPE) {
		struct pcc_type_info *self = pcc_python_type(h->py, addr);
		return pcc_xasprintf("class %s", pcc_python_type_name(h->py, self));
	}
	bool is_class;
	char *classic = pcc_python_classic_name(h->py, addr, &is_class);
	if (classic) {
		char *name = is_class ? pcc_xasprintf("class %s", classic)
				      : pcc_xstrdup(classic);
		free(classic);
		return name;
	}
	return pcc_xstrdup(type_name_of(h, pos));
}

/*
 * Shortest loop from start back to start inside its component (BFS over
 * the component's edges, in traversal order, so the choice is the same in
 * every core of the program).
 */
static uint32_t shortest_loop(const struct graph *g, const uint32_t *comp,
			      uint32_t start, uint32_t *parent, uint32_t *queue,
			      uint32_t *loop, uint32_t max)
{
	uint32_t head = 0, tail = 0, c = comp[start];
	queue[tail++] = start;
	parent[start] = start;
	uint32_t found = UINT32_MAX;
	while (head < tail && found == UINT32_MAX) {
		uint32_t v = queue[head++];
		for (uint32_t e = g->start[v]; e < g->start[v + 1]; e++) {
			uint32_t w = g->targets[e];
			if (comp[w] != c)
				continue;
			if (w == start) {
				found = v;
				break;
			}
			if (parent[w] == UINT32_MAX) {
				parent[w] = v;
				queue[tail++] = w;
			}
		}
	}
	uint32_t len = 0;
	if (found != UINT32_MAX) {
		/* Walk back from found to start, then reverse. */
		for (uint32_t v = found; len < max; v = parent[v]) {
			loop[len++] = v;
			if (v == start)
				break;
		}
		for (uint32_t i = 0; i < len / 2; i++) {
			uint32_t t = loop[i];
			loop[i] = loop[len - 1 - i];
			loop[len - 1 - i] = t;
		}
	}
	for (uint32_t i = 0; i < tail; i++)
		parent[queue[i]] = UINT32_MAX;
	return len;
}

/* "A.__dict__['x'] → B.__self__ → A (+2 more in the cycle)", for the
 * signature and the report; a dict reached through .__dict__ is not named
 * again.  size: of the cycle's component. */
static char *loop_text(struct pcc_heap *h, const uint32_t *loop, uint32_t len,
		       char **labels, uint32_t size)
{
	size_t cap = 256, n = 0;
	char *s = pcc_xmalloc(cap);
	s[0] = 0;
	for (uint32_t i = 0; i <= len; i++) {
		uint32_t v = loop[i % len];
		bool skip_name = i > 0 && strcmp(labels[i - 1], ".__dict__") == 0;
		char *name = skip_name ? pcc_xstrdup("") : node_name(h, v);
		const char *arrow = i > 0 && !skip_name ? " → " : "";
		const char *label = i < len ? labels[i] : "";
		size_t need = strlen(arrow) + strlen(name) + strlen(label) + 1;
		while (n + need >= cap) {
			cap *= 2;
			s = pcc_xrealloc(s, cap);
		}
		n += (size_t)sprintf(s + n, "%s%s%s", arrow, name, label);
		free(name);
	}
	if (size <= len)
		return s;
	char *more = pcc_xasprintf("%s (+%u more in the cycle)", s, size - len);
	free(s);
	return more;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

struct component_summary {
	uint32_t first_member; /* position of its canonical start */
	uint32_t size;
	uint32_t group;        /* 0 = not a cycle */
};

static int group_cmp(const void *a, const void *b)
{
	const struct pcc_group *x = a, *y = b;
	if (x->objects != y->objects)
		return x->objects > y->objects ? -1 : 1;
	if (x->cycles != y->cycles)
		return x->cycles > y->cycles ? -1 : 1;
	return strcmp(x->fingerprint, y->fingerprint);
}

struct named_count {
	struct pcc_count count;
	const char *name;
};

static int named_count_cmp(const void *a, const void *b)
{
	const struct named_count *x = a, *y = b;
	if (x->count.count != y->count.count)
		return x->count.count > y->count.count ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Most frequent first, ties by type name (not by address, which differs
 * from core to core). */
static void order_types(struct pcc_python *py, struct pcc_count_vec *t)
{
	if (t->len < 2)
		return;
	struct named_count *v = pcc_xcalloc(t->len, sizeof(*v));
	for (size_t i = 0; i < t->len; i++)
		v[i] = (struct named_count){
			t->data[i],
			pcc_python_type_name(py, pcc_python_type(py, t->data[i].type))
		};
	pcc_sort(v, t->len, sizeof(*v), named_count_cmp);
	for (size_t i = 0; i < t->len; i++)
		t->data[i] = v[i].count;
	free(v);
}

/* Largest group first, its most frequent types first: the order a reader
 * wants, and one that does not depend on where the objects happen to lie. */
static void order_groups(struct pcc_heap *h)
{
	size_t n = h->groups.len;
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		order_types(h->py, &h->groups.data[i].types);
	pcc_sort(h->groups.data, n, sizeof(h->groups.data[0]), group_cmp);
	uint32_t *new_id = pcc_xcalloc(n + 1, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		new_id[h->groups.data[i].id] = (uint32_t)i + 1;
		h->groups.data[i].id = (uint32_t)i + 1;
	}
	for (uint32_t v = 0; v < h->nunreachable; v++)
		h->group_of[v] = new_id[h->group_of[v]];
	free(new_id);
}

static void read_shape(struct pcc_heap *h, const uint32_t *loop,
		       uint32_t len, uint32_t size, struct loop_shape *shape)
{
	shape->len = len;
	shape->size = size;
	for (uint32_t i = 0; i < len; i++) {
		uint32_t obj = h->unreachable[loop[i]];
		shape->edge[i].found = false;
		shape->node[i] = pcc_python_named_by_itself(pcc_heap_type(h, obj))
					 ? pcc_heap_addr(h, obj) | UINT64_C(1) << 63
					 : pcc_heap_type_id(h, obj);
		struct find_label f = {
			pcc_heap_addr(h, h->unreachable[loop[(i + 1) % len]]),
			&shape->edge[i]
		};
		pcc_python_traverse(h->py, pcc_heap_addr(h, obj), visit_find_label, &f,
				    true, NULL);
	}
}

static bool same_edge(const struct raw_edge *a, const struct raw_edge *b)
{
	if (a->found != b->found)
		return false;
	if (!a->found)
		return true;
	if (a->e.label != b->e.label || a->e.key != b->e.key
	    || a->e.index != b->e.index || !a->e.name != !b->e.name)
		return false;
	return !a->e.name || strcmp(a->e.name, b->e.name) == 0;
}

static bool same_shape(const struct loop_shape *a, const struct loop_shape *b)
{
	if (a->len != b->len || a->size != b->size)
		return false;
	for (uint32_t i = 0; i < a->len; i++)
		if (a->node[i] != b->node[i] || !same_edge(&a->edge[i], &b->edge[i]))
			return false;
	return true;
}

static uint64_t mix(uint64_t h, uint64_t x)
{
	return (h ^ x) * 0x100000001b3ull;
}

static uint64_t shape_hash(const struct loop_shape *s)
{
	uint64_t h = mix(mix(0xcbf29ce484222325ull, s->len), s->size);
	for (uint32_t i = 0; i < s->len; i++) {
		const struct raw_edge *r = &s->edge[i];
		h = mix(mix(h, s->node[i]), r->found);
		if (!r->found)
			continue;
		h = mix(mix(mix(h, (uint64_t)r->e.label), r->e.key),
			(uint64_t)r->e.index);
		if (r->e.name)
			h = mix(h, fnv1a(r->e.name));
	}
	return h ? h : 1; /* 0: the map's empty key */
}

/* Shapes seen, each with its group; the map holds, per hash, the first
 * entry with it (a collision finds no group, and the loop is named
 * again). */
struct shape_entry {
	struct loop_shape shape;
	uint32_t group;
};
PCC_VEC(shape_entry_vec, struct shape_entry)

struct shape_memo {
	struct pcc_u64_map by_hash;
	struct shape_entry_vec entries;
};

/* The group of an equal shape seen before, or 0. */
static uint32_t shape_memo_find(const struct shape_memo *m,
				const struct loop_shape *s)
{
	uint64_t at;
	if (!pcc_u64_map_get(&m->by_hash, shape_hash(s), &at))
		return 0;
	const struct shape_entry *e = &m->entries.data[at];
	return same_shape(&e->shape, s) ? e->group : 0;
}

static void shape_memo_add(struct shape_memo *m, const struct loop_shape *s,
			   uint32_t group)
{
	uint64_t hash = shape_hash(s), at;
	if (pcc_u64_map_get(&m->by_hash, hash, &at))
		return;
	pcc_u64_map_put(&m->by_hash, hash, m->entries.len);
	struct shape_entry *e = shape_entry_vec_push(&m->entries);
	e->shape.len = s->len;
	e->shape.size = s->size;
	memcpy(e->shape.node, s->node, s->len * sizeof(s->node[0]));
	memcpy(e->shape.edge, s->edge, s->len * sizeof(s->edge[0]));
	e->group = group;
}

static void shape_memo_free(struct shape_memo *m)
{
	pcc_u64_map_free(&m->by_hash);
	shape_entry_vec_free(&m->entries);
}

/* Name the loop of a shape not seen before: its signature finds its
 * group, or makes a new one.  Returns the group's id. */
static uint32_t group_of_shape(struct pcc_heap *h, const struct loop_shape *shape,
			       const uint32_t *loop)
{
	uint32_t len = shape->len;
	char **labels = pcc_xcalloc(len, sizeof(char *));
	char **keys = pcc_xcalloc(len, sizeof(char *));
	for (uint32_t i = 0; i < len; i++) {
		const struct raw_edge *r = &shape->edge[i];
		labels[i] = r->found ? pcc_python_edge_text(h->py, &r->e, false)
				     : pcc_xstrdup(" ?");
		keys[i] = r->found ? pcc_python_edge_text(h->py, &r->e, true)
				   : pcc_xstrdup(" ?");
	}
	char *sig = loop_text(h, loop, len, keys, shape->size);
	char *display = loop_text(h, loop, len, labels, shape->size);
	for (uint32_t i = 0; i < len; i++)
		free(keys[i]);
	free(keys);

	for (size_t i = 0; i < h->groups.len; i++)
		if (strcmp(h->groups.data[i].signature, sig) == 0) {
			free(sig);
			free(display);
			for (uint32_t j = 0; j < len; j++)
				free(labels[j]);
			free(labels);
			return h->groups.data[i].id;
		}
	struct pcc_group *grp = pcc_group_vec_push(&h->groups);
	memset(grp, 0, sizeof(*grp));
	grp->id = (uint32_t)h->groups.len;
	grp->signature = sig;
	grp->display = display;
	snprintf(grp->fingerprint, sizeof(grp->fingerprint), "%016llx",
		 (unsigned long long)fnv1a(sig));
	grp->loop = pcc_xmalloc(len * sizeof(uint32_t));
	memcpy(grp->loop, loop, len * sizeof(uint32_t));
	grp->loop_labels = labels;
	grp->loop_len = len;
	grp->objects_per_cycle = shape->size;
	return grp->id;
}

void pcc_heap_group_cycles(struct pcc_heap *h)
{
	uint32_t n = h->nunreachable;
	h->group_of = pcc_xcalloc(n ? n : 1, sizeof(uint32_t));
	if (!n)
		return;
	for (uint32_t i = 0; i < n; i++)
		h->gc_refs[h->unreachable[i]] = (int32_t)i;

	struct graph g;
	build_graph(h, &g);
	uint32_t *comp = pcc_xmalloc((size_t)n * sizeof(uint32_t));
	uint32_t ncomp = tarjan(&g, comp);

	struct component_summary *cs = pcc_xcalloc(ncomp, sizeof(*cs));
	for (uint32_t v = 0; v < n; v++) {
		struct component_summary *c = &cs[comp[v]];
		/* Canonical start: an instance of a class (the user's types
		 * read best first), then the smallest type name, then the
		 * first in list order. */
		if (c->size == 0 || start_before(h, v, c->first_member))
			c->first_member = v;
		c->size++;
	}
	for (uint32_t v = 0; v < n; v++) {
		if (cs[comp[v]].size > 1)
			continue;
		for (uint32_t e = g.start[v]; e < g.start[v + 1]; e++)
			if (g.targets[e] == v)
				cs[comp[v]].size = 1 | 0x80000000u; /* self-loop */
	}

	uint32_t *parent = pcc_xmalloc((size_t)n * sizeof(uint32_t));
	uint32_t *queue = pcc_xmalloc((size_t)n * sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++)
		parent[i] = UINT32_MAX;
	uint32_t loop[MAX_LOOP];
	struct loop_shape shape;
	struct shape_memo memo = { 0 };

	/* Components in order of first appearance, for stable group ids. */
	for (uint32_t v = 0; v < n; v++) {
		struct component_summary *c = &cs[comp[v]];
		bool is_cycle = c->size > 1 || (c->size & 0x80000000u);
		if (!is_cycle || c->group || c->first_member != v)
			continue;
		uint32_t len = shortest_loop(&g, comp, v, parent, queue, loop,
					     MAX_LOOP);
		if (len == 0)
			len = 1, loop[0] = v;
		read_shape(h, loop, len, c->size & 0x7fffffffu, &shape);
		uint32_t id = shape_memo_find(&memo, &shape);
		if (!id) {
			id = group_of_shape(h, &shape, loop);
			shape_memo_add(&memo, &shape, id);
		}
		struct pcc_group *grp = &h->groups.data[id - 1];
		grp->cycles++;
		c->group = grp->id;
	}

	/* Objects in a cycle take its group; the rest the first group that
	 * reaches them (breadth-first from the cycles, in group order). */
	uint32_t head = 0, tail = 0;
	for (uint32_t v = 0; v < n; v++) {
		h->group_of[v] = cs[comp[v]].group;
		if (h->group_of[v])
			queue[tail++] = v;
	}
	while (head < tail) {
		uint32_t v = queue[head++];
		for (uint32_t e = g.start[v]; e < g.start[v + 1]; e++) {
			uint32_t w = g.targets[e];
			if (!h->group_of[w]) {
				h->group_of[w] = h->group_of[v];
				queue[tail++] = w;
			}
		}
	}
	for (uint32_t v = 0; v < n; v++) {
		if (!h->group_of[v])
			continue;
		struct pcc_group *grp = &h->groups.data[h->group_of[v] - 1];
		grp->objects++;
		grp->bytes += pcc_heap_size(h, h->unreachable[v]);
		uint64_t type = pcc_heap_type_addr(h, h->unreachable[v]);
		size_t i;
		for (i = 0; i < grp->types.len && grp->types.data[i].type != type; i++)
			;
		if (i == grp->types.len)
			*pcc_count_vec_push(&grp->types) = (struct pcc_count){ type, 0 };
		grp->types.data[i].count++;
	}
	shape_memo_free(&memo);
	free(parent);
	free(queue);
	free(cs);
	free(comp);
	free(g.start);
	free(g.targets);
	order_groups(h);
}
