// A cheap clock for timing every call on the hot path: the CPU's time-stamp
// counter where it ticks at a constant rate (constant_tsc and nonstop_tsc),
// the steady clock elsewhere. Ticks are converted to nanoseconds with a
// TickScale measured over the same interval, so no calibration is needed.
#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace torvyn {

// Whether ticks() reads the time-stamp counter (decided once per process).
bool ticks_use_tsc();

inline std::uint64_t steady_now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

// Wall-clock time (Unix epoch, ns), for what leaves the process: logs,
// exported spans, element timestamps.
inline std::uint64_t unix_now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

inline std::uint64_t ticks() {
#if defined(__x86_64__)
    if (ticks_use_tsc()) {
        // The compiler barriers keep the read where it is written: without
        // them it may move across the (opaque) call being timed.
        __asm__ __volatile__("" ::: "memory");
        const std::uint64_t t = __rdtsc();
        __asm__ __volatile__("" ::: "memory");
        return t;
    }
#endif
    return steady_now_ns();
}

// Pairs of (ticks, nanoseconds) taken at the start and end of an interval.
class TickScale {
public:
    TickScale() : t0_(ticks()), ns0_(steady_now_ns()) {}
    // Nanoseconds per tick between construction and now.
    [[nodiscard]] double ns_per_tick() const {
        const std::uint64_t t = ticks() - t0_;
        const std::uint64_t ns = steady_now_ns() - ns0_;
        return t == 0 ? 1.0 : static_cast<double>(ns) / static_cast<double>(t);
    }

private:
    std::uint64_t t0_;
    std::uint64_t ns0_;
};

}  // namespace torvyn
