/* SPDX-License-Identifier: MIT */
/*
 * The paths libdwfl's own search may open, checked before it opens them
 * (see debug_search.h).  The rules follow elfutils' libdwfl/find-debuginfo.c
 * (find_debuginfo_in_path), dwfl_build_id_find_elf.c
 * (__libdwfl_open_by_build_id) and libdebuginfod's cache layout.  libdw's
 * own last-resort lookup of a dwz file (dwarf_getalt.c) only tries the host's
 * /usr/lib/debug and the absolute name the debug file gives, which are the
 * system's, not the input's.
 */
#include "config.h"

#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debug_search.h"
#include "debuginfo.h"
#include "../memory/memory.h"

/* libdwfl's bounds on a build id it looks up (MIN/MAX_BUILD_ID_BYTES). */
#define BUILD_ID_MIN 3
#define BUILD_ID_MAX 64

struct search {
	char *hazard; /* the first candidate that must not be opened */
};

/*
 * Takes path.  A FIFO blocks open(); a device or socket is no file to read
 * to its end.  A directory fails harmlessly in libelf.  true when the path
 * exists (libdwfl's open would succeed, or block).
 */
static bool check(struct search *s, char *path)
{
	struct stat st;
	bool exists = stat(path, &st) == 0;
	if (exists && !s->hazard && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		s->hazard = path;
		return true;
	}
	free(path);
	return exists;
}

/* [DIR/][SUBDIR/]NAME, as find-debuginfo.c's try_open joins them. */
static void check_joined(struct search *s, const char *dir, const char *subdir,
			 const char *name)
{
	if (!dir && !subdir)
		check(s, pcc_xstrdup(name));
	else if (!subdir)
		check(s, pcc_xasprintf("%s/%s", dir, name));
	else if (!dir)
		check(s, pcc_xasprintf("%s/%s", subdir, name));
	else
		check(s, pcc_xasprintf("%s/%s/%s", dir, subdir, name));
}

/* The elements of a debuginfo path, each without its CRC-check prefix. */
static char **path_elements(const char *search_path, size_t *n)
{
	char *copy = pcc_xstrdup(search_path ? search_path : "");
	size_t cap = 1;
	for (const char *c = copy; *c; c++)
		cap += *c == ':';
	char **elems = pcc_xcalloc(cap + 1, sizeof(*elems));
	char *rest = copy, *p;
	*n = 0;
	while ((p = strsep(&rest, ":")) != NULL && *n < cap) {
		if (*p == '+' || *p == '-')
			p++;
		elems[(*n)++] = pcc_xstrdup(p);
	}
	free(copy);
	return elems;
}

static void free_elements(char **elems, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(elems[i]);
	free(elems);
}

/* The build id in hex, as libdwfl names files by it; "" when libdwfl would
 * not look it up. */
static void hex_id(const unsigned char *id, int len, char *hex)
{
	if (!id || len < BUILD_ID_MIN || len > BUILD_ID_MAX)
		len = 0;
	for (int i = 0; i < len; i++) {
		static const char digits[] = "0123456789abcdef";
		hex[2 * i] = digits[id[i] >> 4];
		hex[2 * i + 1] = digits[id[i] & 15];
	}
	hex[2 * len] = 0;
}

/*
 * DIR/.build-id/NN/REST[.debug] in every absolute DIR, in order.  libdwfl
 * takes the first that opens (and then looks no further, not even by name):
 * true when there is one.
 */
static bool check_build_id(struct search *s, char **elems, size_t n,
			   const char *hex, bool debug)
{
	for (size_t i = 0; *hex && i < n; i++)
		if (elems[i][0] == '/'
		    && check(s, pcc_xasprintf("%s/.build-id/%.2s/%s%s", elems[i],
					      hex, hex + 2,
					      debug ? ".debug" : "")))
			return true;
	return false;
}

/* debuginfod's cached copy, which libdebuginfod opens before it asks a
 * server: only when it is asked. */
static void check_debuginfod_cache(struct search *s, const char *hex, bool debug)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!*hex || !urls || !*urls)
		return;
	char *cached = pcc_debuginfod_cache_file(hex, debug ? "debuginfo"
							    : "executable");
	if (cached)
		check(s, cached);
}

/* Where find_debuginfo_in_path looks for LINK (a .gnu_debuglink name, or the
 * name of a dwz file) for the file FILE_NAME, for both kinds of lookup. */
static void check_debuglink(struct search *s, char **elems, size_t n,
			    const char *file_name, const char *link)
{
	const char *slash = strrchr(file_name, '/');
	const char *base = slash ? slash + 1 : file_name;
	char *dir = slash ? pcc_xasprintf("%.*s", (int)(slash - file_name),
					  file_name)
			  : NULL;
	char *invented = link ? NULL : pcc_xasprintf("%s.debug", base);
	if (!link)
		link = invented;
	const char *link_slash = strrchr(link, '/');
	const char *link_base = link_slash ? link_slash + 1 : link;
	for (size_t i = 0; i < n; i++) {
		const char *p = elems[i];
		if (!*p) {
			check_joined(s, dir, NULL, link);
			check_joined(s, dir, ".dwz", link_base);
		} else if (*p == '/') {
			check_joined(s, p, NULL, link_base);
			check_joined(s, p, ".dwz", link_base);
			/* The file's directory under p, then each of its
			 * tails ("explore_dir"). */
			for (const char *sub = dir && dir[0] == '/' ? dir : NULL;
			     sub; sub = strchr(sub + 1, '/')) {
				if (!sub[1])
					break;
				check_joined(s, p, sub + 1, link);
				check_joined(s, p, sub + 1, base);
			}
		} else {
			check_joined(s, dir, p, link);
			check_joined(s, dir, p, base);
		}
	}
	free(invented);
	free(dir);
}

/* The dwz file a debug file names in .gnu_debugaltlink: its name and build
 * id.  false when the file has none or cannot be read. */
static bool read_altlink(const char *file_name, char **name,
			 unsigned char *id, int *id_len)
{
	int fd = pcc_target_open_regular(file_name);
	if (fd < 0)
		return false;
	bool found = false;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t shstrndx;
	if (elf && elf_kind(elf) == ELF_K_ELF
	    && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		for (Elf_Scn *scn = NULL; !found && (scn = elf_nextscn(elf, scn));) {
			GElf_Shdr shdr;
			const char *sname;
			if (!gelf_getshdr(scn, &shdr)
			    || !(sname = elf_strptr(elf, shstrndx, shdr.sh_name))
			    || strcmp(sname, ".gnu_debugaltlink") != 0)
				continue;
			Elf_Data *data = elf_getdata(scn, NULL);
			if (!data || !data->d_buf || data->d_size < 2)
				break;
			const char *text = data->d_buf;
			size_t len = strnlen(text, data->d_size);
			size_t rest = data->d_size - len - (len < data->d_size);
			if (len == 0 || len == data->d_size || rest < BUILD_ID_MIN
			    || rest > BUILD_ID_MAX)
				break;
			*name = pcc_xasprintf("%.*s", (int)len, text);
			memcpy(id, text + len + 1, rest);
			*id_len = (int)rest;
			found = true;
		}
	}
	elf_end(elf);
	close(fd);
	return found;
}

/* The search for a file by its build id, then by name (debug info only),
 * then from debuginfod, as dwfl_standard_find_debuginfo and
 * dwfl_build_id_find_elf make it. */
static void check_search(struct search *s, char **elems, size_t n,
			 const unsigned char *id, int id_len,
			 const char *file_name, const char *link, bool debug)
{
	char hex[2 * BUILD_ID_MAX + 1];
	hex_id(id, id_len, hex);
	if (check_build_id(s, elems, n, hex, debug))
		return;
	if (debug && file_name) {
		check_debuglink(s, elems, n, file_name, link);
		char *canon = realpath(file_name, NULL);
		if (canon && strcmp(canon, file_name) != 0)
			check_debuglink(s, elems, n, canon, link);
		free(canon);
	}
	check_debuginfod_cache(s, hex, debug);
}

char *pcc_debug_search_hazard(const char *search_path,
			      const unsigned char *build_id, int build_id_len,
			      const char *file_name, const char *debuglink,
			      bool debug)
{
	struct search s = { 0 };
	size_t n;
	char **elems = path_elements(search_path, &n);
	check_search(&s, elems, n, build_id, build_id_len, file_name, debuglink,
		     debug);
	/* Looking for the dwz file of a debug file: by the build id and the
	 * name its .gnu_debugaltlink gives. */
	char *alt_name = NULL;
	unsigned char alt_id[BUILD_ID_MAX];
	int alt_len = 0;
	if (debug && file_name
	    && read_altlink(file_name, &alt_name, alt_id, &alt_len)) {
		check_search(&s, elems, n, alt_id, alt_len, file_name, alt_name,
			     true);
		free(alt_name);
	}
	free_elements(elems, n);
	return s.hazard;
}

char *pcc_debuginfod_cache_file(const char *hex_build_id, const char *kind)
{
	const char *env = getenv("DEBUGINFOD_CACHE_PATH");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (env && *env)
		return pcc_xasprintf("%s/%s/%s", env, hex_build_id, kind);
	if (xdg && *xdg)
		return pcc_xasprintf("%s/debuginfod_client/%s/%s", xdg,
				     hex_build_id, kind);
	if (home && *home)
		return pcc_xasprintf("%s/.cache/debuginfod_client/%s/%s", home,
				     hex_build_id, kind);
	return NULL;
}
