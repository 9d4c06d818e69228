#!/usr/bin/env bash
# Replay the seed corpus of each fuzzer (every input must pass: the seeds
# include the regressions found so far), then fuzz each for SECONDS.
# The targets: ioctl_diff (the ioctl path, kernel engine against user
# engine) and wire (what another process sends a user-engine target).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     default 60 s each, every target
#   BUILD=build   FUZZ_JOBS=N (libFuzzer -fork=N, default 0: one process)
#
# New inputs go to $BUILD/fuzz/corpus/TARGET (seeded from the tree's
# corpus); findings to $BUILD/fuzz/findings/.  Exit 0 clean, 1 if a seed
# of any target fails (a regression), else 3 if fuzzing found a new failing
# input, else 77 if no target could run here (no engine, no clang build);
# a target that cannot run is skipped and the others still run.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for s in tests/fuzz/*.c; do targets+=("$(basename "$s" .c)"); done
fi

# The engines own SIGSEGV and SIGBUS: the sanitizers and libFuzzer must not.
export ASAN_OPTIONS=${ASAN_OPTIONS:-handle_segv=0:handle_sigbus=0:allow_user_segv_handler=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
flags=(-handle_segv=0 -handle_bus=0 -error_exitcode=1 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1)

rc=0
ran=0
for t in "${targets[@]}"; do
	bin=$BUILD/fuzz/$t
	seeds=tests/fuzz/corpus/$t
	work=$BUILD/fuzz/corpus/$t
	found=$BUILD/fuzz/findings
	if [ ! -x "$bin" ]; then
		echo "skip  $t: no $bin (build it with make fuzz)"
		continue
	fi
	mkdir -p "$work" "$found"
	echo "== $t: replay $(ls "$seeds" | wc -l) seeds"
	"$bin" "${flags[@]}" -runs=1 "$seeds"/* >"$work.replay.log" 2>&1
	r=$?
	if [ $r -eq 77 ]; then echo "skip  $t: $(tail -n 1 "$work.replay.log")"; continue; fi
	ran=1
	if [ $r -ne 0 ]; then
		echo "FAIL  $t: a seed fails"; tail -n 60 "$work.replay.log"; rc=1; continue
	fi
	echo "== $t: fuzz ${secs}s"
	"$bin" "${flags[@]}" -max_total_time="$secs" -fork="${FUZZ_JOBS:-0}" \
		-artifact_prefix="$found/$t-" "$work" "$seeds" >"$work.log" 2>&1
	r=$?
	grep -E '^#[0-9]+.*(DONE|pulse)|stat::' "$work.log" | tail -n 12
	if [ $r -ne 0 ]; then
		echo "FAIL  $t: finding (exit $r)"; grep -v '^    #' "$work.log" | tail -n 80
		[ $rc -eq 0 ] && rc=3
	else
		echo "ok    $t"
	fi
done
[ $rc -eq 0 ] && [ $ran -eq 0 ] && rc=77
exit $rc
