#!/usr/bin/env bash
# Runs a flow's components under a second host (jco transpile + Node.js +
# tests/crosshost/host.mjs) and checks its stdout is byte-identical to what
# `torvyn run` prints.
#
#   bash tests/crosshost/run.sh COMPONENT_DIR MANIFEST EXPECTED
#
# COMPONENT_DIR holds the built .wasm files the manifest names; MANIFEST is a
# Torvyn.toml (or its directory); EXPECTED is `torvyn run`'s stdout.
# Environment: TORVYN_JS_TOOLS (where jco and @bytecodealliance/preview2-shim
# are installed; default $TORVYN_TOOLS_DIR/js, else ~/.cache/torvyn/tools/js),
# NODE (default node), CROSSHOST_TIMEOUT (seconds for the whole run, default
# 300), CROSSHOST_DEBUG=1 to keep the transpiled files and print traps in full.
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 COMPONENT_DIR MANIFEST EXPECTED" >&2
    exit 2
fi
components=$1
manifest=$2
expected=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools=${TORVYN_JS_TOOLS:-${TORVYN_TOOLS_DIR:-$HOME/.cache/torvyn/tools}/js}
jco=$tools/node_modules/.bin/jco
node=${NODE:-node}
limit=${CROSSHOST_TIMEOUT:-300}

exec 3>&2 # the messages below reach the caller even from redirected steps
fail() {
    echo "crosshost: FAIL: $*" >&3
    exit 1
}

[[ -x $jco ]] || fail "jco not found at $jco (set TORVYN_JS_TOOLS)"
command -v "$node" >/dev/null || fail "node not found"
[[ -d $components ]] || fail "no component directory $components"
[[ -e $manifest ]] || fail "no manifest $manifest"
[[ -f $expected ]] || fail "no expected output $expected"

work=$(mktemp -d "${TMPDIR:-/tmp}/torvyn-crosshost.XXXXXX")
if [[ -n ${CROSSHOST_DEBUG:-} ]]; then
    echo "crosshost: transpiled files kept in $work" >&2
else
    trap 'rm -rf "$work"' EXIT
fi
export TORVYN_JS_TOOLS=$tools

# Every step runs under what is left of the time limit.
deadline=$((SECONDS + limit))
bounded() {
    local left=$((deadline - SECONDS)) status=0
    ((left > 0)) || fail "out of time (${limit}s) before: $*"
    timeout "$left" "$@" || status=$?
    ((status != 124)) || fail "out of time (${limit}s) in: $*"
    return "$status"
}

# One transpile per distinct component file: sync instantiation, so that the
# runner hands each component its imports (host.mjs + preview2-shim).
list=$(bounded "$node" "$here/run_flow.mjs" --list "$manifest") ||
    fail "cannot read the manifest $manifest"
while IFS= read -r file; do
    [[ -n $file ]] || continue
    stem=$(basename "$file" .wasm)
    wasm=$components/$file
    [[ -f $wasm ]] || fail "component $wasm not found"
    bounded "$jco" transpile "$wasm" -o "$work/$stem" --name "$stem" \
        --instantiation sync --no-typescript --quiet >"$work/$stem.log" 2>&1 ||
        { cat "$work/$stem.log" >&2; fail "jco transpile $wasm"; }
done <<<"$list"

# Python components (componentize-py) use extended constant expressions,
# which V8 only enables by default from Node 21: turn them on where needed.
node_flags=()
v8_options=$("$node" --v8-options)
if grep -A1 -- '--experimental-wasm-extended-const ' <<<"$v8_options" | grep -q 'default: --no-'; then
    node_flags+=(--experimental-wasm-extended-const)
fi

status=0
bounded "$node" "${node_flags[@]}" "$here/run_flow.mjs" "$manifest" "$work" >"$work/stdout" || status=$?
((status == 0)) || fail "the flow failed under Node.js (exit $status)"

if ! diff -u --label "expected ($expected)" --label "node + jco" "$expected" "$work/stdout" >&2; then
    fail "the output under Node.js differs from torvyn run's"
fi
echo "crosshost: OK: $(wc -l <"$work/stdout") line(s) identical to $expected"
