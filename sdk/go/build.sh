#!/usr/bin/env bash
# Builds a Torvyn component from a Go package.
#
#   sdk/go/build.sh ROLE SRC_DIR OUT.wasm
#
# ROLE: source | processor | sink | filter | router | aggregator.
# SRC_DIR: one Go package (any name but main) that imports torvyn.dev/sdk/torvyn
# and the standard library, and calls torvyn.Export<Role> in an init function;
# its _test.go files are left out.
#
# Offline once sdk/go/setup.sh has run. Environment:
#   TORVYN_WIT       WIT folder (default: the repository's wit/)
#   TORVYN_GO_WASI   deny (default): the component imports only torvyn:streaming;
#                    WASI calls are answered inside it (sdk/go/wasi/deny.wat).
#                    host: the standard preview1 adapter (imports wasi:*; the
#                    node then needs grants for them).
#   TORVYN_GO_SEED   64-bit seed of random_get in deny mode (default: derived
#                    from the role and the sources, so builds are reproducible)
#   TORVYN_TOOLS     tool cache (default ~/.cache/torvyn); GO: the go command
#   KEEP=1           keep the build folder (printed)
set -euo pipefail

usage() { echo "usage: $0 source|processor|sink|filter|router|aggregator SRC_DIR OUT.wasm" >&2; exit 2; }
[ $# -eq 3 ] || usage
role=$1 src=$2 out=$3
case $role in source|processor|sink|filter|router|aggregator) ;; *) usage ;; esac

sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools=${TORVYN_TOOLS:-$HOME/.cache/torvyn}
wit=${TORVYN_WIT:-$sdk/../../wit}
wasi=${TORVYN_GO_WASI:-deny}
wit_bindgen=$tools/tools/bin/wit-bindgen  # scripts/setup.sh's, with Go bindings
"$wit_bindgen" go --help >/dev/null 2>&1 || wit_bindgen=$tools/tools-go/bin/wit-bindgen
wasm_tools=$tools/tools/bin/wasm-tools
[ -x "$wasm_tools" ] || wasm_tools=$tools/tools-go/bin/wasm-tools
go_pkg=$tools/tools-go/go-pkg
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
for t in "$wit_bindgen" "$wasm_tools" "$go"; do
    [ -x "$t" ] || { echo "$0: $t missing: run $sdk/setup.sh" >&2; exit 1; }
done
[ -f "$go_pkg/go.mod" ] || { echo "$0: $go_pkg missing: run $sdk/setup.sh" >&2; exit 1; }
[ -d "$src" ] || { echo "$0: $src is not a folder" >&2; exit 1; }
src=$(cd "$src" && pwd)
wit=$(cd "$wit" && pwd)
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")

work=$(mktemp -d "${TMPDIR:-/tmp}/torvyn-go.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then echo "build folder: $work" >&2; else trap 'rm -rf "$work"' EXIT; fi

# 1. Bindings for the role's world, generated each build (not committed).
if ! "$wit_bindgen" go --quiet -w "data-$role" "$wit" --out-dir "$work" >"$work/bindgen.log" 2>&1; then
    cat "$work/bindgen.log" >&2; exit 1
fi
pkg_version=$(sed -n 's/^ *go.bytecodealliance.org\/pkg \(v[^ ]*\).*/\1/p' "$work/go.mod")
cat > "$work/go.mod" <<MOD
module wit_component

go 1.25

require (
	go.bytecodealliance.org/pkg $pkg_version
	torvyn.dev/sdk v0.0.0
)

replace go.bytecodealliance.org/pkg => $go_pkg

replace torvyn.dev/sdk => $sdk
MOD

# 2. The SDK's glue: the generated exports call it, it calls the component.
mkdir -p "$work/torvyn_glue" "$work/export_torvyn_streaming_lifecycle" "$work/export_torvyn_streaming_$role"
cp "$sdk/_glue/common.go" "$work/torvyn_glue/common.go"
case $role in source|processor|aggregator) cp "$sdk/_glue/alloc.go" "$work/torvyn_glue/alloc.go" ;; esac
printf 'package torvyn_glue\n\n// Role is the world this component is built for.\nconst Role = "%s"\n' "$role" > "$work/torvyn_glue/role.go"
cp "$sdk/_glue/lifecycle.go" "$work/export_torvyn_streaming_lifecycle/glue.go"
cp "$sdk/_glue/$role.go" "$work/export_torvyn_streaming_$role/glue.go"

# 3. The component's package, imported by the generated main package.
mkdir -p "$work/component"
n=0
for f in "$src"/*.go; do
    case $f in *_test.go) continue ;; esac
    [ -f "$f" ] || continue
    cp "$f" "$work/component/"; n=$((n + 1))
done
[ $n -gt 0 ] || { echo "$0: no .go files in $src" >&2; exit 1; }
printf 'package main\n\nimport _ "wit_component/component"\n' > "$work/torvyn_component.go"

# 4. A reactor core module (Go's wasip1 port; -checklinkname=0 for the
#    bindings' runtime.sbrk link; -s -w drop symbols and DWARF).
(cd "$work" && GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOWORK=off GOOS=wasip1 GOARCH=wasm \
    "$go" build -trimpath -buildmode=c-shared -ldflags="-checklinkname=0 -s -w" -o core.wasm .)

# 5. The preview1 adapter.
case $wasi in
deny)
    seed=${TORVYN_GO_SEED:-0x$( (echo "$role"; cat "$work"/component/*.go) | sha256sum | cut -c1-16)}
    [[ $seed =~ ^0x[0-9a-fA-F]{1,16}$ ]] || { echo "$0: TORVYN_GO_SEED must be 0x and 1-16 hex digits" >&2; exit 1; }
    sed "s/(i64.const 0x5eed5eed5eed5eed)) ;; TORVYN_SEED/(i64.const $seed)) ;; TORVYN_SEED/" \
        "$sdk/wasi/deny.wat" > "$work/adapter.wat"
    grep -q "const $seed)" "$work/adapter.wat"
    "$wasm_tools" parse "$work/adapter.wat" -o "$work/adapter.wasm" ;;
host)
    cp "$tools/tools-go/wasi_snapshot_preview1.reactor.wasm" "$work/adapter.wasm" ;;
*) echo "$0: TORVYN_GO_WASI is deny or host" >&2; exit 1 ;;
esac

# 6. The component.
"$wasm_tools" component embed -w "data-$role" "$wit" "$work/core.wasm" -o "$work/embedded.wasm"
"$wasm_tools" component new "$work/embedded.wasm" --adapt "wasi_snapshot_preview1=$work/adapter.wasm" -o "$out.tmp"
if [ "$wasi" = deny ]; then
    other=$("$wasm_tools" component wit "$out.tmp" | sed -n '/^world /,/^}/s/^ *import \([^;]*\);.*/\1/p' | grep -v '^torvyn:streaming/' || true)
    if [ -n "$other" ]; then
        echo "$0: $out would import more than torvyn:streaming: $other" >&2; rm -f "$out.tmp"; exit 1
    fi
fi
mv "$out.tmp" "$out"
