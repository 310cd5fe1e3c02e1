/* SPDX-License-Identifier: MIT */
/*
 * pycorecheck: options, the pipeline target → debuginfo → cpython →
 * analysis → report, and the exit status.  Only this file prints errors.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../analysis/edge_cache.h"
#include "../analysis/run.h"
#include "../cpython/emulated.h"
#include "../cpython/locate.h"
#include "../cpython/python.h"
#include "../debuginfo/debuginfo.h"
#include "../memory/memory.h"
#include "../report/report.h"
#include "../util/parallel.h"

enum exit_status {
	EXIT_NOTHING_FOUND = 0,
	EXIT_FOUND = 1,
	EXIT_USAGE = 2,
	EXIT_CANNOT_ANALYSE = 3,
};

enum {
	OPT_JSON = 0x100,
	OPT_DOT,
	OPT_DEBUGINFO_PATH,
	OPT_SYSROOT,
	OPT_MAX_OBJECTS,
	OPT_DUMP_REFERENTS,
	OPT_EXECUTABLE,
	OPT_IGNORE_BUILD_ID,
	OPT_NO_DEFAULT_DEBUGINFO,
	OPT_SAME_PATH,
	OPT_PID,
	OPT_STATS,
	OPT_THREADS,
	OPT_NO_DWARF,
	OPT_NO_EMULATION,
	OPT_CHECK_TRAVERSALS,
	OPT_QUIET,
	OPT_TOP,
};

static const struct option long_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "dot", required_argument, NULL, OPT_DOT },
	{ "debuginfo-path", required_argument, NULL, OPT_DEBUGINFO_PATH },
	{ "sysroot", required_argument, NULL, OPT_SYSROOT },
	{ "executable", required_argument, NULL, OPT_EXECUTABLE },
	{ "ignore-build-id", no_argument, NULL, OPT_IGNORE_BUILD_ID },
	{ "no-default-debuginfo-path", no_argument, NULL,
	  OPT_NO_DEFAULT_DEBUGINFO },
	{ "max-objects", required_argument, NULL, OPT_MAX_OBJECTS },
	{ "dump-referents", required_argument, NULL, OPT_DUMP_REFERENTS },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "same-path-threshold", required_argument, NULL, OPT_SAME_PATH },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "no-dwarf", no_argument, NULL, OPT_NO_DWARF },
	{ "no-emulation", no_argument, NULL, OPT_NO_EMULATION },
	{ "check-traversals", no_argument, NULL, OPT_CHECK_TRAVERSALS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

struct options {
	bool json;
	bool stats;
	bool quiet;
	const char *dot_dir;
	const char *debuginfo_path;
	bool no_default_debuginfo_path;
	bool no_dwarf;
	const char *sysroot;
	const char *executable;
	bool ignore_build_id;
	bool no_emulation;
	bool check_traversals;
	const char *dump_referents;
	uint64_t max_objects;
	uint32_t same_path_threshold;
	unsigned threads;
	unsigned top; /* types in the memory section, by bytes and by count */
	char **cores; /* the CORE arguments ("-": standard input) */
	int ncores;
	pid_t pid; /* --pid, else 0 */
};

static void usage(FILE *out)
{
	fputs("usage: pycorecheck [OPTIONS] CORE...\n"
	      "       pycorecheck [OPTIONS] --pid PID\n"
	      "\n"
	      "Find the reference cycles that CPython's garbage collector has not\n"
	      "freed, in a core dump of a Python process or in a running one\n"
	      "(stopped only while its memory is copied).  A core may be\n"
	      "compressed (zstd, lz4, xz, gzip); '-' reads it from standard input.\n"
	      "Several cores: one report each (--json: one JSON object per line).\n"
	      "\n"
	      "  --pid PID              analyse the running process PID\n"
	      "  --json                 one JSON object on standard output\n"
	      "  --dot DIR              a Graphviz file per kind of cycle in DIR\n"
	      "  --debuginfo-path DIR   also look for separate debug info in DIR\n"
	      "  --sysroot DIR          find the core's mapped files under DIR\n"
	      "  --executable FILE      the core's main executable is FILE\n"
	      "  --ignore-build-id      use an executable or libpython whose build\n"
	      "                         id does not match the core (warns)\n"
	      "  --no-default-debuginfo-path  look for debug info only in\n"
	      "                         --debuginfo-path dirs and debuginfod\n"
	      "  --max-objects N        stop walking the GC lists after N objects\n"
	      "  --top N                the memory section lists the N types with\n"
	      "                         the most bytes and the N with the most\n"
	      "                         objects (default 10; 0: no such section)\n"
	      "  --same-path-threshold N  flag N or more handles open on one\n"
	      "                         path at once (default 10)\n"
	      "  --no-dwarf             ignore debug info: built-in layouts and\n"
	      "                         exported symbols only\n"
	      "  --no-emulation         do not run the traversals of types\n"
	      "                         pycorecheck does not know in the CPU\n"
	      "                         emulator: take their objects for alive\n"
	      "  --check-traversals     run every type's own tp_traverse in the CPU\n"
	      "                         emulator too, and report objects whose\n"
	      "                         referents differ from pycorecheck's\n"
	      "  --threads N            threads for the passes over the heap\n"
	      "                         (default: the CPUs it may use, up to 8)\n"
	      "  --stats                time and memory of each phase, on stderr\n"
	      "  -q, --quiet            no progress line on stderr (there is one\n"
	      "                         when it is a terminal and a phase runs\n"
	      "                         for more than a second)\n"
	      "  --dump-referents FILE  write every tracked object's referents\n"
	      "                         (JSON lines; for checking pycorecheck)\n"
	      "  -h, --help             this text\n"
	      "  -V, --version          the version\n"
	      "\n"
	      "Exit status: 0 nothing found, 1 unreachable cycles or leaked files\n"
	      "found, 2 usage error, 3 the core or process could not be analysed\n"
	      "(with several cores: 3 if any could not be, else 1 if any finding).\n",
	      out);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("pycorecheck: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see pycorecheck --help)\n", stderr);
	return EXIT_USAGE;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	o->max_objects = UINT64_C(1) << 31;
	o->same_path_threshold = 10;
	o->top = 10;
	o->threads = pcc_parallel_cpus();
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hVq", long_options, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quiet = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_STATS:
			o->stats = true;
			break;
		case OPT_NO_DWARF:
			o->no_dwarf = true;
			break;
		case OPT_NO_EMULATION:
			o->no_emulation = true;
			break;
		case OPT_CHECK_TRAVERSALS:
			o->check_traversals = true;
			break;
		case OPT_DOT:
			o->dot_dir = optarg;
			break;
		case OPT_DEBUGINFO_PATH:
			o->debuginfo_path = optarg;
			break;
		case OPT_SYSROOT:
			o->sysroot = optarg;
			break;
		case OPT_EXECUTABLE:
			o->executable = optarg;
			break;
		case OPT_IGNORE_BUILD_ID:
			o->ignore_build_id = true;
			break;
		case OPT_NO_DEFAULT_DEBUGINFO:
			o->no_default_debuginfo_path = true;
			break;
		case OPT_DUMP_REFERENTS:
			o->dump_referents = optarg;
			break;
		case OPT_PID: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v <= 0 || v > INT_MAX)
				return usage_error("--pid needs a process id, not '%s'",
						   optarg);
			o->pid = (pid_t)v;
			break;
		}
		case OPT_THREADS: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || optarg[0] == '-' || v == 0
			    || v > PCC_PARALLEL_MAX)
				return usage_error("--threads takes 1 to 8, not '%s'",
						   optarg);
			o->threads = (unsigned)v;
			break;
		}
		case OPT_TOP: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || optarg[0] == '-' || v > 100000)
				return usage_error("--top takes 0 to 100000, not '%s'",
						   optarg);
			o->top = (unsigned)v;
			break;
		}
		case OPT_MAX_OBJECTS:
		case OPT_SAME_PATH: {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (*end || v == 0 || optarg[0] == '-'
			    || (c == OPT_SAME_PATH && v > UINT32_MAX))
				return usage_error("expected a positive number, "
						   "not '%s'", optarg);
			if (c == OPT_MAX_OBJECTS)
				o->max_objects = v;
			else
				o->same_path_threshold = (uint32_t)v;
			break;
		}
		case 'h':
			usage(stdout);
			exit(EXIT_NOTHING_FOUND);
		case 'V':
			puts("pycorecheck " PACKAGE_VERSION);
			exit(EXIT_NOTHING_FOUND);
		default:
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (o->pid) {
		if (optind < argc)
			return usage_error("--pid and a core ('%s') exclude each "
					   "other; pass one", argv[optind]);
		if (o->sysroot || o->executable)
			return usage_error("%s", "--sysroot and --executable are "
					   "for cores; a live process is read "
					   "through /proc");
		return -1;
	}
	if (optind >= argc)
		return usage_error("%s", "no core file given (or --pid PID)");
	o->cores = argv + optind;
	o->ncores = argc - optind;
	int stdin_cores = 0;
	for (int i = 0; i < o->ncores; i++)
		stdin_cores += strcmp(o->cores[i], "-") == 0;
	if (stdin_cores > 1)
		return usage_error("%s", "'-' (standard input) given more than "
				   "once");
	if (o->ncores > 1 && o->dump_referents)
		return usage_error("%s", "--dump-referents takes one core");
	return -1;
}

/* --stats: where the time goes, and pycorecheck's own memory (anonymous
 * pages, so not the mmapped core) per tracked object: the most of it at
 * the end of a phase, when a phase's arrays are all there. */
struct stats {
	bool on;
	struct timespec last;
	struct pcc_python *py;
	long peak_anon_kb; /* -1: unknown */
	enum pcc_phase peak_phase;
};

static long anon_kb_now(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	char line[256];
	long anon_kb = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &anon_kb) == 1)
			break;
	fclose(f);
	return anon_kb;
}

static void stats_start(struct stats *st, bool on)
{
	st->on = on;
	st->peak_anon_kb = -1;
	clock_gettime(CLOCK_MONOTONIC, &st->last);
}

static void stats_phase(void *ctx, enum pcc_phase phase,
			const struct pcc_heap *h)
{
	struct stats *st = ctx;
	if (!st->on)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double s = (double)(now.tv_sec - st->last.tv_sec)
		   + (double)(now.tv_nsec - st->last.tv_nsec) / 1e9;
	fprintf(stderr, "pycorecheck: %-20s %8.3f s\n", pcc_phase_name(phase), s);
	long anon_kb = anon_kb_now();
	if (anon_kb > st->peak_anon_kb) {
		st->peak_anon_kb = anon_kb;
		st->peak_phase = phase;
	}
	clock_gettime(CLOCK_MONOTONIC, &st->last); /* not the reading's time */
	if (phase == PCC_PHASE_REACHABILITY && h->edges)
		fprintf(stderr, "pycorecheck: edge cache %.1f of %.1f MiB, %llu "
			"objects left out of it\n",
			h->edges->used / 1048576.0, h->edges->cap / 1048576.0,
			(unsigned long long)h->edges->left_out);
	const struct pcc_emulation_summary *emu = pcc_python_emulation(st->py);
	if (phase == PCC_PHASE_WALK && emu)
		fprintf(stderr, "pycorecheck: emulated %llu objects of %llu types "
			"in %.6f s, %llu basic blocks (%s)\n",
			(unsigned long long)emu->objects, (unsigned long long)emu->types,
			emu->seconds, (unsigned long long)emu->blocks, emu->engine);
}

static void stats_memory(struct stats *st, uint32_t tracked)
{
	if (!st->on || st->peak_anon_kb < 0)
		return;
	fprintf(stderr,
		"pycorecheck: anonymous memory %.1f MiB at most (after %s), "
		"%.1f bytes per tracked object\n",
		st->peak_anon_kb / 1024.0, pcc_phase_name(st->peak_phase),
		tracked ? st->peak_anon_kb * 1024.0 / tracked : 0.0);
}

/* The core being analysed, for fail(): its errors name it (several cores
 * in one run), and say so when the core is damaged. */
static const char *fail_core;
static const struct pcc_target *fail_target;

static int fail(struct pcc_error *err)
{
	fputs("pycorecheck: ", stderr);
	if (err != &pcc_enomem && fail_target && fail_target->damage) {
		free(err->hint);
		err->hint = pcc_xasprintf("the core is damaged (%s), which may be "
					  "why", fail_target->damage);
	}
	if (fail_core && err->message && !strstr(err->message, fail_core))
		fprintf(stderr, "%s: ", fail_core);
	pcc_error_fwrite(err, stderr);
	pcc_error_destroy(err);
	return EXIT_CANNOT_ANALYSE;
}

/* Analyse one core (core != NULL) or the process o->pid; dot_dir: where
 * --dot writes, or NULL. */
static int analyse(const struct options *o, const char *core,
		   const char *dot_dir)
{
	struct pcc_target *t = NULL;
	struct pcc_debuginfo *di = NULL;
	struct pcc_python *py = NULL;
	int status;
	struct pcc_core_options copts = {
		.sysroot = o->sysroot,
		.executable = o->executable,
		.must_match = pcc_python_library_names,
		.ignore_build_id = o->ignore_build_id,
		.prefault = o->threads > 1,
	};
	fail_core = core && strcmp(core, "-") == 0 ? "<stdin>" : core;
	fail_target = NULL;
	/* A live process is stopped only inside pcc_target_open_live, which
	 * copies what the analysis reads and detaches before it returns;
	 * t->pause_seconds is how long that took. */
	struct pcc_progress progress;
	pcc_progress_init(&progress, !o->quiet && isatty(STDERR_FILENO), stderr);
	struct pcc_error *err =
		o->pid ? pcc_target_open_live(o->pid, &progress, &t)
		       : pcc_target_open_core_with(core, &copts, &t);
	if (err)
		return fail(err);
	fail_target = t;
	struct pcc_debuginfo_options dopts = {
		.extra_path = o->debuginfo_path,
		.no_default_path = o->no_default_debuginfo_path,
		.ignore_dwarf = o->no_dwarf,
		.threads = o->threads,
	};
	err = pcc_debuginfo_open(t, &dopts, &di);
	if (err) {
		status = fail(err);
		goto out_target;
	}
	err = pcc_python_open(t, di, &py);
	if (err) {
		status = fail(err);
		goto out_debuginfo;
	}

	struct stats st;
	stats_start(&st, o->stats);
	st.py = py;
	struct pcc_analysis a;
	struct pcc_analysis_options ao = {
		.max_objects = o->max_objects,
		.threads = o->threads,
		.emulate = !o->no_emulation,
		.check_traversals = o->check_traversals,
		.same_path_threshold = o->same_path_threshold,
		.progress = &progress,
	};
	pcc_analysis_run(&a, py, &ao, stats_phase, &st);
	stats_memory(&st, a.heap.n);
	const struct pcc_result *r = &a.result;

	status = r->nunreachable || r->leaked_files ? EXIT_FOUND
							: EXIT_NOTHING_FOUND;
	if (o->dump_referents) {
		FILE *f = fopen(o->dump_referents, "w");
		if (!f) {
			status = fail(pcc_error_os("cannot write %s", o->dump_referents));
			goto out_heap;
		}
		pcc_report_referents(&a.heap, f);
		if (fclose(f) != 0) {
			status = fail(pcc_error_os("cannot write %s", o->dump_referents));
			goto out_heap;
		}
	}
	if (dot_dir) {
		err = pcc_report_dot(r, dot_dir);
		if (err) {
			status = fail(err);
			goto out_heap;
		}
	}
	if (o->json)
		pcc_report_json(r, stdout);
	else
		pcc_report_text(r, o->top, stdout);
	if (fflush(stdout) != 0)
		status = fail(pcc_error_os("cannot write the report"));
out_heap:
	pcc_analysis_deinit(&a);
	pcc_python_destroy(py);
out_debuginfo:
	pcc_debuginfo_destroy(di);
out_target:
	fail_target = NULL;
	pcc_target_destroy(t);
	return status;
}

/*
 * Several cores: one report after another (text: each under a header line;
 * --json: one object per line), --dot into DIR/1, DIR/2, ...  Exit status:
 * 3 if any core could not be analysed, else 1 if any had findings, else 0.
 */
static int analyse_cores(const struct options *o)
{
	if (o->ncores == 1)
		return analyse(o, o->cores[0], o->dot_dir);
	if (o->dot_dir && mkdir(o->dot_dir, 0777) < 0 && errno != EEXIST) {
		fail_core = NULL;
		return fail(pcc_error_os("cannot create %s", o->dot_dir));
	}
	bool any_found = false, any_failed = false;
	for (int i = 0; i < o->ncores; i++) {
		const char *core = o->cores[i];
		if (!o->json) {
			printf("%s==> %s <==\n", i ? "\n" : "",
			       strcmp(core, "-") == 0 ? "<stdin>" : core);
			fflush(stdout);
		}
		char *dot = o->dot_dir ? pcc_xasprintf("%s/%d", o->dot_dir, i + 1)
				       : NULL;
		int status = analyse(o, core, dot);
		free(dot);
		any_found |= status == EXIT_FOUND;
		any_failed |= status == EXIT_CANNOT_ANALYSE;
	}
	return any_failed ? EXIT_CANNOT_ANALYSE
	       : any_found ? EXIT_FOUND
			   : EXIT_NOTHING_FOUND;
}

int main(int argc, char **argv)
{
	/* A report piped into head must not kill us mid-write with SIGPIPE;
	 * the failed write is reported instead. */
	signal(SIGPIPE, SIG_IGN);
	pcc_alloc_tune();
	struct options o = { 0 };
	int status = parse_options(argc, argv, &o);
	if (status >= 0)
		return status;
	return o.pid ? analyse(&o, NULL, o.dot_dir) : analyse_cores(&o);
}
