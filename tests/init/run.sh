#!/usr/bin/env bash
# A new user's first minutes, for real: `torvyn init NAME --lang L --role R`
# in an empty folder, `make`, `torvyn run .`, and what the flow printed is
# what the role's template does to the test source's "line 0".."line 4".
#
#   tests/init/run.sh TORVYN WORK_DIR LANG ROLE
set -euo pipefail
torvyn=$1 work=$2 lang=$3 role=$4
name="t_${lang}_${role}"
rm -rf "${work:?}/$name"
mkdir -p "$work"
cd "$work"
"$torvyn" init "$name" --lang "$lang" --role "$role"
cd "$name"
make > make.log 2>&1 || { cat make.log; echo "FAIL: make"; exit 1; }
"$torvyn" run . > out.txt 2> summary.txt || { cat out.txt summary.txt; echo "FAIL: torvyn run ."; exit 1; }

case $role in
  source)     expected=$(printf '%s 0\n%s 1\n%s 2\n%s 3\n%s 4' "$name" "$name" "$name" "$name" "$name") ;;
  processor)  expected=$'LINE 0\nLINE 1\nLINE 2\nLINE 3\nLINE 4' ;;
  filter)     expected=$'line 0\nline 2\nline 4' ;;
  router)     expected=$'line 0\nline 1\nline 2\nline 3\nline 4' ;;  # both ports print: any order
  aggregator) expected='count=5' ;;
  sink)       expected='' ;;
esac
got=$(cat out.txt)
[ "$role" = router ] && got=$(sort out.txt)
if [ "$got" != "$expected" ]; then
  printf 'FAIL: %s %s printed:\n%s\nexpected:\n%s\n' "$lang" "$role" "$got" "$expected"
  cat summary.txt
  exit 1
fi
grep -q "accounting: 5 emitted" summary.txt || { cat summary.txt; echo "FAIL: accounting"; exit 1; }
grep -q "grants:  none (pure computation)" <("$torvyn" link .) ||
  { "$torvyn" link .; echo "FAIL: the component should need no grant"; exit 1; }
echo "ok: $lang $role"
