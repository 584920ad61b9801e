# Builds the Rust bridge (bridge/) with cargo and exposes it as torvyn::bridge.
# The cargo target directory lives outside the checkout (TORVYN_CARGO_TARGET_DIR,
# see scripts/env.sh) so every clone on a machine shares one incremental build.

include_guard(GLOBAL)

find_program(CARGO cargo HINTS "$ENV{HOME}/.cargo/bin" REQUIRED)
# The C header is generated from the crate (pinned in scripts/setup.sh).
find_program(CBINDGEN cbindgen HINTS "$ENV{TORVYN_TOOLS_DIR}/bin" "$ENV{HOME}/.cache/torvyn/tools/bin" REQUIRED)

set(TORVYN_BRIDGE_DIR "${CMAKE_SOURCE_DIR}/bridge")
if(DEFINED ENV{TORVYN_CARGO_TARGET_DIR})
  set(_default_target "$ENV{TORVYN_CARGO_TARGET_DIR}")
else()
  set(_default_target "$ENV{HOME}/.cache/torvyn/cargo-target")
endif()
set(TORVYN_CARGO_TARGET_DIR "${_default_target}" CACHE PATH "cargo target dir for the bridge")

# The bridge's own Rust tests build in the shared directory, whatever this
# build's flavour (tests/CMakeLists.txt).
set(TORVYN_BRIDGE_TEST_TARGET_DIR "${TORVYN_CARGO_TARGET_DIR}")

set(_cargo build --release --locked --quiet --manifest-path "${TORVYN_BRIDGE_DIR}/Cargo.toml")
set(_bridge_env CARGO_TARGET_DIR=${TORVYN_CARGO_TARGET_DIR})
if(TORVYN_FUZZ)
  # Fuzzing builds the bridge (and Wasmtime, wit-parser ...) with the same
  # coverage instrumentation libFuzzer gives the C++, so the fuzzers explore
  # the Rust code that parses components and WIT too. An explicit --target
  # keeps the flags off build scripts and proc macros; the staticlib alone
  # (a shared library would not link without the fuzzer's runtime). Its own
  # target directory, cached like the other.
  set(_triple x86_64-unknown-linux-gnu)
  set(TORVYN_CARGO_TARGET_DIR "${TORVYN_CARGO_TARGET_DIR}-fuzz")
  set(_cargo rustc --release --locked --quiet --target ${_triple} --crate-type staticlib
    --manifest-path "${TORVYN_BRIDGE_DIR}/Cargo.toml")
  set(_bridge_env CARGO_TARGET_DIR=${TORVYN_CARGO_TARGET_DIR}
    "RUSTFLAGS=-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=3 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares")
  set(TORVYN_BRIDGE_LIB "${TORVYN_CARGO_TARGET_DIR}/${_triple}/release/libtorvyn_bridge.a")
  set(_bridge_kind STATIC)
elseif(TORVYN_TSAN)
  # ThreadSanitizer builds link the shared library: with
  # ignore_noninstrumented_modules it then ignores what Rust code does, which
  # it cannot see synchronise (stable Rust cannot be built with TSan).
  set(TORVYN_BRIDGE_LIB "${TORVYN_CARGO_TARGET_DIR}/release/libtorvyn_bridge.so")
  set(_bridge_kind SHARED)
else()
  set(TORVYN_BRIDGE_LIB "${TORVYN_CARGO_TARGET_DIR}/release/libtorvyn_bridge.a")
  set(_bridge_kind STATIC)
endif()
file(GLOB_RECURSE _bridge_sources CONFIGURE_DEPENDS
  "${TORVYN_BRIDGE_DIR}/src/*.rs" "${TORVYN_BRIDGE_DIR}/wit/*.wit" "${CMAKE_SOURCE_DIR}/wit/*.wit")

# cargo decides what is stale, every build: the target directory is shared by
# every checkout on the machine, so a file date here cannot tell whether the
# library was last built from this tree (a no-op cargo run takes ~0.2 s).
add_custom_target(torvyn_bridge_cargo
  COMMAND ${CMAKE_COMMAND} -E env ${_bridge_env} ${CARGO} ${_cargo}
  BYPRODUCTS "${TORVYN_BRIDGE_LIB}"
  COMMENT "cargo build torvyn-bridge (Wasmtime)"
  USES_TERMINAL
  VERBATIM)
# The ABI has one definition, the Rust crate: the header is written from it.
set(TORVYN_BRIDGE_INCLUDE "${CMAKE_BINARY_DIR}/bridge-include")
set(_bridge_header "${TORVYN_BRIDGE_INCLUDE}/torvyn_bridge.h")
file(MAKE_DIRECTORY "${TORVYN_BRIDGE_INCLUDE}")
add_custom_command(
  OUTPUT "${_bridge_header}"
  COMMAND ${CBINDGEN} --quiet --config "${TORVYN_BRIDGE_DIR}/cbindgen.toml"
    --crate torvyn-bridge --output "${_bridge_header}" "${TORVYN_BRIDGE_DIR}"
  DEPENDS ${_bridge_sources} "${TORVYN_BRIDGE_DIR}/cbindgen.toml"
  COMMENT "cbindgen torvyn_bridge.h"
  VERBATIM)
add_custom_target(torvyn_bridge_build DEPENDS "${_bridge_header}")
add_dependencies(torvyn_bridge_build torvyn_bridge_cargo)

add_library(torvyn_bridge ${_bridge_kind} IMPORTED GLOBAL)
set_target_properties(torvyn_bridge PROPERTIES
  IMPORTED_LOCATION "${TORVYN_BRIDGE_LIB}"
  INTERFACE_INCLUDE_DIRECTORIES "${TORVYN_BRIDGE_INCLUDE}")
# What a Rust staticlib needs from the system (cargo --print native-static-libs).
set_property(TARGET torvyn_bridge PROPERTY INTERFACE_LINK_LIBRARIES gcc_s util rt pthread m dl)
add_dependencies(torvyn_bridge torvyn_bridge_build)
add_library(torvyn::bridge ALIAS torvyn_bridge)
