// The sweep: which node runs next. Nodes are visited upstream first, so an
// element a source emits crosses the whole flow in one sweep; a node runs
// only when it has input and every block edge it writes to has room; sources
// pause while a queue downstream is pressured, paced sources (max-rate) until
// their next pull is due, pending sources until their retry time or a
// stage's wake; sinks that ask to pause are left alone for a while. With
// nothing to run a driver thread waits, never spins. Stop requests, the
// flow's timeout and the drain deadline are checked once per sweep.
//
// A flow starts on one thread. When the manifest pins nodes to threads, or
// when its stages, measured as it runs, would go faster on several
// (placement.cpp), each thread sweeps its own nodes under the flow's lock,
// which a guest call does not hold; queues between threads wake the thread
// on the other side.
#include <algorithm>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "flow_state.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn::detail {
namespace {

// Calls per node per scheduling turn: large enough to amortise the sweep,
// small enough that every node gets its turn promptly.
constexpr int kBatch = 64;

// A flow that may use several threads is measured on one for this long
// before placement decides, then again every kMeasureAgain while it stays.
constexpr auto kMeasureFirst = std::chrono::milliseconds(50);
constexpr auto kMeasureAgain = std::chrono::milliseconds(250);
// Once spread, the flow must be faster over this long than it was on one
// thread, or it regroups.
constexpr auto kCheckSpread = std::chrono::milliseconds(200);
// An idle thread wakes this often to notice stop requests (a signal or a
// serve command sets a flag that cannot wake the flow); the flow's timeout
// and drain deadline are waited for exactly. 50 ms: a stop is still felt as
// instant, and an idle flow wakes 20 times a second, not 200.
constexpr auto kIdleCheck = std::chrono::milliseconds(50);

// What a sweep learned about when its thread has something to do again.
struct Idle {
    Clock::time_point resume_at = Clock::time_point::max();
    bool awaiting_wake = false;  // a source is pending until a stage wakes the flow
    [[nodiscard]] bool forever() const {
        return resume_at == Clock::time_point::max() && !awaiting_wake;
    }
};

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
        wake_drivers(s);
    }
}

// A stage woke the flow: some pending source has something (the waker does
// not say which, and asking costs a call each).
void ask_pending_sources_again(State& s) {
    ++s.wakes;
    for (auto& n : s.nodes) {
        n->waiting = false;
    }
    wake_drivers(s);
}

// A paced source (max-rate) may pull what has come due: the periods since
// its next pull was due, at most `most` (the thread wakes from a wait later
// than asked, so one pull per wake would cap the rate far below max-rate).
// Otherwise the sweep learns when it may. Late by more than kMaxPaceLag (a
// stall downstream), it goes on from now instead of catching up in a burst.
constexpr auto kMaxPaceLag = std::chrono::milliseconds(1);
std::size_t due(Node& n, Clock::time_point& earliest_resume, std::size_t most) {
    if (n.pull_period.count() == 0) {
        return most;
    }
    const auto now = Clock::now();
    if (now < n.next_pull) {
        earliest_resume = std::min(earliest_resume, n.next_pull);
        return 0;
    }
    const auto periods = static_cast<std::size_t>((now - n.next_pull) / n.pull_period) + 1;
    const std::size_t k = std::min(most, periods);
    n.next_pull += n.pull_period * static_cast<Clock::rep>(k);
    if (now - n.next_pull > kMaxPaceLag) {
        n.next_pull = now;
    }
    return k;
}

// Runs a source up to source-batch times while there is demand (once per
// period when it is paced).
bool run_source(State& s, Node& n, const Driver& d, Idle& idle) {
    if (s.stopping || n.stopped) {
        n.done = true;
        return true;
    }
    if (n.waiting) {
        if (n.waiting_until == Clock::time_point::max()) {
            idle.awaiting_wake = true;
            return false;
        }
        if (Clock::now() < n.waiting_until) {
            idle.resume_at = std::min(idle.resume_at, n.waiting_until);
            return false;
        }
        n.waiting = false;
    }
    bool progressed = false;
    const auto turn = static_cast<std::size_t>(s.source_batch);
    for (std::size_t i = 0; i < turn && !n.done && !n.stopped && !s.stopping && !n.waiting;) {
        update_pressure(s, n);
        if (n.paused_by_pressure || !room_downstream(s, n)) {
            break;
        }
        // A batched source is asked for what the turn and the queues allow
        // in one call; a paced one for what has come due of that.
        const std::size_t k =
            due(n, idle.resume_at, std::min({n.batch_limit, turn - i, room_for(s, n)}));
        if (k == 0) {
            break;
        }
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
    // A dead-letter sink takes its elements one at a time, each with its reason.
    return d.handle_batch != nullptr && n.batch_limit > 1 && n.inputs.size() == 1 &&
           !s.edges[n.inputs.front()].report.dead_letter && n.spec.on_error != ErrorPolicy::retry &&
           !n.stopped && !s.stopping;
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
        n.input_edge = from;
        n.host.element_trace = &batch.front().trace;  // the call's flow-context
        n.host.element_edge = from;
        n.host.call_elements = batch;
        d.handle_batch(s, n, batch, from);
        n.host.element_trace = nullptr;
        n.host.call_elements = {};
        taken += k;
        progressed = true;
    }
    return progressed;
}

bool run_one_by_one(State& s, Node& n, const Driver& d);

// Runs a node on up to kBatch input elements; finishes it when upstream is
// done and its inputs are empty.
bool run_consumer(State& s, Node& n, const Driver& d, Idle& idle) {
    if (n.flushed) {
        return emit_pending(s, n);
    }
    if (paused(n)) {
        idle.resume_at = std::min(idle.resume_at, n.resume_at);
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
        n.input_edge = from;
        if (n.stopped) {
            give_up(s, n, in);
            continue;
        }
        n.host.edge_ledger = &s.edges[from].report.copies;
        n.host.element_trace = &in.trace;  // the call's flow-context
        n.host.element_edge = from;
        n.host.call_elements = {&in, 1};
        d.handle(s, n, in, from);
        n.host.element_trace = nullptr;
        n.host.call_elements = {};
    }
    return progressed;
}

// One sweep over thread `me`'s nodes, upstream first. Returns whether
// anything ran.
bool sweep(State& s, std::uint32_t me, Idle& idle) {
    bool progressed = false;
    for (auto it = s.topo.begin(); it != s.topo.end() && !s.aborted; ++it) {
        Node& n = *s.nodes[*it];
        if (n.thread != me) {
            continue;
        }
        // A source hears what became of its elements even once it is done.
        if (s.lineage.waiting(*it)) [[unlikely]] {
            settle(s, n);
            progressed = true;
        }
        if (n.done) {
            continue;
        }
        const Driver& d = driver_for(n.spec.role);
        progressed |= role_info(n.spec.role).takes_input ? run_consumer(s, n, d, idle)
                                                         : run_source(s, n, d, idle);
        if (n.done) {
            wake_drivers(s);  // its consumers may finish now
        }
    }
    return progressed;
}

bool all_done(const State& s) {
    return std::all_of(s.nodes.begin(), s.nodes.end(), [](const auto& n) { return n->done; });
}

// With nothing to run anywhere and nothing to wait for, the flow is stuck.
bool stalled(const State& s, std::uint32_t me, const Idle& idle) {
    if (!idle.forever()) {
        return false;
    }
    for (std::uint32_t t = 0; t < s.crew.size(); ++t) {
        if (t != me && !(s.crew[t].sleeping && s.crew[t].until_woken)) {
            return false;
        }
    }
    return true;
}

// What measuring a flow decides after a sweep.
enum class Verdict : std::uint8_t { stay, spread, regroup };

// Measures a flow on its one thread and, once its stages would run faster
// on several, places them there; then checks that they do, and if they do
// not, brings them back to one thread (and measures again much later).
class Measuring {
public:
    explicit Measuring(State& s) : on_(s.max_threads > 1) { restart(s, kMeasureFirst); }

    // Thread 0, after each sweep (holding the flow's lock when shared).
    Verdict check(State& s) {
        if (!on_ || s.stopping || Clock::now() < due_) {
            return Verdict::stay;
        }
        const Measured m = measured(s);
        const double rate =
            static_cast<double>(m.elements) / (static_cast<double>(m.wall) * m.ns_per_tick);
        if (s.shared) {
            if (rate >= rate_alone_) {
                on_ = false;  // placed for good
                return Verdict::stay;
            }
            again_ *= 4;
            restart(s, again_);
            return Verdict::regroup;
        }
        const std::vector<std::uint32_t> runs = place_by_cost(m, s.max_threads);
        if (runs.empty()) {
            restart(s, again_);
            return Verdict::stay;
        }
        for (std::size_t i = 0; i < s.topo.size(); ++i) {
            s.nodes[s.topo[i]]->thread = runs[i];
        }
        rate_alone_ = rate;
        restart(s, kCheckSpread);
        return Verdict::spread;
    }

private:
    Measured measured(const State& s) const {
        Measured m;
        m.wall = std::max<std::uint64_t>(ticks() - started_, 1);
        m.elements = s.report.paths_ended() - ended_;
        m.ns_per_tick = scale_.ns_per_tick();
        for (std::size_t i = 0; i < s.topo.size(); ++i) {
            m.busy.push_back(s.nodes[s.topo[i]]->busy_ticks - busy_[i]);
        }
        return m;
    }

    void restart(const State& s, Clock::duration window) {
        due_ = Clock::now() + window;
        scale_ = TickScale();
        started_ = ticks();
        ended_ = s.report.paths_ended();
        busy_.clear();
        for (const std::uint32_t i : s.topo) {
            busy_.push_back(s.nodes[i]->busy_ticks);
        }
    }

    bool on_;
    Clock::duration again_ = kMeasureAgain;
    double rate_alone_ = 0;  // elements per ns before the nodes spread
    Clock::time_point due_;
    TickScale scale_;
    std::uint64_t started_ = 0;
    // Elements through the whole flow, not emitted: a source that fills the
    // queues after a change would make a slower flow look faster.
    std::uint64_t ended_ = 0;
    std::vector<std::uint64_t> busy_;
};

enum class Ended : std::uint8_t { finished, spread, regrouped };

// One driver thread's loop: sweeps its nodes until every node is done or the
// flow is aborted. Thread 0 (with `measuring`) may end it early for the
// nodes to spread over several threads (alone, `lock` null) or to regroup
// on one.
Ended drive_thread(State& s, std::uint32_t me, std::unique_lock<std::mutex>* lock,
                   Measuring* measuring) {
    for (;;) {
        if (s.regrouping) {
            return Ended::regrouped;
        }
        check_stop(s);
        if (s.aborted) {
            wake_drivers(s);
            return Ended::finished;
        }
        if (s.waker.take()) {
            ask_pending_sources_again(s);
        }
        if (s.swaps.posted()) [[unlikely]] {
            apply_swaps(s, me);
        }
        if (lock != nullptr) {
            s.crew[me].nudged = false;
        }
        Idle idle;
        const bool progressed = sweep(s, me, idle);
        s.publish_progress(false);
        if (all_done(s)) {
            wake_drivers(s);
            return Ended::finished;
        }
        if (measuring != nullptr) {
            switch (measuring->check(s)) {
                case Verdict::stay:
                    break;
                case Verdict::spread:
                    return Ended::spread;
                case Verdict::regroup:
                    s.regrouping = true;
                    wake_drivers(s);
                    return Ended::regrouped;
            }
        }
        if (progressed || (lock != nullptr && s.crew[me].nudged)) {
            continue;
        }
        if (stalled(s, me, idle)) {
            fail_flow(s,
                      Error(ErrorCode::internal,
                            fmt::format("flow '{}' stalled with elements in flight", s.spec.name)));
            s.aborted = true;
            wake_drivers(s);
            return Ended::finished;
        }
        // Only paused sinks, paced or pending sources, or other threads'
        // work are left: wait for the first, a stage's wake or another
        // thread, but wake up regularly to notice stop requests.
        auto until = std::min(idle.resume_at, Clock::now() + kIdleCheck);
        if (s.stopping) {
            until = std::min(until, s.drain_deadline);
        } else if (s.spec.timeout.count() > 0) {
            until = std::min(until, s.started + s.spec.timeout);
        }
        bool woken = false;
        if (lock == nullptr) {
            woken = s.waker.wait_until(until);
        } else {
            DriverThread& self = s.crew[me];
            self.sleeping = true;
            self.until_woken = idle.forever();
            woken = s.waker.wait_locked(*lock, until, [&] { return !self.sleeping; });
            self.sleeping = false;
        }
        if (woken) {
            ask_pending_sources_again(s);
        }
    }
}

// The nodes are placed on several threads: each drives its own, this one
// the first, until the flow is done or `measuring` regroups them.
Ended drive_shared(State& s, Measuring* measuring) {
    std::uint32_t threads = 1;
    for (const auto& n : s.nodes) {
        threads = std::max(threads, n->thread + 1);
    }
    s.crew.assign(threads, {});
    s.buffers.share();
    s.shared = true;
    std::unique_lock lock(s.waker.flow_lock());
    std::vector<std::thread> others;
    for (std::uint32_t t = 1; t < threads; ++t) {
        try {
            others.emplace_back([&s, t] {
                std::unique_lock own(s.waker.flow_lock());
                drive_thread(s, t, &own, nullptr);
            });
        } catch (const std::system_error& e) {
            // No thread to be had: this one drives what the others would
            // have (they wait for the lock, which this thread holds).
            for (auto& n : s.nodes) {
                n->thread = n->thread >= t ? 0 : n->thread;
            }
            s.warnings.emplace_back(ErrorCode::internal,
                                    fmt::format("flow '{}' runs on {} thread(s), not {}: {}",
                                                s.spec.name, t, threads, e.what()));
            s.crew.resize(t);
            break;
        }
    }
    const Ended ended = drive_thread(s, 0, &lock, measuring);
    lock.unlock();
    for (auto& t : others) {
        t.join();
    }
    // One thread again, for what follows (the run's end, or more of it).
    s.shared = false;
    s.buffers.share(false);
    s.crew.clear();
    if (ended == Ended::regrouped) {
        s.regrouping = false;
        for (auto& n : s.nodes) {
            n->thread = 0;
        }
    }
    return ended;
}

}  // namespace

void drive(State& s) {
    const bool pinned = place_pinned(s);
    if (!pinned) {
        const std::uint32_t cores = std::max(1u, std::thread::hardware_concurrency());
        s.max_threads = std::min<std::uint32_t>({s.spec.threads != 0 ? s.spec.threads : cores,
                                                 limits::kMaxFlowThreads,
                                                 static_cast<std::uint32_t>(s.nodes.size())});
    }
    if (pinned) {
        if (s.max_threads == 1) {
            drive_thread(s, 0, nullptr, nullptr);
        } else {
            drive_shared(s, nullptr);
        }
        return;
    }
    Measuring measuring(s);
    while (drive_thread(s, 0, nullptr, &measuring) == Ended::spread) {
        ++s.report.spreads;
        if (drive_shared(s, &measuring) != Ended::regrouped) {
            break;
        }
        ++s.report.regroups;
    }
}

}  // namespace torvyn::detail
