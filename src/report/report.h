/* SPDX-License-Identifier: MIT */
/*
 * Rendering of an analysis: text for people, JSON for pipelines, Graphviz
 * for pictures.  Nothing here computes; strings from the target are escaped.
 */
#ifndef PCC_REPORT_H
#define PCC_REPORT_H

#include <stdio.h>

#include "../analysis/heap.h"

struct pcc_report {
	struct pcc_target *t;
	struct pcc_debuginfo *di;
	struct pcc_python *py;
	struct pcc_heap *heap;
	/* --check-traversals, or NULL. */
	const struct pcc_traversal_check *check;
};

void pcc_report_text(const struct pcc_report *r, FILE *out);
void pcc_report_json(const struct pcc_report *r, FILE *out);
/* One DOT file per group in dir; an error if dir cannot be written. */
struct pcc_error *pcc_report_dot(const struct pcc_report *r, const char *dir);
/* Every tracked object's referents, one JSON object per line. */
void pcc_report_referents(const struct pcc_report *r, FILE *out);

/* JSON string literal, escaped. */
void pcc_json_string(FILE *out, const char *s);

#endif
