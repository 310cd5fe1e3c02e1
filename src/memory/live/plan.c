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

/* Parse maps text in place (paths become NUL-terminated in it). */
static void parse_maps(char *text, struct map_entry_vec *out)
{
	char *line = text;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		struct map_entry m = { 0 };
		unsigned long long s, e, off, ino;
		int pathpos = -1;
		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &s, &e, m.perms,
			   &off, &m.dev_major, &m.dev_minor, &ino, &pathpos) >= 7
		    && s < e) {
			m.start = s;
			m.end = e;
			m.offset = off;
			m.inode = ino;
			m.path = pathpos >= 0 ? line + pathpos : "";
			size_t len = strlen(m.path);
			static const char del[] = " (deleted)";
			if (len >= sizeof(del) - 1
			    && strcmp(m.path + len - (sizeof(del) - 1), del) == 0)
				m.deleted = true;
			*map_entry_vec_push(out) = m;
		}
		line = nl ? nl + 1 : NULL;
	}
}

static char *xstrndup(const char *s, size_t n)
{
	char *r = pcc_xmalloc(n + 1);
	memcpy(r, s, n);
	r[n] = 0;
	return r;
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

/*
 * Open the file behind a mapping: by its path under the process's root when
 * that is still the same inode, else through map_files (the file was
 * replaced or deleted; needs privileges).  NULL: copy the mapping instead.
 */
static const struct file_image *file_image_get(struct pcc_target *t,
					       struct file_image_vec *cache,
					       pid_t pid, const struct map_entry *m)
{
	for (size_t i = 0; i < cache->len; i++) {
		struct file_image *img = &cache->data[i];
		if (img->inode == m->inode && img->dev_major == m->dev_major
		    && img->dev_minor == m->dev_minor)
			return img->failed ? NULL : img;
	}
	struct file_image img = { .inode = m->inode, .dev_major = m->dev_major,
				  .dev_minor = m->dev_minor };
	int fd = -1;
	if (!m->deleted && m->path[0] == '/') {
		char *full = pcc_xasprintf("%s%s", t->proc_root, m->path);
		fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		free(full);
		struct stat st;
		if (fd >= 0 && (fstat(fd, &st) < 0 || (uint64_t)st.st_ino != m->inode
				|| !S_ISREG(st.st_mode))) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		char mf[96];
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", (int)pid,
			 (unsigned long long)m->start, (unsigned long long)m->end);
		fd = open(mf, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	}
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
		const char *s = m->path;
		bool readable = m->perms[0] == 'r';
		bool writable = m->perms[1] == 'w';
		bool shared = m->perms[3] == 's';
		bool anon = s[0] != '/';
		uint64_t npages = (m->end - m->start) / (uint64_t)page;
		if (!estimate && s[0] == '/') {
			struct pcc_mapped_file *f = pcc_mapped_file_vec_push(&t->files);
			memset(f, 0, sizeof(*f));
			f->start = m->start;
			f->end = m->end;
			f->offset = m->offset;
			f->path = xstrndup(s, strlen(s) - (m->deleted ? 10 : 0));
		}
		m->how = M_SKIP;
		if (!readable || starts_with(s, "[vvar") || starts_with(s, "[vsyscall"))
			continue;
		/* Device memory: reading it can hang or have side effects. */
		if (starts_with(s, "/dev/") && !starts_with(s, "/dev/zero")
		    && !starts_with(s, "/dev/shm/"))
			continue;
		if (anon || (shared && (m->deleted || starts_with(s, "/dev/zero")
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
			bool modified = m->perms[2] != 'x';
			if (pmfd >= 0) {
				flags = grow_flags(flags, &flags_cap, npages);
				if (read_pagemap(pmfd, m->start, m->end, page, flags)) {
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
		const struct file_image *img = file_image_get(t, images, pid, m);
		if (estimate) {
			m->how = M_FILE;
			continue;
		}
		if (img && m->offset < img->size) {
			uint64_t avail = img->size - m->offset;
			avail = (avail + (uint64_t)page - 1) & ~(uint64_t)(page - 1);
			m->how = M_FILE;
			m->file_data = img->data + m->offset;
			m->file_len = avail < m->end - m->start ? avail : m->end - m->start;
			t->files.data[t->files.len - 1].checked = true;
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
		uint64_t npages = (m->end - m->start) / (uint64_t)page;
		bool all = m->copy_all || pmfd < 0;
		if (!all) {
			flags = grow_flags(flags, &flags_cap, npages);
			all = !read_pagemap(pmfd, m->start, m->end, page, flags);
		}
		if (all) {
			*run_vec_push(&p->runs) = (struct run){ m->start, m->end - m->start, NULL };
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
					m->start + k * (uint64_t)page,
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
