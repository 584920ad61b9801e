// Counters one thread publishes and any thread may read whole: a sequence
// lock. The writer never waits (plain stores on x86); a reader that sees a
// write in progress copies again.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace torvyn {

template <std::size_t N>
class PublishedCounters {
public:
    // Called by the one writer thread. Values are stored with release and
    // read with acquire: a reader that sees any value of a later publish
    // then sees that publish's odd count too, and copies again. (No fences:
    // ThreadSanitizer does not model them.)
    void publish(const std::array<std::uint64_t, N>& values) noexcept {
        const std::uint64_t seq = seq_.load(std::memory_order_relaxed);
        seq_.store(seq + 1, std::memory_order_relaxed);  // odd: writing
        for (std::size_t i = 0; i < N; ++i) {
            values_[i].store(values[i], std::memory_order_release);
        }
        seq_.store(seq + 2, std::memory_order_release);
    }

    // Any thread: the values of one publish, never a mix of two.
    [[nodiscard]] std::array<std::uint64_t, N> read() const noexcept {
        std::array<std::uint64_t, N> out{};
        for (;;) {
            const std::uint64_t before = seq_.load(std::memory_order_acquire);
            if ((before & 1) == 0) {
                for (std::size_t i = 0; i < N; ++i) {
                    out[i] = values_[i].load(std::memory_order_acquire);
                }
                if (seq_.load(std::memory_order_relaxed) == before) {
                    return out;
                }
            }
        }
    }

private:
    std::atomic<std::uint64_t> seq_{0};
    std::array<std::atomic<std::uint64_t>, N> values_{};
};

}  // namespace torvyn
