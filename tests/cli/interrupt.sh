#!/usr/bin/env bash
# interrupt.sh TORVYN MANIFEST REPORT -- component path args...
# Runs an endless flow, sends SIGINT, and checks the graceful stop: exit code
# 130, the summary says "interrupted", and the JSON report's accounting is
# balanced with everything emitted delivered.
set -u
torvyn=$1 manifest=$2 report=$3
shift 3
[ "${1:-}" = "--" ] && shift
err=$(mktemp)
trap 'rm -f "$err"' EXIT
"$torvyn" run "$manifest" "$@" --report "$report" >/dev/null 2>"$err" &
pid=$!
sleep 1
kill -INT "$pid"
wait "$pid"
rc=$?
fail=0
[ "$rc" = 130 ] || { echo "exit code $rc, expected 130"; fail=1; }
grep -q "SIGINT received, draining" "$err" || { echo "no drain message"; fail=1; }
grep -q "flow 'endless': interrupted" "$err" || { echo "summary does not say interrupted"; fail=1; }
python3 - "$report" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))[0]
e = r["elements"]
assert r["stop"] == "interrupted", r["stop"]
assert e["balanced"], e
assert e["emitted"] > 0 and e["delivered"] == e["emitted"], e
print("interrupted after", e["emitted"], "elements, all delivered")
PY
[ "$fail" = 0 ] || cat "$err"
exit $fail
