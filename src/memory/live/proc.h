/* SPDX-License-Identifier: MIT */
#ifndef PCC_LIVE_PROC_H
#define PCC_LIVE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../memory.h"

/* A /proc file, whole and NUL-terminated (*len_ret: its length, if not
 * NULL); NULL with errno set. */
char *pcc_live_read_proc_file(const char *path, size_t *len_ret);
/* The state letter of a thread (R, S, D, T, Z, ...), 0 if it is gone. */
char pcc_live_thread_state(pid_t pid, pid_t tid);
/* A numeric field of a status file, -1 if absent. */
long pcc_live_status_field(const char *status, const char *key);
/* Executable, command, auxiliary vector and root directory into t. */
void pcc_live_read_identity(struct pcc_target *t, pid_t pid);

struct pcc_error *pcc_live_no_such_process(pid_t pid);
struct pcc_error *pcc_live_exited_while_read(pid_t pid);
/* PTRACE_SEIZE failed with EPERM: why, and what to do. */
struct pcc_error *pcc_live_attach_denied(pid_t pid);

#endif
