/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"
#include "../util/utf8.h"

static void dot_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	fputc('"', out);
	while (n) {
		size_t k = pcc_utf8_sequence_len(p, n);
		if (!k) {
			/* Graphviz reads UTF-8: U+FFFD for an ill-formed byte. */
			fputs("\xef\xbf\xbd", out);
			k = 1;
		} else if (*p == '"' || *p == '\\') {
			fprintf(out, "\\%c", *p);
		} else if (*p >= 0x20 && *p != 0x7f) {
			fwrite(p, 1, k, out);
		}
		p += k;
		n -= k;
	}
	fputc('"', out);
}

struct pcc_error *pcc_report_dot(const struct pcc_result *r, const char *dir)
{
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return pcc_error_os("cannot create %s", dir);
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct pcc_result_group *g = &r->groups[i];
		char *path = pcc_xasprintf("%s/group-%u.dot", dir, g->id);
		FILE *out = fopen(path, "w");
		if (!out) {
			struct pcc_error *err = pcc_error_os("cannot write %s", path);
			free(path);
			return err;
		}
		fprintf(out, "digraph group_%u {\n  label=", g->id);
		char *title = pcc_xasprintf("group %u: %u cycles, %llu objects [%s]",
					    g->id, g->cycles,
					    (unsigned long long)g->objects,
					    g->fingerprint);
		dot_string(out, title);
		free(title);
		fputs(";\n  node [shape=box, fontname=\"monospace\"];\n", out);
		for (uint32_t j = 0; j < g->loop_len; j++) {
			char *label = pcc_xasprintf("%s\n0x%llx", g->loop[j].type,
						    (unsigned long long)g->loop[j].addr);
			fprintf(out, "  n%u [label=", j);
			dot_string(out, label);
			fputs("];\n", out);
			free(label);
		}
		for (uint32_t j = 0; j < g->loop_len; j++) {
			fprintf(out, "  n%u -> n%u [label=", j, (j + 1) % g->loop_len);
			dot_string(out, g->loop[j].edge);
			fputs("];\n", out);
		}
		fputs("}\n", out);
		bool failed = ferror(out);
		if (fclose(out) != 0 || failed) {
			struct pcc_error *err = pcc_error_os("cannot write %s", path);
			free(path);
			return err;
		}
		free(path);
	}
	return NULL;
}
