// Replacing a node's stage while its flow runs (Flow::replace_stage), for
// live upgrades. A request waits in the flow's mailbox until the thread that
// drives the node reaches the top of its loop: there the node is between two
// calls, none of its elements is inside a stage, and what is queued for it
// stays queued for the new stage. Whatever can fail (making the new stage,
// its init, a handover's snapshot and restore, a router's ports, an
// aggregator's flush) is done before the old stage goes, so a refused swap
// changes nothing. Stage calls and the factory run without the flow's lock
// (FlowUnlocked), as every call does, so a flow's other threads go on.
// Buffers an old guest instance still owned are reclaimed when the run ends,
// not at the swap: the store reclaims by node, and the new instance is the
// same node.
#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "flow_state.hpp"
#include "torvyn/core/guest_text.hpp"
#include "torvyn/core/suggest.hpp"

namespace torvyn {

std::string_view swap_state_name(SwapState state) {
    switch (state) {
        case SwapState::flush:
            return "flush";
        case SwapState::reset:
            return "reset";
        case SwapState::handover:
            return "handover";
    }
    return "?";
}

namespace detail {
namespace {

constexpr std::string_view kOldRunsOn = "the node's old stage runs on unchanged";

Error refusal(const Node& n, std::string_view why, std::string_view hint) {
    return Error(ErrorCode::swap_refused,
                 fmt::format("node '{}' was not replaced: {}", n.spec.name, why),
                 n.spec.where.str(), std::string(hint));
}

// "failed in init: returned error invalid-input: bad config"
std::string failed_in(std::string_view call, const CallResult& r) {
    std::string what = r.status == CallStatus::guest_error
                           ? fmt::format("returned error {}", guest_error_kind_name(r.guest_kind))
                           : std::string(call_status_name(r.status));
    if (!r.message.empty()) {
        // The first line says what happened (an engine's message may span lines).
        what += ": " + r.message.substr(0, r.message.find('\n'));
    }
    return fmt::format("failed in {}: {}", call, what);
}

// Flush exists for aggregators only, and only a stage that can still be
// called (no trap, no fatal error) can flush: otherwise the state is lost.
SwapState settle(const Node& n, SwapState want) {
    const bool can_flush = n.spec.role == Role::aggregator && !n.dead && !n.torn_down;
    return want == SwapState::flush && !can_flush ? SwapState::reset : want;
}

// A new stage that will not be installed: torn down when its init ran, and
// closed.
void discard(State& s, Node& n, std::unique_ptr<Stage> fresh, bool initialised) {
    if (initialised) {
        (void)call_once(s, n, CallKind::teardown, [&] { return fresh->teardown(); });
    }
    const FlowUnlocked unlocked(s);
    fresh->close();
    fresh.reset();
}

// A router's new stage must declare the ports its edges name, as at the start.
std::optional<Error> check_ports(State& s, Node& n, Stage& fresh) {
    std::vector<std::string> declared;
    const CallResult r = call_once(s, n, CallKind::ports, [&] { return fresh.ports(declared); });
    if (!r.ok()) {
        return refusal(n, "the new stage " + failed_in("ports", r), kOldRunsOn);
    }
    for (auto& d : declared) {
        d = escape_guest_text(d);  // guest text, shown in the message
    }
    const std::vector<Error> errors =
        check_router_ports(s.spec, n.spec, declared, "the new stage declares");
    if (errors.empty()) {
        return std::nullopt;
    }
    std::vector<std::string> why;
    for (const Error& e : errors) {
        why.push_back(e.message);
    }
    return refusal(
        n, fmt::format("{}", fmt::join(why, "; ")),
        fmt::format("a router's new stage declares the ports its edges name; {}", kOldRunsOn));
}

// Everything up to the point of no return; then the old stage goes.
Result<SwapOutcome> apply(State& s, PendingSwap& p) {
    Node& n = *s.nodes[p.node];
    const auto t0 = Clock::now();
    const StageSwap& want = p.request;
    SwapOutcome out;
    out.node = n.spec.name;
    out.thread = n.thread + 1;
    out.waited = t0 - p.posted;
    if (n.done || (n.flushed && !n.flush_resumes)) {
        return refusal(n, "it has finished (everything upstream is done and its inputs are empty)",
                       "a new stage would get no element; replace it before it finishes");
    }
    SwapState how = settle(n, want.state);
    const auto fall_back = [&] {
        how = settle(n, *want.fallback);
        out.fell_back = true;
    };
    // The old stage's state first: refusing it changes nothing.
    std::vector<std::byte> state;
    if (how == SwapState::handover) {
        const CallResult r =
            !n.dead && !n.torn_down
                ? call_once(s, n, CallKind::snapshot, [&] { return n.stage->snapshot(state); })
                : CallResult::failure(CallStatus::internal, "it stopped and cannot be called");
        if (!r.ok() && !want.fallback) {
            return refusal(
                n, "its state cannot be handed over: the old stage " + failed_in("snapshot", r),
                "ask for state flush or reset, or give a fallback");
        }
        if (!r.ok()) {
            fall_back();
        }
    }
    // The new stage is made, initialised (and given the state) while the
    // old one stays in place.
    NodeReport learned;  // what making it teaches (a compile-cache hit, a language)
    Result<std::unique_ptr<Stage>> made = Error();
    {
        StageSlot slot{s.spec, n.spec, n.host, learned, out.warnings, s.waker};
        const FlowUnlocked unlocked(s);
        made = want.make(slot);
    }
    if (!made || !made.value()) {
        const Error e = made ? Error(ErrorCode::internal, "the factory made no stage")
                             : std::move(made).error();
        return refusal(
            n,
            fmt::format("the new stage could not be made: {} ({})", e.message,
                        error_code_name(e.code)),
            e.hint.empty() ? std::string(kOldRunsOn) : fmt::format("{}; {}", e.hint, kOldRunsOn));
    }
    std::unique_ptr<Stage> fresh = std::move(made).value();
    CallResult r = call_once(s, n, CallKind::init, [&] { return fresh->init(n.spec.config); });
    if (!r.ok()) {
        discard(s, n, std::move(fresh), false);
        return refusal(n, "the new stage " + failed_in("init", r), kOldRunsOn);
    }
    if (how == SwapState::handover) {
        r = call_once(s, n, CallKind::restore, [&] { return fresh->restore(state); });
        // A stage that trapped in restore cannot go on, whatever the fallback.
        if (!r.ok() && (!want.fallback || r.instance_dead())) {
            discard(s, n, std::move(fresh), !r.instance_dead());
            return refusal(
                n, "its state cannot be handed over: the new stage " + failed_in("restore", r),
                "ask for state flush or reset, or give a fallback");
        }
        if (!r.ok()) {
            fall_back();
        } else {
            out.snapshot_bytes = state.size();
        }
    }
    if (n.spec.role == Role::router) {
        if (std::optional<Error> e = check_ports(s, n, *fresh)) {
            discard(s, n, std::move(fresh), true);
            return std::move(*e);
        }
    }
    if (how == SwapState::flush) {
        // As at the end of a run: the outputs wait in `pending` for room, and
        // go before anything the new stage makes.
        std::vector<Produced> outs;
        r = call_once(s, n, CallKind::flush, [&] { return n.stage->flush(outs); });
        if (!r.ok()) {
            for (const Produced& o : outs) {
                if (o.present) {
                    s.buffers.release(o.payload);
                }
            }
            discard(s, n, std::move(fresh), true);
            return refusal(n, "the old stage " + failed_in("flush", r),
                           "its state stays with it; ask for state reset to discard it");
        }
        hold_flushed(s, n, outs);
        n.flushed = n.flush_resumes = !n.pending.empty();
        out.flushed = outs.size();
    }
    // The point of no return.
    teardown(s, n);  // unless a trap or a fatal error ended it
    std::unique_ptr<Stage> old = std::exchange(n.stage, std::move(fresh));
    {
        const FlowUnlocked unlocked(s);
        old->close();
        old.reset();
    }
    out.revived = n.stopped;
    n.stopped = n.dead = n.torn_down = false;
    n.report.stopped = false;
    n.batch_limit = std::min<std::size_t>(n.stage->batch_limit(), n.spec.batch);
    n.pause_backoff = {};  // a sink's pauses were the old stage's
    if (!learned.language.empty()) {
        n.report.language = learned.language;
    }
    n.report.cache_hit = learned.cache_hit;
    out.generation = ++n.report.swaps;
    out.state = how;
    for (const std::uint32_t e : n.inputs) {
        out.queued += s.edges[e].queue.size();
    }
    out.pause = Clock::now() - t0;
    s.listeners.notify(kReplaceEvents,
                       [&](FlowObserver& o) { o.on_replaced(n.host.id, out.generation); });
    wake_drivers(s);  // a revived node's neighbours, a flush's consumers
    return out;
}

}  // namespace

void apply_swaps(State& s, std::uint32_t me) {
    std::vector<std::uint32_t> others;
    std::vector<PendingSwap> mine = s.swaps.take([&](const PendingSwap& p) {
        const std::uint32_t t = s.shared ? s.nodes[p.node]->thread : me;
        if (t != me) {
            others.push_back(t);
        }
        return t == me;
    });
    for (const std::uint32_t t : others) {
        wake_driver(s, t);
    }
    for (PendingSwap& p : mine) {
        p.answer.set_value(apply(s, p));
    }
}

void refuse_pending_swaps(State& s) {
    for (PendingSwap& p : s.swaps.close()) {
        p.answer.set_value(Result<SwapOutcome>(
            refusal(*s.nodes[p.node], fmt::format("flow '{}' ended before the swap", s.spec.name),
                    "the flow is over; replace the stage in the next run")));
    }
}

}  // namespace detail

std::future<Result<SwapOutcome>> Flow::replace_stage(StageSwap swap) {
    using detail::SwapMailbox;
    State& s = *s_;
    detail::PendingSwap p;
    p.posted = detail::Clock::now();
    std::future<Result<SwapOutcome>> answer = p.answer.get_future();
    const auto refuse = [&](Error e) {
        p.answer.set_value(Result<SwapOutcome>(std::move(e)));
        return std::move(answer);
    };
    // Names, roles and the node list do not change while the flow runs.
    const auto it = std::find_if(s.nodes.begin(), s.nodes.end(),
                                 [&](const auto& n) { return n->spec.name == swap.node; });
    if (it == s.nodes.end()) {
        std::vector<std::string> names;
        for (const auto& n : s.nodes) {
            names.push_back(n->spec.name);
        }
        return refuse(Error(ErrorCode::swap_refused,
                            fmt::format("flow '{}' has no node '{}' to replace", s.spec.name,
                                        escape_guest_text(swap.node)),
                            s.spec.where.str(),
                            fmt::format("{}its nodes: {}", did_you_mean(swap.node, names),
                                        fmt::join(names, ", "))));
    }
    const detail::Node& n = **it;
    if (n.spec.role == Role::source) {
        return refuse(detail::refusal(
            n, "a source cannot be replaced while it runs",
            "a new source would start over from its first element; stop the flow and run it "
            "with the new component"));
    }
    if (!swap.make) {
        return refuse(detail::refusal(n, "no factory was given", "set StageSwap::make"));
    }
    if (swap.fallback == SwapState::handover) {
        return refuse(detail::refusal(n, "a handover cannot be its own fallback",
                                      "give flush or reset as the fallback, or none"));
    }
    p.request = std::move(swap);
    p.node = static_cast<std::uint32_t>(it - s.nodes.begin());
    switch (s.swaps.post(p)) {
        case SwapMailbox::Phase::running:
            // An idle flow sleeps on its waker: it takes the swap now.
            s.waker.wake();
            return answer;
        case SwapMailbox::Phase::before:
            return refuse(detail::refusal(
                n, fmt::format("flow '{}' is not running", s.spec.name),
                "replace a stage while run() is in progress; before, make the flow with it"));
        case SwapMailbox::Phase::after:
            break;
    }
    return refuse(detail::refusal(n, fmt::format("flow '{}' has finished", s.spec.name),
                                  "the flow is over; replace the stage in the next run"));
}

}  // namespace torvyn
