# Shared locations for Torvyn's scripts. Source it; do not run it.
# Everything built from the package registries is cached outside the checkout,
# so a fresh clone on the same machine reuses it.
export TORVYN_CACHE_DIR="${TORVYN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/torvyn}"
export TORVYN_TOOLS_DIR="$TORVYN_CACHE_DIR/tools"
# One cargo target directory for the bridge: cargo re-keys its fingerprints on
# Cargo.lock, so a changed lock rebuilds only what changed.
export TORVYN_CARGO_TARGET_DIR="$TORVYN_CACHE_DIR/cargo-target"
export PATH="$TORVYN_TOOLS_DIR/bin:$HOME/.cargo/bin:$PATH"
