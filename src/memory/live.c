/* SPDX-License-Identifier: MIT */
/*
 * A live process as a target.  Every thread is seized (PTRACE_SEIZE, then
 * PTRACE_INTERRUPT) and the process is read while it stands still:
 *
 *   - writable and anonymous memory (heap, arenas, stacks, .data, .bss, and
 *     file pages the process has modified, such as RELRO) is copied into
 *     anonymous host memory with process_vm_readv, or pread on /proc/PID/mem
 *     where cross-memory attach is unavailable.  /proc/PID/pagemap tells
 *     which anonymous pages were ever touched: the others are zero and are
 *     left out of the copy (a thread's 8 MiB stack is mostly untouched);
 *   - read-only file mappings are not copied: the file is mapped, found
 *     through /proc/PID/root (a process in a container sees other files) or
 *     /proc/PID/map_files, and checked against the inode in /proc/PID/maps.
 *
 * The pause is the copy, and most of a copy's cost is faulting in fresh host
 * pages: so the maps are read once before the threads are stopped, host
 * memory is prepared for them (huge pages, populated), and the files are
 * mapped then too; what changed in between is handled while stopped.
 *
 * Then every thread is detached, and the analysis runs on the copy: the
 * process was stopped only for the copy.  PTRACE_SEIZE matters twice here: it
 * does not send SIGSTOP (a process that was stopped before, say by SIGSTOP,
 * stays stopped after PTRACE_DETACH, and one that was running runs), and it
 * reports group-stops as PTRACE_EVENT_STOP, so they are never re-injected.
 * A thread caught in a signal-delivery-stop gets its signal back on detach.
 *
 * Detaching happens on every path: errors return through it, and SIGINT,
 * SIGTERM, SIGHUP, SIGPIPE and SIGQUIT arriving in between (unless ignored)
 * run a handler that detaches every stopped thread before taking the
 * signal's default action.
 * If pycorecheck dies otherwise (SIGKILL), the kernel detaches its tracees;
 * nothing here defeats that (no PTRACE_O_EXITKILL, no tracer child).
 *
 * Test-only environment variables (they exist so that the tests can hit the
 * seize window; never set them in production):
 *   PCC_TEST_SLOW_READ_MS=N     sleep N ms while the threads are stopped
 *   PCC_TEST_FAIL_AFTER_SEIZE=1 fail on purpose while they are stopped
 *   PCC_TEST_NO_VM_READV=1      read through /proc/PID/mem
 * and PCC_DEBUG_LIVE=1 says where the pause went, on stderr.
 */
#include "config.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "memory.h"
#include "../util/sort.h"

/* ---------------------------------------------------------------- threads */

enum thread_state {
	THREAD_SEIZED = 1, /* traced, interrupt requested, not yet stopped */
	THREAD_STOPPED,    /* in a ptrace-stop: must be detached */
	THREAD_GONE,       /* exited */
	THREAD_DETACHED,
};

struct seized_thread {
	volatile pid_t tid;
	volatile sig_atomic_t state;
	/* Signal to give back on detach (a signal-delivery-stop), or 0. */
	volatile sig_atomic_t inject;
	bool was_stopped; /* state T before we came */
};

/*
 * Static, so that the signal handlers can walk it without allocating.  An
 * entry is filled before g_nthreads counts it.
 */
enum { MAX_THREADS = 32768 };
static struct seized_thread g_threads[MAX_THREADS];
static volatile sig_atomic_t g_nthreads;
static volatile sig_atomic_t g_interrupted;

static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT };
enum { NFATAL = sizeof(fatal_signals) / sizeof(fatal_signals[0]) };
static struct sigaction g_old_actions[NFATAL];
static bool g_installed[NFATAL];

static volatile sig_atomic_t g_alarm;

/* Async-signal-safe: only ptrace(2) and stores. */
static void detach_stopped_threads(void)
{
	for (sig_atomic_t i = 0; i < g_nthreads; i++) {
		struct seized_thread *th = &g_threads[i];
		if (th->state != THREAD_STOPPED)
			continue;
		ptrace(PTRACE_DETACH, th->tid, NULL, (void *)(long)th->inject);
		th->state = THREAD_DETACHED;
	}
}

static void on_fatal_signal(int sig)
{
	int saved = errno;
	/* Threads not stopped yet are detached by the kernel when we die. */
	detach_stopped_threads();
	g_interrupted = sig;
	for (int i = 0; i < NFATAL; i++) {
		if (fatal_signals[i] == sig && g_installed[i]) {
			sigaction(sig, &g_old_actions[i], NULL);
			g_installed[i] = false;
		}
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	errno = saved;
}

static void on_alarm(int sig)
{
	(void)sig;
	g_alarm = 1;
}

static void install_handlers(void)
{
	g_interrupted = 0;
	for (int i = 0; i < NFATAL; i++) {
		g_installed[i] = false;
		if (sigaction(fatal_signals[i], NULL, &g_old_actions[i]) < 0)
			continue;
		/* An ignored signal cannot kill us mid-read: leave it. */
		if (!(g_old_actions[i].sa_flags & SA_SIGINFO)
		    && g_old_actions[i].sa_handler == SIG_IGN)
			continue;
		struct sigaction sa = { .sa_handler = on_fatal_signal };
		sigfillset(&sa.sa_mask);
		if (sigaction(fatal_signals[i], &sa, NULL) == 0)
			g_installed[i] = true;
	}
}

static void restore_handlers(void)
{
	for (int i = 0; i < NFATAL; i++) {
		if (g_installed[i]) {
			sigaction(fatal_signals[i], &g_old_actions[i], NULL);
			g_installed[i] = false;
		}
	}
}

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec)
	       + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* ------------------------------------------------------------ /proc files */

/* Whole file, NUL-terminated; NULL with errno set. */
static char *read_proc_file(const char *path, size_t *len_ret)
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
static char thread_state_letter(pid_t pid, pid_t tid)
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
static long status_field(const char *status, const char *key)
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
	char *s = read_proc_file(path, NULL);
	if (!s)
		return;
	s[strcspn(s, "\n")] = 0;
	snprintf(buf, size, "%s", s);
	free(s);
}

/* ----------------------------------------------------------------- errors */

static struct pcc_error *no_such_process(pid_t pid)
{
	return pcc_error_hint(pcc_error_create(PCC_ERROR_INPUT,
					       "no process with pid %d",
					       (int)pid),
			      "check the pid (ps -e), and that it is visible "
			      "from here (the same pid namespace)");
}

static struct pcc_error *exited_while_read(pid_t pid)
{
	return pcc_error_create(PCC_ERROR_INPUT,
				"process %d exited while it was being read",
				(int)pid);
}

/* PTRACE_SEIZE failed with EPERM: traced already, or not allowed. */
static struct pcc_error *attach_denied(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *status = read_proc_file(path, NULL);
	long tracer = status ? status_field(status, "TracerPid") : -1;
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
	char *scope = read_proc_file("/proc/sys/kernel/yama/ptrace_scope", NULL);
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
	char *own = geteuid() == 0 ? read_proc_file("/proc/self/status", NULL)
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
		status = read_proc_file(path, NULL);
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

/* ---------------------------------------------------------------- seizing */

static int tid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * Wait until every seized thread has reported a stop (or exited).  A
 * periodic SIGALRM breaks waitpid so that a thread that never stops (stuck in
 * an uninterruptible sleep) ends in an error instead of a hang.
 */
static struct pcc_error *wait_for_stops(pid_t pid, const struct timespec *deadline)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old_sa;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old_sa); /* no SA_RESTART: waitpid breaks */
	struct itimerval tick = { { 0, 50000 }, { 0, 50000 } }, old_tick;
	setitimer(ITIMER_REAL, &tick, &old_tick);

	struct pcc_error *err = NULL;
	for (;;) {
		/* One thread at a time, by its id: we wait for all of them
		 * anyway, and never reap a child that is not ours. */
		struct seized_thread *th = NULL;
		for (sig_atomic_t i = 0; i < g_nthreads && !th; i++)
			if (g_threads[i].state == THREAD_SEIZED)
				th = &g_threads[i];
		if (!th)
			break;
		int status;
		pid_t w = waitpid(th->tid, &status, __WALL);
		if (w < 0) {
			if (errno == EINTR) {
				struct timespec now;
				clock_gettime(CLOCK_MONOTONIC, &now);
				if (elapsed(deadline, &now) < 0)
					continue;
				char st = thread_state_letter(pid, th->tid);
				err = pcc_error_hint(
					pcc_error_create(
						PCC_ERROR_INPUT,
						"thread %d of process %d did not stop "
						"in time (state %c%s)",
						(int)th->tid, (int)pid, st ? st : '?',
						st == 'D' ? ": in an uninterruptible "
							    "system call" : ""),
					"try again later");
				break;
			}
			if (errno == ECHILD) {
				th->state = THREAD_GONE; /* reaped already: gone */
				continue;
			}
			err = pcc_error_os("waitpid");
			break;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			th->state = THREAD_GONE;
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		/* event 0: a signal-delivery-stop: the signal was on its way
		 * to the thread, which gets it back when we detach (a stop
		 * signal then stops it as it would have).  PTRACE_EVENT_STOP:
		 * our interrupt (SIGTRAP) or a group-stop (a stop signal, the
		 * process was or is being stopped): nothing to give back,
		 * the kernel puts a group-stopped thread back into its stop
		 * when we detach. */
		if ((unsigned)status >> 16 == 0)
			th->inject = WSTOPSIG(status);
		th->state = THREAD_STOPPED;
	}
	setitimer(ITIMER_REAL, &old_tick, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
	return err;
}

/*
 * Seize and interrupt every thread, rescanning /proc/PID/task until a scan
 * made after all known threads stopped finds no new one: a stopped thread
 * cannot create another, so then the set is complete.
 */
static struct pcc_error *seize_all(pid_t pid, struct timespec *started)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	struct timespec deadline = { 0 };
	bool have_start = false;
	pid_t *known = NULL, *seen = NULL;
	size_t nknown = 0, cap_seen = 0;
	struct pcc_error *err = NULL;

	for (int round = 0;; round++) {
		DIR *d = opendir(path);
		if (!d) {
			err = round == 0 && errno == ENOENT ? no_such_process(pid)
			      : errno == ENOENT ? exited_while_read(pid)
						: pcc_error_os("cannot list %s", path);
			goto out;
		}
		size_t nseen = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			char *end;
			long tid = strtol(de->d_name, &end, 10);
			if (*end || tid <= 0)
				continue;
			if (nseen == cap_seen) {
				cap_seen = cap_seen ? 2 * cap_seen : 64;
				seen = pcc_xreallocarray(seen, cap_seen, sizeof(*seen));
			}
			seen[nseen++] = (pid_t)tid;
		}
		closedir(d);

		size_t added = 0;
		for (size_t i = 0; i < nseen; i++) {
			pid_t tid = seen[i];
			if (nknown && bsearch(&tid, known, nknown, sizeof(*known), tid_cmp))
				continue;
			char st = thread_state_letter(pid, tid);
			if (st == 'Z' || st == 'X' || st == 0)
				continue; /* exited (a zombie leader, say) */
			if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
				if (errno == ESRCH)
					continue; /* exited since the listing */
				err = errno == EPERM ? attach_denied(pid)
						     : pcc_error_os("cannot attach to "
								    "thread %d of process %d",
								    (int)tid, (int)pid);
				goto out;
			}
			if (!have_start) {
				clock_gettime(CLOCK_MONOTONIC, started);
				deadline = *started;
				deadline.tv_sec += 10;
				have_start = true;
			}
			if (g_nthreads == MAX_THREADS) {
				/* Let it go again before it ever stops: it is
				 * not counted, so detach it by hand. */
				ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
				int status;
				if (waitpid(tid, &status, __WALL) == tid
				    && WIFSTOPPED(status))
					ptrace(PTRACE_DETACH, tid, NULL, NULL);
				err = pcc_error_create(PCC_ERROR_UNSUPPORTED,
						       "process %d has more than %d "
						       "threads", (int)pid, MAX_THREADS);
				goto out;
			}
			struct seized_thread *th = &g_threads[g_nthreads];
			th->tid = tid;
			th->state = THREAD_SEIZED;
			th->inject = 0;
			th->was_stopped = st == 'T';
			g_nthreads = g_nthreads + 1; /* now the handlers see it */
			/* ESRCH: it is exiting; waitpid reports that. */
			ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
			added++;
		}
		if (g_nthreads == 0) {
			err = round == 0 ? pcc_error_create(PCC_ERROR_INPUT,
							    "process %d has no live thread "
							    "(a zombie?)", (int)pid)
					 : exited_while_read(pid);
			goto out;
		}
		if (added) {
			err = wait_for_stops(pid, &deadline);
			if (err)
				goto out;
		}
		/* The leader's exit ends the process (its threads with it). */
		size_t alive = 0;
		for (sig_atomic_t i = 0; i < g_nthreads; i++)
			alive += g_threads[i].state == THREAD_STOPPED;
		if (!alive) {
			err = exited_while_read(pid);
			goto out;
		}
		if (!added)
			break;
		known = pcc_xreallocarray(known, (size_t)g_nthreads, sizeof(*known));
		nknown = 0;
		for (sig_atomic_t i = 0; i < g_nthreads; i++)
			known[nknown++] = g_threads[i].tid;
		pcc_sort(known, nknown, sizeof(*known), tid_cmp);
	}
out:
	free(known);
	free(seen);
	return err;
}

/* ------------------------------------------------------------------ maps */

struct map_entry {
	uint64_t start, end, offset, inode;
	unsigned dev_major, dev_minor;
	char perms[5];
	const char *path; /* into the maps text; "" for anonymous */
	bool deleted;
	enum { M_SKIP, M_COPY, M_FILE } how;
	bool copy_all; /* every page, not only those pagemap says are there */
	const uint8_t *file_data; /* M_FILE */
	uint64_t file_len;        /* bytes of the mapping the file covers */
	uint8_t *local;           /* M_COPY: where its copy goes */
	size_t run_first, run_end; /* M_COPY: its runs in the plan */
};
PCC_VEC(map_entry_vec, struct map_entry)

/* Parse maps text in place (paths become NUL-terminated in it). */
static void parse_maps(char *text, struct map_entry_vec *out)
{
	char *line = text;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		struct map_entry m = { 0 };
		unsigned long long s, e, off, ino;
		int pathpos = -1;
		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &s, &e, m.perms,
			   &off, &m.dev_major, &m.dev_minor, &ino, &pathpos) >= 7
		    && s < e) {
			m.start = s;
			m.end = e;
			m.offset = off;
			m.inode = ino;
			m.path = pathpos >= 0 ? line + pathpos : "";
			size_t len = strlen(m.path);
			static const char del[] = " (deleted)";
			if (len >= sizeof(del) - 1
			    && strcmp(m.path + len - (sizeof(del) - 1), del) == 0)
				m.deleted = true;
			*map_entry_vec_push(out) = m;
		}
		line = nl ? nl + 1 : NULL;
	}
}

static char *xstrndup(const char *s, size_t n)
{
	char *r = pcc_xmalloc(n + 1);
	memcpy(r, s, n);
	r[n] = 0;
	return r;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* --------------------------------------------------------------- pagemap */

enum {
	PM_PRESENT = 1, /* bit 63 */
	PM_SWAPPED = 2, /* bit 62 */
	PM_FILE = 4,    /* bit 61: a file page (or shared anonymous) */
};

/*
 * Page flags of [start, end) into flags (one byte a page); false when
 * pagemap cannot be read.
 */
static bool read_pagemap(int fd, uint64_t start, uint64_t end, long page,
			 uint8_t *flags)
{
	enum { CHUNK = 4096 };
	uint64_t buf[CHUNK];
	uint64_t first = start / (uint64_t)page, n = (end - start) / (uint64_t)page;
	for (uint64_t done = 0; done < n;) {
		size_t want = n - done < CHUNK ? (size_t)(n - done) : CHUNK;
		ssize_t got = pread(fd, buf, want * 8, (off_t)((first + done) * 8));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || got % 8)
			return false;
		for (size_t i = 0; i < (size_t)got / 8; i++) {
			uint64_t v = buf[i];
			flags[done + i] = (uint8_t)(((v >> 63) & 1 ? PM_PRESENT : 0)
						    | ((v >> 62) & 1 ? PM_SWAPPED : 0)
						    | ((v >> 61) & 1 ? PM_FILE : 0));
		}
		done += (uint64_t)got / 8;
	}
	return true;
}

/* ------------------------------------------------------------ file images */

struct file_image {
	uint64_t inode;
	unsigned dev_major, dev_minor;
	const uint8_t *data;
	uint64_t size;
	bool failed;
};
PCC_VEC(file_image_vec, struct file_image)

/*
 * Open the file behind a mapping: by its path under the process's root when
 * that is still the same inode, else through map_files (the file was
 * replaced or deleted; needs privileges).  NULL: copy the mapping instead.
 */
static const struct file_image *file_image_get(struct pcc_target *t,
					       struct file_image_vec *cache,
					       pid_t pid, const struct map_entry *m)
{
	for (size_t i = 0; i < cache->len; i++) {
		struct file_image *img = &cache->data[i];
		if (img->inode == m->inode && img->dev_major == m->dev_major
		    && img->dev_minor == m->dev_minor)
			return img->failed ? NULL : img;
	}
	struct file_image img = { .inode = m->inode, .dev_major = m->dev_major,
				  .dev_minor = m->dev_minor };
	int fd = -1;
	if (!m->deleted && m->path[0] == '/') {
		char *full = pcc_xasprintf("%s%s", t->proc_root, m->path);
		fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		free(full);
		struct stat st;
		if (fd >= 0 && (fstat(fd, &st) < 0 || (uint64_t)st.st_ino != m->inode
				|| !S_ISREG(st.st_mode))) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		char mf[96];
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", (int)pid,
			 (unsigned long long)m->start, (unsigned long long)m->end);
		fd = open(mf, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	}
	if (fd >= 0) {
		size_t size = 0;
		img.data = pcc_target_map_file(t, fd, &size);
		img.size = size;
		close(fd);
	}
	img.failed = img.data == NULL;
	*file_image_vec_push(cache) = img;
	return img.failed ? NULL : &cache->data[cache->len - 1];
}

/* ------------------------------------------------------------------ plan */

struct run {
	uint64_t remote;
	uint64_t len;
	uint8_t *local;
};
PCC_VEC(run_vec, struct run)

/*
 * What to do with each mapping.  Made twice: once before the process is
 * stopped (an estimate, to prepare the copy buffer: faulting in fresh pages
 * is most of the cost of a copy, and is best paid before the pause), and
 * again while it is stopped (the truth).
 */
struct plan {
	struct map_entry_vec maps;
	struct run_vec runs; /* of the copied mappings, in address order */
	uint64_t copy_bytes;
};

static void plan_free(struct plan *p)
{
	map_entry_vec_free(&p->maps);
	run_vec_free(&p->runs);
}

static uint8_t *grow_flags(uint8_t *flags, size_t *cap, uint64_t n)
{
	if (n > *cap) {
		*cap = (size_t)n;
		flags = pcc_xrealloc(flags, *cap);
	}
	return flags;
}

/*
 * Parse text (in place) and decide per mapping.  estimate: before the stop
 * (files are opened into images, for later, but nothing is recorded in t).
 */
static void plan_process(struct pcc_target *t, pid_t pid, char *text,
			 bool estimate, struct file_image_vec *images,
			 struct plan *p)
{
	long page = sysconf(_SC_PAGESIZE);
	parse_maps(text, &p->maps);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	int pmfd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *flags = NULL;
	size_t flags_cap = 0;

	for (size_t i = 0; i < p->maps.len; i++) {
		struct map_entry *m = &p->maps.data[i];
		const char *s = m->path;
		bool readable = m->perms[0] == 'r';
		bool writable = m->perms[1] == 'w';
		bool shared = m->perms[3] == 's';
		bool anon = s[0] != '/';
		uint64_t npages = (m->end - m->start) / (uint64_t)page;
		if (!estimate && s[0] == '/') {
			struct pcc_mapped_file *f = pcc_mapped_file_vec_push(&t->files);
			memset(f, 0, sizeof(*f));
			f->start = m->start;
			f->end = m->end;
			f->offset = m->offset;
			f->path = xstrndup(s, strlen(s) - (m->deleted ? 10 : 0));
		}
		m->how = M_SKIP;
		if (!readable || starts_with(s, "[vvar") || starts_with(s, "[vsyscall"))
			continue;
		/* Device memory: reading it can hang or have side effects. */
		if (starts_with(s, "/dev/") && !starts_with(s, "/dev/zero")
		    && !starts_with(s, "/dev/shm/"))
			continue;
		if (anon || (shared && (m->deleted || starts_with(s, "/dev/zero")
					|| starts_with(s, "/SYSV")
					|| starts_with(s, "/memfd:")))) {
			m->how = M_COPY;
			/* Private anonymous: untouched pages are zero. */
			m->copy_all = shared;
			continue;
		}
		if (writable && !shared) {
			/* .data: pages not written yet are the file's. */
			m->how = M_COPY;
			m->copy_all = true;
			continue;
		}
		/* A read-only private file mapping may still hold pages the
		 * process wrote before making it read-only (RELRO): then it
		 * is copied. */
		if (!shared) {
			bool modified = m->perms[2] != 'x';
			if (pmfd >= 0) {
				flags = grow_flags(flags, &flags_cap, npages);
				if (read_pagemap(pmfd, m->start, m->end, page, flags)) {
					modified = false;
					for (uint64_t k = 0; k < npages && !modified; k++)
						modified = (flags[k] & PM_SWAPPED)
							   || ((flags[k] & PM_PRESENT)
							       && !(flags[k] & PM_FILE));
				}
			}
			if (modified) {
				m->how = M_COPY;
				m->copy_all = true;
				continue;
			}
		}
		const struct file_image *img = file_image_get(t, images, pid, m);
		if (estimate) {
			m->how = M_FILE;
			continue;
		}
		if (img && m->offset < img->size) {
			uint64_t avail = img->size - m->offset;
			avail = (avail + (uint64_t)page - 1) & ~(uint64_t)(page - 1);
			m->how = M_FILE;
			m->file_data = img->data + m->offset;
			m->file_len = avail < m->end - m->start ? avail : m->end - m->start;
			t->files.data[t->files.len - 1].checked = true;
		} else if (img) {
			continue; /* wholly beyond the end of the file */
		} else if (!shared) {
			m->how = M_COPY;
			m->copy_all = true;
		} else {
			pcc_target_warn(t, "shared mapping of %s is not readable: "
					   "left out", s);
		}
	}

	/* The pages to copy: all of them, or those ever touched. */
	for (size_t i = 0; i < p->maps.len; i++) {
		struct map_entry *m = &p->maps.data[i];
		if (m->how != M_COPY)
			continue;
		m->run_first = p->runs.len;
		uint64_t npages = (m->end - m->start) / (uint64_t)page;
		bool all = m->copy_all || pmfd < 0;
		if (!all) {
			flags = grow_flags(flags, &flags_cap, npages);
			all = !read_pagemap(pmfd, m->start, m->end, page, flags);
		}
		if (all) {
			*run_vec_push(&p->runs) = (struct run){ m->start, m->end - m->start, NULL };
		} else {
			for (uint64_t k = 0; k < npages;) {
				if (!(flags[k] & (PM_PRESENT | PM_SWAPPED))) {
					k++;
					continue;
				}
				uint64_t e = k;
				while (e < npages && (flags[e] & (PM_PRESENT | PM_SWAPPED)))
					e++;
				*run_vec_push(&p->runs) = (struct run){
					m->start + k * (uint64_t)page,
					(e - k) * (uint64_t)page, NULL };
				k = e;
			}
		}
		m->run_end = p->runs.len;
	}
	for (size_t i = 0; i < p->runs.len; i++)
		p->copy_bytes += p->runs.data[i].len;
	if (pmfd >= 0)
		close(pmfd);
	free(flags);
}

/* ----------------------------------------------------------- copy buffer */

/*
 * The copy goes into windows of host memory that mirror stretches of the
 * target's address space: a copied mapping inside a window lands at the same
 * offset from the window's start as its address, so that pages prepared for
 * the estimate line up with the truth even after the mapping grew or shrank
 * a little (a heap growing between the two), and each mapping stays
 * contiguous (an object may span pages, touched or not).
 */
struct window {
	uint64_t start, end; /* target addresses */
	uint8_t *local;
};
PCC_VEC(window_vec, struct window)

enum {
	WINDOW_SLACK_MIN = 4 << 20,
	WINDOW_JOIN_GAP = 64 << 20,
	HUGE_PAGE = 2 << 20,
};

static uint8_t *alloc_buffer(struct pcc_target *t, uint64_t len)
{
	if (len > SIZE_MAX - HUGE_PAGE)
		return NULL;
	size_t total = (size_t)len + HUGE_PAGE;
	void *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	*pcc_mmap_vec_push(&t->maps) = (struct pcc_mmap){ p, total };
	uint8_t *a = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1)
				 & ~(uintptr_t)(HUGE_PAGE - 1));
	madvise(a, (size_t)len, MADV_HUGEPAGE);
	return a;
}

static void populate(uint8_t *p, uint64_t len, long page)
{
	if (madvise(p, (size_t)len, MADV_POPULATE_WRITE) == 0)
		return;
	for (uint64_t off = 0; off < len; off += (uint64_t)page)
		((volatile uint8_t *)p)[off] = 0;
}

/* From the estimate: windows around the copied mappings, prepared. */
static void make_windows(struct pcc_target *t, const struct plan *est,
			 struct window_vec *w)
{
	long page = sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < est->maps.len; i++) {
		const struct map_entry *m = &est->maps.data[i];
		if (m->how != M_COPY)
			continue;
		uint64_t slack = (m->end - m->start) / 4;
		if (slack < WINDOW_SLACK_MIN)
			slack = WINDOW_SLACK_MIN;
		slack &= ~(uint64_t)(page - 1);
		uint64_t s = m->start > slack ? m->start - slack : 0;
		uint64_t e = m->end + slack < m->end ? UINT64_MAX & ~(uint64_t)(page - 1)
						      : m->end + slack;
		if (w->len && s <= w->data[w->len - 1].end + WINDOW_JOIN_GAP) {
			if (e > w->data[w->len - 1].end)
				w->data[w->len - 1].end = e;
		} else {
			*window_vec_push(w) = (struct window){ s, e, NULL };
		}
	}
	for (size_t i = 0; i < w->len; i++) {
		w->data[i].local = alloc_buffer(t, w->data[i].end - w->data[i].start);
		if (!w->data[i].local)
			w->data[i].start = w->data[i].end = 0; /* unusable */
	}
	for (size_t i = 0; i < est->runs.len; i++) {
		const struct run *r = &est->runs.data[i];
		for (size_t j = 0; j < w->len; j++) {
			if (w->data[j].local && r->remote >= w->data[j].start
			    && r->remote + r->len <= w->data[j].end) {
				populate(w->data[j].local + (r->remote - w->data[j].start),
					 r->len, page);
				break;
			}
		}
	}
}

/* Host memory for every copied mapping of the plan; false: out of memory. */
static bool place_mappings(struct pcc_target *t, struct plan *p,
			   const struct window_vec *w)
{
	uint64_t overflow = 0;
	for (int pass = 0; pass < 2; pass++) {
		uint8_t *extra = NULL;
		if (pass == 1) {
			if (!overflow)
				break;
			extra = alloc_buffer(t, overflow);
			if (!extra)
				return false;
		}
		for (size_t i = 0; i < p->maps.len; i++) {
			struct map_entry *m = &p->maps.data[i];
			if (m->how != M_COPY)
				continue;
			if (pass == 0) {
				m->local = NULL;
				for (size_t j = 0; j < w->len; j++) {
					const struct window *win = &w->data[j];
					if (win->local && m->start >= win->start
					    && m->end <= win->end) {
						m->local = win->local + (m->start - win->start);
						break;
					}
				}
				if (!m->local)
					overflow += m->end - m->start;
			} else if (!m->local) {
				m->local = extra;
				extra += m->end - m->start;
			}
		}
	}
	for (size_t i = 0; i < p->maps.len; i++) {
		const struct map_entry *m = &p->maps.data[i];
		if (m->how != M_COPY)
			continue;
		for (size_t k = m->run_first; k < m->run_end; k++)
			p->runs.data[k].local = m->local
						+ (p->runs.data[k].remote - m->start);
	}
	return true;
}

/* --------------------------------------------------------------- copying */

struct hole {
	uint64_t start, end;
};
PCC_VEC(hole_vec, struct hole)

static void add_hole(struct hole_vec *holes, uint64_t start, uint64_t end)
{
	if (holes->len && holes->data[holes->len - 1].end == start) {
		holes->data[holes->len - 1].end = end;
		return;
	}
	*hole_vec_push(holes) = (struct hole){ start, end };
}

/* An iovec is at most this long, so that a signal is served quickly. */
enum { IOV_CHUNK = 64 << 20, BATCH = 1024 };

/*
 * Read the runs; a page that cannot be read becomes a hole and the read goes
 * on after it.
 */
static struct pcc_error *read_runs(pid_t pid, const struct run_vec *runs,
				   long page, struct hole_vec *holes,
				   bool *used_mem)
{
	bool use_mem = getenv("PCC_TEST_NO_VM_READV") != NULL;
	int memfd = -1;
	size_t i = 0;
	uint64_t skip = 0; /* bytes of runs[i] already done */
	struct pcc_error *err = NULL;
	while (i < runs->len) {
		if (g_interrupted) {
			err = pcc_error_create(PCC_ERROR_INPUT, "interrupted by "
					       "signal %d", (int)g_interrupted);
			break;
		}
		uint64_t got, asked;
		if (!use_mem) {
			struct iovec l[BATCH], r[BATCH];
			size_t k = 0;
			asked = 0;
			uint64_t off = skip;
			for (size_t j = i; j < runs->len && k < BATCH; k++) {
				const struct run *rn = &runs->data[j];
				uint64_t n = rn->len - off;
				if (n > IOV_CHUNK)
					n = IOV_CHUNK;
				l[k] = (struct iovec){ rn->local + off, (size_t)n };
				r[k] = (struct iovec){ (void *)(uintptr_t)(rn->remote + off),
						       (size_t)n };
				asked += n;
				off += n;
				if (off == rn->len) {
					j++;
					off = 0;
				}
			}
			ssize_t n = process_vm_readv(pid, l, k, r, k, 0);
			if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
				use_mem = true;
				continue;
			}
			if (n < 0 && errno == ESRCH) {
				err = exited_while_read(pid);
				break;
			}
			if (n < 0 && errno != EFAULT) {
				err = pcc_error_os("process_vm_readv of process %d",
						   (int)pid);
				break;
			}
			got = n < 0 ? 0 : (uint64_t)n;
		} else {
			if (memfd < 0) {
				char path[64];
				snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
				memfd = open(path, O_RDONLY | O_CLOEXEC);
				if (memfd < 0) {
					err = errno == ENOENT ? exited_while_read(pid)
							      : pcc_error_os("cannot open %s", path);
					break;
				}
				*used_mem = true;
			}
			const struct run *rn = &runs->data[i];
			asked = rn->len - skip;
			if (asked > IOV_CHUNK)
				asked = IOV_CHUNK;
			ssize_t n = pread(memfd, rn->local + skip, (size_t)asked,
					  (off_t)(rn->remote + skip));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == ESRCH) {
				err = exited_while_read(pid);
				break;
			}
			got = n < 0 ? 0 : (uint64_t)n;
		}
		bool short_read = got < asked;
		while (got && i < runs->len) {
			uint64_t left = runs->data[i].len - skip;
			if (got >= left) {
				got -= left;
				i++;
				skip = 0;
			} else {
				skip += got;
				got = 0;
			}
		}
		if (short_read && i < runs->len) {
			/* The page at the current position is unreadable. */
			uint64_t at = runs->data[i].remote + skip;
			uint64_t next = (at | (uint64_t)(page - 1)) + 1;
			uint64_t run_end = runs->data[i].remote + runs->data[i].len;
			if (next > run_end)
				next = run_end;
			add_hole(holes, at, next);
			skip += next - at;
			if (skip == runs->data[i].len) {
				i++;
				skip = 0;
			}
		}
	}
	if (memfd >= 0)
		close(memfd);
	return err;
}

static void add_segment(struct pcc_target *t, uint64_t start, uint64_t end,
			const uint8_t *data, enum pcc_segment_source source)
{
	if (start >= end)
		return;
	struct pcc_segment *s = pcc_segment_vec_push(&t->segments);
	s->start = start;
	s->end = end;
	s->data = data;
	s->source = source;
}

static bool test_env(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0") != 0;
}

static void test_sleep(void)
{
	const char *slow = getenv("PCC_TEST_SLOW_READ_MS");
	long ms = slow ? strtol(slow, NULL, 10) : 0;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Before the process is stopped: the estimate, the buffer for it, and the
 * files it maps.
 */
static void prepare(struct pcc_target *t, pid_t pid, struct window_vec *w,
		    struct file_image_vec *images)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	char *text = read_proc_file(path, NULL);
	if (!text)
		return; /* the real attempt says why */
	struct plan est = { 0 };
	plan_process(t, pid, text, true, images, &est);
	make_windows(t, &est, w);
	plan_free(&est);
	free(text);
}

/*
 * Everything that must happen while the threads are stopped: the maps, the
 * decision per mapping, the copy, and opening the files.
 */
static struct pcc_error *read_process(struct pcc_target *t, pid_t pid,
				      const struct window_vec *w,
				      struct file_image_vec *images)
{
	test_sleep();
	if (test_env("PCC_TEST_FAIL_AFTER_SEIZE"))
		return pcc_error_create(PCC_ERROR_INPUT,
					"failing on purpose with process %d stopped "
					"(PCC_TEST_FAIL_AFTER_SEIZE is set)", (int)pid);

	char path[64];
	long page = sysconf(_SC_PAGESIZE);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	size_t text_len;
	char *text = read_proc_file(path, &text_len);
	if (!text)
		return errno == ENOENT || errno == ESRCH
			       ? exited_while_read(pid)
			       : pcc_error_os("cannot read %s", path);
	/* A pristine copy for the debug info layer (libdwfl parses it). */
	void *keep = mmap(NULL, text_len + 1, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (keep == MAP_FAILED) {
		free(text);
		return pcc_error_os("cannot allocate %zu bytes", text_len + 1);
	}
	memcpy(keep, text, text_len + 1);
	*pcc_mmap_vec_push(&t->maps) = (struct pcc_mmap){ keep, text_len + 1 };
	t->maps_text = keep;

	struct plan p = { 0 };
	struct hole_vec holes = { 0 };
	struct pcc_error *err = NULL;
	plan_process(t, pid, text, false, images, &p);
	if (p.maps.len == 0) {
		char st = thread_state_letter(pid, pid);
		if (st == 0 || st == 'Z' || st == 'X') {
			err = exited_while_read(pid); /* killed (SIGKILL) */
			goto out;
		}
		err = pcc_error_create(PCC_ERROR_INPUT,
				       "process %d has no memory mappings: not a "
				       "Python process", (int)pid);
		goto out;
	}
	if (!place_mappings(t, &p, w)) {
		err = pcc_error_os("cannot allocate memory for a copy of process %d",
				   (int)pid);
		goto out;
	}
	t->copied_bytes = p.copy_bytes;
	bool used_mem = false;
	struct timespec r0, r1;
	clock_gettime(CLOCK_MONOTONIC, &r0);
	err = read_runs(pid, &p.runs, page, &holes, &used_mem);
	clock_gettime(CLOCK_MONOTONIC, &r1);
	if (getenv("PCC_DEBUG_LIVE"))
		fprintf(stderr, "pycorecheck: live: %zu mappings, %zu runs, %llu "
			"bytes copied in %.1f ms\n", p.maps.len, p.runs.len,
			(unsigned long long)p.copy_bytes, elapsed(&r0, &r1) * 1e3);
	if (err)
		goto out;
	if (used_mem)
		pcc_target_warn(t, "process_vm_readv is unavailable: read "
				   "through /proc/%d/mem", (int)pid);

	/* Segments, in address order: maps are sorted and disjoint, and so
	 * are the holes. */
	size_t h = 0;
	for (size_t i = 0; i < p.maps.len; i++) {
		const struct map_entry *m = &p.maps.data[i];
		if (m->how == M_FILE) {
			add_segment(t, m->start, m->start + m->file_len, m->file_data,
				    PCC_SEGMENT_FILE);
		} else if (m->how == M_COPY) {
			uint64_t s = m->start;
			while (h < holes.len && holes.data[h].end <= s)
				h++;
			while (h < holes.len && holes.data[h].start < m->end) {
				add_segment(t, s, holes.data[h].start,
					    m->local + (s - m->start), PCC_SEGMENT_COPY);
				s = holes.data[h].end;
				h++;
			}
			add_segment(t, s, m->end, m->local + (s - m->start),
				    PCC_SEGMENT_COPY);
		}
	}
	t->last_hit = 0;
out:
	hole_vec_free(&holes);
	plan_free(&p);
	free(text);
	return err;
}

/* ---------------------------------------------------------------- identity */

static void read_identity(struct pcc_target *t, pid_t pid)
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
	char *cmd = read_proc_file(path, &len);
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
	char *auxv = read_proc_file(path, &len);
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
	char root[sizeof(t->proc_root)];
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	struct stat ours, theirs;
	if (stat("/", &ours) == 0 && stat(root, &theirs) == 0
	    && (ours.st_dev != theirs.st_dev || ours.st_ino != theirs.st_ino))
		memcpy(t->proc_root, root, sizeof(root));
}

/*
 * Detach every thread (they resume, or go back to the stop they were in).
 * After an error, some may still be on their way to the interrupt-stop:
 * wait a little for them, since a running tracee cannot be detached.  One
 * that does not stop even then is detached by the kernel when we exit.
 */
static void detach_all(pid_t pid)
{
	detach_stopped_threads();
	for (sig_atomic_t i = 0; i < g_nthreads; i++) {
		if (g_threads[i].state == THREAD_SEIZED) {
			struct timespec deadline;
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			deadline.tv_sec += 1;
			struct pcc_error *err = wait_for_stops(pid, &deadline);
			pcc_error_destroy(err);
			detach_stopped_threads();
			break;
		}
	}
}

struct pcc_error *pcc_target_open_live(pid_t pid, struct pcc_target **ret)
{
	if (pid <= 0)
		return pcc_error_create(PCC_ERROR_INVALID_ARGUMENT,
					"invalid pid %d", (int)pid);
	if (pid == getpid())
		return pcc_error_create(PCC_ERROR_INVALID_ARGUMENT,
					"pid %d is pycorecheck itself", (int)pid);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *status = read_proc_file(path, NULL);
	if (!status)
		return errno == ENOENT || errno == ESRCH
			       ? no_such_process(pid)
			       : pcc_error_os("cannot read %s", path);
	long tgid = status_field(status, "Tgid");
	bool kthread = status_field(status, "Kthread") == 1;
	free(status);
	if (tgid > 0 && tgid != pid)
		pid = (pid_t)tgid; /* a thread id: its process */
	if (kthread)
		return pcc_error_create(PCC_ERROR_INPUT,
					"pid %d is a kernel thread, not a Python "
					"process", (int)pid);

	struct pcc_target *t = pcc_xcalloc(1, sizeof(*t));
	t->core_fd = -1;
	t->live = true;
	t->pid = pid;
	read_identity(t, pid);

	struct window_vec windows = { 0 };
	struct file_image_vec images = { 0 };
	struct timespec p0, p1;
	clock_gettime(CLOCK_MONOTONIC, &p0);
	prepare(t, pid, &windows, &images);
	clock_gettime(CLOCK_MONOTONIC, &p1);
	if (getenv("PCC_DEBUG_LIVE"))
		fprintf(stderr, "pycorecheck: live: prepared %zu windows in %.1f ms\n",
			windows.len, elapsed(&p0, &p1) * 1e3);

	struct timespec started = { 0 }, ended;
	g_nthreads = 0;
	install_handlers();
	struct pcc_error *err = seize_all(pid, &started);
	if (getenv("PCC_DEBUG_LIVE")) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		fprintf(stderr, "pycorecheck: live: %d threads stopped in %.1f ms\n",
			(int)g_nthreads, elapsed(&started, &now) * 1e3);
	}
	if (!err)
		err = read_process(t, pid, &windows, &images);
	/* The main thread's thread pointer, for emulated code that reads
	 * thread-local variables (emulator.h); one syscall while stopped. */
	struct user_regs_struct regs;
	if (!err && ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0)
		t->fs_base = regs.fs_base;
	detach_all(pid);
	clock_gettime(CLOCK_MONOTONIC, &ended);
	restore_handlers();

	for (sig_atomic_t i = 0; i < g_nthreads; i++) {
		if (g_threads[i].state == THREAD_SEIZED)
			continue; /* never stopped: the kernel detaches it at exit */
		t->live_threads++;
		t->stopped_before += g_threads[i].was_stopped;
	}
	if (started.tv_sec || started.tv_nsec)
		t->pause_seconds = elapsed(&started, &ended);
	g_nthreads = 0;
	window_vec_free(&windows);
	file_image_vec_free(&images);
	if (err) {
		pcc_target_destroy(t);
		return err;
	}
	*ret = t;
	return NULL;
}
