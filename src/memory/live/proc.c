/* SPDX-License-Identifier: MIT */
/*
 * What /proc says of a live process: files read whole, thread states,
 * status fields, its identity, and the errors that name what went wrong.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

/* Whole file, NUL-terminated; NULL with errno set. */
char *pcc_live_read_proc_file(const char *path, size_t *len_ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 65536, len = 0;
	char *buf = pcc_xmalloc(cap);
	for (;;) {
		if (cap - len < 4097) {
			cap *= 2;
			buf = pcc_xrealloc(buf, cap);
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			free(buf);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	if (len_ret)
		*len_ret = len;
	return buf;
}

/* The state letter of /proc/PID/task/TID/stat, or 0. */
char pcc_live_thread_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

/* A "Key:\tvalue" number from /proc/PID/status, or -1. */
long pcc_live_status_field(const char *status, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':')
			return strtol(p + klen + 1, NULL, 10);
	}
	return -1;
}

/* A hexadecimal "Key:\tvalue" from /proc/PID/status (CapEff...), or -1. */
static bool status_hex(const char *status, const char *key, uint64_t *ret)
{
	size_t klen = strlen(key);
	for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			*ret = strtoull(p + klen + 1, NULL, 16);
			return true;
		}
	}
	return false;
}

static void read_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	buf[0] = 0;
	char *s = pcc_live_read_proc_file(path, NULL);
	if (!s)
		return;
	s[strcspn(s, "\n")] = 0;
	snprintf(buf, size, "%s", s);
	free(s);
}

struct pcc_error *pcc_live_no_such_process(pid_t pid)
{
	return pcc_error_hint(pcc_error_create(PCC_ERROR_INPUT,
					       "no process with pid %d",
					       (int)pid),
			      "check the pid (ps -e), and that it is visible "
			      "from here (the same pid namespace)");
}

struct pcc_error *pcc_live_exited_while_read(pid_t pid)
{
	return pcc_error_create(PCC_ERROR_INPUT,
				"process %d exited while it was being read",
				(int)pid);
}

/* PTRACE_SEIZE failed with EPERM: traced already, or not allowed. */
struct pcc_error *pcc_live_attach_denied(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *status = pcc_live_read_proc_file(path, NULL);
	long tracer = status ? pcc_live_status_field(status, "TracerPid") : -1;
	free(status);
	if (tracer > 0) {
		char comm[32];
		read_comm((pid_t)tracer, comm, sizeof(comm));
		return pcc_error_hint(
			pcc_error_create(PCC_ERROR_INPUT,
					 "process %d is already traced by process "
					 "%ld (%s)",
					 (int)pid, tracer, comm[0] ? comm : "?"),
			"a process has one tracer at a time: detach %s (or let it "
			"finish) and try again",
			comm[0] ? comm : "it");
	}
	char *scope = pcc_live_read_proc_file("/proc/sys/kernel/yama/ptrace_scope", NULL);
	char yama[160] = "";
	if (scope) {
		scope[strcspn(scope, "\n")] = 0;
		snprintf(yama, sizeof(yama),
			 "; /proc/sys/kernel/yama/ptrace_scope is %s%s", scope,
			 strcmp(scope, "0") == 0 ? ""
			 : strcmp(scope, "3") == 0 ? " (no attaching at all, until reboot)"
			 : " (1: only descendants, 2: only CAP_SYS_PTRACE)");
		free(scope);
	}
	errno = EPERM;
	/* Root is told the reason root has, not to run as root. */
	enum { CAP_SYS_PTRACE_BIT = 19 };
	uint64_t own_caps = 0, target_caps = 0;
	char *own = geteuid() == 0 ? pcc_live_read_proc_file("/proc/self/status", NULL)
				   : NULL;
	bool have_own = own && status_hex(own, "CapEff", &own_caps);
	free(own);
	if (have_own && !(own_caps >> CAP_SYS_PTRACE_BIT & 1))
		return pcc_error_hint(
			pcc_error_os("cannot attach to process %d (ptrace): "
				     "pycorecheck runs as root but without "
				     "CAP_SYS_PTRACE", (int)pid),
			"give it CAP_SYS_PTRACE (in a container: --cap-add "
			"SYS_PTRACE)%s", yama);
	if (have_own) {
		status = pcc_live_read_proc_file(path, NULL);
		bool more = status && status_hex(status, "CapPrm", &target_caps)
			    && (target_caps & ~own_caps);
		free(status);
		return pcc_error_hint(
			pcc_error_os("cannot attach to process %d (ptrace): the "
				     "kernel refused it although pycorecheck runs "
				     "as root with CAP_SYS_PTRACE%s", (int)pid,
				     more ? ", and the process holds capabilities "
					    "that pycorecheck lacks"
					  : ""),
			"a security module (AppArmor, SELinux, Yama), a sandbox or "
			"another user namespace forbids tracing it%s; take a core "
			"instead (gcore, or the kernel's core dump) if that is "
			"allowed", yama);
	}
	return pcc_error_hint(
		pcc_error_os("cannot attach to process %d (ptrace)", (int)pid),
		"run pycorecheck as the process's user or as root, or give it "
		"CAP_SYS_PTRACE (in a container: --cap-add SYS_PTRACE)%s",
		yama);
}

void pcc_live_read_identity(struct pcc_target *t, pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		t->exe_path = pcc_xstrdup(buf);
	}
	read_comm(pid, t->prog_name, sizeof(t->prog_name));

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	size_t len;
	char *cmd = pcc_live_read_proc_file(path, &len);
	if (cmd) {
		while (len && cmd[len - 1] == 0)
			len--;
		for (size_t i = 0; i < len; i++)
			if (cmd[i] == 0)
				cmd[i] = ' ';
		cmd[len] = 0;
		if (len > 4096)
			cmd[4096] = 0;
		t->cmdline = cmd;
	}

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	char *auxv = pcc_live_read_proc_file(path, &len);
	if (auxv) {
		for (size_t off = 0; off + 16 <= len; off += 16) {
			uint64_t kv[2];
			memcpy(kv, auxv + off, 16);
			if (kv[0] == AT_PHDR)
				t->auxv_phdr = kv[1];
			else if (kv[0] == AT_ENTRY)
				t->auxv_entry = kv[1];
			else if (kv[0] == AT_EXECFN)
				t->auxv_execfn = kv[1];
		}
		free(auxv);
	}

	/* A process in a container: its paths are under /proc/PID/root. */
	char root[32];
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	struct stat ours, theirs;
	if (stat("/", &ours) == 0 && stat(root, &theirs) == 0
	    && (ours.st_dev != theirs.st_dev || ours.st_ino != theirs.st_ino))
		t->files.root = pcc_xstrdup(root);
	t->files.pid = (int)pid;
}
