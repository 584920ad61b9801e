// The running state of one flow, shared by the scheduler's rooms, each in its
// own file with one purpose:
//   graph.cpp      nodes and edges from the spec, topological order
//   edges.cpp      bounded queues: overflow policies, watermarks, fan-out
//   policy.cpp     what happens when a call fails: errors, retries, restarts
//   drivers.cpp    one driver per role: what a call means for the elements
//   scheduler.cpp  the sweep: which node runs next, pauses, stops, draining
//   placement.cpp  which driver thread runs each node: pinned, or measured
//   swap.cpp       replacing a node's stage while the flow runs
//   flow.cpp       the Flow facade: create, run, report, progress
// Driven by one thread, or by several (see `shared`); `progress` may be read
// from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lineage.hpp"
#include "listeners.hpp"
#include "path_tracer.hpp"
#include "placement.hpp"
#include "swap.hpp"
#include "torvyn/core/function_ref.hpp"
#include "torvyn/core/published.hpp"
#include "torvyn/core/ticks.hpp"
#include "torvyn/reactor/flow.hpp"

namespace torvyn {

namespace detail {

using Clock = std::chrono::steady_clock;
constexpr std::uint32_t kNoEdge = kNoEdgeIndex;

// A bounded FIFO of elements in transit on one edge.
class Queue {
public:
    explicit Queue(std::uint32_t capacity) : ring_(capacity) {}
    [[nodiscard]] bool empty() const { return count_ == 0; }
    [[nodiscard]] bool full() const { return count_ == ring_.size(); }
    [[nodiscard]] std::size_t size() const { return count_; }
    [[nodiscard]] std::size_t capacity() const { return ring_.size(); }
    void push(const ElementRef& e) {
        ring_[(head_ + count_) % ring_.size()] = e;
        ++count_;
    }
    ElementRef pop() {
        ElementRef e = ring_[head_];
        head_ = (head_ + 1) % ring_.size();
        --count_;
        return e;
    }

private:
    std::vector<ElementRef> ring_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
};

struct Edge {
    std::uint32_t from;
    std::uint32_t to;
    Queue queue;
    std::size_t high;  // pressured at or above
    std::size_t low;   // relieved at or below
    bool pressured = false;
    Clock::time_point pressured_since;
    EdgeReport report;
};

struct Node {
    NodeSpec spec;
    NodeHost host;
    std::unique_ptr<Stage> stage;
    NodeReport report;
    std::vector<std::uint32_t> inputs;   // edge indices
    std::vector<std::uint32_t> outputs;  // edge indices (not the dead-letter edge)
    std::uint32_t dead_letter = kNoEdge;
    // Routers: port name -> edges leaving that port.
    std::vector<std::pair<std::string, std::vector<std::uint32_t>>> ports;
    // Sources: block-policy edges downstream, whose pressure pauses the source.
    std::vector<std::uint32_t> watched;
    std::size_t next_input = 0;  // round-robin over inputs (fair merge)
    bool done = false;           // will never run again
    bool stopped = false;        // takes no more elements (failure, fatal)
    bool dead = false;           // the stage cannot be called (trap, deadline, limit)
    bool torn_down = false;
    bool paused_by_pressure = false;  // sources: told to pause
    std::uint32_t thread = 0;         // the driver thread that runs it (0-based)
    std::uint64_t busy_ticks = 0;
    std::uint64_t call_started = 0;  // ticks() when its last call began
    std::uint64_t call_ended = 0;    // ... and ended
    CallKind call_kind = CallKind::init;
    // The edge the element of the call in progress came on (kNoEdge: none).
    std::uint32_t input_edge = kNoEdge;
    CopyCount copies_seen;          // for on_copied: the ledger's total at the last report
    Clock::time_point resume_at{};  // sinks: paused until
    // Elements per call: the least of the stage's batch_limit() and the
    // node's `batch` (1: one at a time).
    std::size_t batch_limit = 1;
    // The batch being handed to a batched stage, what it made (or a source
    // pulled) and how each element went (kept to reuse their memory).
    std::vector<ElementRef> batch;
    std::vector<Produced> batch_out;
    std::vector<CallResult> batch_results;
    std::vector<std::uint8_t> batch_kept;  // filters
    // A source that answered "pending": asked again from this time on, or
    // when the flow's waker is woken.
    bool waiting = false;
    Clock::time_point waiting_until{};
    // Paced sources (max-rate): the time between pulls, and the next pull's.
    Clock::duration pull_period{0};
    Clock::time_point next_pull{};
    std::chrono::microseconds pause_backoff{0};
    // The failed call the node's last given-up element is given up for (a
    // dead-letter sink may ask), and the calls made on it (retries).
    DeadLetterReason failure;
    std::uint32_t attempts = 1;
    std::vector<std::string> route_scratch;    // routers: ports of this element
    std::vector<std::uint32_t> route_targets;  // routers: their edges, deduplicated
    // Aggregators: flushed, and the flush's outputs still waiting for room
    // downstream (a flush may return more than the queues hold).
    bool flushed = false;
    struct Flushed {
        Produced out;
        ElementOrigin* origin;  // what it derives from (holds a reference)
    };
    std::deque<Flushed> pending;
    // Sources: the settlements being handed to the stage (scratch), and when
    // observers last heard its counters.
    std::vector<Settlement> settlements;
    Clock::time_point counters_published{};
    // The flush was a replaced stage's (swap.cpp): once its outputs are out,
    // the node goes on.
    bool flush_resumes = false;
};

// One of the threads driving a flow, as the others see it (under the
// flow's lock).
struct DriverThread {
    bool sleeping = false;     // waits for work; woken by wake_driver
    bool until_woken = false;  // ... with no time of its own to wake up at
    // Something changed for its nodes since its sweep began (perhaps while
    // it was in a guest call): it sweeps again before it sleeps.
    bool nudged = false;
};

}  // namespace detail

struct Flow::State {
    FlowSpec spec;
    RunOptions options;
    BufferStore buffers;
    FlowContextInfo context;
    std::vector<std::unique_ptr<detail::Node>> nodes;  // stable: NodeHost is referenced
    std::vector<detail::Edge> edges;
    std::vector<std::uint32_t> topo;  // nodes, upstream first
    FlowReport report;
    FlowTopology topology;
    detail::Clock::time_point created;
    detail::Clock::time_point started;
    int source_batch = 1;
    detail::Clock::time_point drain_deadline = detail::Clock::time_point::max();
    bool stopping = false;  // sources stop; everything in flight drains
    bool aborted = false;   // stop now
    std::vector<Error> warnings;
    // Failures after the report's first few, up to the last few (policy.cpp).
    std::deque<FailureRecord> recent_failures;
    // Why each element queued for a dead-letter sink was given up, by its
    // payload (shared buffers: in the order they were given up).
    std::unordered_map<BufferHandle, std::deque<DeadLetterReason>> dead_letters;
    // The accounting and buffer memory as of the last sweep or emission, for
    // other threads.
    PublishedCounters<13> progress;
    std::uint64_t pressured_queues = 0;  // edges between high and low watermark now
    std::vector<std::unique_ptr<FlowObserver>> owned_observers;
    // options.observers, with what each listens to (from the run's start).
    detail::Listeners listeners;

    // Each new path's trace context, and which paths are traced.
    detail::PathTracer paths;

    FlowWaker waker;
    // Times the pending sources were asked again after a wake.
    std::uint64_t wakes = 0;

    // Driver threads. With one, nothing is locked. Once several drive the
    // flow (`shared`), whichever schedules holds waker.flow_lock(); guest
    // calls run without it (FlowUnlocked) and the buffer store locks itself.
    // Each node runs on one thread only; an edge between threads is a queue
    // with one producer and one consumer, woken across threads.
    bool shared = false;
    std::vector<detail::DriverThread> crew;  // one per thread once shared
    std::uint32_t max_threads = 1;           // what placement may use
    bool regrouping = false;                 // the threads end; thread 0 goes on alone

    // Stage replacements posted from other threads (swap.cpp).
    detail::SwapMailbox swaps;

    // Which source messages are done, for sources that settle.
    detail::Lineage lineage;

    explicit State(BufferLimits limits) : buffers(limits) {}

    void publish_progress(bool finished);
};

namespace detail {

using State = Flow::State;

// Wakes driver thread `t` when it waits for work (several threads only).
inline void wake_driver(State& s, std::uint32_t t) {
    if (!s.shared) {
        return;
    }
    DriverThread& d = s.crew[t];
    d.nudged = true;
    if (d.sleeping) {
        d.sleeping = false;
        s.waker.notify_waiting();
    }
}
// Wakes every waiting driver thread: a node finished, a pressure eased, the
// flow is stopping.
inline void wake_drivers(State& s) {
    if (!s.shared) {
        return;
    }
    for (DriverThread& t : s.crew) {
        t.nudged = true;
        t.sleeping = false;
    }
    s.waker.notify_waiting();
}

// While several threads drive the flow, a guest call (or a retry's sleep)
// runs without the flow's lock, so the others schedule meanwhile.
class FlowUnlocked {
public:
    explicit FlowUnlocked(State& s) : lock_(s.shared ? &s.waker.flow_lock() : nullptr) {
        if (lock_ != nullptr) {
            lock_->unlock();
        }
    }
    ~FlowUnlocked() {
        if (lock_ != nullptr) {
            lock_->lock();
        }
    }
    FlowUnlocked(const FlowUnlocked&) = delete;
    FlowUnlocked& operator=(const FlowUnlocked&) = delete;

private:
    std::mutex* lock_;
};

// graph.cpp: nodes, edges, dead-letter edges, topological order, watched
// edges, the topology observers see. The spec was validated (acyclic).
void build_graph(State& s);

// edges.cpp
void push(State& s, std::uint32_t edge, const ElementRef& el);
ElementRef pop(State& s, std::uint32_t edge);
[[nodiscard]] bool room_downstream(const State& s, const Node& n);
// How many outputs every block edge `n` writes to can take now.
[[nodiscard]] std::size_t room_for(const State& s, const Node& n);
[[nodiscard]] bool has_input(const State& s, const Node& n);
// Next element for `n`, round-robin over its non-empty inputs, and its edge.
std::pair<ElementRef, std::uint32_t> take_input(State& s, Node& n);
// Hands an element the node holds (one reference) to `targets`; extra
// targets share the buffer.
void forward(State& s, const std::vector<std::uint32_t>& targets, const ElementRef& el);
// Releases what is still queued (and flushed outputs that never found room),
// counting it failed.
void drain_queues(State& s);
// For element `el` taken from edge `from`: why it was dead-lettered, when
// `from` leads to a dead-letter sink (and forgets it).
std::optional<DeadLetterReason> take_dead_letter_reason(State& s, std::uint32_t from,
                                                        const ElementRef& el);

// policy.cpp
// Calls `call` (timed, observed) and, under on-error = "retry", again with
// backoff while it fails with a retryable error.
CallResult call_with_retries(State& s, Node& n, CallKind kind, std::optional<std::uint64_t> element,
                             FunctionRef<CallResult()> call);
// One call, timed and observed.
CallResult call_once(State& s, Node& n, CallKind kind, FunctionRef<CallResult()> call);
Error error_for(const State& s, const Node& n, const CallResult& r, std::string_view during);
// A call on element `el` failed: the node's error policy decides.
void on_failure(State& s, Node& n, const ElementRef& el, const CallResult& r,
                std::string_view during);
// A call with no element failed (a source's pull): the policy decides.
void on_call_failure(State& s, Node& n, const CallResult& r, std::string_view during);
// A call the flow cannot do without failed (init, notify, flush, complete):
// the node stops and the flow fails, whatever its policy.
void fail_node(State& s, Node& n, const CallResult& r, std::string_view during,
               std::optional<ErrorCode> code = std::nullopt);
// What happens to an element a node could not process.
void give_up(State& s, Node& n, const ElementRef& el);
void fail_flow(State& s, Error e);
void teardown(State& s, Node& n);

// drivers.cpp: one driver per role.
struct Driver {
    // Before the first element, after init (routers check their ports).
    void (*start)(State& s, Node& n);
    // Nodes without inputs (sources): produce up to `max` elements in one call.
    void (*produce)(State& s, Node& n, std::size_t max);
    // Nodes with inputs: handle element `in`, taken from edge `from`.
    void (*handle)(State& s, Node& n, const ElementRef& in, std::uint32_t from);
    // Upstream is done and the inputs are empty.
    void (*finish)(State& s, Node& n);
    // Nodes whose stage takes batches: elements `in`, all from edge `from`.
    void (*handle_batch)(State& s, Node& n, std::span<const ElementRef> in,
                         std::uint32_t from) = nullptr;
};
const Driver& driver_for(Role role);
// A new path starts (a source's or an aggregator's output); a derived
// element continues the trace of the sampled input it came `from`.
void start_path(State& s, Node& n, const Produced& out, std::uint64_t born_ticks,
                const ElementRef* from = nullptr, ElementOrigin* origin = nullptr);
// An aggregator's flush returned `outs`: they wait in `pending` for room,
// deriving from what it absorbed.
void hold_flushed(State& s, Node& n, std::vector<Produced>& outs);
// Tells source `n` what became of its elements that ended since it was last
// told (Stage::settled).
void settle(State& s, Node& n);
// Tells observers source `n`'s acks and its stage's counters (kSettleEvents).
void publish_counters(State& s, Node& n);
// Element `in` visited `n` (arrived on `edge`) and ended as `end`: observers
// of visits are told when it is sampled. Returns it as it goes on, its
// parent span now this visit's.
// (Inline: an unsampled element, nearly all of them, costs one test per hop.)
ElementRef traced_visit(State& s, const Node& n, const ElementRef& in, std::uint32_t edge,
                        VisitEnd end, std::size_t sent_on);
inline ElementRef visited(State& s, const Node& n, const ElementRef& in, std::uint32_t edge,
                          VisitEnd end, std::size_t sent_on = 0) {
    if (!in.trace.sampled) [[likely]] {
        return in;
    }
    return traced_visit(s, n, in, edge, end, sent_on);
}
// Emits an aggregator's flushed outputs while every queue downstream has
// room; the node is done when none is left (unless a replaced stage flushed). Returns whether any
// was emitted.
bool emit_pending(State& s, Node& n);

// scheduler.cpp: drives until every node is done or the flow is aborted.
void drive(State& s);

// placement.cpp
// Places nodes pinned by the manifest (`thread`) and the nodes that follow
// them, and sets max_threads to the threads they use; false when none is
// pinned.
bool place_pinned(State& s);
// (placement.hpp: placing by measured cost.)

// swap.cpp: applies the replacements posted for thread `me`'s nodes (at the
// top of its loop: between two calls of each); wakes the threads whose
// nodes have some.
void apply_swaps(State& s, std::uint32_t me);
// run() ends: answers the replacements still waiting.
void refuse_pending_swaps(State& s);

}  // namespace detail
}  // namespace torvyn
