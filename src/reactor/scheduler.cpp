// The sweep: which node runs next. Nodes are visited upstream first, so an
// element a source emits crosses the whole flow in one sweep; a node runs
// only when it has input and every block edge it writes to has room; sources
// pause while a queue downstream is pressured, paced sources (max-rate) until
// their next pull is due, pending sources until their retry time or a
// stage's wake; sinks that ask to pause are left alone for a while. With
// nothing to run the flow's thread waits, never spins. Stop requests, the
// flow's timeout and the drain deadline are checked once per sweep.
#include <algorithm>

#include <fmt/format.h>

#include "flow_state.hpp"

namespace torvyn::detail {
namespace {

// Calls per node per scheduling turn: large enough to amortise the sweep,
// small enough that every node gets its turn promptly.
constexpr int kBatch = 64;

// A sink that asked to pause is left alone until resume_at; the clock is
// read only for a sink that has asked (the hot path reads none).
bool paused(const Node& n) {
    return n.pause_backoff.count() != 0 && n.resume_at > Clock::now();
}

// Sources pause while a watched queue is between its watermarks, and are
// told so.
void update_pressure(State& s, Node& n) {
    const bool pressured = std::any_of(n.watched.begin(), n.watched.end(),
                                       [&](std::uint32_t e) { return s.edges[e].pressured; });
    if (pressured == n.paused_by_pressure) {
        return;
    }
    n.paused_by_pressure = pressured;
    const CallResult r =
        call_once(s, n, CallKind::notify, [&] { return n.stage->notify(pressured); });
    if (!r.ok()) {
        fail_node(s, n, r, "failed in notify:");
    }
}

void check_stop(State& s) {
    const bool timed = s.stopping || s.spec.timeout.count() > 0;
    const auto now = timed ? Clock::now() : Clock::time_point{};
    const int request = s.options.stop != nullptr ? s.options.stop->load() : 0;
    if (request == static_cast<int>(StopRequest::forced) ||
        (s.stopping && now >= s.drain_deadline)) {
        s.aborted = true;
        if (s.report.stop == StopReason::completed || s.report.stop == StopReason::interrupted) {
            s.report.stop = StopReason::forced;
        }
        return;
    }
    if (!s.stopping && request == static_cast<int>(StopRequest::graceful)) {
        s.stopping = true;
        s.report.stop = StopReason::interrupted;
    }
    if (!s.stopping && s.spec.timeout.count() > 0 && now - s.started >= s.spec.timeout) {
        fail_flow(s, Error(ErrorCode::flow_timeout,
                           fmt::format("flow '{}' ran longer than its timeout of {} ms",
                                       s.spec.name, s.spec.timeout.count()),
                           s.spec.where.str(), "raise the flow's timeout"));
        s.report.stop = StopReason::timeout;
    }
    if (s.stopping && s.drain_deadline == Clock::time_point::max()) {
        s.drain_deadline = Clock::now() + s.spec.drain_timeout;
    }
}

// A stage woke the flow: some pending source has something (the waker does
// not say which, and asking costs a call each).
void ask_pending_sources_again(State& s) {
    for (auto& n : s.nodes) {
        n->waiting = false;
    }
}

// A paced source (max-rate) may pull when its time has come; otherwise the
// sweep learns when it may.
bool due(Node& n, Clock::time_point& earliest_resume) {
    if (n.pull_period.count() == 0) {
        return true;
    }
    const auto now = Clock::now();
    if (now < n.next_pull) {
        earliest_resume = std::min(earliest_resume, n.next_pull);
        return false;
    }
    // On schedule, without a burst to catch up after a stall downstream.
    n.next_pull = std::max(n.next_pull + n.pull_period, now);
    return true;
}

// Runs a source up to source-batch times while there is demand (once per
// period when it is paced).
bool run_source(State& s, Node& n, const Driver& d, Clock::time_point& earliest_resume) {
    if (s.stopping || n.stopped) {
        n.done = true;
        return true;
    }
    if (n.waiting) {
        if (n.waiting_until == Clock::time_point::max()) {
            s.awaiting_wake = true;
            return false;
        }
        if (Clock::now() < n.waiting_until) {
            earliest_resume = std::min(earliest_resume, n.waiting_until);
            return false;
        }
        n.waiting = false;
    }
    bool progressed = false;
    const auto turn = static_cast<std::size_t>(s.source_batch);
    for (std::size_t i = 0; i < turn && !n.done && !n.stopped && !s.stopping && !n.waiting;) {
        update_pressure(s, n);
        if (n.paused_by_pressure || !room_downstream(s, n) || !due(n, earliest_resume)) {
            break;
        }
        // A batched source is asked for what the turn and the queues allow
        // in one call; a paced one for one element at its time.
        const std::size_t k =
            n.pull_period.count() > 0 ? 1 : std::min({n.batch_limit, turn - i, room_for(s, n)});
        d.produce(s, n, k);
        i += k;
        progressed = true;
    }
    return progressed;
}

[[nodiscard]] bool upstream_done(const State& s, const Node& n) {
    return std::all_of(n.inputs.begin(), n.inputs.end(),
                       [&](std::uint32_t e) { return s.nodes[s.edges[e].from]->done; });
}

// Whether `n` takes its elements in batches: its stage says it can, its
// driver has a batch form, and each batch comes from its one input. (Retries
// are per element, so a node that retries takes them one at a time.)
bool batched(const State& s, const Node& n, const Driver& d) {
    return d.handle_batch != nullptr && n.batch_limit > 1 && n.inputs.size() == 1 &&
           n.spec.on_error != ErrorPolicy::retry && !n.stopped && !s.stopping;
}

// Hands a batched node what is waiting, in batches of at most its limit
// and what every queue downstream can take, up to kBatch elements a turn.
bool run_batches(State& s, Node& n, const Driver& d) {
    const std::uint32_t from = n.inputs.front();
    Queue& queue = s.edges[from].queue;
    std::vector<ElementRef>& batch = n.batch;
    bool progressed = false;
    for (std::size_t taken = 0; taken < static_cast<std::size_t>(kBatch) && !s.aborted &&
                                !n.stopped && !queue.empty() && !paused(n);) {
        const std::size_t k = std::min({n.batch_limit, queue.size(), room_for(s, n),
                                        static_cast<std::size_t>(kBatch) - taken});
        if (k == 0) {
            break;
        }
        batch.clear();
        for (std::size_t i = 0; i < k; ++i) {
            batch.push_back(pop(s, from));
        }
        n.report.elements_in += k;
        n.host.edge_ledger = &s.edges[from].report.copies;
        d.handle_batch(s, n, batch, from);
        taken += k;
        progressed = true;
    }
    return progressed;
}

bool run_one_by_one(State& s, Node& n, const Driver& d);

// Runs a node on up to kBatch input elements; finishes it when upstream is
// done and its inputs are empty.
bool run_consumer(State& s, Node& n, const Driver& d, Clock::time_point& earliest_resume) {
    if (n.flushed) {
        return emit_pending(s, n);
    }
    if (paused(n)) {
        earliest_resume = std::min(earliest_resume, n.resume_at);
        return false;
    }
    bool progressed = false;
    if (batched(s, n, d)) {
        progressed = run_batches(s, n, d);
    } else {
        progressed = run_one_by_one(s, n, d);
    }
    if (!has_input(s, n) && upstream_done(s, n)) {
        if (n.stopped || s.aborted) {
            n.done = true;
        } else {
            d.finish(s, n);
        }
        progressed = true;
    }
    return progressed;
}

// Hands `n` up to kBatch elements, one call each (a stopped node gives them
// up).
bool run_one_by_one(State& s, Node& n, const Driver& d) {
    bool progressed = false;
    for (int i = 0;
         i < kBatch && has_input(s, n) && (n.stopped || room_downstream(s, n)) && !paused(n); ++i) {
        const auto [in, from] = take_input(s, n);
        ++n.report.elements_in;
        progressed = true;
        if (n.stopped) {
            give_up(s, n, in);
            continue;
        }
        n.host.edge_ledger = &s.edges[from].report.copies;
        d.handle(s, n, in, from);
    }
    return progressed;
}

// One sweep over the nodes, upstream first. Returns whether anything ran.
bool sweep(State& s, Clock::time_point& earliest_resume) {
    bool progressed = false;
    for (auto it = s.topo.begin(); it != s.topo.end() && !s.aborted; ++it) {
        Node& n = *s.nodes[*it];
        if (n.done) {
            continue;
        }
        const Driver& d = driver_for(n.spec.role);
        progressed |= role_info(n.spec.role).takes_input ? run_consumer(s, n, d, earliest_resume)
                                                         : run_source(s, n, d, earliest_resume);
    }
    return progressed;
}

}  // namespace

void drive(State& s) {
    for (;;) {
        check_stop(s);
        if (s.aborted) {
            return;
        }
        if (s.waker.take()) {
            ask_pending_sources_again(s);
        }
        Clock::time_point earliest_resume = Clock::time_point::max();
        s.awaiting_wake = false;
        const bool progressed = sweep(s, earliest_resume);
        s.publish_progress(false);
        if (std::all_of(s.nodes.begin(), s.nodes.end(), [](const auto& n) { return n->done; })) {
            return;
        }
        if (!progressed) {
            if (earliest_resume == Clock::time_point::max() && !s.awaiting_wake) {
                fail_flow(s, Error(ErrorCode::internal,
                                   fmt::format("flow '{}' stalled with elements in flight",
                                               s.spec.name)));
                s.aborted = true;
                return;
            }
            // Only paused sinks, paced or pending sources are left to run:
            // wait for the first, or for a stage's wake, but wake up
            // regularly to notice stop requests.
            const auto until =
                std::min(earliest_resume, Clock::now() + std::chrono::milliseconds(5));
            if (s.waker.wait_until(until)) {
                ask_pending_sources_again(s);
            }
        }
    }
}

}  // namespace torvyn::detail
