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
#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#endif

#include "spool.h"
#include "memory.h"
#include "prefault.h"
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
	bool have_notes; /* any CORE note at all */
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
				pcc_mapped_file_vec_push(&t->files.list);
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
	st->have_notes = true;
	switch (type) {
	case NT_PRSTATUS:
		/* The first one is the thread that received the signal. */
		if (!st->have_prstatus && descsz >= sizeof(struct elf_prstatus)) {
			struct elf_prstatus pr;
			memcpy(&pr, desc, sizeof(pr));
			t->pid = pr.pr_pid;
			t->signal = pr.pr_cursig;
			t->fs_base = pr.pr_reg[offsetof(struct user_regs_struct,
							fs_base) / 8];
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
			else if (kv[0] == AT_PHNUM)
				t->auxv_phnum = kv[1];
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
}

struct file_image {
	const char *path; /* as the core names it (owned by t->files) */
	size_t file;      /* one of its t->files entries */
	bool opened;
	const uint8_t *data;
	size_t size;
	bool usable;
	/* The build ids differ; the file is the executable or a must_match
	 * library and the mismatch was not overridden: the core is refused. */
	char *refusal;
};

/*
 * The files the core names, each opened at most once: NT_FILE lists a file
 * once per mapping, and a hostile core lists tens of thousands, so the
 * entries are grouped by path once (a sort) rather than looked up.
 */
struct file_images {
	struct file_image *images; /* one per distinct path */
	size_t count;
	size_t *of_file;     /* t->files index -> images index */
	/* images index -> the t->files entry that maps the file's start
	 * (offset 0: where the core keeps its ELF header), or SIZE_MAX. */
	size_t *header_file;
	/* Mapped files that could not be read: after a few, counted only. */
	size_t unreadable;
	char *first_unreadable;
};

enum { UNREADABLE_WARNINGS = 8 };

struct file_key {
	const char *path;
	uint64_t offset;
	size_t file;
};

static int file_key_cmp(const void *a, const void *b)
{
	const struct file_key *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	if (c)
		return c;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->file < y->file ? -1 : x->file > y->file;
}

static void file_images_init(struct file_images *imgs,
			     const struct pcc_target *t)
{
	memset(imgs, 0, sizeof(*imgs));
	size_t n = t->files.list.len;
	struct file_key *keys = pcc_xcalloc(n, sizeof(*keys));
	for (size_t i = 0; i < n; i++)
		keys[i] = (struct file_key){ t->files.list.data[i].path,
					     t->files.list.data[i].offset, i };
	pcc_sort(keys, n, sizeof(*keys), file_key_cmp);
	imgs->images = pcc_xcalloc(n, sizeof(*imgs->images));
	imgs->of_file = pcc_xcalloc(n, sizeof(size_t));
	imgs->header_file = pcc_xcalloc(n, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(keys[i].path, keys[i - 1].path) != 0) {
			size_t k = imgs->count++;
			imgs->images[k].path = keys[i].path;
			imgs->images[k].file = keys[i].file;
			/* The group is sorted by offset: offset 0 comes first. */
			imgs->header_file[k] = keys[i].offset == 0 ? keys[i].file
								   : SIZE_MAX;
		}
		imgs->of_file[keys[i].file] = imgs->count - 1;
	}
	free(keys);
}

static void file_images_deinit(struct file_images *imgs)
{
	for (size_t i = 0; i < imgs->count; i++)
		free(imgs->images[i].refusal);
	free(imgs->images);
	free(imgs->of_file);
	free(imgs->header_file);
	free(imgs->first_unreadable);
}

/* One warning per unreadable file, up to a few; then a count. */
static void warn_unreadable(struct pcc_target *t, struct file_images *imgs,
			    char *what)
{
	if (imgs->unreadable++ < UNREADABLE_WARNINGS)
		pcc_target_warn(t, "%s: memory the core left out of it is "
				"unavailable", what);
	free(what);
}

static void file_images_finish(struct pcc_target *t, struct file_images *imgs)
{
	if (imgs->unreadable > UNREADABLE_WARNINGS)
		pcc_target_warn(t, "%zu more mapped files are not readable: "
				"memory the core left out of them is unavailable",
				imgs->unreadable - UNREADABLE_WARNINGS);
}

/*
 * The files whose build id must match: the executable and the libraries
 * the caller names (the interpreter's).  Their code and struct layouts are
 * the analysis; using another build of them would read the heap with the
 * wrong layouts.
 */
static bool must_match(const struct pcc_target *t, const char *path)
{
	if (t->files.exe_mapping && strcmp(path, t->files.exe_mapping) == 0)
		return true;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (const char *const *p = t->must_match; p && *p; p++)
		if (strncmp(base, *p, strlen(*p)) == 0)
			return true;
	return false;
}

/*
 * The mapping that holds the executable: the one with the program headers
 * (AT_PHDR), else the one named like AT_EXECFN.
 */
static void find_exe_mapping(struct pcc_target *t)
{
	const char *found = NULL;
	for (size_t i = 0; i < t->files.list.len && !found; i++) {
		const struct pcc_mapped_file *f = &t->files.list.data[i];
		if (t->auxv_phdr >= f->start && t->auxv_phdr < f->end)
			found = f->path;
	}
	if (!found && t->auxv_execfn) {
		char *execfn = pcc_target_read_cstr(t, t->auxv_execfn, 4096);
		for (size_t i = 0; execfn && i < t->files.list.len && !found; i++)
			if (strcmp(t->files.list.data[i].path, execfn) == 0)
				found = t->files.list.data[i].path;
		free(execfn);
	}
	if (found)
		t->files.exe_mapping = pcc_xstrdup(found);
}

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
	/* Opened here, as libdw opens it: linked, its dependencies (curl,
	 * TLS, Kerberos) would be loaded on every start.  Never closed, as
	 * libdw does not close it: what its libraries keep in their globals
	 * would go with them. */
	void *lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return -1;
	debuginfod_client *(*begin)(void);
	int (*find)(debuginfod_client *, const unsigned char *, int, char **);
	void (*end)(debuginfod_client *);
	*(void **)&begin = dlsym(lib, "debuginfod_begin");
	*(void **)&find = dlsym(lib, "debuginfod_find_executable");
	*(void **)&end = dlsym(lib, "debuginfod_end");
	int fd = -1;
	debuginfod_client *c = begin && find && end ? begin() : NULL;
	if (c) {
		fd = find(c, id->bytes, (int)id->len, path);
		end(c);
	}
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

/* What is wrong with a file whose build id is not the core's: for its
 * warning or its refusal.  Owned by the caller. */
static char *id_problem(const struct build_id *in_core,
			const struct build_id *on_disk)
{
	char *a = in_core->len ? hex(in_core) : NULL;
	char *b = on_disk->len ? hex(on_disk) : NULL;
	char *msg;
	if (!b)
		msg = a ? pcc_xasprintf("it has no readable build id, the core's "
					"is %s", a)
			: pcc_xstrdup("it has no readable build id");
	else
		msg = pcc_xasprintf("its build id is %s, the core's is %s", b,
				    a ? a : "unknown");
	free(a);
	free(b);
	return msg;
}

/*
 * Open the on-disk file behind a mapping once (file: an index into
 * t->files), and decide whether it may stand in for the missing pages: its
 * build id must match the one in the core's copy of the ELF header, when the
 * core has one.  The executable and the must_match libraries must have a
 * readable build id at all: a file that has none cannot be shown to be the
 * one the core was written with.
 */
static struct file_image *file_image_get(struct pcc_target *t,
					 struct file_images *imgs, size_t file)
{
	size_t k = imgs->of_file[file];
	struct file_image *img = &imgs->images[k];
	if (img->opened)
		return img;
	img->opened = true;
	const char *path = img->path;

	/* The build id the core recorded, from its copy of the ELF headers. */
	struct build_id in_core = { .len = 0 };
	if (imgs->header_file[k] != SIZE_MAX) {
		const struct pcc_mapped_file *f =
			&t->files.list.data[imgs->header_file[k]];
		const struct pcc_segment *s = pcc_target_find_segment(t, f->start);
		if (s && s->source == PCC_SEGMENT_CORE)
			elf_image_build_id(s->data + (f->start - s->start),
					   s->end - f->start, &in_core);
	}

	char *full = NULL;
	const uint8_t *data = NULL;
	size_t size = 0;
	int fd = pcc_mapped_files_open(&t->files, path,
				       &t->files.list.data[img->file], &full);
	int open_errno = errno;
	if (fd < 0)
		full = pcc_mapped_files_local_path(&t->files, path);
	struct build_id on_disk = { .len = 0 };
	if (fd >= 0) {
		data = pcc_target_map_file(t, fd, &size);
		close(fd);
		if (data)
			elf_image_build_id(data, size, &on_disk);
	}
	bool strict = must_match(t, path);
	bool mismatch = data && in_core.len && on_disk.len
			&& !same_id(&in_core, &on_disk);
	bool unproven = data && strict && !on_disk.len;
	if ((!data || mismatch || unproven) && in_core.len) {
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
			mismatch = unproven = false;
			free(full);
			full = fetched;
			fetched = NULL;
		}
		free(fetched);
	}
	if (!data) {
		if (fd < 0 && open_errno == EINVAL)
			warn_unreadable(t, imgs,
					pcc_xasprintf("mapped file %s is not a "
						      "regular file", full));
		else if (fd < 0)
			warn_unreadable(t, imgs,
					pcc_xasprintf("mapped file %s is not "
						      "readable (%s)", full,
						      strerror(open_errno)));
		else
			warn_unreadable(t, imgs,
					pcc_xasprintf("cannot map %s", full));
		free(full);
		return img;
	}
	img->data = data;
	img->size = size;
	if (mismatch || unproven) {
		char *problem = id_problem(&in_core, &on_disk);
		if (!strict) {
			pcc_target_warn(t,
					"%s does not match the core (%s): memory the "
					"core left out of it is unavailable", full,
					problem);
		} else if (t->ignore_build_id) {
			pcc_target_warn(t,
					"%s may not be the file the core was written "
					"with (%s): used anyway (--ignore-build-id), "
					"the results may be wrong", full, problem);
			img->usable = true;
			for (size_t i = 0; i < t->files.list.len; i++)
				if (imgs->of_file[i] == k)
					t->files.list.data[i].build_id_mismatch = true;
		} else {
			img->refusal = pcc_xasprintf(
				"%s is not the file %s was written with: %s", full,
				t->core_path, problem);
		}
		free(problem);
	} else {
		img->usable = true;
	}
	free(full);
	return img;
}

/* Fill [start, end), which the core does not hold, from mapped file `file`. */
static void add_file_segment(struct pcc_target *t, struct file_images *imgs,
			     struct pcc_segment_vec *out, size_t file,
			     uint64_t lo, uint64_t hi)
{
	const struct pcc_mapped_file *f = &t->files.list.data[file];
	struct file_image *img = file_image_get(t, imgs, file);
	if (!img->usable)
		return;
	uint64_t file_off = f->offset + (lo - f->start);
	if (file_off < f->offset || file_off >= img->size)
		return;
	if (hi - lo > img->size - file_off)
		hi = lo + (img->size - file_off);
	struct pcc_segment *s = pcc_segment_vec_push(out);
	s->start = lo;
	s->end = hi;
	s->data = img->data + file_off;
	s->source = PCC_SEGMENT_FILE;
}

/* The start of the first core segment above addr, or UINT64_MAX. */
static uint64_t next_segment_start(const struct pcc_target *t, uint64_t addr)
{
	size_t lo = 0, hi = t->segments.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->segments.data[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->segments.len ? t->segments.data[lo].start : UINT64_MAX;
}

/*
 * The kernel writes a PT_LOAD with no file bytes for a mapping it left out;
 * gdb writes no PT_LOAD at all.  Either way, the parts of mapped files that
 * no core segment covers are the gaps to fill, each from the file mapped
 * there.  Each gap ends at a segment start, so the work is O(n log n) in
 * mapped files plus segments.  Returns the first refusal, if any.
 */
static struct pcc_error *fill_from_files(struct pcc_target *t)
{
	struct file_images imgs;
	file_images_init(&imgs, t);
	struct pcc_segment_vec extra = { 0 };
	for (size_t i = 0; i < t->files.list.len; i++) {
		uint64_t at = t->files.list.data[i].start, end = t->files.list.data[i].end;
		while (at < end) {
			const struct pcc_segment *s = pcc_target_find_segment(t, at);
			if (s) {
				at = s->end;
				continue;
			}
			uint64_t gap_end = next_segment_start(t, at);
			if (gap_end > end)
				gap_end = end;
			add_file_segment(t, &imgs, &extra, i, at, gap_end);
			at = gap_end;
		}
	}
	for (size_t i = 0; i < extra.len; i++)
		*pcc_segment_vec_push(&t->segments) = extra.data[i];
	pcc_segment_vec_free(&extra);
	sort_segments(t);
	/* The executable and the must_match libraries are checked even when
	 * the core holds all their pages: libdwfl reads their symbols and
	 * DWARF from disk. */
	for (size_t i = 0; i < t->files.list.len; i++)
		if (t->files.list.data[i].offset == 0
		    && must_match(t, t->files.list.data[i].path))
			file_image_get(t, &imgs, i);
	file_images_finish(t, &imgs);
	struct pcc_error *err = NULL;
	for (size_t i = 0; i < imgs.count && !err; i++)
		if (imgs.images[i].refusal)
			err = pcc_error_hint(
				pcc_error_create(PCC_ERROR_INPUT, "%s",
						 imgs.images[i].refusal),
				"pass the matching file (--sysroot DIR, --executable "
				"FILE), or --ignore-build-id to use it anyway");
	file_images_deinit(&imgs);
	return err;
}

static struct pcc_error *damaged(const char *path, const char *why)
{
	return pcc_error_hint(pcc_error_create(PCC_ERROR_INPUT,
					       "%s is damaged: %s", path, why),
			      "take the core again, or check how it was copied");
}

/*
 * e_phnum, or with extended numbering (PN_XNUM: a core of over 65,534
 * segments) sh_info of section 0, as the kernel writes it (gABI).
 */
static struct pcc_error *program_header_count(const Elf64_Ehdr *eh,
					      const uint8_t *image, size_t size,
					      const char *path, size_t *ret)
{
	if (eh->e_phnum != PN_XNUM) {
		*ret = eh->e_phnum;
		return NULL;
	}
	Elf64_Shdr sh0;
	if (eh->e_shentsize != sizeof(sh0) || eh->e_shoff == 0
	    || eh->e_shoff > size || size - eh->e_shoff < sizeof(sh0))
		return damaged(path, "it has over 65,534 program headers "
			       "(extended numbering), and the section header "
			       "that should count them is not in the file");
	memcpy(&sh0, image + eh->e_shoff, sizeof(sh0));
	*ret = sh0.sh_info;
	return NULL;
}

/*
 * The program headers must be in the file, and a core puts them before the
 * data they describe: headers that overlap the segments' bytes are a
 * damaged header count (libdwfl would spend seconds on garbage entries).
 */
static struct pcc_error *check_program_headers(const Elf64_Ehdr *eh,
					       size_t phnum,
					       const uint8_t *image,
					       size_t size, const char *path)
{
	if (phnum == 0)
		return damaged(path, "it has no program headers (e_phnum is 0)");
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return damaged(path, "its program header size (e_phentsize) is "
			       "not that of a 64-bit ELF file");
	if (eh->e_phoff < sizeof(*eh) || eh->e_phoff > size
	    || phnum > (size - eh->e_phoff) / sizeof(Elf64_Phdr)) {
		char *why = pcc_xasprintf(
			"its %zu program headers do not fit in the file (a "
			"truncated file, or a damaged e_phnum or e_phoff)",
			phnum);
		struct pcc_error *err = damaged(path, why);
		free(why);
		return err;
	}
	uint64_t table_end = eh->e_phoff + phnum * sizeof(Elf64_Phdr);
	for (size_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, image + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if ((ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
		    || ph.p_filesz == 0)
			continue;
		if (ph.p_offset < table_end
		    && (ph.p_offset >= eh->e_phoff
			|| ph.p_filesz > eh->e_phoff - ph.p_offset)) {
			char *why = pcc_xasprintf(
				"its program header table (%zu entries, e_phnum) "
				"overlaps the data of segment %zu: the header "
				"count is wrong", phnum, i);
			struct pcc_error *err = damaged(path, why);
			free(why);
			return err;
		}
	}
	return NULL;
}

static struct pcc_error *read_program_headers(struct pcc_target *t,
					      const uint8_t *image, size_t size,
					      const char *path)
{
	Elf64_Ehdr eh;
	struct pcc_error *err;
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
	size_t phnum;
	err = program_header_count(&eh, image, size, path, &phnum);
	if (err)
		return err;
	err = check_program_headers(&eh, phnum, image, size, path);
	if (err)
		return err;

	struct note_state st = { .t = t };
	bool notes_cut = false;
	for (size_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, image + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			notes_cut |= ph.p_filesz > 0 && (ph.p_offset >= size
				     || ph.p_filesz > size - ph.p_offset);
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
			/* Each term is below 2^64; their sum need not be. */
			uint64_t lost = have - avail;
			t->missing_bytes = t->missing_bytes > UINT64_MAX - lost
						   ? UINT64_MAX
						   : t->missing_bytes + lost;
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
	if (!st.have_notes && notes_cut)
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "%s is truncated: its notes (threads, "
					 "mapped files) are past the end of the file",
					 path),
			"copy the whole core again");
	if (!st.have_notes)
		return damaged(path, "it has no notes (no threads, no list of "
			       "mapped files)");
	if (t->segments.len == 0)
		return damaged(path, "it holds no memory");
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
	err = fill_from_files(t);
	if (err)
		return err;

	/* The mapping's path, as the kernel resolved it, is what
	 * /proc/PID/exe says of a live process: AT_EXECFN is the name exec was
	 * given (a symbolic link, or relative to the target's directory). */
	if (t->files.exe_mapping)
		t->exe_path = pcc_xstrdup(t->files.exe_mapping);
	else if (t->auxv_execfn)
		t->exe_path = pcc_target_read_cstr(t, t->auxv_execfn, 4096);
	return NULL;
}

/* Replace, in place, each NT_FILE name that is not a regular file here. */
static void defuse_nt_file(void *arg, uint32_t type, const char *name,
			   size_t namesz, const uint8_t *desc, size_t descsz)
{
	(void)arg;
	if (type != NT_FILE || namesz != 5 || memcmp(name, "CORE", 5) != 0
	    || descsz < 16)
		return;
	uint64_t count;
	memcpy(&count, desc, 8);
	if (count > (descsz - 16) / 24)
		return;
	/* The caller's mapping is writable (private). */
	char *names = (char *)(uintptr_t)(desc + 16 + count * 24);
	const char *end = (const char *)desc + descsz;
	for (uint64_t i = 0; i < count && names < end; i++) {
		char *nul = memchr(names, 0, (size_t)(end - names));
		if (!nul)
			return;
		struct stat st;
		if (names[0] == '/' && stat(names, &st) == 0
		    && !S_ISREG(st.st_mode)) {
			/* Same length, so the names after it stay in place; a
			 * name of control characters that no file has. */
			memset(names + 1, 1, (size_t)(nul - names) - 1);
		}
		names = nul + 1;
	}
}

/* A string of the target's memory as bytes of the writable copy. */
static void defuse_target_path(struct pcc_target *t, const uint8_t *image,
			       uint8_t *copy, uint64_t addr)
{
	char *name = pcc_target_read_cstr(t, addr, 4096);
	struct stat st;
	if (name && name[0] == '/' && stat(name, &st) == 0
	    && !S_ISREG(st.st_mode)) {
		size_t len = strlen(name);
		const struct pcc_segment *s = pcc_target_find_segment(t, addr);
		if (s && s->source == PCC_SEGMENT_CORE && len <= s->end - addr)
			memset(copy + (s->data - image) + (addr - s->start) + 1, 1,
			       len - 1);
	}
	free(name);
}

enum { LINK_MAP_MAX = 1 << 16 };

/*
 * The same for the dynamic linker's list of libraries (r_debug.r_map, found
 * as libdwfl finds it: AT_PHDR, PT_DYNAMIC, DT_DEBUG), whose l_name strings
 * libdwfl opens too.  Bounded: a damaged list may loop.
 */
static void defuse_link_map(struct pcc_target *t, const uint8_t *image,
			    uint8_t *copy)
{
	uint64_t phdr = t->auxv_phdr, dyn = 0, bias = 0;
	bool have_bias = false;
	for (uint64_t i = 0; phdr && i < t->auxv_phnum && i < 4096; i++) {
		Elf64_Phdr ph;
		if (!pcc_target_read(t, phdr + i * sizeof(ph), &ph, sizeof(ph)))
			return;
		if (ph.p_type == PT_PHDR) {
			bias = phdr - ph.p_vaddr;
			have_bias = true;
		} else if (ph.p_type == PT_DYNAMIC) {
			dyn = ph.p_vaddr;
		}
	}
	if (!dyn || !have_bias)
		return;
	uint64_t r_debug = 0;
	for (uint64_t at = dyn + bias, i = 0; i < 4096; i++, at += 16) {
		uint64_t tag_val[2];
		if (!pcc_target_read(t, at, tag_val, sizeof(tag_val))
		    || tag_val[0] == DT_NULL)
			break;
		if (tag_val[0] == DT_DEBUG)
			r_debug = tag_val[1];
	}
	uint64_t map;
	if (!r_debug || !pcc_target_read_u64(t, r_debug + 8, &map))
		return;
	for (size_t n = 0; map && n < LINK_MAP_MAX; n++) {
		uint64_t l_name, l_next;
		if (!pcc_target_read_u64(t, map + 8, &l_name)
		    || !pcc_target_read_u64(t, map + 24, &l_next))
			return;
		defuse_target_path(t, image, copy, l_name);
		map = l_next;
	}
}

/*
 * The core as libdwfl reads it.  libdwfl opens the files a core names with
 * a plain blocking open(): a FIFO there would hang it, and a device would
 * be read.  It gets a private (copy-on-write) mapping of the core in which
 * such names are defused; only the pages touched are copied.
 */
static Elf *core_elf_for_libdwfl(struct pcc_target *t, const uint8_t *mapped,
				 size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       t->core_fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	struct pcc_mmap *m = pcc_mmap_vec_push(&t->maps);
	m->addr = p;
	m->len = size;
	uint8_t *image = p;
	Elf64_Ehdr eh;
	memcpy(&eh, image, sizeof(eh));
	size_t phnum;
	struct pcc_error *err = program_header_count(&eh, image, size, "", &phnum);
	if (err) {
		pcc_error_destroy(err);
		phnum = 0; /* checked before: not reached */
	}
	for (size_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, image + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE || ph.p_offset >= size)
			continue;
		size_t len = ph.p_filesz < size - ph.p_offset ? ph.p_filesz
							       : size - ph.p_offset;
		for_each_note(image + ph.p_offset, len, defuse_nt_file, NULL);
	}
	defuse_link_map(t, mapped, image);
	return elf_memory((char *)image, size);
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
		t->files.root = pcc_xstrdup(opts->sysroot);
	if (opts->executable && *opts->executable)
		t->files.executable = pcc_xstrdup(opts->executable);
	t->ignore_build_id = opts->ignore_build_id;
	t->must_match = opts->must_match;

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
	if (err) {
		/* The compressed stream ended early: that is the cause. */
		if (in.damage)
			err = pcc_error_hint(err, "the core is damaged (%s): take "
					     "or copy it again", in.damage);
		goto out;
	}

	elf_version(EV_CURRENT);
	t->core_elf = core_elf_for_libdwfl(t, image, size);
	if (!t->core_elf) {
		err = pcc_error_create(PCC_ERROR_INPUT,
				       "%s is damaged: libelf cannot read it (%s)",
				       path, pcc_error_library_text(elf_errmsg(-1)));
		goto out;
	}
	if (opts->prefault)
		pcc_prefault_start(t);
	*ret = t;
	return NULL;
out:
	pcc_target_destroy(t);
	return err;
}
