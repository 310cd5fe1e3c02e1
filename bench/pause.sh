#!/bin/bash
# How long pycorecheck --pid stops its target, against heap size.
#
#   bench/pause.sh [N...]        # default: 1000000 5000000
#
# For each N: run bench/gc_bench.py N (builds about N tracked objects, then
# stops itself with SIGSTOP), run "pycorecheck --json --pid PID" RUNS times
# (default 5) on it, and read target.pause_seconds from the JSON: the time
# from the first PTRACE_INTERRUPT to the last PTRACE_DETACH.  Prints a
# markdown table, one row per N: tracked objects, the target's resident
# memory, how much was copied while it was stopped, the pause (best and
# median), pycorecheck's wall time and peak RSS (best of the runs).
#
# Environment:
#   PYTHON       interpreter (default /usr/bin/python3; it needs DWARF:
#                python3.11-dbg on Debian 12, or a pyenv build)
#   PYCORECHECK  binary (default ./pycorecheck)
#   RUNS         runs per N (default 5)
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
PYCORECHECK=${PYCORECHECK:-./pycorecheck}
RUNS=${RUNS:-5}

die() {
	echo "bench: $*" >&2
	exit 2
}

[ -x "$PYCORECHECK" ] || die "$PYCORECHECK not found: build first"
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"
[ $# -gt 0 ] || set -- 1000000 5000000

work=$(mktemp -d "${TMPDIR:-/tmp}/pcc-pause.XXXXXX")
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

echo "| N | tracked | target RSS MiB | copied MiB | pause ms (best / median) | pycorecheck s | peak RSS MiB |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for n in "$@"; do
	"$PYTHON" bench/gc_bench.py "$n" >"$work/bench.json" &
	pid=$!
	wait_stopped "$pid"
	rss_kib=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status")

	: >"$work/runs"
	for _ in $(seq "$RUNS"); do
		rc=0
		PCC_DEBUG_LIVE=1 /usr/bin/time -f '%e %M' -o "$work/time1" \
			"$PYCORECHECK" --json --pid "$pid" >"$work/out.json" 2>"$work/stderr" || rc=$?
		if [ "$rc" -gt 1 ]; then
			cat "$work/stderr" >&2
			die "pycorecheck exited $rc on pid $pid (N=$n)"
		fi
		state=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
		[ "$state" = T ] || die "the target is in state $state after pycorecheck, not T"
		copied=$(sed -n 's/.* \([0-9]*\) bytes copied.*/\1/p' "$work/stderr" | tail -n 1)
		python3 - "$work/out.json" "$(tail -n 1 "$work/time1")" "${copied:-0}" \
			>>"$work/runs" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["target"]
print(t["pause_seconds"], sys.argv[2], sys.argv[3])
PY
	done
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	pid=

	python3 - "$work/bench.json" "$work/runs" "$rss_kib" <<'PY'
import json, statistics, sys
b = json.load(open(sys.argv[1]))
runs = [l.split() for l in open(sys.argv[2]) if l.strip()]
pauses = sorted(float(r[0]) for r in runs)
wall = min(float(r[1]) for r in runs)
peak = min(float(r[2]) for r in runs)
copied = max(int(r[3]) for r in runs)
print("| %d | %d | %.0f | %.0f | %.1f / %.1f | %.2f | %.0f |" % (
    b["n"], b["tracked"], int(sys.argv[3]) / 1024, copied / 2**20,
    pauses[0] * 1e3, statistics.median(pauses) * 1e3, wall, peak / 1024))
PY
done
