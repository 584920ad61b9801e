#!/usr/bin/env bash
# Installs everything Torvyn's build needs that is missing, and nothing else.
# Idempotent: a second run only checks and returns in seconds.
#
#   scripts/setup.sh         what `make demo` and `make test` need
#   scripts/setup.sh fuzz    and clang's sanitizer runtimes (libFuzzer), for `make fuzz`
#
#   Debian packages  — compilers, wasm32-wasi sysroot, host libraries; and
#                      Prometheus and Chromium, which the live endpoints' tests
#                      run against (tests/observe)
#   cargo tools      — wit-bindgen, wasm-component-ld, wasm-tools (pinned),
#                      installed under $TORVYN_CACHE_DIR/tools, outside the checkout
#   OCI tools        — Debian's docker-registry, skopeo and htpasswd, and cosign
#                      and oras built with `go install` (pinned) into
#                      $TORVYN_TOOLS_DIR/go-bin, which the tests in tests/oci use
#   Brokers          — Debian's nats-server, libnats-dev, librdkafka-dev, kcat,
#                      Java 17 and Maven; Apache Kafka's jars from Maven Central
#                      (scripts/kafka.sh) into $TORVYN_CACHE_DIR/kafka, which the
#                      tests in tests/brokers run (docs/brokers.md)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
source "$here/env.sh"

log() { printf 'setup: %s\n' "$*" >&2; }

# --- Debian packages ---------------------------------------------------------
apt_packages=(
  build-essential cmake ninja-build pkg-config git
  clang lld llvm wasi-libc libclang-rt-14-dev-wasm32 libc++-dev-wasm32 libc++abi-14-dev-wasm32
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libfmt-dev libssl-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev clang-format
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  rapidjson-dev libcurl4-openssl-dev libspdlog-dev libarchive-dev
  prometheus-cpp-dev libcpp-httplib-dev libsqlite3-dev
  prometheus chromium
  docker-registry skopeo apache2-utils
  nats-server libnats-dev librdkafka-dev kcat openjdk-17-jre-headless maven
)
for extra in "$@"; do
  case "$extra" in
    fuzz) apt_packages+=(libclang-rt-14-dev) ;;
    *) log "unknown extra '$extra' (known: fuzz)"; exit 2 ;;
  esac
done
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Rust toolchain (host side) -------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
  log "cargo not found: install Rust 1.95 (rustup) and re-run"
  exit 1
fi

# Rust guest components (sdk/rust) build for wasm32-unknown-unknown: no WASI.
if command -v rustup >/dev/null 2>&1 &&
  ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the Rust target wasm32-unknown-unknown (once)"
  rustup target add wasm32-unknown-unknown
fi

# --- pinned cargo tools ------------------------------------------------------
# name version features
tools=(
  "wit-bindgen-cli wit-bindgen 0.63.0 --no-default-features --features c,go"
  "wasm-component-ld wasm-component-ld 0.5.31"
  "wasm-tools wasm-tools 1.263.0 --no-default-features --features component,validate,print,parse,metadata,strip"
  "cbindgen cbindgen 0.29.2"
)
mkdir -p "$TORVYN_TOOLS_DIR/bin"
for entry in "${tools[@]}"; do
  read -r crate bin version extra <<<"$entry"
  stamp="$TORVYN_TOOLS_DIR/bin/.$bin-$version-$(printf '%s' "$extra" | sha256sum | cut -c1-8)"
  if [ -x "$TORVYN_TOOLS_DIR/bin/$bin" ] && [ -f "$stamp" ]; then
    continue
  fi
  log "building $crate $version (once; cached in $TORVYN_TOOLS_DIR)"
  # shellcheck disable=SC2086
  CARGO_TARGET_DIR="$TORVYN_CACHE_DIR/tools-target" \
    cargo install --quiet --locked --root "$TORVYN_TOOLS_DIR" "$crate@$version" $extra
  touch "$stamp"
done
# --- Python guest components (sdk/python) -----------------------------------
componentize_py_version=0.25.1
py_dir="$TORVYN_TOOLS_DIR/py"
if [ ! -f "$py_dir/.componentize-py-$componentize_py_version" ]; then
  command -v python3 >/dev/null 2>&1 || { log "python3 not found: install Python 3.11+ and re-run"; exit 1; }
  log "installing componentize-py $componentize_py_version (once; in $py_dir)"
  python3 -m venv "$py_dir"
  "$py_dir/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$componentize_py_version"
  touch "$py_dir/.componentize-py-$componentize_py_version"
fi
# The OpenTelemetry protobuf definitions, for the tests' OTLP receiver.
otel_proto_version=1.45.0
if [ ! -f "$py_dir/.opentelemetry-proto-$otel_proto_version" ]; then
  log "installing opentelemetry-proto $otel_proto_version (once; in $py_dir)"
  "$py_dir/bin/pip" install --quiet --disable-pip-version-check "opentelemetry-proto==$otel_proto_version"
  touch "$py_dir/.opentelemetry-proto-$otel_proto_version"
fi

# --- JavaScript guest components (sdk/js) -----------------------------------
js_dir="$TORVYN_TOOLS_DIR/js"
js_lock="$here/js-tools/package-lock.json"
js_stamp="$js_dir/.lock-$(sha256sum "$js_lock" | cut -c1-16)"
if [ ! -f "$js_stamp" ]; then
  command -v npm >/dev/null 2>&1 || { log "npm not found: install Node.js 20+ with npm and re-run"; exit 1; }
  log "installing the JavaScript component tools (once; in $js_dir)"
  mkdir -p "$js_dir"
  cp "$here/js-tools/package.json" "$js_lock" "$js_dir/"
  (cd "$js_dir" && npm ci --silent --no-audit --no-fund)
  rm -f "$js_dir"/.lock-*
  touch "$js_stamp"
fi

# --- Go guest components (sdk/go) -------------------------------------------
go_cmd="$(command -v go || echo /usr/local/go/bin/go)"
if [ ! -x "$go_cmd" ]; then
  log "go not found: install Go 1.25+ (https://go.dev/dl or Debian's golang) and re-run"
  exit 1
fi
GO="$go_cmd" TORVYN_TOOLS="$TORVYN_CACHE_DIR" CARGO_TARGET_DIR="$TORVYN_CACHE_DIR/tools-target" \
  bash "$here/../sdk/go/setup.sh"

# --- OCI tools (tests/oci) ----------------------------------------------------
# cosign (signatures in key mode, offline) and oras (pushes a Wasm artifact the
# way other tools do), built from the Go module proxy with the Go found above.
# The module and build caches live in $TORVYN_CACHE_DIR/go, so a fresh clone
# reuses them; a cold build takes minutes (cosign is the big one).
cosign_version=v2.6.5
oras_version=v1.3.6
go_bin="$TORVYN_TOOLS_DIR/go-bin"
go_stamp="$go_bin/.cosign-$cosign_version-oras-$oras_version"
if [ ! -f "$go_stamp" ] || [ ! -x "$go_bin/cosign" ] || [ ! -x "$go_bin/oras" ]; then
  # oras v1.3.6's go.mod asks for go 1.26.7 (cosign's for 1.25.0); GOTOOLCHAIN=local
  # below: an older Go fails here, saying so, rather than fetching a toolchain.
  go_min=1.26.7
  [ -x "$go_cmd" ] || { log "go not found: cosign and oras are built with Go $go_min+; install it and re-run"; exit 1; }
  go_have="$(GOTOOLCHAIN=local "$go_cmd" env GOVERSION | sed 's/^go//')"
  if [ "$(printf '%s\n%s\n' "$go_min" "$go_have" | sort -V | head -1)" != "$go_min" ]; then
    log "Go $go_have is too old for oras $oras_version (needs Go $go_min+): install a newer Go and re-run"
    exit 1
  fi
  mkdir -p "$go_bin"
  for mod in "github.com/sigstore/cosign/v2/cmd/cosign@$cosign_version" \
             "oras.land/oras/cmd/oras@$oras_version"; do
    log "building ${mod##*/} with go install (once; cached in $TORVYN_CACHE_DIR/go)"
    GOBIN="$go_bin" GOPATH="$TORVYN_CACHE_DIR/go" GOMODCACHE="$TORVYN_CACHE_DIR/go/mod" \
      GOCACHE="$TORVYN_CACHE_DIR/go/build" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-modcacherw \
      "$go_cmd" install -trimpath "$mod"
  done
  rm -f "$go_bin"/.cosign-*
  touch "$go_stamp"
fi

# --- Apache Kafka (tests/brokers) ----------------------------------------------
# The broker's jars from Maven Central, keyed by version; a no-op once fetched.
bash "$here/kafka.sh" >/dev/null

log "ready (tools in $TORVYN_TOOLS_DIR/bin, $py_dir, $js_dir, $TORVYN_CACHE_DIR/tools-go, $go_bin, $TORVYN_CACHE_DIR/kafka)"
