#!/usr/bin/env bash
# shim_run.sh - `userfault run`: options, exit codes, LD_PRELOAD and
# USERFAULT_ENGINE as the program sees them; and the container case: under
# a real seccomp filter that makes userfaultfd(2) and opening
# /dev/userfaultfd fail with EPERM (tests/shim/seccomp_launch), a program
# started with `userfault run --engine=auto` runs on the user engine, with
# the output it has natively on the kernel.
#
# Run from the repository root with BUILD set (tests/run.sh does both).
# Exit 0: pass; 77: skipped (reason on the last line); anything else: fail.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
UF=$BUILD/userfault
T=$BUILD/tests/shim
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok    $*"; }

if [[ ${SAN:-} == *address* ]]; then
	# `userfault run` itself is instrumented here: the ASan runtime must
	# come first in every program it starts, ahead of the shim.
	asan=$(${CC:-cc} -print-file-name=libasan.so)
	[ -f "$asan" ] || { echo "skipped: SAN=$SAN without a libasan.so to preload"; exit 77; }
	export LD_PRELOAD=$asan
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:verify_asan_link_order=0"
fi

expect() {	# expect RC CMD...: run, compare the exit code
	local want=$1; shift
	"$@" >/dev/null 2>&1
	local rc=$?
	[ $rc -eq "$want" ] && ok "$* exits $rc" || fail "$* exited $rc, expected $want"
}

# --- the command ------------------------------------------------------------
"$UF" run --help | grep -q '^usage: userfault run' && ok "run --help" || fail "run --help"
"$UF" --help | grep -q '^  run ' && ok "run listed in userfault --help" || fail "run not in --help"
expect 2 "$UF" run
expect 2 "$UF" run --engine=maybe -- true
expect 2 "$UF" run --frobnicate true
expect 127 "$UF" run -- /nonexistent/program
expect 126 "$UF" run -- /etc/passwd
expect 7 "$UF" run -- sh -c 'exit 7'
env=$("$UF" run --engine=user -- sh -c 'echo "$USERFAULT_ENGINE|$LD_PRELOAD"')
lib=$(realpath "$BUILD/libuserfault-preload.so")
want="user|${LD_PRELOAD:+$LD_PRELOAD:}$lib"
[ "$env" = "$want" ] && ok "the environment: $env" || fail "environment '$env', expected '$want'"
env=$(LD_PRELOAD=${LD_PRELOAD:+$LD_PRELOAD:}/lib/nothing.so "$UF" run -- sh -c 'echo "$USERFAULT_ENGINE|$LD_PRELOAD"' 2>/dev/null)
[ "$env" = "auto|${LD_PRELOAD:+$LD_PRELOAD:}/lib/nothing.so:$lib" ] && ok "LD_PRELOAD is appended to" ||
	fail "LD_PRELOAD not appended to: '$env'"

if ! native=$("$T/raw_link" 2>&1); then
	echo "skipped: the kernel's userfaultfd does not work here: $native"
	exit 77
fi
for e in user kernel auto; do
	want=$([ $e = user ] && echo "user engine" || echo kernel)
	out=$("$UF" run --engine=$e -- "$T/raw_link" 2>&1)
	[ "$out" = "$want served a fault" ] && ok "run --engine=$e: $out" || fail "run --engine=$e: $out"
done

# --- a container's seccomp profile ------------------------------------------
out=$("$T/seccomp_launch" "$T/raw_link" 2>&1)
rc=$?
if [ $rc -eq 125 ]; then
	echo "skipped: no seccomp filter with a listener here: $out"
	exit 77
fi
[ "$out" = "userfaultfd: Operation not permitted" ] && ok "under the filter userfaultfd(2) fails: $out" ||
	fail "under the filter, natively: $out (exit $rc)"
out=$("$T/seccomp_launch" "$T/device" 2>&1)
[ "$out" = "SKIP: /dev/userfaultfd: Operation not permitted" ] &&
	ok "under the filter opening /dev/userfaultfd fails: $out" || fail "device under the filter: $out"
out=$("$T/seccomp_launch" "$UF" run --engine=kernel -- "$T/raw_link" 2>&1)
rc=$?
[ $rc -eq 3 ] && ok "run --engine=kernel under the filter exits 3: $out" ||
	fail "run --engine=kernel under the filter: exit $rc: $out"
out=$("$T/seccomp_launch" "$UF" run --engine=auto -- "$T/raw_link" 2>&1)
[ "$out" = "user engine served a fault" ] && ok "run --engine=auto under the filter: $out" ||
	fail "run --engine=auto under the filter: $out"
for p in device missing_copy syscalls; do
	n=$("$T/$p" 2>&1)
	u=$("$T/seccomp_launch" "$UF" run --engine=auto -- "$T/$p" 2>&1)
	[ "$n" = "$u" ] && ok "$p under the filter with --engine=auto: output as on the kernel" ||
		{ fail "$p under the filter differs"; diff <(echo "$n") <(echo "$u") | head -n 10; }
done

# The device opens, but its USERFAULTFD_IOC_NEW is refused (a filter on the ioctl).
out=$("$T/seccomp_launch" --ioctl "$T/device" 2>&1 | tail -n 1)
[ "$out" = "SKIP: USERFAULTFD_IOC_NEW: Operation not permitted" ] &&
	ok "under the ioctl filter USERFAULTFD_IOC_NEW fails: $out" || fail "device under the ioctl filter: $out"
n=$("$T/device" 2>&1)
u=$("$T/seccomp_launch" --ioctl "$UF" run --engine=auto -- "$T/device" 2>&1)
[ "$n" = "$u" ] && ok "device under the ioctl filter with --engine=auto: output as on the kernel" ||
	{ fail "device under the ioctl filter differs"; diff <(echo "$n") <(echo "$u") | head -n 10; }

[ $failures -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
exit 0
