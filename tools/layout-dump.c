/* SPDX-License-Identifier: MIT */
/*
 * Print the layout pycorecheck reads from ELF files' DWARF (a libpython,
 * an interpreter, its separate debug file, or a probe object compiled from
 * a version's headers), in the text form of the built-in tables.
 *
 *   layout-dump FILE [EXTENSION...]
 *
 * Further files are read after the first as pycorecheck reads the loaded
 * extension modules (2.7 keeps _io, _collections and _functools out of
 * libpython): a struct the first file defines wins.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "cpython/layout.h"

enum { MAX_FILES = 16 };

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 1 + MAX_FILES) {
		fputs("usage: layout-dump ELF-FILE-WITH-DWARF [EXTENSION...]\n",
		      stderr);
		return 2;
	}
	Dwarf *dwarfs[MAX_FILES];
	int fds[MAX_FILES];
	size_t n = 0;
	for (int i = 1; i < argc; i++, n++) {
		fds[n] = open(argv[i], O_RDONLY);
		if (fds[n] < 0) {
			perror(argv[i]);
			return 3;
		}
		dwarfs[n] = dwarf_begin(fds[n], DWARF_C_READ);
		if (!dwarfs[n]) {
			fprintf(stderr, "%s: %s\n", argv[i], dwarf_errmsg(-1));
			return 3;
		}
	}
	struct pcc_layout l;
	struct pcc_error *err = pcc_layout_from_dwarf_handles(dwarfs, n, argv[1], &l);
	if (err) {
		pcc_error_fwrite(err, stderr);
		return 3;
	}
	pcc_layout_format(&l, stdout);
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		dwarf_end(dwarfs[i]);
		close(fds[i]);
	}
	return 0;
}
