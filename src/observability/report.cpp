#include "torvyn/observability/report.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace torvyn {

std::string format_ns(double v) {
    if (v < 1e3) {
        return fmt::format("{:.0f} ns", v);
    }
    if (v < 1e6) {
        return fmt::format("{:.2f} us", v / 1e3);
    }
    if (v < 1e9) {
        return fmt::format("{:.2f} ms", v / 1e6);
    }
    return fmt::format("{:.2f} s", v / 1e9);
}

std::string format_bytes(std::uint64_t b) {
    if (b < 1024) {
        return fmt::format("{} B", b);
    }
    if (b < (1u << 20)) {
        return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024.0);
    }
    return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1024.0 * 1024.0));
}

namespace {

std::string duration(std::chrono::nanoseconds ns) {
    return format_ns(static_cast<double>(ns.count()));
}

std::string bytes(std::uint64_t b) {
    return format_bytes(b);
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

// "100 emitted + 4 derived = 4 delivered + ... + 100 aggregated"; the
// optional terms only when they are not zero.
std::string accounting_equation(const Accounting& a) {
    std::string started = fmt::format("{} emitted", a.emitted);
    if (a.derived != 0) {
        started += fmt::format(" + {} derived", a.derived);
    }
    if (a.branches != 0) {
        started += fmt::format(" + {} fan-out", a.branches);
    }
    std::string ended = fmt::format("{} delivered + {} filtered + {} dropped + {} failed",
                                    a.delivered, a.filtered, a.dropped, a.failed);
    if (a.dead_lettered != 0) {
        ended += fmt::format(" + {} dead-lettered", a.dead_lettered);
    }
    if (a.aggregated != 0) {
        ended += fmt::format(" + {} aggregated", a.aggregated);
    }
    return started + " = " + ended;
}

// "completed", "failed", ..., or "completed with failures" when a node
// stopped on the way.
std::string status(const FlowReport& r) {
    if (r.completed_with_failures() && r.stop == StopReason::completed) {
        return r.failures_allowed ? "completed with failures (allowed)" : "completed with failures";
    }
    return std::string(stop_reason_name(r.stop));
}

nlohmann::json counters_json(const NodeReport& n) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, value] : n.counters) {
        out[name] = value;
    }
    return out;
}

}  // namespace

std::string format_summary(const FlowReport& r) {
    std::string out;
    out += fmt::format("flow '{}': {}, {} elements in {} ({:.0f} elements/s), start-up {}{}\n",
                       r.name, status(r), r.emitted, duration(r.wall), r.elements_per_second(),
                       duration(r.startup),
                       r.threads > 1 ? fmt::format(", {} threads", r.threads) : "");
    // Columns as wide as the longest name, so long names keep the table aligned.
    std::size_t node_width = 14;
    for (const auto& n : r.nodes) {
        node_width = std::max(node_width, n.name.size());
    }
    std::size_t queue_width = 26;
    for (const auto& e : r.edges) {
        queue_width = std::max(queue_width, e.from.size() + e.to.size() + 4);
    }
    out += fmt::format("  {:<{}} {:<10} {:<10} {:>8} {:>8} {:>8} {:>6} {:>11} {:>7} {:>10}{}\n",
                       "node", node_width, "role", "lang", "in", "out", "filtered", "errors",
                       "time", "copies", "copied", r.threads > 1 ? "  thread" : "");
    for (const auto& n : r.nodes) {
        out += fmt::format(
            "  {:<{}} {:<10} {:<10} {:>8} {:>8} {:>8} {:>6} {:>11} {:>7} {:>10}{}{}\n", n.name,
            node_width, role_name(n.role), n.language.empty() ? "-" : n.language, n.elements_in,
            n.elements_out, n.filtered, n.errors, duration(n.busy), n.copies.total().copies,
            bytes(n.copies.total().bytes), r.threads > 1 ? fmt::format("  {:>6}", n.thread) : "",
            n.stopped ? "  (stopped)" : "");
    }
    out += fmt::format("  {:<{}} {:>8} {:>8} {:>8} {:>8} {:>12}\n", "queue", queue_width,
                       "capacity", "peak", "dropped", "pressure", "pressured");
    for (const auto& e : r.edges) {
        const std::string name = fmt::format("{} -> {}", e.from, e.to);
        out +=
            fmt::format("  {:<{}} {:>8} {:>8} {:>8} {:>8} {:>12}{}\n", name, queue_width,
                        e.capacity, e.peak, e.dropped, e.pressure_episodes, duration(e.pressured),
                        e.overflow == OverflowPolicy::block
                            ? ""
                            : fmt::format("  ({})", overflow_policy_name(e.overflow)));
    }
    const auto total = r.copies.total();
    out += fmt::format(
        "  payload copies: {} ({}), {:.2f} per element; peak buffer memory {}\n", total.copies,
        bytes(total.bytes),
        r.emitted ? static_cast<double>(total.copies) / static_cast<double>(r.emitted) : 0.0,
        bytes(r.buffers.peak_bytes_held));
    out += fmt::format("  accounting: {}: {}\n", accounting_equation(r),
                       r.accounting_balanced() ? "balanced" : "UNBALANCED");
    for (const auto& n : r.nodes) {
        // Sources that settle (connectors): what the outside world was told,
        // and the stage's own counters.
        std::vector<std::string> parts;
        if (n.acked + n.nacked != 0) {
            parts.push_back(fmt::format("acked {}, nacked {}", n.acked, n.nacked));
        }
        for (const auto& [name, value] : n.counters) {
            parts.push_back(fmt::format("{} {}", name, value));
        }
        if (!parts.empty()) {
            out += fmt::format("  '{}': {}\n", n.name, fmt::join(parts, ", "));
        }
    }
    for (const auto& n : r.nodes) {
        if (n.errors_by_code.empty()) {
            continue;
        }
        std::string kinds;
        for (const auto& [code, count] : n.errors_by_code) {
            kinds +=
                fmt::format("{}{} {}", kinds.empty() ? "" : ", ", count, error_code_name(code));
        }
        out += fmt::format("  errors in '{}': {}{}\n", n.name, kinds,
                           n.skipped != 0 ? fmt::format(" ({} elements skipped)", n.skipped) : "");
    }
    if (!r.failures.empty()) {
        const FailureRecord& first = r.failures.front();
        out += fmt::format("  first error: {}\n", first.error.message);
        out +=
            "  (every error: --report FILE lists the first and last "
            "10; -v prints each as it happens)\n";
    }
    for (const auto& e : r.node_errors) {
        out += fmt::format("  warning: {}\n", e.format());
    }
    return out;
}

std::string format_progress_at_exit(const std::string& flow, const FlowProgress& p) {
    return fmt::format(
        "flow '{}': stopped at once with a call still in progress\n"
        "  accounting: {} + {} in flight (lost at exit)\n",
        flow, accounting_equation(p), p.in_flight());
}

nlohmann::json error_json(const Error& e) {
    return {{"code", error_code_name(e.code)},
            {"message", e.message},
            {"where", e.where},
            {"hint", e.hint}};
}

namespace {

nlohmann::json errors_by_code_json(const NodeReport& n) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [code, count] : n.errors_by_code) {
        j[error_code_name(code)] = count;
    }
    return j;
}

}  // namespace

nlohmann::json report_to_json(const FlowReport& r) {
    nlohmann::json j;
    j["flow"] = r.name;
    j["ok"] = r.ok();
    j["stop"] = stop_reason_name(r.stop);
    j["status"] = status(r);
    if (r.error) {
        j["error"] = error_json(*r.error);
    }
    auto& ne = j["node_errors"] = nlohmann::json::array();
    for (const auto& e : r.node_errors) {
        ne.push_back(error_json(e));
    }
    auto& failures = j["failures"] = nlohmann::json::array();
    for (const auto& f : r.failures) {
        auto e = error_json(f.error);
        e["node"] = f.node;
        if (f.element) {
            e["element"] = *f.element;
        }
        failures.push_back(std::move(e));
    }
    j["failures_omitted"] = r.failures_omitted;
    j["elements"] = {{"emitted", r.emitted},       {"derived", r.derived},
                     {"branches", r.branches},     {"delivered", r.delivered},
                     {"filtered", r.filtered},     {"dropped", r.dropped},
                     {"failed", r.failed},         {"dead_lettered", r.dead_lettered},
                     {"aggregated", r.aggregated}, {"balanced", r.accounting_balanced()}};
    j["wall_ns"] = r.wall.count();
    j["startup_ns"] = r.startup.count();
    j["threads"] = r.threads;
    j["spreads"] = r.spreads;
    j["regroups"] = r.regroups;
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
                         {"language", n.language},
                         {"in", n.elements_in},
                         {"out", n.elements_out},
                         {"filtered", n.filtered},
                         {"errors", n.errors},
                         {"errors_by_code", errors_by_code_json(n)},
                         {"retries", n.retries},
                         {"skipped", n.skipped},
                         {"dead_lettered", n.dead_lettered},
                         {"pauses", n.pauses},
                         {"calls", n.calls},
                         {"busy_ns", n.busy.count()},
                         {"peak_buffer_bytes", n.peak_buffer_bytes},
                         {"stopped", n.stopped},
                         {"swaps", n.swaps},
                         {"acked", n.acked},
                         {"nacked", n.nacked},
                         {"counters", counters_json(n)},
                         {"compile_cache_hit", n.cache_hit},
                         {"thread", n.thread},
                         {"copies", ledger_json(n.copies)}});
    }
    auto& edges = j["queues"] = nlohmann::json::array();
    for (const auto& e : r.edges) {
        edges.push_back({{"from", e.from},
                         {"to", e.to},
                         {"capacity", e.capacity},
                         {"backpressure", overflow_policy_name(e.overflow)},
                         {"dead_letter", e.dead_letter},
                         {"pushed", e.pushed},
                         {"peak", e.peak},
                         {"dropped", e.dropped},
                         {"pressure_episodes", e.pressure_episodes},
                         {"pressured_ns", e.pressured.count()},
                         {"copies", ledger_json(e.copies)}});
    }
    return j;
}

}  // namespace torvyn
