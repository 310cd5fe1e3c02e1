/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "interpreter.h"
#include "io_objects.h"
#include "object_dict.h"
#include "strings.h"
#include "traverse.h"
#include "types.h"

enum {
	MAX_BASE_DEPTH = 64,
	/* PySocketSockObject (Modules/socketmodule.h) starts with an int
	 * descriptor right after the object header in every 3.x version on
	 * POSIX, then the int family and type; the struct lives in the _socket
	 * extension, whose debug info is not the interpreter's, so these are
	 * offsets from the end of the header (16 bytes, 32 with Py_TRACE_REFS),
	 * not read from DWARF. */
	SOCKET_FD_OFFSET = 0,
	SOCKET_FAMILY_OFFSET = 4,
	SOCKET_TYPE_OFFSET = 8,
};

static bool type_chain_named(struct pcc_python *py, uint64_t type,
			     const char *name)
{
	for (int depth = 0; type && depth < MAX_BASE_DEPTH; depth++) {
		uint64_t name_addr;
		if (!pcc_target_read_u64(py->t, type + py->l.off[PCC_L_TP_NAME],
					 &name_addr))
			return false;
		char *s = pcc_target_read_cstr(py->t, name_addr, 64);
		bool match = s && strcmp(s, name) == 0;
		free(s);
		if (match)
			return true;
		if (!pcc_target_read_u64(py->t, type + py->l.off[PCC_L_TP_BASE],
					 &type))
			return false;
	}
	return false;
}

static bool type_chain_has(struct pcc_python *py, uint64_t type,
			   uint64_t wanted)
{
	for (int depth = 0; type && depth < MAX_BASE_DEPTH; depth++) {
		if (type == wanted)
			return true;
		if (!pcc_target_read_u64(py->t, type + py->l.off[PCC_L_TP_BASE],
					 &type))
			return false;
	}
	return false;
}

enum pcc_file_role pcc_python_file_role(struct pcc_python *py,
					struct pcc_type_info *ti)
{
	if (!ti)
		return PCC_FILE_NONE;
	if (ti->file_role_known)
		return (enum pcc_file_role)ti->file_role;
	enum pcc_kind kind = ti->kind == PCC_KIND_INSTANCE ? ti->base_kind : ti->kind;
	enum pcc_file_role role = PCC_FILE_NONE;
	if (kind == PCC_KIND_FILEIO)
		role = PCC_FILE_FILEIO;
	else if (kind == PCC_KIND_BUFFERED)
		role = PCC_FILE_BUFFERED;
	else if (kind == PCC_KIND_TEXTIO)
		role = PCC_FILE_TEXTIO;
	else if ((kind == PCC_KIND_NONE || kind == PCC_KIND_UNKNOWN)
		 && type_chain_named(py, ti->addr, "_socket.socket"))
		role = PCC_FILE_SOCKET;
	else if ((kind == PCC_KIND_NONE || kind == PCC_KIND_UNKNOWN)
		 && py->file_type && type_chain_has(py, ti->addr, py->file_type))
		role = PCC_FILE_CFILE;
	ti->file_role = (int8_t)role;
	ti->file_role_known = true;
	return role;
}

struct dict_get {
	struct pcc_python *py;
	const char *key;
	uint64_t value;
};

static bool visit_dict_get(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	struct dict_get *g = ctx;
	if (g->value || !e || !e->key
	    || (e->label != PCC_EDGE_DICT_VALUE && e->label != PCC_EDGE_ATTR))
		return false;
	char *k = pcc_python_str(g->py, e->key, 64);
	if (k && strcmp(k, g->key) == 0)
		g->value = ref;
	free(k);
	return g->value != 0;
}

uint64_t pcc_python_dict_get(struct pcc_python *py, uint64_t dict,
			     const char *key)
{
	struct dict_get g = { py, key, 0 };
	if (dict)
		pcc_python_traverse(py, dict, visit_dict_get, &g, true, NULL);
	return g.value;
}

/* FileIO's mode, as FileIO.mode reports it (Modules/_io/fileio.c), from
 * the flag bitfield after fd: created, readable, writable, appending,
 * seekable:2, closefd (3.x); 2.7 has no created bit (mode 'x' came with
 * 3.3), so the others come one bit earlier. */
static void fileio_mode(uint8_t bits, bool has_created, char *mode,
			bool *closefd)
{
	if (!has_created)
		bits = (uint8_t)(bits << 1);
	bool created = bits & 1, readable = bits & 2, writable = bits & 4,
	     appending = bits & 8;
	*closefd = (bits >> 6) & 1;
	const char *m;
	if (created)
		m = readable ? "xb+" : "xb";
	else if (appending)
		m = readable ? "ab+" : "ab";
	else if (readable)
		m = writable ? "rb+" : "rb";
	else
		m = "wb";
	snprintf(mode, 8, "%s", m);
}

static char *name_of(struct pcc_python *py, uint64_t name_obj)
{
	if (!name_obj)
		return NULL;
	char *s = pcc_python_str_text(py, name_obj, 4096);
	if (s)
		return s;
	uint64_t type = pcc_python_ob_type(py, name_obj);
	return pcc_xasprintf("<%s>",
			     pcc_python_type_name(py, pcc_python_type(py, type)));
}

bool pcc_python_read_file(struct pcc_python *py, uint64_t obj,
			  enum pcc_file_role role, struct pcc_file_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	uint32_t fd;
	if (role == PCC_FILE_FILEIO) {
		const struct pcc_layout *l = &py->l;
		if (!pcc_layout_has(l, PCC_L_FILEIO_FD)
		    || !pcc_target_read_u32(py->t, obj + l->off[PCC_L_FILEIO_FD], &fd))
			return false;
		const uint8_t *bits = pcc_target_ptr(
			py->t, obj + l->off[PCC_L_FILEIO_FD] + 4, 1);
		if (!bits)
			return false;
		ret->fd = (int32_t)fd;
		fileio_mode(*bits, pcc_layout_has(l, PCC_L_FILEIO_CREATED),
			    ret->mode, &ret->closefd);
		uint64_t dict = 0;
		if (pcc_layout_has(l, PCC_L_FILEIO_DICT))
			pcc_target_read_u64(py->t, obj + l->off[PCC_L_FILEIO_DICT],
					    &dict);
		ret->name = name_of(py, pcc_python_dict_get(py, dict, "name"));
		return true;
	}
	if (role == PCC_FILE_CFILE) {
		/* Open while f_fp is set; the descriptor is the FILE's. */
		const struct pcc_layout *l = &py->l;
		uint64_t fp, name = 0, mode = 0;
		if (!pcc_layout_has(l, PCC_L_FILE_FP)
		    || !pcc_layout_has(l, PCC_L_CFILE_FILENO)
		    || !pcc_target_read_u64(py->t, obj + l->off[PCC_L_FILE_FP], &fp))
			return false;
		if (!fp) {
			ret->fd = -1;
			return true;
		}
		if (!pcc_target_read_u32(py->t, fp + l->off[PCC_L_CFILE_FILENO], &fd))
			return false;
		ret->fd = (int32_t)fd;
		ret->closefd = true;
		if (pcc_layout_has(l, PCC_L_FILE_MODE)
		    && pcc_target_read_u64(py->t, obj + l->off[PCC_L_FILE_MODE], &mode)) {
			char *m = pcc_python_str(py, mode, sizeof(ret->mode) - 1);
			if (m)
				snprintf(ret->mode, sizeof(ret->mode), "%s", m);
			free(m);
		}
		if (pcc_layout_has(l, PCC_L_FILE_NAME))
			pcc_target_read_u64(py->t, obj + l->off[PCC_L_FILE_NAME], &name);
		ret->name = name_of(py, name);
		return true;
	}
	if (role == PCC_FILE_SOCKET) {
		uint32_t family, type;
		/* ob_type is the last word of PyObject in every build we read. */
		uint64_t body = obj + (pcc_layout_has(&py->l, PCC_L_OBJECT_SIZE)
					       ? (uint64_t)py->l.off[PCC_L_OBJECT_SIZE]
					       : (uint64_t)py->off_type + 8);
		if (!pcc_target_read_u32(py->t, body + SOCKET_FD_OFFSET, &fd)
		    || !pcc_target_read_u32(py->t, body + SOCKET_FAMILY_OFFSET, &family)
		    || !pcc_target_read_u32(py->t, body + SOCKET_TYPE_OFFSET, &type))
			return false;
		ret->fd = (int32_t)fd;
		ret->closefd = true;
		snprintf(ret->mode, sizeof(ret->mode), "rw");
		static const char *const families[] = { [1] = "AF_UNIX",
							[2] = "AF_INET",
							[10] = "AF_INET6" };
		const char *f = family < 11 && families[family] ? families[family]
								: NULL;
		const char *t = (type & 0xf) == 1 ? "SOCK_STREAM"
				: (type & 0xf) == 2 ? "SOCK_DGRAM" : NULL;
		ret->name = pcc_xasprintf("<socket %s%s%s>",
					  f ? f : "family ?", t ? ", " : "",
					  t ? t : "");
		return true;
	}
	return false;
}

void pcc_file_info_deinit(struct pcc_file_info *info)
{
	free(info->name);
	info->name = NULL;
}

uint64_t pcc_python_wrapped(struct pcc_python *py, uint64_t obj,
			    enum pcc_file_role role)
{
	enum pcc_layout_field f = role == PCC_FILE_TEXTIO ? PCC_L_TEXTIO_BUFFER
				  : role == PCC_FILE_BUFFERED ? PCC_L_BUFFERED_RAW
							      : PCC_L_COUNT;
	uint64_t inner = 0;
	if (f != PCC_L_COUNT && pcc_layout_has(&py->l, f))
		pcc_target_read_u64(py->t, obj + py->l.off[f], &inner);
	return inner;
}

char *pcc_python_text_mode(struct pcc_python *py, uint64_t textio)
{
	uint64_t dict = 0;
	if (pcc_layout_has(&py->l, PCC_L_TEXTIO_DICT))
		pcc_target_read_u64(py->t, textio + py->l.off[PCC_L_TEXTIO_DICT],
				    &dict);
	return pcc_python_str(py, pcc_python_dict_get(py, dict, "mode"), 8);
}

/*
 * Can a socket exist that the collector does not track?  Only where
 * _socket.socket is not a GC type (up to 3.11), and only once the _socket
 * module was imported: then the tracked objects' referents are searched.
 */
static bool sockets_may_be_untracked(struct pcc_python *py)
{
	const struct pcc_layout *l = &py->l;
	uint64_t modules = 0, flags;
	if (!pcc_layout_has(l, PCC_L_INTERP_MODULES) || !py->gcs.len
	    || !pcc_target_read_u64(py->t,
				    py->gcs.data[0].interp_addr
					    + l->off[PCC_L_INTERP_MODULES],
				    &modules)
	    || !modules)
		return true;
	uint64_t module = pcc_python_dict_get(py, modules, "_socket");
	if (!module)
		return false;
	uint64_t dict = pcc_python_object_dict(py, module);
	uint64_t type = pcc_python_dict_get(py, dict, "socket");
	if (!type || !pcc_target_read_u64(py->t, type + l->off[PCC_L_TP_FLAGS],
					  &flags))
		return true;
	return !(flags & PCC_TPFLAGS_HAVE_GC);
}

/* 2.7's file objects are never tracked: PyFile_Type is no GC type. */
static bool files_untracked(struct pcc_python *py)
{
	uint64_t flags;
	return py->file_type
	       && pcc_target_read_u64(py->t, py->file_type + py->l.off[PCC_L_TP_FLAGS],
				      &flags)
	       && !(flags & PCC_TPFLAGS_HAVE_GC);
}

bool pcc_python_descriptors_may_be_untracked(struct pcc_python *py)
{
	return sockets_may_be_untracked(py) || files_untracked(py);
}
