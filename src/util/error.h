/* SPDX-License-Identifier: MIT */
/*
 * Errors: a fallible function returns struct pcc_error *, NULL meaning
 * success, and leaves its result in a trailing out-parameter.  Running out of
 * memory uses a static error so that reporting it never allocates.
 */
#ifndef PCC_ERROR_H
#define PCC_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum pcc_error_code {
	PCC_ERROR_NO_MEMORY = 1,
	/* A system call failed: errno and the path are kept. */
	PCC_ERROR_OS,
	/* An address of the target is not readable. */
	PCC_ERROR_FAULT,
	/* The target or its debug info contradicts itself. */
	PCC_ERROR_BAD_DATA,
	/* A symbol, type or member is missing. */
	PCC_ERROR_LOOKUP,
	/* A layout or build we refuse to guess about (free-threaded, ...). */
	PCC_ERROR_UNSUPPORTED,
	PCC_ERROR_INVALID_ARGUMENT,
	/* Not a core, not Python, no debug info: the input is of the wrong kind. */
	PCC_ERROR_INPUT,
};

struct pcc_error {
	enum pcc_error_code code;
	int errnum;
	uint64_t address;
	char *message;
	/* What the user can do about it; may be NULL. */
	char *hint;
};

extern struct pcc_error pcc_enomem;

struct pcc_error *pcc_error_create(enum pcc_error_code code, const char *fmt,
				   ...)
	__attribute__((format(printf, 2, 3), returns_nonnull));
/* errno is taken from the caller's errno at the moment of the call. */
struct pcc_error *pcc_error_os(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), returns_nonnull));
struct pcc_error *pcc_error_fault(uint64_t address, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), returns_nonnull));
/* Attach advice to an error; returns err for chaining. */
struct pcc_error *pcc_error_hint(struct pcc_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), returns_nonnull));
void pcc_error_destroy(struct pcc_error *err);

/* "message[: strerror]", plus "; hint" when there is one. */
void pcc_error_fwrite(const struct pcc_error *err, FILE *out);

/*
 * What a library's error text (libelf, libdw, libdwfl) means, in words a
 * user can act on: "invalid `Elf' handle", "address out of range", "no
 * error" and the like are translated; other text is returned as it is,
 * NULL or "" as "reason unknown".  Static strings, or raw itself.
 */
const char *pcc_error_library_text(const char *raw);

/* Allocation helpers that never return NULL: the tool has no way to go on
 * without memory, so they print one line and exit(3). */
void *pcc_xmalloc(size_t size);
/* Once, before the first big allocation: big arrays get mappings of
 * their own (and calloc gives them untouched). */
void pcc_alloc_tune(void);
/*
 * Ask for huge pages under a big array that is read at random (the
 * snapshot's per-object arrays): in 4 KiB pages most lookups miss the TLB
 * and every 4 KiB costs a fault on first touch.  Only advice, for memory
 * from the helpers below not yet touched; small arrays are left alone.
 */
void pcc_advise_huge(void *p, size_t size);
void *pcc_xcalloc(size_t n, size_t size);
void *pcc_xrealloc(void *p, size_t size);
void *pcc_xreallocarray(void *p, size_t n, size_t size);
char *pcc_xstrdup(const char *s);
char *pcc_xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
char *pcc_xvasprintf(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));

#endif
