/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "origin.h"
#include "interpreter.h"

static char *dup_or_null(const char *s)
{
	return s ? pcc_xstrdup(s) : NULL;
}

void pcc_python_origin(const struct pcc_python *py, struct pcc_origin *out)
{
	const struct pcc_target *t = py->t;
	memset(out, 0, sizeof(*out));
	out->live = t->live;
	out->core_path = dup_or_null(t->core_path);
	out->compression = dup_or_null(t->compression);
	out->pid = t->pid;
	out->signal = t->signal;
	out->pause_seconds = t->pause_seconds;
	out->threads = t->live_threads;
	out->prog_name = pcc_xstrdup(t->prog_name);
	out->executable = pcc_xstrdup(t->exe_path ? t->exe_path : t->prog_name);
	out->python_version = pcc_xstrdup(py->version);
	out->python_module = py->di ? dup_or_null(py->di->module_file) : NULL;
	out->layout_source = dup_or_null(py->layout_source);
	out->dwarf_source = dup_or_null(py->l.source);
	/* Bottom up, which is also the order they were found in. */
	const struct pcc_warnings *from[] = { &t->warnings,
					      py->di ? &py->di->warnings : NULL,
					      &py->warnings };
	for (size_t k = 0; k < sizeof(from) / sizeof(from[0]); k++)
		for (size_t i = 0; from[k] && i < from[k]->list.len; i++)
			*pcc_string_vec_push(&out->warnings) =
				pcc_xstrdup(from[k]->list.data[i]);
}

void pcc_origin_deinit(struct pcc_origin *o)
{
	free(o->core_path);
	free(o->compression);
	free(o->prog_name);
	free(o->executable);
	free(o->python_version);
	free(o->python_module);
	free(o->layout_source);
	free(o->dwarf_source);
	for (size_t i = 0; i < o->warnings.len; i++)
		free(o->warnings.data[i]);
	pcc_string_vec_free(&o->warnings);
	memset(o, 0, sizeof(*o));
}
