# Builds the Rust bridge (bridge/) with cargo and exposes it as torvyn::bridge.
# The cargo target directory lives outside the checkout (TORVYN_CARGO_TARGET_DIR,
# see scripts/env.sh) so every clone on a machine shares one incremental build.

include_guard(GLOBAL)

find_program(CARGO cargo HINTS "$ENV{HOME}/.cargo/bin" REQUIRED)

set(TORVYN_BRIDGE_DIR "${CMAKE_SOURCE_DIR}/bridge")
if(DEFINED ENV{TORVYN_CARGO_TARGET_DIR})
  set(_default_target "$ENV{TORVYN_CARGO_TARGET_DIR}")
else()
  set(_default_target "$ENV{HOME}/.cache/torvyn/cargo-target")
endif()
set(TORVYN_CARGO_TARGET_DIR "${_default_target}" CACHE PATH "cargo target dir for the bridge")

set(TORVYN_BRIDGE_LIB "${TORVYN_CARGO_TARGET_DIR}/release/libtorvyn_bridge.a")
file(GLOB_RECURSE _bridge_sources CONFIGURE_DEPENDS
  "${TORVYN_BRIDGE_DIR}/src/*.rs" "${TORVYN_BRIDGE_DIR}/wit/*.wit" "${CMAKE_SOURCE_DIR}/wit/*.wit")

add_custom_command(
  OUTPUT "${TORVYN_BRIDGE_LIB}"
  COMMAND ${CMAKE_COMMAND} -E env CARGO_TARGET_DIR=${TORVYN_CARGO_TARGET_DIR}
          ${CARGO} build --release --locked --quiet --manifest-path "${TORVYN_BRIDGE_DIR}/Cargo.toml"
  DEPENDS ${_bridge_sources} "${TORVYN_BRIDGE_DIR}/Cargo.toml" "${TORVYN_BRIDGE_DIR}/Cargo.lock"
  COMMENT "cargo build torvyn-bridge (Wasmtime)"
  USES_TERMINAL
  VERBATIM)
add_custom_target(torvyn_bridge_build DEPENDS "${TORVYN_BRIDGE_LIB}")

add_library(torvyn_bridge STATIC IMPORTED GLOBAL)
set_target_properties(torvyn_bridge PROPERTIES
  IMPORTED_LOCATION "${TORVYN_BRIDGE_LIB}"
  INTERFACE_INCLUDE_DIRECTORIES "${TORVYN_BRIDGE_DIR}/include")
# What a Rust staticlib needs from the system (cargo --print native-static-libs).
set_property(TARGET torvyn_bridge PROPERTY INTERFACE_LINK_LIBRARIES gcc_s util rt pthread m dl)
add_dependencies(torvyn_bridge torvyn_bridge_build)
add_library(torvyn::bridge ALIAS torvyn_bridge)
