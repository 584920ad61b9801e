#include "torvyn/core/trace_context.hpp"

#include <fmt/format.h>

namespace torvyn {
namespace {

// `hex` (lowercase only, as the W3C format requires) into `out`.
bool parse_hex(std::string_view hex, std::uint64_t& out) {
    out = 0;
    for (const char c : hex) {
        std::uint64_t digit = 0;
        if (c >= '0' && c <= '9') {
            digit = static_cast<std::uint64_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = static_cast<std::uint64_t>(c - 'a' + 10);
        } else {
            return false;
        }
        out = (out << 4U) | digit;
    }
    return true;
}

}  // namespace

std::optional<TraceContext> parse_traceparent(std::string_view header) {
    // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55.
    constexpr std::size_t kLength = 55;
    if (header.size() < kLength || header[2] != '-' || header[35] != '-' || header[52] != '-') {
        return std::nullopt;
    }
    std::uint64_t version = 0;
    std::uint64_t flags = 0;
    TraceContext t;
    if (!parse_hex(header.substr(0, 2), version) || version == 0xff ||
        !parse_hex(header.substr(3, 16), t.trace_hi) ||
        !parse_hex(header.substr(19, 16), t.trace_lo) ||
        !parse_hex(header.substr(36, 16), t.parent) || !parse_hex(header.substr(53, 2), flags)) {
        return std::nullopt;
    }
    // Version 00 is exactly this long; later versions may append "-...".
    if ((version == 0 && header.size() != kLength) ||
        (version != 0 && header.size() > kLength && header[kLength] != '-')) {
        return std::nullopt;
    }
    if (!t.valid() || t.parent == 0) {
        return std::nullopt;
    }
    t.sampled = (flags & 1U) != 0;
    return t;
}

std::string trace_id_hex(const TraceContext& t) {
    return fmt::format("{:016x}{:016x}", t.trace_hi, t.trace_lo);
}

std::string span_id_hex(std::uint64_t span) {
    return fmt::format("{:016x}", span);
}

std::string format_traceparent(const TraceContext& t) {
    return fmt::format("00-{:016x}{:016x}-{:016x}-{:02x}", t.trace_hi, t.trace_lo, t.parent,
                       t.sampled ? 1 : 0);
}

}  // namespace torvyn
