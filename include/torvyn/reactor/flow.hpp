// Runs one flow: builds its graph, makes a Stage for every node, then drives
// elements from sources to sinks through bounded queues on one thread,
// applying each edge's overflow policy and each node's error policy, and
// accounts for every element. Stages may be spread over several driver
// threads (the manifest's `threads` and `thread`). What happens is published to observers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "torvyn/config/manifest.hpp"
#include "torvyn/core/error.hpp"
#include "torvyn/reactor/observer.hpp"
#include "torvyn/reactor/stage.hpp"
#include "torvyn/reactor/waker.hpp"
#include "torvyn/resources/buffer_store.hpp"
#include "torvyn/resources/copy_ledger.hpp"
#include "torvyn/resources/node_host.hpp"

namespace torvyn {

struct NodeReport {
    std::string name;
    Role role = Role::processor;
    std::uint64_t elements_in = 0;
    std::uint64_t elements_out = 0;
    std::uint64_t filtered = 0;  // rejected by a filter or router, dropped by a processor
    std::uint64_t errors = 0;    // failed calls (each retry attempt counts)
    // The failed calls by error code (E0300 trap, E0303 guest error, ...).
    std::vector<std::pair<ErrorCode, std::uint64_t>> errors_by_code;
    std::uint64_t retries = 0;
    std::uint64_t skipped = 0;        // elements given up under on-error = skip/retry
    std::uint64_t dead_lettered = 0;  // elements sent to the node's dead-letter sink
    std::uint64_t pauses = 0;         // sinks: times the sink asked to pause
    std::uint64_t calls = 0;
    std::uint64_t host_calls = 0;      // calls the component made into the host
    std::chrono::nanoseconds busy{0};  // time inside the component's calls
    CopyLedger copies;
    std::uint64_t peak_buffer_bytes = 0;  // most bytes the component held at once
    bool cache_hit = false;
    std::string language;        // the component's, as it says ("C++", "Python"); empty: unknown
    std::uint32_t thread = 1;    // the driver thread that ran it last (1, 2, ...)
    bool stopped = false;        // stopped taking elements (failure or fatal)
    std::uint32_t restarts = 0;  // fresh instances after a trap (on-trap = "restart")
    std::uint32_t swaps = 0;     // stages replaced while the flow ran (Flow::replace_stage)
    // Sources that settle (at-least-once connectors): elements whose every
    // path ended delivered, filtered or dead-lettered (acked), or of which
    // some path was dropped or failed (nacked: to be redelivered).
    std::uint64_t acked = 0;
    std::uint64_t nacked = 0;
    // The stage's own counters (Stage::counters) at the end of the run.
    std::vector<std::pair<std::string, std::uint64_t>> counters;
};

struct EdgeReport {
    std::string from;  // "node" or "router.port"
    std::string to;
    std::uint32_t capacity = 0;
    OverflowPolicy overflow = OverflowPolicy::block;
    bool dead_letter = false;  // implicit edge to a dead-letter sink
    std::uint64_t pushed = 0;
    std::uint64_t peak = 0;                 // most elements queued at once (never above capacity)
    std::uint64_t dropped = 0;              // by the overflow policy
    std::uint64_t occupancy_sum = 0;        // queue length after each push, summed
    std::uint64_t pressure_episodes = 0;    // times the high watermark was reached
    std::chrono::nanoseconds pressured{0};  // time between high and low watermark
    CopyLedger copies;                      // payload reads by the consumer of this edge's elements
};

enum class StopReason : std::uint8_t { completed, failed, timeout, interrupted, forced };
std::string_view stop_reason_name(StopReason reason);

// Element accounting. Paths start as: emitted by a source, derived by an
// aggregator, or a branch (an element sent on k edges adds k-1). Every path
// ends exactly once as delivered, filtered, dropped, failed, dead-lettered or
// aggregated (absorbed by an aggregator).
struct Accounting {
    std::uint64_t emitted = 0;
    std::uint64_t derived = 0;
    std::uint64_t branches = 0;
    std::uint64_t delivered = 0;
    std::uint64_t filtered = 0;
    std::uint64_t dropped = 0;
    std::uint64_t failed = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t aggregated = 0;

    [[nodiscard]] std::uint64_t paths_started() const { return emitted + derived + branches; }
    [[nodiscard]] std::uint64_t paths_ended() const {
        return delivered + filtered + dropped + failed + dead_lettered + aggregated;
    }
    [[nodiscard]] bool accounting_balanced() const { return paths_started() == paths_ended(); }
    // Paths started and not yet ended: queued, or inside a call.
    [[nodiscard]] std::uint64_t in_flight() const { return paths_started() - paths_ended(); }
};

// One failed call, as the report lists it.
struct FailureRecord {
    std::string node;
    std::optional<std::uint64_t> element;  // its sequence, when the call had one
    Error error;
};

struct FlowReport : Accounting {
    std::string name;
    std::vector<NodeReport> nodes;
    std::vector<EdgeReport> edges;
    CopyLedger copies;
    BufferStats buffers;
    std::chrono::nanoseconds wall{0};
    std::chrono::nanoseconds startup{0};  // load + link + instantiate
    std::uint32_t threads = 1;            // driver threads that ran the stages at the end
    std::uint32_t spreads = 0;            // times placement moved the nodes to several threads
    std::uint32_t regroups = 0;           // ... and back to one, when that ran no faster
    StopReason stop = StopReason::completed;
    std::optional<Error> error;  // why the flow failed
    // Nodes that stopped while the flow went on (on-error other than fail).
    std::vector<Error> node_errors;
    // Failed calls, whatever the policy did with them: the first
    // kFailuresKept and the last kFailuresKept (failures_omitted between).
    static constexpr std::size_t kFailuresKept = 10;
    std::vector<FailureRecord> failures;
    std::uint64_t failures_omitted = 0;
    // Nodes that stopped are a failure of the run unless the manifest or the
    // operator allowed them (allow-failures).
    bool failures_allowed = false;

    [[nodiscard]] bool ok() const { return !error.has_value(); }
    // Every element was accounted for, but a node stopped on the way.
    [[nodiscard]] bool completed_with_failures() const { return ok() && !node_errors.empty(); }
    // What the run's exit status should say: it failed, or a node stopped
    // and that was not allowed.
    [[nodiscard]] bool run_failed() const {
        return !ok() || (completed_with_failures() && !failures_allowed);
    }
    [[nodiscard]] double elements_per_second() const;
};

// A running flow's accounting as of its last scheduling sweep or emitted
// element, readable from any thread (for a process that must exit while a
// guest call is still in progress).
struct FlowProgress : Accounting {
    bool finished = false;               // run() has returned
    std::uint64_t pressured_queues = 0;  // queues above their high watermark now
    std::uint64_t queues = 0;
    // The flow's payload buffers: bytes held now and at most so far.
    std::uint64_t buffer_bytes = 0;
    std::uint64_t peak_buffer_bytes = 0;
};

class AuditLog;
class Runtime;

// Which elements are traced: their visits reach observers that listen to
// kVisitEvents (none: nothing is sampled). Decided where a path starts; an
// element that arrives with a W3C context keeps its own decision.
struct TraceSampling {
    enum class Mode : std::uint8_t { every, one_in, per_second };
    Mode mode = Mode::every;
    std::uint64_t n = 1;  // one_in: 1 element in n; per_second: at most n a second
    // Elements sampled at most (then none), so a trace stays bounded.
    std::uint64_t max_elements = UINT64_MAX;
};

struct RunOptions {
    std::vector<std::filesystem::path> component_path;
    const std::atomic<int>* stop = nullptr;  // StopRequest values
    AuditLog* audit = nullptr;               // optional; must outlive the flow
    // Told what happens while the flow runs; each must outlive the flow.
    std::vector<FlowObserver*> observers;
    // A node that stops while the flow goes on is not a failure of the run
    // (as the manifest's allow-failures).
    bool allow_failures = false;
    TraceSampling sampling;
    // Where guests' stderr lines go instead of Torvyn's stderr (structured
    // logs); must outlive the flow.
    GuestLineSink* guest_lines = nullptr;
};

// What a stage factory gets for one node.
struct StageSlot {
    const FlowSpec& flow;
    const NodeSpec& node;
    NodeHost& host;      // the node's buffers, ledger and context; outlives the stage
    NodeReport& report;  // for what making the stage teaches (a compile-cache hit)
    std::vector<Error>& warnings;
    // For the stage's own threads: wakes the flow when a pending source has
    // something (valid while the flow exists).
    FlowWaker& waker;
};
// Makes the stage of one node; errors name the node.
using StageFactory = std::function<Result<std::unique_ptr<Stage>>(StageSlot& slot)>;

// What becomes of the state a node's stage holds when it is replaced.
enum class SwapState : std::uint8_t {
    // An aggregator's old stage flushes (its outputs go downstream as at the
    // end of a run) and the new one starts empty. Other roles have no flush:
    // for them this is `reset`.
    flush,
    reset,     // discarded: the new stage starts empty
    handover,  // the old stage's snapshot() is the new one's restore()
};
std::string_view swap_state_name(SwapState state);

// Replacing one node's stage while its flow runs (Flow::replace_stage).
struct StageSwap {
    std::string node;
    // Makes the new stage. Called on the node's driver thread between two of
    // its calls, while the node takes no elements: do the slow work (finding,
    // compiling, linking a component) before, and make something quick here
    // (an instance of a component already linked: instantiate_stage in
    // reactor/link.hpp). Its slot's report and warnings are scratch: the
    // outcome carries the warnings.
    StageFactory make;
    SwapState state = SwapState::flush;
    // When a handover cannot be made (the old stage has no snapshot, the new
    // no restore): flush or reset instead. None: the swap is refused and
    // nothing changes.
    std::optional<SwapState> fallback;
};

// What a swap did.
struct SwapOutcome {
    std::string node;
    std::uint32_t generation = 0;        // the node's swaps so far, this one included
    std::uint32_t thread = 1;            // the driver thread that applied it (1, 2, ...)
    std::chrono::nanoseconds waited{0};  // from the request to the safe point (the node ran on)
    std::chrono::nanoseconds pause{0};   // the swap itself: the node took no elements
    std::uint64_t queued = 0;            // waiting at the node's inputs: the new stage's now
    SwapState state = SwapState::reset;  // what became of the old stage's state
    bool fell_back = false;              // a handover was refused; `fallback` was done
    std::uint64_t flushed = 0;           // the old stage's flush outputs, sent downstream
    std::uint64_t snapshot_bytes = 0;    // the state handed over
    bool revived = false;         // the node had stopped (a failure); it takes elements again
    std::vector<Error> warnings;  // found while making the new stage
};

class Flow {
public:
    // Builds the graph and makes every node's stage. Nothing runs yet.
    static Result<std::unique_ptr<Flow>> create(const FlowSpec& spec, const RunOptions& options,
                                                const StageFactory& make_stage);
    // The same with a GuestStage per node: finds, links and instantiates
    // each component (reactor/guest_stage.cpp; the torvyn::reactor_wasm library).
    static Result<std::unique_ptr<Flow>> create(Runtime& runtime, const Manifest& manifest,
                                                const FlowSpec& spec, const RunOptions& options);
    ~Flow();
    Flow(const Flow&) = delete;
    Flow& operator=(const Flow&) = delete;

    // init → drive until every node is done → teardown.
    FlowReport run();

    // Found while making the stages; the flow can run (e.g. unused grants).
    [[nodiscard]] const std::vector<Error>& warnings() const;
    [[nodiscard]] const std::string& name() const;
    // Safe from any thread while run() is in progress.
    [[nodiscard]] FlowProgress progress() const;
    // Replaces node `swap.node`'s stage while run() is in progress; safe from
    // any thread (swap.cpp). The node's driver thread does it between two of
    // its calls: the old stage's state is flushed, reset or handed over, the
    // old stage is torn down and closed, the new one initialised (a router's
    // ports checked as at the start). What waits at the node's inputs goes to
    // the new stage: no element is lost or repeated. A node that stopped
    // (a failure) takes elements again. Refused (E0820) before anything
    // changes: an unknown node, a source, a node that has finished, a flow
    // not running (swaps still waiting when run() returns are answered so),
    // a factory, init, restore or router check that fails (the old stage
    // runs on). Not from an observer's event: it wakes the flow, whose lock
    // an event holds when several threads drive the flow.
    std::future<Result<SwapOutcome>> replace_stage(StageSwap swap);
    // One more observer, owned by the flow (before run()).
    void adopt(std::unique_ptr<FlowObserver> observer);

    struct State;

private:
    explicit Flow(std::unique_ptr<State> state);
    std::unique_ptr<State> s_;
};

}  // namespace torvyn
