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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>

#include "copy.h"
#include "plan.h"
#include "proc.h"
#include "ptrace.h"

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
	char *text = pcc_live_read_proc_file(path, NULL);
	if (!text)
		return; /* the real attempt says why */
	struct plan est = { 0 };
	pcc_live_plan(t, pid, text, true, images, &est);
	pcc_live_make_windows(t, &est, w);
	pcc_live_plan_free(&est);
	free(text);
}

/*
 * Everything that must happen while the threads are stopped: the maps, the
 * decision per mapping, the copy, and opening the files.
 */
static struct pcc_error *read_process(struct pcc_target *t, pid_t pid,
				      const struct window_vec *w,
				      struct file_image_vec *images,
				      struct pcc_progress *progress)
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
	char *text = pcc_live_read_proc_file(path, &text_len);
	if (!text)
		return errno == ENOENT || errno == ESRCH
			       ? pcc_live_exited_while_read(pid)
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
	t->files.maps_text = keep;

	struct plan p = { 0 };
	struct hole_vec holes = { 0 };
	struct pcc_error *err = NULL;
	pcc_live_plan(t, pid, text, false, images, &p);
	if (p.maps.len == 0) {
		char st = pcc_live_thread_state(pid, pid);
		if (st == 0 || st == 'Z' || st == 'X') {
			err = pcc_live_exited_while_read(pid); /* killed (SIGKILL) */
			goto out;
		}
		err = pcc_error_create(PCC_ERROR_INPUT,
				       "process %d has no memory mappings: not a "
				       "Python process", (int)pid);
		goto out;
	}
	if (!pcc_live_place_mappings(t, &p, w)) {
		err = pcc_error_os("cannot allocate memory for a copy of process %d",
				   (int)pid);
		goto out;
	}
	t->copied_bytes = p.copy_bytes;
	bool used_mem = false;
	struct timespec r0, r1;
	clock_gettime(CLOCK_MONOTONIC, &r0);
	pcc_progress_begin(progress, "copy the stopped process's memory", "pages",
			   p.copy_bytes / (uint64_t)page);
	err = pcc_live_read_runs(pid, &p.runs, page, &holes, &used_mem, progress);
	pcc_progress_end(progress);
	clock_gettime(CLOCK_MONOTONIC, &r1);
	if (getenv("PCC_DEBUG_LIVE"))
		fprintf(stderr, "pycorecheck: live: %zu mappings, %zu runs, %llu "
			"bytes copied in %.1f ms\n", p.maps.len, p.runs.len,
			(unsigned long long)p.copy_bytes, pcc_live_elapsed(&r0, &r1) * 1e3);
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
			add_segment(t, m->line.start, m->line.start + m->file_len, m->file_data,
				    PCC_SEGMENT_FILE);
		} else if (m->how == M_COPY) {
			uint64_t s = m->line.start;
			while (h < holes.len && holes.data[h].end <= s)
				h++;
			while (h < holes.len && holes.data[h].start < m->line.end) {
				add_segment(t, s, holes.data[h].start,
					    m->local + (s - m->line.start), PCC_SEGMENT_COPY);
				s = holes.data[h].end;
				h++;
			}
			add_segment(t, s, m->line.end, m->local + (s - m->line.start),
				    PCC_SEGMENT_COPY);
		}
	}
out:
	hole_vec_free(&holes);
	pcc_live_plan_free(&p);
	free(text);
	return err;
}

struct pcc_error *pcc_target_open_live(pid_t pid, struct pcc_progress *progress,
				       struct pcc_target **ret)
{
	if (pid <= 0)
		return pcc_error_create(PCC_ERROR_INVALID_ARGUMENT,
					"invalid pid %d", (int)pid);
	if (pid == getpid())
		return pcc_error_create(PCC_ERROR_INVALID_ARGUMENT,
					"pid %d is pycorecheck itself", (int)pid);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *status = pcc_live_read_proc_file(path, NULL);
	if (!status)
		return errno == ENOENT || errno == ESRCH
			       ? pcc_live_no_such_process(pid)
			       : pcc_error_os("cannot read %s", path);
	long tgid = pcc_live_status_field(status, "Tgid");
	bool kthread = pcc_live_status_field(status, "Kthread") == 1;
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
	pcc_live_read_identity(t, pid);

	struct window_vec windows = { 0 };
	struct file_image_vec images = { 0 };
	struct timespec p0, p1;
	clock_gettime(CLOCK_MONOTONIC, &p0);
	prepare(t, pid, &windows, &images);
	clock_gettime(CLOCK_MONOTONIC, &p1);
	if (getenv("PCC_DEBUG_LIVE"))
		fprintf(stderr, "pycorecheck: live: prepared %zu windows in %.1f ms\n",
			windows.len, pcc_live_elapsed(&p0, &p1) * 1e3);

	struct timespec started = { 0 }, ended;
	pcc_live_threads_reset();
	pcc_live_install_handlers();
	struct pcc_error *err = pcc_live_seize_all(pid, &started);
	if (getenv("PCC_DEBUG_LIVE")) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		fprintf(stderr, "pycorecheck: live: %u threads stopped in %.1f ms\n",
			pcc_live_threads_seized(), pcc_live_elapsed(&started, &now) * 1e3);
	}
	if (!err)
		err = read_process(t, pid, &windows, &images, progress);
	/* The main thread's thread pointer, for emulated code that reads
	 * thread-local variables (emulator.h); one syscall while stopped. */
	struct user_regs_struct regs;
	if (!err && ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0)
		t->fs_base = regs.fs_base;
	pcc_live_detach_all(pid);
	clock_gettime(CLOCK_MONOTONIC, &ended);
	pcc_live_restore_handlers();

	pcc_live_threads_count(&t->live_threads, &t->stopped_before);
	if (started.tv_sec || started.tv_nsec)
		t->pause_seconds = pcc_live_elapsed(&started, &ended);
	pcc_live_threads_reset();
	window_vec_free(&windows);
	file_image_vec_free(&images);
	if (err) {
		pcc_target_destroy(t);
		return err;
	}
	*ret = t;
	return NULL;
}
