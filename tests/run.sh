#!/usr/bin/env bash
# Runs the whole suite: every $BUILD/tests/*.t program (each runs its cases on
# every engine and memory type) and every tests/*.sh script (exit 0 pass,
# 77 skip, else fail), each under a timeout.  Prints every result line and
# closes with "N passed, M failed, K skipped"; exits 1 on any failure.
#
#   BUILD=build tests/run.sh [NAME...]      NAME: a test program or script, without suffix
#   UF_TEST_ENGINE=kernel|user|all          which engines (default all)
#   UF_TEST_TIMEOUT=S                       per-program timeout (default 900)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TIMEOUT=${UF_TEST_TIMEOUT:-900}
export BUILD
# Sanitizer builds: the known leak findings (tests/lsan.supp explains each).
if [ -n "${SAN:-}" ]; then
	export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
fi
# ThreadSanitizer: each case runs in a child forked from a process the
# engine's thread already runs in (the harness opened a context to learn the
# features), which TSan refuses by default; the suppressions say why each is
# there.
case ${SAN:-} in
*thread*)
	export TSAN_OPTIONS=${TSAN_OPTIONS:-die_after_fork=0:suppressions=$PWD/tests/tsan.supp}
	;;
esac

pass=0 fail=0 skip=0
failed=()

selected=("$@")
is_selected() {
	[ ${#selected[@]} -eq 0 ] && return 0
	local s
	for s in "${selected[@]}"; do [ "$s" = "$1" ] && return 0; done
	return 1
}

for t in "$BUILD"/tests/*.t; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .t)
	is_selected "$name" || continue
	echo "== $name"
	out=$(mktemp)
	timeout --foreground -k 10 "$TIMEOUT" "$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^# .*: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$line" ]; then
		echo "FAIL  $name: ended without a summary (exit $rc)"
		fail=$((fail + 1)); failed+=("$name"); continue
	fi
	read -r p f s <<<"$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/' <<<"$line")"
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
		failed+=("$name")
		if [ "$f" -eq 0 ]; then fail=$((fail + 1)); echo "FAIL  $name: exit $rc"; fi
	fi
done

for s in tests/*.sh; do
	[ -e "$s" ] || continue
	name=$(basename "$s" .sh)
	[ "$name" = run ] && continue
	is_selected "$name" || continue
	echo "== $name"
	out=$(mktemp)
	timeout --foreground -k 10 "$TIMEOUT" bash "$s" >"$out" 2>&1
	rc=$?
	sed 's/^/    /' "$out"
	case $rc in
	0)  pass=$((pass + 1)); echo "ok    $name" ;;
	77) skip=$((skip + 1)); echo "skip  $name: $(tail -n 1 "$out")" ;;
	*)  fail=$((fail + 1)); failed+=("$name"); echo "FAIL  $name: exit $rc" ;;
	esac
	rm -f "$out"
done

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
