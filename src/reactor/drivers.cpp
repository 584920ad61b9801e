// One driver per role: what a stage's call means for the elements. A source
// produces paths; a processor transforms, a filter keeps or discards, a
// router chooses ports, an aggregator absorbs and derives, a sink delivers.
// To add a role: a driver here and a row in kDrivers (docs/architecture.md).
#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "flow_state.hpp"
#include "torvyn/core/guest_text.hpp"

namespace torvyn::detail {
namespace {

// A sink that asks to pause is left alone for this long, doubling while it
// keeps asking, up to the maximum.
constexpr std::chrono::microseconds kFirstPause{100};
constexpr std::chrono::microseconds kMaxPause{10'000};

std::string on_element(const ElementRef& in) {
    return fmt::format("failed on element {}:", in.sequence);
}

void filtered(State& s, Node& n, const ElementRef& in) {
    visited(s, n, in, n.input_edge, VisitEnd::filtered);
    ++n.report.filtered;
    ++s.report.filtered;
    s.lineage.end(in.origin, true);
    s.buffers.release(in.payload);
    s.listeners.notify(kPathEvents, [&](FlowObserver& o) {
        o.on_ended(PathEnd::filtered, n.host.id, in.sequence);
    });
}

// `from`: the (visited) input whose call derived it, when there was one.
void derive(State& s, Node& n, const Produced& out, ElementOrigin* origin,
            const ElementRef* from = nullptr) {
    ++s.report.derived;
    start_path(s, n, out, s.listeners.wants(kPathEvents) ? ticks() : 0, from, origin);
}

// --- the drivers -----------------------------------------------------------

void no_start(State&, Node&) {}

// Asks a source for up to `max` elements in one call (pull, or pull_batch
// when more than one may go) and starts a path for each.
void source_pull(State& s, Node& n, std::size_t max) {
    std::vector<Produced>& outs = n.batch_out;
    n.host.edge_ledger = nullptr;
    // A wake that comes while the call runs (another driver thread may take
    // it) must not be lost to the "pending" the call then answers.
    const std::uint64_t wakes = s.wakes;
    const CallResult r = call_with_retries(s, n, CallKind::pull, std::nullopt, [&] {
        outs.clear();
        if (max > 1) {
            return n.stage->pull_batch(max, outs);
        }
        return n.stage->pull(outs.emplace_back());
    });
    if (!r.ok()) {
        // A failed pull produced no element (what it made goes back), so
        // there is nothing to account for; under skip/retry/dead-letter the
        // source is simply asked again.
        for (const Produced& out : outs) {
            if (out.present) {
                s.buffers.release(out.payload);
            }
        }
        on_call_failure(s, n, r, "failed in pull:");
        return;
    }
    for (Produced& out : outs) {
        if (out.pending) {
            // An outage shows in the metrics while it lasts.
            if (s.listeners.wants(kSettleEvents) &&
                Clock::now() - n.counters_published >= std::chrono::seconds(1)) {
                publish_counters(s, n);
            }
            n.waiting = wakes == s.wakes;
            n.waiting_until =
                out.retry_after.count() > 0
                    ? Clock::now() + std::chrono::duration_cast<Clock::duration>(out.retry_after)
                    : Clock::time_point::max();
            break;
        }
        if (!out.present) {
            n.done = true;  // exhausted
            break;
        }
        ++s.report.emitted;
        // A path's latency starts when the source's call began (before it
        // produced the element), as in the benchmarks Torvyn is compared with.
        start_path(s, n, out, s.listeners.wants(kPathEvents) ? n.call_started : 0, nullptr,
                   s.lineage.begin(n.host.id, out));
    }
    // Published now too, so that an element stuck in a call downstream
    // still shows as in flight to a reader on another thread.
    s.publish_progress(false);
}

// A processor's successful call on `in`: its output goes on, or it was dropped.
void processed(State& s, Node& n, const ElementRef& in, const Produced& out) {
    if (!out.present) {
        filtered(s, n, in);
        return;
    }
    s.buffers.release(in.payload);
    // A transform keeps its input's identity (and trace) unless it sets its own.
    ++n.report.elements_out;
    ElementRef next = visited(s, n, in, n.input_edge, VisitEnd::sent, n.outputs.size());
    next.sequence = out.sequence != 0 ? out.sequence : in.sequence;
    next.timestamp_ns = out.timestamp_ns != 0 ? out.timestamp_ns : in.timestamp_ns;
    next.payload = out.payload;
    forward(s, n.outputs, next);
}

void processor_step(State& s, Node& n, const ElementRef& in, std::uint32_t) {
    Produced out;
    const CallResult r = call_with_retries(s, n, CallKind::process, in.sequence,
                                           [&] { return n.stage->process(in, out); });
    if (!r.ok()) {
        on_failure(s, n, in, r, on_element(in));
        return;
    }
    processed(s, n, in, out);
}

// A batch call that failed as a whole (trap, deadline, limit) fails every
// element of it: the first follows the node's policy, the others are given
// up with it.
void batch_failed(State& s, Node& n, std::span<const ElementRef> in, const CallResult& r) {
    on_failure(s, n, in.front(), r, on_element(in.front()));
    for (std::size_t i = 1; i < in.size(); ++i) {
        give_up(s, n, in[i]);
    }
}

// Runs `each_element(i)` for the elements of a batch whose call succeeded:
// an element's own failure follows the node's policy; after one stopped the
// node, the rest go with it. `not_taken(i)` is told of every element that
// each_element will not see (to release what the call made for it).
template <class Each, class NotTaken>
void batch_results(State& s, Node& n, std::span<const ElementRef> in,
                   std::span<const CallResult> each, Each each_element, NotTaken not_taken) {
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (!each[i].ok()) {
            not_taken(i);
            on_failure(s, n, in[i], each[i], on_element(in[i]));
        } else if (n.stopped) {
            not_taken(i);
            give_up(s, n, in[i]);
        } else {
            each_element(i);
        }
    }
}

template <class Each>
void batch_results(State& s, Node& n, std::span<const ElementRef> in,
                   std::span<const CallResult> each, Each each_element) {
    batch_results(s, n, in, each, each_element, [](std::size_t) {});
}

// Several elements in one call (the scheduler room-checked them all). Each
// element's own result decides its fate as in processor_step; whatever a
// failed element or a failed call made is released.
void processor_batch(State& s, Node& n, std::span<const ElementRef> in, std::uint32_t) {
    std::vector<Produced>& out = n.batch_out;
    std::vector<CallResult>& each = n.batch_results;
    out.assign(in.size(), Produced{});
    each.assign(in.size(), CallResult{});
    const CallResult r = call_with_retries(s, n, CallKind::process, std::nullopt,
                                           [&] { return n.stage->process_batch(in, out, each); });
    const auto release_output = [&](std::size_t i) {
        if (out[i].present) {
            s.buffers.release(out[i].payload);
        }
    };
    if (!r.ok()) {
        for (std::size_t i = 0; i < in.size(); ++i) {
            release_output(i);
        }
        batch_failed(s, n, in, r);
        return;
    }
    batch_results(
        s, n, in, each, [&](std::size_t i) { processed(s, n, in[i], out[i]); }, release_output);
}

void filter_step(State& s, Node& n, const ElementRef& in, std::uint32_t) {
    bool accepted = false;
    const CallResult r = call_with_retries(s, n, CallKind::accept, in.sequence,
                                           [&] { return n.stage->accept(in, accepted); });
    if (!r.ok()) {
        on_failure(s, n, in, r, on_element(in));
    } else if (accepted) {
        ++n.report.elements_out;
        // The same buffer, no copy.
        forward(s, n.outputs, visited(s, n, in, n.input_edge, VisitEnd::sent, n.outputs.size()));
    } else {
        filtered(s, n, in);
    }
}

void filter_batch(State& s, Node& n, std::span<const ElementRef> in, std::uint32_t) {
    std::vector<CallResult>& each = n.batch_results;
    std::vector<std::uint8_t>& kept = n.batch_kept;
    each.assign(in.size(), CallResult{});
    kept.assign(in.size(), 0);
    const CallResult r = call_with_retries(s, n, CallKind::accept, std::nullopt,
                                           [&] { return n.stage->accept_batch(in, kept, each); });
    if (!r.ok()) {
        batch_failed(s, n, in, r);
        return;
    }
    batch_results(s, n, in, each, [&](std::size_t i) {
        if (kept[i] != 0) {
            ++n.report.elements_out;
            // The same buffer, no copy.
            forward(s, n.outputs,
                    visited(s, n, in[i], n.input_edge, VisitEnd::sent, n.outputs.size()));
        } else {
            filtered(s, n, in[i]);
        }
    });
}

// Routers declare their ports once, after init; they must match the edges.
void router_start(State& s, Node& n) {
    std::vector<std::string> declared;
    const CallResult r = call_once(s, n, CallKind::ports, [&] { return n.stage->ports(declared); });
    if (!r.ok()) {
        fail_node(s, n, r, "failed in ports:");
        return;
    }
    for (auto& d : declared) {
        d = escape_guest_text(d);  // guest text, shown in the errors
    }
    for (auto& e : check_router_ports(s.spec, n.spec, declared, "it declares")) {
        fail_flow(s, std::move(e));
    }
}

void router_step(State& s, Node& n, const ElementRef& in, std::uint32_t) {
    std::vector<std::string>& chosen = n.route_scratch;
    CallResult r = call_with_retries(s, n, CallKind::route, in.sequence,
                                     [&] { return n.stage->route(in, chosen); });
    std::vector<std::uint32_t>& targets = n.route_targets;
    targets.clear();
    for (const auto& name : chosen) {
        if (!r.ok()) {
            break;
        }
        const auto port = std::find_if(n.ports.begin(), n.ports.end(),
                                       [&](const auto& p) { return p.first == name; });
        if (port == n.ports.end()) {
            r = CallResult::guest(GuestErrorKind::internal,
                                  fmt::format("route returned '{}', which is not one of its ports",
                                              escape_guest_text(name)));
            break;
        }
        for (const auto e : port->second) {
            if (std::find(targets.begin(), targets.end(), e) == targets.end()) {
                targets.push_back(e);
            }
        }
    }
    if (!r.ok()) {
        on_failure(s, n, in, r, on_element(in));
    } else if (targets.empty()) {
        filtered(s, n, in);
    } else {
        ++n.report.elements_out;
        // Every port shares the buffer.
        forward(s, targets, visited(s, n, in, n.input_edge, VisitEnd::sent, targets.size()));
    }
}

void aggregator_step(State& s, Node& n, const ElementRef& in, std::uint32_t) {
    Produced out;
    const CallResult r = call_with_retries(s, n, CallKind::ingest, in.sequence,
                                           [&] { return n.stage->ingest(in, out); });
    if (!r.ok()) {
        on_failure(s, n, in, r, on_element(in));
        return;
    }
    s.buffers.release(in.payload);
    ++s.report.aggregated;
    s.lineage.absorb(n.host.id, in.origin);
    s.listeners.notify(kPathEvents, [&](FlowObserver& o) {
        o.on_ended(PathEnd::aggregated, n.host.id, in.sequence);
    });
    const ElementRef absorbed = visited(s, n, in, n.input_edge, VisitEnd::aggregated);
    if (out.present) {
        derive(s, n, out, s.lineage.derive(n.host.id, 1), &absorbed);
    }
}

// An aggregator flushes; what it returns waits in `pending` for room.
void aggregator_finish(State& s, Node& n) {
    n.flushed = true;
    std::vector<Produced> outs;
    const CallResult r = call_once(s, n, CallKind::flush, [&] { return n.stage->flush(outs); });
    if (!r.ok()) {
        fail_node(s, n, r, "failed in flush:");
        n.done = true;
        return;
    }
    hold_flushed(s, n, outs);
    emit_pending(s, n);
}

// A sink took `in`: delivered (or dead-lettered, when it arrived on a
// dead-letter edge), and its payload released.
void sink_took(State& s, Node& n, const ElementRef& in, std::uint32_t from) {
    visited(s, n, in, from, VisitEnd::delivered);
    s.lineage.end(in.origin, true);
    if (s.edges[from].report.dead_letter) {
        ++s.report.dead_lettered;
        s.listeners.notify(kPathEvents, [&](FlowObserver& o) {
            o.on_ended(PathEnd::dead_lettered, n.host.id, in.sequence);
        });
    } else {
        ++s.report.delivered;
        if (s.listeners.wants(kPathEvents)) {
            // The payload is still valid: the host releases it just below.
            std::uint64_t bytes = 0;
            s.buffers.size(in.payload, &bytes);
            const std::uint64_t now = ticks();
            s.listeners.notify(kPathEvents,
                               [&](FlowObserver& o) { o.on_delivered(n.host.id, in, bytes, now); });
        }
    }
    s.buffers.release(in.payload);
}

// A sink that asked to pause is left alone, longer while it keeps asking.
void sink_paced(Node& n, bool pause) {
    if (pause) {
        ++n.report.pauses;
        n.pause_backoff =
            n.pause_backoff.count() == 0 ? kFirstPause : std::min(n.pause_backoff * 2, kMaxPause);
        n.resume_at = Clock::now() + n.pause_backoff;
    } else {
        n.pause_backoff = std::chrono::microseconds{0};
    }
}

void sink_step(State& s, Node& n, const ElementRef& in, std::uint32_t from) {
    bool pause = false;
    // A dead-lettered element: the sink may ask why (why-dead-lettered).
    const std::optional<DeadLetterReason> why = take_dead_letter_reason(s, from, in);
    n.host.dead_letter = why ? &*why : nullptr;
    const CallResult r = call_with_retries(s, n, CallKind::push, in.sequence,
                                           [&] { return n.stage->push(in, pause); });
    n.host.dead_letter = nullptr;
    if (!r.ok()) {
        on_failure(s, n, in, r, on_element(in));
        return;
    }
    sink_took(s, n, in, from);
    sink_paced(n, pause);
}

void sink_batch(State& s, Node& n, std::span<const ElementRef> in, std::uint32_t from) {
    std::vector<CallResult>& each = n.batch_results;
    each.assign(in.size(), CallResult{});
    bool pause = false;
    const CallResult r = call_with_retries(s, n, CallKind::push, std::nullopt,
                                           [&] { return n.stage->push_batch(in, each, pause); });
    if (!r.ok()) {
        batch_failed(s, n, in, r);
        return;
    }
    batch_results(s, n, in, each, [&](std::size_t i) { sink_took(s, n, in[i], from); });
    sink_paced(n, pause);
}

void sink_finish(State& s, Node& n) {
    n.done = true;
    const CallResult r = call_once(s, n, CallKind::complete, [&] { return n.stage->complete(); });
    if (!r.ok()) {
        fail_node(s, n, r, "failed in complete:");
    }
}

void just_done(State&, Node& n) {
    n.done = true;
}

// Indexed by Role (core/role.hpp).
const std::array<Driver, 6> kDrivers = {{
    {no_start, source_pull, nullptr, just_done},                      // source
    {no_start, nullptr, processor_step, just_done, processor_batch},  // processor
    {no_start, nullptr, sink_step, sink_finish, sink_batch},          // sink
    {no_start, nullptr, filter_step, just_done, filter_batch},        // filter
    {router_start, nullptr, router_step, just_done},                  // router
    {no_start, nullptr, aggregator_step, aggregator_finish},          // aggregator
}};

}  // namespace

const Driver& driver_for(Role role) {
    static_assert(kDrivers.size() == 6, "one driver per role");
    return kDrivers[static_cast<std::size_t>(role)];
}

void start_path(State& s, Node& n, const Produced& out, std::uint64_t born_ticks,
                const ElementRef* from, ElementOrigin* origin) {
    ++n.report.elements_out;
    // The host numbers and stamps the element unless the stage did.
    ElementRef el;
    el.sequence = out.sequence != 0 ? out.sequence : n.report.elements_out - 1;
    el.timestamp_ns = out.timestamp_ns != 0 ? out.timestamp_ns : unix_now_ns();
    el.payload = out.payload;
    el.born_ticks = born_ticks;
    el.trace = s.paths.context_for(out, from);
    el.origin = origin;
    s.listeners.notify(kPathEvents, [&](FlowObserver& o) { o.on_emitted(n.host.id, el); });
    forward(s, n.outputs, visited(s, n, el, kNoEdge, VisitEnd::sent, n.outputs.size()));
}

void hold_flushed(State& s, Node& n, std::vector<Produced>& outs) {
    const auto made = static_cast<std::size_t>(
        std::count_if(outs.begin(), outs.end(), [](const Produced& p) { return p.present; }));
    ElementOrigin* origin = s.lineage.derive(n.host.id, made);
    for (Produced& p : outs) {
        if (p.present) {
            n.pending.push_back({std::move(p), origin});
        }
    }
}

void settle(State& s, Node& n) {
    std::vector<Settlement>& done = n.settlements;
    s.lineage.take(n.host.id, done);
    for (const Settlement& one : done) {
        ++(one.delivered ? n.report.acked : n.report.nacked);
    }
    {
        const FlowUnlocked unlocked(s);
        n.stage->settled(done);
    }
    publish_counters(s, n);
}

void publish_counters(State& s, Node& n) {
    if (!s.listeners.wants(kSettleEvents)) {
        return;
    }
    n.counters_published = Clock::now();
    std::vector<std::pair<std::string_view, std::uint64_t>> counters;
    n.stage->counters(counters);
    s.listeners.notify(kSettleEvents, [&](FlowObserver& o) {
        o.on_settled(n.host.id, n.report.acked, n.report.nacked, counters);
    });
}

ElementRef traced_visit(State& s, const Node& n, const ElementRef& in, std::uint32_t edge,
                        VisitEnd end, std::size_t sent_on) {
    const std::uint64_t span = visit_span(in.trace, n.host.id, edge);
    s.listeners.notify(kVisitEvents, [&](FlowObserver& o) {
        o.on_visit(Visit{n.host.id, edge, n.call_kind, end, static_cast<std::uint32_t>(sent_on), in,
                         span, n.call_started, n.call_ended});
    });
    ElementRef out = in;
    out.trace.parent = span;
    out.queued_ticks = 0;
    return out;
}

bool emit_pending(State& s, Node& n) {
    bool emitted = false;
    while (!n.pending.empty() && room_downstream(s, n) && !s.aborted) {
        derive(s, n, n.pending.front().out, n.pending.front().origin);
        n.pending.pop_front();
        emitted = true;
    }
    if (n.pending.empty()) {
        // After a replaced stage's flush the node goes on with its new one.
        n.done = !n.flush_resumes;
        n.flushed = n.done;
        n.flush_resumes = false;
    }
    return emitted;
}

}  // namespace torvyn::detail
