/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "utf8.h"

size_t pcc_utf8_sequence_len(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	/* The range of the second byte narrows the first's to rule out
	 * overlong forms (E0, F0), surrogates (ED) and > U+10FFFF (F4). */
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0; /* a continuation byte, C0, C1 or F5-FF */
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

bool pcc_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	while (n) {
		size_t k = pcc_utf8_sequence_len(p, n);
		if (!k)
			return false;
		p += k;
		n -= k;
	}
	return true;
}

void pcc_utf8_fputs_text(const char *s, FILE *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	while (n) {
		size_t k = pcc_utf8_sequence_len(p, n);
		if (!k) {
			fprintf(out, "\\x%02x", *p);
			k = 1;
		} else if (k == 1 && (*p < 0x20 || *p == 0x7f)) {
			fputc('?', out);
		} else {
			fwrite(p, 1, k, out);
		}
		p += k;
		n -= k;
	}
}
