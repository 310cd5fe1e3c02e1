/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "../memory/emulator.h"
#include "../util/utf8.h"

enum { SCHEMA_VERSION = 1 };

void pcc_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	fputc('"', out);
	while (n) {
		size_t k = pcc_utf8_sequence_len(p, n);
		if (!k) {
			/* JSON is UTF-8 (RFC 8259): an ill-formed byte from the
			 * target is replaced, as Python's errors="replace" does. */
			fputs("\\ufffd", out);
			k = 1;
		} else if (*p == '"' || *p == '\\') {
			fprintf(out, "\\%c", *p);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\u%04x", *p);
		} else {
			fwrite(p, 1, k, out);
		}
		p += k;
		n -= k;
	}
	fputc('"', out);
}

static void json_addr(FILE *out, uint64_t addr)
{
	fprintf(out, "\"0x%llx\"", (unsigned long long)addr);
}

static const char *type_name(const struct pcc_report *r, uint64_t type)
{
	return pcc_python_type_name(r->py, pcc_python_type(r->py, type));
}

static void json_target(const struct pcc_report *r, FILE *out)
{
	fputs("\"target\":{\"core\":", out);
	if (r->t->core_path)
		pcc_json_string(out, r->t->core_path);
	else
		fputs("null", out);
	fputs(",\"compression\":", out);
	if (r->t->compression)
		pcc_json_string(out, r->t->compression);
	else
		fputs("null", out);
	fprintf(out, ",\"pid\":%d,\"signal\":%d,\"live\":%s", r->t->pid,
		r->t->signal, r->t->live ? "true" : "false");
	if (r->t->live)
		fprintf(out, ",\"pause_seconds\":%.6f,\"threads\":%u",
			r->t->pause_seconds, r->t->live_threads);
	fputs(",\"executable\":", out);
	pcc_json_string(out, r->t->exe_path ? r->t->exe_path : r->t->prog_name);
	fputs(",\"python_version\":", out);
	pcc_json_string(out, r->py->version);
	fputs(",\"python_module\":", out);
	pcc_json_string(out, r->di->python_file);
	fputs(",\"layout_source\":", out);
	char *src = r->py->layout_source
			    ? pcc_xstrdup(r->py->layout_source)
			    : pcc_xasprintf("DWARF: %s",
					    r->py->l.source ? r->py->l.source : "?");
	pcc_json_string(out, src);
	free(src);
	fputs("}", out);
}

static void json_counts(const struct pcc_report *r, FILE *out,
			const struct pcc_count_vec *v, size_t max);

static void json_ints(FILE *out, const int *v, int n)
{
	fputc('[', out);
	for (int i = 0; i < n; i++)
		fprintf(out, "%s%d", i ? "," : "", v[i]);
	fputc(']', out);
}

/* A field of the collector's state, null when it is unknown (absent from
 * the version, or not found in a stripped interpreter). */
static void json_gc_field(FILE *out, const struct pcc_gc_state *gs,
			  unsigned field, const char *key, const char *value)
{
	fprintf(out, ",\"%s\":%s", key, gs->unknown & field ? "null" : value);
}

static void json_gc(const struct pcc_report *r, FILE *out)
{
	fputs("\"gc\":{\"interpreters\":[", out);
	for (size_t i = 0; i < r->py->gcs.len; i++) {
		const struct pcc_gc_state *gs = &r->py->gcs.data[i];
		char num[32];
		fprintf(out, "%s{\"id\":%lld", i ? "," : "",
			(long long)gs->interp_id);
		json_gc_field(out, gs, PCC_GC_ENABLED, "enabled",
			      gs->enabled ? "true" : "false");
		fputs(",\"thresholds\":", out);
		json_ints(out, gs->thresholds, PCC_GENERATIONS);
		fputs(",\"counts\":", out);
		json_ints(out, gs->counts, PCC_GENERATIONS);
		fputs(",\"garbage_types\":", out);
		json_counts(r, out, &r->heap->garbage_types[i], 20);
		json_gc_field(out, gs, PCC_GC_COLLECTING, "collecting",
			      gs->collecting > 0 ? "true" : "false");
		snprintf(num, sizeof(num), "%d", gs->debug);
		json_gc_field(out, gs, PCC_GC_DEBUG, "debug", num);
		snprintf(num, sizeof(num), "%lld", (long long)gs->garbage_len);
		json_gc_field(out, gs, PCC_GC_GARBAGE, "garbage", num);
		snprintf(num, sizeof(num), "%lld", (long long)gs->callbacks_len);
		json_gc_field(out, gs, PCC_GC_CALLBACKS, "callbacks", num);
		fprintf(out, ",\"frozen\":%llu}",
			(unsigned long long)r->heap->frozen[i]);
	}
	fputs("],\"diagnoses\":[", out);
	for (size_t i = 0; i < r->heap->diagnoses.len; i++) {
		if (i)
			fputc(',', out);
		pcc_json_string(out, r->heap->diagnoses.data[i]);
	}
	fputs("]}", out);
}

static void json_files(const struct pcc_report *r, FILE *out)
{
	const struct pcc_heap *h = r->heap;
	fprintf(out, "\"leaked_files\":%llu,\"files\":[",
		(unsigned long long)h->leaked_files);
	for (size_t i = 0; i < h->files.len; i++) {
		const struct pcc_open_file *f = &h->files.data[i];
		fputs(i ? ",{\"addr\":" : "{\"addr\":", out);
		json_addr(out, f->owner);
		fputs(",\"type\":", out);
		pcc_json_string(out, type_name(r, pcc_python_ob_type(r->py, f->owner)));
		fprintf(out, ",\"kind\":\"%s\",\"fd\":%d,\"name\":",
			f->role == PCC_FILE_SOCKET ? "socket" : "file", f->info.fd);
		if (f->info.name)
			pcc_json_string(out, f->info.name);
		else
			fputs("null", out);
		fputs(",\"mode\":", out);
		pcc_json_string(out, f->text_mode ? f->text_mode : f->info.mode);
		fprintf(out, ",\"closefd\":%s,\"reachable\":%s,\"leaked\":%s,"
			"\"tracked\":%s,\"same_path\":%u,\"holder\":",
			f->info.closefd ? "true" : "false",
			f->reachable ? "true" : "false", f->leaked ? "true" : "false",
			f->tracked ? "true" : "false", f->same_path);
		if (f->holder)
			pcc_json_string(out, f->holder);
		else
			fputs("null", out);
		fputs(",\"wrappers\":[", out);
		for (int k = 0; k < f->nwrappers; k++) {
			if (k)
				fputc(',', out);
			json_addr(out, f->wrappers[k]);
		}
		fputs("]}", out);
	}
	fputc(']', out);
}

static void json_counts(const struct pcc_report *r, FILE *out,
			const struct pcc_count_vec *v, size_t max)
{
	fputc('[', out);
	for (size_t i = 0; i < v->len && i < max; i++) {
		fputs(i ? ",{\"type\":" : "{\"type\":", out);
		pcc_json_string(out, type_name(r, v->data[i].type));
		fprintf(out, ",\"count\":%llu}",
			(unsigned long long)v->data[i].count);
	}
	fputc(']', out);
}

static void json_unreachable(const struct pcc_report *r, FILE *out)
{
	const struct pcc_heap *h = r->heap;
	fprintf(out, "\"unreachable\":{\"count\":%u,\"objects\":[",
		h->nunreachable);
	for (uint32_t i = 0; i < h->nunreachable; i++) {
		uint64_t addr = h->addrs[h->unreachable[i]];
		fputs(i ? ",{\"addr\":" : "{\"addr\":", out);
		json_addr(out, addr);
		fputs(",\"type\":", out);
		pcc_json_string(out, type_name(r, pcc_python_ob_type(r->py, addr)));
		if (h->group_of[i])
			fprintf(out, ",\"group\":%u}", h->group_of[i]);
		else
			fputs(",\"group\":null}", out);
	}
	fputs("],\"groups\":[", out);
	for (size_t i = 0; i < h->groups.len; i++) {
		const struct pcc_group *g = &h->groups.data[i];
		fprintf(out, "%s{\"id\":%u,\"fingerprint\":\"%s\",\"signature\":",
			i ? "," : "", g->id, g->fingerprint);
		pcc_json_string(out, g->signature);
		fprintf(out, ",\"cycles\":%u,\"objects\":%llu,\"objects_per_cycle\":%u,"
			"\"types\":", g->cycles, (unsigned long long)g->objects,
			g->objects_per_cycle);
		json_counts(r, out, &g->types, SIZE_MAX);
		fputs(",\"example\":[", out);
		for (uint32_t j = 0; j < g->loop_len; j++) {
			uint64_t addr = h->addrs[h->unreachable[g->loop[j]]];
			fputs(j ? ",{\"addr\":" : "{\"addr\":", out);
			json_addr(out, addr);
			fputs(",\"type\":", out);
			pcc_json_string(out,
					type_name(r, pcc_python_ob_type(r->py, addr)));
			fputs(",\"edge\":", out);
			pcc_json_string(out, g->loop_labels[j]);
			fputc('}', out);
		}
		fputs("]}", out);
	}
	fputs("]}", out);
}

static void json_emulation(const struct pcc_report *r, FILE *out)
{
	const struct pcc_emulation_summary *s = pcc_python_emulation(r->py);
	fprintf(out, ",\"emulation\":{\"built\":%s,\"ran\":%s,\"unavailable\":",
		pcc_emulator_built() ? "true" : "false",
		s && !s->unavailable ? "true" : "false");
	if (s && s->unavailable)
		pcc_json_string(out, s->unavailable);
	else
		fputs("null", out);
	/* No time or instruction counts: the JSON of a core is the same on
	 * every run (--stats has them). */
	fprintf(out, ",\"objects\":%llu,\"types\":%llu,\"fallbacks\":[",
		(unsigned long long)(s ? s->objects : 0),
		(unsigned long long)(s ? s->types : 0));
	for (size_t i = 0; s && i < s->fallbacks.len; i++) {
		const struct pcc_emu_fallback *f = &s->fallbacks.data[i];
		fprintf(out, "%s{\"type\":", i ? "," : "");
		pcc_json_string(out, pcc_python_type_name(r->py,
							  pcc_python_type(r->py, f->type)));
		fprintf(out, ",\"count\":%llu,\"reason\":",
			(unsigned long long)f->count);
		pcc_json_string(out, pcc_emu_status_text((enum pcc_emu_status)f->status));
		fprintf(out, ",\"example\":\"0x%llx\"}", (unsigned long long)f->example);
	}
	fputs("]}", out);
}

static void json_check(const struct pcc_report *r, FILE *out)
{
	const struct pcc_traversal_check *c = r->check;
	if (!c)
		return;
	fprintf(out, ",\"traversal_check\":{\"ran\":%s,\"compared\":%llu,"
		"\"differ\":%llu,\"not_emulated\":%llu,\"types\":[",
		c->ran ? "true" : "false", (unsigned long long)c->compared,
		(unsigned long long)c->differ, (unsigned long long)c->not_emulated);
	for (size_t i = 0; i < c->diffs.len; i++) {
		const struct pcc_traversal_diff *d = &c->diffs.data[i];
		fprintf(out, "%s{\"type\":", i ? "," : "");
		pcc_json_string(out, pcc_python_type_name(r->py,
							  pcc_python_type(r->py, d->type)));
		fprintf(out, ",\"kind\":\"%s\",\"objects\":%llu,\"example\":\"0x%llx\","
			"\"extra\":\"0x%llx\",\"missing\":\"0x%llx\"}",
			pcc_kind_name((enum pcc_kind)d->kind),
			(unsigned long long)d->objects, (unsigned long long)d->example,
			(unsigned long long)d->extra, (unsigned long long)d->missing);
	}
	fputs("]}", out);
}

void pcc_report_json(const struct pcc_report *r, FILE *out)
{
	const struct pcc_heap *h = r->heap;
	fprintf(out, "{\"schema_version\":%d,", SCHEMA_VERSION);
	json_target(r, out);
	fputc(',', out);
	json_gc(r, out);
	fprintf(out, ",\"heap\":{\"tracked\":%u,\"partial_objects\":%llu,"
		"\"unreadable_objects\":%llu,\"unknown_types\":", h->n,
		(unsigned long long)h->partial_objects,
		(unsigned long long)h->unreadable_objects);
	json_counts(r, out, &h->unknown_types, SIZE_MAX);
	fputs(",\"undecided_types\":", out);
	json_counts(r, out, &h->undecided_types, SIZE_MAX);
	json_emulation(r, out);
	fputs("},\"type_histogram\":", out);
	json_counts(r, out, &h->type_histogram, 100);
	json_check(r, out);
	fputc(',', out);
	json_unreachable(r, out);
	fputc(',', out);
	json_files(r, out);
	fputs(",\"warnings\":[", out);
	size_t k = 0;
	for (size_t i = 0; i < r->t->warnings.len; i++, k++) {
		if (k)
			fputc(',', out);
		pcc_json_string(out, r->t->warnings.data[i]);
	}
	for (size_t i = 0; i < h->warnings.len; i++, k++) {
		if (k)
			fputc(',', out);
		pcc_json_string(out, h->warnings.data[i]);
	}
	fprintf(out, "],\"complete\":%s}\n", h->complete ? "true" : "false");
}

struct referents_ctx {
	FILE *out;
	bool first;
};

static bool visit_print(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	(void)e;
	struct referents_ctx *c = ctx;
	fprintf(c->out, "%s\"0x%llx\"", c->first ? "" : ",",
		(unsigned long long)ref);
	c->first = false;
	return false;
}

void pcc_report_referents(const struct pcc_report *r, FILE *out)
{
	const struct pcc_heap *h = r->heap;
	for (uint32_t i = 0; i < h->n; i++) {
		uint64_t addr = h->addrs[i];
		fputs("{\"addr\":", out);
		json_addr(out, addr);
		fputs(",\"type\":", out);
		pcc_json_string(out, type_name(r, pcc_python_ob_type(r->py, addr)));
		struct referents_ctx c = { out, true };
		fputs(",\"referents\":[", out);
		bool partial;
		enum pcc_kind kind = pcc_python_traverse(r->py, addr, visit_print,
							 &c, false, &partial);
		fprintf(out, "],\"kind\":\"%s\",\"partial\":%s}\n",
			pcc_kind_name(kind), partial ? "true" : "false");
	}
}
