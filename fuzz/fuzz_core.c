/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the input is a core file, opened the way the CLI
 * opens one (src/cli/main.c, analyse()): the target layer
 * (pcc_target_open_core_with: compression, program headers, notes,
 * NT_FILE, the mapped files behind it), then the modules through libdwfl
 * (pcc_debuginfo_open).  With PCC_FUZZ_CORE_PYTHON=1 it goes on into
 * pcc_python_open and a bounded heap walk, which parses DWARF on every
 * run: slower, so off by default; the heap has its own harness
 * (fuzz_heap.c).
 *
 * Each input is written to one memfd, named by its /proc/self/fd path: a
 * regular file, as a core on disk is, without touching the disk.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analysis/heap.h"
#include "cpython/locate.h"
#include "cpython/python.h"
#include "debuginfo/debuginfo.h"
#include "memory/memory.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int input_fd = -1;
static char input_path[64];
static bool go_on_into_python;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Never the network: a build id the fuzzer invents must not become
	 * a debuginfod query. */
	unsetenv("DEBUGINFOD_URLS");
	const char *python = getenv("PCC_FUZZ_CORE_PYTHON");
	go_on_into_python = python && *python == '1';
	input_fd = memfd_create("pcc-fuzz-core", MFD_CLOEXEC);
	if (input_fd < 0) {
		perror("fuzz_core: memfd_create");
		exit(1);
	}
	snprintf(input_path, sizeof(input_path), "/proc/self/fd/%d", input_fd);
	return 0;
}

static bool write_input(const uint8_t *data, size_t size)
{
	if (ftruncate(input_fd, 0) < 0)
		return false;
	size_t done = 0;
	while (done < size) {
		ssize_t n = pwrite(input_fd, data + done, size - done,
				   (off_t)done);
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!write_input(data, size)) {
		perror("fuzz_core: cannot write the input to its memfd");
		abort();
	}
	struct pcc_core_options opts = { .must_match = pcc_python_library_names };
	struct pcc_debuginfo_options dopts = { 0 };
	struct pcc_target *t = NULL;
	struct pcc_error *err = pcc_target_open_core_with(input_path, &opts, &t);
	if (err) {
		pcc_error_destroy(err);
		return 0;
	}
	struct pcc_debuginfo *di = NULL;
	err = pcc_debuginfo_open(t, &dopts, &di);
	if (err) {
		pcc_error_destroy(err);
		pcc_target_destroy(t);
		return 0;
	}
	if (!go_on_into_python) {
		/* Which module is the interpreter: the search through a
		 * hostile module list. */
		err = pcc_python_locate(t, di);
		pcc_error_destroy(err);
	} else {
		struct pcc_python *py = NULL;
		err = pcc_python_open(t, di, &py);
		if (!err) {
			struct pcc_heap heap;
			pcc_heap_build(&heap, py, 100000, false, 1);
			pcc_heap_deinit(&heap);
			pcc_python_destroy(py);
		}
		pcc_error_destroy(err);
	}
	pcc_debuginfo_destroy(di);
	pcc_target_destroy(t);
	return 0;
}
