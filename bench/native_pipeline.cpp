// Native floor: the source -> processor -> sink pipeline as plain C++
// functions in one process, no sandbox. Each stage does what the Torvyn
// components do: the source writes a payload into its buffer, the processor
// copies it into another, the sink reads it once (FNV-1a). The buffers are
// allocated once and reused, as a tuned native program would (a fresh 1 MiB
// allocation per element would page-fault and measure the kernel instead).
// Timed at the same points as every other system (bench::SinkStats).
//   native_pipeline SIZE COUNT  ->  one JSON line
#include <cstdlib>
#include <vector>

#include "bench_util.hpp"

int main(int argc, char** argv) {
    const std::size_t size = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 64;
    const std::uint64_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000000;
    std::uint32_t checksum = 0;
    std::vector<std::uint8_t> produced(size);
    std::vector<std::uint8_t> transformed(size);
    bench::SinkStats stats(bench::warmup_for(count));
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t born = bench::now_ns();
        bench::fill(produced.data(), size, i);
        std::memcpy(transformed.data(), produced.data(), size);
        checksum ^= bench::fnv(transformed.data(), size);
        stats.delivered(born);
    }
    // What one memcpy of the payload costs here, for the copy-bandwidth goal.
    std::vector<std::uint8_t> from(size, 1);
    std::vector<std::uint8_t> to(size);
    const std::uint64_t reps = std::max<std::uint64_t>(1, (1ull << 30) / (size + 64));
    const auto m0 = bench::now_ns();
    for (std::uint64_t i = 0; i < reps; ++i) {
        std::memcpy(to.data(), from.data(), size);
        __asm__ __volatile__("" : : "r"(to.data()) : "memory");
    }
    const double memcpy_ns = static_cast<double>(bench::now_ns() - m0) / static_cast<double>(reps);
    std::printf("{\"bench\":\"native\",\"size\":%zu,\"memcpy_ns\":%.1f,%s,\"checksum\":%u}\n", size,
                memcpy_ns, stats.json_fields().c_str(), checksum);
}
