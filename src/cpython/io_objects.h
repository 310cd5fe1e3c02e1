/* SPDX-License-Identifier: MIT */
/*
 * Objects that own a file descriptor (_io.FileIO, sockets) and the io
 * wrappers around them (Buffered*, TextIOWrapper).
 */
#ifndef PCC_IO_OBJECTS_H
#define PCC_IO_OBJECTS_H

#include "model.h"

enum pcc_file_role {
	PCC_FILE_NONE,
	PCC_FILE_FILEIO,   /* owns an fd */
	PCC_FILE_SOCKET,   /* owns an fd */
	PCC_FILE_CFILE,    /* 2.7 file: owns a C library FILE, hence its fd */
	PCC_FILE_BUFFERED, /* wraps .raw */
	PCC_FILE_TEXTIO,   /* wraps .buffer */
};

struct pcc_file_info {
	int fd;
	bool closefd;
	char mode[8];
	char *name; /* owned; NULL if unknown */
};

/* What role objects of this type play; cached in the type info. */
enum pcc_file_role pcc_python_file_role(struct pcc_python *py,
					struct pcc_type_info *ti);

/* Read a descriptor owner.  False if unreadable. */
bool pcc_python_read_file(struct pcc_python *py, uint64_t obj,
			  enum pcc_file_role role, struct pcc_file_info *ret);
void pcc_file_info_deinit(struct pcc_file_info *info);

/* The object a wrapper wraps (TextIOWrapper.buffer, Buffered.raw), 0 if none. */
uint64_t pcc_python_wrapped(struct pcc_python *py, uint64_t obj,
			    enum pcc_file_role role);

/* The mode a text wrapper was opened with ('r', 'a', ...), NULL if none. */
char *pcc_python_text_mode(struct pcc_python *py, uint64_t textio);

/* Whether an object that owns a descriptor may be untracked by the
 * collector (then the tracked objects' referents are searched for them):
 * 2.7's file objects never are; a socket is where _socket.socket is not a
 * GC type (up to 3.11) and _socket was imported. */
bool pcc_python_descriptors_may_be_untracked(struct pcc_python *py);

/* Value of a str key in a dict, 0 if absent. */
uint64_t pcc_python_dict_get(struct pcc_python *py, uint64_t dict,
			     const char *key);

#endif
