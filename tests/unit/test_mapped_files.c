/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/memory/mapped_files: the maps line parser on real and
 * hostile lines, the path mapping (--sysroot, --executable), and the open
 * policy on this very process's mappings (an inode that no longer matches,
 * a deleted file reached through map_files).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memory/mapped_files.h"
#include "memory/memory.h"
#include "run_suite.h"

static bool parse(const char *line, struct pcc_maps_line *out)
{
	return pcc_maps_line_parse(line, strlen(line), out);
}

static void assert_path(const struct pcc_maps_line *m, const char *want)
{
	ck_assert_uint_eq(m->path_len, strlen(want));
	ck_assert_int_eq(memcmp(m->path, want, m->path_len), 0);
}

START_TEST(test_parse_file_line)
{
	struct pcc_maps_line m;
	ck_assert(parse("7f1c2a000000-7f1c2a021000 r-xp 00002000 fd:01 1835044   "
			"                 /usr/lib/libpython3.11.so.1.0", &m));
	ck_assert_uint_eq(m.start, 0x7f1c2a000000);
	ck_assert_uint_eq(m.end, 0x7f1c2a021000);
	ck_assert_str_eq(m.perms, "r-xp");
	ck_assert_uint_eq(m.offset, 0x2000);
	ck_assert_uint_eq(m.dev_major, 0xfd);
	ck_assert_uint_eq(m.dev_minor, 1);
	ck_assert_uint_eq(m.inode, 1835044);
	assert_path(&m, "/usr/lib/libpython3.11.so.1.0");
	ck_assert(!m.deleted);
}
END_TEST

START_TEST(test_parse_anonymous_and_special)
{
	struct pcc_maps_line m;
	ck_assert(parse("55d0c8a00000-55d0c8a21000 rw-p 00000000 00:00 0", &m));
	assert_path(&m, "");
	ck_assert_uint_eq(m.inode, 0);
	ck_assert(parse("55d0c8a00000-55d0c8a21000 rw-p 00000000 00:00 0 "
			"                         [heap]", &m));
	assert_path(&m, "[heap]");
	ck_assert(!m.deleted);
}
END_TEST

START_TEST(test_parse_deleted_and_spaces)
{
	struct pcc_maps_line m;
	ck_assert(parse("1000-2000 r--s 00000000 00:01 42 /memfd:x (deleted)", &m));
	assert_path(&m, "/memfd:x");
	ck_assert(m.deleted);
	/* A file whose name has spaces in it, and one that is named like
	 * the suffix without being deleted (no leading slash). */
	ck_assert(parse("1000-2000 r--p 00000000 08:01 7 /tmp/a b/c d", &m));
	assert_path(&m, "/tmp/a b/c d");
	ck_assert(parse("1000-2000 r--p 00000000 08:01 7 [x] (deleted)", &m));
	ck_assert(!m.deleted);
}
END_TEST

START_TEST(test_parse_rejects_malformed)
{
	struct pcc_maps_line m;
	static const char *const bad[] = {
		"",
		"1000",
		"1000-",
		"1000-2000",
		"1000-2000 r-x",
		"1000-2000 r-xp",
		"1000-2000 r-xp 0 08:01",
		"1000-2000 r-xp 0 08 7 /x",
		"1000-2000 r-xp 0 08:01 x /x",
		"2000-1000 r-xp 0 08:01 7 /x",   /* end before start */
		"2000-2000 r-xp 0 08:01 7 /x",   /* empty */
		"g000-2000 r-xp 0 08:01 7 /x",
		"10000000000000000-20000000000000000 r-xp 0 08:01 7 /x", /* > 64 bits */
		"1000-2000 r-xp 0 1000:01 7 /x", /* major out of range */
		"1000-2000 r-xp 0 08:01 99999999999999999999 /x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!parse(bad[i], &m), "accepted \"%s\"", bad[i]);
	/* The length bounds the parse: no NUL needed, nothing read past it. */
	const char line[] = "1000-2000 r-xp 0 08:01 7 /x/y";
	ck_assert(pcc_maps_line_parse(line, strlen(line) - 2, &m));
	assert_path(&m, "/x");
	ck_assert(!pcc_maps_line_parse(line, 12, &m));
}
END_TEST

START_TEST(test_add_line_and_find)
{
	struct pcc_mapped_files files = { 0 };
	struct pcc_maps_line m;
	ck_assert(parse("1000-2000 r--p 00001000 08:01 7 /lib/a.so (deleted)", &m));
	pcc_mapped_files_add_line(&files, &m);
	ck_assert(parse("3000-4000 r--p 00000000 08:01 8 /lib/b.so", &m));
	pcc_mapped_files_add_line(&files, &m);
	ck_assert_uint_eq(files.list.len, 2);
	const struct pcc_mapped_file *a = pcc_mapped_files_find(&files, "/lib/a.so");
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->start, 0x1000);
	ck_assert_uint_eq(a->offset, 0x1000);
	ck_assert_uint_eq(a->inode, 7);
	ck_assert(a->deleted);
	ck_assert_ptr_null(pcc_mapped_files_find(&files, "/lib/c.so"));
	pcc_mapped_files_deinit(&files);
}
END_TEST

START_TEST(test_local_path)
{
	struct pcc_mapped_files files = { 0 };
	char *p = pcc_mapped_files_local_path(&files, "/usr/bin/python3");
	ck_assert_str_eq(p, "/usr/bin/python3");
	free(p);
	files.root = pcc_xstrdup("/srv/root");
	files.executable = pcc_xstrdup("/tmp/my-python");
	p = pcc_mapped_files_local_path(&files, "/usr/bin/python3");
	ck_assert_str_eq(p, "/srv/root/usr/bin/python3");
	free(p);
	/* --executable stands for the executable's mapping only. */
	files.exe_mapping = pcc_xstrdup("/usr/bin/python3");
	p = pcc_mapped_files_local_path(&files, "/usr/bin/python3");
	ck_assert_str_eq(p, "/tmp/my-python");
	free(p);
	pcc_mapped_files_deinit(&files);
}
END_TEST

static char tmpdir[64];

static char *tmp_file(const char *name, const char *text)
{
	char *path = pcc_xasprintf("%s%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

START_TEST(test_open_core_files)
{
	strcpy(tmpdir, "/tmp/pcc-mapped.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	char *dir = pcc_xasprintf("%s/lib", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	char *lib = tmp_file("/lib/x.so", "x");
	char *fifo = pcc_xasprintf("%s/lib/fifo.so", tmpdir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);

	struct pcc_mapped_files files = { .root = pcc_xstrdup(tmpdir) };
	char *local = NULL;
	int fd = pcc_mapped_files_open(&files, "/lib/x.so", NULL, &local);
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(local, lib);
	close(fd);
	free(local);
	/* Never blocks on a FIFO; says it is not a regular file. */
	ck_assert_int_lt(pcc_mapped_files_open(&files, "/lib/fifo.so", NULL, NULL), 0);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_lt(pcc_mapped_files_open(&files, "/lib/none.so", NULL, NULL), 0);
	ck_assert_int_eq(errno, ENOENT);

	pcc_mapped_files_deinit(&files);
	unlink(fifo);
	unlink(lib);
	rmdir(dir);
	rmdir(tmpdir);
	free(fifo);
	free(lib);
	free(dir);
}
END_TEST

/* This process's mapping of path, as /proc/self/maps says. */
static bool own_mapping(struct pcc_mapped_files *files, const char *path)
{
	FILE *f = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(f);
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		struct pcc_maps_line m;
		if (parse(line, &m) && m.path_len == strlen(path)
		    && memcmp(m.path, path, m.path_len) == 0) {
			pcc_mapped_files_add_line(files, &m);
			found = true;
		}
	}
	fclose(f);
	return found;
}

START_TEST(test_open_live_files)
{
	strcpy(tmpdir, "/tmp/pcc-mapped.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	char *path = tmp_file("/mapped", "mapped file");
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	void *p = mmap(NULL, 11, PROT_READ, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	close(fd);

	struct pcc_mapped_files files = { .pid = (int)getpid() };
	ck_assert(own_mapping(&files, path));
	char *local = NULL;
	fd = pcc_mapped_files_open(&files, path, NULL, &local);
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(local, path);
	close(fd);
	free(local);

	/* Replaced by another file of the same name: not opened by its
	 * path any more, only through map_files (which needs privileges). */
	unlink(path);
	free(tmp_file("/mapped", "another one"));
	local = NULL;
	fd = pcc_mapped_files_open(&files, path, NULL, &local);
	char probe[96];
	snprintf(probe, sizeof(probe), "/proc/self/map_files/%llx-%llx",
		 (unsigned long long)files.list.data[0].start,
		 (unsigned long long)files.list.data[0].end);
	int direct = open(probe, O_RDONLY);
	if (direct >= 0) {
		close(direct);
		ck_assert_int_ge(fd, 0);
		/* The very file: the first text, not the second. */
		char got[12] = { 0 };
		ck_assert_int_eq(pread(fd, got, 11, 0), 11);
		ck_assert_str_eq(got, "mapped file");
		ck_assert_str_eq(local, path);
		close(fd);
		free(local);
	} else {
		ck_assert_int_lt(fd, 0);
	}
	/* A mapping of another process's number (none): the path only. */
	files.pid = 0;
	ck_assert_int_ge(fd = pcc_mapped_files_open(&files, path, NULL, NULL), 0);
	close(fd);

	munmap(p, 11);
	pcc_mapped_files_deinit(&files);
	unlink(path);
	rmdir(tmpdir);
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mapped_files");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_file_line);
	tcase_add_test(tc, test_parse_anonymous_and_special);
	tcase_add_test(tc, test_parse_deleted_and_spaces);
	tcase_add_test(tc, test_parse_rejects_malformed);
	tcase_add_test(tc, test_add_line_and_find);
	tcase_add_test(tc, test_local_path);
	suite_add_tcase(s, tc);
	tc = tcase_create("open");
	tcase_add_test(tc, test_open_core_files);
	tcase_add_test(tc, test_open_live_files);
	suite_add_tcase(s, tc);
	return pcc_run_suite(s);
}
