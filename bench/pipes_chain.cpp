// Process pipeline: three processes joined by Unix pipes, length-prefixed
// frames, the same work per stage as the Torvyn pipeline.
//   pipes_chain source SIZE COUNT [GAP_US] | pipes_chain processor | pipes_chain sink
// With GAP_US the source waits that long between frames, so latency is the
// path's own, not queueing.
// The sink prints one JSON line: throughput and end-to-end latency (the
// source stamps each frame with CLOCK_MONOTONIC; one machine, one clock).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "bench_util.hpp"

namespace {

struct Header {
    std::uint32_t size;
    std::uint64_t born_ns;
} __attribute__((packed));

bool read_all(int fd, void* p, std::size_t n) {
    auto* b = static_cast<std::uint8_t*>(p);
    while (n > 0) {
        const ssize_t r = ::read(fd, b, n);
        if (r <= 0) {
            return false;
        }
        b += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

bool write_all(int fd, const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    while (n > 0) {
        const ssize_t w = ::write(fd, b, n);
        if (w <= 0) {
            return false;
        }
        b += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string_view role = argc > 1 ? argv[1] : "";
    if (role == "source") {
        const std::size_t size = std::strtoull(argv[2], nullptr, 10);
        const std::uint64_t count = std::strtoull(argv[3], nullptr, 10);
        const std::uint64_t gap_ns = argc > 4 ? std::strtoull(argv[4], nullptr, 10) * 1000 : 0;
        std::vector<std::uint8_t> buf(sizeof(Header) + size);
        for (std::uint64_t i = 0; i < count; ++i) {
            bench::pace(gap_ns);
            Header h{static_cast<std::uint32_t>(size), bench::now_ns()};
            std::memcpy(buf.data(), &h, sizeof h);
            bench::fill(buf.data() + sizeof h, size, i);
            if (!write_all(1, buf.data(), buf.size())) {
                return 1;
            }
        }
        return 0;
    }
    if (role == "processor") {
        Header h{};
        std::vector<std::uint8_t> in;
        std::vector<std::uint8_t> out;
        while (read_all(0, &h, sizeof h)) {
            in.resize(h.size);
            if (!read_all(0, in.data(), h.size)) {
                return 1;
            }
            out.resize(sizeof h + h.size);
            std::memcpy(out.data(), &h, sizeof h);
            std::memcpy(out.data() + sizeof h, in.data(), h.size);
            if (!write_all(1, out.data(), out.size())) {
                return 1;
            }
        }
        return 0;
    }
    if (role == "sink") {
        Header h{};
        std::vector<std::uint8_t> in;
        std::vector<std::uint64_t> latency;
        std::uint32_t checksum = 0;
        std::uint64_t first = 0;
        std::uint64_t last = 0;
        while (read_all(0, &h, sizeof h)) {
            in.resize(h.size);
            if (!read_all(0, in.data(), h.size)) {
                return 1;
            }
            checksum ^= bench::fnv(in.data(), h.size);
            last = bench::now_ns();
            if (first == 0) {
                first = h.born_ns;
            }
            latency.push_back(last - h.born_ns);
        }
        std::sort(latency.begin(), latency.end());
        const auto pct = [&](double q) {
            return latency.empty() ? 0
                                   : latency[static_cast<std::size_t>(
                                         q * static_cast<double>(latency.size() - 1))];
        };
        const double secs = static_cast<double>(last - first) / 1e9;
        std::printf(
            "{\"bench\":\"pipes\",\"elements\":%zu,\"elements_per_second\":%.0f,"
            "\"ns_per_element\":%.1f,\"latency_p50_ns\":%llu,\"latency_p99_ns\":%llu,\"checksum\":%"
            "u}\n",
            latency.size(), static_cast<double>(latency.size()) / secs,
            secs * 1e9 / static_cast<double>(latency.size()),
            static_cast<unsigned long long>(pct(0.5)), static_cast<unsigned long long>(pct(0.99)),
            checksum);
        return 0;
    }
    std::fprintf(
        stderr,
        "usage: pipes_chain source SIZE COUNT | pipes_chain processor | pipes_chain sink\n");
    return 2;
}
