// Benchmark reports for `torvyn bench`: throughput, end-to-end latency
// percentiles, per-node cost, copies, queues and memory, as a table, JSON or
// a self-contained HTML page, and comparison against an earlier JSON report.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "torvyn/reactor/flow.hpp"

namespace torvyn {

// One flow's measurements. `rss_bytes`: peak resident memory of the process.
nlohmann::json bench_to_json(const FlowReport& report, std::uint64_t rss_bytes);
std::string format_bench(const nlohmann::json& bench);
std::string bench_html(const std::vector<FlowReport>& reports, const nlohmann::json& benches);

struct BenchDelta {
    std::string flow;
    std::string metric;  // "elements_per_second", "latency_p50_ns", ...
    double before = 0;
    double after = 0;
    double change_pct = 0;  // positive = worse
    bool regression = false;
};

// Compares `now` with `before` (arrays of bench_to_json objects, matched by
// flow name). A metric regresses when it is worse by more than `threshold_pct`.
std::vector<BenchDelta> compare_bench(const nlohmann::json& before, const nlohmann::json& now,
                                      double threshold_pct);
std::string format_deltas(const std::vector<BenchDelta>& deltas);

}  // namespace torvyn
