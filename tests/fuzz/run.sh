#!/usr/bin/env bash
# run.sh BUILD_FUZZ SECONDS — runs every fuzz target for SECONDS each.
# New inputs go to BUILD_FUZZ/corpus/<target> (seeded from the repository's
# corpus and inputs); crashes to BUILD_FUZZ/crashes/. Prints, per target, the
# executions, the corpus size and what was found. Exit 1 if anything was.
set -uo pipefail
build=$1 seconds=$2
root="$(cd "$(dirname "$0")/../.." && pwd)"
found=0
printf '%-12s %12s %10s %8s %s\n' target executions exec/s corpus findings
for t in manifest wit component host_calls; do
  work="$build/corpus/$t" seeds="$build/seeds/$t" crashes="$build/crashes"
  mkdir -p "$work" "$seeds" "$crashes"
  case $t in
    manifest) cp "$root"/examples/*/Torvyn.toml "$root"/tests/manifests/*.toml "$seeds/" 2>/dev/null
              for f in "$seeds"/*; do mv -f "$f" "$seeds/$(basename "$(dirname "$f")")-$(basename "$f")" 2>/dev/null; done ;;
    wit) cp "$root"/wit/*.wit "$root"/tests/wit-bad/*.wit "$seeds/" ;;
    component) cp "$root"/build/components/*.wasm "$seeds/" 2>/dev/null || true ;;
  esac
  log="$build/fuzz-$t.log"
  # Wasmtime handles its own guard-page faults; the sanitizers' handlers
  # chain to it.
  "$build/tests/fuzz/fuzz_$t" "$work" "$root/tests/fuzz/corpus/$t" "$seeds" \
      -max_total_time="$seconds" -timeout=30 -rss_limit_mb=8192 -print_final_stats=1 \
      -artifact_prefix="$crashes/$t-" >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  size=$(find "$work" -type f | wc -l)
  findings=$(ls "$crashes" 2>/dev/null | grep -c "^$t-" || true)
  printf '%-12s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${speed:-?}" "$size" \
    "$([ "$rc" = 0 ] && echo "none" || echo "exit $rc, $findings artifact(s): see $log")"
  [ "$rc" = 0 ] || found=1
done
exit $found
