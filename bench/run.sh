#!/bin/bash
# Benchmark pycorecheck against the interpreter's own gc.collect().
#
#   bench/run.sh [N...]        # default: 1000000
#
# For each N: run bench/gc_bench.py N (builds about N tracked objects, times
# gc.collect() in-process, stops itself), take a core with gcore, kill the
# process, then time "pycorecheck --json CORE > /dev/null" (best of 3) with
# /usr/bin/time.  Prints a markdown table, one row per N.  Cores are removed.
#
# Environment:
#   PYTHON       interpreter to measure (default /usr/bin/python3; it needs
#                DWARF: python3.11-dbg on Debian 12, or a pyenv build)
#   PYCORECHECK  binary to time (default ./pycorecheck)
#   BENCH_DIR    where cores go (default $TMPDIR or /tmp); a 5M-object core
#                is a few GB
#   THREADS      pycorecheck --threads (default: its own, the CPUs it may
#                use, up to 8)
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
PYCORECHECK=${PYCORECHECK:-./pycorecheck}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}
RUNS=${RUNS:-3}
THREADS=${THREADS:-}

die() {
	echo "bench: $*" >&2
	exit 2
}

[ -x "$PYCORECHECK" ] || die "$PYCORECHECK not found: build first"
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"
command -v gcore >/dev/null || die "gcore not found: apt-get install gdb"
[ $# -gt 0 ] || set -- 1000000

work=$(mktemp -d "$BENCH_DIR/pcc-bench.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

wait_stopped() {
	local i=0 state
	while :; do
		state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) ||
			state=
		[ "$state" = T ] && return 0
		kill -0 "$1" 2>/dev/null || die "gc_bench.py exited early"
		i=$((i + 1))
		[ "$i" -le 6000 ] || die "gc_bench.py did not stop within 10 minutes"
		sleep 0.1
	done
}

echo "| N | tracked | gc.collect() s | pycorecheck s | ratio | peak RSS MiB | own bytes/object | emulated objects | µs/emulated |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in "$@"; do
	"$PYTHON" bench/gc_bench.py "$n" >"$work/bench.json" &
	pid=$!
	wait_stopped "$pid"
	core="$work/core.$pid"
	gcore -o "$work/core" "$pid" >/dev/null 2>&1 || die "gcore failed for pid $pid"
	[ -s "$core" ] || die "gcore wrote no core for pid $pid"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	pid=

	: >"$work/times"
	: >"$work/emulated"
	: >"$work/own"
	for _ in $(seq "$RUNS"); do
		rc=0
		/usr/bin/time -f '%e %M' -o "$work/time1" \
			"$PYCORECHECK" --json --stats ${THREADS:+--threads "$THREADS"} "$core" \
			>/dev/null 2>"$work/stderr" || rc=$?
		if [ "$rc" -gt 1 ]; then
			cat "$work/stderr" >&2
			die "pycorecheck exited $rc on the core of N=$n"
		fi
		tail -n 1 "$work/time1" >>"$work/times"
		# The emulation's own time, from --stats: "emulated N objects ... in S s".
		sed -n 's/^pycorecheck: emulated \([0-9]*\) objects .* in \([0-9.]*\) s.*/\1 \2/p' \
			"$work/stderr" >>"$work/emulated"
		# Its own memory, from --stats: anonymous pages, the core left out.
		sed -n 's/^pycorecheck: anonymous memory \([0-9.]*\) MiB.*/\1/p' \
			"$work/stderr" >>"$work/own"
	done
	rm -f "$core"

	python3 - "$work/bench.json" "$work/times" "$work/emulated" "$work/own" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
own = [float(l) for l in open(sys.argv[4]) if l.strip()]
emu_runs = [tuple(map(float, l.split())) for l in open(sys.argv[3]) if l.strip()]
runs = [tuple(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
secs = min(r[0] for r in runs)
rss_kib = min(r[1] for r in runs)
collect = b["collect_seconds"]
ratio = secs / collect if collect > 0 else float("nan")
emulated = int(emu_runs[0][0]) if emu_runs else 0
per = min(r[1] for r in emu_runs) * 1e6 / emulated if emulated else 0.0
own_bytes = max(own) * 1048576 / b["tracked"] if own else float("nan")
print("| %d | %d | %.3f | %.2f | %.2f× | %.0f | %.1f | %d | %.2f |" % (
    b["n"], b["tracked"], collect, secs, ratio, rss_kib / 1024,
    own_bytes, emulated, per))
PY
done
