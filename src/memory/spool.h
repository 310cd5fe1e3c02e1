/* SPDX-License-Identifier: MIT */
/*
 * Core input that cannot be mmapped as it is: a compressed core (zstd, lz4,
 * xz, gzip: recognised by their magic bytes, never by the file name) or a
 * core on a pipe (standard input).  It is streamed through a fixed buffer
 * into an anonymous temporary file (O_TMPFILE in $TMPDIR, else an unlinked
 * file there, else memfd_create), which is then mmapped like a plain core:
 * pycorecheck's own memory stays bounded, the page cache holds the bytes.
 */
#ifndef PCC_SPOOL_H
#define PCC_SPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/error.h"

enum pcc_compression {
	PCC_COMPRESSION_NONE,
	PCC_COMPRESSION_ZSTD,
	PCC_COMPRESSION_LZ4,
	PCC_COMPRESSION_XZ,
	PCC_COMPRESSION_GZIP,
};

/* "none", "zstd", "lz4", "xz", "gzip". */
const char *pcc_compression_name(enum pcc_compression c);

/* Which compression the first len bytes of a file announce. */
enum pcc_compression pcc_compression_detect(const uint8_t *magic, size_t len);

struct pcc_core_input {
	int fd;             /* a seekable file with the core's bytes */
	enum pcc_compression compression;
	bool spooled;       /* fd is a temporary file */
	uint64_t size;      /* of the (decompressed) core */
	/* Set when the compressed stream ended early or was corrupt: what
	 * happened, for a warning (the bytes before it are in fd).  Owned. */
	char *damage;
};

/*
 * Open the core at path ("-": standard input).  name: how to call it in
 * messages.  A plain regular file is returned as it is; anything else is
 * spooled.  Errors: PCC_ERROR_OS (cannot open, cannot write the temporary
 * file), PCC_ERROR_INPUT (empty, a directory, a compressed stream with
 * nothing usable in it), PCC_ERROR_UNSUPPORTED (built without the library
 * for its compression).
 */
struct pcc_error *pcc_core_input_open(const char *path, const char *name,
				      struct pcc_core_input *ret);
/* Close the fd (not standard input) and free what it holds. */
void pcc_core_input_close(struct pcc_core_input *in);

#endif
