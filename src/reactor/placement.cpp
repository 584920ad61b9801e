// Which driver thread runs each node. Pinned by the manifest (`thread`), or
// measured: a flow starts on one thread, and the scheduler asks
// place_by_cost() from time to time whether its stages, as measured, would
// run faster on several. Nodes are split into runs of consecutive nodes in
// topological order, so a chain crosses between threads as few times as it
// can.
#include <algorithm>
#include <numeric>

#include "flow_state.hpp"

namespace torvyn::detail {
namespace {

// What moving one element between two threads is taken to cost: the queue
// hand-off under the flow's lock and, when the other thread sleeps, waking
// it (bench/handoff.cpp measures 0.2–0.5 µs for the hand-off alone).
constexpr double kHandoffNs = 2'000;
// A flow moves to more threads only when that is predicted to make it at
// least this much faster.
constexpr double kMinGain = 1.3;
// ... and only when its stages keep its thread at least this busy (a flow
// that mostly waits for its source gains nothing).
constexpr double kMinBusyShare = 0.5;
// Too few elements say nothing about the cost of one.
constexpr std::uint64_t kMinElements = 8;

// Greedy runs of at most `cap`; how many it takes.
std::uint32_t runs_within(std::span<const std::uint64_t> costs, std::uint64_t cap,
                          std::vector<std::uint32_t>* runs) {
    std::uint32_t run = 0;
    std::uint64_t load = 0;
    for (std::size_t i = 0; i < costs.size(); ++i) {
        if (load != 0 && load + costs[i] > cap) {
            ++run;
            load = 0;
        }
        load += costs[i];
        if (runs != nullptr) {
            (*runs)[i] = run;
        }
    }
    return run + 1;
}

}  // namespace

std::vector<std::uint32_t> balance(std::span<const std::uint64_t> costs, std::uint32_t threads) {
    std::vector<std::uint32_t> runs(costs.size(), 0);
    if (costs.empty() || threads <= 1) {
        return runs;
    }
    // The least cap that `threads` greedy runs can keep to.
    std::uint64_t lo = *std::max_element(costs.begin(), costs.end());
    std::uint64_t hi = std::accumulate(costs.begin(), costs.end(), std::uint64_t{0});
    while (lo < hi) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        if (runs_within(costs, mid, nullptr) <= threads) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    runs_within(costs, lo, &runs);
    return runs;
}

std::uint64_t heaviest(std::span<const std::uint64_t> costs, std::span<const std::uint32_t> runs) {
    std::vector<std::uint64_t> load;
    for (std::size_t i = 0; i < costs.size(); ++i) {
        if (runs[i] >= load.size()) {
            load.resize(runs[i] + 1, 0);
        }
        load[runs[i]] += costs[i];
    }
    return load.empty() ? 0 : *std::max_element(load.begin(), load.end());
}

std::vector<std::uint32_t> place_by_cost(const Measured& m, std::uint32_t max_threads) {
    const std::uint64_t busy = std::accumulate(m.busy.begin(), m.busy.end(), std::uint64_t{0});
    if (max_threads <= 1 || m.busy.size() < 2 || m.elements < kMinElements || m.wall == 0 ||
        static_cast<double>(busy) < kMinBusyShare * static_cast<double>(m.wall)) {
        return {};
    }
    // Time outside the stages (scheduling, queues) is shared out too.
    const double outside = static_cast<double>(m.wall - std::min(busy, m.wall));
    const double handoffs = kHandoffNs / m.ns_per_tick * static_cast<double>(m.elements);
    const auto most = static_cast<std::uint32_t>(std::min<std::size_t>(max_threads, m.busy.size()));
    std::vector<std::vector<std::uint32_t>> options;
    std::vector<double> gains;
    for (std::uint32_t t = 2; t <= most; ++t) {
        auto runs = balance(m.busy, t);
        const std::uint32_t used = runs.back() + 1;
        // The busiest thread crosses to a neighbour on one side or both.
        const double crossings = used > 2 ? 2.0 : 1.0;
        const double predicted =
            static_cast<double>(heaviest(m.busy, runs)) + outside / used + crossings * handoffs;
        gains.push_back(static_cast<double>(m.wall) / predicted);
        options.push_back(std::move(runs));
    }
    const double best = *std::max_element(gains.begin(), gains.end());
    if (best < kMinGain) {
        return {};
    }
    // The fewest threads that get close to the best.
    for (std::size_t i = 0; i < gains.size(); ++i) {
        if (gains[i] >= 0.9 * best) {
            return options[i];
        }
    }
    return {};
}

bool place_pinned(State& s) {
    const bool any = std::any_of(s.nodes.begin(), s.nodes.end(),
                                 [](const auto& n) { return n->spec.thread != 0; });
    if (!any) {
        return false;
    }
    // A node not pinned runs where its first input comes from (sources: on
    // the first thread).
    std::uint32_t threads = 1;
    for (const std::uint32_t i : s.topo) {
        Node& n = *s.nodes[i];
        if (n.spec.thread != 0) {
            n.thread = n.spec.thread - 1;
        } else if (!n.inputs.empty()) {
            n.thread = s.nodes[s.edges[n.inputs.front()].from]->thread;
        }
        threads = std::max(threads, n.thread + 1);
    }
    s.max_threads = threads;
    return true;
}

}  // namespace torvyn::detail
