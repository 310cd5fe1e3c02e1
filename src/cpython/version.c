/* SPDX-License-Identifier: MIT */
/*
 * Which CPython this is: Py_Version (3.11+), else sys.version read from the
 * first interpreter's sys dict.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interpreter.h"
#include "strings.h"
#include "traverse.h"
#include "version.h"

static bool visit_sysdict(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	struct pcc_python *py = ctx;
	if (py->version[0] || !e || e->label != PCC_EDGE_DICT_VALUE || !e->key)
		return false;
	char *key = pcc_python_str(py, e->key, 16);
	if (key && strcmp(key, "version") == 0) {
		char *v = pcc_python_str(py, ref, 64);
		if (v) {
			snprintf(py->version, sizeof(py->version), "%s", v);
			char *sp = strchr(py->version, ' ');
			if (sp)
				*sp = 0;
		}
		free(v);
	}
	free(key);
	return py->version[0] != 0;
}

struct pcc_error *pcc_python_find_version(struct pcc_python *py,
					  uint64_t first_interp)
{
	uint64_t addr = pcc_debuginfo_symbol(py->di, "Py_Version", NULL), hex;
	if (addr && pcc_target_read_u64(py->t, addr, &hex)) {
		hex &= 0xffffffffu;
		py->major = (int)(hex >> 24) & 0xff;
		py->minor = (int)(hex >> 16) & 0xff;
		py->micro = (int)(hex >> 8) & 0xff;
		snprintf(py->version, sizeof(py->version), "%d.%d.%d",
			 py->major, py->minor, py->micro);
		return NULL;
	}
	uint64_t sysdict = 0;
	if (first_interp && pcc_layout_has(&py->l, PCC_L_INTERP_SYSDICT))
		pcc_target_read_u64(py->t,
				    first_interp + py->l.off[PCC_L_INTERP_SYSDICT],
				    &sysdict);
	if (sysdict)
		pcc_python_traverse(py, sysdict, visit_sysdict, py, true, NULL);
	if (sscanf(py->version, "%d.%d.%d", &py->major, &py->minor,
		   &py->micro) != 3)
		return pcc_error_create(PCC_ERROR_BAD_DATA,
					"cannot determine the Python version: "
					"neither Py_Version nor sys.version is "
					"readable");
	return NULL;
}

/* An int of the target at addr into *ret (-1 when unreadable). */
