/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>

#include "report.h"
#include "../memory/emulator.h"
#include "../util/utf8.h"

/* Target-derived text goes to a terminal: control characters become '?',
 * bytes that are not UTF-8 "\\xNN". */
static void put_clean(FILE *out, const char *s)
{
	pcc_utf8_fputs_text(s, out);
}

static const char *type_name(const struct pcc_report *r, uint64_t type)
{
	return pcc_python_type_name(r->py, pcc_python_type(r->py, type));
}

static void text_gc(const struct pcc_report *r, FILE *out)
{
	for (size_t i = 0; i < r->py->gcs.len; i++) {
		const struct pcc_gc_state *gs = &r->py->gcs.data[i];
		fprintf(out,
			"gc (interpreter %lld): %s, thresholds %d/%d/%d, counts "
			"%d/%d/%d%s\n",
			(long long)gs->interp_id,
			gs->unknown & PCC_GC_ENABLED ? "enabled unknown"
			: gs->enabled		     ? "enabled"
						     : "DISABLED",
			gs->thresholds[0], gs->thresholds[1], gs->thresholds[2],
			gs->counts[0], gs->counts[1], gs->counts[2],
			gs->unknown & PCC_GC_COLLECTING ? ", collecting unknown"
			: gs->collecting > 0 ? ", collection in progress"
					     : "");
	}
}

static void text_file_line(const struct pcc_report *r, FILE *out,
			   const struct pcc_open_file *f)
{
	fprintf(out, "    fd %d  ", f->info.fd);
	put_clean(out, f->info.name ? f->info.name : "?");
	fprintf(out, "  mode %s  ", f->text_mode ? f->text_mode : f->info.mode);
	put_clean(out, type_name(r, pcc_python_ob_type(r->py, f->outermost)));
	fprintf(out, " 0x%llx", (unsigned long long)f->outermost);
	if (f->holder) {
		fputs("  held by ", out);
		put_clean(out, f->holder);
	}
	fputc('\n', out);
}

/* Leaked files first, grouped by path; then the rest, briefly. */
static void text_files(const struct pcc_report *r, FILE *out)
{
	const struct pcc_heap *h = r->heap;
	if (!h->files.len)
		return;
	if (h->leaked_files)
		fprintf(out, "\nleaked files: %llu open, reachable only from "
			"garbage\n", (unsigned long long)h->leaked_files);
	for (size_t i = 0; i < h->files.len && h->files.data[i].leaked;) {
		size_t j = i + 1;
		const char *name = h->files.data[i].info.name;
		while (j < h->files.len && h->files.data[j].leaked && name
		       && h->files.data[j].info.name
		       && strcmp(h->files.data[j].info.name, name) == 0)
			j++;
		fprintf(out, "  %zu × ", j - i);
		put_clean(out, name ? name : "?");
		fputc('\n', out);
		for (size_t k = i; k < j && k < i + 3; k++)
			text_file_line(r, out, &h->files.data[k]);
		if (j - i > 3)
			fprintf(out, "    … %zu more\n", j - i - 3);
		i = j;
	}
	for (size_t i = 0; i < h->files.len; i++) {
		const struct pcc_open_file *f = &h->files.data[i];
		if (f->many_same_path
		    && (i == 0 || !h->files.data[i - 1].info.name
			|| strcmp(h->files.data[i - 1].info.name, f->info.name))) {
			fprintf(out, "  warning: %u handles open at once on ",
				f->same_path);
			put_clean(out, f->info.name);
			fputc('\n', out);
		}
	}
	size_t others = h->files.len - h->leaked_files;
	if (others)
		fprintf(out, "\nopen files (reachable): %zu\n", others);
	size_t shown = 0;
	for (size_t i = h->leaked_files; i < h->files.len; i++) {
		const struct pcc_open_file *f = &h->files.data[i];
		if (shown < 10 || f->many_same_path) {
			text_file_line(r, out, f);
			shown++;
		}
	}
	if (shown < others)
		fprintf(out, "    … %zu more (see --json)\n", others - shown);
}

/* "\nN objects WHAT: type n, type n, ...", the six most common types. */
static void text_type_counts(const struct pcc_report *r, FILE *out,
			     const struct pcc_count_vec *counts, const char *what)
{
	if (!counts->len)
		return;
	uint64_t total = 0;
	for (size_t i = 0; i < counts->len; i++)
		total += counts->data[i].count;
	fprintf(out, "\n%llu objects %s:", (unsigned long long)total, what);
	for (size_t i = 0; i < counts->len && i < 6; i++) {
		fprintf(out, "%s ", i ? "," : "");
		put_clean(out, type_name(r, counts->data[i].type));
		fprintf(out, " %llu", (unsigned long long)counts->data[i].count);
	}
	fputs("\n", out);
}

/* Which objects ran their type's own traversal in the emulator, and which
 * could not (they are among the unknown types, or partial). */
static void text_emulation(const struct pcc_report *r, FILE *out)
{
	const struct pcc_emulation_summary *s = pcc_python_emulation(r->py);
	if (!s)
		return;
	if (s->unavailable) {
		fputs("\nnote: the traversals pycorecheck has no code for were not "
		      "run (", out);
		put_clean(out, s->unavailable);
		fputs("): their objects are taken for alive\n", out);
		return;
	}
	/* No time here: the text of a core is the same on every run. */
	fprintf(out, "\nemulated: the own tp_traverse of %llu object%s of %llu "
		"type%s, run in the CPU emulator\n",
		(unsigned long long)s->objects, s->objects == 1 ? "" : "s",
		(unsigned long long)s->types, s->types == 1 ? "" : "s");
	for (size_t i = 0; i < s->fallbacks.len && i < 10; i++) {
		const struct pcc_emu_fallback *f = &s->fallbacks.data[i];
		fprintf(out, "    not emulated: %llu × ", (unsigned long long)f->count);
		put_clean(out, type_name(r, f->type));
		fprintf(out, ": its traversal %s (e.g. 0x%llx)\n",
			pcc_emu_status_text((enum pcc_emu_status)f->status),
			(unsigned long long)f->example);
	}
	if (s->fallbacks.len > 10)
		fprintf(out, "    not emulated: … (%zu more types)\n",
			s->fallbacks.len - 10);
}

static void text_check(const struct pcc_report *r, FILE *out)
{
	const struct pcc_traversal_check *c = r->check;
	if (!c)
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
		const struct pcc_traversal_diff *d = &c->diffs.data[i];
		fprintf(out, "    differs: %llu × ", (unsigned long long)d->objects);
		put_clean(out, type_name(r, d->type));
		fprintf(out, " (traversal %s), e.g. 0x%llx: visits 0x%llx that "
			"tp_traverse does not, misses 0x%llx\n",
			pcc_kind_name((enum pcc_kind)d->kind),
			(unsigned long long)d->example, (unsigned long long)d->extra,
			(unsigned long long)d->missing);
	}
}

void pcc_report_text(const struct pcc_report *r, FILE *out)
{
	const struct pcc_heap *h = r->heap;
	if (r->t->live) {
		fprintf(out, "process %d (", r->t->pid);
		put_clean(out, r->t->prog_name[0] ? r->t->prog_name : "?");
	} else {
		fputs("core ", out);
		put_clean(out, r->t->core_path);
		fprintf(out, " (pid %d", r->t->pid);
		if (r->t->prog_name[0]) {
			fputs(", ", out);
			put_clean(out, r->t->prog_name);
		}
	}
	fprintf(out, "): Python %s, ", r->py->version);
	put_clean(out, r->di->python_file ? r->di->python_file : "?");
	fputs("\n", out);
	if (r->py->layout_source) {
		fputs("no debug info: layout from the ", out);
		put_clean(out, r->py->layout_source);
		fputs("\n", out);
	}
	if (r->t->live)
		fprintf(out, "target stopped for %.1f ms (%u thread%s)\n",
			r->t->pause_seconds * 1e3, r->t->live_threads,
			r->t->live_threads == 1 ? "" : "s");
	text_gc(r, out);
	fprintf(out, "%u tracked objects, %u unreachable", h->n, h->nunreachable);
	if (h->groups.len)
		fprintf(out, " in %zu kind%s of cycle", h->groups.len,
			h->groups.len == 1 ? "" : "s");
	fputs("\n", out);

	for (size_t i = 0; i < h->groups.len; i++) {
		const struct pcc_group *g = &h->groups.data[i];
		fprintf(out, "\n#%u  %u cycle%s × %u object%s, %llu objects in all  "
			"[%s]\n", g->id, g->cycles, g->cycles == 1 ? "" : "s",
			g->objects_per_cycle, g->objects_per_cycle == 1 ? "" : "s",
			(unsigned long long)g->objects, g->fingerprint);
		fputs("    ", out);
		put_clean(out, g->display);
		fputs("\n    types:", out);
		for (size_t j = 0; j < g->types.len && j < 8; j++) {
			fprintf(out, "%s %llu × ", j ? "," : "",
				(unsigned long long)g->types.data[j].count);
			put_clean(out, type_name(r, g->types.data[j].type));
		}
		if (g->types.len > 8)
			fprintf(out, ", … (%zu types)", g->types.len);
		fputs("\n    example:", out);
		for (uint32_t j = 0; j < g->loop_len && j < 4; j++)
			fprintf(out, " 0x%llx",
				(unsigned long long)h->addrs[h->unreachable[g->loop[j]]]);
		fputs("\n", out);
	}
	text_files(r, out);
	if (h->diagnoses.len) {
		fputs("\ndiagnosis:\n", out);
		for (size_t i = 0; i < h->diagnoses.len; i++) {
			fputs("  - ", out);
			put_clean(out, h->diagnoses.data[i]);
			fputc('\n', out);
		}
	}
	text_emulation(r, out);
	text_check(r, out);
	text_type_counts(r, out, &h->unknown_types,
			 "of types whose references pycorecheck cannot follow "
			 "(treated as held from outside)");
	text_type_counts(r, out, &h->undecided_types,
			 "of types that decide for themselves whether the "
			 "collector counts them (tp_is_gc; treated as alive)");
	for (size_t i = 0; i < r->t->warnings.len; i++) {
		fputs("warning: ", out);
		put_clean(out, r->t->warnings.data[i]);
		fputc('\n', out);
	}
	for (size_t i = 0; i < h->warnings.len; i++) {
		fputs("warning: ", out);
		put_clean(out, h->warnings.data[i]);
		fputc('\n', out);
	}
	if (!h->complete)
		fputs("the analysis is incomplete (see the warnings)\n", out);
}
