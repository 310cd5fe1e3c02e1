/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "report.h"
#include "../util/sort.h"
#include "../util/utf8.h"

/* Target-derived text goes to a terminal: control characters become '?',
 * bytes that are not UTF-8 "\\xNN". */
static void put_clean(FILE *out, const char *s)
{
	pcc_utf8_fputs_text(s, out);
}

static void text_gc(const struct pcc_result *r, FILE *out)
{
	for (size_t i = 0; i < r->ngcs; i++) {
		const struct pcc_result_gc *g = &r->gcs[i];
		fprintf(out,
			"gc (interpreter %lld): %s, thresholds %d/%d/%d, counts "
			"%d/%d/%d%s\n",
			(long long)g->interp_id,
			!(g->known & PCC_RESULT_GC_ENABLED) ? "enabled unknown"
			: g->enabled			   ? "enabled"
							   : "DISABLED",
			g->thresholds[0], g->thresholds[1], g->thresholds[2],
			g->counts[0], g->counts[1], g->counts[2],
			!(g->known & PCC_RESULT_GC_COLLECTING) ? ", collecting unknown"
			: g->collecting ? ", collection in progress"
					: "");
	}
}

static void text_file_line(FILE *out, const struct pcc_result_file *f)
{
	fprintf(out, "    fd %d  ", f->fd);
	put_clean(out, f->name ? f->name : "?");
	fprintf(out, "  mode %s  ", f->mode);
	put_clean(out, f->outermost_type);
	fprintf(out, " 0x%llx", (unsigned long long)f->outermost);
	if (f->holder) {
		fputs("  held by ", out);
		put_clean(out, f->holder);
	}
	fputc('\n', out);
}

/* Leaked files first, grouped by path; then the rest, briefly. */
static void text_files(const struct pcc_result *r, FILE *out)
{
	const struct pcc_result_file *files = r->files;
	size_t n = r->nfiles;
	if (!n)
		return;
	if (r->leaked_files)
		fprintf(out, "\nleaked files: %llu open, reachable only from "
			"garbage\n", (unsigned long long)r->leaked_files);
	for (size_t i = 0; i < n && files[i].leaked;) {
		size_t j = i + 1;
		const char *name = files[i].name;
		while (j < n && files[j].leaked && name && files[j].name
		       && strcmp(files[j].name, name) == 0)
			j++;
		fprintf(out, "  %zu × ", j - i);
		put_clean(out, name ? name : "?");
		fputc('\n', out);
		for (size_t k = i; k < j && k < i + 3; k++)
			text_file_line(out, &files[k]);
		if (j - i > 3)
			fprintf(out, "    … %zu more\n", j - i - 3);
		i = j;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pcc_result_file *f = &files[i];
		if (f->many_same_path
		    && (i == 0 || !files[i - 1].name
			|| strcmp(files[i - 1].name, f->name))) {
			fprintf(out, "  warning: %u handles open at once on ",
				f->same_path);
			put_clean(out, f->name);
			fputc('\n', out);
		}
	}
	size_t others = n - r->leaked_files;
	if (others)
		fprintf(out, "\nopen files (reachable): %zu\n", others);
	size_t shown = 0;
	for (size_t i = r->leaked_files; i < n; i++) {
		const struct pcc_result_file *f = &files[i];
		if (shown < 10 || f->many_same_path) {
			text_file_line(out, f);
			shown++;
		}
	}
	if (shown < others)
		fprintf(out, "    … %zu more (see --json)\n", others - shown);
}

/* "\nN objects WHAT: type n, type n, ...", the six most common types. */
static void text_type_counts(FILE *out, const struct pcc_result_count_vec *counts,
			     const char *what)
{
	if (!counts->len)
		return;
	uint64_t total = 0;
	for (size_t i = 0; i < counts->len; i++)
		total += counts->data[i].count;
	fprintf(out, "\n%llu objects %s:", (unsigned long long)total, what);
	for (size_t i = 0; i < counts->len && i < 6; i++) {
		fprintf(out, "%s ", i ? "," : "");
		put_clean(out, counts->data[i].type);
		fprintf(out, " %llu", (unsigned long long)counts->data[i].count);
	}
	fputs("\n", out);
}

/* Which objects ran their type's own traversal in the emulator, and which
 * could not (they are among the unknown types, or partial). */
static void text_emulation(const struct pcc_result *r, FILE *out)
{
	const struct pcc_result_emulation *e = &r->emulation;
	if (!e->needed)
		return;
	if (e->unavailable) {
		fputs("\nnote: the traversals pycorecheck has no code for were not "
		      "run (", out);
		put_clean(out, e->unavailable);
		fputs("): their objects are taken for alive\n", out);
		return;
	}
	/* No time here: the text of a core is the same on every run. */
	fprintf(out, "\nemulated: the own tp_traverse of %llu object%s of %llu "
		"type%s, run in the CPU emulator\n",
		(unsigned long long)e->objects, e->objects == 1 ? "" : "s",
		(unsigned long long)e->types, e->types == 1 ? "" : "s");
	for (size_t i = 0; i < e->fallbacks.len && i < 10; i++) {
		const struct pcc_result_fallback *f = &e->fallbacks.data[i];
		fprintf(out, "    not emulated: %llu × ", (unsigned long long)f->count);
		put_clean(out, f->type);
		fprintf(out, ": its traversal %s (e.g. 0x%llx)\n", f->reason,
			(unsigned long long)f->example);
	}
	if (e->fallbacks.len > 10)
		fprintf(out, "    not emulated: … (%zu more types)\n",
			e->fallbacks.len - 10);
}

static void text_check(const struct pcc_result *r, FILE *out)
{
	const struct pcc_result_check *c = &r->check;
	if (!c->requested)
		return;
	if (!c->ran) {
		fputs("\ntraversal check: not run (no CPU emulator)\n", out);
		return;
	}
	fprintf(out, "\ntraversal check: %llu objects compared with their type's "
		"own tp_traverse, %llu differ", (unsigned long long)c->compared,
		(unsigned long long)c->differ);
	if (c->not_emulated)
		fprintf(out, " (%llu could not be emulated)",
			(unsigned long long)c->not_emulated);
	fputs("\n", out);
	for (size_t i = 0; i < c->diffs.len && i < 20; i++) {
		const struct pcc_result_diff *d = &c->diffs.data[i];
		fprintf(out, "    differs: %llu × ", (unsigned long long)d->objects);
		put_clean(out, d->type);
		fprintf(out, " (traversal %s), e.g. 0x%llx: visits 0x%llx that "
			"tp_traverse does not, misses 0x%llx\n", d->kind,
			(unsigned long long)d->example, (unsigned long long)d->extra,
			(unsigned long long)d->missing);
	}
}

static void text_origin(const struct pcc_origin *o, FILE *out)
{
	if (o->live) {
		fprintf(out, "process %d (", o->pid);
		put_clean(out, o->prog_name[0] ? o->prog_name : "?");
	} else {
		fputs("core ", out);
		put_clean(out, o->core_path);
		fprintf(out, " (pid %d", o->pid);
		if (o->prog_name[0]) {
			fputs(", ", out);
			put_clean(out, o->prog_name);
		}
	}
	fprintf(out, "): Python %s, ", o->python_version);
	put_clean(out, o->python_module ? o->python_module : "?");
	fputs("\n", out);
	if (o->layout_source) {
		fputs("no debug info: layout from the ", out);
		put_clean(out, o->layout_source);
		fputs("\n", out);
	}
	if (o->live)
		fprintf(out, "target stopped for %.1f ms (%u thread%s)\n",
			o->pause_seconds * 1e3, o->threads,
			o->threads == 1 ? "" : "s");
}

/* bytes for people: "812 B", "3.4 KiB", "1.1 MiB". */
static void put_bytes(FILE *out, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	if (bytes < 1024) {
		fprintf(out, "%llu B", (unsigned long long)bytes);
		return;
	}
	double v = (double)bytes / 1024;
	unsigned u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	fprintf(out, "%.1f %s", v, units[u]);
}

static void text_group(const struct pcc_result_group *g, FILE *out)
{
	fprintf(out, "\n#%u  %u cycle%s × %u object%s, %llu objects in all, ",
		g->id, g->cycles, g->cycles == 1 ? "" : "s",
		g->objects_per_cycle, g->objects_per_cycle == 1 ? "" : "s",
		(unsigned long long)g->objects);
	put_bytes(out, g->bytes);
	fprintf(out, "  [%s]\n", g->fingerprint);
	fputs("    ", out);
	put_clean(out, g->display);
	fputs("\n    types:", out);
	for (size_t j = 0; j < g->types.len && j < 8; j++) {
		fprintf(out, "%s %llu × ", j ? "," : "",
			(unsigned long long)g->types.data[j].count);
		put_clean(out, g->types.data[j].type);
	}
	if (g->types.len > 8)
		fprintf(out, ", … (%zu types)", g->types.len);
	fputs("\n    example:", out);
	for (uint32_t j = 0; j < g->loop_len && j < 4; j++)
		fprintf(out, " 0x%llx", (unsigned long long)g->loop[j].addr);
	fputs("\n", out);
}

static void text_warnings(const struct pcc_string_vec *v, FILE *out)
{
	for (size_t i = 0; i < v->len; i++) {
		fputs("warning: ", out);
		put_clean(out, v->data[i]);
		fputc('\n', out);
	}
}

static void text_type_total(FILE *out, const struct pcc_result_type_total *t)
{
	char bytes[32];
	FILE *f = fmemopen(bytes, sizeof(bytes), "w");
	if (f) {
		put_bytes(f, t->bytes);
		fclose(f);
	} else {
		bytes[0] = 0;
	}
	fprintf(out, "%s%10s %8llu × ", t->bytes_exact ? "  " : "≥ ", bytes,
		(unsigned long long)t->count);
	put_clean(out, t->type);
	if (t->tracked && t->tracked != t->count)
		fprintf(out, " (%llu tracked)", (unsigned long long)t->tracked);
	else if (!t->tracked)
		fputs(" (untracked)", out);
	fputc('\n', out);
}

static int by_count(const void *a, const void *b)
{
	const struct pcc_result_type_total *x = *(const struct pcc_result_type_total *const *)a;
	const struct pcc_result_type_total *y = *(const struct pcc_result_type_total *const *)b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return (x->type_addr > y->type_addr) - (x->type_addr < y->type_addr);
}

/* The heap's bytes, and the top types by bytes and by count. */
static void text_memory(const struct pcc_result *r, unsigned top, FILE *out)
{
	const struct pcc_result_type_total_vec *v = &r->type_histogram;
	fputs("\nmemory: ", out);
	put_bytes(out, r->bytes);
	fprintf(out, " in %llu objects: %llu tracked, %llu they hold that are not",
		(unsigned long long)r->objects, (unsigned long long)r->tracked,
		(unsigned long long)(r->objects - r->tracked));
	if (r->bytes_bound) {
		fputs(" (≥: ", out);
		put_bytes(out, r->bytes_bound);
		fputs(" of it are lower bounds)", out);
	}
	fputs("\n  most bytes:\n", out);
	size_t n = v->len < top ? v->len : top;
	for (size_t i = 0; i < n; i++) {
		fputs("  ", out);
		text_type_total(out, &v->data[i]);
	}
	const struct pcc_result_type_total **order =
		pcc_xmalloc((v->len ? v->len : 1) * sizeof(*order));
	for (size_t i = 0; i < v->len; i++)
		order[i] = &v->data[i];
	pcc_sort(order, v->len, sizeof(*order), by_count);
	fputs("  most objects:\n", out);
	for (size_t i = 0; i < n; i++) {
		fputs("  ", out);
		text_type_total(out, order[i]);
	}
	free(order);
}

void pcc_report_text(const struct pcc_result *r, unsigned top, FILE *out)
{
	text_origin(&r->origin, out);
	text_gc(r, out);
	fprintf(out, "%llu tracked objects, %u unreachable",
		(unsigned long long)r->tracked, r->nunreachable);
	if (r->ngroups)
		fprintf(out, " in %zu kind%s of cycle", r->ngroups,
			r->ngroups == 1 ? "" : "s");
	fputs("\n", out);
	for (size_t i = 0; i < r->ngroups; i++)
		text_group(&r->groups[i], out);
	text_files(r, out);
	if (top)
		text_memory(r, top, out);
	if (r->diagnoses.len) {
		fputs("\ndiagnosis:\n", out);
		for (size_t i = 0; i < r->diagnoses.len; i++) {
			fputs("  - ", out);
			put_clean(out, r->diagnoses.data[i]);
			fputc('\n', out);
		}
	}
	text_emulation(r, out);
	text_check(r, out);
	text_type_counts(out, &r->unknown_types,
			 "of types whose references pycorecheck cannot follow "
			 "(treated as held from outside)");
	text_type_counts(out, &r->undecided_types,
			 "of types that decide for themselves whether the "
			 "collector counts them (tp_is_gc; treated as alive)");
	text_type_counts(out, &r->untracked_unknown_types,
			 "held untracked, of types whose references pycorecheck "
			 "cannot follow (what they hold is left out of the "
			 "memory section)");
	text_warnings(&r->origin.warnings, out);
	text_warnings(&r->warnings, out);
	if (!r->complete)
		fputs("the analysis is incomplete (see the warnings)\n", out);
}
