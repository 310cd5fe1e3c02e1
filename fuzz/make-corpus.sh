#!/bin/sh
# Make what the fuzzers start from, in OUTDIR (default: fuzz):
#   OUTDIR/fixture/heap.core   the core fuzz_heap patches (PCC_FUZZ_CORE):
#                              fuzz/heap_fixture.py under $PCC_FUZZ_PYTHON
#                              (default /usr/bin/python3.11, whose DWARF is
#                              python3.11-dbg), stopped and taken with gcore
#   OUTDIR/seeds/core/         fuzz_core seeds: thin and damaged copies of
#                              that core and of a core of sleep(1), and
#                              compressed ones
#   OUTDIR/seeds/heap/         fuzz_heap seeds: patch lists, some aimed at
#                              objects of each type when $PYCORECHECK names
#                              a built pycorecheck
# Nothing here is committed (.gitignore).  Needs gdb (gcore) and python3.
# Exits 77 (automake's "skipped") when it cannot make a core here.
set -eu

srcdir=$(cd "$(dirname "$0")" && pwd)
out=${1:-fuzz}
python=${PCC_FUZZ_PYTHON:-/usr/bin/python3.11}

skip() {
	echo "make-corpus.sh: $*" >&2
	exit 77
}
command -v gcore >/dev/null || skip "gcore not found: apt-get install gdb"
command -v python3 >/dev/null || skip "python3 not found"
[ -x "$python" ] || skip "$python not found: set PCC_FUZZ_PYTHON"

mkdir -p "$out/fixture" "$out/seeds/core" "$out/seeds/heap"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pcc-corpus.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# wait_stopped PID: until PID's state is T (it stopped itself), 60 s at most.
wait_stopped() {
	i=0
	while [ "$i" -lt 600 ]; do
		st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d ' ' -f 1)
		[ "$st" = T ] && return 0
		[ -z "$st" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# core_of PID OUT: gcore of PID into OUT, then kill it.
core_of() {
	gcore -o "$tmp/gcore" "$1" >"$tmp/gcore.log" 2>&1 ||
		skip "gcore failed: $(tail -n 1 "$tmp/gcore.log")"
	mv "$tmp/gcore.$1" "$2"
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	pid=
}

# The heap fixture: it stops itself once its heap is built.  Its open files
# go to $tmp.
TMPDIR=$tmp "$python" -E -S -B "$srcdir/heap_fixture.py" \
	>"$tmp/fixture.log" 2>&1 </dev/null &
pid=$!
wait_stopped "$pid" ||
	skip "the fixture did not stop: $(tail -n 1 "$tmp/fixture.log")"
core_of "$pid" "$out/fixture/heap.core"

# A small process that is not Python: the same core parser, other modules.
sleep 600 &
pid=$!
sleep 0.2
core_of "$pid" "$tmp/sleep.core"

python3 "$srcdir/make_seeds.py" core-seeds "$out/seeds/core" \
	"$out/fixture/heap.core" "$tmp/sleep.core"
# With pycorecheck ($PYCORECHECK), some heap seeds aim at one object of
# each type that has its own traversal (see make_seeds.py).
dump=
if [ -n "${PYCORECHECK:-}" ] && [ -x "$PYCORECHECK" ]; then
	rc=0
	"$PYCORECHECK" --dump-referents "$tmp/referents" \
		"$out/fixture/heap.core" >/dev/null 2>"$tmp/pycorecheck.log" ||
		rc=$?
	if [ "$rc" -le 1 ] && [ -s "$tmp/referents" ]; then
		dump=$tmp/referents
	else
		echo "make-corpus.sh: pycorecheck failed on the fixture (exit" \
			"$rc): $(tail -n 1 "$tmp/pycorecheck.log")" >&2
		exit 1
	fi
fi
python3 "$srcdir/make_seeds.py" heap-seeds "$out/seeds/heap" $dump
# Compressed cores go through the spool (src/memory/spool.c).
thin=$out/seeds/core/heap-thin.core
command -v zstd >/dev/null && zstd -q -f -c "$thin" >"$thin.zst"
command -v lz4 >/dev/null && lz4 -q -f -c "$thin" >"$thin.lz4"
command -v xz >/dev/null && xz -c "$thin" >"$thin.xz"
command -v gzip >/dev/null && gzip -c "$thin" >"$thin.gz"
echo "make-corpus.sh: $out/fixture/heap.core ($python)," \
	"$(ls "$out/seeds/core" | wc -l) core seeds," \
	"$(ls "$out/seeds/heap" | wc -l) heap seeds"
