// A lock for critical sections of a few dozen instructions that a few
// threads share (the buffer store's bookkeeping once a flow runs on several
// threads): it spins instead of sleeping in the kernel, where a contended
// std::mutex would cost each side a system call and a context switch.
#pragma once

#include <atomic>
#include <thread>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace torvyn {

class SpinLock {
public:
    void lock() noexcept {
        int spins = 0;
        while (locked_.exchange(true, std::memory_order_acquire)) {
            while (locked_.load(std::memory_order_relaxed)) {
                // The holder may have been preempted: after a while, let it run.
                if (++spins < kSpinsBeforeYield) {
                    relax();
                } else {
                    std::this_thread::yield();
                }
            }
        }
    }
    bool try_lock() noexcept {
        return !locked_.load(std::memory_order_relaxed) &&
               !locked_.exchange(true, std::memory_order_acquire);
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    static constexpr int kSpinsBeforeYield = 1'000;
    static void relax() noexcept {
#if defined(__x86_64__)
        _mm_pause();
#endif
    }
    std::atomic<bool> locked_{false};
};

}  // namespace torvyn
