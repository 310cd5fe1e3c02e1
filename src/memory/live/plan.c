/* SPDX-License-Identifier: MIT */
/*
 * The plan for a live process's memory: per mapping, copy it (which pages:
 * /proc/PID/pagemap), map the file behind it, or leave it out.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan.h"

/* Parse maps text in place (each line becomes NUL-terminated in it). */
static void parse_maps(char *text, struct map_entry_vec *out)
{
	char *line = text;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		struct map_entry m = { 0 };
		if (pcc_maps_line_parse(line, strlen(line), &m.line))
			*map_entry_vec_push(out) = m;
		line = nl ? nl + 1 : NULL;
	}
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum {
	PM_PRESENT = 1, /* bit 63 */
	PM_SWAPPED = 2, /* bit 62 */
	PM_FILE = 4,    /* bit 61: a file page (or shared anonymous) */
};

/*
 * Page flags of [start, end) into flags (one byte a page); false when
 * pagemap cannot be read.
 */
static bool read_pagemap(int fd, uint64_t start, uint64_t end, long page,
			 uint8_t *flags)
{
	enum { CHUNK = 4096 };
	uint64_t buf[CHUNK];
	uint64_t first = start / (uint64_t)page, n = (end - start) / (uint64_t)page;
	for (uint64_t done = 0; done < n;) {
		size_t want = n - done < CHUNK ? (size_t)(n - done) : CHUNK;
		ssize_t got = pread(fd, buf, want * 8, (off_t)((first + done) * 8));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || got % 8)
			return false;
		for (size_t i = 0; i < (size_t)got / 8; i++) {
			uint64_t v = buf[i];
			flags[done + i] = (uint8_t)(((v >> 63) & 1 ? PM_PRESENT : 0)
						    | ((v >> 62) & 1 ? PM_SWAPPED : 0)
						    | ((v >> 61) & 1 ? PM_FILE : 0));
		}
		done += (uint64_t)got / 8;
	}
	return true;
}

static char *xstrndup(const char *s, size_t n)
{
	char *r = pcc_xmalloc(n + 1);
	memcpy(r, s, n);
	r[n] = 0;
	return r;
}

/*
 * The file behind a mapping, mapped once per file (pcc_mapped_files_open
 * says how it is found).  NULL: copy the mapping instead.
 */
static const struct file_image *open_file_image(struct pcc_target *t,
						struct file_image_vec *cache,
						const struct map_entry *m)
{
	for (size_t i = 0; i < cache->len; i++) {
		struct file_image *img = &cache->data[i];
		if (img->inode == m->line.inode && img->dev_major == m->line.dev_major
		    && img->dev_minor == m->line.dev_minor)
			return img->failed ? NULL : img;
	}
	struct file_image img = { .inode = m->line.inode,
				  .dev_major = m->line.dev_major,
				  .dev_minor = m->line.dev_minor };
	struct pcc_mapped_file mapping = { .start = m->line.start,
					   .end = m->line.end,
					   .inode = m->line.inode,
					   .deleted = m->line.deleted };
	char *path = xstrndup(m->line.path, m->line.path_len);
	int fd = pcc_mapped_files_open(&t->files, path, &mapping, NULL);
	free(path);
	if (fd >= 0) {
		size_t size = 0;
		img.data = pcc_target_map_file(t, fd, &size);
		img.size = size;
		close(fd);
	}
	img.failed = img.data == NULL;
	*file_image_vec_push(cache) = img;
	return img.failed ? NULL : &cache->data[cache->len - 1];
}

void pcc_live_plan_free(struct plan *p)
{
	map_entry_vec_free(&p->maps);
	run_vec_free(&p->runs);
}

static uint8_t *grow_flags(uint8_t *flags, size_t *cap, uint64_t n)
{
	if (n > *cap) {
		*cap = (size_t)n;
		flags = pcc_xrealloc(flags, *cap);
	}
	return flags;
}

/*
 * Parse text (in place) and decide per mapping.  estimate: before the stop
 * (files are opened into images, for later, but nothing is recorded in t).
 */
void pcc_live_plan(struct pcc_target *t, pid_t pid, char *text,
			 bool estimate, struct file_image_vec *images,
			 struct plan *p)
{
	long page = sysconf(_SC_PAGESIZE);
	parse_maps(text, &p->maps);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	int pmfd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *flags = NULL;
	size_t flags_cap = 0;

	for (size_t i = 0; i < p->maps.len; i++) {
		struct map_entry *m = &p->maps.data[i];
		const char *s = m->line.path;
		bool readable = m->line.perms[0] == 'r';
		bool writable = m->line.perms[1] == 'w';
		bool shared = m->line.perms[3] == 's';
		bool anon = s[0] != '/';
		uint64_t npages = (m->line.end - m->line.start) / (uint64_t)page;
		if (!estimate && s[0] == '/')
			pcc_mapped_files_add_line(&t->files, &m->line);
		m->how = M_SKIP;
		if (!readable || starts_with(s, "[vvar") || starts_with(s, "[vsyscall"))
			continue;
		/* Device memory: reading it can hang or have side effects. */
		if (starts_with(s, "/dev/") && !starts_with(s, "/dev/zero")
		    && !starts_with(s, "/dev/shm/"))
			continue;
		if (anon || (shared && (m->line.deleted || starts_with(s, "/dev/zero")
					|| starts_with(s, "/SYSV")
					|| starts_with(s, "/memfd:")))) {
			m->how = M_COPY;
			/* Private anonymous: untouched pages are zero. */
			m->copy_all = shared;
			continue;
		}
		if (writable && !shared) {
			/* .data: pages not written yet are the file's. */
			m->how = M_COPY;
			m->copy_all = true;
			continue;
		}
		/* A read-only private file mapping may still hold pages the
		 * process wrote before making it read-only (RELRO): then it
		 * is copied. */
		if (!shared) {
			bool modified = m->line.perms[2] != 'x';
			if (pmfd >= 0) {
				flags = grow_flags(flags, &flags_cap, npages);
				if (read_pagemap(pmfd, m->line.start, m->line.end, page, flags)) {
					modified = false;
					for (uint64_t k = 0; k < npages && !modified; k++)
						modified = (flags[k] & PM_SWAPPED)
							   || ((flags[k] & PM_PRESENT)
							       && !(flags[k] & PM_FILE));
				}
			}
			if (modified) {
				m->how = M_COPY;
				m->copy_all = true;
				continue;
			}
		}
		const struct file_image *img = open_file_image(t, images, m);
		if (estimate) {
			m->how = M_FILE;
			continue;
		}
		if (img && m->line.offset < img->size) {
			uint64_t avail = img->size - m->line.offset;
			avail = (avail + (uint64_t)page - 1) & ~(uint64_t)(page - 1);
			m->how = M_FILE;
			m->file_data = img->data + m->line.offset;
			m->file_len = avail < m->line.end - m->line.start ? avail : m->line.end - m->line.start;
			t->files.list.data[t->files.list.len - 1].checked = true;
		} else if (img) {
			continue; /* wholly beyond the end of the file */
		} else if (!shared) {
			m->how = M_COPY;
			m->copy_all = true;
		} else {
			pcc_target_warn(t, "shared mapping of %s is not readable: "
					   "left out", s);
		}
	}

	/* The pages to copy: all of them, or those ever touched. */
	for (size_t i = 0; i < p->maps.len; i++) {
		struct map_entry *m = &p->maps.data[i];
		if (m->how != M_COPY)
			continue;
		m->run_first = p->runs.len;
		uint64_t npages = (m->line.end - m->line.start) / (uint64_t)page;
		bool all = m->copy_all || pmfd < 0;
		if (!all) {
			flags = grow_flags(flags, &flags_cap, npages);
			all = !read_pagemap(pmfd, m->line.start, m->line.end, page, flags);
		}
		if (all) {
			*run_vec_push(&p->runs) = (struct run){ m->line.start, m->line.end - m->line.start, NULL };
		} else {
			for (uint64_t k = 0; k < npages;) {
				if (!(flags[k] & (PM_PRESENT | PM_SWAPPED))) {
					k++;
					continue;
				}
				uint64_t e = k;
				while (e < npages && (flags[e] & (PM_PRESENT | PM_SWAPPED)))
					e++;
				*run_vec_push(&p->runs) = (struct run){
					m->line.start + k * (uint64_t)page,
					(e - k) * (uint64_t)page, NULL };
				k = e;
			}
		}
		m->run_end = p->runs.len;
	}
	for (size_t i = 0; i < p->runs.len; i++)
		p->copy_bytes += p->runs.data[i].len;
	if (pmfd >= 0)
		close(pmfd);
	free(flags);
}
