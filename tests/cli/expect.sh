#!/usr/bin/env bash
# expect.sh RC STDOUT_FILE|- STDERR_REGEX -- COMMAND...
# Runs COMMAND and checks its exit code, its exact stdout (unless "-") and
# that stderr matches STDERR_REGEX (extended regex over stderr with its lines
# joined by spaces, so ".*" spans lines; "" skips).
set -u
want_rc=$1 want_out=$2 want_err=$3
shift 3
[ "$1" = "--" ] && shift
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$@" >"$out" 2>"$err"
rc=$?
fail=0
if [ "$rc" != "$want_rc" ]; then
  echo "exit code $rc, expected $want_rc"; fail=1
fi
if [ "$want_out" != "-" ] && ! diff -u "$want_out" "$out"; then
  echo "stdout differs from $want_out"; fail=1
fi
if [ -n "$want_err" ] && ! tr '\n' ' ' <"$err" | grep -Eq -- "$want_err"; then
  echo "stderr does not match: $want_err"; fail=1
fi
if [ "$fail" != 0 ]; then
  echo "--- command: $*"; echo "--- stdout:"; cat "$out"; echo "--- stderr:"; cat "$err"
fi
exit $fail
