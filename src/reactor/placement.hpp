// Placing a flow's nodes on driver threads by what they were measured to
// cost: pure functions (placement.cpp), so they are tested on their own.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace torvyn::detail {

// What one thread measured over a while: its wall time and each node's busy
// time (ticks, topological order), and the elements emitted meanwhile.
struct Measured {
    std::uint64_t wall = 0;
    std::vector<std::uint64_t> busy;
    std::uint64_t elements = 0;
    double ns_per_tick = 1.0;
};

// The thread of each node (topological order) when more threads would make
// the flow faster by a margin that pays for the hand-offs between them;
// empty to stay on one thread.
std::vector<std::uint32_t> place_by_cost(const Measured& m, std::uint32_t max_threads);

// Splits `costs` (topological order) into at most `threads` runs of
// consecutive nodes with the heaviest run as light as it can be; returns
// each node's run, numbered from 0.
std::vector<std::uint32_t> balance(std::span<const std::uint64_t> costs, std::uint32_t threads);

// The cost of the heaviest run in a placement made by balance().
std::uint64_t heaviest(std::span<const std::uint64_t> costs, std::span<const std::uint32_t> runs);

}  // namespace torvyn::detail
