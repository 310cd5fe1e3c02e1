/* SPDX-License-Identifier: MIT */
/*
 * Edge labels as text, read from the target while the results are built:
 * the report never reads the target.
 */
#include "config.h"

#include <stdlib.h>

#include "edge_text.h"
#include "interpreter.h"
#include "strings.h"

char *pcc_python_edge_text(struct pcc_python *py, const struct pcc_edge *e,
			   bool stable)
{
	char *k, *s;
	switch (e->label) {
	case PCC_EDGE_MEMBER:
		return e->name && e->name[0] == '<' ? pcc_xasprintf(" %s", e->name)
						    : pcc_xasprintf(".%s", e->name);
	case PCC_EDGE_INDEX:
		return pcc_xasprintf("[%lld]", (long long)e->index);
	case PCC_EDGE_LOCAL:
		k = e->key ? pcc_python_str(py, e->key, 60) : NULL;
		s = k ? pcc_xasprintf(".f_locals['%s']", k)
		      : pcc_xasprintf(".f_localsplus[%lld]", (long long)e->index);
		free(k);
		return s;
	case PCC_EDGE_DICT_VALUE:
		if (!e->key)
			return pcc_xasprintf("[%lld]", (long long)e->index);
		k = pcc_python_key_repr(py, e->key);
		s = pcc_xasprintf("[%s]", k);
		free(k);
		return s;
	case PCC_EDGE_DICT_KEY:
		k = pcc_python_key_repr(py, e->key);
		s = pcc_xasprintf(" <key %s>", k);
		free(k);
		return s;
	case PCC_EDGE_ATTR:
		/* Written as the dict would be, so that 3.11+ inline values and
		 * older instance dicts read (and fingerprint) the same. */
		if (!e->key)
			return pcc_xasprintf(".__dict__[%lld]", (long long)e->index);
		k = pcc_python_key_repr(py, e->key);
		s = pcc_xasprintf(".__dict__[%s]", k);
		free(k);
		return s;
	case PCC_EDGE_SLOT:
		k = pcc_target_read_cstr(py->t, e->key, 100);
		s = pcc_xasprintf(".%s", k ? k : "<slot>");
		free(k);
		return s;
	case PCC_EDGE_DICT:
		return pcc_xstrdup(".__dict__");
	case PCC_EDGE_TYPE:
		return pcc_xstrdup(".__class__");
	case PCC_EDGE_OFFSET:
		k = e->key ? pcc_target_read_cstr(py->t, e->key, 100) : NULL;
		s = k ? pcc_xasprintf(".%s", k)
		    : e->name && !stable ? pcc_xasprintf(".%s", e->name)
		    : e->index >= 0 ? pcc_xasprintf("+0x%llx", (unsigned long long)e->index)
				    : pcc_xstrdup(" <referent>");
		free(k);
		return s;
	}
	return pcc_xstrdup(".?");
}
