/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"

enum { REDRAW_MS = 250 };

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec)
	       + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void pcc_progress_init(struct pcc_progress *p, bool enabled, FILE *out)
{
	*p = (struct pcc_progress){ .enabled = enabled, .out = out, .delay = 1.0 };
	/* For the tests, which cannot wait for a slow phase. */
	const char *delay = getenv("PCC_TEST_PROGRESS_DELAY");
	if (delay)
		p->delay = atof(delay);
}

void pcc_progress_begin(struct pcc_progress *p, const char *phase,
			const char *unit, uint64_t total)
{
	if (!p || !p->enabled)
		return;
	pcc_progress_end(p);
	p->phase = phase;
	p->unit = unit;
	p->total = total;
	p->countdown = PCC_PROGRESS_STRIDE;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->last = p->start;
	if (p->delay <= 0)
		pcc_progress_poll(p, 0);
}

/* 1234 -> "1234", 2100000 -> "2.1M". */
static void human(char *buf, size_t size, uint64_t n)
{
	if (n >= 10000000000ull)
		snprintf(buf, size, "%.1fG", (double)n / 1e9);
	else if (n >= 10000000)
		snprintf(buf, size, "%.1fM", (double)n / 1e6);
	else if (n >= 100000)
		snprintf(buf, size, "%.0fk", (double)n / 1e3);
	else
		snprintf(buf, size, "%llu", (unsigned long long)n);
}

/*
 * One write, and only if the terminal takes it now: a live target stays
 * stopped while its memory is copied, and a terminal whose output is held
 * (^S, a full pipe to a pager) must not make that last.  POLLOUT on a
 * terminal means little is pending, so a short line does not block.
 */
static bool put(struct pcc_progress *p, const char *line)
{
	int fd = fileno(p->out);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT))
		return false;
	return write(fd, line, strlen(line)) > 0;
}

void pcc_progress_poll(struct pcc_progress *p, uint64_t done)
{
	if (!p || !p->enabled || !p->phase)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (seconds_between(&p->start, &now) < p->delay)
		return;
	if (p->shown && seconds_between(&p->last, &now) * 1000 < REDRAW_MS)
		return;
	p->last = now;
	char d[32], t[32], line[160];
	human(d, sizeof(d), done);
	if (p->total) {
		human(t, sizeof(t), p->total);
		unsigned pct = done >= p->total ? 100 : (unsigned)(done * 100 / p->total);
		snprintf(line, sizeof(line), "\rpycorecheck: %s: %s of %s %s, %u%%\033[K",
			 p->phase, d, t, p->unit, pct);
	} else {
		snprintf(line, sizeof(line), "\rpycorecheck: %s: %s %s\033[K", p->phase,
			 d, p->unit);
	}
	if (put(p, line))
		p->shown = true;
}

void pcc_progress_end(struct pcc_progress *p)
{
	if (!p || !p->enabled)
		return;
	if (p->shown)
		put(p, "\r\033[K");
	p->shown = false;
	p->phase = NULL;
}
