// What running flows are doing, for whoever asks while they run: the
// Prometheus endpoint and the live page read it (observability/metrics.hpp,
// observability/live_server.hpp).
//
// A LiveRegistry lists flows; each flow's LiveFlow is that flow's observer and
// keeps its counters. Threading: a LiveFlow's events come from its flow's
// driver threads one at a time (FlowObserver's contract), so every counter
// has one writer at a time and is stored with plain relaxed atomic stores (a
// mov on x86): no lock, no read-modify-write on the per-element path.
// snapshot() may be called from any thread at any time; it reads each counter
// whole, but not all counters at one instant (a scrape may see a push
// counted before its pop).
//
// The registry outlives the flows' servers; flows are added over time (one
// `torvyn run`, or a long-running agent adding and retiring flows).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "torvyn/reactor/flow.hpp"

namespace torvyn {

// Upper bounds of the call-time histogram's buckets, in seconds (the last,
// +Inf, is implicit): fixed, so that every scrape has the same series.
inline constexpr std::array<double, 14> kCallSecondsBounds = {
    1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0, 5.0};

enum class LiveState : std::uint8_t { linking, running, finished };
std::string_view live_state_name(LiveState state);

// One failed call or containment, for the page's event list.
struct LiveEvent {
    std::chrono::system_clock::time_point at;
    std::string node;
    std::string code;  // "E0300"
    std::string message;
    bool contained = false;  // the host stopped or refused the node
};

struct NodeSnapshot {
    std::string name;
    Role role = Role::processor;
    std::uint64_t calls = 0;
    // Cumulative counts per bucket of kCallSecondsBounds, then +Inf (= calls
    // timed).
    std::array<std::uint64_t, kCallSecondsBounds.size() + 1> call_buckets{};
    double call_seconds = 0;         // time inside the component's calls
    std::uint64_t elements_in = 0;   // taken from its input queues
    std::uint64_t elements_out = 0;  // put on its output queues (k edges: k)
    std::uint64_t filtered = 0;
    std::uint64_t errors = 0;
    std::vector<std::pair<ErrorCode, std::uint64_t>> errors_by_code;
    std::uint64_t containments = 0;
    std::uint64_t restarts = 0;
    std::uint64_t swaps = 0;  // stages replaced while it ran (an upgrade)
    // Sources that settle (connectors): elements acked and nacked, and the
    // stage's own counters, as of its last settlement.
    std::uint64_t acked = 0;
    std::uint64_t nacked = 0;
    std::vector<std::pair<std::string, std::uint64_t>> counters;
    std::uint64_t copies = 0;
    std::uint64_t copied_bytes = 0;
};

struct EdgeSnapshot {
    std::string name;  // "a -> b"
    FlowTopology::Link link;
    std::uint64_t depth = 0;
    std::uint64_t peak = 0;
    std::uint64_t pushed = 0;
    std::uint64_t dropped = 0;
    bool pressured = false;
    std::uint64_t pressure_episodes = 0;
    double pressure_seconds = 0;  // including a pressure still going on
};

struct FlowSnapshot {
    std::uint64_t id = 0;  // unique in its registry
    std::string name;
    LiveState state = LiveState::linking;
    std::string stop;  // how it ended (finished only)
    std::chrono::system_clock::time_point started;
    double elapsed_seconds = 0;       // since it started running
    FlowProgress progress;            // accounting and buffer memory
    std::uint64_t buffer_budget = 0;  // max-buffer-memory; 0: none
    std::uint64_t copies = 0;
    std::uint64_t copied_bytes = 0;
    std::uint64_t containments = 0;
    std::uint64_t restarts = 0;
    std::vector<NodeSnapshot> nodes;
    std::vector<EdgeSnapshot> edges;
    std::vector<LiveEvent> events;  // the latest, oldest first
};

// One flow's live counters: its observer. Create it through LiveRegistry.
class LiveFlow final : public FlowObserver {
public:
    // How many failed calls and containments the page keeps (the latest).
    static constexpr std::size_t kEventsKept = 20;

    LiveFlow(std::uint64_t id, std::string name, std::uint64_t buffer_budget, double ns_per_tick);
    ~LiveFlow() override;
    LiveFlow(const LiveFlow&) = delete;
    LiveFlow& operator=(const LiveFlow&) = delete;

    // The flow's accounting and buffer memory, read at snapshot time (e.g.
    // Flow::progress of the flow being observed; until its on_finish).
    void track(std::function<FlowProgress()> progress);

    [[nodiscard]] std::uint32_t events() const override;
    void on_start(const FlowTopology& topology) override;
    void on_call(std::uint32_t node, CallKind kind, std::uint64_t ticks,
                 CallStatus status) override;
    void on_copied(std::uint32_t node, std::uint64_t copies, std::uint64_t bytes) override;
    void on_ended(PathEnd how, std::uint32_t where, std::uint64_t sequence) override;
    void on_queue(std::uint32_t edge, std::size_t depth) override;
    void on_pressure(std::uint32_t edge, bool pressured) override;
    void on_contained(std::uint32_t node, const Error& why, std::optional<std::uint64_t> element,
                      const TraceContext* trace) override;
    void on_error(std::uint32_t node, const Error& why, std::optional<std::uint64_t> element,
                  const TraceContext* trace) override;
    void on_restarted(std::uint32_t node, std::uint32_t restarts) override;
    void on_replaced(std::uint32_t node, std::uint32_t generation) override;
    void on_settled(std::uint32_t node, std::uint64_t acked, std::uint64_t nacked,
                    std::span<const std::pair<std::string_view, std::uint64_t>> counters) override;
    void on_finish(const FlowReport& report) override;

    [[nodiscard]] std::uint64_t id() const { return id_; }
    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] LiveState state() const { return state_.load(std::memory_order_acquire); }
    // Any thread.
    [[nodiscard]] FlowSnapshot snapshot() const;

private:
    struct Counters;
    void note_event(std::uint32_t node, const Error& why, bool contained);

    const std::uint64_t id_;
    const std::string name_;
    const std::uint64_t buffer_budget_;
    const double ns_per_tick_;
    std::atomic<LiveState> state_{LiveState::linking};
    // Set by on_start (before state_ is running) and fixed from then on.
    std::unique_ptr<Counters> c_;
    // Taken by snapshot() and by the rare events only (errors,
    // containments, start, finish): never per element.
    mutable std::mutex mutex_;
    std::function<FlowProgress()> progress_;
    FlowProgress final_progress_;
    std::string stop_;
    std::deque<LiveEvent> events_;
};

// The flows a process runs, over time.
class LiveRegistry {
public:
    LiveRegistry();

    // A flow to observe (pass the result to the flow as an observer). A
    // finished flow of the same name leaves the registry: metrics name a
    // flow by its name, once.
    std::shared_ptr<LiveFlow> add(const std::string& name, std::uint64_t buffer_budget = 0);
    // Forgets a flow (a long-running agent retiring it).
    void remove(std::uint64_t id);
    // Every flow's snapshot, in the order they were added.
    [[nodiscard]] std::vector<FlowSnapshot> snapshot() const;

private:
    // Converts call ticks to seconds for every flow, and call times to the
    // histogram's buckets: measured once, when the registry is made.
    double ns_per_tick_ = 1.0;
    mutable std::mutex mutex_;
    std::uint64_t next_id_ = 1;
    std::vector<std::shared_ptr<LiveFlow>> flows_;
};

}  // namespace torvyn
