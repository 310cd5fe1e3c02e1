/* SPDX-License-Identifier: MIT */
/*
 * Print the layout pycorecheck reads from an ELF file's DWARF (a libpython,
 * an interpreter, its separate debug file, or a probe object compiled from
 * a version's headers), in the text form of the built-in tables.
 *
 *   layout-dump FILE
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "debuginfo/layout.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: layout-dump ELF-FILE-WITH-DWARF\n", stderr);
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 3;
	}
	Dwarf *dwarf = dwarf_begin(fd, DWARF_C_READ);
	if (!dwarf) {
		fprintf(stderr, "%s: %s\n", argv[1], dwarf_errmsg(-1));
		return 3;
	}
	struct pcc_layout l;
	struct pcc_error *err = pcc_layout_from_dwarf_handle(dwarf, argv[1], &l);
	if (err) {
		pcc_error_fwrite(err, stderr);
		return 3;
	}
	pcc_layout_format(&l, stdout);
	putchar('\n');
	dwarf_end(dwarf);
	close(fd);
	return 0;
}
