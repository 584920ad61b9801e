// What a running flow tells the outside, as it happens: calls, elements,
// copies, queues, pressure, containments. Observers are passed in through
// RunOptions; the run summary, the JSON report, `torvyn bench` and the audit
// log are observers, and so will be exporters. An event no observer listens
// to (events()) costs the flow a test of a bit.
//
// Threading: called one event at a time (under the flow's lock when several
// threads drive the flow, so an observer of one flow needs no lock of its
// own), in order per node. An observer given to several flows must
// synchronise itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "torvyn/core/call.hpp"
#include "torvyn/core/error.hpp"
#include "torvyn/core/role.hpp"
#include "torvyn/core/trace_context.hpp"
#include "torvyn/reactor/stage.hpp"
#include "torvyn/resources/element.hpp"

namespace torvyn {

struct FlowReport;

// How a path ended when it was not delivered.
enum class PathEnd : std::uint8_t { filtered, dropped, failed, dead_lettered, aggregated };

// The flow's nodes and edges, by the indices the events use.
struct FlowTopology {
    std::string flow;
    std::vector<std::string> nodes;
    std::vector<Role> roles;
    std::vector<std::string> edges;  // "a -> b", "router.port -> b"
    // Per edge, by the same index: the nodes it joins and its queue.
    struct Link {
        std::uint32_t from = 0;
        std::uint32_t to = 0;
        std::uint32_t capacity = 0;
        bool dead_letter = false;  // to the `from` node's dead-letter sink
    };
    std::vector<Link> links;
    std::chrono::steady_clock::time_point created;
};

// The kinds of event, for FlowObserver::events(): the flow skips the work of
// an event (clock reads, counting) that no observer listens to.
enum ObserverEvents : std::uint32_t {
    kCallEvents = 1U << 0,         // on_call
    kCopyEvents = 1U << 1,         // on_copied
    kPathEvents = 1U << 2,         // on_emitted, on_delivered, on_ended
    kQueueEvents = 1U << 3,        // on_queue
    kPressureEvents = 1U << 4,     // on_pressure
    kContainmentEvents = 1U << 5,  // on_contained, on_restarted
    kErrorEvents = 1U << 6,        // on_error
    kVisitEvents = 1U << 7,        // on_visit: sampled elements only (RunOptions::sampling)
    kReplaceEvents = 1U << 8,      // on_replaced
    kSettleEvents = 1U << 9,       // on_settled
    kAllEvents = (1U << 10) - 1,
};

// How a traced element's visit of a node ended.
enum class VisitEnd : std::uint8_t {
    sent,           // on `sent_on` edges (a source's output, a transform, a pass, a route)
    delivered,      // a sink took it
    filtered,       // a filter or router kept it back, or a processor dropped it
    failed,         // the call failed and the element was given up
    dead_lettered,  // ... and sent to the node's dead-letter sink (sent_on = 1)
    aggregated,     // an aggregator absorbed it (what it derives is a visit of its own)
};
std::string_view visit_end_name(VisitEnd end);

inline constexpr std::uint32_t kNoEdgeIndex = ~0U;

// One sampled element's visit of one node: the call that handled it. Its
// span is `span`; its parent is `element.trace.parent` (0 at the root). An
// element a node made (a source's, an aggregator's) arrives on no edge.
struct Visit {
    std::uint32_t node = 0;
    std::uint32_t edge = kNoEdgeIndex;  // the edge it arrived on
    CallKind kind = CallKind::process;
    VisitEnd end = VisitEnd::sent;
    std::uint32_t sent_on = 0;
    const ElementRef& element;
    std::uint64_t span = 0;
    std::uint64_t call_start = 0;  // ticks() of the call that handled it
    std::uint64_t call_end = 0;
};

class FlowObserver {
public:
    virtual ~FlowObserver() = default;

    // What this observer listens to (on_start and on_finish always come).
    // Asked once, before the first call.
    [[nodiscard]] virtual std::uint32_t events() const { return kAllEvents; }

    // Before the first call.
    virtual void on_start(const FlowTopology& topology) { (void)topology; }
    // A call of node `node` ended after `ticks` (torvyn::ticks(); convert with
    // a TickScale of your own).
    virtual void on_call(std::uint32_t node, CallKind kind, std::uint64_t ticks,
                         CallStatus status) {
        (void)node, (void)kind, (void)ticks, (void)status;
    }
    // Payload copies a call of `node` made (both directions).
    virtual void on_copied(std::uint32_t node, std::uint64_t copies, std::uint64_t bytes) {
        (void)node, (void)copies, (void)bytes;
    }
    // A path started: an element emitted by a source or derived by an
    // aggregator. `e.born_ticks` is set while anyone observes.
    virtual void on_emitted(std::uint32_t node, const ElementRef& e) { (void)node, (void)e; }
    // A path ended at a sink, with its payload's size, at `now_ticks`.
    virtual void on_delivered(std::uint32_t sink, const ElementRef& e, std::uint64_t bytes,
                              std::uint64_t now_ticks) {
        (void)sink, (void)e, (void)bytes, (void)now_ticks;
    }
    // A path ended otherwise, at node `where` (at edge `where` when dropped).
    virtual void on_ended(PathEnd how, std::uint32_t where, std::uint64_t sequence) {
        (void)how, (void)where, (void)sequence;
    }
    // Edge `edge` holds `depth` elements now.
    virtual void on_queue(std::uint32_t edge, std::size_t depth) { (void)edge, (void)depth; }
    // Edge `edge` reached its high watermark (true) or drained to its low one.
    virtual void on_pressure(std::uint32_t edge, bool pressured) { (void)edge, (void)pressured; }
    // The host stopped node `node` or refused it (trap, deadline, limit,
    // budget), on element `element` (with trace context `trace`) when there
    // was one.
    virtual void on_contained(std::uint32_t node, const Error& why,
                              std::optional<std::uint64_t> element, const TraceContext* trace) {
        (void)node, (void)why, (void)element, (void)trace;
    }
    // A call of node `node` failed (on element `element`, with trace
    // context `trace`, when there was one), whatever its error policy then
    // did: every failed attempt of a retry too.
    virtual void on_error(std::uint32_t node, const Error& why,
                          std::optional<std::uint64_t> element, const TraceContext* trace) {
        (void)node, (void)why, (void)element, (void)trace;
    }
    // Node `node` got a fresh start after a trap (on-trap = "restart").
    virtual void on_restarted(std::uint32_t node, std::uint32_t restarts) {
        (void)node, (void)restarts;
    }
    // Node `node` got a new stage while the flow ran (Flow::replace_stage);
    // `generation` counts its swaps so far, this one included.
    virtual void on_replaced(std::uint32_t node, std::uint32_t generation) {
        (void)node, (void)generation;
    }
    // Source `node` settled elements (Stage::settled), or, while it waits
    // for the outside world, at most once a second: its totals so far and
    // its stage's own counters (a connector's redeliveries, outage time).
    virtual void on_settled(std::uint32_t node, std::uint64_t acked, std::uint64_t nacked,
                            std::span<const std::pair<std::string_view, std::uint64_t>> counters) {
        (void)node, (void)acked, (void)nacked, (void)counters;
    }
    // A sampled element visited a node (kVisitEvents). Comes after the
    // call's on_call, and before its outputs' visits.
    virtual void on_visit(const Visit& visit) { (void)visit; }
    // After the last call, with everything the flow counted.
    virtual void on_finish(const FlowReport& report) { (void)report; }
};

}  // namespace torvyn
