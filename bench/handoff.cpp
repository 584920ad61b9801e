// A measurement for multi-core flows (issue 10, part 2): what handing an
// element (a handle and its metadata, 32 bytes) from one driver thread to
// another costs through a bounded single-producer single-consumer ring, with
// the consumer spinning or sleeping (C++20 atomic wait) when the ring is
// empty. Moving a stage to its own core pays off only when its calls cost
// more than this.
//   handoff COUNT  ->  JSON lines
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "bench_util.hpp"

namespace {

struct Element {
    std::uint64_t sequence;
    std::uint64_t timestamp_ns;
    std::uint64_t born_ns;
    std::uint32_t payload;
    std::uint32_t from;
};

class Ring {
public:
    explicit Ring(std::size_t capacity) : slots_(capacity) {}
    bool push(const Element& e) {
        const std::uint64_t t = tail_.load(std::memory_order_relaxed);
        if (t - head_.load(std::memory_order_acquire) == slots_.size()) {
            return false;
        }
        slots_[t % slots_.size()] = e;
        tail_.store(t + 1, std::memory_order_release);
        return true;
    }
    bool pop(Element& e) {
        const std::uint64_t h = head_.load(std::memory_order_relaxed);
        if (h == tail_.load(std::memory_order_acquire)) {
            return false;
        }
        e = slots_[h % slots_.size()];
        head_.store(h + 1, std::memory_order_release);
        return true;
    }
    // For a sleeping consumer: waits while the ring is empty at `seen`.
    void wait_for_more(std::uint64_t seen) { tail_.wait(seen, std::memory_order_acquire); }
    void notify() { tail_.notify_one(); }
    std::uint64_t tail() const { return tail_.load(std::memory_order_acquire); }

private:
    std::vector<Element> slots_;
    alignas(64) std::atomic<std::uint64_t> head_{0};
    alignas(64) std::atomic<std::uint64_t> tail_{0};
};

// Producer pushes `count` elements (every `gap_ns` when paced); the consumer
// records each element's latency. Returns the consumer's stats.
bench::SinkStats run(std::uint64_t count, bool sleeping, std::uint64_t gap_ns) {
    Ring ring(1024);
    bench::SinkStats stats(bench::warmup_for(count));
    std::thread consumer([&] {
        Element e{};
        for (std::uint64_t got = 0; got < count;) {
            if (ring.pop(e)) {
                stats.delivered(e.born_ns);
                ++got;
            } else if (sleeping) {
                ring.wait_for_more(ring.tail());
            }
        }
    });
    for (std::uint64_t i = 0; i < count; ++i) {
        bench::pace(gap_ns);
        const Element e{i, 0, bench::now_ns(), static_cast<std::uint32_t>(i), 0};
        while (!ring.push(e)) {
        }
        if (sleeping) {
            ring.notify();
        }
    }
    consumer.join();
    return stats;
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
    for (const bool sleeping : {false, true}) {
        const char* mode = sleeping ? "sleeping" : "spinning";
        auto flat_out = run(count, sleeping, 0);
        std::printf("{\"bench\":\"handoff\",\"consumer\":\"%s\",\"paced\":false,%s}\n", mode,
                    flat_out.json_fields().c_str());
        auto paced = run(2000, sleeping, 200'000);
        std::printf("{\"bench\":\"handoff\",\"consumer\":\"%s\",\"paced\":true,%s}\n", mode,
                    paced.json_fields().c_str());
    }
}
