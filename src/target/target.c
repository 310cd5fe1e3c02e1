/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target.h"

const struct pcc_segment *pcc_target_find_segment(struct pcc_target *t,
						  uint64_t addr)
{
	size_t lo = 0, hi = t->segments.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pcc_segment *s = &t->segments.data[mid];
		if (addr < s->start)
			hi = mid;
		else if (addr >= s->end)
			lo = mid + 1;
		else {
			t->last_hit = mid;
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
	char *msg = pcc_xvasprintf(fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < t->warnings.len; i++) {
		if (strcmp(t->warnings.data[i], msg) == 0) {
			free(msg);
			return;
		}
	}
	*pcc_string_vec_push(&t->warnings) = msg;
}

void pcc_target_destroy(struct pcc_target *t)
{
	if (!t)
		return;
	if (t->core_elf)
		elf_end(t->core_elf);
	if (t->core_fd >= 0)
		close(t->core_fd);
	for (size_t i = 0; i < t->maps.len; i++)
		munmap(t->maps.data[i].addr, t->maps.data[i].len);
	pcc_mmap_vec_free(&t->maps);
	for (size_t i = 0; i < t->files.len; i++)
		free(t->files.data[i].path);
	pcc_mapped_file_vec_free(&t->files);
	for (size_t i = 0; i < t->warnings.len; i++)
		free(t->warnings.data[i]);
	pcc_string_vec_free(&t->warnings);
	pcc_segment_vec_free(&t->segments);
	free(t->core_path);
	free(t->exe_path);
	free(t->cmdline);
	free(t->sysroot);
	free(t->executable);
	free(t->exe_mapping);
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
