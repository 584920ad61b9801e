// Where a path starts, the trace it belongs to: every path gets a W3C trace
// id (the flow's random high half, a mixed counter as the low one), and the
// flow's sampling (RunOptions::sampling) decides which are traced, only
// while an observer listens to visits. Used under the flow's lock.
#pragma once

#include <cstdint>

#include "torvyn/reactor/flow.hpp"

namespace torvyn::detail {

class PathTracer {
public:
    // At the run's start: `tracing` when an observer listens to visits.
    void start(const TraceSampling& policy, bool tracing);
    // The context of a path that starts with `out`: continuing the sampled
    // input it was derived `from`, kept from outside, or a new trace.
    TraceContext context_for(const Produced& out, const ElementRef* from);

private:
    bool sample();

    TraceSampling policy_;
    bool tracing_ = false;
    std::uint64_t trace_hi_ = 0;
    std::uint64_t seed_ = 0;
    std::uint64_t numbered_ = 0;  // paths started
    std::uint64_t sampled_ = 0;
    std::uint64_t window_ = 0;  // per_second: the current second
    std::uint64_t sampled_in_window_ = 0;
};

}  // namespace torvyn::detail
