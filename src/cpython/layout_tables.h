/* SPDX-License-Identifier: MIT */
/*
 * Layouts of known interpreter builds, for cores whose interpreter has no
 * DWARF (distribution builds without their debug package).  The text is
 * pcc_layout_parse's format; which entry fits a core is decided by checking
 * it against the core, never by version number alone.
 */
#ifndef PCC_LAYOUT_TABLES_H
#define PCC_LAYOUT_TABLES_H

#include <stdbool.h>
#include <stddef.h>

struct pcc_builtin_layout {
	int major, minor, micro;
	bool debug_build;
	const char *source;
	const char *layout;
};

extern const struct pcc_builtin_layout pcc_builtin_layouts[];
extern const size_t pcc_builtin_layouts_count;

#endif
