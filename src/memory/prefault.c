/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prefault.h"
#include "../util/error.h"

enum {
	/* Pages asked of mincore at once: its vector stays on the stack. */
	CHUNK_PAGES = 4096,
};

struct pcc_prefault {
	pthread_t thread;
	struct pcc_segment *segments; /* a copy: the target's list may move */
	size_t nsegments;
	uint8_t *read; /* t->segments_read: set by the readers */
	uint8_t *done; /* the thread's own */
	uintptr_t page;
	/* The stop, and the wait that it ends. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop; /* also read without the lock */
	bool news; /* a segment was read since the thread last looked */
};

static bool stopping(const struct pcc_prefault *p)
{
	return __atomic_load_n(&p->stop, __ATOMIC_RELAXED);
}

/* Wait until a reader says a segment is read, or the stop. */
static void wait_for_news(struct pcc_prefault *p)
{
	pthread_mutex_lock(&p->lock);
	while (!p->stop && !p->news)
		pthread_cond_wait(&p->wake, &p->lock);
	p->news = false;
	pthread_mutex_unlock(&p->lock);
}

void pcc_prefault_wake(struct pcc_prefault *p)
{
	pthread_mutex_lock(&p->lock);
	p->news = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

/* Map the pages of [data, data + len) that the page cache holds, by
 * reading a byte of each: a fault maps them (and their neighbours), a
 * read of a page not held would be a read from disk. */
static void map_resident(struct pcc_prefault *p, const uint8_t *data, size_t len)
{
	uintptr_t begin = (uintptr_t)data, end = begin + len;
	/* The mapping starts on a page: data's page is in it. */
	uintptr_t at = begin & ~(p->page - 1);
	unsigned char vec[CHUNK_PAGES];
	unsigned sum = 0;
	while (at < end && !stopping(p)) {
		size_t n = (end - at + p->page - 1) / p->page;
		if (n > CHUNK_PAGES)
			n = CHUNK_PAGES;
		if (mincore((void *)at, n * p->page, vec) != 0)
			return;
		for (size_t k = 0; k < n; k++) {
			uintptr_t a = at + k * p->page;
			if (vec[k] & 1)
				sum += *(const volatile uint8_t *)(a < begin ? begin : a);
		}
		at += n * p->page;
	}
	(void)sum;
}

static void *prefault_main(void *arg)
{
	struct pcc_prefault *p = arg;
	size_t left = p->nsegments;
	while (left && !stopping(p)) {
		for (size_t i = 0; i < p->nsegments && !stopping(p); i++) {
			if (p->done[i] || !__atomic_load_n(&p->read[i], __ATOMIC_RELAXED))
				continue;
			p->done[i] = 1;
			left--;
			const struct pcc_segment *s = &p->segments[i];
			if (s->data)
				map_resident(p, s->data, s->end - s->start);
		}
		if (left)
			wait_for_news(p);
	}
	return NULL;
}

void pcc_prefault_start(struct pcc_target *t)
{
	size_t n = t->segments.len;
	if (!n || t->prefault)
		return;
	struct pcc_prefault *p = pcc_xcalloc(1, sizeof(*p));
	p->segments = pcc_xmalloc(n * sizeof(*p->segments));
	memcpy(p->segments, t->segments.data, n * sizeof(*p->segments));
	p->nsegments = n;
	p->read = pcc_xcalloc(n, 1);
	p->done = pcc_xcalloc(n, 1);
	p->page = (uintptr_t)sysconf(_SC_PAGESIZE);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (pthread_create(&p->thread, NULL, prefault_main, p) != 0) {
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->wake);
		free(p->segments);
		free(p->read);
		free(p->done);
		free(p);
		return;
	}
	t->prefault = p;
	t->segments_read = p->read;
	t->nsegments_read = n;
}

void pcc_prefault_stop(struct pcc_target *t)
{
	struct pcc_prefault *p = t->prefault;
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	__atomic_store_n(&p->stop, true, __ATOMIC_RELAXED);
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	t->prefault = NULL;
	t->segments_read = NULL;
	t->nsegments_read = 0;
	free(p->segments);
	free(p->read);
	free(p->done);
	free(p);
}

/* Half of the pages of each big mapping, let go on the second thread. */
struct unmap_half {
	const struct pcc_mmap *maps;
	size_t n;
};

enum { BIG_MAPPING = 64 << 20 };

static void *let_go_second_halves(void *arg)
{
	const struct unmap_half *u = arg;
	for (size_t i = 0; i < u->n; i++) {
		size_t half = u->maps[i].len / 2 & ~(size_t)(sysconf(_SC_PAGESIZE) - 1);
		if (u->maps[i].len >= BIG_MAPPING)
			madvise((uint8_t *)u->maps[i].addr + half,
				u->maps[i].len - half, MADV_DONTNEED);
	}
	return NULL;
}

void pcc_prefault_unmap(struct pcc_target *t)
{
	bool two = t->prefault != NULL;
	pcc_prefault_stop(t);
	struct unmap_half u = { t->maps.data, t->maps.len };
	pthread_t thread;
	two = two && pthread_create(&thread, NULL, let_go_second_halves, &u) == 0;
	for (size_t i = 0; i < t->maps.len; i++) {
		struct pcc_mmap *m = &t->maps.data[i];
		size_t half = m->len / 2 & ~(size_t)(sysconf(_SC_PAGESIZE) - 1);
		if (two && m->len >= BIG_MAPPING)
			madvise(m->addr, half, MADV_DONTNEED);
	}
	if (two)
		pthread_join(thread, NULL);
	for (size_t i = 0; i < t->maps.len; i++)
		munmap(t->maps.data[i].addr, t->maps.data[i].len);
	t->maps.len = 0;
}
