/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memory.h"
#include "prefault.h"

_Thread_local size_t pcc_target_hint;
/* The hint before the last: a traversal reads an object's memory, the
 * type's or a table's in another segment, and the next object's; with two
 * hints most of those switches need no search. */
static _Thread_local size_t hint_before;

/* Segment i is being read: the prefault thread is told. */
static inline void note_read(struct pcc_target *t, size_t i)
{
	if (i < t->nsegments_read
	    && !__atomic_load_n(&t->segments_read[i], __ATOMIC_RELAXED)
	    && !__atomic_exchange_n(&t->segments_read[i], 1, __ATOMIC_RELAXED))
		pcc_prefault_wake(t->prefault);
}

const struct pcc_segment *pcc_target_find_segment(struct pcc_target *t,
						  uint64_t addr)
{
	size_t last = pcc_target_hint;
	if (hint_before < t->segments.len) {
		const struct pcc_segment *s = &t->segments.data[hint_before];
		if (addr >= s->start && addr < s->end) {
			pcc_target_hint = hint_before;
			hint_before = last;
			note_read(t, pcc_target_hint);
			return s;
		}
	}
	size_t lo = 0, hi = t->segments.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pcc_segment *s = &t->segments.data[mid];
		if (addr < s->start)
			hi = mid;
		else if (addr >= s->end)
			lo = mid + 1;
		else {
			hint_before = last;
			pcc_target_hint = mid;
			note_read(t, mid);
			return s;
		}
	}
	return NULL;
}

bool pcc_target_read(struct pcc_target *t, uint64_t addr, void *buf,
		     size_t len)
{
	uint8_t *out = buf;
	while (len) {
		const struct pcc_segment *s = pcc_target_find_segment(t, addr);
		if (!s)
			return false;
		size_t n = s->end - addr < len ? s->end - addr : len;
		memcpy(out, s->data + (addr - s->start), n);
		out += n;
		addr += n;
		len -= n;
		if (len && addr == 0)
			return false; /* wrapped around */
	}
	return true;
}

char *pcc_target_read_cstr(struct pcc_target *t, uint64_t addr, size_t max)
{
	const struct pcc_segment *s = pcc_target_find_segment(t, addr);
	if (!s)
		return NULL;
	size_t avail = s->end - addr;
	size_t n = avail < max ? avail : max;
	const uint8_t *p = s->data + (addr - s->start);
	const uint8_t *nul = memchr(p, 0, n);
	size_t len = nul ? (size_t)(nul - p) : n;
	if (!nul && n == avail && avail < max) {
		/* Crosses into the next segment; rare enough to copy byte-wise. */
		char *str = pcc_xmalloc(max + 1);
		size_t i;
		for (i = 0; i < max; i++) {
			const uint8_t *c = pcc_target_ptr(t, addr + i, 1);
			if (!c) {
				free(str);
				return NULL;
			}
			if (!*c)
				break;
			str[i] = (char)*c;
		}
		str[i] = 0;
		return str;
	}
	char *str = pcc_xmalloc(len + 1);
	memcpy(str, p, len);
	str[len] = 0;
	return str;
}

void pcc_target_warn(struct pcc_target *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pcc_warnings_vadd(&t->warnings, fmt, ap);
	va_end(ap);
}

char *pcc_target_name(const struct pcc_target *t)
{
	if (!t->live)
		return pcc_xstrdup(t->core_path);
	return t->prog_name[0] ? pcc_xasprintf("process %d (%s)", t->pid, t->prog_name)
			       : pcc_xasprintf("process %d", t->pid);
}

int pcc_target_open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

void pcc_target_destroy(struct pcc_target *t)
{
	if (!t)
		return;
	if (t->core_elf)
		elf_end(t->core_elf);
	if (t->core_fd >= 0)
		close(t->core_fd);
	pcc_prefault_unmap(t);
	pcc_mmap_vec_free(&t->maps);
	pcc_mapped_files_deinit(&t->files);
	pcc_warnings_deinit(&t->warnings);
	pcc_segment_vec_free(&t->segments);
	free(t->core_path);
	free(t->exe_path);
	free(t->cmdline);
	free(t->damage);
	free(t);
}

const void *pcc_target_map_file(struct pcc_target *t, int fd, size_t *size)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return NULL;
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	struct pcc_mmap *m = pcc_mmap_vec_push(&t->maps);
	m->addr = p;
	m->len = (size_t)st.st_size;
	*size = m->len;
	return p;
}
