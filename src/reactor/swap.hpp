// The mailbox of live stage replacements (Flow::replace_stage, swap.cpp):
// posted from any thread, taken by the thread that drives the node. A
// driver thread tests one relaxed flag per sweep; the rest is under the
// mailbox's own mutex, never held with the flow's lock taken inside it.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <vector>

#include "torvyn/reactor/flow.hpp"

namespace torvyn::detail {

struct PendingSwap {
    StageSwap request;
    std::uint32_t node = 0;
    std::chrono::steady_clock::time_point posted;
    std::promise<Result<SwapOutcome>> answer;
};

class SwapMailbox {
public:
    enum class Phase : std::uint8_t { before, running, after };

    // Whether a swap waits. Relaxed: a driver that sees it late sees it on
    // its next sweep (the poster wakes the flow).
    [[nodiscard]] bool posted() const { return posted_.load(std::memory_order_relaxed); }

    // Any thread: queues `swap` while the flow runs; otherwise leaves it and
    // says why not.
    Phase post(PendingSwap& swap) {
        const std::lock_guard lock(mutex_);
        if (phase_ == Phase::running) {
            pending_.push_back(std::move(swap));
            posted_.store(true, std::memory_order_relaxed);
        }
        return phase_;
    }

    // A driver thread: the swaps `mine` selects, in the order they came.
    template <class Mine>
    std::vector<PendingSwap> take(Mine&& mine) {
        std::vector<PendingSwap> taken;
        const std::lock_guard lock(mutex_);
        std::vector<PendingSwap> left;
        for (PendingSwap& p : pending_) {
            (mine(p) ? taken : left).push_back(std::move(p));
        }
        pending_ = std::move(left);
        posted_.store(!pending_.empty(), std::memory_order_relaxed);
        return taken;
    }

    // run() begins.
    void open() {
        const std::lock_guard lock(mutex_);
        phase_ = Phase::running;
    }
    // run() ends: what still waits, to be answered; later swaps are refused.
    std::vector<PendingSwap> close() {
        const std::lock_guard lock(mutex_);
        phase_ = Phase::after;
        posted_.store(false, std::memory_order_relaxed);
        std::vector<PendingSwap> left;
        left.swap(pending_);
        return left;
    }

private:
    std::mutex mutex_;
    std::atomic<bool> posted_{false};
    Phase phase_ = Phase::before;
    std::vector<PendingSwap> pending_;
};

}  // namespace torvyn::detail
