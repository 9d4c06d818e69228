#!/usr/bin/env bash
# userfault bench: that it runs, that its output is well formed and its
# numbers sane (positive, p99 >= median, every fault seen by the resolver),
# never that they are fast.  Run by tests/run.sh from the repo root with
# BUILD set; exit 0 pass, 77 skip (reason on the last line), else fail.
set -u
BUILD=${BUILD:-build}
UF="$BUILD/userfault"
fails=0
skip_reason=

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out" err="$tmp/err"

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

# --- help, list, usage errors
if run 0 bench --help; then
	if grep -q "^usage: userfault bench" "$out" && grep -q "exit status" "$out"; then
		ok "bench --help"
	else
		fail "bench --help printed no usage"
	fi
fi
if run 0 help bench && grep -q "^usage: userfault bench" "$out"; then ok "help bench"; fi
if run 0 --help; then
	if grep -Eq '^  bench ' "$out"; then ok "userfault --help lists bench"
	else fail "userfault --help does not list bench"; fi
fi
if run 0 bench --list; then
	missing=
	for r in copy copy-unpinned copy-split copy-random zeropage wp minor move copy-64k sigbus sigbus-64k \
		xproc xproc-unpinned; do
		grep -Eq "^$r +" "$out" || missing="$missing $r"
	done
	if [ -z "$missing" ] && grep -Eq '^tput-[0-9]+x[0-9]+ ' "$out"; then ok "bench --list names every workload"
	else fail "bench --list lacks:$missing"; fi
fi
usage() {
	if run 2 "$@"; then
		if [ -s "$err" ] && [ ! -s "$out" ] && grep -q "try 'userfault bench --help'" "$err"; then
			ok "userfault $* is a usage error: $(head -n 1 "$err")"
		else
			fail "userfault $*: exit 2 but stderr/stdout not as expected"
		fi
	fi
}
usage bench --frobnicate
usage bench --engine=quantum
usage bench --faults=0
usage bench --faults=lots
usage bench --threads=0
usage bench --rows=copy,nosuch
usage bench --svg
usage bench extra

if ! command -v python3 >/dev/null; then
	echo "python3 is missing: the JSON checks need it"
	exit 77
fi

# --- the quick run, as JSON, with the picture
# Exit 1 means a row failed.  On the kernel engine that is a bench bug;
# on the user engine it is the engine's (its own tests judge it), so it is
# reported here as a note and the JSON checks go on.
"$UF" bench --quick --json --svg="$tmp/lat.svg" >"$out" 2>"$err"
rc=$?
case $rc in
0) ok "bench --quick --json --svg ran (exit 0)" ;;
1) echo "note  bench --quick --json exited 1: a row failed (see below)" ;;
3) skip_reason="no engine is usable here: $(tail -n 1 "$err")" ;;
*) fail "bench --quick --json exited $rc"; sed 's/^/      stderr: /' "$err" | head -n 10 ;;
esac
if [ "$rc" -le 1 ] || [ "$rc" -eq 3 ]; then
	if python3 - "$out" "$rc" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
rc = int(sys.argv[2])
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)

check(d["exit"] == rc, "exit field %r, process exit %d" % (d["exit"], rc))
check(d["quick"] is True and d["faults_per_row"] > 0, "quick run header")
engines = {e["engine"]: e for e in d["engines"]}
check(set(engines) == {"kernel", "user"}, "engines %r" % list(engines))
for name, e in engines.items():
    check(e["selected"] is True, name + " not selected by default")
    if not e["available"]:
        check(isinstance(e["why"], str) and e["why"], name + " unavailable without a reason")

def sane(where, s, rate_key):
    check(s["samples"] > 0, where + ": no samples")
    check(s["median_us"] > 0, where + ": median %r" % s["median_us"])
    check(s["p99_us"] >= s["median_us"], where + ": p99 %r < median %r" % (s["p99_us"], s["median_us"]))
    check(s["max_us"] >= s["p99_us"], where + ": max < p99")
    check(s["mean_us"] > 0, where + ": mean")
    check(s[rate_key] > 0, where + ": " + rate_key)

names = [f["name"] for f in d["floor"]]
for n in ("first_touch_write", "memcpy_hot", "signal", "memfd_write", "guard_trip", "futex_one_cpu", "futex_two_cpus"):
    check(n in names, "floor lacks " + n)
for f in d["floor"]:
    if f["status"] == "ok":
        sane("floor " + f["name"], f, "ops_per_second")
    else:
        check(f["status"] == "n/a" and f["why"], "floor %s: %s %r" % (f["name"], f["status"], f.get("why")))

rows = {r["name"]: r for r in d["rows"]}
for n in ("copy", "copy-unpinned", "copy-split", "zeropage", "wp", "minor", "move", "copy-64k", "sigbus",
          "xproc", "xproc-unpinned", "copy-huge", "copy-huge-shared"):
    check(n in rows, "no row " + n)
check(any(n.startswith("tput-") for n in rows), "no throughput rows")
ran = 0
user_failed = 0
for r in d["rows"]:
    check(r["bytes_per_fault"] in (4096, 65536) or
          (r["name"].startswith("copy-huge") and r["bytes_per_fault"] >= 2 << 20),
          r["name"] + ": bytes_per_fault")
    check(r["faulting_threads"] >= 1, r["name"] + ": faulting_threads")
    for name, c in r["engines"].items():
        where = "%s on %s" % (r["name"], name)
        st = c["status"]
        if st == "failed" and name == "user":
            user_failed += 1
            print("note  %s failed: %s" % (where, c["why"]))
        else:
            check(st in ("ok", "n/a", "unavailable"), where + ": " + st + ": " + str(c.get("why")))
        if st in ("ok", "failed"):
            check(c["messages"] >= c["faults"] or st == "failed",
                  where + ": %d faults but the resolver saw %d" % (c["faults"], c["messages"]))
            check(isinstance(c["capped"], bool), where + ": capped")
        if st == "ok":
            ran += 1
            sane(where, c, "faults_per_second")
            check(c["faults"] > 0, where + ": no faults")
        else:
            check(isinstance(c.get("why"), str) and c["why"], where + ": " + st + " without a reason")
        check((st == "unavailable") == (not engines[name]["available"]),
              where + ": status %s but engine available=%s" % (st, engines[name]["available"]))
    k, u = r["engines"]["kernel"], r["engines"]["user"]
    if k["status"] == "ok" and u["status"] == "ok":
        check(r["user_over_kernel"] > 0, r["name"] + ": ratio")
    else:
        check(r["user_over_kernel"] is None, r["name"] + ": a ratio without both engines")
want = 1 if user_failed else 0 if ran else 3
check(rc == want, "%d cells ran, %d failed on the user engine, but exit %d" % (ran, user_failed, rc))
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
EOF
	then
		ok "bench --json is well formed and its numbers are sane"
	else
		fail "bench --json content"
	fi
	if [ "$rc" -le 1 ]; then
		if [ -s "$tmp/lat.svg" ] && python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag.endswith("svg"), root.tag
assert len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) >= 2
' "$tmp/lat.svg"; then
			ok "--svg wrote a well-formed SVG with the distributions"
		else
			fail "--svg: $tmp/lat.svg missing or not well formed"
		fi
	fi
fi

# --- the table, one row, and an engine that may not be usable
if [ -z "$skip_reason" ]; then
	if run 0 bench --quick --engine=kernel --rows=copy; then
		if grep -Eq '^MISSING\+COPY 4K, handler, pinned +kernel +[0-9.]+ +[0-9.]+ +[0-9,]+$' "$out" &&
			grep -q '^floor' "$out" && grep -Eq '^engine user +not selected' "$out"; then
			ok "bench table: the row, the floor, the engine not selected"
		else
			fail "bench table is not as expected"; cat "$out"
		fi
	fi
fi
# 3 while the user engine cannot open, 0 once it works (1 if a row broke
# on it, a note as above): never 2.
"$UF" bench --quick --engine=user --rows=copy,wp >"$out" 2>"$err"
rc=$?
case $rc in
3) if grep -Eq '^engine user +unavailable: .' "$out"; then
	ok "bench --engine=user exits 3 and says why the user engine is unavailable"
   else fail "bench --engine=user: exit 3 without the reason"; cat "$out"; fi ;;
0|1) if grep -Eq '^engine kernel +not selected' "$out" && grep -Eq '^MISSING\+COPY 4K, handler, pinned +user ' "$out"; then
	ok "bench --engine=user ran the user engine alone (exit $rc)"
   else fail "bench --engine=user: exit $rc but the table is not as expected"; cat "$out"; fi ;;
*) fail "bench --engine=user exited $rc"; cat "$out" "$err" ;;
esac

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
