// Shared by the benchmark programs: timing, the pipeline's logic (the same
// work the Torvyn components do), and JSON-lines output.
#pragma once

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

// CLOCK_MONOTONIC (steady_clock here), the clock every process of a chain
// stamps with.
inline std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count());
}

// The source's payload: the same pattern blobs.wasm writes.
inline void fill(std::uint8_t* out, std::size_t size, std::uint64_t seq) {
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<std::uint8_t>(seq + i);
    }
}

// The sink's work: one FNV-1a pass, as slow_sink.wasm does with work=1.
inline std::uint32_t fnv(const std::uint8_t* p, std::size_t n) {
    std::uint32_t h = 2166136261u;
    for (std::size_t i = 0; i < n; ++i) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

// Sleeps until `gap_ns` after the previous call's due time (an absolute
// deadline, so oversleeping once does not slow the rate). Sleeps rather than
// spins, like Torvyn's paced sources, so a paced run leaves the cores to the
// stages it measures.
inline void pace(std::uint64_t gap_ns) {
    static std::uint64_t next = 0;
    if (gap_ns == 0) {
        return;
    }
    const std::uint64_t now = now_ns();
    next = next == 0 ? now : std::max(next, now - gap_ns);
    const timespec due{static_cast<time_t>(next / 1'000'000'000),
                       static_cast<long>(next % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, nullptr) == EINTR) {
    }
    next += gap_ns;
}

// Elements not measured at the start of a run, in every system alike (what
// `torvyn bench --warmup` gets from bench/run.sh).
inline std::uint64_t warmup_for(std::uint64_t count) {
    return count / 10;
}

// What a sink measures, the same in every system: each element's latency
// from before its source produced it (`born_ns`) to after the sink read it;
// throughput over the elements after the warm-up, from the warm-up's last
// delivery to the last delivery.
class SinkStats {
public:
    explicit SinkStats(std::uint64_t warmup) : warmup_(warmup) {}

    void delivered(std::uint64_t born_ns) {
        const std::uint64_t now = now_ns();
        if (seen_++ < warmup_) {
            since_ = now;
            return;
        }
        if (since_ == 0) {
            since_ = born_ns;  // no warm-up: from the first element's birth
        }
        latency_.push_back(now - born_ns);
        last_ = now;
    }

    // {"elements":..,"elements_per_second":..,"ns_per_element":..,
    //  "latency_p50_ns":..,"latency_p99_ns":..  (no braces)
    [[nodiscard]] std::string json_fields() {
        std::sort(latency_.begin(), latency_.end());
        const auto pct = [&](double q) -> unsigned long long {
            return latency_.empty() ? 0
                                    : latency_[static_cast<std::size_t>(
                                          q * static_cast<double>(latency_.size() - 1))];
        };
        const double n = static_cast<double>(latency_.size());
        const double secs = static_cast<double>(last_ - since_) / 1e9;
        char out[256];
        std::snprintf(out, sizeof out,
                      "\"elements\":%zu,\"warmup\":%llu,\"elements_per_second\":%.0f,"
                      "\"ns_per_element\":%.1f,\"latency_p50_ns\":%llu,\"latency_p99_ns\":%llu",
                      latency_.size(), static_cast<unsigned long long>(warmup_),
                      secs > 0 ? n / secs : 0.0, n > 0 ? secs * 1e9 / n : 0.0, pct(0.5), pct(0.99));
        return out;
    }
    [[nodiscard]] std::uint64_t elements() const { return latency_.size(); }
    [[nodiscard]] double elements_per_second() const {
        const double secs = static_cast<double>(last_ - since_) / 1e9;
        return secs > 0 ? static_cast<double>(latency_.size()) / secs : 0.0;
    }

private:
    std::uint64_t warmup_;
    std::uint64_t seen_ = 0;
    std::uint64_t since_ = 0;
    std::uint64_t last_ = 0;
    std::vector<std::uint64_t> latency_;
};

// Resident memory of this process, bytes (from /proc/self/statm).
inline std::uint64_t rss_bytes() {
    std::ifstream in("/proc/self/statm");
    std::uint64_t pages = 0;
    std::uint64_t resident = 0;
    in >> pages >> resident;
    return resident * 4096;
}

}  // namespace bench
