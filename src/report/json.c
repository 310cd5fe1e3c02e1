/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "../util/utf8.h"

enum { SCHEMA_VERSION = 2 };

void pcc_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	fputc('"', out);
	while (n) {
		/* A run of bytes that need no escape, written at once. */
		size_t run = 0;
		while (run < n && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"'
		       && p[run] != '\\')
			run++;
		if (run) {
			fwrite(p, 1, run, out);
			p += run;
			n -= run;
			continue;
		}
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
	/* As "0x%llx" prints it, without printf's parsing: a report has an
	 * address for every unreachable object. */
	char buf[2 + 2 + 16 + 1], *end = buf + sizeof(buf), *p = end;
	*--p = '"';
	do {
		*--p = "0123456789abcdef"[addr & 15];
		addr >>= 4;
	} while (addr);
	*--p = 'x';
	*--p = '0';
	*--p = '"';
	fwrite(p, 1, (size_t)(end - p), out);
}

static void json_string_or_null(FILE *out, const char *s)
{
	if (s)
		pcc_json_string(out, s);
	else
		fputs("null", out);
}

static void json_target(const struct pcc_result *r, FILE *out)
{
	const struct pcc_origin *o = &r->origin;
	fputs("\"target\":{\"core\":", out);
	json_string_or_null(out, o->core_path);
	fputs(",\"compression\":", out);
	json_string_or_null(out, o->compression);
	fprintf(out, ",\"pid\":%d,\"signal\":%d,\"live\":%s", o->pid, o->signal,
		o->live ? "true" : "false");
	if (o->live)
		fprintf(out, ",\"pause_seconds\":%.6f,\"threads\":%u",
			o->pause_seconds, o->threads);
	fputs(",\"executable\":", out);
	pcc_json_string(out, o->executable);
	fputs(",\"python_version\":", out);
	pcc_json_string(out, o->python_version);
	fputs(",\"python_module\":", out);
	pcc_json_string(out, o->python_module);
	fputs(",\"layout_source\":", out);
	char *src = o->layout_source
			    ? pcc_xstrdup(o->layout_source)
			    : pcc_xasprintf("DWARF: %s",
					    o->dwarf_source ? o->dwarf_source : "?");
	pcc_json_string(out, src);
	free(src);
	fputs("}", out);
}

static void json_counts(FILE *out, const struct pcc_result_count_vec *v,
			size_t max)
{
	fputc('[', out);
	for (size_t i = 0; i < v->len && i < max; i++) {
		fputs(i ? ",{\"type\":" : "{\"type\":", out);
		pcc_json_string(out, v->data[i].type);
		fprintf(out, ",\"count\":%llu}",
			(unsigned long long)v->data[i].count);
	}
	fputc(']', out);
}

static void json_type_totals(FILE *out, const struct pcc_result_type_total_vec *v)
{
	fputc('[', out);
	for (size_t i = 0; i < v->len; i++) {
		const struct pcc_result_type_total *t = &v->data[i];
		fputs(i ? ",{\"type\":" : "{\"type\":", out);
		pcc_json_string(out, t->type);
		fputs(",\"type_addr\":", out);
		json_addr(out, t->type_addr);
		fprintf(out, ",\"count\":%llu,\"tracked\":%llu,\"bytes\":%llu,"
			"\"bytes_exact\":%s}", (unsigned long long)t->count,
			(unsigned long long)t->tracked, (unsigned long long)t->bytes,
			t->bytes_exact ? "true" : "false");
	}
	fputc(']', out);
}

static void json_ints(FILE *out, const int *v, int n)
{
	fputc('[', out);
	for (int i = 0; i < n; i++)
		fprintf(out, "%s%d", i ? "," : "", v[i]);
	fputc(']', out);
}

/* A field of the collector's state, null when it is unknown (absent from
 * the version, or not found in a stripped interpreter). */
static void json_gc_field(FILE *out, const struct pcc_result_gc *g,
			  unsigned field, const char *key, const char *value)
{
	fprintf(out, ",\"%s\":%s", key, g->known & field ? value : "null");
}

static void json_strings(FILE *out, const struct pcc_string_vec *v, size_t *k)
{
	for (size_t i = 0; i < v->len; i++, (*k)++) {
		if (*k)
			fputc(',', out);
		pcc_json_string(out, v->data[i]);
	}
}

static void json_gc(const struct pcc_result *r, FILE *out)
{
	fputs("\"gc\":{\"interpreters\":[", out);
	for (size_t i = 0; i < r->ngcs; i++) {
		const struct pcc_result_gc *g = &r->gcs[i];
		char num[32];
		fprintf(out, "%s{\"id\":%lld", i ? "," : "",
			(long long)g->interp_id);
		json_gc_field(out, g, PCC_RESULT_GC_ENABLED, "enabled",
			      g->enabled ? "true" : "false");
		fputs(",\"thresholds\":", out);
		json_ints(out, g->thresholds, 3);
		fputs(",\"counts\":", out);
		json_ints(out, g->counts, 3);
		fputs(",\"garbage_types\":", out);
		json_counts(out, &g->garbage_types, 20);
		json_gc_field(out, g, PCC_RESULT_GC_COLLECTING, "collecting",
			      g->collecting ? "true" : "false");
		snprintf(num, sizeof(num), "%d", g->debug);
		json_gc_field(out, g, PCC_RESULT_GC_DEBUG, "debug", num);
		snprintf(num, sizeof(num), "%lld", (long long)g->garbage);
		json_gc_field(out, g, PCC_RESULT_GC_GARBAGE, "garbage", num);
		snprintf(num, sizeof(num), "%lld", (long long)g->callbacks);
		json_gc_field(out, g, PCC_RESULT_GC_CALLBACKS, "callbacks", num);
		fprintf(out, ",\"frozen\":%llu}", (unsigned long long)g->frozen);
	}
	fputs("],\"diagnoses\":[", out);
	size_t k = 0;
	json_strings(out, &r->diagnoses, &k);
	fputs("]}", out);
}

static void json_files(const struct pcc_result *r, FILE *out)
{
	fprintf(out, "\"leaked_files\":%llu,\"files\":[",
		(unsigned long long)r->leaked_files);
	for (size_t i = 0; i < r->nfiles; i++) {
		const struct pcc_result_file *f = &r->files[i];
		fputs(i ? ",{\"addr\":" : "{\"addr\":", out);
		json_addr(out, f->addr);
		fputs(",\"type\":", out);
		pcc_json_string(out, f->type);
		fprintf(out, ",\"kind\":\"%s\",\"fd\":%d,\"name\":",
			f->socket ? "socket" : "file", f->fd);
		json_string_or_null(out, f->name);
		fputs(",\"mode\":", out);
		pcc_json_string(out, f->mode);
		fprintf(out, ",\"closefd\":%s,\"reachable\":%s,\"leaked\":%s,"
			"\"tracked\":%s,\"same_path\":%u,\"holder\":",
			f->closefd ? "true" : "false",
			f->reachable ? "true" : "false", f->leaked ? "true" : "false",
			f->tracked ? "true" : "false", f->same_path);
		json_string_or_null(out, f->holder);
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

static void json_unreachable(const struct pcc_result *r, FILE *out)
{
	fprintf(out, "\"unreachable\":{\"count\":%u,\"objects\":[",
		r->nunreachable);
	for (uint32_t i = 0; i < r->nunreachable; i++) {
		const struct pcc_result_object *o = &r->unreachable[i];
		fputs(i ? ",{\"addr\":" : "{\"addr\":", out);
		json_addr(out, o->addr);
		fputs(",\"type\":", out);
		pcc_json_string(out, o->type);
		if (o->group)
			fprintf(out, ",\"group\":%u}", o->group);
		else
			fputs(",\"group\":null}", out);
	}
	fputs("],\"groups\":[", out);
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct pcc_result_group *g = &r->groups[i];
		fprintf(out, "%s{\"id\":%u,\"fingerprint\":\"%s\",\"signature\":",
			i ? "," : "", g->id, g->fingerprint);
		pcc_json_string(out, g->signature);
		fprintf(out, ",\"cycles\":%u,\"objects\":%llu,\"bytes\":%llu,"
			"\"objects_per_cycle\":%u,\"types\":", g->cycles,
			(unsigned long long)g->objects, (unsigned long long)g->bytes,
			g->objects_per_cycle);
		json_counts(out, &g->types, SIZE_MAX);
		fputs(",\"example\":[", out);
		for (uint32_t j = 0; j < g->loop_len; j++) {
			const struct pcc_result_node *n = &g->loop[j];
			fputs(j ? ",{\"addr\":" : "{\"addr\":", out);
			json_addr(out, n->addr);
			fputs(",\"type\":", out);
			pcc_json_string(out, n->type);
			fputs(",\"edge\":", out);
			pcc_json_string(out, n->edge);
			fputc('}', out);
		}
		fputs("]}", out);
	}
	fputs("]}", out);
}

static void json_emulation(const struct pcc_result *r, FILE *out)
{
	const struct pcc_result_emulation *e = &r->emulation;
	fprintf(out, ",\"emulation\":{\"built\":%s,\"ran\":%s,\"unavailable\":",
		e->built ? "true" : "false",
		e->needed && !e->unavailable ? "true" : "false");
	json_string_or_null(out, e->unavailable);
	/* No time or instruction counts: the JSON of a core is the same on
	 * every run (--stats has them). */
	fprintf(out, ",\"objects\":%llu,\"types\":%llu,\"fallbacks\":[",
		(unsigned long long)e->objects, (unsigned long long)e->types);
	for (size_t i = 0; i < e->fallbacks.len; i++) {
		const struct pcc_result_fallback *f = &e->fallbacks.data[i];
		fprintf(out, "%s{\"type\":", i ? "," : "");
		pcc_json_string(out, f->type);
		fprintf(out, ",\"count\":%llu,\"reason\":",
			(unsigned long long)f->count);
		pcc_json_string(out, f->reason);
		fprintf(out, ",\"example\":\"0x%llx\"}", (unsigned long long)f->example);
	}
	fputs("]}", out);
}

static void json_check(const struct pcc_result *r, FILE *out)
{
	const struct pcc_result_check *c = &r->check;
	if (!c->requested)
		return;
	fprintf(out, ",\"traversal_check\":{\"ran\":%s,\"compared\":%llu,"
		"\"differ\":%llu,\"not_emulated\":%llu,\"types\":[",
		c->ran ? "true" : "false", (unsigned long long)c->compared,
		(unsigned long long)c->differ, (unsigned long long)c->not_emulated);
	for (size_t i = 0; i < c->diffs.len; i++) {
		const struct pcc_result_diff *d = &c->diffs.data[i];
		fprintf(out, "%s{\"type\":", i ? "," : "");
		pcc_json_string(out, d->type);
		fprintf(out, ",\"kind\":\"%s\",\"objects\":%llu,\"example\":\"0x%llx\","
			"\"extra\":\"0x%llx\",\"missing\":\"0x%llx\"}", d->kind,
			(unsigned long long)d->objects, (unsigned long long)d->example,
			(unsigned long long)d->extra, (unsigned long long)d->missing);
	}
	fputs("]}", out);
}

void pcc_report_json(const struct pcc_result *r, FILE *out)
{
	fprintf(out, "{\"schema_version\":%d,", SCHEMA_VERSION);
	json_target(r, out);
	fputc(',', out);
	json_gc(r, out);
	fprintf(out, ",\"heap\":{\"tracked\":%llu,\"objects\":%llu,\"bytes\":%llu,"
		"\"bytes_lower_bound\":%llu,\"partial_objects\":%llu,"
		"\"unreadable_objects\":%llu,\"unknown_types\":",
		(unsigned long long)r->tracked, (unsigned long long)r->objects,
		(unsigned long long)r->bytes, (unsigned long long)r->bytes_bound,
		(unsigned long long)r->partial_objects,
		(unsigned long long)r->unreadable_objects);
	json_counts(out, &r->unknown_types, SIZE_MAX);
	fputs(",\"undecided_types\":", out);
	json_counts(out, &r->undecided_types, SIZE_MAX);
	fputs(",\"untracked_unknown_types\":", out);
	json_counts(out, &r->untracked_unknown_types, SIZE_MAX);
	json_emulation(r, out);
	fputs("},\"type_histogram\":", out);
	json_type_totals(out, &r->type_histogram);
	json_check(r, out);
	fputc(',', out);
	json_unreachable(r, out);
	fputc(',', out);
	json_files(r, out);
	fputs(",\"warnings\":[", out);
	size_t k = 0;
	json_strings(out, &r->origin.warnings, &k);
	json_strings(out, &r->warnings, &k);
	fprintf(out, "],\"complete\":%s}\n", r->complete ? "true" : "false");
}

void pcc_report_referents(struct pcc_heap *h, FILE *out)
{
	struct pcc_result_referents refs = { 0 };
	uint32_t n = pcc_heap_objects(h);
	for (uint32_t i = 0; i < n; i++) {
		pcc_heap_referents(h, i, &refs);
		fputs("{\"addr\":", out);
		json_addr(out, refs.addr);
		fputs(",\"type\":", out);
		pcc_json_string(out, refs.type);
		fputs(",\"referents\":[", out);
		for (size_t k = 0; k < refs.refs.len; k++) {
			if (k)
				fputc(',', out);
			json_addr(out, refs.refs.data[k]);
		}
		fputs("],\"keys\":[", out);
		for (size_t k = 0; k < refs.keys.len; k++) {
			if (k)
				fputc(',', out);
			json_addr(out, refs.keys.data[k]);
		}
		fprintf(out, "],\"kind\":\"%s\",\"partial\":%s,\"bytes\":%llu,"
			"\"bytes_exact\":%s,\"tracked\":%s,\"frozen\":%s}\n", refs.kind,
			refs.partial ? "true" : "false",
			(unsigned long long)refs.bytes,
			refs.bytes_exact ? "true" : "false",
			refs.tracked ? "true" : "false", refs.frozen ? "true" : "false");
	}
	pcc_u64_vec_free(&refs.refs);
	pcc_u64_vec_free(&refs.keys);
}
