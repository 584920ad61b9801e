# Components in Python, JavaScript and Go. Each toolchain packages a
# language runtime (sizes: docs/benchmarks.md, "Languages"),
# and each is built to import no WASI at all, so it links deny-all like any
# component: componentize-py --stub-wasi turns the runtime's WASI imports
# into traps, componentize-js -d leaves out the features that import WASI,
# and Go's wasip1 calls are answered inside the component by sdk/go's own
# adapter (sdk/go/wasi/deny.wat: no files, no sockets, virtual clocks).
#
# torvyn_add_python_component(<name> ROLE <role> MODULE <module>
#                             SOURCES <files>... [OUTPUT_DIR <dir>] [EXCLUDE_FROM_ALL])
#   <module> is the Python module (in the folder of the first source) that
#   exports its class with the role's decorator of sdk/python (torvyn).
#
# torvyn_add_js_component(<name> ROLE <role> ENTRY <file.js>
#                         [SOURCES <files>...] [OUTPUT_DIR <dir>] [EXCLUDE_FROM_ALL])
#   <file.js> exports the role's interface and `lifecycle` (sdk/js: `torvyn`);
#   rolldown bundles it with the SDK first (componentize-js reads one module).
#   SOURCES are the other modules it imports, from the same folder.
#
# torvyn_add_go_component(<name> ROLE <role> PACKAGE <dir> [OUTPUT_DIR <dir>] [EXCLUDE_FROM_ALL])
#   <dir> is one Go package importing torvyn.dev/sdk/torvyn that calls
#   torvyn.Export<Role> in an init function (sdk/go/build.sh builds it).

include_guard(GLOBAL)

set(_torvyn_lang_hint "scripts/setup.sh installs it (make setup)")
find_program(TORVYN_COMPONENTIZE_PY componentize-py HINTS "$ENV{TORVYN_TOOLS_DIR}/py/bin"
  "$ENV{HOME}/.cache/torvyn/tools/py/bin" NO_DEFAULT_PATH)
set(_torvyn_js_bin "$ENV{TORVYN_TOOLS_DIR}/js/node_modules/.bin" "$ENV{HOME}/.cache/torvyn/tools/js/node_modules/.bin")
find_program(TORVYN_COMPONENTIZE_JS componentize-js HINTS ${_torvyn_js_bin} NO_DEFAULT_PATH)
find_program(TORVYN_ROLLDOWN rolldown HINTS ${_torvyn_js_bin} NO_DEFAULT_PATH)
find_program(TORVYN_GO go HINTS /usr/local/go/bin)

# What every language's function does first: check ROLE, default
# ARG_OUTPUT_DIR, and list the contract's WIT files (the build depends on them).
macro(_torvyn_language_common fn)
  _torvyn_check_role("${fn}" "${TORVYN_WIT_DIR}" "${ARG_ROLE}")
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR "${CMAKE_BINARY_DIR}/components")
  endif()
  file(GLOB wit CONFIGURE_DEPENDS "${TORVYN_WIT_DIR}/*.wit")
endmacro()

function(torvyn_add_python_component name)
  cmake_parse_arguments(ARG "EXCLUDE_FROM_ALL" "ROLE;MODULE;OUTPUT_DIR" "SOURCES" ${ARGN})
  set(fn "torvyn_add_python_component(${name})")
  if(NOT TORVYN_COMPONENTIZE_PY)
    message(FATAL_ERROR "${fn}: componentize-py not found: ${_torvyn_lang_hint}")
  endif()
  if(NOT ARG_MODULE OR NOT ARG_SOURCES)
    message(FATAL_ERROR "${fn}: MODULE and SOURCES are required")
  endif()
  _torvyn_language_common("${fn}")
  list(GET ARG_SOURCES 0 first)
  get_filename_component(src_dir "${first}" ABSOLUTE)
  get_filename_component(src_dir "${src_dir}" DIRECTORY)
  file(GLOB sdk CONFIGURE_DEPENDS "${TORVYN_SDK_DIR}/python/torvyn/*.py" "${TORVYN_SDK_DIR}/python/torvyn/roles/*.py")
  set(out "${ARG_OUTPUT_DIR}/${name}.wasm")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${ARG_OUTPUT_DIR}"
    COMMAND ${TORVYN_COMPONENTIZE_PY} --wit-path "${TORVYN_WIT_DIR}" --world "data-${ARG_ROLE}"
            componentize --stub-wasi --python-path "${TORVYN_SDK_DIR}/python" --python-path "${src_dir}"
            "${ARG_MODULE}" --output "${out}" > /dev/null
    DEPENDS ${ARG_SOURCES} ${sdk} ${wit}
    COMMENT "component ${name}.wasm (Python)"
    VERBATIM)
  _torvyn_component_target(${name} "${out}" ${ARG_EXCLUDE_FROM_ALL})
endfunction()

function(torvyn_add_js_component name)
  cmake_parse_arguments(ARG "EXCLUDE_FROM_ALL" "ROLE;ENTRY;OUTPUT_DIR" "SOURCES" ${ARGN})
  set(fn "torvyn_add_js_component(${name})")
  if(NOT TORVYN_COMPONENTIZE_JS OR NOT TORVYN_ROLLDOWN)
    message(FATAL_ERROR "${fn}: componentize-js or rolldown not found: ${_torvyn_lang_hint}")
  endif()
  if(NOT ARG_ENTRY)
    message(FATAL_ERROR "${fn}: ENTRY is required (the module that exports the role)")
  endif()
  _torvyn_language_common("${fn}")
  get_filename_component(entry "${ARG_ENTRY}" ABSOLUTE)
  file(GLOB sdk CONFIGURE_DEPENDS "${TORVYN_SDK_DIR}/js/src/*.js" "${TORVYN_SDK_DIR}/js/package.json")
  # The sources are copied into a work folder whose node_modules holds the
  # SDK as the package `torvyn`; the host interfaces stay imports.
  set(work "${CMAKE_CURRENT_BINARY_DIR}/${name}.js-build")
  set(out "${ARG_OUTPUT_DIR}/${name}.wasm")
  get_filename_component(entry_name "${entry}" NAME)
  set(copies)
  foreach(src IN LISTS ARG_SOURCES)
    get_filename_component(abs "${src}" ABSOLUTE)
    list(APPEND copies COMMAND ${CMAKE_COMMAND} -E copy "${abs}" "${work}/src/")
  endforeach()
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${work}/node_modules" "${work}/src" "${ARG_OUTPUT_DIR}"
    COMMAND ${CMAKE_COMMAND} -E create_symlink "${TORVYN_SDK_DIR}/js" "${work}/node_modules/torvyn"
    COMMAND ${CMAKE_COMMAND} -E copy "${entry}" "${work}/src/"
    ${copies}
    COMMAND ${CMAKE_COMMAND} -E chdir "${work}" ${TORVYN_ROLLDOWN} "src/${entry_name}" --file bundle.js
            --format esm --platform neutral --log-level warn
            --external "torvyn:streaming/types@${TORVYN_CONTRACT},torvyn:streaming/buffer-allocator@${TORVYN_CONTRACT}"
    COMMAND ${TORVYN_COMPONENTIZE_JS} "${work}/bundle.js" --wit "${TORVYN_WIT_DIR}"
            --world-name "data-${ARG_ROLE}" --disable stdio random clocks http fetch-event
            --out "${out}" > /dev/null
    DEPENDS "${entry}" ${ARG_SOURCES} ${sdk} ${wit}
    COMMENT "component ${name}.wasm (JavaScript)"
    VERBATIM)
  _torvyn_component_target(${name} "${out}" ${ARG_EXCLUDE_FROM_ALL})
endfunction()

function(torvyn_add_go_component name)
  cmake_parse_arguments(ARG "EXCLUDE_FROM_ALL" "ROLE;PACKAGE;OUTPUT_DIR" "" ${ARGN})
  set(fn "torvyn_add_go_component(${name})")
  if(NOT TORVYN_GO)
    message(FATAL_ERROR "${fn}: go not found: install Go 1.25+ (or put it on PATH), then make setup")
  endif()
  if(NOT ARG_PACKAGE)
    message(FATAL_ERROR "${fn}: PACKAGE is required (the Go package's folder)")
  endif()
  _torvyn_language_common("${fn}")
  get_filename_component(pkg "${ARG_PACKAGE}" ABSOLUTE)
  file(GLOB sources CONFIGURE_DEPENDS "${pkg}/*.go" "${TORVYN_SDK_DIR}/go/torvyn/*.go"
    "${TORVYN_SDK_DIR}/go/_glue/*.go" "${TORVYN_SDK_DIR}/go/wasi/deny.wat")
  set(out "${ARG_OUTPUT_DIR}/${name}.wasm")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E env GO=${TORVYN_GO} TORVYN_WIT=${TORVYN_WIT_DIR}
            bash "${TORVYN_SDK_DIR}/go/build.sh" ${ARG_ROLE} "${pkg}" "${out}"
    DEPENDS ${sources} ${wit} "${TORVYN_SDK_DIR}/go/build.sh"
    COMMENT "component ${name}.wasm (Go)"
    VERBATIM)
  _torvyn_component_target(${name} "${out}" ${ARG_EXCLUDE_FROM_ALL})
endfunction()
