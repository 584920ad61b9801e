// The epoch ticker: advances the engine's epoch every tick while guest code
// may run, so per-call deadlines expire and stop requests are noticed, and
// sleeps when no call has been in flight for a while (an idle host is not
// woken a thousand times a second). Included by the engine's sources only.
#pragma once

#include <torvyn_bridge.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

namespace torvyn {

// What guest calls and the ticker share. Calls only count themselves; the
// ticker parks itself and the first call after that wakes it.
class CallGate {
public:
    // A call into guest code (or an instantiation, which runs its start
    // code) begins. The seq_cst increment and load pair with park(): either
    // the ticker sees this call and stays awake, or this call sees it parked
    // and wakes it.
    void enter() {
        begun_.fetch_add(1);
        if (parked_.load()) [[unlikely]] {
            unpark();
        }
    }
    void leave() { ended_.fetch_add(1, std::memory_order_release); }

    [[nodiscard]] std::uint64_t begun() const { return begun_.load(); }
    [[nodiscard]] bool in_flight() const {
        const std::uint64_t ended = ended_.load(std::memory_order_acquire);
        return begun_.load() != ended;
    }

private:
    friend class EpochTicker;

    void unpark() {
        {
            std::lock_guard lock(mutex_);
            parked_.store(false);
        }
        woken_.notify_all();
    }

    std::atomic<std::uint64_t> begun_{0};
    std::atomic<std::uint64_t> ended_{0};
    std::atomic<bool> parked_{false};
    std::mutex mutex_;
    std::condition_variable woken_;  // a call unparked the ticker, or it stops
    bool stopping_ = false;          // under mutex_
};

// A call in flight for as long as it lives.
class InCall {
public:
    explicit InCall(CallGate& gate) : gate_(gate) { gate_.enter(); }
    ~InCall() { gate_.leave(); }
    InCall(const InCall&) = delete;
    InCall& operator=(const InCall&) = delete;

private:
    CallGate& gate_;
};

class EpochTicker {
public:
    // After this long with no call in flight and none begun, the ticker parks.
    static constexpr std::chrono::milliseconds kQuiet{50};

    EpochTicker(const tvb_engine* engine, std::chrono::milliseconds tick,
                std::shared_ptr<CallGate> gate)
        : gate_(std::move(gate)), thread_([this, engine, tick] { run(engine, tick); }) {}
    EpochTicker(const EpochTicker&) = delete;
    EpochTicker& operator=(const EpochTicker&) = delete;
    ~EpochTicker() {
        {
            std::lock_guard lock(gate_->mutex_);
            gate_->stopping_ = true;
        }
        gate_->woken_.notify_all();
        thread_.join();
    }

private:
    void run(const tvb_engine* engine, std::chrono::milliseconds tick) {
        CallGate& g = *gate_;
        const auto quiet_ticks =
            std::max<std::int64_t>(1, kQuiet / std::max(tick, decltype(tick){1}));
        std::unique_lock lock(g.mutex_);
        std::uint64_t seen = g.begun();
        std::int64_t quiet = 0;
        while (!g.stopping_) {
            g.woken_.wait_for(lock, tick, [&] { return g.stopping_; });
            if (g.stopping_) {
                break;
            }
            tvb_engine_increment_epoch(engine);
            const std::uint64_t begun = g.begun();
            if (begun != seen || g.in_flight()) {
                seen = begun;
                quiet = 0;
                continue;
            }
            if (++quiet < quiet_ticks) {
                continue;
            }
            // Nothing ran for kQuiet: park unless a call began meanwhile.
            g.parked_.store(true);
            if (g.begun() == seen) {
                g.woken_.wait(lock, [&] { return g.stopping_ || !g.parked_.load(); });
            }
            g.parked_.store(false);
            seen = g.begun();
            quiet = 0;
        }
    }

    std::shared_ptr<CallGate> gate_;
    std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace torvyn
