// FlowWaker: how a stage's own threads (a connector's client) tell its
// flow's thread that a pending source has something. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace torvyn {

// Wakes a flow's thread from any thread: a stage whose source is pending
// (Produced::pending) calls wake() when the outside world has delivered, and
// the flow asks its pending sources again at once. The flow waits on it
// whenever it has nothing to run.
class FlowWaker {
public:
    void wake() {
        {
            const std::lock_guard lock(mutex_);
            woken_.store(true, std::memory_order_relaxed);
        }
        ready_.notify_one();
    }
    // Flow side, between sweeps: whether a wake came (a relaxed load when
    // none did).
    bool take() {
        return woken_.load(std::memory_order_relaxed) &&
               woken_.exchange(false, std::memory_order_acquire);
    }
    // Flow side, with nothing to run: waits until `deadline` or a wake; true
    // when woken.
    bool wait_until(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(mutex_);
        ready_.wait_until(lock, deadline, [&] { return woken_.load(std::memory_order_relaxed); });
        return woken_.exchange(false, std::memory_order_acquire);
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::atomic<bool> woken_{false};
};

}  // namespace torvyn
