/* SPDX-License-Identifier: MIT */
/*
 * The target: the address space of the inspected process as host memory.
 *
 * Every readable range of the target is a segment whose bytes are in host
 * memory (the mmapped core, an mmapped file on disk that backs what the core
 * left out, or, for a live process, a copy taken while it was stopped), so a
 * read is a lookup plus a pointer: no syscall and no copy on the hot path.
 * Segments are sorted by address and do not overlap.
 */
#ifndef PCC_MEMORY_H
#define PCC_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <libelf.h>

#include "../util/error.h"
#include "../util/progress.h"
#include "../util/vec.h"
#include "../util/warnings.h"
#include "mapped_files.h"

enum pcc_segment_source {
	PCC_SEGMENT_CORE,
	PCC_SEGMENT_FILE,   /* read-only file mapping left out of the core */
	PCC_SEGMENT_COPY,   /* copied from a live process */
};

struct pcc_segment {
	uint64_t start, end; /* [start, end) */
	const uint8_t *data;
	enum pcc_segment_source source;
};

PCC_VEC(pcc_segment_vec, struct pcc_segment)

struct pcc_mmap {
	void *addr;
	size_t len;
};
PCC_VEC(pcc_mmap_vec, struct pcc_mmap)

struct pcc_target {
	struct pcc_segment_vec segments;

	/* Identity of the process. */
	int pid;
	int signal;
	char *core_path;
	char *exe_path;    /* its NT_FILE mapping, else AT_EXECFN; may be NULL */
	char prog_name[17]; /* pr_fname */
	char *cmdline;     /* pr_psargs */
	uint64_t auxv_phdr, auxv_phnum, auxv_entry, auxv_execfn;

	/* What it maps from files, and where those are found here. */
	struct pcc_mapped_files files;
	/* --ignore-build-id: use mismatching files anyway, with a warning. */
	bool ignore_build_id;
	/* pcc_core_options.must_match */
	const char *const *must_match;
	/* "none", or how the core file was compressed. */
	const char *compression;
	/* Why the core is incomplete (a truncated file or compressed stream),
	 * or NULL: said with any error that follows. */
	char *damage;

	/* The core as an Elf handle for libdwfl; NULL for a live process. */
	Elf *core_elf;
	int core_fd;
	struct pcc_mmap_vec maps;

	/* Reading ahead into the page tables (prefault.h), or NULL; then,
	 * per segment of the first nsegments_read, set once it is read. */
	struct pcc_prefault *prefault;
	uint8_t *segments_read;
	size_t nsegments_read;

	/* Non-fatal problems found reading it, for the report. */
	struct pcc_warnings warnings;
	uint64_t missing_bytes; /* memory the core claims but does not hold */
	/* The thread pointer (%fs) of the first thread, 0 if unknown: what
	 * emulated code finds thread-local variables through. */
	uint64_t fs_base;

	/* Live process (pcc_target_open_live); all zero for a core. */
	bool live;
	double pause_seconds;      /* how long the target was stopped */
	unsigned live_threads;     /* threads stopped and read */
	unsigned stopped_before;   /* of those, already stopped (state T) */
	uint64_t copied_bytes;     /* memory copied while it was stopped */
};

/*
 * Open an ELF core file.  Errors: PCC_ERROR_OS (cannot open),
 * PCC_ERROR_INPUT (not ELF, not a core).
 */
struct pcc_error *pcc_target_open_core(const char *path, const char *sysroot,
				       struct pcc_target **ret);

struct pcc_core_options {
	/* Find the core's mapped files under this directory (may be NULL). */
	const char *sysroot;
	/* The main executable, wherever the core says it was (may be NULL). */
	const char *executable;
	/* Besides the executable, the files whose build id must match the
	 * core's: the start of their base names ("libpython"), NULL-ended
	 * (may be NULL; must outlive the target). */
	const char *const *must_match;
	/* A mismatching build id of those is a warning, not an error. */
	bool ignore_build_id;
	/* Map the pages of the segments being read on a second thread,
	 * ahead of the reads (prefault.h): when a second CPU is there. */
	bool prefault;
};

/*
 * The same with every option.  path "-" reads standard input.  A core
 * compressed with zstd, lz4, xz or gzip is decompressed first (see spool.h).
 * The executable and the must_match files must match the build ids the
 * core records: else PCC_ERROR_INPUT naming both, unless ignore_build_id.
 */
struct pcc_error *pcc_target_open_core_with(const char *path,
					    const struct pcc_core_options *opts,
					    struct pcc_target **ret);
/*
 * Stop a live process (PTRACE_SEIZE + PTRACE_INTERRUPT of every thread),
 * copy its writable and anonymous memory, map its read-only files, and
 * detach before returning, on every path: errors, and SIGINT, SIGTERM,
 * SIGHUP, SIGPIPE, SIGQUIT while it is stopped (they detach, then take their
 * default action).  Threads that were stopped before stay stopped.  Not
 * reentrant (the seized threads are kept in static storage for the signal
 * handlers).  Errors: PCC_ERROR_INPUT (no such process, exited while read,
 * already traced), PCC_ERROR_OS (permission denied, ...).
 */
struct pcc_error *pcc_target_open_live(pid_t pid, struct pcc_progress *progress,
				       struct pcc_target **ret);
void pcc_target_destroy(struct pcc_target *t);

/* Map a whole regular file read-only for the target's lifetime (unmapped by
 * pcc_target_destroy); NULL if it is not a non-empty regular file. */
const void *pcc_target_map_file(struct pcc_target *t, int fd, size_t *size);

/* The target in messages: the core's path, or "process 123 (python3)".
 * Owned by the caller. */
char *pcc_target_name(const struct pcc_target *t);

/* Add a warning for the report; a warning already given is dropped. */
void pcc_target_warn(struct pcc_target *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Open a file that a core or a process names (hostile input): without
 * blocking on a FIFO or a device (O_NONBLOCK, cleared once open), and only
 * if it is a regular file.  Returns the fd, or -1 with errno set (EINVAL
 * for a file that is not regular: a FIFO, a device, a directory).
 */
int pcc_target_open_regular(const char *path);

/*
 * The segment of this thread's last lookup: only a hint, checked before
 * use (whatever target it came from), so that threads reading one target
 * share no written state.
 */
extern _Thread_local size_t pcc_target_hint;

/* Slow path of pcc_target_ptr: binary search, then keep the hint. */
const struct pcc_segment *pcc_target_find_segment(struct pcc_target *t,
						  uint64_t addr);

/*
 * Host pointer to len bytes at addr, or NULL when any of them is unreadable
 * or the range crosses a segment boundary (objects never do).
 */
static inline const void *pcc_target_ptr(struct pcc_target *t, uint64_t addr,
					 size_t len)
{
	size_t hint = pcc_target_hint;
	if (hint >= t->segments.len)
		hint = 0;
	if (t->segments.len == 0)
		return NULL;
	const struct pcc_segment *s = &t->segments.data[hint];
	if (addr < s->start || addr >= s->end) {
		s = pcc_target_find_segment(t, addr);
		if (!s)
			return NULL;
	}
	if (len > s->end - addr)
		return NULL;
	return s->data + (addr - s->start);
}

/* Copy len bytes; false if any byte is unreadable.  May cross segments. */
bool pcc_target_read(struct pcc_target *t, uint64_t addr, void *buf,
		     size_t len);

static inline bool pcc_target_read_u64(struct pcc_target *t, uint64_t addr,
				       uint64_t *ret)
{
	const void *p = pcc_target_ptr(t, addr, 8);
	if (!p)
		return false;
	memcpy(ret, p, 8);
	return true;
}

static inline bool pcc_target_read_u32(struct pcc_target *t, uint64_t addr,
				       uint32_t *ret)
{
	const void *p = pcc_target_ptr(t, addr, 4);
	if (!p)
		return false;
	memcpy(ret, p, 4);
	return true;
}

/*
 * Read a NUL-terminated string of at most max bytes (without the NUL) into a
 * new buffer.  Returns NULL when unreadable; a string longer than max is
 * truncated.
 */
char *pcc_target_read_cstr(struct pcc_target *t, uint64_t addr, size_t max);

#endif
