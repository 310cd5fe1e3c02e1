/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"

struct pcc_error pcc_enomem = {
	.code = PCC_ERROR_NO_MEMORY,
	.message = (char *)"out of memory",
};

static char *vformat(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static struct pcc_error *error_vcreate(enum pcc_error_code code, int errnum,
				       uint64_t address, const char *fmt,
				       va_list ap)
{
	struct pcc_error *err = calloc(1, sizeof(*err));
	if (!err)
		return &pcc_enomem;
	err->message = vformat(fmt, ap);
	if (!err->message) {
		free(err);
		return &pcc_enomem;
	}
	err->code = code;
	err->errnum = errnum;
	err->address = address;
	return err;
}

struct pcc_error *pcc_error_create(enum pcc_error_code code, const char *fmt,
				   ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct pcc_error *err = error_vcreate(code, 0, 0, fmt, ap);
	va_end(ap);
	return err;
}

struct pcc_error *pcc_error_os(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;
	va_start(ap, fmt);
	struct pcc_error *err = error_vcreate(PCC_ERROR_OS, errnum, 0, fmt, ap);
	va_end(ap);
	return err;
}

struct pcc_error *pcc_error_fault(uint64_t address, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct pcc_error *err =
		error_vcreate(PCC_ERROR_FAULT, 0, address, fmt, ap);
	va_end(ap);
	return err;
}

struct pcc_error *pcc_error_hint(struct pcc_error *err, const char *fmt, ...)
{
	if (err == &pcc_enomem)
		return err;
	va_list ap;
	va_start(ap, fmt);
	char *hint = vformat(fmt, ap);
	va_end(ap);
	if (hint) {
		free(err->hint);
		err->hint = hint;
	}
	return err;
}

void pcc_error_destroy(struct pcc_error *err)
{
	if (!err || err == &pcc_enomem)
		return;
	free(err->message);
	free(err->hint);
	free(err);
}

void pcc_error_fwrite(const struct pcc_error *err, FILE *out)
{
	fputs(err->message, out);
	if (err->code == PCC_ERROR_OS && err->errnum)
		fprintf(out, ": %s", strerror(err->errnum));
	if (err->hint)
		fprintf(out, "; %s", err->hint);
	fputc('\n', out);
}

const char *pcc_error_library_text(const char *raw)
{
	/* elfutils' texts for failures whose cause is the input file. */
	static const struct {
		const char *raw, *words;
	} table[] = {
		{ "no error", "reason unknown" },
		{ "invalid `Elf' handle", "it is not a readable ELF file" },
		{ "invalid ELF file", "it is not a readable ELF file" },
		{ "address out of range",
		  "an offset or address in it points outside the file" },
		{ "invalid section header", "a section header is damaged" },
		{ "invalid data", "its contents are damaged" },
		{ "invalid offset", "an offset in it points outside the file" },
		{ "ELF file opened", "its contents are damaged" },
		{ "file has no program header",
		  "it has no program headers" },
		{ "not a valid ELF core file", "it is not a valid ELF core file" },
		{ "invalid DWARF", "its debug info is damaged" },
		{ "invalid DWARF version",
		  "its debug info is damaged or of an unsupported DWARF version" },
		{ "no DWARF information", "it has no debug info" },
		{ "Not an ELF file - it has the wrong magic bytes at the start",
		  "it is not an ELF file" },
		{ "r_debug structure contains invalid data",
		  "its list of loaded libraries is damaged" },
	};
	if (!raw || !*raw)
		return "reason unknown";
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(raw, table[i].raw) == 0)
			return table[i].words;
	return raw;
}

static void die_enomem(void)
{
	fputs("pycorecheck: out of memory\n", stderr);
	exit(3);
}

enum { BIG_ARRAY = 4 << 20 };

void pcc_alloc_tune(void)
{
	/* A fixed threshold: glibc would otherwise raise it each time a
	 * mapped block is freed, and serve the next big array from memory
	 * already touched in small pages, which calloc must clear. */
	mallopt(M_MMAP_THRESHOLD, BIG_ARRAY / 4);
}

void pcc_advise_huge(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
	if (size < BIG_ARRAY)
		return;
	/* The whole mapping, not its 2 MiB-aligned middle: a mapping split
	 * in three can no longer grow in place (mremap fails, and realloc
	 * copies). */
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)p & ~(page - 1);
	uintptr_t end = ((uintptr_t)p + size + page - 1) & ~(page - 1);
	(void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
	(void)p;
	(void)size;
#endif
}

void *pcc_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		die_enomem();
	return p;
}

void *pcc_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die_enomem();
	return p;
}

void *pcc_xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		die_enomem();
	return p;
}

void *pcc_xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		die_enomem();
	return pcc_xrealloc(p, n * size);
}

char *pcc_xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		die_enomem();
	return d;
}

char *pcc_xvasprintf(const char *fmt, va_list ap)
{
	char *s = vformat(fmt, ap);
	if (!s)
		die_enomem();
	return s;
}

char *pcc_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = pcc_xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}
