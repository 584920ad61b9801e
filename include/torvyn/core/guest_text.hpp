// Text that came from a guest (error messages, trap messages, port names,
// names from a component) made safe to show an operator: it cannot move the
// cursor, clear the screen, change colours, reorder text or start a line
// that looks like Torvyn's own.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace torvyn {

// Escapes everything a terminal would act on: C0 controls and DEL ("\n",
// "\t", "\r", "\x1b" ...), C1 controls and Unicode line, paragraph and
// bidirectional controls ("\u{202e}"), and bytes that are not UTF-8
// ("\xff"). Printable text, including non-ASCII letters, is kept; with
// `keep_line_breaks`, so are '\n' and '\t' (for a guest's own output).
std::string escape_guest_text(std::string_view raw, bool keep_line_breaks = false);

// escape_guest_text of at most `max_bytes` of `raw` (cut on a character
// boundary); when cut, notes the original length.
std::string guest_text(std::string_view raw, std::size_t max_bytes);

}  // namespace torvyn
