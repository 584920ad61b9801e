// Native floor: the source -> processor -> sink pipeline as plain C++
// functions in one process, no sandbox. Each stage does what the Torvyn
// components do: the source writes a payload into a new buffer, the
// processor copies it into another, the sink reads it once (FNV-1a).
//   native_pipeline SIZE COUNT  ->  one JSON line
#include <cstdlib>
#include <memory>

#include "bench_util.hpp"

int main(int argc, char** argv) {
    const std::size_t size = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 64;
    const std::uint64_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000000;
    std::uint32_t checksum = 0;
    // Buffers come from malloc, as a plain program would do it.
    const auto t0 = bench::now_ns();
    for (std::uint64_t i = 0; i < count; ++i) {
        std::unique_ptr<std::uint8_t[]> produced(new std::uint8_t[size]);
        bench::fill(produced.get(), size, i);
        std::unique_ptr<std::uint8_t[]> transformed(new std::uint8_t[size]);
        std::memcpy(transformed.get(), produced.get(), size);
        checksum ^= bench::fnv(transformed.get(), size);
    }
    const auto t1 = bench::now_ns();
    const double ns = static_cast<double>(t1 - t0) / static_cast<double>(count);
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
    std::printf("{\"memcpy_ns\":%.1f,", memcpy_ns);
    std::printf(
        "\"bench\":\"native\",\"size\":%zu,\"elements\":%llu,\"ns_per_element\":%.1f,"
        "\"elements_per_second\":%.0f,\"checksum\":%u}\n",
        size, static_cast<unsigned long long>(count), ns, 1e9 / ns, checksum);
}
