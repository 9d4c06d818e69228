#!/usr/bin/env bash
# shim.sh - unmodified userfaultfd programs on the user engine through
# libuserfault-preload.so.  Each program of tests/shim/ (written against the
# kernel's uAPI only) runs natively on the kernel and under the shim with
# USERFAULT_ENGINE=user; their outputs must be identical.  Also: the shim
# exports exactly preload/interposed.txt (plus uf_*), none of its own
# objects calls an interposed function by its plain name, the engine really
# is the user engine under the shim and the kernel's without it, and the
# cost of the shim for a program that never uses userfaultfd (reported,
# never gating).
#
# Run from the repository root with BUILD set (tests/run.sh does both).
# Exit 0: pass; 77: skipped (reason on the last line); anything else: fail.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
SHIM=$PWD/$BUILD/libuserfault-preload.so
TIMEOUT=${UF_SHIM_TIMEOUT:-300}
# Programs the user engine may skip while the kernel runs them, and why.
declare -A USER_SKIP=()
# Helpers of this script and of tests/shim_seccomp.sh, not compared.
HELPERS=" raw_link plain_calls seccomp_launch "

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

[ -f "$SHIM" ] || { echo "FAIL: $SHIM is not built"; exit 1; }

# Under sanitizers the shim needs the ASan runtime loaded before it (the
# programs themselves are not instrumented: they stand for any program).
preload=$SHIM
if [[ ${SAN:-} == *address* ]]; then
	asan=$(${CC:-cc} -print-file-name=libasan.so)
	if [ ! -f "$asan" ]; then
		echo "skipped: SAN=$SAN but the compiler has no libasan.so to preload before the shim"
		exit 77
	fi
	preload="$asan:$SHIM"
	# The programs' own allocations are not ours to judge for leaks.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:verify_asan_link_order=0"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uf-shim.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# --- the export list is the interposer list --------------------------------
sort preload/interposed.txt >"$tmp/want"
nm -D --defined-only "$SHIM" | awk '{print $3}' | grep -v '^uf_' | sed 's/@.*//' | sort >"$tmp/have"
if diff "$tmp/want" "$tmp/have" >"$tmp/diff"; then
	echo "ok    exports: the $(wc -l <"$tmp/want") interposed functions and uf_*"
else
	fail "exports differ from preload/interposed.txt:"; sed 's/^/      /' "$tmp/diff"
fi
bad=$(for o in "$BUILD"/pic/preload/*.o; do nm -u "$o"; done | awk '{print $2}' | sort -u |
      grep -xFf preload/interposed.txt)
if [ -z "$bad" ]; then
	echo "ok    the shim's own code calls only uf__real_* for interposed functions"
else
	fail "preload objects call interposed functions directly (use uf__real_*): $bad"
fi
bad=$(for o in "$BUILD"/preload/src/*.o "$BUILD"/preload/src/*/*.o; do nm -u "$o"; done |
      awk '{print $2}' | sort -u | grep -xFf preload/interposed.txt)
[ -z "$bad" ] || fail "renamed engine objects still call: $bad"

# --- which engine serves ---------------------------------------------------
run_shim() { USERFAULT_ENGINE=${ENGINE:-user} LD_PRELOAD=$preload "$@"; }
if ! native=$("$BUILD/tests/shim/raw_link" 2>&1); then
	echo "skipped: the kernel's userfaultfd does not work here: $native"
	exit 77
fi
[ "$native" = "kernel served a fault" ] || fail "natively: $native"
out=$(run_shim "$BUILD/tests/shim/raw_link" 2>&1)
[ "$out" = "user engine served a fault" ] && echo "ok    USERFAULT_ENGINE=user: $out" ||
	fail "USERFAULT_ENGINE=user: $out"
out=$(ENGINE=kernel run_shim "$BUILD/tests/shim/raw_link" 2>&1)
[ "$out" = "kernel served a fault" ] && echo "ok    USERFAULT_ENGINE=kernel: $out" ||
	fail "USERFAULT_ENGINE=kernel: $out"
out=$(ENGINE=auto run_shim "$BUILD/tests/shim/raw_link" 2>&1)
[ "$out" = "kernel served a fault" ] && echo "ok    USERFAULT_ENGINE=auto (kernel usable): $out" ||
	fail "USERFAULT_ENGINE=auto: $out"
out=$(ENGINE=bogus run_shim "$BUILD/tests/shim/raw_link" 2>&1)
[ "$out" = "userfaultfd: Invalid argument" ] && echo "ok    USERFAULT_ENGINE=bogus: $out" ||
	fail "USERFAULT_ENGINE=bogus: $out"

# --- each program: natively, then under the shim ---------------------------
# hugetlb needs free huge pages: borrow two if root, give them back after.
hp=/proc/sys/vm/nr_hugepages
hp_old=
# Free but reserved pages are not free (reservations can leak for good).
if [ -w "$hp" ] && [ "$(awk '/HugePages_Free/ {f=$2} /HugePages_Rsvd/ {r=$2} END {print f-r}' /proc/meminfo)" -lt 2 ] 2>/dev/null; then
	hp_old=$(cat "$hp")
	echo $((hp_old + 2)) >"$hp" 2>/dev/null || hp_old=
	trap 'rm -rf "$tmp"; [ -n "$hp_old" ] && echo "$hp_old" >"$hp"' EXIT
fi

for prog in "$BUILD"/tests/shim/*; do
	[ -x "$prog" ] || continue
	name=$(basename "$prog")
	[[ $HELPERS == *" $name "* ]] && continue
	timeout -k 5 "$TIMEOUT" "$prog" >"$tmp/native" 2>&1
	rn=$?
	timeout -k 5 "$TIMEOUT" env USERFAULT_ENGINE=user LD_PRELOAD="$preload" "$prog" >"$tmp/user" 2>&1
	ru=$?
	if [ $rn -eq 77 ] && [ $ru -eq 77 ]; then
		echo "skip  $name: kernel: $(tail -n 1 "$tmp/native"); user engine: $(tail -n 1 "$tmp/user")"
	elif [ $rn -eq 77 ] && [ $ru -eq 0 ]; then
		echo "ok    $name: user engine ran; nothing to compare with: kernel $(tail -n 1 "$tmp/native")"
	elif [ $ru -eq 77 ] && [ $rn -eq 0 ] && [ -n "${USER_SKIP[$name]:-}" ]; then
		echo "skip  $name on the user engine: $(tail -n 1 "$tmp/user") (${USER_SKIP[$name]})"
	elif [ $rn -ne 0 ] || [ $ru -ne 0 ]; then
		fail "$name: exit natively $rn, under the shim $ru"
		sed 's/^/      native: /' "$tmp/native" | tail -n 5
		sed 's/^/      shim:   /' "$tmp/user" | tail -n 5
	elif cmp -s "$tmp/native" "$tmp/user"; then
		echo "ok    $name: $(wc -l <"$tmp/native") lines identical"
	else
		fail "$name: outputs differ (native < > shim)"
		diff "$tmp/native" "$tmp/user" | head -n 20 | sed 's/^/      /'
	fi
done

# --- what the shim costs a program that never uses userfaultfd -------------
if [ -z "${SAN:-}" ]; then
	best() { sort -n | head -n 1; }
	a=() b=()
	for _ in 1 2 3; do
		a+=("$("$BUILD/tests/shim/plain_calls" 50000)")
		b+=("$(LD_PRELOAD=$SHIM "$BUILD/tests/shim/plain_calls" 50000)")
	done
	na=$(printf '%s\n' "${a[@]}" | best) nb=$(printf '%s\n' "${b[@]}" | best)
	echo "info  read+dup+close+madvise+poll+ioctl round: $na ns without the shim, $nb ns with it" \
	     "(best of 3, alternated): $(awk -v a="$na" -v b="$nb" 'BEGIN { printf "%.3fx", b / a }')"
fi

[ $failures -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
exit 0
