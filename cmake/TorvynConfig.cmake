# find_package(Torvyn): the SDK's CMake for a project of your own, from an
# installed Torvyn (make install) or from a checkout (-DTorvyn_DIR=<it>/cmake).
# Gives torvyn_add_component() (TorvynComponent.cmake) and TORVYN_EXECUTABLE.
include("${CMAKE_CURRENT_LIST_DIR}/TorvynComponent.cmake")
find_program(TORVYN_EXECUTABLE torvyn
  HINTS "${CMAKE_CURRENT_LIST_DIR}/../../../bin" "${CMAKE_CURRENT_LIST_DIR}/../build/bin")
set(Torvyn_FOUND TRUE)
