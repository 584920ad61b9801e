#!/usr/bin/env bash
# Installs the pinned tools sdk/go/build.sh uses into ~/.cache/torvyn/tools-go
# (idempotent: a second run only checks). Needs cargo (crates.io) and Go >= 1.25.
#
#   wit-bindgen-cli 0.63.0 (features go,c)     -> tools-go/bin/wit-bindgen, only when
#     scripts/setup.sh's wit-bindgen (tools/bin) was built without Go bindings
#   go.bytecodealliance.org/pkg, from the       -> tools-go/go-pkg
#     wit-bindgen-go 0.63.0 crate source (the Go module proxy does not serve
#     it); its go directive is lowered to 1.25 to build with the local Go
#   wasi_snapshot_preview1 reactor adapter from -> tools-go/wasi_snapshot_preview1.reactor.wasm
#     wasi-preview1-component-adapter-provider 48.0.1 (only for TORVYN_GO_WASI=host)
#   wasm-tools 1.263.0, only when ~/.cache/torvyn/tools/bin/wasm-tools is absent
set -euo pipefail

WIT_BINDGEN_VERSION=0.63.0
ADAPTER_VERSION=48.0.1
WASM_TOOLS_VERSION=1.263.0

tools=${TORVYN_TOOLS:-$HOME/.cache/torvyn}
root=$tools/tools-go
stamp=$root/.setup-$WIT_BINDGEN_VERSION-$ADAPTER_VERSION
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$tools/tools-target}
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

[ -x "$go" ] || { echo "$0: Go (>= 1.25) not found; set GO=" >&2; exit 1; }
# scripts/setup.sh builds the project's wit-bindgen with Go bindings: use it.
shared_bindgen=$tools/tools/bin/wit-bindgen
has_go_bindgen() { "$1" go --help >/dev/null 2>&1; }
if [ -f "$stamp" ] && { has_go_bindgen "$shared_bindgen" || [ -x "$root/bin/wit-bindgen" ]; } && [ -f "$root/go-pkg/go.mod" ] \
    && [ -f "$root/wasi_snapshot_preview1.reactor.wasm" ] \
    && { [ -x "$tools/tools/bin/wasm-tools" ] || [ -x "$root/bin/wasm-tools" ]; }; then
    exit 0
fi
mkdir -p "$root"

if ! has_go_bindgen "$shared_bindgen" &&
    ! "$root/bin/wit-bindgen" --version 2>/dev/null | grep -q " $WIT_BINDGEN_VERSION"; then
    cargo install --locked --root "$root" "wit-bindgen-cli@$WIT_BINDGEN_VERSION" \
        --no-default-features --features go,c
fi
if [ ! -x "$tools/tools/bin/wasm-tools" ] && ! "$root/bin/wasm-tools" --version 2>/dev/null | grep -q " $WASM_TOOLS_VERSION"; then
    cargo install --locked --root "$root" "wasm-tools@$WASM_TOOLS_VERSION"
fi

# Crate sources through cargo itself: a throwaway project depending on both.
fetch=$root/fetch
mkdir -p "$fetch/src"
cat > "$fetch/Cargo.toml" <<TOML
[package]
name = "torvyn-go-tools-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
wit-bindgen-go = "=$WIT_BINDGEN_VERSION"
wasi-preview1-component-adapter-provider = "=$ADAPTER_VERSION"
TOML
: > "$fetch/src/lib.rs"
(cd "$fetch" && cargo fetch -q)
crate_dir() {
    (cd "$fetch" && cargo metadata -q --format-version 1) | python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == sys.argv[1] and p["version"] == sys.argv[2]:
        print(os.path.dirname(p["manifest_path"]))' "$1" "$2"
}
bindgen_go=$(crate_dir wit-bindgen-go "$WIT_BINDGEN_VERSION")
adapter=$(crate_dir wasi-preview1-component-adapter-provider "$ADAPTER_VERSION")
[ -f "$bindgen_go/src/pkg/go.mod" ] || { echo "$0: no go-pkg in $bindgen_go" >&2; exit 1; }

rm -rf "$root/go-pkg.new"
mkdir -p "$root/go-pkg.new"
cp -r "$bindgen_go/src/pkg/go.mod" "$bindgen_go/src/pkg/LICENSE" "$bindgen_go/src/pkg/wit" "$root/go-pkg.new/"
sed -i 's/^go 1\.[0-9.]*$/go 1.25/' "$root/go-pkg.new/go.mod"
rm -rf "$root/go-pkg" && mv "$root/go-pkg.new" "$root/go-pkg"
cp "$adapter/artefacts/wasi_snapshot_preview1.reactor.wasm" "$root/wasi_snapshot_preview1.reactor.wasm"
touch "$stamp"
