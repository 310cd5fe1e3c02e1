/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapped_files.h"
#include "memory.h"

static const char deleted_suffix[] = " (deleted)";

/* The hexadecimal number at *p (no sign, no prefix), up to end. */
static bool parse_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	for (; s < end; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (v >> 60)
			return false;
		v = v << 4 | d;
	}
	if (s == *p)
		return false;
	*p = s;
	*out = v;
	return true;
}

static bool parse_dec(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (s == *p)
		return false;
	*p = s;
	*out = v;
	return true;
}

static bool skip(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	++*p;
	return true;
}

static void skip_spaces(const char **p, const char *end)
{
	while (*p < end && **p == ' ')
		++*p;
}

/* "start-end perms offset major:minor inode   path" */
bool pcc_maps_line_parse(const char *line, size_t n, struct pcc_maps_line *out)
{
	const char *p = line, *end = line + n;
	uint64_t dev[2]; /* major, minor */
	memset(out, 0, sizeof(*out));
	if (!parse_hex(&p, end, &out->start) || !skip(&p, end, '-')
	    || !parse_hex(&p, end, &out->end) || !skip(&p, end, ' '))
		return false;
	for (size_t i = 0; i < 4; i++) {
		if (p >= end || *p == ' ')
			return false;
		out->perms[i] = *p++;
	}
	if (!skip(&p, end, ' ') || !parse_hex(&p, end, &out->offset)
	    || !skip(&p, end, ' ') || !parse_hex(&p, end, &dev[0])
	    || !skip(&p, end, ':') || !parse_hex(&p, end, &dev[1])
	    || !skip(&p, end, ' ') || !parse_dec(&p, end, &out->inode)
	    || dev[0] > 0xfff || dev[1] > 0xfffff)
		return false;
	out->dev_major = (unsigned)dev[0];
	out->dev_minor = (unsigned)dev[1];
	skip_spaces(&p, end);
	out->path = p;
	out->path_len = (size_t)(end - p);
	size_t del = sizeof(deleted_suffix) - 1;
	if (out->path_len >= del && out->path[0] == '/'
	    && memcmp(end - del, deleted_suffix, del) == 0) {
		out->deleted = true;
		out->path_len -= del;
	}
	return out->start < out->end;
}

void pcc_mapped_files_add_line(struct pcc_mapped_files *m,
			       const struct pcc_maps_line *line)
{
	struct pcc_mapped_file *f = pcc_mapped_file_vec_push(&m->list);
	memset(f, 0, sizeof(*f));
	f->start = line->start;
	f->end = line->end;
	f->offset = line->offset;
	f->inode = line->inode;
	f->deleted = line->deleted;
	f->path = pcc_xmalloc(line->path_len + 1);
	memcpy(f->path, line->path, line->path_len);
	f->path[line->path_len] = 0;
}

const struct pcc_mapped_file *pcc_mapped_files_find(const struct pcc_mapped_files *m,
						    const char *path)
{
	for (size_t i = 0; i < m->list.len; i++)
		if (strcmp(m->list.data[i].path, path) == 0)
			return &m->list.data[i];
	return NULL;
}

static bool is_executable(const struct pcc_mapped_files *m, const char *path)
{
	return m->executable && m->exe_mapping
	       && strcmp(path, m->exe_mapping) == 0;
}

char *pcc_mapped_files_local_path(const struct pcc_mapped_files *m,
				  const char *path)
{
	if (is_executable(m, path))
		return pcc_xstrdup(m->executable);
	return pcc_xasprintf("%s%s", m->root ? m->root : "", path);
}

/* Open full, a name for the mapping's file: only if it is still the inode
 * the process maps (when that is known). */
static int open_same_file(const char *full, const struct pcc_mapped_file *mapping)
{
	int fd = pcc_target_open_regular(full);
	struct stat st;
	if (fd >= 0 && mapping && mapping->inode
	    && (fstat(fd, &st) < 0 || (uint64_t)st.st_ino != mapping->inode)) {
		close(fd);
		errno = ESTALE;
		fd = -1;
	}
	return fd;
}

int pcc_mapped_files_open(const struct pcc_mapped_files *m, const char *path,
			  const struct pcc_mapped_file *mapping, char **local)
{
	/* Only a process's mappings say more than their path (a core's
	 * record no inode), and a core may list tens of thousands. */
	if (!mapping && m->pid)
		mapping = pcc_mapped_files_find(m, path);
	char *full = NULL;
	int fd = -1;
	if (!(mapping && mapping->deleted)) {
		full = pcc_mapped_files_local_path(m, path);
		fd = open_same_file(full, mapping);
	}
	int saved = errno;
	if (fd < 0 && m->pid && mapping) {
		free(full);
		char mf[96];
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", m->pid,
			 (unsigned long long)mapping->start,
			 (unsigned long long)mapping->end);
		fd = pcc_target_open_regular(mf);
		full = fd >= 0 ? pcc_xstrdup(path) : NULL;
		/* The first attempt's reason is the one worth saying. */
		if (fd < 0)
			errno = saved;
	}
	if (fd >= 0 && local)
		*local = full;
	else
		free(full);
	return fd;
}

void pcc_mapped_files_deinit(struct pcc_mapped_files *m)
{
	for (size_t i = 0; i < m->list.len; i++)
		free(m->list.data[i].path);
	pcc_mapped_file_vec_free(&m->list);
	free(m->root);
	free(m->executable);
	free(m->exe_mapping);
	memset(m, 0, sizeof(*m));
}
