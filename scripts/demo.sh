#!/bin/sh
# Demo: run a small leaking "service" under the system Python, take a core of
# it with gcore, and analyse the core with pycorecheck.
#
#   sh scripts/demo.sh            # from the top of a built tree
#   KEEP=1 sh scripts/demo.sh     # keep demo-core.PID afterwards
#
# Environment: PYTHON (default /usr/bin/python3; needs its DWARF, e.g. the
# python3.11-dbg package on Debian 12), PYCORECHECK (default ./pycorecheck),
# KEEP=1 to keep the core.
set -eu

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
PYCORECHECK=${PYCORECHECK:-./pycorecheck}
KEEP=${KEEP:-0}

die() {
	echo "demo: $*" >&2
	exit 3
}

[ -x "$PYCORECHECK" ] ||
	die "$PYCORECHECK not found: build first (autoreconf -fi && ./configure && make)"
[ -x "$PYTHON" ] || die "$PYTHON not found"
command -v gcore >/dev/null 2>&1 || die "gcore not found: apt-get install gdb"

pid=
core=
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ -n "$core" ] && [ "$KEEP" != 1 ]; then
		rm -f "$core"
	fi
	rm -f "${TMPDIR:-/tmp}/pycorecheck-demo-access.log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

"$PYTHON" fixtures/demo_leak.py &
pid=$!

# Wait (up to 30 s) until the demo has stopped itself: state "T" in
# /proc/PID/stat (the field after the parenthesised command name).
i=0
while :; do
	state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) ||
		state=
	[ "$state" = T ] && break
	kill -0 "$pid" 2>/dev/null || die "the demo program exited early"
	i=$((i + 1))
	[ "$i" -le 300 ] || die "the demo program did not stop within 30 s"
	sleep 0.1
done

core=demo-core.$pid
echo "demo: taking a core of pid $pid with gcore" >&2
if ! gcore -o demo-core "$pid" >/dev/null 2>&1 || [ ! -s "$core" ]; then
	die "gcore failed (is ptrace allowed? see /proc/sys/kernel/yama/ptrace_scope)"
fi
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=

echo "demo: $PYCORECHECK $core" >&2
rc=0
"$PYCORECHECK" "$core" || rc=$?
case $rc in
0) echo "demo: pycorecheck exited 0: nothing unreachable found" >&2 ;;
1) echo "demo: pycorecheck exited 1: unreachable cycles and leaked files found, as expected" >&2
   rc=0 ;;
*) echo "demo: pycorecheck exited $rc" >&2 ;;
esac
if [ "$KEEP" = 1 ]; then
	echo "demo: kept $core" >&2
fi
exit "$rc"
