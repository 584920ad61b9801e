// The live flows as Prometheus metrics: families built at scrape time from
// LiveRegistry snapshots (docs/observe.md lists every one), serialised by
// prometheus-cpp in the text exposition format.
#pragma once

#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "torvyn/observability/live.hpp"

namespace torvyn {

// The families of `flows`: torvyn_flow_*, torvyn_node_*, torvyn_edge_*.
std::vector<prometheus::MetricFamily> metric_families(const std::vector<FlowSnapshot>& flows);

// A registry's flows as a prometheus-cpp Collectable (e.g. for an Exposer
// or a push gateway of one's own).
class LiveCollector final : public prometheus::Collectable {
public:
    explicit LiveCollector(const LiveRegistry& registry) : registry_(registry) {}
    [[nodiscard]] std::vector<prometheus::MetricFamily> Collect() const override;

private:
    const LiveRegistry& registry_;
};

// What GET /metrics answers: the text exposition format (version 0.0.4).
std::string metrics_text(const LiveRegistry& registry);
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace torvyn
