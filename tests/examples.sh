#!/usr/bin/env bash
# The examples (examples/*.c): --help and a usage error, then each one run on
# each engine with its exit status and its verdict line (the last line of its
# output) checked.  An engine that answers 77 is a skip for that example, with
# the example's reason.  Run by tests/run.sh from the repo root with BUILD set;
# exit 0 pass (at least one example ran), 77 none could run (reason on the last
# line), else fail.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
TIMEOUT=${UF_EXAMPLE_TIMEOUT:-20}
# Under AddressSanitizer the examples' own SIGBUS handler (and the user
# engine's SIGSEGV handler) must stay in charge; CI sets the same.
export ASAN_OPTIONS=${ASAN_OPTIONS:-handle_segv=0:handle_sigbus=0:allow_user_segv_handler=1}

ran=0 fails=0 skips=0
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

ok()   { echo "ok    $*"; }
fail() { echo "FAIL  $*"; fails=$((fails + 1)); }
skip() { echo "skip  $*"; skips=$((skips + 1)); }
show() {
	sed 's/^/      out: /' "$out" | tail -n 12
	sed 's/^/      err: /' "$err" | tail -n 8
}

found=0
for src in examples/*.c; do
	[ -e "$src" ] || continue
	found=1
	name=$(basename "$src" .c)
	ex="$BUILD/examples/$name"
	if [ ! -x "$ex" ]; then
		fail "$name: $ex is not built (run make)"
		continue
	fi

	# --help: usage on stdout, exit 0.  A bad argument: exit 2, one
	# message on stderr, nothing on stdout.
	"$ex" --help >"$out" 2>"$err"
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q '^usage: ' "$out" && grep -q -- '--engine=' "$out"; then
		ok "$name --help"
	else
		fail "$name --help exited $rc or printed no usage"
		show
	fi
	"$ex" --engine=quantum >"$out" 2>"$err"
	rc=$?
	if [ "$rc" -eq 2 ] && [ -s "$err" ] && [ ! -s "$out" ]; then
		ok "$name --engine=quantum is a usage error"
	else
		fail "$name --engine=quantum exited $rc, expected 2 with a message on stderr only"
		show
	fi

	for engine in kernel user; do
		timeout -k 5 "$TIMEOUT" "$ex" --engine="$engine" >"$out" 2>"$err"
		rc=$?
		verdict=$(tail -n 1 "$out")
		case $rc in
		0)
			if [[ $verdict == "$name: OK: "* ]]; then
				ok "$name on $engine: ${verdict#"$name: OK: "}"
				ran=$((ran + 1))
			else
				fail "$name on $engine: exit 0 but the last line is not an OK verdict"
				show
			fi
			;;
		77)
			if [[ $verdict == "$name: SKIP: "* ]]; then
				skip "$name on $engine: ${verdict#"$name: SKIP: "}"
			else
				fail "$name on $engine: exit 77 without a SKIP verdict saying why"
				show
			fi
			;;
		124 | 137)
			fail "$name on $engine: still running after ${TIMEOUT}s"
			show
			;;
		*)
			fail "$name on $engine: exit $rc"
			show
			;;
		esac
	done
done

echo
if [ "$found" -eq 0 ]; then
	echo "no examples/*.c found"
	exit 1
fi
echo "examples: $ran runs verified, $fails failed, $skips skipped"
if [ "$fails" -ne 0 ]; then
	exit 1
fi
if [ "$ran" -eq 0 ]; then
	echo "no example could run on any engine here"
	exit 77
fi
exit 0
