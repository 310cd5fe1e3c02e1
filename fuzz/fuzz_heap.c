/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the heap walk, the traversals and the analysis, on one
 * fixture core whose heap each input patches.
 *
 * Start-up opens the core once ($PCC_FUZZ_CORE, default
 * fuzz/fixture/heap.core; fuzz/make-corpus.sh makes it) the way the CLI
 * does (target, debuginfo, pcc_python_open: the DWARF is parsed here only)
 * and walks its GC lists once.  Every segment of the core (the heap, and
 * the interpreter's static data: type objects, the interpreter state) is
 * then replaced by a writable copy: segments are host pointers (memory/memory.h),
 * so this needs no hook in src/.  The copies are malloc'd to the segment's
 * exact size, so ASan also catches a read past a segment's end, which the
 * page-granular mmap of the core would let pass.  What pcc_python_open
 * read (the GC list heads, the layout) stays as it was: the patches are
 * for what the analysis reads.
 *
 * An input is one flags byte, then patches of PATCH_SIZE bytes each:
 *
 *   u8  op      bit 0: where (0: relative to tracked object number obj,
 *               in address order, as --dump-referents lists them; 1: an
 *               offset into the copied segments, laid end to end);
 *               bits 1-3: what to write (enum value_mode)
 *   u8  arg     RAW: length - 1 (mod 8); pointer modes: a signed delta
 *   i16 off     byte offset from the object's address (negative: its
 *               PyGC_Head); in mode 1, the low 16 bits of the offset
 *   u32 obj     object number (mod the objects of the pristine walk); in
 *               mode 1, the high bits of the offset
 *   u64 val     the value, or the number of another object
 *
 * so that mutations land in PyGC_Head links, object headers, sizes, and
 * the pointers of dicts, lists, deques, frames and strings, and write the
 * values that break walks: 0, -1, huge sizes, pointers to the object
 * itself or to another object (loops).  Then the phases run in the CLI's
 * order (src/cli/main.c, analyse()), with both reports written to
 * /dev/null; flags bit 0 adds the labelled referents of every object
 * (--dump-referents), bit 1 runs the traversals of the types pycorecheck
 * has no code for in the CPU emulator, over the patched memory (the CLI's
 * default; without the bit, --no-emulation).  Afterwards the patched bytes are restored from the
 * core and the state that a run leaves (the type cache, warnings) is reset.
 *
 * The JSON report goes to memory and must be valid UTF-8, else the run
 * aborts (a finding); PCC_FUZZ_CHECK_UTF8=0 sends it to /dev/null instead.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/run.h"
#include "cpython/emulated.h"
#include "cpython/interpreter.h"
#include "cpython/locate.h"
#include "cpython/types.h"
#include "debuginfo/debuginfo.h"
#include "report/report.h"
#include "util/utf8.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	PATCH_SIZE = 16,
	MAX_PATCHES = 256,
	FLAG_REFERENTS = 1,
	FLAG_EMULATE = 2,
	FLAG_THREADS = 4, /* the passes on three threads, not one */
};

enum value_mode {
	VALUE_RAW,          /* arg % 8 + 1 bytes of val */
	VALUE_OBJECT,       /* address of object val, + arg */
	VALUE_SELF,         /* address of the patched object (or byte), + arg */
	VALUE_SPECIAL,      /* one of special_values */
	VALUE_ADD,          /* the word there, + val */
	VALUE_GC_HEAD,      /* PyGC_Head of object val, + arg */
	VALUE_COPY,         /* the word at the same offset in object val */
	VALUE_FLIP,         /* the word there, bit val % 64 flipped */
};

static const uint64_t special_values[] = {
	0,
	1,
	UINT64_MAX,
	UINT64_C(1) << 63,
	INT64_MAX,
	INT32_MAX,
	UINT64_C(1) << 31,
	UINT32_MAX,
	UINT64_C(1) << 32,
	UINT64_C(1) << 40,
	UINT64_C(1) << 62,
	0x100,
	0x10000,
	8,
	(uint64_t)-8,
	(uint64_t)-16,
};

/* A core segment replaced by a writable copy; the original stays mapped
 * and is what patched bytes are restored from. */
struct copied_segment {
	struct pcc_segment *segment;
	uint8_t *copy;
	const uint8_t *original;
	uint64_t region_start; /* offset in the segments laid end to end */
};

struct applied_patch {
	struct copied_segment *cs;
	uint64_t offset, len;
};

static struct {
	struct pcc_target *t;
	struct pcc_debuginfo *di;
	struct pcc_python *py;
	uint64_t *objects; /* tracked objects of the pristine walk */
	uint32_t nobjects;
	struct copied_segment *copies;
	size_t ncopies;
	uint64_t region_size;
	size_t pristine_warnings, pristine_py_warnings;
	uint64_t pristine_set_dummy;
	FILE *devnull;
	bool check_utf8;
} fx;

static void die(const char *what, struct pcc_error *err)
{
	fprintf(stderr, "fuzz_heap: %s: ", what);
	if (err)
		pcc_error_fwrite(err, stderr);
	else
		fputc('\n', stderr);
	fputs("fuzz_heap: make the fixture core with fuzz/make-corpus.sh and "
	      "name it in PCC_FUZZ_CORE\n", stderr);
	exit(1);
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Copy every segment that comes from the core (not the files on disk
 * behind what it left out: code and read-only data). */
static void copy_core_segments(void)
{
	struct pcc_target *t = fx.t;
	fx.copies = pcc_xcalloc(t->segments.len + 1, sizeof(*fx.copies));
	for (size_t i = 0; i < t->segments.len; i++) {
		struct pcc_segment *s = &t->segments.data[i];
		if (s->source != PCC_SEGMENT_CORE)
			continue;
		struct copied_segment *cs = &fx.copies[fx.ncopies++];
		size_t len = s->end - s->start;
		cs->segment = s;
		cs->original = s->data;
		cs->copy = pcc_xmalloc(len);
		memcpy(cs->copy, s->data, len);
		cs->region_start = fx.region_size;
		fx.region_size += len;
		s->data = cs->copy;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	unsetenv("DEBUGINFOD_URLS");
	const char *core = getenv("PCC_FUZZ_CORE");
	if (!core || !*core)
		core = "fuzz/fixture/heap.core";
	const char *utf8 = getenv("PCC_FUZZ_CHECK_UTF8");
	fx.check_utf8 = !(utf8 && *utf8 == '0');
	struct pcc_core_options opts = { .must_match = pcc_python_library_names };
	struct pcc_debuginfo_options dopts = { 0 };
	struct pcc_error *err = pcc_target_open_core_with(core, &opts, &fx.t);
	if (err)
		die("cannot open the fixture core", err);
	err = pcc_debuginfo_open(fx.t, &dopts, &fx.di);
	if (err)
		die("cannot find the fixture core's modules", err);
	err = pcc_python_open(fx.t, fx.di, &fx.py);
	if (err)
		die("cannot read the fixture core's interpreter", err);

	struct pcc_heap heap;
	pcc_heap_build(&heap, fx.py, UINT64_C(1) << 31, false, 1);
	if (heap.n == 0)
		die("the fixture core has no tracked objects", NULL);
	fx.nobjects = heap.n;
	fx.objects = pcc_heap_addresses(&heap);
	pcc_heap_deinit(&heap);
	qsort(fx.objects, fx.nobjects, sizeof(*fx.objects), compare_u64);

	copy_core_segments();
	fx.pristine_warnings = fx.t->warnings.list.len;
	fx.pristine_py_warnings = fx.py->warnings.list.len;
	fx.pristine_set_dummy = fx.py->set_dummy;
	fx.devnull = fopen("/dev/null", "w");
	if (!fx.devnull)
		die("cannot open /dev/null", pcc_error_os("fopen"));
	fprintf(stderr, "fuzz_heap: %s: %u tracked objects in %zu segments "
		"(%llu bytes) open to patches\n", core, fx.nobjects, fx.ncopies,
		(unsigned long long)fx.region_size);
	return 0;
}

static struct copied_segment *copy_holding(uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < fx.ncopies; i++) {
		const struct pcc_segment *s = fx.copies[i].segment;
		if (addr >= s->start && addr < s->end && len <= s->end - addr)
			return &fx.copies[i];
	}
	return NULL;
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static uint64_t word_at(uint64_t addr, bool pristine)
{
	struct copied_segment *cs = copy_holding(addr, 8);
	if (!cs)
		return 0;
	const uint8_t *base = pristine ? cs->original : cs->copy;
	return load_le(base + (addr - cs->segment->start), 8);
}

/* Apply one patch; false if it lands outside the copied segments. */
static bool apply_patch(const uint8_t *p, struct applied_patch *ret)
{
	uint8_t op = p[0];
	int8_t arg = (int8_t)p[1];
	int16_t off = (int16_t)load_le(p + 2, 2);
	uint32_t obj = (uint32_t)load_le(p + 4, 4);
	uint64_t val = load_le(p + 8, 8);
	enum value_mode mode = (enum value_mode)((op >> 1) & 7);
	bool absolute = op & 1;

	uint64_t base; /* the patched object, or the patched byte itself */
	uint64_t addr;
	if (absolute) {
		if (fx.region_size == 0)
			return false;
		uint64_t at = ((uint64_t)obj << 16 | (uint16_t)off)
			      % fx.region_size;
		size_t i = 0;
		while (i + 1 < fx.ncopies && fx.copies[i + 1].region_start <= at)
			i++;
		addr = fx.copies[i].segment->start
		       + (at - fx.copies[i].region_start);
		base = addr;
	} else {
		base = fx.objects[obj % fx.nobjects];
		addr = base + (uint64_t)(int64_t)off;
	}
	uint64_t len = 8;
	uint64_t word = 0;
	uint64_t other = fx.objects[val % fx.nobjects];
	switch (mode) {
	case VALUE_RAW:
		len = (uint64_t)(uint8_t)arg % 8 + 1;
		word = val;
		break;
	case VALUE_OBJECT:
		word = other + (uint64_t)(int64_t)arg;
		break;
	case VALUE_SELF:
		word = base + (uint64_t)(int64_t)arg;
		break;
	case VALUE_SPECIAL:
		word = special_values[val % (sizeof(special_values)
					     / sizeof(special_values[0]))];
		break;
	case VALUE_ADD:
		addr &= ~UINT64_C(7);
		word = word_at(addr, false) + val;
		break;
	case VALUE_GC_HEAD:
		word = other - (uint64_t)fx.py->gc_head_size
		       + (uint64_t)(int64_t)arg;
		break;
	case VALUE_COPY:
		word = word_at(other + (uint64_t)(int64_t)off, true);
		break;
	case VALUE_FLIP:
		addr &= ~UINT64_C(7);
		word = word_at(addr, false) ^ UINT64_C(1) << (val % 64);
		break;
	}
	/* Words are written where pointers and sizes are: aligned. */
	if (len == 8 && !absolute)
		addr &= ~UINT64_C(7);
	struct copied_segment *cs = copy_holding(addr, len);
	if (!cs)
		return false;
	uint64_t at = addr - cs->segment->start;
	for (uint64_t i = 0; i < len; i++)
		cs->copy[at + i] = (uint8_t)(word >> (8 * i));
	ret->cs = cs;
	ret->offset = at;
	ret->len = len;
	return true;
}

static void render(struct pcc_analysis *a, bool referents)
{
	const struct pcc_result *r = &a->result;
	pcc_report_text(r, 10, fx.devnull);
	if (referents)
		pcc_report_referents(&a->heap, fx.devnull);
	if (!fx.check_utf8) {
		pcc_report_json(r, fx.devnull);
		return;
	}
	char *json = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&json, &len);
	if (!out)
		abort();
	pcc_report_json(r, out);
	fclose(out);
	if (!pcc_utf8_valid(json, len)) {
		fputs("fuzz_heap: the JSON report is not valid UTF-8\n", stderr);
		abort();
	}
	free(json);
}

static void analyse(bool referents, bool emulate, unsigned threads)
{
	/* The phases as src/cli/main.c runs them, with its defaults. */
	struct pcc_analysis a;
	struct pcc_analysis_options o = {
		.max_objects = UINT64_C(1) << 31,
		.emulate = emulate,
		.same_path_threshold = 10,
		.threads = threads,
	};
	pcc_analysis_run(&a, fx.py, &o, NULL, NULL);
	render(&a, referents);
	pcc_analysis_deinit(&a);
}

/* What a run leaves behind that the next must not see. */
static void reset_state(void)
{
	pcc_python_emulated_free(fx.py);
	pcc_python_forget_types(fx.py);
	fx.py->set_dummy = fx.pristine_set_dummy;
	pcc_warnings_truncate(&fx.t->warnings, fx.pristine_warnings);
	pcc_warnings_truncate(&fx.py->warnings, fx.pristine_py_warnings);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	data++;
	size--;
	static struct applied_patch applied[MAX_PATCHES];
	size_t napplied = 0;
	for (size_t i = 0; i + PATCH_SIZE <= size && napplied < MAX_PATCHES;
	     i += PATCH_SIZE)
		if (apply_patch(data + i, &applied[napplied]))
			napplied++;

	analyse(flags & FLAG_REFERENTS, flags & FLAG_EMULATE,
		flags & FLAG_THREADS ? 3 : 1);

	/* Last first, so that overlapping patches come undone too. */
	while (napplied-- > 0) {
		struct applied_patch *a = &applied[napplied];
		memcpy(a->cs->copy + a->offset, a->cs->original + a->offset,
		       a->len);
	}
	reset_state();
	return 0;
}
