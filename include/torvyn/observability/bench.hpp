// Benchmark reports for `torvyn bench`: throughput, end-to-end latency
// percentiles, per-node cost, copies, queues and memory, as a table, JSON or
// a self-contained HTML page, and comparison against an earlier JSON report.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "torvyn/core/histogram.hpp"
#include "torvyn/core/ticks.hpp"
#include "torvyn/reactor/flow.hpp"

namespace torvyn {

// What `torvyn bench` measures of one flow, as an observer: end-to-end
// latency (from before the source's call to after the sink's) and throughput
// after a warm-up of `warmup` deliveries (elements after the warm-up over the
// time from the warm-up's last delivery to the last delivery: the points
// bench/ measures the other systems at), and the time from creating the flow
// to its first delivery. Only a flow that is measured pays for the clock reads.
class BenchObserver final : public FlowObserver {
public:
    explicit BenchObserver(std::uint64_t warmup) : warmup_(warmup) {}
    [[nodiscard]] std::uint32_t events() const override { return kPathEvents; }

    void on_start(const FlowTopology& topology) override;
    void on_delivered(std::uint32_t sink, const ElementRef& e, std::uint64_t bytes,
                      std::uint64_t now_ticks) override;
    void on_finish(const FlowReport& report) override;

    // After the run.
    [[nodiscard]] Histogram latency() const;  // nanoseconds
    [[nodiscard]] std::uint64_t measured_elements() const { return measured_elements_; }
    [[nodiscard]] std::uint64_t measured_bytes() const { return measured_bytes_; }
    [[nodiscard]] std::chrono::nanoseconds measured() const;
    [[nodiscard]] std::chrono::nanoseconds first_delivery() const { return first_delivery_; }

private:
    using Clock = std::chrono::steady_clock;
    std::uint64_t warmup_;
    std::uint64_t deliveries_ = 0;
    std::uint64_t measured_elements_ = 0;
    std::uint64_t measured_bytes_ = 0;
    Histogram latency_ticks_;
    std::optional<TickScale> scale_;
    double ns_per_tick_ = 1.0;
    Clock::time_point created_{};
    Clock::time_point started_{};
    Clock::time_point measuring_since_{};
    Clock::time_point last_delivery_{};
    std::chrono::nanoseconds first_delivery_{0};
};

// Counts every event a flow publishes. `torvyn bench --count-events` attaches
// one per flow, so the suite can measure what an observer costs.
class CountingObserver final : public FlowObserver {
public:
    void on_call(std::uint32_t, CallKind, std::uint64_t, CallStatus) override { ++calls; }
    void on_copied(std::uint32_t, std::uint64_t copies_made, std::uint64_t) override {
        copies += copies_made;
    }
    void on_emitted(std::uint32_t, const ElementRef&) override { ++emitted; }
    void on_delivered(std::uint32_t, const ElementRef&, std::uint64_t, std::uint64_t) override {
        ++delivered;
    }
    void on_ended(PathEnd, std::uint32_t, std::uint64_t) override { ++ended; }
    void on_queue(std::uint32_t, std::size_t) override { ++queue_changes; }
    void on_pressure(std::uint32_t, bool) override { ++pressure_changes; }
    [[nodiscard]] nlohmann::json json() const {
        return {{"calls", calls},
                {"copies", copies},
                {"emitted", emitted},
                {"delivered", delivered},
                {"ended", ended},
                {"queue_changes", queue_changes},
                {"pressure_changes", pressure_changes}};
    }

    std::uint64_t calls = 0;
    std::uint64_t copies = 0;
    std::uint64_t emitted = 0;
    std::uint64_t delivered = 0;
    std::uint64_t ended = 0;
    std::uint64_t queue_changes = 0;
    std::uint64_t pressure_changes = 0;
};

// One flow's measurements. `rss_bytes`: peak resident memory of the process.
nlohmann::json bench_to_json(const FlowReport& report, const BenchObserver& measured,
                             std::uint64_t rss_bytes);
std::string format_bench(const nlohmann::json& bench);
std::string bench_html(const std::vector<FlowReport>& reports,
                       const std::vector<const BenchObserver*>& measured,
                       const nlohmann::json& benches);

// One flow's measurements over several runs (`torvyn bench --repeat`): the
// run with the median throughput, its throughput and latency percentiles
// replaced by each metric's median over the runs, and a "repeat" object with
// every run's minimum, median and maximum and the spread ((max - min) /
// median, percent). A regression gate compares medians, and its threshold
// should sit above the spread. `runs` holds bench_to_json objects of one flow.
nlohmann::json combine_runs(const std::vector<nlohmann::json>& runs);
// Which of `runs` combine_runs reports details of (the median throughput's).
std::size_t median_run(const std::vector<nlohmann::json>& runs);

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
