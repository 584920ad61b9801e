// FlowWaker: how a stage's own threads (a connector's client) tell its
// flow's threads that a pending source has something. Thread-safe. It is
// also the flow's lock while several threads drive the flow.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

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
        ready_.notify_all();
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

    // --- for a flow driven by several threads -----------------------------

    // The flow's lock: held while a thread schedules, not during guest calls.
    std::mutex& flow_lock() { return mutex_; }
    // Holding flow_lock() in `lock`: waits until `deadline`, a wake, or
    // `ready()` (checked under the lock); true when woken.
    template <class Ready>
    bool wait_locked(std::unique_lock<std::mutex>& lock,
                     std::chrono::steady_clock::time_point deadline, Ready&& ready) {
        ready_.wait_until(lock, deadline, [&] {
            return woken_.load(std::memory_order_relaxed) || std::forward<Ready>(ready)();
        });
        return take();
    }
    // Holding flow_lock(): wakes every waiting thread to check `ready` again.
    void notify_waiting() { ready_.notify_all(); }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::atomic<bool> woken_{false};
};

}  // namespace torvyn
