/* SPDX-License-Identifier: MIT */
/*
 * pycorecheck: options, the pipeline target → debuginfo → cpython →
 * analysis → report, and the exit status.  Only this file prints errors.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../report/report.h"

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
	OPT_SAME_PATH,
	OPT_PID,
	OPT_STATS,
};

static const struct option long_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "dot", required_argument, NULL, OPT_DOT },
	{ "debuginfo-path", required_argument, NULL, OPT_DEBUGINFO_PATH },
	{ "sysroot", required_argument, NULL, OPT_SYSROOT },
	{ "max-objects", required_argument, NULL, OPT_MAX_OBJECTS },
	{ "dump-referents", required_argument, NULL, OPT_DUMP_REFERENTS },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "same-path-threshold", required_argument, NULL, OPT_SAME_PATH },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

struct options {
	bool json;
	bool stats;
	const char *dot_dir;
	const char *debuginfo_path;
	const char *sysroot;
	const char *dump_referents;
	uint64_t max_objects;
	uint32_t same_path_threshold;
	const char *core;
	pid_t pid; /* --pid, else 0 */
};

static void usage(FILE *out)
{
	fputs("usage: pycorecheck [OPTIONS] CORE\n"
	      "       pycorecheck [OPTIONS] --pid PID\n"
	      "\n"
	      "Find the reference cycles that CPython's garbage collector has not\n"
	      "freed, in a core dump of a Python process or in a running one\n"
	      "(stopped only while its memory is copied).\n"
	      "\n"
	      "  --pid PID              analyse the running process PID\n"
	      "  --json                 one JSON object on standard output\n"
	      "  --dot DIR              a Graphviz file per kind of cycle in DIR\n"
	      "  --debuginfo-path DIR   also look for separate debug info in DIR\n"
	      "  --sysroot DIR          find the core's mapped files under DIR\n"
	      "  --max-objects N        stop walking the GC lists after N objects\n"
	      "  --same-path-threshold N  flag N or more handles open on one\n"
	      "                         path at once (default 10)\n"
	      "  --stats                time and memory of each phase, on stderr\n"
	      "  --dump-referents FILE  write every tracked object's referents\n"
	      "                         (JSON lines; for checking pycorecheck)\n"
	      "  -h, --help             this text\n"
	      "  -V, --version          the version\n"
	      "\n"
	      "Exit status: 0 nothing found, 1 unreachable cycles or leaked files\n"
	      "found, 2 usage error, 3 the core or process could not be analysed.\n",
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
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_STATS:
			o->stats = true;
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
		if (o->sysroot)
			return usage_error("%s", "--sysroot is for cores; a live "
					   "process is read through /proc");
		return -1;
	}
	if (optind >= argc)
		return usage_error("%s", "no core file given (or --pid PID)");
	if (optind + 1 < argc)
		return usage_error("more than one core given ('%s'); pass one",
				   argv[optind + 1]);
	o->core = argv[optind];
	return -1;
}

/* --stats: where the time goes, and pycorecheck's own memory (anonymous
 * pages, so not the mmapped core) per tracked object. */
struct stats {
	bool on;
	struct timespec last;
};

static void stats_start(struct stats *st, bool on)
{
	st->on = on;
	clock_gettime(CLOCK_MONOTONIC, &st->last);
}

static void stats_phase(struct stats *st, const char *what)
{
	if (!st->on)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double s = (double)(now.tv_sec - st->last.tv_sec)
		   + (double)(now.tv_nsec - st->last.tv_nsec) / 1e9;
	fprintf(stderr, "pycorecheck: %-20s %8.3f s\n", what, s);
	st->last = now;
}

static void stats_memory(struct stats *st, uint32_t tracked)
{
	if (!st->on)
		return;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return;
	char line[256];
	long anon_kb = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &anon_kb) == 1)
			break;
	fclose(f);
	if (anon_kb >= 0)
		fprintf(stderr,
			"pycorecheck: anonymous memory %.1f MiB, %.1f bytes per "
			"tracked object\n",
			anon_kb / 1024.0,
			tracked ? anon_kb * 1024.0 / tracked : 0.0);
}

static int fail(struct pcc_error *err)
{
	fputs("pycorecheck: ", stderr);
	pcc_error_fwrite(err, stderr);
	pcc_error_destroy(err);
	return EXIT_CANNOT_ANALYSE;
}

static int analyse(const struct options *o)
{
	struct pcc_target *t = NULL;
	struct pcc_debuginfo *di = NULL;
	struct pcc_python *py = NULL;
	int status;
	/* A live process is stopped only inside pcc_target_open_live, which
	 * copies what the analysis reads and detaches before it returns;
	 * t->pause_seconds is how long that took. */
	struct pcc_error *err =
		o->pid ? pcc_target_open_live(o->pid, &t)
		       : pcc_target_open_core(o->core, o->sysroot, &t);
	if (err)
		return fail(err);
	err = o->pid ? pcc_debuginfo_open_live(t, o->debuginfo_path, &di)
		     : pcc_debuginfo_open(t, o->debuginfo_path, &di);
	if (err) {
		status = fail(err);
		goto out_target;
	}
	err = pcc_python_open(t, di, &py);
	if (err) {
		status = fail(err);
		goto out_debuginfo;
	}

	struct pcc_heap heap;
	struct stats st;
	stats_start(&st, o->stats);
	pcc_heap_build(&heap, py, o->max_objects);
	stats_phase(&st, "walk the GC lists");
	pcc_heap_find_unreachable(&heap);
	stats_phase(&st, "reachability");
	pcc_heap_group_cycles(&heap);
	stats_phase(&st, "cycles");
	pcc_heap_find_files(&heap, o->same_path_threshold);
	pcc_heap_check_health(&heap);
	stats_phase(&st, "files and health");
	pcc_heap_count_types(&heap);
	stats_phase(&st, "type histogram");
	stats_memory(&st, heap.n);
	struct pcc_report r = { t, di, py, &heap };

	status = heap.nunreachable || heap.leaked_files ? EXIT_FOUND
							: EXIT_NOTHING_FOUND;
	if (o->dump_referents) {
		FILE *f = fopen(o->dump_referents, "w");
		if (!f) {
			status = fail(pcc_error_os("cannot write %s", o->dump_referents));
			goto out_heap;
		}
		pcc_report_referents(&r, f);
		if (fclose(f) != 0) {
			status = fail(pcc_error_os("cannot write %s", o->dump_referents));
			goto out_heap;
		}
	}
	if (o->dot_dir) {
		err = pcc_report_dot(&r, o->dot_dir);
		if (err) {
			status = fail(err);
			goto out_heap;
		}
	}
	if (o->json)
		pcc_report_json(&r, stdout);
	else
		pcc_report_text(&r, stdout);
	if (fflush(stdout) != 0)
		status = fail(pcc_error_os("cannot write the report"));
out_heap:
	pcc_heap_deinit(&heap);
	pcc_python_destroy(py);
out_debuginfo:
	pcc_debuginfo_destroy(di);
out_target:
	pcc_target_destroy(t);
	return status;
}

int main(int argc, char **argv)
{
	/* A report piped into head must not kill us mid-write with SIGPIPE;
	 * the failed write is reported instead. */
	signal(SIGPIPE, SIG_IGN);
	struct options o = { 0 };
	int status = parse_options(argc, argv, &o);
	if (status >= 0)
		return status;
	return analyse(&o);
}
