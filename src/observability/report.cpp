#include "torvyn/observability/report.hpp"

#include <fmt/format.h>

namespace torvyn {
namespace {

std::string duration(std::chrono::nanoseconds ns) {
    const double v = static_cast<double>(ns.count());
    if (v < 1e3) {
        return fmt::format("{:.0f} ns", v);
    }
    if (v < 1e6) {
        return fmt::format("{:.1f} us", v / 1e3);
    }
    if (v < 1e9) {
        return fmt::format("{:.2f} ms", v / 1e6);
    }
    return fmt::format("{:.2f} s", v / 1e9);
}

std::string bytes(std::uint64_t b) {
    if (b < 1024) {
        return fmt::format("{} B", b);
    }
    if (b < (1u << 20)) {
        return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024.0);
    }
    return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1024.0 * 1024.0));
}

nlohmann::json ledger_json(const CopyLedger& l) {
    nlohmann::json j;
    j["copies"] = l.total().copies;
    j["bytes"] = l.total().bytes;
    j["host_to_component"] = {{"copies", l.of(CopyReason::host_to_guest).copies},
                              {"bytes", l.of(CopyReason::host_to_guest).bytes}};
    j["component_to_host"] = {{"copies", l.of(CopyReason::guest_to_host).copies},
                              {"bytes", l.of(CopyReason::guest_to_host).bytes}};
    j["host_resize"] = {{"copies", l.of(CopyReason::host_resize).copies},
                        {"bytes", l.of(CopyReason::host_resize).bytes}};
    return j;
}

}  // namespace

std::string format_summary(const FlowReport& r) {
    std::string out;
    out += fmt::format("flow '{}': {}, {} elements in {} ({:.0f} elements/s), start-up {}\n",
                       r.name, r.ok() ? "completed" : "FAILED", r.emitted, duration(r.wall),
                       r.elements_per_second(), duration(r.startup));
    out += fmt::format("  {:<14} {:<10} {:>8} {:>8} {:>8} {:>6} {:>11} {:>7} {:>10}\n", "node",
                       "role", "in", "out", "filtered", "errors", "time", "copies", "copied");
    for (const auto& n : r.nodes) {
        out +=
            fmt::format("  {:<14} {:<10} {:>8} {:>8} {:>8} {:>6} {:>11} {:>7} {:>10}\n", n.name,
                        role_name(n.role), n.elements_in, n.elements_out, n.filtered, n.errors,
                        duration(n.busy), n.copies.total().copies, bytes(n.copies.total().bytes));
    }
    const auto total = r.copies.total();
    out += fmt::format(
        "  payload copies: {} ({}), {:.2f} per element; peak buffer memory {}\n", total.copies,
        bytes(total.bytes),
        r.emitted ? static_cast<double>(total.copies) / static_cast<double>(r.emitted) : 0.0,
        bytes(r.buffers.peak_bytes_held));
    out += fmt::format("  accounting: {} emitted{} = {} delivered + {} filtered + {} failed: {}\n",
                       r.emitted, r.branches ? fmt::format(" + {} fan-out", r.branches) : "",
                       r.delivered, r.filtered, r.failed,
                       r.accounting_balanced() ? "balanced" : "UNBALANCED");
    return out;
}

nlohmann::json report_to_json(const FlowReport& r) {
    nlohmann::json j;
    j["flow"] = r.name;
    j["ok"] = r.ok();
    if (r.error) {
        j["error"] = {{"code", error_code_name(r.error->code)},
                      {"message", r.error->message},
                      {"where", r.error->where}};
    }
    j["elements"] = {{"emitted", r.emitted},     {"branches", r.branches},
                     {"delivered", r.delivered}, {"filtered", r.filtered},
                     {"failed", r.failed},       {"balanced", r.accounting_balanced()}};
    j["wall_ns"] = r.wall.count();
    j["startup_ns"] = r.startup.count();
    j["elements_per_second"] = r.elements_per_second();
    j["copies"] = ledger_json(r.copies);
    j["buffers"] = {{"allocations", r.buffers.allocations},
                    {"pool_reuses", r.buffers.pool_reuses},
                    {"live", r.buffers.live_buffers},
                    {"peak_bytes_held", r.buffers.peak_bytes_held}};
    auto& nodes = j["nodes"] = nlohmann::json::array();
    for (const auto& n : r.nodes) {
        nodes.push_back({{"name", n.name},
                         {"role", role_name(n.role)},
                         {"in", n.elements_in},
                         {"out", n.elements_out},
                         {"filtered", n.filtered},
                         {"errors", n.errors},
                         {"calls", n.calls},
                         {"busy_ns", n.busy.count()},
                         {"compile_cache_hit", n.cache_hit},
                         {"copies", ledger_json(n.copies)}});
    }
    return j;
}

}  // namespace torvyn
