/* SPDX-License-Identifier: MIT */
/*
 * Rendering of an analysis: text for people, JSON for pipelines, Graphviz
 * for pictures.  They read results (analysis/result.h) and nothing else:
 * nothing here computes or reads the target; strings from it are escaped.
 */
#ifndef PCC_REPORT_H
#define PCC_REPORT_H

#include <stdio.h>

#include "../analysis/result.h"
#include "../util/error.h"

/* top: the types the memory section lists by bytes and by count (0:
 * no memory section). */
void pcc_report_text(const struct pcc_result *r, unsigned top, FILE *out);
void pcc_report_json(const struct pcc_result *r, FILE *out);
/* One DOT file per group in dir; an error if dir cannot be written. */
struct pcc_error *pcc_report_dot(const struct pcc_result *r, const char *dir);
/* The referents of every object of the memory graph, the tracked ones
 * first, one JSON object per line. */
void pcc_report_referents(struct pcc_heap *h, FILE *out);

/* JSON string literal, escaped. */
void pcc_json_string(FILE *out, const char *s);

#endif
