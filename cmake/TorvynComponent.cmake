# torvyn_add_component(<name> ROLE <role> SOURCES <files>... [OUTPUT_DIR <dir>]
#                      [INCLUDES <dirs>...] [CONTRACT <version>] [EXCLUDE_FROM_ALL])
#
# Builds a WebAssembly component for one Torvyn role from C and/or C++
# sources, with Debian's clang for wasm32-wasi, the SDK and bindings that
# wit-bindgen generates for the role's world. The result is
# <OUTPUT_DIR or ${CMAKE_BINARY_DIR}/components>/<name>.wasm and a target
# named <name>.
#
# The component imports only the torvyn host interfaces its role needs. It
# imports a WASI interface only when its code calls an SDK function that needs
# one (torvyn_stdout_write → wasi:cli/stdout), so a component that does pure
# computation links against nothing else.
#
# CONTRACT picks the torvyn:streaming version: the current one (wit/) by
# default, or a frozen one kept for compatibility (wit/v<version>/, C only).
# A component with C++ sources uses the C++ SDK, which provides the batch
# form of its role: it builds for world data-<role>-batched when the
# contract has one.

include_guard(GLOBAL)

set(TORVYN_WIT_DIR "${CMAKE_CURRENT_LIST_DIR}/../wit" CACHE INTERNAL "")
file(STRINGS "${TORVYN_WIT_DIR}/types.wit" _torvyn_package REGEX "^package torvyn:streaming@")
string(REGEX REPLACE "^package torvyn:streaming@([0-9.]+).*$" "\\1" TORVYN_CONTRACT "${_torvyn_package}")
set(TORVYN_SDK_DIR "${CMAKE_CURRENT_LIST_DIR}/../sdk" CACHE INTERNAL "")

set(_torvyn_tool_hints "$ENV{TORVYN_TOOLS_DIR}/bin" "$ENV{HOME}/.cache/torvyn/tools/bin")
find_program(TORVYN_WASM_CC NAMES clang-14 clang REQUIRED)
find_program(TORVYN_WASM_CXX NAMES clang++-14 clang++ REQUIRED)
find_program(TORVYN_WIT_BINDGEN wit-bindgen HINTS ${_torvyn_tool_hints} REQUIRED)
find_program(TORVYN_WASM_COMPONENT_LD wasm-component-ld HINTS ${_torvyn_tool_hints} REQUIRED)
find_program(TORVYN_WASM_TOOLS wasm-tools HINTS ${_torvyn_tool_hints})
find_program(TORVYN_LLVM_AR NAMES llvm-ar-14 llvm-ar REQUIRED)

# Reactor model: no main; wasi-libc's constructors run on instantiation.
# -msimd128 lets clang vectorise guests' loops (Wasmtime runs SIMD natively;
# make bench shows the gain on the 1 MiB source's per-node time).
set(TORVYN_WASM_COMMON_FLAGS --target=wasm32-wasi -O2 -msimd128
    -Wall -Wextra -Werror -Wno-unused-parameter)
set(TORVYN_WASM_CFLAGS ${TORVYN_WASM_COMMON_FLAGS} -std=gnu11)
# Debian's wasm libc++ has no exception support.
set(TORVYN_WASM_CXXFLAGS ${TORVYN_WASM_COMMON_FLAGS} -std=c++20 -fno-exceptions -fno-rtti)

# The WIT directory of contract `version`: wit/ for the current one.
function(_torvyn_contract_dir version out)
  if(version STREQUAL TORVYN_CONTRACT)
    set(${out} "${TORVYN_WIT_DIR}" PARENT_SCOPE)
  elseif(EXISTS "${TORVYN_WIT_DIR}/v${version}/worlds.wit")
    set(${out} "${TORVYN_WIT_DIR}/v${version}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

# Compiles one source for wasm32-wasi; appends the object to <out_var>.
function(_torvyn_wasm_compile src obj out_var)
  cmake_parse_arguments(ARG "" "" "INCLUDES;SYSTEM_INCLUDES;DEFINES;DEPENDS" ${ARGN})
  get_filename_component(ext "${src}" LAST_EXT)
  if(ext STREQUAL ".c")
    set(compiler ${TORVYN_WASM_CC})
    set(flags ${TORVYN_WASM_CFLAGS})
  else()
    set(compiler ${TORVYN_WASM_CXX})
    set(flags ${TORVYN_WASM_CXXFLAGS})
  endif()
  set(incs)
  foreach(i IN LISTS ARG_INCLUDES)
    list(APPEND incs "-I${i}")
  endforeach()
  foreach(i IN LISTS ARG_SYSTEM_INCLUDES)
    list(APPEND incs -isystem "${i}")
  endforeach()
  set(defs)
  foreach(d IN LISTS ARG_DEFINES)
    list(APPEND defs "-D${d}")
  endforeach()
  add_custom_command(
    OUTPUT "${obj}"
    COMMAND ${compiler} ${flags} ${defs} ${incs} -MD -MF "${obj}.d" -c "${src}" -o "${obj}"
    DEPENDS "${src}" ${ARG_DEPENDS}
    DEPFILE "${obj}.d"
    COMMENT "wasm32 ${src}"
    VERBATIM)
  set(${out_var} ${${out_var}} "${obj}" PARENT_SCOPE)
endfunction()

# The body of world <world> in <wit_dir>/worlds.wit; empty when there is none.
function(_torvyn_world_text wit_dir world out)
  file(READ "${wit_dir}/worlds.wit" worlds)
  if(worlds MATCHES "world ${world} {([^}]*)}")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

# Bindings and SDK objects for one world of one contract, generated once per
# build tree.
function(_torvyn_world_objects contract role world out_objs out_includes)
  _torvyn_contract_dir(${contract} wit_dir)
  string(REPLACE "-" "_" wname "${world}")
  set(gen "${CMAKE_BINARY_DIR}/torvyn-sdk/${contract}/${world}")
  set(includes "${gen}" "${TORVYN_SDK_DIR}/c/include" "${TORVYN_SDK_DIR}/cpp/include"
      "${CMAKE_BINARY_DIR}/torvyn-sdk/console-io")
  # The role macro of the C++ SDK is checked against it.
  set(defines "TORVYN_BUILT_ROLE=${role}")
  # The world says what the role may import: read it, not a list of roles.
  _torvyn_world_text("${wit_dir}" "data-${role}" world_text)
  if(world_text MATCHES "import buffer-allocator;")
    list(APPEND defines TORVYN_HAS_ALLOCATOR=1)
  endif()
  if(NOT world STREQUAL "data-${role}")
    list(APPEND defines TORVYN_BATCHED=1)
  endif()
  if(NOT contract STREQUAL TORVYN_CONTRACT)
    string(REPLACE "." "_" tag "${contract}")
    list(APPEND defines "TORVYN_CONTRACT_${tag}=1")
  endif()
  file(GLOB wit_files CONFIGURE_DEPENDS "${wit_dir}/*.wit")

  set(key "_torvyn_world_${contract}_${world}")
  get_property(done GLOBAL PROPERTY "${key}")
  if(NOT done)
    set_property(GLOBAL PROPERTY "${key}" TRUE)
    # A stable header name for the SDK, whatever the world.
    set(shim "${gen}/torvyn_bindings.h")
    file(MAKE_DIRECTORY "${gen}")
    file(CONFIGURE OUTPUT "${shim}" CONTENT
"/* Generated by torvyn_add_component: maps the SDK's names to the bindings of @world@. */
#pragma once
#include \"@wname@.h\"
typedef @wname@_string_t torvyn_string_t;
typedef @wname@_list_u8_t torvyn_list_u8_t;
#define torvyn_string_set @wname@_string_set
#define torvyn_string_dup @wname@_string_dup
#define torvyn_string_dup_n @wname@_string_dup_n
#define torvyn_string_free @wname@_string_free
#define torvyn_list_u8_free @wname@_list_u8_free
#define torvyn_list_string_t @wname@_list_string_t
#define torvyn_list_string_free @wname@_list_string_free
" @ONLY)
    add_custom_command(
      OUTPUT "${gen}/${wname}.c" "${gen}/${wname}.h" "${gen}/${wname}_component_type.o"
      COMMAND ${TORVYN_WIT_BINDGEN} c --world "torvyn:streaming/${world}" --out-dir "${gen}" "${wit_dir}"
      DEPENDS ${wit_files}
      COMMENT "wit-bindgen c ${world}"
      VERBATIM)
    set(objs "${gen}/${wname}_component_type.o")
    _torvyn_wasm_compile("${gen}/${wname}.c" "${gen}/${wname}.o" objs
      INCLUDES ${includes} DEFINES ${defines} DEPENDS "${gen}/${wname}.h")
    _torvyn_wasm_compile("${TORVYN_SDK_DIR}/c/src/guest.c" "${gen}/guest.o" objs
      INCLUDES ${includes} DEFINES ${defines} DEPENDS "${gen}/${wname}.h")
    set_property(GLOBAL PROPERTY "${key}_objs" ${objs})
  endif()
  get_property(objs GLOBAL PROPERTY "${key}_objs")
  set(${out_objs} ${objs} PARENT_SCOPE)
  set(${out_includes} ${includes} PARENT_SCOPE)
  set(_torvyn_defines ${defines} PARENT_SCOPE)
endfunction()

# The console (stdout/stderr) bindings, shared by every component.
function(_torvyn_console_objects out_objs)
  set(gen "${CMAKE_BINARY_DIR}/torvyn-sdk/console-io")
  get_property(done GLOBAL PROPERTY _torvyn_console_done)
  if(NOT done)
    set_property(GLOBAL PROPERTY _torvyn_console_done TRUE)
    file(GLOB_RECURSE sdk_wit CONFIGURE_DEPENDS "${TORVYN_SDK_DIR}/wit/*.wit")
    add_custom_command(
      OUTPUT "${gen}/console_io.c" "${gen}/console_io.h" "${gen}/console_io_component_type.o"
      COMMAND ${TORVYN_WIT_BINDGEN} c --world "torvyn:sdk/console-io" --out-dir "${gen}" "${TORVYN_SDK_DIR}/wit"
      DEPENDS ${sdk_wit}
      COMMENT "wit-bindgen c console-io"
      VERBATIM)
    set(objs "${gen}/console_io_component_type.o")
    _torvyn_wasm_compile("${gen}/console_io.c" "${gen}/console_io.o" objs
      INCLUDES "${gen}" DEPENDS "${gen}/console_io.h")
    _torvyn_wasm_compile("${TORVYN_SDK_DIR}/c/src/console.c" "${gen}/console.o" objs
      INCLUDES "${gen}" DEPENDS "${gen}/console_io.h")
    # An archive, so a component links the console bindings only when it
    # calls them (and never clashes with WASI bindings of its own).
    set(lib "${gen}/libtorvyn-console.a")
    add_custom_command(
      OUTPUT "${lib}"
      COMMAND ${CMAKE_COMMAND} -E rm -f "${lib}"
      COMMAND ${TORVYN_LLVM_AR} rcs "${lib}" ${objs}
      DEPENDS ${objs}
      COMMENT "archive console-io"
      VERBATIM)
    set_property(GLOBAL PROPERTY _torvyn_console_objs "${lib}")
  endif()
  get_property(objs GLOBAL PROPERTY _torvyn_console_objs)
  set(${out_objs} ${objs} PARENT_SCOPE)
endfunction()

# torvyn_add_component(... [WIT <dir> WORLD <world>]) also links the bindings
# of another world (e.g. WASI interfaces the component calls directly);
# [INCLUDES <dirs>...] adds directories of third-party headers (as system
# headers; for header-only libraries point at a directory holding only them,
# never at the host's /usr/include).
# The target that builds component file `out` (in `all` unless `exclude`).
function(_torvyn_component_target name out exclude)
  if(exclude)
    add_custom_target(${name} DEPENDS "${out}")
  else()
    add_custom_target(${name} ALL DEPENDS "${out}")
  endif()
endfunction()

# Stops the configure when `role` names no world data-<role> in `wit_dir`.
function(_torvyn_check_role fn wit_dir role)
  _torvyn_world_text("${wit_dir}" "data-${role}" world_text)
  if(NOT role MATCHES "^[a-z][a-z-]*$" OR world_text STREQUAL "")
    message(FATAL_ERROR "${fn}: unknown ROLE '${role}': wit/worlds.wit has no world data-${role}")
  endif()
endfunction()

function(torvyn_add_component name)
  cmake_parse_arguments(ARG "EXCLUDE_FROM_ALL" "ROLE;OUTPUT_DIR;WIT;WORLD;CONTRACT" "SOURCES;INCLUDES"
    ${ARGN})
  if(NOT ARG_CONTRACT)
    set(ARG_CONTRACT "${TORVYN_CONTRACT}")
  endif()
  _torvyn_contract_dir("${ARG_CONTRACT}" contract_dir)
  if(contract_dir STREQUAL "")
    message(FATAL_ERROR "torvyn_add_component(${name}): unknown CONTRACT '${ARG_CONTRACT}': neither wit/ (${TORVYN_CONTRACT}) nor wit/v${ARG_CONTRACT}/")
  endif()
  if(NOT ARG_ROLE)
    message(FATAL_ERROR "torvyn_add_component(${name}): ROLE is required (a world data-ROLE of wit/worlds.wit: source, processor, sink ...)")
  endif()
  _torvyn_check_role("torvyn_add_component(${name})" "${contract_dir}" "${ARG_ROLE}")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "torvyn_add_component(${name}): SOURCES is required")
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR "${CMAKE_BINARY_DIR}/components")
  endif()
  set(world "data-${ARG_ROLE}")
  foreach(src IN LISTS ARG_SOURCES)
    get_filename_component(ext "${src}" LAST_EXT)
    if(NOT ext STREQUAL ".c")
      _torvyn_world_text("${contract_dir}" "data-${ARG_ROLE}-batched" batched_text)
      if(NOT batched_text STREQUAL "")
        set(world "data-${ARG_ROLE}-batched")
      endif()
    endif()
  endforeach()

  _torvyn_world_objects(${ARG_CONTRACT} ${ARG_ROLE} ${world} world_objs includes)
  _torvyn_console_objects(console_objs)

  set(objdir "${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm-objs")
  set(objs)
  set(extra_deps)
  if(ARG_WIT)
    get_filename_component(wit_dir "${ARG_WIT}" ABSOLUTE)
    string(REGEX REPLACE "^.*/" "" wshort "${ARG_WORLD}")
    string(REPLACE "-" "_" wfile "${wshort}")
    set(wgen "${objdir}/wit-${wshort}")
    file(MAKE_DIRECTORY "${wgen}")
    file(GLOB_RECURSE extra_wit CONFIGURE_DEPENDS "${wit_dir}/*.wit")
    add_custom_command(
      OUTPUT "${wgen}/${wfile}.c" "${wgen}/${wfile}.h" "${wgen}/${wfile}_component_type.o"
      COMMAND ${TORVYN_WIT_BINDGEN} c --world "${ARG_WORLD}" --out-dir "${wgen}" "${wit_dir}"
      DEPENDS ${extra_wit}
      COMMENT "wit-bindgen c ${ARG_WORLD}"
      VERBATIM)
    list(APPEND objs "${wgen}/${wfile}_component_type.o")
    _torvyn_wasm_compile("${wgen}/${wfile}.c" "${wgen}/${wfile}.o" objs
      INCLUDES "${wgen}" DEPENDS "${wgen}/${wfile}.h")
    list(APPEND includes "${wgen}")
    set(extra_deps "${wgen}/${wfile}.h")
  endif()
  set(has_cxx FALSE)
  foreach(src IN LISTS ARG_SOURCES)
    get_filename_component(abs "${src}" ABSOLUTE)
    get_filename_component(base "${src}" NAME)
    get_filename_component(ext "${src}" LAST_EXT)
    if(NOT ext STREQUAL ".c")
      set(has_cxx TRUE)
    endif()
    _torvyn_wasm_compile("${abs}" "${objdir}/${base}.o" objs
      INCLUDES ${includes} SYSTEM_INCLUDES ${ARG_INCLUDES} DEFINES ${_torvyn_defines} DEPENDS ${world_objs} ${extra_deps})
  endforeach()

  if(has_cxx)
    set(linker ${TORVYN_WASM_CXX})
    set(language C_plus_plus_20)
  else()
    set(linker ${TORVYN_WASM_CC})
    set(language C11)
  endif()
  set(out "${ARG_OUTPUT_DIR}/${name}.wasm")
  # The producers section says the component's language (the host shows it
  # in `torvyn link` and the run summary); --strip-all drops the compiler's.
  set(mark_language)
  if(TORVYN_WASM_TOOLS)
    set(mark_language COMMAND ${TORVYN_WASM_TOOLS} metadata add --language ${language}= "${out}" -o "${out}")
  endif()
  # wasm-component-ld links the core module (wasm-ld), then wraps it as a
  # component from the embedded component-type sections. No -O at link time:
  # clang would run wasm-opt, which cannot read components.
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${ARG_OUTPUT_DIR}"
    COMMAND ${linker} --target=wasm32-wasi -mexec-model=reactor
            -fuse-ld=${TORVYN_WASM_COMPONENT_LD} -Wl,--strip-all
            ${objs} ${world_objs} ${console_objs} -o "${out}"
    ${mark_language}
    DEPENDS ${objs} ${world_objs} ${console_objs}
    COMMENT "component ${name}.wasm (${ARG_ROLE})"
    VERBATIM)
  _torvyn_component_target(${name} "${out}" ${ARG_EXCLUDE_FROM_ALL})
  set_target_properties(${name} PROPERTIES TORVYN_COMPONENT_FILE "${out}" TORVYN_ROLE "${ARG_ROLE}")
endfunction()

# torvyn_add_rust_component(<name> CRATE <dir> [OUTPUT_DIR <dir>] [EXCLUDE_FROM_ALL])
#
# Builds the Rust crate in <dir> (a cdylib using the `torvyn` crate of
# sdk/rust, with the feature of its role) for wasm32-unknown-unknown and
# makes it a component: <OUTPUT_DIR or ${CMAKE_BINARY_DIR}/components>/<name>.wasm.
# Without WASI, the component imports only the torvyn interfaces of its
# role. The crate's Cargo.lock, when there is one, pins its dependencies
# (cargo --locked).
find_program(TORVYN_CARGO cargo HINTS "$ENV{HOME}/.cargo/bin")
function(torvyn_add_rust_component name)
  cmake_parse_arguments(ARG "EXCLUDE_FROM_ALL" "CRATE;OUTPUT_DIR" "" ${ARGN})
  if(NOT ARG_CRATE)
    message(FATAL_ERROR "torvyn_add_rust_component(${name}): CRATE is required (the crate's folder)")
  endif()
  if(NOT TORVYN_CARGO OR NOT TORVYN_WASM_TOOLS)
    message(FATAL_ERROR "torvyn_add_rust_component(${name}): needs cargo and wasm-tools (scripts/setup.sh installs them)")
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR "${CMAKE_BINARY_DIR}/components")
  endif()
  get_filename_component(crate "${ARG_CRATE}" ABSOLUTE)
  file(STRINGS "${crate}/Cargo.toml" crate_name REGEX "^name *= *\"")
  string(REGEX REPLACE "^name *= *\"([^\"]+)\".*$" "\\1" crate_name "${crate_name}")
  string(REPLACE "-" "_" core_name "${crate_name}")
  # CARGO_TARGET_DIR, when set, shares one target folder between projects.
  if(DEFINED ENV{CARGO_TARGET_DIR})
    set(target_dir "$ENV{CARGO_TARGET_DIR}")
  else()
    set(target_dir "${CMAKE_BINARY_DIR}/rust-components")
  endif()
  # A crate with a Cargo.lock builds exactly it (commit it); a new one
  # (torvyn init) gets one from its first build.
  set(locked)
  set(lock_file)
  if(EXISTS "${crate}/Cargo.lock")
    set(locked --locked)
    set(lock_file "${crate}/Cargo.lock")
  endif()
  set(core "${target_dir}/wasm32-unknown-unknown/release/${core_name}.wasm")
  set(out "${ARG_OUTPUT_DIR}/${name}.wasm")
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${crate}/src/*.rs" "${TORVYN_SDK_DIR}/rust/src/*.rs")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E env CARGO_TARGET_DIR=${target_dir}
            ${TORVYN_CARGO} build --quiet --release ${locked} --target wasm32-unknown-unknown
            --manifest-path "${crate}/Cargo.toml"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${ARG_OUTPUT_DIR}"
    COMMAND ${TORVYN_WASM_TOOLS} component new "${core}" -o "${out}"
    DEPENDS ${sources} "${crate}/Cargo.toml" ${lock_file} "${TORVYN_SDK_DIR}/rust/Cargo.toml"
    COMMENT "component ${name}.wasm (Rust)"
    VERBATIM)
  _torvyn_component_target(${name} "${out}" ${ARG_EXCLUDE_FROM_ALL})
endfunction()

include("${CMAKE_CURRENT_LIST_DIR}/TorvynLanguages.cmake")
