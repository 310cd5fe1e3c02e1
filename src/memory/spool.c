/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <elf.h>

#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef HAVE_LZ4
#include <lz4frame.h>
#endif
#ifdef HAVE_LZMA
#include <lzma.h>
#endif
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

#include "spool.h"

/* Fixed buffers: the whole of pycorecheck's memory for decompression, apart
 * from the decompressors' own state (a zstd window is at most 128 MiB by the
 * library's default limit; xz is capped below). */
enum { IN_BUF = 1 << 20, OUT_BUF = 1 << 20, ZERO_CHUNK = 4096 };
#define XZ_MEMLIMIT (UINT64_C(1) << 30)

const char *pcc_compression_name(enum pcc_compression c)
{
	switch (c) {
	case PCC_COMPRESSION_ZSTD:
		return "zstd";
	case PCC_COMPRESSION_LZ4:
		return "lz4";
	case PCC_COMPRESSION_XZ:
		return "xz";
	case PCC_COMPRESSION_GZIP:
		return "gzip";
	case PCC_COMPRESSION_NONE:
		break;
	}
	return "none";
}

enum pcc_compression pcc_compression_detect(const uint8_t *m, size_t len)
{
	if (len >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f
	    && m[3] == 0xfd)
		return PCC_COMPRESSION_ZSTD;
	/* A zstd skippable frame (0x184D2A50..5F, little-endian). */
	if (len >= 4 && (m[0] & 0xf0) == 0x50 && m[1] == 0x2a && m[2] == 0x4d
	    && m[3] == 0x18)
		return PCC_COMPRESSION_ZSTD;
	if (len >= 4 && m[0] == 0x04 && m[1] == 0x22 && m[2] == 0x4d
	    && m[3] == 0x18)
		return PCC_COMPRESSION_LZ4;
	if (len >= 6 && memcmp(m, "\xfd" "7zXZ\0", 6) == 0)
		return PCC_COMPRESSION_XZ;
	if (len >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return PCC_COMPRESSION_GZIP;
	return PCC_COMPRESSION_NONE;
}

/* ---- reading: a few bytes already read (the magic), then the fd ---- */

struct reader {
	int fd;
	const uint8_t *prefix;
	size_t prefix_len, prefix_pos;
	uint64_t consumed; /* compressed bytes handed out */
	bool eof;
};

/* Fill buf; 0 at the end; -1 (errno set) on a read error. */
static ssize_t reader_read(struct reader *r, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	if (r->prefix_pos < r->prefix_len) {
		n = r->prefix_len - r->prefix_pos;
		if (n > cap)
			n = cap;
		memcpy(buf, r->prefix + r->prefix_pos, n);
		r->prefix_pos += n;
	}
	while (n < cap && !r->eof) {
		ssize_t got = read(r->fd, buf + n, cap - n);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (got == 0)
			r->eof = true;
		n += (size_t)got;
	}
	r->consumed += n;
	return (ssize_t)n;
}

/* ---- writing: a sparse temporary file ---- */

/*
 * How much of the temporary file system must stay free, and how often that
 * is checked: the copy must never fill the disk other programs use.
 */
#define SPOOL_RESERVE (UINT64_C(64) << 20)
#define SPOOL_CHECK_EVERY (UINT64_C(64) << 20)
#define MEMFD_RESERVE (UINT64_C(512) << 20)
/* A core's program headers follow its ELF header (offset 64 in every core
 * the kernel or gdb writes); further than this is a damaged header. */
#define PHOFF_MAX (UINT64_C(16) << 20)

struct writer {
	int fd;
	uint64_t size;
	const char *dir; /* for messages */
	/* The end of the core as its headers give it (the last segment's
	 * bytes, the section headers), UINT64_MAX until they are in: what
	 * comes after is not read, so the copy is never more than the core. */
	uint64_t limit;
	bool limit_known;
	bool full;        /* the core is complete: stop reading */
	char *not_core;   /* the stream is not a core: why (owned) */
	char *no_room;    /* the file system is nearly full: why (owned) */
	uint64_t written; /* bytes really written (not holes) */
	const char *compression; /* for messages: NULL, or "zstd", ... */
	uint64_t next_check;
};

static void writer_init(struct writer *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->limit = UINT64_MAX;
	w->next_check = SPOOL_CHECK_EVERY;
}

/* Read back what was written (holes read as zeros). */
static bool writer_pread(const struct writer *w, void *buf, size_t len,
			 uint64_t off)
{
	return off <= w->size && len <= w->size - off
	       && pread(w->fd, buf, len, (off_t)off) == (ssize_t)len;
}

static void set_not_core(struct writer *w, const char *why)
{
	if (!w->not_core)
		w->not_core = pcc_xstrdup(why);
}

/* end = max(end, off + len), false on overflow. */
static bool extend(uint64_t *end, uint64_t off, uint64_t len)
{
	if (off > UINT64_MAX - len)
		return false;
	if (off + len > *end)
		*end = off + len;
	return true;
}

/*
 * Learn the core's size from its headers as they arrive: the ELF magic
 * first (a stream of zeros or random bytes stops after 4 bytes), then the
 * ELF header, then the program headers.
 */
static void writer_learn_limit(struct writer *w)
{
	uint8_t magic[SELFMAG];
	if (w->size < SELFMAG || w->limit_known || w->not_core)
		return;
	if (!writer_pread(w, magic, SELFMAG, 0) || memcmp(magic, ELFMAG, SELFMAG)) {
		set_not_core(w, "it does not start with an ELF header");
		return;
	}
	Elf64_Ehdr eh;
	if (!writer_pread(w, &eh, sizeof(eh), 0))
		return;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_CORE) {
		/* Said precisely once mapped (not 64-bit, not a core). */
		w->limit = sizeof(eh);
		w->limit_known = true;
		return;
	}
	uint64_t end = sizeof(eh);
	if (eh.e_shoff && eh.e_shnum
	    && !extend(&end, eh.e_shoff, (uint64_t)eh.e_shnum * eh.e_shentsize)) {
		set_not_core(w, "its ELF header is damaged (e_shoff)");
		return;
	}
	if (eh.e_phnum == PN_XNUM) {
		/* The kernel writes section 0, which counts the program
		 * headers, after all the segments' bytes. */
		if (!eh.e_shoff || !extend(&end, eh.e_shoff, sizeof(Elf64_Shdr)))
			set_not_core(w, "its ELF header is damaged (PN_XNUM "
				     "without a section header)");
		w->limit = end;
		w->limit_known = !w->not_core;
		return;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff < sizeof(eh)
	    || eh.e_phoff > PHOFF_MAX) {
		set_not_core(w, "its ELF header is damaged (e_phoff, "
			     "e_phentsize)");
		return;
	}
	size_t table = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
	extend(&end, eh.e_phoff, table);
	if (w->size < eh.e_phoff + table)
		return; /* more to come */
	Elf64_Phdr *ph = pcc_xmalloc(table ? table : 1);
	if (!writer_pread(w, ph, table, eh.e_phoff)) {
		free(ph);
		return;
	}
	for (size_t i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD || ph[i].p_type == PT_NOTE)
			if (!extend(&end, ph[i].p_offset, ph[i].p_filesz)) {
				set_not_core(w, "its program headers are damaged "
					     "(a segment ends past 2^64)");
				break;
			}
	free(ph);
	w->limit = end;
	w->limit_known = !w->not_core;
}

/* The memory the kernel can still give (MemAvailable), or UINT64_MAX when
 * /proc/meminfo does not say. */
static uint64_t memory_available(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return UINT64_MAX;
	char line[128];
	unsigned long long kib;
	uint64_t avail = UINT64_MAX;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
			avail = (uint64_t)kib << 10;
			break;
		}
	fclose(f);
	return avail;
}

/*
 * Keep SPOOL_RESERVE free where the copy is written; a memfd (no writable
 * TMPDIR) lives in memory, which the analysis needs too: MEMFD_RESERVE of
 * it stays available.
 */
static void writer_check_room(struct writer *w)
{
	if (w->written < w->next_check || w->no_room)
		return;
	w->next_check = w->written + SPOOL_CHECK_EVERY;
	bool in_memory = strcmp(w->dir, "memfd") == 0;
	uint64_t avail, reserve = in_memory ? MEMFD_RESERVE : SPOOL_RESERVE;
	if (in_memory) {
		avail = memory_available();
	} else {
		struct statvfs vfs;
		if (fstatvfs(w->fd, &vfs) < 0)
			return;
		avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	}
	if (avail >= reserve)
		return;
	const char *where = in_memory ? "memory (no TMPDIR could be written)"
				      : w->dir;
	if (w->limit_known)
		w->no_room = pcc_xasprintf(
			"%s is nearly full (%llu MiB left) after %llu MiB of the "
			"core, which is %llu MiB", where,
			(unsigned long long)(avail >> 20),
			(unsigned long long)(w->size >> 20),
			(unsigned long long)(w->limit >> 20));
	else
		w->no_room = pcc_xasprintf(
			"%s is nearly full (%llu MiB left) after %llu MiB of the "
			"core", where, (unsigned long long)(avail >> 20),
			(unsigned long long)(w->size >> 20));
}

static int open_anonymous(const char **dir_ret)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	*dir_ret = dir;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char *p = pcc_xasprintf("%s/pycorecheck-core.XXXXXX", dir);
	fd = mkostemp(p, O_CLOEXEC);
	if (fd >= 0)
		unlink(p);
	free(p);
	if (fd >= 0)
		return fd;
	int saved = errno;
	fd = memfd_create("pycorecheck-core", MFD_CLOEXEC);
	if (fd < 0)
		errno = saved;
	else
		*dir_ret = "memfd";
	return fd;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	/* The caller's chunks are small; compare against a static block. */
	static const uint8_t zero[ZERO_CHUNK];
	return n <= sizeof(zero) && memcmp(p, zero, n) == 0;
}

/*
 * Append n bytes.  Runs of zero pages (most of a core's anonymous memory)
 * become holes: less to write, and a "bomb" of zeros costs no disk.
 * Returns false to stop: an I/O error (errno), a stream that is not a core,
 * a full file system, or the end of the core reached (w->full).
 */
static bool writer_put(struct writer *w, const uint8_t *p, size_t n)
{
	if (w->full || w->not_core || w->no_room)
		return false;
	if (n > w->limit - w->size) {
		n = (size_t)(w->limit - w->size);
		w->full = true;
	}
	while (n) {
		size_t chunk = ZERO_CHUNK - (size_t)(w->size % ZERO_CHUNK);
		if (chunk > n)
			chunk = n;
		if (!all_zero(p, chunk)) {
			/* Write through the next zero chunk boundary at once. */
			size_t len = chunk;
			while (len < n) {
				size_t next = n - len < ZERO_CHUNK ? n - len : ZERO_CHUNK;
				if (all_zero(p + len, next))
					break;
				len += next;
			}
			size_t done = 0;
			while (done < len) {
				ssize_t put = pwrite(w->fd, p + done, len - done,
						     (off_t)(w->size + done));
				if (put < 0) {
					if (errno == EINTR)
						continue;
					return false;
				}
				done += (size_t)put;
			}
			chunk = len;
			w->written += len;
		}
		w->size += chunk;
		p += chunk;
		n -= chunk;
		if (!w->limit_known) {
			/* Holes read back as zeros only once the size is set. */
			if (ftruncate(w->fd, (off_t)w->size) < 0)
				return false;
			writer_learn_limit(w);
			if (w->not_core)
				return false;
			if (w->size >= w->limit) {
				w->size = w->limit;
				w->full = true;
				return false;
			}
			if (n > w->limit - w->size) {
				n = (size_t)(w->limit - w->size);
				w->full = true;
			}
		}
		writer_check_room(w);
		if (w->no_room)
			return false;
	}
	return !w->full;
}

/* Why writer_put stopped: an error, or NULL when the core is complete. */
static struct pcc_error *write_error(const struct writer *w, const char *name)
{
	if (w->not_core && w->compression)
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "%s is %s-compressed, but what it holds is "
					 "not a core: %s", name, w->compression,
					 w->not_core),
			"pass a compressed core dump");
	if (w->not_core)
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT, "%s is not a core: %s",
					 name, w->not_core),
			"pass a core dump (from the kernel, gcore or coredumpctl "
			"dump)");
	if (w->no_room)
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_OS,
					 "cannot copy %s to a temporary file: %s",
					 name, w->no_room),
			"set TMPDIR to a file system with room for the whole core");
	if (w->full)
		return NULL;
	return pcc_error_hint(
		pcc_error_os("cannot write the decompressed copy of %s in %s",
			     name, w->dir),
		"set TMPDIR to a file system with room for the whole core");
}

static struct pcc_error *read_error(const char *name)
{
	return pcc_error_os("cannot read %s", name);
}

/* The outcome of one decompressor run. */
struct result {
	struct pcc_error *err; /* fatal: I/O */
	char *damage;          /* the stream is truncated or corrupt */
};

/* Unused when built without any decompression library. */
__attribute__((unused)) static char *damage_text(const char *fmt,
						 const char *what, uint64_t at)
{
	return pcc_xasprintf(fmt, what, (unsigned long long)at);
}

/* ---- the formats ---- */

static struct result copy_stream(struct reader *r, struct writer *w,
				 const char *name, uint8_t *in)
{
	struct result res = { 0 };
	for (;;) {
		ssize_t n = reader_read(r, in, IN_BUF);
		if (n < 0) {
			res.err = read_error(name);
			return res;
		}
		if (n == 0)
			return res;
		if (!writer_put(w, in, (size_t)n)) {
			res.err = write_error(w, name);
			return res;
		}
	}
}

#ifdef HAVE_ZSTD
static struct result unzstd(struct reader *r, struct writer *w,
			    const char *name, uint8_t *in, uint8_t *out)
{
	struct result res = { 0 };
	ZSTD_DStream *ds = ZSTD_createDStream();
	if (!ds) {
		res.err = &pcc_enomem;
		return res;
	}
	size_t pending = 1; /* 0: between frames */
	for (;;) {
		ssize_t n = reader_read(r, in, IN_BUF);
		if (n < 0) {
			res.err = read_error(name);
			break;
		}
		if (n == 0) {
			if (pending)
				res.damage = damage_text(
					"the %s stream is truncated at compressed byte "
					"%llu", "zstd", r->consumed);
			break;
		}
		ZSTD_inBuffer ib = { in, (size_t)n, 0 };
		for (;;) {
			ZSTD_outBuffer ob = { out, OUT_BUF, 0 };
			pending = ZSTD_decompressStream(ds, &ob, &ib);
			if (ZSTD_isError(pending)) {
				res.damage = pcc_xasprintf(
					"the zstd stream is corrupt near compressed "
					"byte %llu (%s)",
					(unsigned long long)(r->consumed - ib.size + ib.pos),
					ZSTD_getErrorName(pending));
				goto done;
			}
			if (ob.pos && !writer_put(w, out, ob.pos)) {
				res.err = write_error(w, name);
				goto done;
			}
			/* A full output buffer may leave more inside. */
			if (ib.pos == ib.size && ob.pos < ob.size)
				break;
		}
	}
done:
	ZSTD_freeDStream(ds);
	return res;
}
#endif

#ifdef HAVE_LZ4
static struct result unlz4(struct reader *r, struct writer *w,
			   const char *name, uint8_t *in, uint8_t *out)
{
	struct result res = { 0 };
	LZ4F_dctx *dctx;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
		res.err = &pcc_enomem;
		return res;
	}
	size_t hint = 1; /* 0: a frame just ended */
	for (;;) {
		ssize_t n = reader_read(r, in, IN_BUF);
		if (n < 0) {
			res.err = read_error(name);
			break;
		}
		if (n == 0) {
			if (hint)
				res.damage = damage_text(
					"the %s stream is truncated at compressed byte "
					"%llu", "lz4", r->consumed);
			break;
		}
		size_t pos = 0;
		while (pos < (size_t)n) {
			size_t src_size = (size_t)n - pos, dst_size = OUT_BUF;
			hint = LZ4F_decompress(dctx, out, &dst_size, in + pos,
					       &src_size, NULL);
			if (LZ4F_isError(hint)) {
				res.damage = pcc_xasprintf(
					"the lz4 stream is corrupt near compressed "
					"byte %llu (%s)",
					(unsigned long long)(r->consumed - (size_t)n + pos),
					LZ4F_getErrorName(hint));
				goto done;
			}
			pos += src_size;
			if (dst_size && !writer_put(w, out, dst_size)) {
				res.err = write_error(w, name);
				goto done;
			}
		}
		/* Output still buffered inside the context. */
		while (hint) {
			size_t src_size = 0, dst_size = OUT_BUF;
			hint = LZ4F_decompress(dctx, out, &dst_size, in, &src_size,
					       NULL);
			if (LZ4F_isError(hint) || dst_size == 0)
				break;
			if (!writer_put(w, out, dst_size)) {
				res.err = write_error(w, name);
				goto done;
			}
		}
		if (LZ4F_isError(hint))
			hint = 1;
	}
done:
	LZ4F_freeDecompressionContext(dctx);
	return res;
}
#endif

#ifdef HAVE_LZMA
static struct result unxz(struct reader *r, struct writer *w,
			  const char *name, uint8_t *in, uint8_t *out)
{
	struct result res = { 0 };
	lzma_stream s = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&s, XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK) {
		res.err = &pcc_enomem;
		return res;
	}
	lzma_action action = LZMA_RUN;
	s.next_out = out;
	s.avail_out = OUT_BUF;
	for (;;) {
		if (s.avail_in == 0 && action == LZMA_RUN) {
			ssize_t n = reader_read(r, in, IN_BUF);
			if (n < 0) {
				res.err = read_error(name);
				break;
			}
			s.next_in = in;
			s.avail_in = (size_t)n;
			if (n == 0)
				action = LZMA_FINISH;
		}
		lzma_ret ret = lzma_code(&s, action);
		if (s.avail_out == 0 || ret != LZMA_OK) {
			if (OUT_BUF - s.avail_out
			    && !writer_put(w, out, OUT_BUF - s.avail_out)) {
				res.err = write_error(w, name);
				break;
			}
			s.next_out = out;
			s.avail_out = OUT_BUF;
		}
		if (ret == LZMA_STREAM_END)
			break;
		if (ret == LZMA_OK)
			continue;
		if (ret == LZMA_BUF_ERROR)
			res.damage = damage_text("the %s stream is truncated at "
						 "compressed byte %llu",
						 "xz", r->consumed);
		else if (ret == LZMA_MEMLIMIT_ERROR)
			res.damage = pcc_xstrdup(
				"the xz stream needs more than 1 GiB of memory to "
				"decompress");
		else
			res.damage = pcc_xasprintf(
				"the xz stream is corrupt near compressed byte %llu "
				"(liblzma error %d)",
				(unsigned long long)(r->consumed - s.avail_in), (int)ret);
		break;
	}
	lzma_end(&s);
	return res;
}
#endif

#ifdef HAVE_ZLIB
static struct result ungzip(struct reader *r, struct writer *w,
			    const char *name, uint8_t *in, uint8_t *out)
{
	struct result res = { 0 };
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK) {
		res.err = &pcc_enomem;
		return res;
	}
	bool in_member = true;
	for (;;) {
		if (z.avail_in == 0) {
			ssize_t n = reader_read(r, in, IN_BUF);
			if (n < 0) {
				res.err = read_error(name);
				break;
			}
			if (n == 0) {
				if (in_member)
					res.damage = damage_text(
						"the %s stream is truncated at "
						"compressed byte %llu",
						"gzip", r->consumed);
				break;
			}
			z.next_in = in;
			z.avail_in = (uInt)n;
		}
		if (!in_member) {
			/* Another member follows (gzip files concatenate). */
			inflateReset(&z);
			in_member = true;
		}
		z.next_out = out;
		z.avail_out = OUT_BUF;
		int ret = inflate(&z, Z_NO_FLUSH);
		if (OUT_BUF - z.avail_out
		    && !writer_put(w, out, OUT_BUF - z.avail_out)) {
			res.err = write_error(w, name);
			break;
		}
		if (ret == Z_STREAM_END) {
			in_member = false;
			continue;
		}
		if (ret == Z_OK || ret == Z_BUF_ERROR)
			continue;
		res.damage = pcc_xasprintf(
			"the gzip stream is corrupt near compressed byte %llu (%s)",
			(unsigned long long)(r->consumed - z.avail_in),
			z.msg ? z.msg : "inflate failed");
		break;
	}
	inflateEnd(&z);
	return res;
}
#endif

static const char *decompress_command(enum pcc_compression c)
{
	switch (c) {
	case PCC_COMPRESSION_ZSTD:
		return "zstd -d";
	case PCC_COMPRESSION_LZ4:
		return "lz4 -d";
	case PCC_COMPRESSION_XZ:
		return "xz -d";
	case PCC_COMPRESSION_GZIP:
		return "gzip -d";
	case PCC_COMPRESSION_NONE:
		break;
	}
	return "cat";
}

static struct pcc_error *spool(struct reader *r, const char *name,
			       struct pcc_core_input *ret)
{
	enum pcc_compression c = ret->compression;
	bool supported = c == PCC_COMPRESSION_NONE;
#ifdef HAVE_ZSTD
	supported |= c == PCC_COMPRESSION_ZSTD;
#endif
#ifdef HAVE_LZ4
	supported |= c == PCC_COMPRESSION_LZ4;
#endif
#ifdef HAVE_LZMA
	supported |= c == PCC_COMPRESSION_XZ;
#endif
#ifdef HAVE_ZLIB
	supported |= c == PCC_COMPRESSION_GZIP;
#endif
	if (!supported)
		return pcc_error_create(
			PCC_ERROR_UNSUPPORTED,
			"%s is %s-compressed and this pycorecheck was built without "
			"%s support: decompress it with %s first",
			name, pcc_compression_name(c), pcc_compression_name(c),
			decompress_command(c));

	struct writer w;
	writer_init(&w);
	if (c != PCC_COMPRESSION_NONE)
		w.compression = pcc_compression_name(c);
	w.fd = open_anonymous(&w.dir);
	if (w.fd < 0)
		return pcc_error_hint(
			pcc_error_os("cannot create a temporary file in %s for %s",
				     w.dir, name),
			"set TMPDIR to a writable directory");
	uint8_t *in = pcc_xmalloc(IN_BUF), *out = pcc_xmalloc(OUT_BUF);
	struct result res = { 0 };
	switch (c) {
	case PCC_COMPRESSION_NONE:
		res = copy_stream(r, &w, name, in);
		break;
#ifdef HAVE_ZSTD
	case PCC_COMPRESSION_ZSTD:
		res = unzstd(r, &w, name, in, out);
		break;
#endif
#ifdef HAVE_LZ4
	case PCC_COMPRESSION_LZ4:
		res = unlz4(r, &w, name, in, out);
		break;
#endif
#ifdef HAVE_LZMA
	case PCC_COMPRESSION_XZ:
		res = unxz(r, &w, name, in, out);
		break;
#endif
#ifdef HAVE_ZLIB
	case PCC_COMPRESSION_GZIP:
		res = ungzip(r, &w, name, in, out);
		break;
#endif
	default:
		break;
	}
	free(in);
	free(out);
	free(w.not_core);
	free(w.no_room);
	/* Trailing holes need the size set explicitly. */
	if (!res.err && ftruncate(w.fd, (off_t)w.size) < 0)
		res.err = write_error(&w, name);
	if (res.err) {
		free(res.damage);
		close(w.fd);
		return res.err;
	}
	if (res.damage && w.size < 64) {
		struct pcc_error *err = pcc_error_create(
			PCC_ERROR_INPUT, "%s: %s, and nothing usable was "
			"decompressed before it", name, res.damage);
		free(res.damage);
		close(w.fd);
		return err;
	}
	ret->fd = w.fd;
	ret->spooled = true;
	ret->size = w.size;
	ret->damage = res.damage;
	return NULL;
}

static const char *file_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO (named pipe)";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISDIR(mode))
		return "a directory";
	return "not a regular file";
}

struct pcc_error *pcc_core_input_open(const char *path, const char *name,
				      struct pcc_core_input *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->fd = -1;
	bool from_stdin = strcmp(path, "-") == 0;
	/* O_NONBLOCK: a FIFO with no writer must not block the open. */
	int fd = from_stdin ? dup(STDIN_FILENO)
			    : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK
						 | O_NOCTTY);
	if (fd < 0)
		return from_stdin ? pcc_error_os("cannot read standard input")
				  : pcc_error_os("cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return pcc_error_os("cannot stat %s", name);
	}
	bool regular = S_ISREG(st.st_mode);
	if (!regular && !from_stdin) {
		close(fd);
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "%s is %s, not a core file", name,
					 file_kind(st.st_mode)),
			"save the core to a file, or pipe it into 'pycorecheck -'");
	}
	if (from_stdin && !regular && isatty(fd)) {
		close(fd);
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "standard input is a terminal, not a core"),
			"pipe a core into 'pycorecheck -', or name the core file");
	}
	if (!regular && (S_ISDIR(st.st_mode) || S_ISSOCK(st.st_mode)
			 || S_ISBLK(st.st_mode))) {
		close(fd);
		return pcc_error_create(PCC_ERROR_INPUT,
					"%s is %s, not a core file", name,
					file_kind(st.st_mode));
	}
	if (regular && st.st_size == 0) {
		close(fd);
		return pcc_error_create(PCC_ERROR_INPUT, "%s is empty", name);
	}

	uint8_t magic[8];
	size_t have = 0;
	if (regular) {
		ssize_t n = pread(fd, magic, sizeof(magic), 0);
		if (n < 0) {
			close(fd);
			return read_error(name);
		}
		have = (size_t)n;
	} else {
		while (have < sizeof(magic)) {
			ssize_t n = read(fd, magic + have, sizeof(magic) - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				close(fd);
				return read_error(name);
			}
			if (n == 0)
				break;
			have += (size_t)n;
		}
		if (have == 0) {
			close(fd);
			return pcc_error_create(PCC_ERROR_INPUT, "%s is empty",
						name);
		}
	}
	ret->compression = pcc_compression_detect(magic, have);
	/* Nothing is spooled that does not announce a core: /dev/zero or
	 * random bytes on a pipe would otherwise be copied without end. */
	if (!regular && ret->compression == PCC_COMPRESSION_NONE
	    && (have < SELFMAG || memcmp(magic, ELFMAG, SELFMAG) != 0)) {
		close(fd);
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "%s is not a core: it starts neither with "
					 "an ELF header nor with zstd, lz4, xz or "
					 "gzip magic bytes", name),
			"pass a core dump (from the kernel, gcore or coredumpctl "
			"dump)");
	}
	if (regular && ret->compression == PCC_COMPRESSION_NONE) {
		ret->fd = fd;
		ret->size = (uint64_t)st.st_size;
		return NULL;
	}
	struct reader r = { .fd = fd };
	if (regular) {
		/* Read it from the start, whatever the offset of the fd. */
		if (lseek(fd, 0, SEEK_SET) < 0) {
			close(fd);
			return read_error(name);
		}
	} else {
		r.prefix = magic;
		r.prefix_len = have;
	}
	struct pcc_error *err = spool(&r, name, ret);
	close(fd);
	if (!err && ret->size == 0) {
		pcc_core_input_close(ret);
		return pcc_error_create(PCC_ERROR_INPUT, "%s is empty%s", name,
					ret->compression ? " once decompressed" : "");
	}
	return err;
}

void pcc_core_input_close(struct pcc_core_input *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	free(in->damage);
	in->damage = NULL;
}
