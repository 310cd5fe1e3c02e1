/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

struct writer {
	int fd;
	uint64_t size;
	const char *dir; /* for messages */
};

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
 */
static bool writer_put(struct writer *w, const uint8_t *p, size_t n)
{
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
		}
		w->size += chunk;
		p += chunk;
		n -= chunk;
	}
	return true;
}

static struct pcc_error *write_error(const struct writer *w, const char *name)
{
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

	struct writer w = { .fd = -1 };
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

struct pcc_error *pcc_core_input_open(const char *path, const char *name,
				      struct pcc_core_input *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->fd = -1;
	bool from_stdin = strcmp(path, "-") == 0;
	int fd = from_stdin ? dup(STDIN_FILENO)
			    : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return from_stdin ? pcc_error_os("cannot read standard input")
				  : pcc_error_os("cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return pcc_error_os("cannot stat %s", name);
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return pcc_error_create(PCC_ERROR_INPUT,
					"%s is not a regular file", name);
	}
	bool regular = S_ISREG(st.st_mode);
	if (!regular && !from_stdin
	    && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
		close(fd);
		return pcc_error_create(PCC_ERROR_INPUT,
					"%s is not a regular file", name);
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
