#!/usr/bin/env bash
# The userfault command: help, usage errors and exit codes, probe (table and
# JSON), demo on the kernel engine.  Run by tests/run.sh from the repo root
# with BUILD set; exit 0 pass, 77 skip (reason on the last line), else fail.
set -u
BUILD=${BUILD:-build}
UF="$BUILD/userfault"
fails=0
skip_reason=

out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

ok()   { echo "ok    $*"; }
fail() { echo "FAIL  $*"; fails=$((fails + 1)); }

# run EXPECTED_RC ARGS...: runs the command, stdout/stderr into $out/$err.
run() {
	local want=$1; shift
	"$UF" "$@" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "userfault $* exited $rc, expected $want"
		sed 's/^/      stderr: /' "$err" | head -n 5
		return 1
	fi
	return 0
}

if [ ! -x "$UF" ]; then
	echo "$UF is not built (run make)"
	exit 1
fi

# --- help: every command, exit 0, on stdout, mentions the exit codes
for args in "--help" "-h" "probe --help" "demo --help" "help" "help demo" "help probe"; do
	# shellcheck disable=SC2086
	if run 0 $args; then
		if [ -s "$out" ] && grep -q usage "$out"; then ok "userfault $args"
		else fail "userfault $args printed no usage"; fi
	fi
done
if run 0 --help; then
	if grep -q "usage error" "$out" && grep -q "nothing usable" "$out"; then
		ok "--help documents the exit codes"
	else
		fail "--help does not document exit codes 2 and 3"
	fi
fi

# --- usage errors: exit 2, one message on stderr, nothing on stdout
usage() {
	if run 2 "$@"; then
		if [ -s "$err" ] && [ ! -s "$out" ] && grep -q "try 'userfault" "$err"; then
			ok "userfault $* is a usage error: $(head -n 1 "$err")"
		else
			fail "userfault $*: exit 2 but stderr/stdout not as expected"
		fi
	fi
}
usage frobnicate
usage --frobnicate
usage
usage probe --frobnicate
usage demo --frobnicate
usage demo --size=0
usage demo --threads=0
usage demo --size=-3
usage demo --size=lots
usage demo --size
usage demo --engine=quantum
usage help frobnicate

# --- version
if run 0 --version; then
	if grep -Eq '^userfault [0-9]+\.[0-9]+\.[0-9]+' "$out"; then ok "--version: $(cat "$out")"
	else fail "--version printed '$(cat "$out")'"; fi
fi

# --- probe, table
if run 0 probe; then
	if grep -Eq '^  kernel +(usable|unusable)' "$out"; then ok "probe reports the kernel engine"
	else fail "probe does not mention the kernel engine"; fi
	if grep -q "vm.max_map_count" "$out" && grep -q "Guard markers" "$out"; then
		ok "probe reports limits and guard markers"
	else
		fail "probe lacks limits or guard markers"
	fi
fi

# --- probe, JSON
kernel_usable=unknown
if ! command -v python3 >/dev/null; then
	echo "note  python3 missing: JSON checks not run"
elif run 0 probe --json; then
	if python3 -m json.tool "$out" >/dev/null; then
		ok "probe --json is valid JSON"
	else
		fail "probe --json is not valid JSON"
	fi
	if kernel_usable=$(python3 - "$out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
k = d["kernel"]
assert "features" in k and "mask" in k["features"] and "supported" in k["features"], "no features"
if k["usable"]:
    assert "MISSING_SHMEM" in k["features"]["supported"], "features not decoded"
    reg = [r for r in d["registration"] if r["engine"] == "kernel"][0]
    anon = [m for m in reg["memory"] if m["type"] == "private_anon"][0]
    missing = [m for m in anon["modes"] if m["mode"] == "MISSING"][0]
    assert missing["ok"] and "COPY" in missing["ioctls"]["names"], "anon MISSING not decoded"
for e in ("kernel", "user", "auto"):
    assert e in d["engines"], e
print("yes" if d["engines"]["kernel"]["usable"] else "no")
EOF
	); then
		ok "probe --json has the features, engines and registration matrix"
	else
		fail "probe --json content is incomplete"
	fi
fi

# --- demo on the kernel engine
if [ "$kernel_usable" = no ]; then
	run 3 demo --size=16 --threads=2 --engine=kernel &&
		ok "demo --engine=kernel exits 3 where the kernel engine is unusable"
	skip_reason="the kernel engine is not usable here: demo not run"
else
	if run 0 demo --size=16 --threads=2; then
		if grep -Eq '^kernel .* OK$' "$out"; then ok "demo --size=16 --threads=2: kernel verified OK"
		else fail "demo did not report OK for the kernel engine"; cat "$out"; fi
		if grep -Eq '^user +skipped: ' "$out"; then ok "demo lists the user engine as skipped"
		elif grep -Eq '^user .* OK$' "$out"; then ok "demo verified the user engine too"
		else fail "demo says nothing about the user engine"; fi
	fi
	if command -v python3 >/dev/null && run 0 demo --size=8 --threads=3 --engine=kernel --json; then
		if python3 - "$out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
e = d["engines"][0]
assert e["engine"] == "kernel" and e["verified"] is True, e
assert e["faults"] == e["pages"] == d["pages"] == 2048, e
assert e["latency_us"]["p50"] <= e["latency_us"]["p99"], e
EOF
		then ok "demo --json: kernel verified, every page a fault"
		else fail "demo --json content"; fi
	fi
	# 3 while the user engine is not built, 0 once it is: never 1 or 2.
	"$UF" demo --size=1 --engine=user >"$out" 2>"$err"
	rc=$?
	case $rc in
	3) ok "demo --engine=user exits 3 while the user engine is unusable" ;;
	0) ok "demo --engine=user ran and verified" ;;
	*) fail "demo --engine=user exited $rc"; cat "$out" "$err" ;;
	esac
fi

echo
if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
if [ -n "$skip_reason" ]; then
	echo "$skip_reason"
	exit 77
fi
echo "all checks passed"
