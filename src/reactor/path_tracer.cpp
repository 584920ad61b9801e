#include "path_tracer.hpp"

#include <random>

#include "torvyn/core/ticks.hpp"

namespace torvyn::detail {

void PathTracer::start(const TraceSampling& policy, bool tracing) {
    policy_ = policy;
    tracing_ = tracing;
    std::random_device entropy;
    trace_hi_ = (std::uint64_t{entropy()} << 32U) | entropy();
    seed_ = (std::uint64_t{entropy()} << 32U) | entropy();
}

bool PathTracer::sample() {
    if (sampled_ >= policy_.max_elements) {
        return false;
    }
    bool take = true;
    switch (policy_.mode) {
        case TraceSampling::Mode::every:
            break;
        case TraceSampling::Mode::one_in:
            take = policy_.n <= 1 || (numbered_ - 1) % policy_.n == 0;
            break;
        case TraceSampling::Mode::per_second: {
            const std::uint64_t second = steady_now_ns() / 1'000'000'000U;
            if (second != window_) {
                window_ = second;
                sampled_in_window_ = 0;
            }
            take = sampled_in_window_ < policy_.n;
            sampled_in_window_ += take ? 1 : 0;
            break;
        }
    }
    sampled_ += take ? 1 : 0;
    return take;
}

TraceContext PathTracer::context_for(const Produced& out, const ElementRef* from) {
    ++numbered_;
    if (from != nullptr && from->trace.sampled) {
        return from->trace;  // an aggregate goes on in its input's trace
    }
    if (out.trace.valid()) {
        // From outside: the same trace, and its sampling decision.
        TraceContext t = out.trace;
        t.sampled = t.sampled && tracing_ && sampled_ < policy_.max_elements;
        sampled_ += t.sampled ? 1 : 0;
        return t;
    }
    TraceContext t;
    t.trace_hi = trace_hi_;
    t.trace_lo = mix64(seed_ + numbered_);
    t.sampled = tracing_ && sample();
    return t;
}

}  // namespace torvyn::detail
