// The Flow facade: builds the graph, makes each node's stage, runs init →
// drive → teardown, and assembles the report. The work itself is done in
// the rooms listed in flow_state.hpp.
#include "torvyn/reactor/flow.hpp"

#include <random>

#include <fmt/format.h>

#include "flow_state.hpp"

namespace torvyn {
namespace {

using detail::Clock;

std::string random_hex(std::size_t bytes) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string out;
    for (std::size_t i = 0; i < bytes; ++i) {
        out += fmt::format("{:02x}", static_cast<unsigned>(rng() & 0xff));
    }
    return out;
}

}  // namespace

std::string_view visit_end_name(VisitEnd end) {
    switch (end) {
        case VisitEnd::sent:
            return "sent";
        case VisitEnd::delivered:
            return "delivered";
        case VisitEnd::filtered:
            return "filtered";
        case VisitEnd::failed:
            return "failed";
        case VisitEnd::dead_lettered:
            return "dead-lettered";
        case VisitEnd::aggregated:
            return "aggregated";
    }
    return "?";
}

std::string_view stop_reason_name(StopReason reason) {
    switch (reason) {
        case StopReason::completed:
            return "completed";
        case StopReason::failed:
            return "failed";
        case StopReason::timeout:
            return "timed out";
        case StopReason::interrupted:
            return "interrupted";
        case StopReason::forced:
            return "stopped (forced)";
    }
    return "unknown";
}

double FlowReport::elements_per_second() const {
    const double secs = std::chrono::duration<double>(wall).count();
    return secs > 0 ? static_cast<double>(emitted) / secs : 0.0;
}

void Flow::State::publish_progress(bool finished) {
    const Accounting& a = report;
    const BufferStats b = buffers.stats_now();
    progress.publish({a.emitted, a.derived, a.branches, a.delivered, a.filtered, a.dropped,
                      a.failed, a.dead_lettered, a.aggregated, finished ? 1u : 0u, b.bytes_held,
                      b.peak_bytes_held, pressured_queues});
}

Flow::Flow(std::unique_ptr<State> state) : s_(std::move(state)) {}
Flow::~Flow() = default;

const std::vector<Error>& Flow::warnings() const {
    return s_->warnings;
}

const std::string& Flow::name() const {
    return s_->spec.name;
}

void Flow::adopt(std::unique_ptr<FlowObserver> observer) {
    s_->options.observers.push_back(observer.get());
    s_->owned_observers.push_back(std::move(observer));
}

FlowProgress Flow::progress() const {
    const auto v = s_->progress.read();
    FlowProgress p;
    p.emitted = v[0];
    p.derived = v[1];
    p.branches = v[2];
    p.delivered = v[3];
    p.filtered = v[4];
    p.dropped = v[5];
    p.failed = v[6];
    p.dead_lettered = v[7];
    p.aggregated = v[8];
    p.finished = v[9] != 0;
    p.buffer_bytes = v[10];
    p.peak_buffer_bytes = v[11];
    p.pressured_queues = v[12];
    p.queues = s_->edges.size();
    return p;
}

Result<std::unique_ptr<Flow>> Flow::create(const FlowSpec& spec, const RunOptions& options,
                                           const StageFactory& make_stage) {
    BufferLimits limits;
    limits.max_bytes_held = spec.max_buffer_memory;
    auto s = std::make_unique<State>(limits);
    s->created = Clock::now();
    s->spec = spec;
    s->options = options;
    s->report.name = spec.name;
    s->context.flow_id = spec.name;
    s->context.trace_id = random_hex(16);
    s->context.span_id = random_hex(8);
    detail::build_graph(*s);
    s->lineage.start(s->nodes.size(), [st = s.get()](std::uint32_t node) {
        detail::wake_driver(*st, st->nodes[node]->thread);  // it may sleep on another thread
    });
    s->topology.created = s->created;
    for (std::uint32_t i = 0; i < s->nodes.size(); ++i) {
        detail::Node& n = *s->nodes[i];
        n.host.buffers = &s->buffers;
        n.host.ledger = &n.report.copies;
        n.host.id = i;
        n.host.name = n.spec.name;
        n.host.stop = options.stop;
        n.host.context = &s->context;
        n.host.guest_lines = options.guest_lines;
        n.host.context_handle = 1;
        s->buffers.set_owner_limit(i, n.spec.max_buffer_memory);
        StageSlot slot{s->spec, n.spec, n.host, n.report, s->warnings, s->waker};
        auto stage = make_stage(slot);
        if (!stage) {
            return std::move(stage).error();
        }
        n.stage = std::move(stage).value();
        // Asked once: a stage's batch limit does not change while it runs.
        n.batch_limit = std::min<std::size_t>(n.stage->batch_limit(), n.spec.batch);
    }
    s->report.startup = Clock::now() - s->created;
    s->source_batch = static_cast<int>(std::min<std::uint32_t>(spec.source_batch, 1024));
    return std::unique_ptr<Flow>(new Flow(std::move(s)));
}

FlowReport Flow::run() {
    State& s = *s_;
    s.started = Clock::now();
    const TickScale tick_scale;
    s.listeners.attach(s.options.observers);
    s.paths.start(s.options.sampling, s.listeners.wants(kVisitEvents));
    // Open before observers hear of the start: one that heard may swap.
    s.swaps.open();
    s.listeners.notify_all([&](FlowObserver& o) { o.on_start(s.topology); });

    // init every node, upstream first; then each driver's start (routers
    // check their ports) before any element moves.
    for (const auto i : s.topo) {
        detail::Node& n = *s.nodes[i];
        const CallResult r =
            detail::call_once(s, n, CallKind::init, [&] { return n.stage->init(n.spec.config); });
        if (!r.ok()) {
            detail::fail_node(s, n, r, "failed in init:", ErrorCode::guest_init_failed);
            break;
        }
        detail::driver_for(n.spec.role).start(s, n);
        if (s.report.error) {
            break;
        }
    }
    if (!s.report.error) {
        detail::drive(s);
    }
    detail::refuse_pending_swaps(s);
    detail::drain_queues(s);
    for (const auto i : s.topo) {
        detail::Node& n = *s.nodes[i];
        if (s.lineage.waiting(i) && !n.torn_down) {
            detail::settle(s, n);
        }
        if (!s.aborted) {
            detail::teardown(s, n);
        }
        std::vector<std::pair<std::string_view, std::uint64_t>> counters;
        n.stage->counters(counters);
        for (const auto& [name, value] : counters) {
            n.report.counters.emplace_back(name, value);
        }
        // Let go of every stage now, so what it held returns to the pool
        // before the statistics are read.
        n.stage->close();
        s.buffers.reclaim(i);
    }
    const auto now = Clock::now();
    s.report.wall = now - s.started;
    for (auto& e : s.edges) {
        if (e.pressured) {
            e.report.pressured += now - e.pressured_since;
        }
        s.report.edges.push_back(e.report);
    }
    const double ns_per_tick = tick_scale.ns_per_tick();
    for (std::uint32_t i = 0; i < s.nodes.size(); ++i) {
        auto& n = *s.nodes[i];
        n.report.busy = std::chrono::nanoseconds(
            static_cast<std::int64_t>(static_cast<double>(n.busy_ticks) * ns_per_tick));
        n.report.peak_buffer_bytes = s.buffers.peak_held_by(i);
        n.report.host_calls = n.host.host_calls;
        n.report.thread = n.thread + 1;
        s.report.threads = std::max(s.report.threads, n.report.thread);
        s.report.copies += n.report.copies;
        s.report.nodes.push_back(n.report);
    }
    s.report.buffers = s.buffers.stats();
    for (auto& f : s.recent_failures) {
        s.report.failures.push_back(std::move(f));
    }
    s.recent_failures.clear();
    s.report.failures_allowed = s.spec.allow_failures || s.options.allow_failures;
    s.publish_progress(true);
    s.listeners.notify_all([&](FlowObserver& o) { o.on_finish(s.report); });
    return s.report;
}

}  // namespace torvyn
