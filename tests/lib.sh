# Shell helpers for the tests that make their own cores (sourced, POSIX sh).
#
# The caller sets: PCC (the binary), tmp (a private temporary directory,
# removed by the caller's cleanup), and calls pcc_cleanup_procs from its
# EXIT trap.  Results are counted with pass/fail/skip; pcc_finish prints the
# closing "N passed, N failed, N skipped" line and exits 0, 1 or 77.

: "${PCC:=${PYCORECHECK:-./pycorecheck}}"
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${PCC_TIMEOUT:=300}"
PYENV=${PYENV_ROOT:-/root/.pyenv}
passed=0
failed=0
skipped=0
pcc_pids=""
pcc_name=${pcc_name:-test}

pass() { echo "PASS: $pcc_name $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $pcc_name $1 ($2)"; failed=$((failed + 1)); }
skip() { echo "SKIP: $pcc_name $1 ($2)"; skipped=$((skipped + 1)); }

pcc_finish() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -gt 0 ] && exit 1
	[ "$passed" -eq 0 ] && exit 77
	exit 0
}

# pcc_skip_all REASON: nothing can run here.
pcc_skip_all() {
	echo "SKIP: $pcc_name all ($1)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
}

pcc_cleanup_procs() {
	for p in $pcc_pids; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pcc_pids=""
}

# pcc_run ARGS...: run pycorecheck with a timeout; rc, $tmp/out, $tmp/err.
pcc_run() {
	if command -v timeout >/dev/null 2>&1; then
		timeout -s KILL "$PCC_TIMEOUT" "$PCC" "$@" >"$tmp/out" 2>"$tmp/err"
	else
		"$PCC" "$@" >"$tmp/out" 2>"$tmp/err"
	fi
	rc=$?
}

pcc_first_err() { head -n 1 "$tmp/err" | cut -c 1-300; }

# pcc_one_line: stderr is exactly one line starting "pycorecheck: ".
pcc_one_line() {
	[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^pycorecheck: ' "$tmp/err"
}

pcc_proc_state() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d ' ' -f 1
}

# pcc_wait_stopped PID: wait (at most 150 s) until PID is stopped (state T).
pcc_wait_stopped() {
	i=0
	while [ "$i" -lt 1500 ]; do
		st=$(pcc_proc_state "$1")
		[ "$st" = T ] && return 0
		[ -z "$st" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# pcc_gcore PID OUT: a core of PID in OUT; true on success.
pcc_gcore() {
	gcore -o "$tmp/gcore" "$1" >"$tmp/gcore.log" 2>&1
	if [ -s "$tmp/gcore.$1" ]; then
		mv "$tmp/gcore.$1" "$2"
		return 0
	fi
	rm -f "$tmp/gcore.$1"
	return 1
}

# pcc_kill PID: kill and reap a process started here.
pcc_kill() {
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	rest=""
	for p in $pcc_pids; do
		[ "$p" = "$1" ] || rest="$rest $p"
	done
	pcc_pids=$rest
}

# pcc_fixture_core PYTHON FIXTURE OUT [ENV...]: run fixtures/FIXTURE.py under
# PYTHON (the oracle protocol: the parent stops itself after forking), take
# a core of the parent into OUT, kill it.  True on success; else the reason
# is in $pcc_why.  The interpreter's flags: $PCC_FIXTURE_FLAGS (default
# "-E -S -B").
pcc_fixture_core() {
	py=$1
	fx=$2
	out=$3
	shift 3
	d=$(mktemp -d "$tmp/fixture.XXXXXX") || return 1
	# env execs the interpreter: $! is its pid.
	# shellcheck disable=SC2086 # PCC_FIXTURE_FLAGS is a list of words
	env -C "$d" "$@" TMPDIR="$d" "$py" ${PCC_FIXTURE_FLAGS:--E -S -B} \
		"$TOP_SRCDIR/fixtures/$fx.py" "$d/oracle.json" \
		>"$d/log" 2>&1 </dev/null &
	pid=$!
	pcc_pids="$pcc_pids $pid"
	# Stopped, and the oracle child done (so it is not in the core's way).
	if ! pcc_wait_stopped "$pid"; then
		pcc_why="the fixture did not stop: $(tail -n 1 "$d/log")"
		pcc_kill "$pid"
		return 1
	fi
	i=0
	while [ "$i" -lt 1500 ] && [ ! -f "$d/oracle.json" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if ! pcc_gcore "$pid" "$out"; then
		pcc_why="gcore failed: $(tail -n 1 "$tmp/gcore.log")"
		pcc_kill "$pid"
		return 1
	fi
	pcc_kill "$pid"
	rm -rf "$d"
	return 0
}

# pcc_pyenv_python: a pyenv CPython 3.8-3.13 with a shared libpython that
# carries DWARF; sets pyexe, pylib, prefix.  False if there is none.
pcc_pyenv_python() {
	pyexe=""
	pylib=""
	prefix=""
	for d in "$PYENV"/versions/3.11.* "$PYENV"/versions/3.1[0-3].* \
		"$PYENV"/versions/3.[89].*; do
		[ -d "$d" ] || continue
		for f in "$d"/bin/python3.*; do
			case $f in
			*-config | *m) continue ;;
			esac
			[ -x "$f" ] && pyexe=$f && break
		done
		for f in "$d"/lib/libpython3.*.so.1.0; do
			[ -f "$f" ] && pylib=$f && break
		done
		if [ -n "$pyexe" ] && [ -n "$pylib" ]; then
			prefix=$d
			return 0
		fi
		pyexe=""
		pylib=""
	done
	return 1
}

# pcc_any_python: an interpreter pycorecheck can analyse, in $python:
# $PCC_TEST_PYTHON, else a pyenv one, else Debian's python3.11 with its
# -dbg package.  False if there is none.
pcc_any_python() {
	python=${PCC_TEST_PYTHON:-}
	[ -n "$python" ] && return 0
	if pcc_pyenv_python; then
		python=$pyexe
		return 0
	fi
	if [ -x /usr/bin/python3.11 ] && [ -d /usr/lib/debug/.build-id ]; then
		python=/usr/bin/python3.11
		return 0
	fi
	return 1
}

# pcc_json_same A B [KEY.PATH...]: the two JSON files are equal once the
# given keys (dotted paths) are removed from both.
pcc_json_same() {
	python3 - "$@" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for path in sys.argv[3:]:
    for d in (a, b):
        keys = path.split(".")
        for k in keys[:-1]:
            d = d.get(k, {})
        d.pop(keys[-1], None)
if a != b:
    diff = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    print("differ in: " + ", ".join(diff))
    sys.exit(1)
EOF
}
