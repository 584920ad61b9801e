#include "torvyn/observability/live.hpp"

#include <algorithm>
#include <thread>

#include "torvyn/core/ticks.hpp"

namespace torvyn {
namespace {

using Counter = std::atomic<std::uint64_t>;

// The one writer's increment: a load and a store, no locked instruction.
inline void bump(Counter& c, std::uint64_t by = 1) {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

inline std::uint64_t get(const Counter& c) {
    return c.load(std::memory_order_relaxed);
}

}  // namespace

std::string_view live_state_name(LiveState state) {
    switch (state) {
        case LiveState::linking:
            return "linking";
        case LiveState::running:
            return "running";
        case LiveState::finished:
            return "finished";
    }
    return "unknown";
}

struct LiveFlow::Counters {
    struct Node {
        Counter calls{0};
        Counter busy_ticks{0};
        std::array<Counter, kCallSecondsBounds.size() + 1> buckets{};  // not cumulative
        Counter filtered{0};
        Counter errors{0};
        Counter containments{0};
        Counter restarts{0};
        Counter swaps{0};
        Counter copies{0};
        Counter copied_bytes{0};
        // Under LiveFlow::mutex_ (errors are rare; settlements come in batches).
        std::vector<std::pair<ErrorCode, std::uint64_t>> errors_by_code;
        std::uint64_t acked = 0;
        std::uint64_t nacked = 0;
        std::vector<std::pair<std::string, std::uint64_t>> counters;
    };
    struct Edge {
        std::uint64_t last_depth = 0;  // the writer's own
        Counter depth{0};
        Counter peak{0};
        Counter pushed{0};
        Counter popped{0};
        Counter dropped{0};
        Counter pressured{0};  // 0 or 1
        Counter pressure_episodes{0};
        Counter pressure_ticks{0};  // ended pressures
        Counter pressured_since{0};
    };

    FlowTopology topology;
    double ns_per_tick = 1.0;
    // kCallSecondsBounds in ticks.
    std::array<std::uint64_t, kCallSecondsBounds.size()> bound_ticks{};
    std::unique_ptr<Node[]> nodes;
    std::unique_ptr<Edge[]> edges;
    std::chrono::system_clock::time_point started;
    std::chrono::steady_clock::time_point started_steady;
    std::chrono::steady_clock::time_point finished_steady;
};

LiveFlow::LiveFlow(std::uint64_t id, std::string name, std::uint64_t buffer_budget,
                   double ns_per_tick)
    : id_(id), name_(std::move(name)), buffer_budget_(buffer_budget), ns_per_tick_(ns_per_tick) {}

LiveFlow::~LiveFlow() = default;

void LiveFlow::track(std::function<FlowProgress()> progress) {
    const std::lock_guard lock(mutex_);
    progress_ = std::move(progress);
}

std::uint32_t LiveFlow::events() const {
    return kCallEvents | kCopyEvents | kPathEvents | kQueueEvents | kPressureEvents |
           kContainmentEvents | kErrorEvents | kReplaceEvents;
}

void LiveFlow::on_start(const FlowTopology& topology) {
    auto c = std::make_unique<Counters>();
    c->topology = topology;
    c->ns_per_tick = ns_per_tick_;
    for (std::size_t i = 0; i < kCallSecondsBounds.size(); ++i) {
        c->bound_ticks[i] =
            static_cast<std::uint64_t>(kCallSecondsBounds[i] * 1e9 / c->ns_per_tick);
    }
    c->nodes = std::make_unique<Counters::Node[]>(topology.nodes.size());
    c->edges = std::make_unique<Counters::Edge[]>(topology.edges.size());
    c->started = std::chrono::system_clock::now();
    c->started_steady = std::chrono::steady_clock::now();
    {
        const std::lock_guard lock(mutex_);
        c_ = std::move(c);
    }
    state_.store(LiveState::running, std::memory_order_release);
}

void LiveFlow::on_call(std::uint32_t node, CallKind, std::uint64_t took, CallStatus) {
    Counters::Node& n = c_->nodes[node];
    bump(n.calls);
    bump(n.busy_ticks, took);
    // Most calls of a node take about as long: the scan ends where it ended
    // last time, after a few well-predicted comparisons.
    std::size_t b = 0;
    while (b < c_->bound_ticks.size() && took > c_->bound_ticks[b]) {
        ++b;
    }
    bump(n.buckets[b]);
}

void LiveFlow::on_copied(std::uint32_t node, std::uint64_t copies, std::uint64_t bytes) {
    Counters::Node& n = c_->nodes[node];
    bump(n.copies, copies);
    bump(n.copied_bytes, bytes);
}

void LiveFlow::on_ended(PathEnd how, std::uint32_t where, std::uint64_t) {
    if (how == PathEnd::filtered) {
        bump(c_->nodes[where].filtered);
    } else if (how == PathEnd::dropped) {
        bump(c_->edges[where].dropped);
    }
}

void LiveFlow::on_queue(std::uint32_t edge, std::size_t depth) {
    // Every push and pop is told, one at a time: the depth moved by one.
    Counters::Edge& e = c_->edges[edge];
    if (depth > e.last_depth) {
        bump(e.pushed, depth - e.last_depth);
        if (depth > get(e.peak)) {
            e.peak.store(depth, std::memory_order_relaxed);
        }
    } else {
        bump(e.popped, e.last_depth - depth);
    }
    e.last_depth = depth;
    e.depth.store(depth, std::memory_order_relaxed);
}

void LiveFlow::on_pressure(std::uint32_t edge, bool pressured) {
    Counters::Edge& e = c_->edges[edge];
    const std::uint64_t now = ticks();
    if (pressured) {
        e.pressured_since.store(now, std::memory_order_relaxed);
        bump(e.pressure_episodes);
    } else {
        bump(e.pressure_ticks, now - get(e.pressured_since));
    }
    e.pressured.store(pressured ? 1 : 0, std::memory_order_release);
}

void LiveFlow::note_event(std::uint32_t node, const Error& why, bool contained) {
    // Under mutex_ (the caller's).
    LiveEvent ev{std::chrono::system_clock::now(), c_->topology.nodes.at(node),
                 error_code_name(why.code), why.message, contained};
    events_.push_back(std::move(ev));
    if (events_.size() > kEventsKept) {
        events_.pop_front();
    }
}

void LiveFlow::on_contained(std::uint32_t node, const Error& why, std::optional<std::uint64_t>,
                            const TraceContext*) {
    bump(c_->nodes[node].containments);
    const std::lock_guard lock(mutex_);
    note_event(node, why, true);
}

void LiveFlow::on_error(std::uint32_t node, const Error& why, std::optional<std::uint64_t>,
                        const TraceContext*) {
    Counters::Node& n = c_->nodes[node];
    bump(n.errors);
    const std::lock_guard lock(mutex_);
    auto it = std::find_if(n.errors_by_code.begin(), n.errors_by_code.end(),
                           [&](const auto& p) { return p.first == why.code; });
    if (it == n.errors_by_code.end()) {
        n.errors_by_code.emplace_back(why.code, 1);
    } else {
        ++it->second;
    }
    note_event(node, why, false);
}

void LiveFlow::on_settled(std::uint32_t node, std::uint64_t acked, std::uint64_t nacked,
                          std::span<const std::pair<std::string_view, std::uint64_t>> counters) {
    const std::lock_guard lock(mutex_);
    auto& n = c_->nodes[node];
    n.acked = acked;
    n.nacked = nacked;
    n.counters.assign(counters.begin(), counters.end());
}

void LiveFlow::on_replaced(std::uint32_t node, std::uint32_t generation) {
    c_->nodes[node].swaps.store(generation, std::memory_order_relaxed);
}

void LiveFlow::on_restarted(std::uint32_t node, std::uint32_t restarts) {
    c_->nodes[node].restarts.store(restarts, std::memory_order_relaxed);
}

void LiveFlow::on_finish(const FlowReport& report) {
    FlowProgress last;
    static_cast<Accounting&>(last) = report;
    last.finished = true;
    last.buffer_bytes = report.buffers.bytes_held;
    last.peak_buffer_bytes = report.buffers.peak_bytes_held;
    const std::lock_guard lock(mutex_);
    // The flow may be gone after this: ask it no more.
    progress_ = nullptr;
    final_progress_ = last;
    stop_ = std::string(stop_reason_name(report.stop));
    if (c_) {
        c_->finished_steady = std::chrono::steady_clock::now();
    }
    state_.store(LiveState::finished, std::memory_order_release);
}

FlowSnapshot LiveFlow::snapshot() const {
    FlowSnapshot s;
    s.id = id_;
    s.name = name_;
    s.buffer_budget = buffer_budget_;
    const std::lock_guard lock(mutex_);
    s.state = state_.load(std::memory_order_acquire);
    s.progress = progress_ ? progress_() : final_progress_;
    s.stop = stop_;
    s.events.assign(events_.begin(), events_.end());
    if (!c_) {
        return s;
    }
    const Counters& c = *c_;
    const auto seconds = [&](std::uint64_t t) {
        return static_cast<double>(t) * c.ns_per_tick * 1e-9;
    };
    s.started = c.started;
    const auto end =
        s.state == LiveState::finished ? c.finished_steady : std::chrono::steady_clock::now();
    s.elapsed_seconds = std::chrono::duration<double>(end - c.started_steady).count();
    const FlowTopology& t = c.topology;
    for (std::size_t i = 0; i < t.nodes.size(); ++i) {
        const Counters::Node& n = c.nodes[i];
        NodeSnapshot ns;
        ns.name = t.nodes[i];
        ns.role = t.roles[i];
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < n.buckets.size(); ++b) {
            cumulative += get(n.buckets[b]);
            ns.call_buckets[b] = cumulative;
        }
        // The count is the buckets' sum, so the histogram stays consistent
        // even when a call is counted between the two reads.
        ns.calls = cumulative;
        ns.call_seconds = seconds(get(n.busy_ticks));
        ns.filtered = get(n.filtered);
        ns.errors = get(n.errors);
        ns.errors_by_code = n.errors_by_code;
        ns.containments = get(n.containments);
        ns.restarts = get(n.restarts);
        ns.swaps = get(n.swaps);
        ns.acked = n.acked;
        ns.nacked = n.nacked;
        ns.counters = n.counters;
        ns.copies = get(n.copies);
        ns.copied_bytes = get(n.copied_bytes);
        s.copies += ns.copies;
        s.copied_bytes += ns.copied_bytes;
        s.containments += ns.containments;
        s.restarts += ns.restarts;
        s.nodes.push_back(std::move(ns));
    }
    const std::uint64_t now = ticks();
    for (std::size_t i = 0; i < t.edges.size(); ++i) {
        const Counters::Edge& e = c.edges[i];
        EdgeSnapshot es;
        es.name = t.edges[i];
        es.link = t.links.at(i);
        es.depth = get(e.depth);
        es.peak = get(e.peak);
        es.pushed = get(e.pushed);
        es.dropped = get(e.dropped);
        es.pressured = e.pressured.load(std::memory_order_acquire) != 0;
        es.pressure_episodes = get(e.pressure_episodes);
        std::uint64_t pressured = get(e.pressure_ticks);
        if (es.pressured && s.state != LiveState::finished) {
            const std::uint64_t since = get(e.pressured_since);
            pressured += now > since ? now - since : 0;
        }
        es.pressure_seconds = seconds(pressured);
        // A node's elements in and out are its queues' pops and pushes.
        s.nodes[es.link.to].elements_in += get(e.popped);
        if (!es.link.dead_letter) {
            s.nodes[es.link.from].elements_out += es.pushed;
        }
        s.edges.push_back(std::move(es));
    }
    return s;
}

LiveRegistry::LiveRegistry() {
    // The time-stamp counter's rate, over 10 ms: to 0.1% or better. (The
    // steady clock's ticks are nanoseconds already.)
    if (ticks_use_tsc()) {
        const TickScale scale;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ns_per_tick_ = scale.ns_per_tick();
    }
}

std::shared_ptr<LiveFlow> LiveRegistry::add(const std::string& name, std::uint64_t buffer_budget) {
    const std::lock_guard lock(mutex_);
    std::erase_if(flows_, [&](const std::shared_ptr<LiveFlow>& f) {
        return f->name() == name && f->state() == LiveState::finished;
    });
    auto flow = std::make_shared<LiveFlow>(next_id_++, name, buffer_budget, ns_per_tick_);
    flows_.push_back(flow);
    return flow;
}

void LiveRegistry::remove(std::uint64_t id) {
    const std::lock_guard lock(mutex_);
    std::erase_if(flows_, [&](const std::shared_ptr<LiveFlow>& f) { return f->id() == id; });
}

std::vector<FlowSnapshot> LiveRegistry::snapshot() const {
    std::vector<std::shared_ptr<LiveFlow>> flows;
    {
        const std::lock_guard lock(mutex_);
        flows = flows_;
    }
    std::vector<FlowSnapshot> out;
    out.reserve(flows.size());
    for (const auto& f : flows) {
        out.push_back(f->snapshot());
    }
    return out;
}

}  // namespace torvyn
