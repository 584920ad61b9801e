// Native test stages: host code behind the Stage seam, so the scheduler,
// queues, policies and accounting are tested without a Wasm engine. Each is
// small and scriptable; payloads are host buffers in the flow's store.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "torvyn/config/manifest.hpp"
#include "torvyn/reactor/flow.hpp"

namespace torvyn::testing {

inline std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// A failure a stage reports on element `at` (or every one with `repeat`).
struct Misbehaviour {
    std::uint64_t at = ~0ull;
    bool repeat = false;
    CallResult result;                  // what the call returns then
    std::uint32_t succeed_after = ~0u;  // on that element, succeed from attempt N on
    [[nodiscard]] bool applies(std::uint64_t seq) const {
        return seq == at || (repeat && seq > at);
    }
};

// Emits `count` elements ("0", "1", ...), numbered from 0.
class CountingSource final : public Stage {
public:
    CountingSource(NodeHost& host, std::uint64_t count) : host_(host), count_(count) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult pull(Produced& out) override {
        if (next_ == count_) {
            out.present = false;
            return {};
        }
        const std::string text = std::to_string(next_);
        out.present = true;
        out.sequence = next_++;
        out.payload = host_.buffers->make_host_buffer(bytes_of(text), "text/plain", nullptr);
        return {};
    }
    CallResult notify(bool pause) override {
        notifications.push_back(pause);
        return {};
    }
    std::vector<bool> notifications;

private:
    NodeHost& host_;
    std::uint64_t count_;
    std::uint64_t next_ = 0;
};

// A source fed from another thread, as a connector's client would feed it:
// pending while it has nothing (asked again after `retry_after`, or when
// the feeder wakes the flow), exhausted once finished and empty.
class FedSource final : public Stage {
public:
    FedSource(NodeHost& host, std::chrono::nanoseconds retry_after)
        : host_(host), retry_after_(retry_after) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult pull(Produced& out) override {
        pulls.fetch_add(1);
        const std::lock_guard lock(mutex_);
        if (items_.empty()) {
            out.present = false;
            out.pending = !finished_;
            out.retry_after = retry_after_;
            return {};
        }
        out.present = true;
        out.sequence = next_++;
        out.payload = host_.buffers->make_host_buffer(bytes_of(items_.front()), "", nullptr);
        items_.pop_front();
        return {};
    }
    // Feeder side: from another thread, `count` items ("0", "1", ...) one
    // `gap` apart, each followed by a wake of the flow, then the end.
    std::thread feed_from_another_thread(FlowWaker& waker, int count,
                                         std::chrono::milliseconds gap) {
        return std::thread([this, &waker, count, gap] {
            for (int i = 0; i < count; ++i) {
                std::this_thread::sleep_for(gap);
                feed(std::to_string(i));
                waker.wake();
            }
            finish();
            waker.wake();
        });
    }
    void feed(std::string item) {
        const std::lock_guard lock(mutex_);
        items_.push_back(std::move(item));
    }
    void finish() {
        const std::lock_guard lock(mutex_);
        finished_ = true;
    }
    std::atomic<std::uint64_t> pulls{0};

private:
    NodeHost& host_;
    std::chrono::nanoseconds retry_after_;
    std::mutex mutex_;
    std::deque<std::string> items_;
    bool finished_ = false;
    std::uint64_t next_ = 0;
};

// Passes every element on (sharing its buffer), or misbehaves on some.
// With `batch` > 1 it takes batches (the default process_batch, which calls
// process per element) and records their sizes.
class PassThrough final : public Stage {
public:
    PassThrough(NodeHost& host, Misbehaviour m = {}, std::size_t batch = 1)
        : host_(host), m_(std::move(m)), batch_(batch) {}
    [[nodiscard]] std::size_t batch_limit() const override { return batch_; }
    CallResult process_batch(std::span<const ElementRef> in, std::span<Produced> out,
                             std::span<CallResult> each) override {
        batches.push_back(in.size());
        return Stage::process_batch(in, out, each);
    }
    std::vector<std::size_t> batches;
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override {
        ++teardowns;
        return {};
    }
    CallResult process(const ElementRef& in, Produced& out) override {
        if (m_.applies(in.sequence) && dead_ == false) {
            if (attempts_[in.sequence]++ < m_.succeed_after) {
                dead_ = m_.result.instance_dead();
                return m_.result;
            }
        }
        if (dead_) {
            return CallResult::failure(CallStatus::trap, "called after a trap");
        }
        host_.buffers->add_ref(in.payload);
        out.present = true;
        out.payload = in.payload;
        return {};
    }
    CallResult restart(std::string_view) override {
        if (!restartable) {
            return Stage::restart("");
        }
        dead_ = false;
        ++restarts;
        return {};
    }
    bool restartable = false;
    int restarts = 0;
    int teardowns = 0;

private:
    NodeHost& host_;
    Misbehaviour m_;
    std::size_t batch_;
    bool dead_ = false;
    std::map<std::uint64_t, std::uint32_t> attempts_;
};

// Keeps even-numbered elements.
class EvenFilter final : public Stage {
public:
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult accept(const ElementRef& in, bool& accepted) override {
        accepted = in.sequence % 2 == 0;
        return {};
    }
};

// Routes by parity to ports "even" and "odd"; every 5th to both.
class ParityRouter final : public Stage {
public:
    explicit ParityRouter(std::vector<std::string> declared = {"even", "odd"})
        : declared_(std::move(declared)) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult ports(std::vector<std::string>& names) override {
        names = declared_;
        return {};
    }
    CallResult route(const ElementRef& in, std::vector<std::string>& ports) override {
        ports.clear();
        if (in.sequence % 5 == 0) {
            ports = {"even", "odd"};
        } else {
            ports.push_back(in.sequence % 2 == 0 ? "even" : "odd");
        }
        return {};
    }

private:
    std::vector<std::string> declared_;
};

// Absorbs everything; flushes `burst` outputs.
class BurstAggregator final : public Stage {
public:
    BurstAggregator(NodeHost& host, std::uint64_t burst) : host_(host), burst_(burst) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult ingest(const ElementRef&, Produced& out) override {
        out.present = false;
        return {};
    }
    CallResult flush(std::vector<Produced>& out) override {
        for (std::uint64_t i = 0; i < burst_; ++i) {
            Produced p;
            p.present = true;
            p.sequence = i + 1;
            p.payload = host_.buffers->make_host_buffer(bytes_of("x"), "", nullptr);
            out.push_back(p);
        }
        return {};
    }

private:
    NodeHost& host_;
    std::uint64_t burst_;
};

// Records what it receives; asks to pause after every `pause_every`.
class RecordingSink final : public Stage {
public:
    explicit RecordingSink(NodeHost& host, std::uint64_t pause_every = 0)
        : host_(host), pause_every_(pause_every) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult push(const ElementRef& in, bool& pause) override {
        sequences.push_back(in.sequence);
        born.push_back(in.born_ticks);
        std::span<const std::byte> b;
        host_.buffers->bytes(in.payload, 0, ~0ull, &b);
        payloads.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
        // What a dead-letter sink is told about the element ("" for none).
        reasons.push_back(host_.dead_letter == nullptr
                              ? std::string()
                              : host_.dead_letter->code + " " + host_.dead_letter->kind + " " +
                                    host_.dead_letter->node + ": " + host_.dead_letter->message);
        pause = pause_every_ != 0 && sequences.size() % pause_every_ == 0;
        return {};
    }
    CallResult complete() override {
        completed = true;
        return {};
    }
    std::vector<std::uint64_t> sequences;
    std::vector<std::uint64_t> born;
    std::vector<std::string> payloads;
    std::vector<std::string> reasons;
    bool completed = false;

private:
    NodeHost& host_;
    std::uint64_t pause_every_;
};

// Builds flows from TOML and native stages: `make[node name]` makes each
// node's stage; the stages stay reachable through `stages` for assertions.
class NativeFlows {
public:
    using Maker = std::function<std::unique_ptr<Stage>(NodeHost&)>;

    // Parses `toml` (component fields are required by the schema, unused).
    static FlowSpec spec(const std::string& toml) {
        const ManifestLoad m = parse_manifest(toml, "native.toml");
        if (!m.ok()) {
            throw std::runtime_error(m.errors.front().format());
        }
        return m.manifest.flows.at(0);
    }

    Result<std::unique_ptr<Flow>> create(const FlowSpec& spec, RunOptions options = {}) {
        return Flow::create(
            spec, options, [this](StageSlot& slot) -> Result<std::unique_ptr<Stage>> {
                auto it = make.find(slot.node.name);
                if (it == make.end()) {
                    return Error(ErrorCode::internal, "no test stage for " + slot.node.name);
                }
                auto stage = it->second(slot.host);
                stages[slot.node.name] = stage.get();
                waker = &slot.waker;
                return stage;
            });
    }

    // Creates and runs a flow; it (and its stages) live until the next run.
    FlowReport run(const std::string& toml, RunOptions options = {}) {
        auto flow = create(spec(toml), std::move(options));
        if (!flow) {
            throw std::runtime_error(flow.error().format());
        }
        flow_ = std::move(flow).value();
        return flow_->run();
    }

    template <class T>
    T& stage(const std::string& name) {
        return dynamic_cast<T&>(*stages.at(name));
    }

    std::map<std::string, Maker> make;
    std::map<std::string, Stage*> stages;
    FlowWaker* waker = nullptr;  // the last created flow's

private:
    std::unique_ptr<Flow> flow_;
};

}  // namespace torvyn::testing
