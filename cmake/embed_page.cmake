# cmake -DIN=page.html -DOUT=page.cpp -P embed_page.cmake
# Writes torvyn::live_page_html() returning the page as a raw string literal.
file(READ "${IN}" page)
set(delimiter "TORVYN_PAGE")
string(FIND "${page}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains )${delimiter}\" and cannot be embedded as it is")
endif()
file(WRITE "${OUT}.tmp" "// Generated from ${IN} by cmake/embed_page.cmake: edit the HTML file.
#include <string_view>

#include \"torvyn/observability/live_server.hpp\"

namespace torvyn {

std::string_view live_page_html() {
    return R\"${delimiter}(${page})${delimiter}\";
}

}  // namespace torvyn
")
file(RENAME "${OUT}.tmp" "${OUT}")
