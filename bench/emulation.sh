#!/bin/bash
# The CPU emulator's cost per emulated object on the mypy heap.
#
#   bench/emulation.sh [CORE]
#
# Without CORE: runs the mypy_run oracle fixture (mypy type-checking a small
# project in-process, its classes compiled by mypyc) under Debian's
# python3.11 with Debian's python3-mypy, and keeps its core.  Then runs
# "pycorecheck --stats CORE" RUNS times (default 6) and prints the emulated
# objects and types, the best and the median of the emulation's own time
# (from --stats), µs per emulated object, and the engine's version.
#
# Environment:
#   PYCORECHECK  binary to time (default ./pycorecheck)
#   RUNS         runs (default 6)
#   BENCH_DIR    where the core goes (default $TMPDIR or /tmp)
#   LD_LIBRARY_PATH  a directory with another libunicorn.so.2 measures that
#                engine (see bench/README.md)
set -euo pipefail

cd "$(dirname "$0")/.."
PYCORECHECK=${PYCORECHECK:-./pycorecheck}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}
RUNS=${RUNS:-6}

die() {
	echo "bench: $*" >&2
	exit 2
}

[ -x "$PYCORECHECK" ] || die "$PYCORECHECK not found: build first"
work=
cleanup() {
	[ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT

core=${1:-}
if [ -z "$core" ]; then
	[ -x /usr/bin/python3.11 ] || die "no /usr/bin/python3.11 (Debian 12's python3)"
	/usr/bin/python3.11 -c 'import mypy.api' 2>/dev/null ||
		die "mypy does not import: apt-get install python3-mypy"
	work=$(mktemp -d "$BENCH_DIR/pcc-bench-emu.XXXXXX")
	PCC_PYTHONS=/usr/bin/python3.11 PYCORECHECK=$PYCORECHECK \
		python3 tests/oracle/run_oracle.py --fixture mypy_run \
		--keep "$work" >"$work/oracle.log" 2>&1 ||
		die "the mypy_run fixture failed: $(tail -n 3 "$work/oracle.log")"
	core=$(find "$work" -name 'core.*' -type f | head -n 1)
	[ -n "$core" ] || die "the mypy_run fixture left no core"
fi

for _ in $(seq "$RUNS"); do
	# Exit status 1 says there is garbage: expected.
	{ "$PYCORECHECK" --stats "$core" 2>&1 >/dev/null || true; } |
		sed -n 's/^pycorecheck: emulated \([0-9]*\) objects of \([0-9]*\) types in \([0-9.]*\) s, [0-9]* basic blocks (\(.*\))$/\1 \2 \3 \4/p'
done | python3 -c '
import sys
runs = [l.split(None, 3) for l in sys.stdin if l.strip()]
if not runs:
    sys.exit("bench: no emulation in --stats: is pycorecheck built with Unicorn?")
objects, types, engine = int(runs[0][0]), int(runs[0][1]), runs[0][3].strip()
secs = sorted(float(r[2]) for r in runs)
best, median = secs[0], secs[len(secs) // 2]
print("| emulated objects | types | best s | median s | µs/object (best) | engine |")
print("|---:|---:|---:|---:|---:|---|")
print("| %d | %d | %.3f | %.3f | %.2f | %s |" % (
    objects, types, best, median, best * 1e6 / objects, engine))
'
