/* SPDX-License-Identifier: MIT */
/* Unit tests for src/util/error.[ch]. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "run_suite.h"

/* pcc_error_fwrite's output as a string (caller frees). */
static char *render(const struct pcc_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	pcc_error_fwrite(err, f);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

START_TEST(test_create)
{
	struct pcc_error *err =
		pcc_error_create(PCC_ERROR_BAD_DATA, "list %s broke at %#llx",
				 "gen0", 0x1234ULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_ne(err, &pcc_enomem);
	ck_assert_int_eq(err->code, PCC_ERROR_BAD_DATA);
	ck_assert_int_eq(err->errnum, 0);
	ck_assert_uint_eq(err->address, 0);
	ck_assert_str_eq(err->message, "list gen0 broke at 0x1234");
	ck_assert_ptr_null(err->hint);
	char *s = render(err);
	ck_assert_str_eq(s, "list gen0 broke at 0x1234\n");
	free(s);
	pcc_error_destroy(err);
}
END_TEST

START_TEST(test_os)
{
	errno = ENOENT;
	struct pcc_error *err = pcc_error_os("cannot open %s", "/nope");
	ck_assert_int_eq(err->code, PCC_ERROR_OS);
	ck_assert_int_eq(err->errnum, ENOENT);
	ck_assert_str_eq(err->message, "cannot open /nope");
	char *s = render(err);
	char *want = pcc_xasprintf("cannot open /nope: %s\n", strerror(ENOENT));
	ck_assert_str_eq(s, want);
	free(s);
	free(want);
	pcc_error_destroy(err);

	/* errno 0: no ": Success" suffix. */
	errno = 0;
	err = pcc_error_os("odd");
	ck_assert_int_eq(err->errnum, 0);
	s = render(err);
	ck_assert_str_eq(s, "odd\n");
	free(s);
	pcc_error_destroy(err);
}
END_TEST

START_TEST(test_os_errno_of_caller)
{
	/* The errno at the moment of the call is kept, even though formatting
	 * the message may itself change errno. */
	errno = EACCES;
	struct pcc_error *err = pcc_error_os("%s %d", "x", 1);
	ck_assert_int_eq(err->errnum, EACCES);
	pcc_error_destroy(err);
}
END_TEST

START_TEST(test_fault)
{
	struct pcc_error *err =
		pcc_error_fault(0x7fff00001000ULL, "cannot read %s", "PyGC_Head");
	ck_assert_int_eq(err->code, PCC_ERROR_FAULT);
	ck_assert_uint_eq(err->address, 0x7fff00001000ULL);
	ck_assert_str_eq(err->message, "cannot read PyGC_Head");
	char *s = render(err);
	ck_assert_str_eq(s, "cannot read PyGC_Head\n");
	free(s);
	pcc_error_destroy(err);

	err = pcc_error_fault(UINT64_MAX, "top");
	ck_assert_uint_eq(err->address, UINT64_MAX);
	pcc_error_destroy(err);
}
END_TEST

START_TEST(test_hint)
{
	struct pcc_error *err = pcc_error_create(PCC_ERROR_INPUT, "no DWARF");
	struct pcc_error *r = pcc_error_hint(err, "install %s", "python3.11-dbg");
	ck_assert_ptr_eq(r, err);
	ck_assert_str_eq(err->hint, "install python3.11-dbg");
	char *s = render(err);
	ck_assert_str_eq(s, "no DWARF; install python3.11-dbg\n");
	free(s);

	/* A second hint replaces the first. */
	pcc_error_hint(err, "use --debuginfo-path");
	ck_assert_str_eq(err->hint, "use --debuginfo-path");
	pcc_error_destroy(err);

	/* OS error with a hint: message, strerror, hint. */
	errno = EPERM;
	err = pcc_error_hint(pcc_error_os("cannot attach"), "run as root");
	s = render(err);
	char *want = pcc_xasprintf("cannot attach: %s; run as root\n",
				   strerror(EPERM));
	ck_assert_str_eq(s, want);
	free(s);
	free(want);
	pcc_error_destroy(err);
}
END_TEST

START_TEST(test_enomem)
{
	ck_assert_int_eq(pcc_enomem.code, PCC_ERROR_NO_MEMORY);
	ck_assert_ptr_nonnull(pcc_enomem.message);
	/* A hint on the static error is ignored, not stored. */
	struct pcc_error *r = pcc_error_hint(&pcc_enomem, "buy more RAM");
	ck_assert_ptr_eq(r, &pcc_enomem);
	ck_assert_ptr_null(pcc_enomem.hint);
	char *s = render(&pcc_enomem);
	ck_assert_str_eq(s, "out of memory\n");
	free(s);
	/* Destroying it (or NULL) is a no-op. */
	pcc_error_destroy(&pcc_enomem);
	pcc_error_destroy(NULL);
	ck_assert_str_eq(pcc_enomem.message, "out of memory");
}
END_TEST

START_TEST(test_long_message)
{
	char big[10000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	struct pcc_error *err = pcc_error_create(PCC_ERROR_LOOKUP, "%s!", big);
	ck_assert_uint_eq(strlen(err->message), sizeof(big));
	ck_assert_int_eq(err->message[sizeof(big) - 1], '!');
	pcc_error_destroy(err);
}
END_TEST

/* elfutils' own words never reach the user as they are. */
START_TEST(test_library_text)
{
	ck_assert_str_eq(pcc_error_library_text("no error"), "reason unknown");
	ck_assert_str_eq(pcc_error_library_text(NULL), "reason unknown");
	ck_assert_str_eq(pcc_error_library_text(""), "reason unknown");
	ck_assert_str_eq(pcc_error_library_text("invalid `Elf' handle"),
			 "it is not a readable ELF file");
	ck_assert_ptr_null(strstr(pcc_error_library_text("address out of range"),
				  "range"));
	ck_assert_ptr_null(strstr(pcc_error_library_text("ELF file opened"),
				  "opened"));
	const char *other = "something new";
	ck_assert_ptr_eq(pcc_error_library_text(other), other);
}
END_TEST

START_TEST(test_xalloc)
{
	char *p = pcc_xmalloc(0);
	ck_assert_ptr_nonnull(p);
	free(p);
	int *z = pcc_xcalloc(4, sizeof(int));
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(z[i], 0);
	z = pcc_xrealloc(z, 100 * sizeof(int));
	ck_assert_int_eq(z[3], 0);
	z = pcc_xreallocarray(z, 1000, sizeof(int));
	z[999] = 7;
	free(z);
	p = pcc_xcalloc(0, 0);
	ck_assert_ptr_nonnull(p);
	free(p);
	p = pcc_xstrdup("abc");
	ck_assert_str_eq(p, "abc");
	free(p);
	p = pcc_xasprintf("%d-%s", 42, "x");
	ck_assert_str_eq(p, "42-x");
	free(p);
}
END_TEST

/* Overflowing n * size must not allocate a short block: it exits with 3. */
START_TEST(test_xreallocarray_overflow)
{
	void *p = pcc_xreallocarray(NULL, SIZE_MAX / 2, 4);
	(void)p;
	ck_abort_msg("pcc_xreallocarray returned on overflow");
}
END_TEST

/* AddressSanitizer's allocator aborts on such a size instead of failing. */
#ifndef __SANITIZE_ADDRESS__
START_TEST(test_xmalloc_huge)
{
	void *p = pcc_xmalloc(SIZE_MAX - 4096);
	(void)p;
	ck_abort_msg("pcc_xmalloc returned on an impossible size");
}
END_TEST
#endif

static Suite *error_suite(void)
{
	Suite *s = suite_create("error");
	TCase *tc = tcase_create("errors");
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_os);
	tcase_add_test(tc, test_os_errno_of_caller);
	tcase_add_test(tc, test_fault);
	tcase_add_test(tc, test_hint);
	tcase_add_test(tc, test_enomem);
	tcase_add_test(tc, test_long_message);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_test(tc, test_library_text);
	tcase_add_test(tc, test_xalloc);
	tcase_add_exit_test(tc, test_xreallocarray_overflow, 3);
#ifndef __SANITIZE_ADDRESS__
	tcase_add_exit_test(tc, test_xmalloc_huge, 3);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return pcc_run_suite(error_suite());
}
