// Prometheus naming: torvyn_ prefix, one unit per name (_seconds, _bytes),
// counters end in _total; a flow, node or edge is a label, so one family
// holds every flow's series. Help texts stay on one line: the serialiser
// does not escape line breaks.
#include "torvyn/observability/metrics.hpp"

#include <chrono>
#include <deque>
#include <limits>

#include <prometheus/text_serializer.h>

namespace torvyn {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

double as_double(std::uint64_t v) {
    return static_cast<double>(v);
}

// The families being built; a family's samples are added for each flow, node
// or edge (a deque: a family stays where it is while the next is added).
class Families {
public:
    MetricFamily& family(const char* name, const char* help, MetricType type) {
        out_.push_back(MetricFamily{name, help, type, {}});
        return out_.back();
    }
    // Those with samples (a family with none says nothing).
    std::vector<MetricFamily> take() {
        std::vector<MetricFamily> out;
        for (auto& f : out_) {
            if (!f.metric.empty()) {
                out.push_back(std::move(f));
            }
        }
        return out;
    }

private:
    std::deque<MetricFamily> out_;
};

void add(MetricFamily& f, Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    if (f.type == MetricType::Counter) {
        m.counter.value = value;
    } else {
        m.gauge.value = value;
    }
    f.metric.push_back(std::move(m));
}

Labels flow_labels(const FlowSnapshot& f) {
    return {{"flow", f.name}};
}
Labels node_labels(const FlowSnapshot& f, const NodeSnapshot& n) {
    return {{"flow", f.name}, {"node", n.name}};
}
Labels edge_labels(const FlowSnapshot& f, const EdgeSnapshot& e) {
    return {{"flow", f.name}, {"edge", e.name}};
}

// A value of each flow (F: FlowSnapshot -> double).
template <class F>
void per_flow(Families& out, const std::vector<FlowSnapshot>& flows, const char* name,
              const char* help, MetricType type, F value) {
    MetricFamily& fam = out.family(name, help, type);
    for (const auto& f : flows) {
        add(fam, flow_labels(f), value(f));
    }
}

// A value of each node of each flow that has started.
template <class F>
void per_node(Families& out, const std::vector<FlowSnapshot>& flows, const char* name,
              const char* help, MetricType type, F value) {
    MetricFamily& fam = out.family(name, help, type);
    for (const auto& f : flows) {
        for (const auto& n : f.nodes) {
            add(fam, node_labels(f, n), value(n));
        }
    }
}

template <class F>
void per_edge(Families& out, const std::vector<FlowSnapshot>& flows, const char* name,
              const char* help, MetricType type, F value) {
    MetricFamily& fam = out.family(name, help, type);
    for (const auto& f : flows) {
        for (const auto& e : f.edges) {
            add(fam, edge_labels(f, e), value(e));
        }
    }
}

void flow_families(Families& out, const std::vector<FlowSnapshot>& flows) {
    constexpr auto counter = MetricType::Counter;
    constexpr auto gauge = MetricType::Gauge;
    per_flow(out, flows, "torvyn_flow_running", "1 while the flow runs, 0 before and after", gauge,
             [](const FlowSnapshot& f) { return f.state == LiveState::running ? 1.0 : 0.0; });
    MetricFamily& start = out.family("torvyn_flow_start_time_seconds",
                                     "When the flow started running, in Unix time", gauge);
    for (const auto& f : flows) {
        if (f.state != LiveState::linking) {
            add(start, flow_labels(f),
                std::chrono::duration<double>(f.started.time_since_epoch()).count());
        }
    }
    struct Path {
        const char* name;
        const char* help;
        std::uint64_t Accounting::*count;
    };
    static constexpr Path paths[] = {
        {"torvyn_flow_elements_emitted_total", "Elements its sources emitted",
         &Accounting::emitted},
        {"torvyn_flow_elements_derived_total", "Elements its aggregators derived",
         &Accounting::derived},
        {"torvyn_flow_elements_fanout_total",
         "Extra paths of elements sent on several edges (k edges: k - 1)", &Accounting::branches},
        {"torvyn_flow_elements_delivered_total", "Paths that ended at a sink",
         &Accounting::delivered},
        {"torvyn_flow_elements_filtered_total",
         "Paths a filter or router kept back, or a processor dropped", &Accounting::filtered},
        {"torvyn_flow_elements_dropped_total", "Paths an edge's overflow policy dropped",
         &Accounting::dropped},
        {"torvyn_flow_elements_failed_total", "Paths given up after a failure",
         &Accounting::failed},
        {"torvyn_flow_elements_dead_lettered_total", "Paths sent to a dead-letter sink",
         &Accounting::dead_lettered},
        {"torvyn_flow_elements_aggregated_total", "Paths an aggregator absorbed",
         &Accounting::aggregated},
    };
    for (const Path& p : paths) {
        per_flow(out, flows, p.name, p.help, counter,
                 [&](const FlowSnapshot& f) { return as_double(f.progress.*p.count); });
    }
    per_flow(out, flows, "torvyn_flow_elements_in_flight", "Paths started and not yet ended", gauge,
             [](const FlowSnapshot& f) { return as_double(f.progress.in_flight()); });
    per_flow(out, flows, "torvyn_flow_copies_total", "Payload copies across the sandbox boundary",
             counter, [](const FlowSnapshot& f) { return as_double(f.copies); });
    per_flow(out, flows, "torvyn_flow_copied_bytes_total", "Bytes those copies moved", counter,
             [](const FlowSnapshot& f) { return as_double(f.copied_bytes); });
    per_flow(out, flows, "torvyn_flow_buffer_bytes", "Bytes its payload buffers hold now", gauge,
             [](const FlowSnapshot& f) { return as_double(f.progress.buffer_bytes); });
    per_flow(out, flows, "torvyn_flow_buffer_peak_bytes", "Most bytes its buffers held at once",
             gauge, [](const FlowSnapshot& f) { return as_double(f.progress.peak_buffer_bytes); });
    MetricFamily& budget = out.family("torvyn_flow_buffer_budget_bytes",
                                      "The flow's max-buffer-memory (flows that set one)", gauge);
    for (const auto& f : flows) {
        if (f.buffer_budget != 0) {
            add(budget, flow_labels(f), as_double(f.buffer_budget));
        }
    }
    per_flow(out, flows, "torvyn_flow_containments_total",
             "Times the host stopped or refused a node (trap, deadline, limit, budget)", counter,
             [](const FlowSnapshot& f) { return as_double(f.containments); });
    per_flow(out, flows, "torvyn_flow_restarts_total", "Fresh instances after a trap", counter,
             [](const FlowSnapshot& f) { return as_double(f.restarts); });
}

void node_families(Families& out, const std::vector<FlowSnapshot>& flows) {
    constexpr auto counter = MetricType::Counter;
    MetricFamily& info =
        out.family("torvyn_node_info", "A node of a flow, with its role", MetricType::Gauge);
    for (const auto& f : flows) {
        for (const auto& n : f.nodes) {
            Labels l = node_labels(f, n);
            l.push_back({"role", std::string(role_name(n.role))});
            add(info, std::move(l), 1.0);
        }
    }
    per_node(out, flows, "torvyn_node_calls_total", "Calls of the component", counter,
             [](const NodeSnapshot& n) { return as_double(n.calls); });
    MetricFamily& hist =
        out.family("torvyn_node_call_duration_seconds", "Time inside each call of the component",
                   MetricType::Histogram);
    for (const auto& f : flows) {
        for (const auto& n : f.nodes) {
            ClientMetric m;
            m.label = node_labels(f, n);
            m.histogram.sample_count = n.calls;
            m.histogram.sample_sum = n.call_seconds;
            for (std::size_t b = 0; b < kCallSecondsBounds.size(); ++b) {
                m.histogram.bucket.push_back({n.call_buckets[b], kCallSecondsBounds[b]});
            }
            m.histogram.bucket.push_back({n.calls, std::numeric_limits<double>::infinity()});
            hist.metric.push_back(std::move(m));
        }
    }
    per_node(out, flows, "torvyn_node_elements_in_total", "Elements taken from its input queues",
             counter, [](const NodeSnapshot& n) { return as_double(n.elements_in); });
    per_node(out, flows, "torvyn_node_elements_out_total",
             "Elements put on its output queues (an element sent on k edges counts k)", counter,
             [](const NodeSnapshot& n) { return as_double(n.elements_out); });
    per_node(out, flows, "torvyn_node_elements_filtered_total",
             "Elements it kept back (filter, router) or dropped (processor)", counter,
             [](const NodeSnapshot& n) { return as_double(n.filtered); });
    MetricFamily& errors = out.family("torvyn_node_errors_total",
                                      "Failed calls by error code (docs/errors.md)", counter);
    for (const auto& f : flows) {
        for (const auto& n : f.nodes) {
            for (const auto& [code, count] : n.errors_by_code) {
                Labels l = node_labels(f, n);
                l.push_back({"code", error_code_name(code)});
                add(errors, std::move(l), as_double(count));
            }
        }
    }
    per_node(out, flows, "torvyn_node_containments_total",
             "Times the host stopped or refused the node", counter,
             [](const NodeSnapshot& n) { return as_double(n.containments); });
    per_node(out, flows, "torvyn_node_restarts_total", "Fresh instances after a trap", counter,
             [](const NodeSnapshot& n) { return as_double(n.restarts); });
    per_node(out, flows, "torvyn_node_acked_total",
             "Elements of a source that settles (a connector) whose every path was delivered, "
             "filtered or dead-lettered",
             counter, [](const NodeSnapshot& n) { return as_double(n.acked); });
    per_node(out, flows, "torvyn_node_nacked_total",
             "Elements of a source that settles of which a path was dropped or failed (to be "
             "redelivered)",
             counter, [](const NodeSnapshot& n) { return as_double(n.nacked); });
    MetricFamily& stage = out.family(
        "torvyn_node_stage_counter_total",
        "A connector's own counters (redelivered, reconnects, disconnected-ms, ...)", counter);
    for (const auto& f : flows) {
        for (const auto& n : f.nodes) {
            for (const auto& [name, value] : n.counters) {
                Labels labels = node_labels(f, n);
                labels.push_back({"counter", name});
                add(stage, std::move(labels), as_double(value));
            }
        }
    }
    per_node(out, flows, "torvyn_node_swaps_total",
             "Times its stage was replaced while the flow ran (live upgrades)", counter,
             [](const NodeSnapshot& n) { return as_double(n.swaps); });
    per_node(out, flows, "torvyn_node_copies_total", "Payload copies its calls made", counter,
             [](const NodeSnapshot& n) { return as_double(n.copies); });
    per_node(out, flows, "torvyn_node_copied_bytes_total", "Bytes its calls copied", counter,
             [](const NodeSnapshot& n) { return as_double(n.copied_bytes); });
}

void edge_families(Families& out, const std::vector<FlowSnapshot>& flows) {
    constexpr auto counter = MetricType::Counter;
    constexpr auto gauge = MetricType::Gauge;
    per_edge(out, flows, "torvyn_edge_queue_depth", "Elements queued on the edge now", gauge,
             [](const EdgeSnapshot& e) { return as_double(e.depth); });
    per_edge(out, flows, "torvyn_edge_queue_capacity", "Elements the edge's queue holds at most",
             gauge, [](const EdgeSnapshot& e) { return as_double(e.link.capacity); });
    per_edge(out, flows, "torvyn_edge_queue_peak", "Most elements queued at once", gauge,
             [](const EdgeSnapshot& e) { return as_double(e.peak); });
    per_edge(out, flows, "torvyn_edge_elements_total", "Elements queued on the edge", counter,
             [](const EdgeSnapshot& e) { return as_double(e.pushed); });
    per_edge(out, flows, "torvyn_edge_dropped_total", "Elements its overflow policy dropped",
             counter, [](const EdgeSnapshot& e) { return as_double(e.dropped); });
    per_edge(out, flows, "torvyn_edge_pressured",
             "1 while the queue is between its high and low watermark", gauge,
             [](const EdgeSnapshot& e) { return e.pressured ? 1.0 : 0.0; });
    per_edge(out, flows, "torvyn_edge_pressure_episodes_total",
             "Times the queue reached its high watermark", counter,
             [](const EdgeSnapshot& e) { return as_double(e.pressure_episodes); });
    per_edge(out, flows, "torvyn_edge_pressure_seconds_total",
             "Time the queue spent between its high and low watermark", counter,
             [](const EdgeSnapshot& e) { return e.pressure_seconds; });
}

}  // namespace

std::vector<MetricFamily> metric_families(const std::vector<FlowSnapshot>& flows) {
    Families out;
    flow_families(out, flows);
    node_families(out, flows);
    edge_families(out, flows);
    return out.take();
}

std::vector<MetricFamily> LiveCollector::Collect() const {
    return metric_families(registry_.snapshot());
}

std::string metrics_text(const LiveRegistry& registry) {
    return prometheus::TextSerializer().Serialize(LiveCollector(registry).Collect());
}

}  // namespace torvyn
