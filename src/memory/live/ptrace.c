/* SPDX-License-Identifier: MIT */
/*
 * The threads of a live process: seized and interrupted one by one until
 * the set is complete, and detached on every path, from signal handlers
 * too (see live.c for why PTRACE_SEIZE).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "proc.h"
#include "ptrace.h"
#include "../../util/sort.h"

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

void pcc_live_install_handlers(void)
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

void pcc_live_restore_handlers(void)
{
	for (int i = 0; i < NFATAL; i++) {
		if (g_installed[i]) {
			sigaction(fatal_signals[i], &g_old_actions[i], NULL);
			g_installed[i] = false;
		}
	}
}


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
				if (pcc_live_elapsed(deadline, &now) < 0)
					continue;
				char st = pcc_live_thread_state(pid, th->tid);
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
struct pcc_error *pcc_live_seize_all(pid_t pid, struct timespec *started)
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
			err = round == 0 && errno == ENOENT ? pcc_live_no_such_process(pid)
			      : errno == ENOENT ? pcc_live_exited_while_read(pid)
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
			char st = pcc_live_thread_state(pid, tid);
			if (st == 'Z' || st == 'X' || st == 0)
				continue; /* exited (a zombie leader, say) */
			if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
				if (errno == ESRCH)
					continue; /* exited since the listing */
				err = errno == EPERM ? pcc_live_attach_denied(pid)
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
					 : pcc_live_exited_while_read(pid);
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
			err = pcc_live_exited_while_read(pid);
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

/*
 * Detach every thread (they resume, or go back to the stop they were in).
 * After an error, some may still be on their way to the interrupt-stop:
 * wait a little for them, since a running tracee cannot be detached.  One
 * that does not stop even then is detached by the kernel when we exit.
 */
void pcc_live_detach_all(pid_t pid)
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

bool pcc_live_interrupted(int *sig)
{
	*sig = (int)g_interrupted;
	return g_interrupted != 0;
}

void pcc_live_threads_reset(void)
{
	g_nthreads = 0;
}

unsigned pcc_live_threads_seized(void)
{
	return (unsigned)g_nthreads;
}

void pcc_live_threads_count(unsigned *stopped, unsigned *stopped_before)
{
	*stopped = *stopped_before = 0;
	for (sig_atomic_t i = 0; i < g_nthreads; i++) {
		if (g_threads[i].state == THREAD_SEIZED)
			continue; /* never stopped: the kernel detaches it at exit */
		(*stopped)++;
		*stopped_before += g_threads[i].was_stopped;
	}
}
