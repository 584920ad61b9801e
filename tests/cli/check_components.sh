#!/usr/bin/env bash
# check_components.sh WASM_TOOLS DIR: every example component, read by
# wasm-tools (not by Torvyn), exports its Torvyn role interface and imports
# nothing outside torvyn:streaming except the stdout it was built to use.
set -eu
tools=$1 dir=$2
declare -A role=(
  [hello_greeter]=source [hello_shout]=processor [hello_printer]=sink
  [numbers]=source [multiple_of]=filter [parity_router]=router [blobs]=source
  [slow_sink]=sink [events]=source [window_count]=aggregator)
# The contract version, from the WIT package (the one place it is written).
v=$(sed -n 's/^package torvyn:streaming@\(.*\);/\1/p' "$(dirname "$0")/../../wit/types.wit")
[ -n "$v" ] || { echo "no contract version in wit/types.wit"; exit 1; }
fail=0
for name in "${!role[@]}"; do
  wit=$("$tools" component wit "$dir/$name.wasm")
  if ! grep -q "export torvyn:streaming/${role[$name]}@$v;" <<<"$wit"; then
    echo "$name: does not export torvyn:streaming/${role[$name]}@$v"; fail=1
  fi
  if ! grep -q "export torvyn:streaming/lifecycle@$v;" <<<"$wit"; then
    echo "$name: does not export torvyn:streaming/lifecycle@$v"; fail=1
  fi
  extra=$(grep -E '^\s*import ' <<<"$wit" | grep -v 'torvyn:streaming/' || true)
  if [ "$name" = hello_printer ] || [ "$name" = slow_sink ]; then
    extra=$(grep -v -E 'wasi:cli/stdout|wasi:io/(streams|error)' <<<"$extra" || true)
  fi
  if [ -n "$extra" ]; then
    echo "$name: unexpected imports:"; echo "$extra"; fail=1
  fi
done
[ "$fail" = 0 ] && echo "${#role[@]} components checked"
exit $fail
