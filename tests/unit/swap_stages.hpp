// Native stages and helpers for the tests of Flow::replace_stage
// (swap_test.cpp): stages that mark what they handle, an aggregator whose
// state can be handed over, a sink the test reads while the flow runs, and
// a flow running on a thread of its own.
#pragma once

#include <atomic>
#include <charconv>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "native_stages.hpp"

namespace torvyn::testing {

inline std::string text_of(const NodeHost& host, BufferHandle h) {
    std::span<const std::byte> b;
    host.buffers->bytes(h, 0, ~0ull, &b);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// What a stage's calls were, read by the test (from another thread).
struct Tally {
    std::atomic<int> inits{0};
    std::atomic<int> teardowns{0};
    std::atomic<int> closes{0};
    std::atomic<std::uint64_t> calls{0};  // elements handled
    std::mutex mutex;
    std::thread::id init_on;
    std::set<std::thread::id> threads;  // where it handled elements

    void handled_here() {
        calls.fetch_add(1);
        const std::lock_guard lock(mutex);
        threads.insert(std::this_thread::get_id());
    }
    void initialised_here() {
        inits.fetch_add(1);
        const std::lock_guard lock(mutex);
        init_on = std::this_thread::get_id();
    }
    std::set<std::thread::id> where() {
        const std::lock_guard lock(mutex);
        return threads;
    }
    std::thread::id initialised_on() {
        const std::lock_guard lock(mutex);
        return init_on;
    }
};

// Writes "<mark>:<payload>" for each element, so the sink sees which stage
// handled it; sleeps `work` first.
class Marking final : public Stage {
public:
    Marking(NodeHost& host, std::string mark, std::shared_ptr<Tally> tally,
            std::chrono::microseconds work = {})
        : host_(host), mark_(std::move(mark)), tally_(std::move(tally)), work_(work) {}
    CallResult init(std::string_view) override {
        tally_->initialised_here();
        return {};
    }
    CallResult teardown() override {
        tally_->teardowns.fetch_add(1);
        return {};
    }
    void close() override { tally_->closes.fetch_add(1); }
    CallResult process(const ElementRef& in, Produced& out) override {
        tally_->handled_here();
        if (work_.count() != 0) {
            std::this_thread::sleep_for(work_);
        }
        const std::string text = mark_ + ":" + text_of(host_, in.payload);
        out.present = true;
        out.payload = host_.buffers->make_host_buffer(bytes_of(text), "text/plain", nullptr);
        return {};
    }

private:
    NodeHost& host_;
    std::string mark_;
    std::shared_ptr<Tally> tally_;
    std::chrono::microseconds work_;
};

inline StageFactory marking(std::string mark, std::shared_ptr<Tally> tally) {
    return [mark = std::move(mark),
            tally = std::move(tally)](StageSlot& slot) -> Result<std::unique_ptr<Stage>> {
        return std::unique_ptr<Stage>(std::make_unique<Marking>(slot.host, mark, tally));
    };
}

inline StageSwap swap_of(std::string node, StageFactory make, SwapState state = SwapState::flush) {
    StageSwap swap;
    swap.node = std::move(node);
    swap.make = std::move(make);
    swap.state = state;
    return swap;
}

// Sums the numbers it ingests; its flush emits "<mark> n=<count> sum=<sum>".
// With `hands`, its state can be handed over (snapshot and restore).
class Summing final : public Stage {
public:
    Summing(NodeHost& host, std::string mark, bool hands, std::shared_ptr<Tally> tally)
        : host_(host), mark_(std::move(mark)), hands_(hands), tally_(std::move(tally)) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override {
        tally_->teardowns.fetch_add(1);
        return {};
    }
    void close() override { tally_->closes.fetch_add(1); }
    CallResult ingest(const ElementRef& in, Produced& out) override {
        const std::string text = text_of(host_, in.payload);
        std::uint64_t v = 0;
        std::from_chars(text.data(), text.data() + text.size(), v);
        sum_ += v;
        ++count_;
        out.present = false;
        return {};
    }
    CallResult flush(std::vector<Produced>& out) override {
        const std::string text = fmt::format("{} n={} sum={}", mark_, count_, sum_);
        Produced p;
        p.present = true;
        p.payload = host_.buffers->make_host_buffer(bytes_of(text), "", nullptr);
        out.push_back(p);
        return {};
    }
    CallResult snapshot(std::vector<std::byte>& state) override {
        if (!hands_) {
            return Stage::snapshot(state);
        }
        const std::string text = fmt::format("{} {}", count_, sum_);
        const auto b = bytes_of(text);
        state.assign(b.begin(), b.end());
        return {};
    }
    CallResult restore(std::span<const std::byte> state) override {
        if (!hands_) {
            return Stage::restore(state);
        }
        const std::string text(reinterpret_cast<const char*>(state.data()), state.size());
        const auto space = text.find(' ');
        std::from_chars(text.data(), text.data() + space, count_);
        std::from_chars(text.data() + space + 1, text.data() + text.size(), sum_);
        return {};
    }

private:
    NodeHost& host_;
    std::string mark_;
    bool hands_;
    std::shared_ptr<Tally> tally_;
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
};

// A sink the test may read while the flow runs; checks that elements come
// exactly once and in order (sequence 0, 1, ...), and keeps their payloads
// unless told not to.
class Sink final : public Stage {
public:
    Sink(NodeHost& host, std::uint64_t pause_every = 0, bool keep = true)
        : host_(host), pause_every_(pause_every), keep_(keep) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult push(const ElementRef& in, bool& pause) override {
        const std::lock_guard lock(mutex_);
        out_of_order_ += in.sequence != next_ ? 1 : 0;
        next_ = in.sequence + 1;
        if (keep_) {
            payloads_.push_back(text_of(host_, in.payload));
        }
        pause = pause_every_ != 0 && next_ % pause_every_ == 0;
        return {};
    }
    CallResult complete() override {
        if (on_complete) {
            on_complete();
        }
        completed.store(true);
        return {};
    }
    std::vector<std::string> payloads() {
        const std::lock_guard lock(mutex_);
        return payloads_;
    }
    std::uint64_t out_of_order() {
        const std::lock_guard lock(mutex_);
        return out_of_order_;
    }
    std::function<void()> on_complete;
    std::atomic<bool> completed{false};

private:
    NodeHost& host_;
    std::uint64_t pause_every_;
    bool keep_;
    std::mutex mutex_;
    std::uint64_t next_ = 0;
    std::uint64_t out_of_order_ = 0;
    std::vector<std::string> payloads_;
};

// Records on_replaced.
class Replaced final : public FlowObserver {
public:
    [[nodiscard]] std::uint32_t events() const override { return kReplaceEvents; }
    void on_replaced(std::uint32_t node, std::uint32_t generation) override {
        seen.emplace_back(node, generation);
    }
    std::vector<std::pair<std::uint32_t, std::uint32_t>> seen;
};

inline RunOptions stoppable(std::atomic<int>& stop) {
    RunOptions o;
    o.stop = &stop;
    return o;
}

template <class Ready>
bool eventually(Ready ready, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!ready()) {
        if (std::chrono::steady_clock::now() > until) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
}

inline Result<SwapOutcome> answer(std::future<Result<SwapOutcome>>& f) {
    if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
        return Error(ErrorCode::internal, "no answer within 20 s");
    }
    return f.get();
}

// Tells when run() has begun.
class Started final : public FlowObserver {
public:
    explicit Started(std::promise<void>& started) : started_(started) {}
    [[nodiscard]] std::uint32_t events() const override { return 0; }
    void on_start(const FlowTopology&) override { started_.set_value(); }

private:
    std::promise<void>& started_;
};

// A flow running on a thread of its own while the test changes it (from
// when it has started). A test that ends early (a failed assertion) stops
// it by force.
class Running {
public:
    Running(Flow& flow, std::atomic<int>& stop) : stop_(stop) {
        flow.adopt(std::make_unique<Started>(started_));
        thread_ = std::thread([this, &flow] { report_ = flow.run(); });
        id_ = thread_.get_id();
        started_.get_future().wait();
    }
    ~Running() {
        if (thread_.joinable()) {
            stop_.store(static_cast<int>(StopRequest::forced));
            thread_.join();
        }
    }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;
    FlowReport& join() {
        thread_.join();
        return report_;
    }
    // The thread that called run(): the flow's first driver thread.
    [[nodiscard]] std::thread::id id() const { return id_; }

private:
    std::atomic<int>& stop_;
    std::promise<void> started_;
    FlowReport report_;
    std::thread thread_;
    std::thread::id id_;
};

}  // namespace torvyn::testing
