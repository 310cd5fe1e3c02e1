/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/target: the segment lookup and reads on a target built
 * by hand, and pcc_target_open_core on bad input and on small ELF cores
 * written by the test itself.
 */
#include "config.h"

#include <check.h>
#include <elf.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memory/memory.h"
#include "memory/prefault.h"
#include "run_suite.h"

/* ---- a target built by hand ---- */

/*
 * Layout (addresses):
 *   A [0x1000, 0x1010)  "hello\0" then bytes without NUL up to the end
 *   B [0x1010, 0x1020)  adjacent to A: the continuation of A
 *   gap [0x1020, 0x2000)
 *   C [0x2000, 0x2008)  "abcdefgh": no NUL, followed by a gap
 *   D [UINT64_MAX - 16, UINT64_MAX)  the top of the address space
 */
static uint8_t buf_a[16], buf_b[16], buf_c[8], buf_d[16];

static void add_segment(struct pcc_target *t, uint64_t start, const uint8_t *data,
			size_t len)
{
	struct pcc_segment *s = pcc_segment_vec_push(&t->segments);
	s->start = start;
	s->end = start + len;
	s->data = data;
	s->source = PCC_SEGMENT_COPY;
}

static struct pcc_target *make_target(void)
{
	memcpy(buf_a, "hello\0XYZWVUTSRQ", 16);
	memcpy(buf_b, "bcd\0efghijklmnop", 16);
	memcpy(buf_c, "abcdefgh", 8);
	for (size_t i = 0; i < sizeof(buf_d); i++)
		buf_d[i] = (uint8_t)(0xd0 + i);

	struct pcc_target *t = pcc_xcalloc(1, sizeof(*t));
	t->core_fd = -1;
	add_segment(t, 0x1000, buf_a, sizeof(buf_a));
	add_segment(t, 0x1010, buf_b, sizeof(buf_b));
	add_segment(t, 0x2000, buf_c, sizeof(buf_c));
	add_segment(t, UINT64_MAX - 16, buf_d, sizeof(buf_d));
	return t;
}

START_TEST(test_find_segment)
{
	struct pcc_target *t = make_target();
	const struct pcc_segment *s;

	s = pcc_target_find_segment(t, 0x1000);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->start, 0x1000);
	s = pcc_target_find_segment(t, 0x100f);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->start, 0x1000);
	s = pcc_target_find_segment(t, 0x1010);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->start, 0x1010);
	s = pcc_target_find_segment(t, 0x2007);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->start, 0x2000);
	s = pcc_target_find_segment(t, UINT64_MAX - 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->start, UINT64_MAX - 16);

	/* Misses: before all, in the gap, just past an end, the very top. */
	ck_assert_ptr_null(pcc_target_find_segment(t, 0));
	ck_assert_ptr_null(pcc_target_find_segment(t, 0xfff));
	ck_assert_ptr_null(pcc_target_find_segment(t, 0x1020));
	ck_assert_ptr_null(pcc_target_find_segment(t, 0x1fff));
	ck_assert_ptr_null(pcc_target_find_segment(t, 0x2008));
	ck_assert_ptr_null(pcc_target_find_segment(t, UINT64_MAX - 17));
	ck_assert_ptr_null(pcc_target_find_segment(t, UINT64_MAX));
	pcc_target_destroy(t);
}
END_TEST

START_TEST(test_find_segment_empty)
{
	struct pcc_target *t = pcc_xcalloc(1, sizeof(*t));
	t->core_fd = -1;
	ck_assert_ptr_null(pcc_target_find_segment(t, 0x1000));
	ck_assert_ptr_null(pcc_target_ptr(t, 0x1000, 1));
	uint8_t b;
	ck_assert(!pcc_target_read(t, 0x1000, &b, 1));
	ck_assert_ptr_null(pcc_target_read_cstr(t, 0x1000, 10));
	pcc_target_destroy(t);
}
END_TEST

/* Reads that switch between segments, as traversals do, are served by the
 * hints: each must still find the right bytes, and a hint left by another
 * target must never answer for this one. */
START_TEST(test_hints)
{
	struct pcc_target *t = make_target();
	for (int round = 0; round < 3; round++) {
		const uint8_t *a = pcc_target_ptr(t, 0x1001, 1);
		const uint8_t *c = pcc_target_ptr(t, 0x2003, 1);
		const uint8_t *d = pcc_target_ptr(t, UINT64_MAX - 2, 1);
		const uint8_t *b = pcc_target_ptr(t, 0x101f, 1);
		ck_assert_ptr_eq(a, buf_a + 1);
		ck_assert_ptr_eq(c, buf_c + 3);
		ck_assert_ptr_eq(d, buf_d + 14);
		ck_assert_ptr_eq(b, buf_b + 15);
		ck_assert_ptr_null(pcc_target_ptr(t, 0x1800, 1));
		ck_assert_ptr_eq(pcc_target_ptr(t, 0x2000, 8), buf_c);
		ck_assert_ptr_null(pcc_target_ptr(t, 0x2001, 8));
	}

	/* The hints now name segments 0..3 of t; t2 has one segment. */
	static uint8_t other[16];
	struct pcc_target *t2 = pcc_xcalloc(1, sizeof(*t2));
	t2->core_fd = -1;
	add_segment(t2, 0x5000, other, sizeof(other));
	ck_assert_ptr_null(pcc_target_ptr(t2, 0x1001, 1));
	ck_assert_ptr_null(pcc_target_ptr(t2, 0x2003, 1));
	ck_assert_ptr_eq(pcc_target_ptr(t2, 0x5004, 1), other + 4);
	ck_assert_ptr_eq(pcc_target_ptr(t, 0x2003, 1), buf_c + 3);
	ck_assert_ptr_null(pcc_target_ptr(t2, 0x2003, 1));
	ck_assert_ptr_eq(pcc_target_ptr(t, 0x1001, 1), buf_a + 1);
	ck_assert_ptr_eq(pcc_target_ptr(t2, 0x500f, 1), other + 15);
	pcc_target_destroy(t2);
	pcc_target_destroy(t);
}
END_TEST

START_TEST(test_ptr)
{
	struct pcc_target *t = make_target();

	ck_assert_ptr_eq(pcc_target_ptr(t, 0x1000, 16), buf_a);
	ck_assert_ptr_eq(pcc_target_ptr(t, 0x1004, 4), buf_a + 4);
	ck_assert_ptr_eq(pcc_target_ptr(t, 0x1010, 1), buf_b);
	ck_assert_ptr_eq(pcc_target_ptr(t, 0x2000, 8), buf_c);
	/* Alternate between segments so the cached hit is both right and stale. */
	ck_assert_ptr_eq(pcc_target_ptr(t, 0x1001, 1), buf_a + 1);
	ck_assert_ptr_eq(pcc_target_ptr(t, 0x2001, 1), buf_c + 1);
	ck_assert_ptr_eq(pcc_target_ptr(t, 0x1011, 1), buf_b + 1);
	ck_assert_ptr_eq(pcc_target_ptr(t, 0x1002, 1), buf_a + 2);

	/* Across the A|B boundary: adjacent, but objects never cross. */
	ck_assert_ptr_null(pcc_target_ptr(t, 0x100c, 8));
	ck_assert_ptr_null(pcc_target_ptr(t, 0x1000, 17));
	/* Into the gap, in the gap, past the end of C. */
	ck_assert_ptr_null(pcc_target_ptr(t, 0x101c, 8));
	ck_assert_ptr_null(pcc_target_ptr(t, 0x1800, 1));
	ck_assert_ptr_null(pcc_target_ptr(t, 0x2001, 8));
	/* A huge length must not wrap around. */
	ck_assert_ptr_null(pcc_target_ptr(t, 0x1000, SIZE_MAX));
	ck_assert_ptr_null(pcc_target_ptr(t, 0x1008, (size_t)-8));

	uint64_t v64;
	uint32_t v32;
	ck_assert(pcc_target_read_u64(t, 0x1008, &v64));
	ck_assert(memcmp(&v64, buf_a + 8, 8) == 0);
	ck_assert(pcc_target_read_u32(t, 0x2004, &v32));
	ck_assert(memcmp(&v32, buf_c + 4, 4) == 0);
	ck_assert(!pcc_target_read_u64(t, 0x100c, &v64));
	ck_assert(!pcc_target_read_u32(t, 0x2006, &v32));
	pcc_target_destroy(t);
}
END_TEST

START_TEST(test_top_of_address_space)
{
	struct pcc_target *t = make_target();
	uint8_t out[32];

	ck_assert_ptr_eq(pcc_target_ptr(t, UINT64_MAX - 16, 16), buf_d);
	ck_assert_ptr_eq(pcc_target_ptr(t, UINT64_MAX - 1, 1), buf_d + 15);
	ck_assert_ptr_null(pcc_target_ptr(t, UINT64_MAX - 8, 16));
	ck_assert_ptr_null(pcc_target_ptr(t, UINT64_MAX - 1, 2));
	ck_assert_ptr_null(pcc_target_ptr(t, UINT64_MAX, 1));
	ck_assert_ptr_null(pcc_target_ptr(t, UINT64_MAX, 0));

	uint64_t v;
	ck_assert(pcc_target_read_u64(t, UINT64_MAX - 8, &v));
	ck_assert(!pcc_target_read_u64(t, UINT64_MAX - 4, &v));

	ck_assert(pcc_target_read(t, UINT64_MAX - 16, out, 16));
	ck_assert(memcmp(out, buf_d, 16) == 0);
	/* Running off the top must fail, never wrap to address 0. */
	ck_assert(!pcc_target_read(t, UINT64_MAX - 8, out, 16));
	ck_assert(!pcc_target_read(t, UINT64_MAX - 1, out, 2));
	ck_assert(!pcc_target_read(t, UINT64_MAX, out, 1));

	char *s = pcc_target_read_cstr(t, UINT64_MAX - 4, 100);
	/* Unterminated at the top of memory: unreadable. */
	ck_assert_ptr_null(s);
	pcc_target_destroy(t);
}
END_TEST

START_TEST(test_top_with_segment_at_zero)
{
	/* A segment at address 0 must not be reached by wrapping around. */
	static uint8_t zero[16] = "zzzzzzzzzzzzzzz";
	static uint8_t top[8];
	memcpy(top, "ABCDEFGH", 8); /* no NUL */
	struct pcc_target *t = pcc_xcalloc(1, sizeof(*t));
	t->core_fd = -1;
	add_segment(t, 0, zero, sizeof(zero));
	add_segment(t, UINT64_MAX - 8, top, sizeof(top));
	uint8_t out[16];
	ck_assert(!pcc_target_read(t, UINT64_MAX - 4, out, 8));
	ck_assert_ptr_null(pcc_target_ptr(t, UINT64_MAX - 4, 8));
	ck_assert_ptr_null(pcc_target_read_cstr(t, UINT64_MAX - 4, 16));
	ck_assert(pcc_target_read(t, 0, out, 16));
	pcc_target_destroy(t);
}
END_TEST

START_TEST(test_read)
{
	struct pcc_target *t = make_target();
	uint8_t out[32];

	memset(out, 0xee, sizeof(out));
	ck_assert(pcc_target_read(t, 0x1002, out, 4));
	ck_assert(memcmp(out, buf_a + 2, 4) == 0);
	ck_assert_uint_eq(out[4], 0xee);

	/* Across adjacent segments A and B. */
	ck_assert(pcc_target_read(t, 0x1008, out, 16));
	ck_assert(memcmp(out, buf_a + 8, 8) == 0);
	ck_assert(memcmp(out + 8, buf_b, 8) == 0);
	ck_assert(pcc_target_read(t, 0x1000, out, 32));
	ck_assert(memcmp(out, buf_a, 16) == 0);
	ck_assert(memcmp(out + 16, buf_b, 16) == 0);

	/* Running from B into the gap fails; so does starting in the gap. */
	ck_assert(!pcc_target_read(t, 0x1018, out, 9));
	ck_assert(!pcc_target_read(t, 0x1000, out, 33));
	ck_assert(!pcc_target_read(t, 0x1020, out, 1));
	ck_assert(!pcc_target_read(t, 0x1ffc, out, 8));
	ck_assert(!pcc_target_read(t, 0x2004, out, 5));
	ck_assert(pcc_target_read(t, 0x2004, out, 4));
	ck_assert(memcmp(out, "efgh", 4) == 0);

	/* Zero bytes: trivially readable. */
	ck_assert(pcc_target_read(t, 0x1004, out, 0));
	pcc_target_destroy(t);
}
END_TEST

START_TEST(test_read_cstr)
{
	struct pcc_target *t = make_target();
	char *s;

	s = pcc_target_read_cstr(t, 0x1000, 100);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "hello");
	free(s);

	/* Truncated to max bytes, without the NUL. */
	s = pcc_target_read_cstr(t, 0x1000, 3);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "hel");
	free(s);

	/* max equal to the string length: the whole string. */
	s = pcc_target_read_cstr(t, 0x1000, 5);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "hello");
	free(s);

	s = pcc_target_read_cstr(t, 0x1000, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	free(s);

	s = pcc_target_read_cstr(t, 0x1005, 10);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	free(s);

	/* Runs off the end of A into the adjacent B, which holds the NUL. */
	s = pcc_target_read_cstr(t, 0x1006, 100);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "XYZWVUTSRQbcd");
	free(s);

	/* Same, truncated inside B, and truncated exactly at the boundary. */
	s = pcc_target_read_cstr(t, 0x1006, 12);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "XYZWVUTSRQbc");
	free(s);
	s = pcc_target_read_cstr(t, 0x1006, 10);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "XYZWVUTSRQ");
	free(s);

	/* Unterminated at the end of C, followed by a gap: unreadable ... */
	s = pcc_target_read_cstr(t, 0x2000, 100);
	ck_assert_ptr_null(s);
	s = pcc_target_read_cstr(t, 0x2004, 5);
	ck_assert_ptr_null(s);
	/* ... unless max stops before the end of the segment. */
	s = pcc_target_read_cstr(t, 0x2000, 8);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "abcdefgh");
	free(s);
	s = pcc_target_read_cstr(t, 0x2002, 3);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "cde");
	free(s);

	/* Unterminated at the end of B (the gap follows). */
	s = pcc_target_read_cstr(t, 0x1014, 100);
	ck_assert_ptr_null(s);

	/* In a gap. */
	ck_assert_ptr_null(pcc_target_read_cstr(t, 0x1800, 10));
	pcc_target_destroy(t);
}
END_TEST

START_TEST(test_warn_dedup)
{
	struct pcc_target *t = make_target();
	pcc_target_warn(t, "mapped file %s is missing", "/a");
	pcc_target_warn(t, "mapped file %s is missing", "/b");
	pcc_target_warn(t, "mapped file %s is missing", "/a");
	pcc_target_warn(t, "%d bytes missing", 12);
	pcc_target_warn(t, "%d bytes missing", 12);
	ck_assert_uint_eq(t->warnings.list.len, 3);
	ck_assert_str_eq(t->warnings.list.data[0], "mapped file /a is missing");
	ck_assert_str_eq(t->warnings.list.data[1], "mapped file /b is missing");
	ck_assert_str_eq(t->warnings.list.data[2], "12 bytes missing");
	pcc_target_destroy(t);
}
END_TEST

/* Many distinct warnings, each given twice: kept once each, in order. */
START_TEST(test_warn_dedup_many)
{
	struct pcc_target *t = make_target();
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5000; i++)
			pcc_target_warn(t, "mapped file /f%d is missing", i);
	ck_assert_uint_eq(t->warnings.list.len, 5000);
	ck_assert_str_eq(t->warnings.list.data[4999], "mapped file /f4999 is missing");
	pcc_target_destroy(t);
}
END_TEST

/* Truncated, the list forgets what it dropped: given again, it is kept. */
START_TEST(test_warn_truncate)
{
	struct pcc_warnings w = { 0 };
	for (int i = 0; i < 100; i++)
		pcc_warnings_add(&w, "w%d", i);
	pcc_warnings_truncate(&w, 10);
	ck_assert_uint_eq(w.list.len, 10);
	pcc_warnings_add(&w, "w%d", 5);
	ck_assert_uint_eq(w.list.len, 10);
	pcc_warnings_add(&w, "w%d", 50);
	ck_assert_uint_eq(w.list.len, 11);
	ck_assert_str_eq(w.list.data[10], "w50");
	pcc_warnings_truncate(&w, 20); /* more than there are: nothing */
	ck_assert_uint_eq(w.list.len, 11);
	pcc_warnings_deinit(&w);
}
END_TEST

START_TEST(test_destroy_null)
{
	pcc_target_destroy(NULL);
}
END_TEST

/* ---- prefault.c ---- */

/* Is the page at p in our page tables?  (The present bit of
 * /proc/self/pagemap, which needs no privilege.) */
static bool page_mapped(const void *p)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	uint64_t entry = 0;
	off_t at = (off_t)((uintptr_t)p / (uintptr_t)sysconf(_SC_PAGESIZE) * 8);
	ck_assert_int_eq(pread(fd, &entry, 8, at), 8);
	close(fd);
	return entry >> 63 & 1;
}

START_TEST(test_prefault_maps_the_segments_read)
{
	/* Two segments of a file in the page cache: the one read has all its
	 * pages mapped by the thread, the other none (fault-around maps 64 KiB
	 * windows, which do not cross from one to the other); the stop waits for the
	 * thread, and a second stop does nothing. */
	enum { SEG = 4 << 20 }; /* whole 2 MiB folios: a fault maps them whole */
	char path[] = "/tmp/pcc-test-prefault.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	uint8_t *block = malloc(2 * SEG);
	ck_assert_ptr_nonnull(block);
	memset(block, 0x5a, 2 * SEG);
	ck_assert_int_eq(write(fd, block, 2 * SEG), 2 * SEG);
	free(block);
	uint8_t *map = mmap(NULL, 2 * SEG, PROT_READ, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(map, MAP_FAILED);
	close(fd);

	struct pcc_target *t = pcc_xcalloc(1, sizeof(*t));
	t->core_fd = -1;
	add_segment(t, 0x1000000, map, SEG);
	add_segment(t, 0x2000000, map + SEG, SEG);
	pcc_prefault_start(t);
	ck_assert_ptr_nonnull(t->prefault);
	usleep(50 * 1000); /* the thread waits by now: the read must wake it */
	/* The second segment: the first is where a reader's hint starts,
	 * whose reads are not told (the lookup's fast path stays as it is). */
	ck_assert_ptr_nonnull(pcc_target_ptr(t, 0x2000000 + 8, 8));
	const uint8_t *last = map + 2 * SEG - 1;
	for (int i = 0; i < 2000 && !page_mapped(last); i++)
		usleep(1000);
	ck_assert(page_mapped(last));
	ck_assert(page_mapped(map + SEG + SEG / 2));
	ck_assert(!page_mapped(map + SEG / 2));
	ck_assert(!page_mapped(map + SEG / 4));
	pcc_prefault_stop(t);
	ck_assert_ptr_null(t->prefault);
	ck_assert_ptr_null(t->segments_read);
	pcc_prefault_stop(t);
	pcc_target_destroy(t);
	munmap(map, 2 * SEG);
}
END_TEST

START_TEST(test_prefault_stops_with_segments_unread)
{
	/* The thread waits for a segment to be read; destroying the target
	 * stops it without one. */
	static uint8_t data[4096];
	struct pcc_target *t = pcc_xcalloc(1, sizeof(*t));
	t->core_fd = -1;
	add_segment(t, 0x1000, data, sizeof(data));
	pcc_prefault_start(t);
	ck_assert_ptr_nonnull(t->prefault);
	pcc_target_destroy(t);
}
END_TEST

START_TEST(test_prefault_unmaps_big_mappings_on_two_threads)
{
	/* A mapping big enough to be let go of in halves on two threads:
	 * after the target is destroyed, none of it is mapped. */
	enum { SIZE = 80 << 20 };
	char path[] = "/tmp/pcc-test-unmap.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(ftruncate(fd, SIZE), 0);
	struct pcc_target *t = pcc_xcalloc(1, sizeof(*t));
	t->core_fd = fd;
	size_t size;
	const uint8_t *map = pcc_target_map_file(t, fd, &size);
	ck_assert_ptr_nonnull(map);
	ck_assert_uint_eq(size, SIZE);
	unsigned sum = 0;
	for (size_t off = 0; off < SIZE; off += 1 << 16)
		sum += map[off];
	ck_assert_uint_eq(sum, 0);
	add_segment(t, 0x10000000, map, SIZE);
	pcc_prefault_start(t);
	ck_assert_ptr_nonnull(t->prefault);
	pcc_target_destroy(t);
	unsigned char vec;
	errno = 0;
	ck_assert_int_eq(mincore((void *)map, 4096, &vec), -1);
	ck_assert_int_eq(errno, ENOMEM); /* no longer mapped */
	errno = 0;
	ck_assert_int_eq(mincore((void *)(map + SIZE - 4096), 4096, &vec), -1);
	ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

/* ---- pcc_target_open_core ---- */

static char tmpdir[64];

static void tmpdir_setup(void)
{
	strcpy(tmpdir, "/tmp/pcc-test-target.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmpdir_teardown(void)
{
	char *cmd = pcc_xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
}

static char *tmp_path(const char *name)
{
	return pcc_xasprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
	if (len)
		ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_open_missing)
{
	struct pcc_target *t = (struct pcc_target *)0x1;
	char *path = tmp_path("does-not-exist");
	struct pcc_error *err = pcc_target_open_core(path, NULL, &t);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, PCC_ERROR_OS);
	ck_assert_int_eq(err->errnum, ENOENT);
	ck_assert_ptr_nonnull(strstr(err->message, path));
	/* The out-parameter is only touched on success. */
	ck_assert_ptr_eq(t, (struct pcc_target *)0x1);
	pcc_error_destroy(err);
	free(path);
}
END_TEST

START_TEST(test_open_empty)
{
	struct pcc_target *t = NULL;
	char *path = tmp_path("empty");
	write_file(path, "", 0);
	struct pcc_error *err = pcc_target_open_core(path, NULL, &t);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, PCC_ERROR_INPUT);
	ck_assert_ptr_null(t);
	pcc_error_destroy(err);
	free(path);
}
END_TEST

START_TEST(test_open_directory)
{
	struct pcc_target *t = NULL;
	struct pcc_error *err = pcc_target_open_core(tmpdir, NULL, &t);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, PCC_ERROR_INPUT);
	ck_assert_ptr_null(t);
	pcc_error_destroy(err);
}
END_TEST

START_TEST(test_open_not_elf)
{
	static const char text[] =
		"#!/bin/sh\necho this is not a core file, just some text\n";
	struct pcc_target *t = NULL;
	char *path = tmp_path("text");
	write_file(path, text, sizeof(text) - 1);
	struct pcc_error *err = pcc_target_open_core(path, NULL, &t);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, PCC_ERROR_INPUT);
	ck_assert_ptr_null(t);
	pcc_error_destroy(err);

	/* Shorter than e_ident, and only the magic. */
	write_file(path, "\177E", 2);
	err = pcc_target_open_core(path, NULL, &t);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, PCC_ERROR_INPUT);
	pcc_error_destroy(err);
	write_file(path, ELFMAG, SELFMAG);
	err = pcc_target_open_core(path, NULL, &t);
	ck_assert_ptr_nonnull(err);
	ck_assert(err->code == PCC_ERROR_INPUT
		  || err->code == PCC_ERROR_UNSUPPORTED);
	ck_assert_ptr_null(t);
	pcc_error_destroy(err);
	free(path);
}
END_TEST

START_TEST(test_open_executable)
{
	struct pcc_target *t = NULL;
	struct pcc_error *err = pcc_target_open_core("/bin/true", NULL, &t);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, PCC_ERROR_INPUT);
	ck_assert_msg(strstr(err->message, "not a core") != NULL,
		      "message: %s", err->message);
	ck_assert_ptr_null(t);
	pcc_error_destroy(err);
}
END_TEST

/*
 * A minimal core:
 *
 *   ELF header | 3 program headers | PT_NOTE data | load 1 data
 *
 *   PT_NOTE: NT_PRSTATUS (pid 4242, signal 19), NT_PRPSINFO ("demo",
 *            "python3 demo.py"), NT_AUXV (AT_EXECFN -> a string in load 1),
 *            NT_FILE (one entry: load 2 is backed by the file "mapped.bin"
 *            from page 1 on)
 *   load 1:  vaddr 0x400000, 0x2000 bytes in the core (a pattern)
 *   load 2:  vaddr 0x7f0000000000, p_filesz 0, p_memsz 0x1000: its bytes
 *            come from mapped.bin at offset 0x1000
 */
enum {
	LOAD1_VADDR = 0x400000,
	LOAD1_SIZE = 0x2000,
	EXECFN_OFF = 0x100, /* where the AT_EXECFN string is in load 1 */
	PAGE = 0x1000,
};
static const uint64_t LOAD2_VADDR = 0x7f0000000000ULL;

struct buffer {
	uint8_t *data;
	size_t len;
};

static void buf_put(struct buffer *b, const void *p, size_t n)
{
	b->data = pcc_xrealloc(b->data, b->len + n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void buf_pad4(struct buffer *b)
{
	static const uint8_t zero[4];
	if (b->len % 4)
		buf_put(b, zero, 4 - b->len % 4);
}

static void put_note(struct buffer *b, uint32_t type, const void *desc,
		     size_t descsz)
{
	Elf64_Nhdr nh = { .n_namesz = 5, .n_descsz = (Elf64_Word)descsz,
			  .n_type = type };
	buf_put(b, &nh, sizeof(nh));
	buf_put(b, "CORE", 5);
	buf_pad4(b);
	buf_put(b, desc, descsz);
	buf_pad4(b);
}

static uint8_t load1_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static uint8_t mapped_byte(size_t i)
{
	return (uint8_t)(0xa5 ^ (i * 13));
}

/*
 * Writes the core and mapped.bin into tmpdir; returns the core's size.
 * gdb_style: like gdb's gcore, which writes no program header at all for a
 * file-backed mapping it leaves out (the kernel writes a PT_LOAD with
 * p_filesz 0): load 2 is then only known from NT_FILE.
 */
static size_t write_core_style(const char *core_path, const char *mapped_path,
			       size_t truncate_to, bool gdb_style)
{
	/* The file behind load 2: two pages, the mapping uses the second. */
	uint8_t mapped[2 * PAGE];
	for (size_t i = 0; i < sizeof(mapped); i++)
		mapped[i] = mapped_byte(i);
	write_file(mapped_path, mapped, sizeof(mapped));

	struct buffer notes = { 0 };
	struct elf_prstatus pr;
	memset(&pr, 0, sizeof(pr));
	pr.pr_pid = 4242;
	pr.pr_cursig = 19;
	put_note(&notes, NT_PRSTATUS, &pr, sizeof(pr));

	struct elf_prpsinfo ps;
	memset(&ps, 0, sizeof(ps));
	ps.pr_pid = 4242;
	strcpy(ps.pr_fname, "demo");
	strcpy(ps.pr_psargs, "python3 demo.py");
	put_note(&notes, NT_PRPSINFO, &ps, sizeof(ps));

	uint64_t auxv[] = { AT_PAGESZ, PAGE, AT_EXECFN, LOAD1_VADDR + EXECFN_OFF,
			    AT_NULL, 0 };
	put_note(&notes, NT_AUXV, auxv, sizeof(auxv));

	struct buffer nt_file = { 0 };
	uint64_t hdr[2] = { 1, PAGE };
	buf_put(&nt_file, hdr, sizeof(hdr));
	uint64_t entry[3] = { LOAD2_VADDR, LOAD2_VADDR + PAGE, 1 };
	buf_put(&nt_file, entry, sizeof(entry));
	buf_put(&nt_file, mapped_path, strlen(mapped_path) + 1);
	put_note(&notes, NT_FILE, nt_file.data, nt_file.len);
	free(nt_file.data);

	enum { NPHDR_MAX = 3 };
	const size_t nphdr = gdb_style ? 2 : 3;
	size_t notes_off = sizeof(Elf64_Ehdr) + NPHDR_MAX * sizeof(Elf64_Phdr);
	size_t load1_off = (notes_off + notes.len + PAGE - 1) & ~(size_t)(PAGE - 1);

	Elf64_Ehdr eh;
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(Elf64_Ehdr);
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (Elf64_Half)nphdr;

	/* Room for 3 headers either way, so that the offsets do not change. */
	Elf64_Phdr ph[NPHDR_MAX];
	memset(ph, 0, sizeof(ph));
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = notes_off;
	ph[0].p_filesz = notes.len;
	ph[0].p_align = 4;
	ph[1].p_type = PT_LOAD;
	ph[1].p_flags = PF_R | PF_W;
	ph[1].p_offset = load1_off;
	ph[1].p_vaddr = LOAD1_VADDR;
	ph[1].p_filesz = LOAD1_SIZE;
	ph[1].p_memsz = LOAD1_SIZE;
	ph[1].p_align = PAGE;
	ph[2].p_type = PT_LOAD;
	ph[2].p_flags = PF_R;
	ph[2].p_offset = load1_off + LOAD1_SIZE;
	ph[2].p_vaddr = LOAD2_VADDR;
	ph[2].p_filesz = 0;
	ph[2].p_memsz = PAGE;
	ph[2].p_align = PAGE;
	if (gdb_style)
		memset(&ph[2], 0, sizeof(ph[2])); /* unused, PT_NULL */

	struct buffer core = { 0 };
	buf_put(&core, &eh, sizeof(eh));
	buf_put(&core, ph, sizeof(ph));
	buf_put(&core, notes.data, notes.len);
	while (core.len < load1_off)
		buf_put(&core, "", 1);
	uint8_t load1[LOAD1_SIZE];
	for (size_t i = 0; i < sizeof(load1); i++)
		load1[i] = load1_byte(i);
	strcpy((char *)load1 + EXECFN_OFF, "/usr/bin/python3-demo");
	buf_put(&core, load1, sizeof(load1));
	free(notes.data);

	size_t len = truncate_to && truncate_to < core.len ? truncate_to : core.len;
	write_file(core_path, core.data, len);
	free(core.data);
	return len;
}

static size_t write_core(const char *core_path, const char *mapped_path,
			 size_t truncate_to)
{
	return write_core_style(core_path, mapped_path, truncate_to, false);
}

static size_t load1_file_offset(void)
{
	/* Recomputed the same way as write_core. */
	return PAGE;
}

START_TEST(test_open_minimal_core)
{
	char *core_path = tmp_path("core.4242");
	char *mapped_path = tmp_path("mapped.bin");
	size_t size = write_core(core_path, mapped_path, 0);
	ck_assert_uint_eq(size, load1_file_offset() + LOAD1_SIZE);

	struct pcc_target *t = NULL;
	struct pcc_error *err = pcc_target_open_core(core_path, NULL, &t);
	if (err) {
		pcc_error_fwrite(err, stderr);
		ck_abort_msg("open_core failed: %s", err->message);
	}
	ck_assert_ptr_nonnull(t);

	ck_assert_int_eq(t->pid, 4242);
	ck_assert_int_eq(t->signal, 19);
	ck_assert_str_eq(t->prog_name, "demo");
	ck_assert_ptr_nonnull(t->cmdline);
	ck_assert_str_eq(t->cmdline, "python3 demo.py");
	ck_assert_uint_eq(t->auxv_execfn, LOAD1_VADDR + EXECFN_OFF);
	ck_assert_ptr_nonnull(t->exe_path);
	ck_assert_str_eq(t->exe_path, "/usr/bin/python3-demo");
	ck_assert_ptr_nonnull(t->core_path);
	ck_assert_str_eq(t->core_path, core_path);
	ck_assert_ptr_nonnull(t->core_elf);
	ck_assert_int_ge(t->core_fd, 0);

	ck_assert_uint_eq(t->files.list.len, 1);
	ck_assert_uint_eq(t->files.list.data[0].start, LOAD2_VADDR);
	ck_assert_uint_eq(t->files.list.data[0].end, LOAD2_VADDR + PAGE);
	ck_assert_uint_eq(t->files.list.data[0].offset, PAGE);
	ck_assert_str_eq(t->files.list.data[0].path, mapped_path);

	ck_assert_uint_eq(t->missing_bytes, 0);
	for (size_t i = 0; i < t->warnings.list.len; i++)
		fprintf(stderr, "unexpected warning: %s\n", t->warnings.list.data[i]);
	ck_assert_uint_eq(t->warnings.list.len, 0);

	/* Two segments, sorted, one from the core and one from the file. */
	ck_assert_uint_eq(t->segments.len, 2);
	ck_assert_uint_eq(t->segments.data[0].start, LOAD1_VADDR);
	ck_assert_uint_eq(t->segments.data[0].end, LOAD1_VADDR + LOAD1_SIZE);
	ck_assert_int_eq(t->segments.data[0].source, PCC_SEGMENT_CORE);
	ck_assert_uint_eq(t->segments.data[1].start, LOAD2_VADDR);
	ck_assert_uint_eq(t->segments.data[1].end, LOAD2_VADDR + PAGE);
	ck_assert_int_eq(t->segments.data[1].source, PCC_SEGMENT_FILE);

	/* Bytes of load 1 come from the core ... */
	uint8_t out[PAGE];
	ck_assert(pcc_target_read(t, LOAD1_VADDR, out, 64));
	for (size_t i = 0; i < 64; i++)
		ck_assert_uint_eq(out[i], load1_byte(i));
	ck_assert(pcc_target_read(t, LOAD1_VADDR + LOAD1_SIZE - 8, out, 8));
	for (size_t i = 0; i < 8; i++)
		ck_assert_uint_eq(out[i], load1_byte(LOAD1_SIZE - 8 + i));
	/* ... those of load 2 from mapped.bin at page 1. */
	ck_assert(pcc_target_read(t, LOAD2_VADDR, out, PAGE));
	for (size_t i = 0; i < PAGE; i++)
		ck_assert_uint_eq(out[i], mapped_byte(PAGE + i));
	const uint8_t *p = pcc_target_ptr(t, LOAD2_VADDR + 0x10, 16);
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < 16; i++)
		ck_assert_uint_eq(p[i], mapped_byte(PAGE + 0x10 + i));

	/* Nothing beyond. */
	ck_assert(!pcc_target_read(t, LOAD1_VADDR + LOAD1_SIZE, out, 1));
	ck_assert(!pcc_target_read(t, LOAD2_VADDR + PAGE - 4, out, 8));
	ck_assert(!pcc_target_read(t, LOAD1_VADDR - 1, out, 1));

	pcc_target_destroy(t);
	free(core_path);
	free(mapped_path);
}
END_TEST

/*
 * gcore (gdb 13) leaves unmodified file-backed mappings (.text, .rodata of
 * the executable and libraries: type names live there) out of the core
 * without any PT_LOAD; only NT_FILE says what was mapped.  Those bytes must
 * still come from the files on disk.
 */
START_TEST(test_open_core_nt_file_without_load)
{
	char *core_path = tmp_path("core.4242");
	char *mapped_path = tmp_path("mapped.bin");
	write_core_style(core_path, mapped_path, 0, true);

	struct pcc_target *t = NULL;
	struct pcc_error *err = pcc_target_open_core(core_path, NULL, &t);
	ck_assert_ptr_null(err);
	ck_assert_uint_eq(t->files.list.len, 1);
	ck_assert_uint_eq(t->missing_bytes, 0);
	uint8_t out[16];
	ck_assert(pcc_target_read(t, LOAD1_VADDR, out, 16));
	ck_assert_msg(pcc_target_read(t, LOAD2_VADDR, out, 16),
		      "a mapping named only by NT_FILE (no PT_LOAD, as gcore "
		      "writes) is not filled from its file");
	for (size_t i = 0; i < 16; i++)
		ck_assert_uint_eq(out[i], mapped_byte(PAGE + i));
	pcc_target_destroy(t);
	free(core_path);
	free(mapped_path);
}
END_TEST

START_TEST(test_open_core_sysroot)
{
	/* NT_FILE paths are looked up under the sysroot. */
	char *core_path = tmp_path("core.4242");
	char *mapped_path = tmp_path("mapped.bin");
	char *sysroot = tmp_path("sysroot");
	write_core(core_path, mapped_path, 0);
	ck_assert_int_eq(mkdir(sysroot, 0700), 0);

	struct pcc_target *t = NULL;
	struct pcc_error *err = pcc_target_open_core(core_path, sysroot, &t);
	ck_assert_ptr_null(err);
	/* Nothing under the sysroot: load 2 is unavailable, with a warning. */
	ck_assert_uint_eq(t->segments.len, 1);
	ck_assert_uint_ge(t->warnings.list.len, 1);
	uint8_t b;
	ck_assert(!pcc_target_read(t, LOAD2_VADDR, &b, 1));
	ck_assert(pcc_target_read(t, LOAD1_VADDR, &b, 1));
	pcc_target_destroy(t);
	free(core_path);
	free(mapped_path);
	free(sysroot);
}
END_TEST

START_TEST(test_open_core_missing_mapped_file)
{
	char *core_path = tmp_path("core.4242");
	char *mapped_path = tmp_path("mapped.bin");
	write_core(core_path, mapped_path, 0);
	ck_assert_int_eq(unlink(mapped_path), 0);

	struct pcc_target *t = NULL;
	struct pcc_error *err = pcc_target_open_core(core_path, NULL, &t);
	ck_assert_ptr_null(err);
	ck_assert_uint_eq(t->segments.len, 1);
	ck_assert_uint_eq(t->warnings.list.len, 1);
	ck_assert_ptr_nonnull(strstr(t->warnings.list.data[0], mapped_path));
	uint8_t b;
	ck_assert(!pcc_target_read(t, LOAD2_VADDR, &b, 1));
	pcc_target_destroy(t);
	free(core_path);
	free(mapped_path);
}
END_TEST

/* A FIFO, whether the core or a file it maps, is refused without blocking
 * (the check runner's default timeout fails a hang). */
START_TEST(test_open_fifo)
{
	char *fifo = tmp_path("fifo");
	unlink(fifo);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	errno = 0;
	ck_assert_int_eq(pcc_target_open_regular(fifo), -1);
	ck_assert_int_eq(errno, EINVAL);

	struct pcc_target *t = NULL;
	struct pcc_error *err = pcc_target_open_core(fifo, NULL, &t);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, PCC_ERROR_INPUT);
	ck_assert_ptr_nonnull(strstr(err->message, "FIFO"));
	pcc_error_destroy(err);

	char *core_path = tmp_path("core.4242");
	char *mapped_path = tmp_path("mapped.bin");
	write_core(core_path, mapped_path, 0);
	ck_assert_int_eq(unlink(mapped_path), 0);
	ck_assert_int_eq(mkfifo(mapped_path, 0600), 0);
	err = pcc_target_open_core(core_path, NULL, &t);
	ck_assert_ptr_null(err);
	ck_assert_uint_eq(t->warnings.list.len, 1);
	ck_assert_ptr_nonnull(strstr(t->warnings.list.data[0], "not a regular file"));
	pcc_target_destroy(t);
	unlink(mapped_path);
	unlink(fifo);
	free(core_path);
	free(mapped_path);
	free(fifo);
}
END_TEST

/* e_phnum 0 and a header count that runs into the segments' bytes. */
START_TEST(test_open_bad_phnum)
{
	char *core_path = tmp_path("core.4242");
	char *mapped_path = tmp_path("mapped.bin");
	size_t len = write_core(core_path, mapped_path, 0);
	FILE *f = fopen(core_path, "r+b");
	ck_assert_ptr_nonnull(f);
	uint8_t *image = malloc(len);
	ck_assert_uint_eq(fread(image, 1, len, f), len);
	Elf64_Ehdr eh;
	memcpy(&eh, image, sizeof(eh));
	uint16_t counts[] = { 0, (uint16_t)(eh.e_phnum + 8) };
	for (size_t i = 0; i < 2; i++) {
		eh.e_phnum = counts[i];
		ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
		ck_assert_uint_eq(fwrite(&eh, sizeof(eh), 1, f), 1);
		ck_assert_int_eq(fflush(f), 0);
		struct pcc_target *t = NULL;
		struct pcc_error *err = pcc_target_open_core(core_path, NULL, &t);
		ck_assert_ptr_nonnull(err);
		ck_assert_int_eq(err->code, PCC_ERROR_INPUT);
		ck_assert_ptr_nonnull(strstr(err->message, "is damaged"));
		pcc_error_destroy(err);
	}
	fclose(f);
	free(image);
	free(core_path);
	free(mapped_path);
}
END_TEST

START_TEST(test_open_truncated_core)
{
	char *core_path = tmp_path("core.4242");
	char *mapped_path = tmp_path("mapped.bin");
	size_t cut = load1_file_offset() + 0x800; /* in the middle of load 1 */
	size_t size = write_core(core_path, mapped_path, cut);
	ck_assert_uint_eq(size, cut);

	struct pcc_target *t = NULL;
	struct pcc_error *err = pcc_target_open_core(core_path, NULL, &t);
	if (err) {
		pcc_error_fwrite(err, stderr);
		ck_abort_msg("open_core failed on a truncated core: %s",
			     err->message);
	}
	ck_assert_uint_eq(t->missing_bytes, LOAD1_SIZE - 0x800);
	ck_assert_uint_ge(t->warnings.list.len, 1);
	bool found = false;
	for (size_t i = 0; i < t->warnings.list.len; i++)
		if (strstr(t->warnings.list.data[i], "truncated"))
			found = true;
	ck_assert_msg(found, "no warning says the core is truncated");

	/* What is there is readable; what is not, is not. */
	uint8_t out[16];
	ck_assert(pcc_target_read(t, LOAD1_VADDR + 0x7f0, out, 16));
	for (size_t i = 0; i < 16; i++)
		ck_assert_uint_eq(out[i], load1_byte(0x7f0 + i));
	ck_assert(!pcc_target_read(t, LOAD1_VADDR + 0x7f8, out, 16));
	ck_assert(!pcc_target_read(t, LOAD1_VADDR + 0x800, out, 1));
	ck_assert_ptr_null(pcc_target_ptr(t, LOAD1_VADDR + 0x1000, 1));
	/* Load 2 still comes from the mapped file. */
	ck_assert(pcc_target_read(t, LOAD2_VADDR, out, 16));
	for (size_t i = 0; i < 16; i++)
		ck_assert_uint_eq(out[i], mapped_byte(PAGE + i));
	pcc_target_destroy(t);
	free(core_path);
	free(mapped_path);
}
END_TEST

START_TEST(test_open_truncated_headers)
{
	/* Cut inside the program headers: an error, not a crash. */
	char *core_path = tmp_path("core.4242");
	char *mapped_path = tmp_path("mapped.bin");
	write_core(core_path, mapped_path, sizeof(Elf64_Ehdr) + 20);
	struct pcc_target *t = NULL;
	struct pcc_error *err = pcc_target_open_core(core_path, NULL, &t);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, PCC_ERROR_INPUT);
	ck_assert_ptr_null(t);
	pcc_error_destroy(err);

	/* Cut inside the ELF header. */
	write_core(core_path, mapped_path, 40);
	err = pcc_target_open_core(core_path, NULL, &t);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, PCC_ERROR_INPUT);
	ck_assert_ptr_null(t);
	pcc_error_destroy(err);
	free(core_path);
	free(mapped_path);
}
END_TEST

static Suite *target_suite(void)
{
	Suite *s = suite_create("target");

	TCase *tc = tcase_create("segments");
	tcase_add_test(tc, test_find_segment);
	tcase_add_test(tc, test_find_segment_empty);
	tcase_add_test(tc, test_ptr);
	tcase_add_test(tc, test_hints);
	tcase_add_test(tc, test_top_of_address_space);
	tcase_add_test(tc, test_top_with_segment_at_zero);
	tcase_add_test(tc, test_read);
	tcase_add_test(tc, test_read_cstr);
	tcase_add_test(tc, test_warn_dedup);
	tcase_add_test(tc, test_warn_dedup_many);
	tcase_add_test(tc, test_warn_truncate);
	tcase_add_test(tc, test_destroy_null);
	tcase_add_test(tc, test_prefault_maps_the_segments_read);
	tcase_add_test(tc, test_prefault_stops_with_segments_unread);
	tcase_add_test(tc, test_prefault_unmaps_big_mappings_on_two_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("open_core");
	/* Unchecked: set up once in the parent, removed even when a test fails. */
	tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_open_missing);
	tcase_add_test(tc, test_open_empty);
	tcase_add_test(tc, test_open_directory);
	tcase_add_test(tc, test_open_not_elf);
	tcase_add_test(tc, test_open_executable);
	tcase_add_test(tc, test_open_minimal_core);
	tcase_add_test(tc, test_open_core_nt_file_without_load);
	tcase_add_test(tc, test_open_core_sysroot);
	tcase_add_test(tc, test_open_core_missing_mapped_file);
	tcase_add_test(tc, test_open_truncated_core);
	tcase_add_test(tc, test_open_truncated_headers);
	tcase_add_test(tc, test_open_fifo);
	tcase_add_test(tc, test_open_bad_phnum);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return pcc_run_suite(target_suite());
}
