// Shared by the benchmark programs: timing, the pipeline's logic (the same
// work the Torvyn components do), and JSON-lines output.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

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

// Waits `gap_ns` since the previous call (busy-wait: sleeps are too coarse).
inline void pace(std::uint64_t gap_ns) {
    static std::uint64_t next = 0;
    if (gap_ns == 0) {
        return;
    }
    if (next == 0) {
        next = now_ns();
    }
    while (now_ns() < next) {
    }
    next += gap_ns;
}

// Resident memory of this process, bytes (from /proc/self/statm).
inline std::uint64_t rss_bytes() {
    std::ifstream in("/proc/self/statm");
    std::uint64_t pages = 0;
    std::uint64_t resident = 0;
    in >> pages >> resident;
    return resident * 4096;
}

}  // namespace bench
