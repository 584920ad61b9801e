#include "torvyn/core/guest_text.hpp"

#include <cstdint>

#include <fmt/format.h>

namespace torvyn {
namespace {

// Length of the UTF-8 sequence starting at `s[i]` and its code point, or 0
// when the bytes there are not well-formed UTF-8.
std::size_t decode(std::string_view s, std::size_t i, char32_t* cp) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char c = b(0);
    std::size_t n = 0;
    char32_t v = 0;
    char32_t min = 0;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        v = c & 0x1F;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        v = c & 0x0F;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (i + n > s.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < n; ++k) {
        if ((b(k) & 0xC0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (b(k) & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        return 0;  // overlong, out of range or a surrogate
    }
    *cp = v;
    return n;
}

// Code points a terminal acts on although they are not C0 controls.
bool is_active(char32_t cp) {
    return (cp >= 0x80 && cp <= 0x9F) ||      // C1 controls (CSI is 0x9B)
           cp == 0x2028 || cp == 0x2029 ||    // line and paragraph separators
           (cp >= 0x200E && cp <= 0x200F) ||  // directional marks
           (cp >= 0x202A && cp <= 0x202E) ||  // bidirectional embeddings and overrides
           (cp >= 0x2066 && cp <= 0x2069);    // bidirectional isolates
}

void escape_into(std::string& out, std::string_view raw, bool keep_line_breaks) {
    for (std::size_t i = 0; i < raw.size();) {
        const char c = raw[i];
        char32_t cp = 0;
        const std::size_t n = decode(raw, i, &cp);
        if (n == 0) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
            ++i;
            continue;
        }
        if (n == 1 && keep_line_breaks && (c == '\n' || c == '\t')) {
            out += c;
        } else if (n == 1) {
            switch (c) {
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                default:
                    if (cp < 0x20 || cp == 0x7F) {
                        out += fmt::format("\\x{:02x}", static_cast<unsigned>(cp));
                    } else {
                        out += c;
                    }
            }
        } else if (is_active(cp)) {
            out += fmt::format("\\u{{{:04x}}}", static_cast<std::uint32_t>(cp));
        } else {
            out.append(raw.substr(i, n));
        }
        i += n;
    }
}

}  // namespace

std::string escape_guest_text(std::string_view raw, bool keep_line_breaks) {
    std::string out;
    out.reserve(raw.size());
    escape_into(out, raw, keep_line_breaks);
    return out;
}

std::string guest_text(std::string_view raw, std::size_t max_bytes) {
    if (raw.size() <= max_bytes) {
        return escape_guest_text(raw);
    }
    // Back up to the start of a UTF-8 sequence so the cut splits no character.
    std::size_t end = max_bytes;
    while (end > 0 && (static_cast<unsigned char>(raw[end]) & 0xC0) == 0x80) {
        --end;
    }
    std::string out = escape_guest_text(raw.substr(0, end));
    out += fmt::format("... (cut; {} bytes in all)", raw.size());
    return out;
}

}  // namespace torvyn
