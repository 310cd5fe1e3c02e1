/* SPDX-License-Identifier: MIT */
/*
 * ELF core files.  The core is mmapped once; each PT_LOAD becomes a segment
 * that points into the mapping.  The kernel and gdb leave out unmodified
 * file-backed pages (coredump_filter), and those hold what we need most:
 * type names and other .rodata.  Such ranges are filled from the file named
 * by NT_FILE, after its build id is compared with the one in the core.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_DEBUGINFOD
#include <elfutils/debuginfod.h>
#endif

#include "spool.h"
#include "target.h"
#include "../util/sort.h"

enum { BUILD_ID_MAX = 64 };

struct build_id {
	uint8_t bytes[BUILD_ID_MAX];
	size_t len;
};

/* Walk the notes in [p, p+len), calling fn for each well-formed one. */
static void for_each_note(const uint8_t *p, size_t len,
			  void (*fn)(void *arg, uint32_t type, const char *name,
				     size_t namesz, const uint8_t *desc,
				     size_t descsz),
			  void *arg)
{
	size_t off = 0;
	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + off, sizeof(nh));
		off += sizeof(nh);
		size_t namesz = nh.n_namesz, descsz = nh.n_descsz;
		size_t name_pad = (namesz + 3) & ~(size_t)3;
		size_t desc_pad = (descsz + 3) & ~(size_t)3;
		if (name_pad < namesz || name_pad > len - off)
			return;
		const char *name = (const char *)p + off;
		off += name_pad;
		if (desc_pad < descsz || desc_pad > len - off) {
			if (descsz <= len - off)
				fn(arg, nh.n_type, name, namesz, p + off, descsz);
			return;
		}
		fn(arg, nh.n_type, name, namesz, p + off, descsz);
		off += desc_pad;
	}
}

static void build_id_note(void *arg, uint32_t type, const char *name,
			  size_t namesz, const uint8_t *desc, size_t descsz)
{
	struct build_id *id = arg;
	if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(name, "GNU", 4) == 0
	    && descsz > 0 && descsz <= BUILD_ID_MAX && id->len == 0) {
		memcpy(id->bytes, desc, descsz);
		id->len = descsz;
	}
}

/*
 * Build id of an ELF image whose first `len` bytes are at `image` (an on-disk
 * file, or the first dumped page of a mapping).  Notes beyond len are not
 * seen, which only makes the id "unknown".
 */
static void elf_image_build_id(const uint8_t *image, size_t len,
			       struct build_id *id)
{
	id->len = 0;
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return;
	memcpy(&eh, image, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0
	    || eh.e_ident[EI_CLASS] != ELFCLASS64
	    || eh.e_phentsize != sizeof(Elf64_Phdr))
		return;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		uint64_t ph_off = eh.e_phoff + i * sizeof(Elf64_Phdr);
		if (ph_off < eh.e_phoff || ph_off > len
		    || len - ph_off < sizeof(Elf64_Phdr))
			return;
		Elf64_Phdr ph;
		memcpy(&ph, image + ph_off, sizeof(ph));
		if (ph.p_type != PT_NOTE || ph.p_offset > len
		    || ph.p_filesz > len - ph.p_offset)
			continue;
		for_each_note(image + ph.p_offset, ph.p_filesz, build_id_note,
			      id);
		if (id->len)
			return;
	}
}

static char *hex(const struct build_id *id)
{
	char *s = pcc_xmalloc(id->len * 2 + 1);
	for (size_t i = 0; i < id->len; i++)
		sprintf(s + 2 * i, "%02x", id->bytes[i]);
	s[id->len * 2] = 0;
	return s;
}

struct note_state {
	struct pcc_target *t;
	bool have_prstatus;
};

static void parse_nt_file(struct pcc_target *t, const uint8_t *desc,
			  size_t descsz)
{
	uint64_t count, page_size;
	if (descsz < 16)
		return;
	memcpy(&count, desc, 8);
	memcpy(&page_size, desc + 8, 8);
	if (count > (descsz - 16) / 24)
		return;
	const uint8_t *names = desc + 16 + count * 24;
	const uint8_t *end = desc + descsz;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t v[3];
		memcpy(v, desc + 16 + i * 24, sizeof(v));
		const uint8_t *nul = memchr(names, 0, (size_t)(end - names));
		if (!nul)
			return;
		if (v[0] < v[1] && v[2] <= UINT64_MAX / (page_size ? page_size : 1)) {
			struct pcc_mapped_file *f =
				pcc_mapped_file_vec_push(&t->files);
			memset(f, 0, sizeof(*f));
			f->start = v[0];
			f->end = v[1];
			f->offset = v[2] * page_size;
			f->path = pcc_xstrdup((const char *)names);
		}
		names = nul + 1;
	}
}

static void core_note(void *arg, uint32_t type, const char *name,
		      size_t namesz, const uint8_t *desc, size_t descsz)
{
	struct note_state *st = arg;
	struct pcc_target *t = st->t;
	if (namesz != 5 || memcmp(name, "CORE", 5) != 0)
		return;
	switch (type) {
	case NT_PRSTATUS:
		/* The first one is the thread that received the signal. */
		if (!st->have_prstatus && descsz >= sizeof(struct elf_prstatus)) {
			struct elf_prstatus pr;
			memcpy(&pr, desc, sizeof(pr));
			t->pid = pr.pr_pid;
			t->signal = pr.pr_cursig;
			st->have_prstatus = true;
		}
		break;
	case NT_PRPSINFO:
		if (descsz >= sizeof(struct elf_prpsinfo)) {
			struct elf_prpsinfo ps;
			memcpy(&ps, desc, sizeof(ps));
			memcpy(t->prog_name, ps.pr_fname, sizeof(ps.pr_fname));
			t->prog_name[sizeof(t->prog_name) - 1] = 0;
			char args[sizeof(ps.pr_psargs) + 1];
			memcpy(args, ps.pr_psargs, sizeof(ps.pr_psargs));
			args[sizeof(ps.pr_psargs)] = 0;
			free(t->cmdline);
			t->cmdline = pcc_xstrdup(args);
			if (t->pid == 0)
				t->pid = ps.pr_pid;
		}
		break;
	case NT_AUXV:
		for (size_t off = 0; off + 16 <= descsz; off += 16) {
			uint64_t kv[2];
			memcpy(kv, desc + off, 16);
			if (kv[0] == AT_PHDR)
				t->auxv_phdr = kv[1];
			else if (kv[0] == AT_ENTRY)
				t->auxv_entry = kv[1];
			else if (kv[0] == AT_EXECFN)
				t->auxv_execfn = kv[1];
		}
		break;
	case NT_FILE:
		parse_nt_file(t, desc, descsz);
		break;
	}
}

static int segment_cmp(const void *a, const void *b)
{
	const struct pcc_segment *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sort, then drop overlaps: the earlier segment keeps its bytes. */
static void sort_segments(struct pcc_target *t)
{
	struct pcc_segment_vec *v = &t->segments;
	pcc_sort(v->data, v->len, sizeof(v->data[0]), segment_cmp);
	size_t out = 0;
	for (size_t i = 0; i < v->len; i++) {
		struct pcc_segment s = v->data[i];
		if (out && s.start < v->data[out - 1].end) {
			uint64_t cut = v->data[out - 1].end;
			if (s.end <= cut)
				continue;
			s.data += cut - s.start;
			s.start = cut;
		}
		v->data[out++] = s;
	}
	v->len = out;
	t->last_hit = 0;
}

struct file_image {
	char *path;
	const uint8_t *data;
	size_t size;
	bool usable;
	/* The build ids differ; the file is the executable or libpython and
	 * the mismatch was not overridden: the core is refused. */
	char *refusal;
};
PCC_VEC(file_image_vec, struct file_image)

/*
 * The files whose build id must match: the executable and libpython.  Their
 * code and struct layouts are the analysis; using another build of them
 * would read the heap with the wrong layouts.
 */
static bool must_match(const struct pcc_target *t, const char *path)
{
	if (t->exe_mapping && strcmp(path, t->exe_mapping) == 0)
		return true;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return strncmp(base, "libpython", 9) == 0;
}

/* Where a file the core names is read from here. */
static char *local_path(const struct pcc_target *t, const char *path)
{
	if (t->executable && t->exe_mapping && strcmp(path, t->exe_mapping) == 0)
		return pcc_xstrdup(t->executable);
	return pcc_xasprintf("%s%s", t->sysroot ? t->sysroot : "", path);
}

/*
 * The mapping that holds the executable: the one with the program headers
 * (AT_PHDR), else the one named like AT_EXECFN.
 */
static void find_exe_mapping(struct pcc_target *t)
{
	const char *found = NULL;
	for (size_t i = 0; i < t->files.len && !found; i++) {
		const struct pcc_mapped_file *f = &t->files.data[i];
		if (t->auxv_phdr >= f->start && t->auxv_phdr < f->end)
			found = f->path;
	}
	if (!found && t->auxv_execfn) {
		char *execfn = pcc_target_read_cstr(t, t->auxv_execfn, 4096);
		for (size_t i = 0; execfn && i < t->files.len && !found; i++)
			if (strcmp(t->files.data[i].path, execfn) == 0)
				found = t->files.data[i].path;
		free(execfn);
	}
	if (found)
		t->exe_mapping = pcc_xstrdup(found);
}

/*
 * Open the on-disk file behind a mapping once, and decide whether it may
 * stand in for the missing pages: its build id must match the one in the
 * core's copy of the ELF header, when the core has one.
 */
/*
 * A file the core names, fetched from a debuginfod server by the build id
 * the core records (when DEBUGINFOD_URLS is set): for a core from another
 * machine whose files are not here.  Returns an fd, *path its cached copy.
 */
static int fetch_by_build_id(const struct build_id *id, char **path)
{
#ifdef HAVE_DEBUGINFOD
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!urls || !*urls)
		return -1;
	debuginfod_client *c = debuginfod_begin();
	if (!c)
		return -1;
	int fd = debuginfod_find_executable(c, id->bytes, (int)id->len, path);
	debuginfod_end(c);
	return fd;
#else
	(void)id;
	(void)path;
	return -1;
#endif
}

static bool same_id(const struct build_id *a, const struct build_id *b)
{
	return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

static struct file_image *file_image_get(struct pcc_target *t,
					 struct file_image_vec *cache,
					 const char *path)
{
	for (size_t i = 0; i < cache->len; i++)
		if (strcmp(cache->data[i].path, path) == 0)
			return &cache->data[i];
	struct file_image *img = file_image_vec_push(cache);
	memset(img, 0, sizeof(*img));
	img->path = pcc_xstrdup(path);

	/* The build id the core recorded, from its copy of the ELF headers. */
	struct build_id in_core = { .len = 0 };
	for (size_t i = 0; i < t->files.len; i++) {
		const struct pcc_mapped_file *f = &t->files.data[i];
		if (f->offset != 0 || strcmp(f->path, path) != 0)
			continue;
		const struct pcc_segment *s = pcc_target_find_segment(t, f->start);
		if (s && s->source == PCC_SEGMENT_CORE)
			elf_image_build_id(s->data + (f->start - s->start),
					   s->end - f->start, &in_core);
		break;
	}

	char *full = local_path(t, path);
	const uint8_t *data = NULL;
	size_t size = 0;
	int fd = open(full, O_RDONLY | O_CLOEXEC);
	int open_errno = errno;
	struct build_id on_disk = { .len = 0 };
	if (fd >= 0) {
		data = pcc_target_map_file(t, fd, &size);
		close(fd);
		if (data)
			elf_image_build_id(data, size, &on_disk);
	}
	bool mismatch = data && in_core.len && on_disk.len
			&& !same_id(&in_core, &on_disk);
	if ((!data || mismatch) && in_core.len) {
		char *fetched = NULL;
		int dfd = fetch_by_build_id(&in_core, &fetched);
		const uint8_t *d = NULL;
		size_t dsize = 0;
		if (dfd >= 0) {
			d = pcc_target_map_file(t, dfd, &dsize);
			close(dfd);
		}
		struct build_id got = { .len = 0 };
		if (d)
			elf_image_build_id(d, dsize, &got);
		if (d && same_id(&got, &in_core)) {
			data = d;
			size = dsize;
			mismatch = false;
			free(full);
			full = fetched;
			fetched = NULL;
		}
		free(fetched);
	}
	if (!data) {
		if (fd < 0)
			pcc_target_warn(t,
					"mapped file %s is not readable (%s): memory "
					"the core left out of it is unavailable",
					full, strerror(open_errno));
		else
			pcc_target_warn(t, "cannot map %s: memory the core left "
					   "out of it is unavailable", full);
		free(full);
		return img;
	}
	img->data = data;
	img->size = size;
	if (mismatch) {
		char *a = hex(&in_core), *b = hex(&on_disk);
		if (!must_match(t, path)) {
			pcc_target_warn(t,
					"%s does not match the core (build id %s, the "
					"core has %s): memory the core left out of it "
					"is unavailable", full, b, a);
		} else if (t->ignore_build_id) {
			pcc_target_warn(t,
					"%s does not match the core (build id %s, the "
					"core has %s): used anyway (--ignore-build-id), "
					"the results may be wrong", full, b, a);
			img->usable = true;
			for (size_t i = 0; i < t->files.len; i++)
				if (strcmp(t->files.data[i].path, path) == 0)
					t->files.data[i].build_id_mismatch = true;
		} else {
			img->refusal = pcc_xasprintf(
				"%s is not the file %s was written with: its build "
				"id is %s, the core's is %s",
				full, t->core_path, b, a);
		}
		free(a);
		free(b);
	} else {
		img->usable = true;
	}
	free(full);
	return img;
}

/* Fill [start, end), which the core does not hold, from mapped files. */
static void add_file_segments(struct pcc_target *t, struct file_image_vec *cache,
			      struct pcc_segment_vec *out, uint64_t start,
			      uint64_t end)
{
	for (size_t i = 0; i < t->files.len; i++) {
		const struct pcc_mapped_file *f = &t->files.data[i];
		uint64_t lo = f->start > start ? f->start : start;
		uint64_t hi = f->end < end ? f->end : end;
		if (lo >= hi)
			continue;
		struct file_image *img = file_image_get(t, cache, f->path);
		if (!img->usable)
			continue;
		uint64_t file_off = f->offset + (lo - f->start);
		if (file_off >= img->size)
			continue;
		if (hi - lo > img->size - file_off)
			hi = lo + (img->size - file_off);
		struct pcc_segment *s = pcc_segment_vec_push(out);
		s->start = lo;
		s->end = hi;
		s->data = img->data + file_off;
		s->source = PCC_SEGMENT_FILE;
	}
}

static struct pcc_error *read_program_headers(struct pcc_target *t,
					      const uint8_t *image, size_t size,
					      const char *path)
{
	Elf64_Ehdr eh;
	if (size < EI_NIDENT || memcmp(image, ELFMAG, SELFMAG) != 0)
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT, "%s is not an ELF file",
					 path),
			"pass a core dump (from the kernel, gcore or coredumpctl "
			"dump)");
	if (size < sizeof(eh))
		return pcc_error_create(PCC_ERROR_INPUT,
					"%s is truncated: no complete ELF header",
					path);
	memcpy(&eh, image, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB
	    || eh.e_machine != EM_X86_64)
		return pcc_error_create(PCC_ERROR_UNSUPPORTED,
					"%s is not a 64-bit x86-64 ELF file; only "
					"x86-64 cores are supported", path);
	if (eh.e_type != ET_CORE)
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "%s is an ELF file but not a core dump",
					 path),
			"pass the core, not the executable or a library");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > size
	    || eh.e_phnum > (size - eh.e_phoff) / sizeof(Elf64_Phdr))
		return pcc_error_create(PCC_ERROR_INPUT,
					"%s is truncated or corrupt: its program "
					"headers are not in the file", path);

	struct note_state st = { .t = t };
	for (size_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, image + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			if (ph.p_offset < size) {
				size_t len = ph.p_filesz < size - ph.p_offset
						     ? ph.p_filesz
						     : size - ph.p_offset;
				for_each_note(image + ph.p_offset, len, core_note,
					      &st);
			}
			continue;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0
		    || ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
			continue;
		uint64_t have = ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz;
		if (have && (ph.p_offset >= size || have > size - ph.p_offset)) {
			uint64_t avail = ph.p_offset < size ? size - ph.p_offset : 0;
			t->missing_bytes += have - avail;
			have = avail;
		}
		if (have) {
			struct pcc_segment *s = pcc_segment_vec_push(&t->segments);
			s->start = ph.p_vaddr;
			s->end = ph.p_vaddr + have;
			s->data = image + ph.p_offset;
			s->source = PCC_SEGMENT_CORE;
		}
	}
	if (t->missing_bytes && !t->damage)
		t->damage = pcc_xasprintf("%llu bytes of dumped memory are missing",
					  (unsigned long long)t->missing_bytes);
	if (t->missing_bytes)
		pcc_target_warn(t,
				"%s is truncated: %llu bytes of dumped memory are "
				"missing", path,
				(unsigned long long)t->missing_bytes);
	sort_segments(t);

	find_exe_mapping(t);
	struct file_image_vec cache = { 0 };
	struct pcc_segment_vec extra = { 0 };
	/* The kernel writes a PT_LOAD with no file bytes for a mapping it left
	 * out; gdb writes no PT_LOAD at all.  Either way, the parts of mapped
	 * files that no core segment covers are the gaps to fill. */
	for (size_t i = 0; i < t->files.len; i++) {
		uint64_t at = t->files.data[i].start, end = t->files.data[i].end;
		while (at < end) {
			const struct pcc_segment *s = pcc_target_find_segment(t, at);
			if (s) {
				at = s->end;
				continue;
			}
			uint64_t gap_end = end;
			for (size_t j = 0; j < t->segments.len; j++) {
				uint64_t st_ = t->segments.data[j].start;
				if (st_ > at && st_ < gap_end)
					gap_end = st_;
			}
			add_file_segments(t, &cache, &extra, at, gap_end);
			at = gap_end;
		}
	}
	for (size_t i = 0; i < extra.len; i++)
		*pcc_segment_vec_push(&t->segments) = extra.data[i];
	sort_segments(t);
	/* The executable and libpython are checked even when the core holds
	 * all their pages: libdwfl reads their symbols and DWARF from disk. */
	for (size_t i = 0; i < t->files.len; i++)
		if (t->files.data[i].offset == 0
		    && must_match(t, t->files.data[i].path))
			file_image_get(t, &cache, t->files.data[i].path);
	struct pcc_error *err = NULL;
	for (size_t i = 0; i < cache.len; i++) {
		if (cache.data[i].refusal && !err)
			err = pcc_error_hint(
				pcc_error_create(PCC_ERROR_INPUT, "%s",
						 cache.data[i].refusal),
				"pass the matching file (--sysroot DIR, --executable "
				"FILE), or --ignore-build-id to use it anyway");
		free(cache.data[i].refusal);
		free(cache.data[i].path);
	}
	file_image_vec_free(&cache);
	pcc_segment_vec_free(&extra);
	if (err)
		return err;

	if (t->auxv_execfn)
		t->exe_path = pcc_target_read_cstr(t, t->auxv_execfn, 4096);
	return NULL;
}

struct pcc_error *pcc_target_open_core(const char *path, const char *sysroot,
				       struct pcc_target **ret)
{
	struct pcc_core_options opts = { .sysroot = sysroot };
	return pcc_target_open_core_with(path, &opts, ret);
}

struct pcc_error *pcc_target_open_core_with(const char *path,
					    const struct pcc_core_options *opts,
					    struct pcc_target **ret)
{
	struct pcc_target *t = pcc_xcalloc(1, sizeof(*t));
	t->core_fd = -1;
	/* "-" is standard input: named so in messages and reports. */
	t->core_path = pcc_xstrdup(strcmp(path, "-") == 0 ? "<stdin>" : path);
	if (opts->sysroot && *opts->sysroot)
		t->sysroot = pcc_xstrdup(opts->sysroot);
	if (opts->executable && *opts->executable)
		t->executable = pcc_xstrdup(opts->executable);
	t->ignore_build_id = opts->ignore_build_id;

	struct pcc_core_input in;
	struct pcc_error *err = pcc_core_input_open(path, t->core_path, &in);
	path = t->core_path;
	if (err)
		goto out;
	t->core_fd = in.fd;
	t->compression = pcc_compression_name(in.compression);
	if (in.damage) {
		pcc_target_warn(t, "%s: %s; analysing the %llu bytes decompressed "
				"before it", path, in.damage,
				(unsigned long long)in.size);
		t->damage = in.damage;
	}
	size_t size;
	const uint8_t *image = pcc_target_map_file(t, t->core_fd, &size);
	if (!image) {
		err = pcc_error_os("cannot map %s", path);
		goto out;
	}
	err = read_program_headers(t, image, size, path);
	if (err)
		goto out;

	elf_version(EV_CURRENT);
	t->core_elf = elf_begin(t->core_fd, ELF_C_READ_MMAP, NULL);
	if (!t->core_elf) {
		err = pcc_error_create(PCC_ERROR_INPUT, "%s: %s", path,
				       elf_errmsg(-1));
		goto out;
	}
	*ret = t;
	return NULL;
out:
	pcc_target_destroy(t);
	return err;
}
