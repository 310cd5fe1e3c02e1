/* SPDX-License-Identifier: MIT */
/* Unit tests for src/util/utf8.[ch], and the renderers' string escapes. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "util/utf8.h"
#include "run_suite.h"

static size_t seq(const char *s)
{
	return pcc_utf8_sequence_len((const unsigned char *)s, strlen(s));
}

START_TEST(test_sequence_len)
{
	ck_assert_uint_eq(seq("a"), 1);
	ck_assert_uint_eq(seq("\xc3\xa9"), 2);          /* é */
	ck_assert_uint_eq(seq("\xe2\x80\xa6"), 3);      /* … */
	ck_assert_uint_eq(seq("\xf0\x9f\x90\x8d"), 4);  /* U+1F40D */
	ck_assert_uint_eq(seq("\xf4\x8f\xbf\xbf"), 4);  /* U+10FFFF */
	ck_assert_uint_eq(seq("\xef\xbf\xbd"), 3);      /* U+FFFD */
	ck_assert_uint_eq(seq("\xed\x9f\xbf"), 3);      /* U+D7FF */
	/* Ill-formed. */
	ck_assert_uint_eq(seq("\x80"), 0);              /* lone continuation */
	ck_assert_uint_eq(seq("\xbf"), 0);
	ck_assert_uint_eq(seq("\xc0\x80"), 0);          /* overlong NUL */
	ck_assert_uint_eq(seq("\xc1\xbf"), 0);          /* overlong */
	ck_assert_uint_eq(seq("\xe0\x9f\xbf"), 0);      /* overlong, 3 bytes */
	ck_assert_uint_eq(seq("\xf0\x8f\xbf\xbf"), 0);  /* overlong, 4 bytes */
	ck_assert_uint_eq(seq("\xed\xa0\x80"), 0);      /* surrogate U+D800 */
	ck_assert_uint_eq(seq("\xed\xbf\xbf"), 0);      /* surrogate U+DFFF */
	ck_assert_uint_eq(seq("\xf4\x90\x80\x80"), 0);  /* U+110000 */
	ck_assert_uint_eq(seq("\xf5\x80\x80\x80"), 0);
	ck_assert_uint_eq(seq("\xff"), 0);
	ck_assert_uint_eq(seq("\xc3"), 0);              /* truncated */
	ck_assert_uint_eq(seq("\xe2\x80"), 0);
	ck_assert_uint_eq(seq("\xe2\x80x"), 0);
	ck_assert_uint_eq(seq("\xf0\x9f\x90"), 0);
	ck_assert_uint_eq(pcc_utf8_sequence_len((const unsigned char *)"", 0), 0);
	/* The length bounds the read: a sequence cut by n is ill-formed. */
	ck_assert_uint_eq(pcc_utf8_sequence_len((const unsigned char *)"\xc3\xa9", 1), 0);
}
END_TEST

START_TEST(test_valid)
{
	const char ok[] = "type \xc3\xa9t\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x90\x8d";
	ck_assert(pcc_utf8_valid(ok, strlen(ok)));
	ck_assert(pcc_utf8_valid("", 0));
	ck_assert(!pcc_utf8_valid("abc\xff", 4));
	ck_assert(!pcc_utf8_valid("\xc3\xa9\xc3", 3));
	ck_assert(!pcc_utf8_valid("/tmp/x\xed\xa0\x80y", 10));
}
END_TEST

static char *capture_text(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	pcc_utf8_fputs_text(s, f);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

static char *capture_json(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	pcc_json_string(f, s);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

START_TEST(test_text)
{
	char *s = capture_text("caf\xc3\xa9 \xff\xfe x\x1b[2J\x7f \xe2\x80");
	ck_assert_str_eq(s, "caf\xc3\xa9 \\xff\\xfe x?[2J? \\xe2\\x80");
	free(s);
	s = capture_text("");
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(test_json)
{
	char *s = capture_json("/tmp/f\xff\xc3\xa9\"\\\n\xed\xa0\x80");
	ck_assert_str_eq(s, "\"/tmp/f\\ufffd\xc3\xa9\\\"\\\\\\u000a"
			    "\\ufffd\\ufffd\\ufffd\"");
	ck_assert(pcc_utf8_valid(s, strlen(s)));
	free(s);
	s = capture_json(NULL);
	ck_assert_str_eq(s, "\"\"");
	free(s);
	/* Every byte value, alone and after a lead byte: always UTF-8. */
	for (int a = 1; a < 256; a++) {
		for (int b = 0; b < 256; b += 15) {
			char in[4] = { (char)a, (char)b, (char)0xbf, 0 };
			s = capture_json(in);
			ck_assert_msg(pcc_utf8_valid(s, strlen(s)),
				      "bytes %02x %02x", a, b);
			free(s);
		}
	}
}
END_TEST

static Suite *utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("utf8");
	tcase_add_test(tc, test_sequence_len);
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return pcc_run_suite(utf8_suite());
}
