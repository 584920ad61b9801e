// A sink for the serve tests: checks that the numbers of counter.wasm arrive
// each once and in order, counts which stamp version processed them, and
// prints the tally every `every` elements (config; default 10000) and when
// the stream ends or the sink is torn down:
//   tally received=N last=L gaps=G duplicates=D v1=A v2=B other=C
// on stderr. With window=N it also prints, every N elements, their latency
// from the source's emission to here (clock_gettime: the C library imports
// wall-clock and monotonic-clock, so grant those with "stderr"):
//   latency n=N p50_us=A p99_us=B max_us=C
#include <time.h>

#include <torvyn/component.hpp>

#include <algorithm>
#include <string>
#include <vector>

struct Tally {
    std::uint64_t every = 10000;
    std::uint64_t received = 0;
    std::uint64_t last = 0;
    std::uint64_t gaps = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t v1 = 0;
    std::uint64_t v2 = 0;
    std::uint64_t other = 0;
    std::uint64_t window = 0;
    std::vector<std::uint64_t> latencies_us;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        every = config.get_u64("every", 10000);
        window = config.get_u64("window", 0);
        latencies_us.reserve(window);
        return torvyn::Ok{};
    }

    void print_tally() {
        torvyn::eprint("tally received=" + std::to_string(received) +
                       " last=" + std::to_string(last) + " gaps=" + std::to_string(gaps) +
                       " duplicates=" + std::to_string(duplicates) + " v1=" + std::to_string(v1) +
                       " v2=" + std::to_string(v2) + " other=" + std::to_string(other) + "\n");
    }

    void note_latency(std::uint64_t emitted_ns) {
        timespec now{};
        clock_gettime(CLOCK_REALTIME, &now);
        const std::uint64_t now_ns = static_cast<std::uint64_t>(now.tv_sec) * 1000000000u +
                                     static_cast<std::uint64_t>(now.tv_nsec);
        latencies_us.push_back(now_ns > emitted_ns ? (now_ns - emitted_ns) / 1000 : 0);
        if (latencies_us.size() < window) {
            return;
        }
        std::sort(latencies_us.begin(), latencies_us.end());
        const auto at = [&](double q) {
            return latencies_us[static_cast<std::size_t>(
                q * static_cast<double>(latencies_us.size() - 1))];
        };
        torvyn::eprint("latency n=" + std::to_string(latencies_us.size()) + " p50_us=" +
                       std::to_string(at(0.5)) + " p99_us=" + std::to_string(at(0.99)) +
                       " max_us=" + std::to_string(latencies_us.back()) + "\n");
        latencies_us.clear();
    }

    torvyn::Result<bool> push(const torvyn::Element& e) {
        const torvyn::Bytes payload = e.payload.read_all();
        const auto bytes = payload.span();
        if (bytes.size() < 8) {
            return torvyn::Error::invalid_input("expected 8 bytes and a stamp");
        }
        std::uint64_t n = 0;
        for (std::size_t i = 0; i < 8; ++i) {
            n |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[i])) << (8 * i);
        }
        const char version = bytes.size() > 8 ? static_cast<char>(bytes[8]) : '?';
        (version == '1' ? v1 : version == '2' ? v2 : other) += 1;
        if (n <= last) {
            ++duplicates;
        } else {
            gaps += n - last - 1;
            last = n;
        }
        ++received;
        if (window != 0) {
            note_latency(e.timestamp_ns);
        }
        if (every != 0 && received % every == 0) {
            print_tally();
        }
        return false;
    }

    torvyn::Result<torvyn::Ok> complete() {
        print_tally();
        return torvyn::Ok{};
    }
};

TORVYN_SINK(Tally)
