/* SPDX-License-Identifier: MIT */
/*
 * The copy of a live process's memory: host memory prepared before the
 * pause, then filled with process_vm_readv (or /proc/PID/mem) while the
 * threads stand still.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "copy.h"
#include "proc.h"
#include "ptrace.h"

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
void pcc_live_make_windows(struct pcc_target *t, const struct plan *est,
			 struct window_vec *w)
{
	long page = sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < est->maps.len; i++) {
		const struct map_entry *m = &est->maps.data[i];
		if (m->how != M_COPY)
			continue;
		uint64_t slack = (m->line.end - m->line.start) / 4;
		if (slack < WINDOW_SLACK_MIN)
			slack = WINDOW_SLACK_MIN;
		slack &= ~(uint64_t)(page - 1);
		uint64_t s = m->line.start > slack ? m->line.start - slack : 0;
		uint64_t e = m->line.end + slack < m->line.end ? UINT64_MAX & ~(uint64_t)(page - 1)
						      : m->line.end + slack;
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
bool pcc_live_place_mappings(struct pcc_target *t, struct plan *p,
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
					if (win->local && m->line.start >= win->start
					    && m->line.end <= win->end) {
						m->local = win->local + (m->line.start - win->start);
						break;
					}
				}
				if (!m->local)
					overflow += m->line.end - m->line.start;
			} else if (!m->local) {
				m->local = extra;
				extra += m->line.end - m->line.start;
			}
		}
	}
	for (size_t i = 0; i < p->maps.len; i++) {
		const struct map_entry *m = &p->maps.data[i];
		if (m->how != M_COPY)
			continue;
		for (size_t k = m->run_first; k < m->run_end; k++)
			p->runs.data[k].local = m->local
						+ (p->runs.data[k].remote - m->line.start);
	}
	return true;
}

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
struct pcc_error *pcc_live_read_runs(pid_t pid, const struct run_vec *runs,
				   long page, struct hole_vec *holes,
				   bool *used_mem, struct pcc_progress *progress)
{
	bool use_mem = getenv("PCC_TEST_NO_VM_READV") != NULL;
	int memfd = -1;
	size_t i = 0;
	uint64_t skip = 0; /* bytes of runs[i] already done */
	uint64_t copied = 0;
	struct pcc_error *err = NULL;
	while (i < runs->len) {
		int sig;
		if (pcc_live_interrupted(&sig)) {
			err = pcc_error_create(PCC_ERROR_INPUT, "interrupted by "
					       "signal %d", sig);
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
				err = pcc_live_exited_while_read(pid);
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
					err = errno == ENOENT ? pcc_live_exited_while_read(pid)
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
				err = pcc_live_exited_while_read(pid);
				break;
			}
			got = n < 0 ? 0 : (uint64_t)n;
		}
		bool short_read = got < asked;
		copied += got;
		pcc_progress_poll(progress, copied / (uint64_t)page);
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
