// Element tracing as a file: what each flow's sampled elements did, written
// in the Chrome trace-event JSON format that Perfetto (ui.perfetto.dev) and
// chrome://tracing open. One process per flow, one track per node with a
// slice per call, an async track per queue with a slice per sampled wait,
// and flow arrows from each visit to the visits of what it sent on (so a
// fan-out is a tree of arrows).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <ostream>
#include <string>
#include <vector>

#include "torvyn/core/ticks.hpp"
#include "torvyn/reactor/observer.hpp"

namespace torvyn {

// Records one flow; kept in memory (bounded by the sampling's max_elements
// and kMaxRecords) and written when every flow has finished.
class TraceRecorder final : public FlowObserver {
public:
    // Records above this are not kept (the file says it is truncated).
    static constexpr std::size_t kMaxRecords = 4'000'000;

    // `queue_depths`: record every change of every queue's depth (a counter
    // track per queue); meant for tracing every element.
    explicit TraceRecorder(bool queue_depths) : queue_depths_(queue_depths) {}

    [[nodiscard]] std::uint32_t events() const override;
    void on_start(const FlowTopology& topology) override;
    void on_call(std::uint32_t node, CallKind kind, std::uint64_t ticks,
                 CallStatus status) override;
    void on_copied(std::uint32_t node, std::uint64_t copies, std::uint64_t bytes) override;
    void on_visit(const Visit& visit) override;
    void on_queue(std::uint32_t edge, std::size_t depth) override;
    void on_pressure(std::uint32_t edge, bool pressured) override;
    void on_contained(std::uint32_t node, const Error& why, std::optional<std::uint64_t> element,
                      const TraceContext* trace) override;
    void on_error(std::uint32_t node, const Error& why, std::optional<std::uint64_t> element,
                  const TraceContext* trace) override;
    void on_finish(const FlowReport& report) override;

    // Elements sampled so far (their first visit); safe from any thread.
    [[nodiscard]] std::uint64_t elements() const {
        return elements_.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t visits() const { return visits_.size(); }
    [[nodiscard]] bool truncated() const { return truncated_; }

    // Writes the flow's events (pid `pid`), comma-separated after `*first`
    // was written (sets it false).
    void write_events(std::ostream& out, std::uint32_t pid, bool& first) const;

private:
    struct VisitRecord {
        std::uint32_t node;
        std::uint32_t edge;
        CallKind kind;
        VisitEnd end;
        std::uint32_t sent_on;
        TraceContext trace;  // as it arrived: parent is the span that made it
        std::uint64_t sequence;
        std::uint64_t span;
        std::uint64_t queued;  // ticks; 0: made here
        std::uint64_t start;
        std::uint64_t end_ticks;
        std::uint64_t copies;  // of its call
        std::uint64_t bytes;
    };
    // A call with no traced element (init, flush, a failed pull, ...).
    struct CallRecord {
        std::uint32_t node;
        CallKind kind;
        CallStatus status;
        std::uint64_t start;
        std::uint64_t end;
    };
    struct Mark {
        std::uint32_t node;  // or edge, for pressure
        std::uint64_t at;
        std::string name;
        std::string message;
        bool on_edge;
    };
    struct Depth {
        std::uint32_t edge;
        std::uint32_t depth;
        std::uint64_t at;
    };

    [[nodiscard]] bool room();
    [[nodiscard]] double us(std::uint64_t t) const;

    bool queue_depths_;
    FlowTopology topology_;
    std::uint64_t t0_ = 0;
    std::uint64_t wall0_ns_ = 0;  // unix time at t0_
    TickScale scale_;
    double ns_per_tick_ = 1.0;
    std::deque<VisitRecord> visits_;  // grows without moving what it holds
    std::vector<CallRecord> calls_;
    std::vector<Mark> marks_;
    std::vector<Depth> depths_;
    // Copies of each node's last call, until its visits take them.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> last_copies_;
    std::atomic<std::uint64_t> elements_{0};
    bool truncated_ = false;
};

// Writes the recorders' flows as one trace file; `metadata` lands in
// otherData (what ran, how it was sampled).
void write_chrome_trace(std::ostream& out, const std::vector<const TraceRecorder*>& flows,
                        const std::vector<std::pair<std::string, std::string>>& metadata);

}  // namespace torvyn
