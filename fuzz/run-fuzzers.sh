#!/bin/sh
# Run each fuzzer for a bounded time: "make fuzz" and .ci/run call this
# after building fuzz/fuzz-core and fuzz/fuzz-heap.
#
#   run-fuzzers.sh SRCDIR FUZZDIR [HARNESS...]   (default: core heap)
#
# FUZZDIR holds the harnesses; their work goes to FUZZDIR/work: fixture/
# and seeds/ (made by make-corpus.sh when absent), corpus/NAME (what
# libFuzzer adds, kept for the next run), artifacts/ (crash-*, timeout-*,
# oom-*, leak-* inputs) and NAME.log.  Environment:
#   FUZZ_SECONDS   per harness (default 120)
#   FUZZ_TIMEOUT   seconds one input may take (default 10)
#   FUZZ_RSS_MB    memory limit (default 2048)
#   FUZZ_FLAGS     more libFuzzer flags
#   PYCORECHECK    a built pycorecheck, for make-corpus.sh's aimed seeds
#   FUZZ_TRS_DIR   also write NAME.trs there, as automake's test driver
#                  does, for .ci/run's count
# Fails when a harness crashed, timed out, ran out of memory or leaked (the
# input is in artifacts/; reproduce with "FUZZDIR/fuzz-NAME INPUT").
set -u

srcdir=$1
dir=$2
shift 2
[ $# -gt 0 ] || set -- core heap
seconds=${FUZZ_SECONDS:-120}
work=$dir/work

if [ ! -f "$work/fixture/heap.core" ] || [ ! -d "$work/seeds" ]; then
	sh "$srcdir/fuzz/make-corpus.sh" "$work"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "run-fuzzers.sh: cannot make the corpus (exit $rc)" >&2
		exit 1
	fi
fi
mkdir -p "$work/artifacts"

# Every input of fuzz_heap patches the one fixture core (PCC_FUZZ_CORE);
# fuzz_core's inputs are cores themselves, as big as its seeds.
export PCC_FUZZ_CORE="$work/fixture/heap.core"
failed=0
for name in "$@"; do
	case $name in
	core) max_len= ;;
	heap) max_len=-max_len=1025 ;;
	*)
		echo "run-fuzzers.sh: no harness '$name' (core, heap)" >&2
		exit 2
		;;
	esac
	mkdir -p "$work/corpus/$name"
	log=$work/$name.log
	echo "fuzz-$name: $seconds s, log in $log"
	# shellcheck disable=SC2086 # max_len and FUZZ_FLAGS are lists of words
	"$dir/fuzz-$name" -max_total_time="$seconds" \
		-timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
		$max_len -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/$name-" ${FUZZ_FLAGS:-} \
		"$work/corpus/$name" "$work/seeds/$name" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	if [ "$rc" -eq 0 ]; then
		result=PASS
		echo "fuzz-$name: ${runs:-?} runs, ${speed:-?}/s, nothing found"
	else
		result=FAIL
		failed=1
		echo "fuzz-$name: FAILED (exit $rc) after ${runs:-?} runs; the" \
			"report:"
		# The sanitizer's or libFuzzer's report, without the run's
		# progress lines.
		grep -v -E '^#[0-9]+' "$log" | tail -n 60
		ls -l "$work/artifacts" | sed "s|^|fuzz-$name: |"
	fi
	if [ -n "${FUZZ_TRS_DIR:-}" ]; then
		mkdir -p "$FUZZ_TRS_DIR"
		cp "$log" "$FUZZ_TRS_DIR/fuzz-$name.log"
		printf ':test-result: %s\n:global-test-result: %s\n' \
			"$result" "$result" >"$FUZZ_TRS_DIR/fuzz-$name.trs"
	fi
done
exit "$failed"
