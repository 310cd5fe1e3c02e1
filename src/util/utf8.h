/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 checks for text that comes from the target (type names, attribute
 * names, file paths): such text is whatever bytes the core holds, and a
 * report must stay valid UTF-8 whatever they are.
 */
#ifndef PCC_UTF8_H
#define PCC_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * The length (1-4) of the well-formed UTF-8 sequence at the start of
 * s[0 .. n), or 0 when it is not one: a stray continuation byte, a
 * truncated sequence, an overlong form, a surrogate (U+D800-U+DFFF) or a
 * code point above U+10FFFF (RFC 3629).  n = 0 gives 0.
 */
size_t pcc_utf8_sequence_len(const unsigned char *s, size_t n);

/* Is s[0 .. n) well-formed UTF-8 in its entirety? */
bool pcc_utf8_valid(const char *s, size_t n);

/*
 * Write the NUL-terminated s for a terminal: well-formed UTF-8 passes
 * through, each byte of an ill-formed sequence becomes "\xNN", and control
 * characters (C0, DEL) become '?'.
 */
void pcc_utf8_fputs_text(const char *s, FILE *out);

#endif
