// W3C trace context (https://www.w3.org/TR/trace-context/) as elements carry
// it: a 128-bit trace id, the span that made the element, and whether the
// element is sampled (traced). Span ids of a node's visit are derived, not
// stored, so an element that nobody traces costs three words and no work.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace torvyn {

struct TraceContext {
    std::uint64_t trace_hi = 0;  // the trace id's first 8 bytes (big-endian)
    std::uint64_t trace_lo = 0;  // ... and its last 8
    std::uint64_t parent = 0;    // the span that produced the element; 0: none (a root)
    bool sampled = false;        // traced: its visits become spans

    [[nodiscard]] bool valid() const { return trace_hi != 0 || trace_lo != 0; }
};

// A 64-bit mixer (splitmix64's finaliser): turns counters into ids that look
// random and are unique for distinct inputs.
constexpr std::uint64_t mix64(std::uint64_t x) {
    x ^= x >> 30U;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27U;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31U;
    return x;
}

// The span of node `node`'s visit of an element with context `t`, arrived
// on edge `edge`: one per visit, the same across retries; never 0.
constexpr std::uint64_t visit_span(const TraceContext& t, std::uint32_t node, std::uint32_t edge) {
    const std::uint64_t where = (std::uint64_t{node} << 32U) | edge;
    const std::uint64_t id = mix64(t.trace_lo ^ mix64(t.parent ^ mix64(where + t.trace_hi)));
    return id == 0 ? 1 : id;
}

// "00-<trace id>-<parent id>-<flags>", or nothing when it is malformed (the
// W3C rules: lowercase hex, no all-zero ids, version ff is invalid; a higher
// version's extra fields are ignored).
std::optional<TraceContext> parse_traceparent(std::string_view header);
std::string format_traceparent(const TraceContext& t);
// 32 and 16 lowercase hex digits.
std::string trace_id_hex(const TraceContext& t);
std::string span_id_hex(std::uint64_t span);

}  // namespace torvyn
