// Flows driven by several threads, on native stages: pinned placement,
// placement from measured cost, and the flow's semantics across threads
// (order, backpressure, failures, stops, wakes, accounting).
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "../../src/reactor/placement.hpp"
#include "native_stages.hpp"

namespace torvyn {
namespace {

using testing::CountingSource;
using testing::Misbehaviour;
using testing::NativeFlows;
using testing::PassThrough;
using testing::RecordingSink;

// Passes each element on after `work` of CPU work (a spinning loop): a heavy
// stage, as placement measures it.
class Working final : public Stage {
public:
    Working(NodeHost& host, std::chrono::microseconds work) : host_(host), work_(work) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult process(const ElementRef& in, Produced& out) override {
        const auto until = std::chrono::steady_clock::now() + work_;
        while (std::chrono::steady_clock::now() < until) {
        }
        host_.buffers->add_ref(in.payload);
        out.present = true;
        out.payload = in.payload;
        return {};
    }

private:
    NodeHost& host_;
    std::chrono::microseconds work_;
};

// src -> a -> b -> out; `nodes` holds extra keys per node, in that order.
std::string chain4(const std::string& flow_extra, const std::vector<std::string>& nodes = {},
                   const std::string& edge_extra = "") {
    const char* names[] = {"src", "a", "b", "out"};
    const char* roles[] = {"source", "processor", "processor", "sink"};
    std::string m = "[flow.t]\n" + flow_extra;
    for (std::size_t i = 0; i < 4; ++i) {
        m += fmt::format("[flow.t.nodes.{}]\ncomponent = \"x\"\nrole = \"{}\"\n{}", names[i],
                         roles[i], i < nodes.size() ? nodes[i] : "");
    }
    for (std::size_t i = 0; i + 1 < 4; ++i) {
        m += fmt::format("[[flow.t.edges]]\nfrom = \"{}\"\nto = \"{}\"\n{}", names[i], names[i + 1],
                         edge_extra);
    }
    return m;
}

NativeFlows chain4_stages(std::uint64_t count, std::chrono::microseconds work = {},
                          Misbehaviour b_misbehaves = {}) {
    NativeFlows f;
    f.make["src"] = [count](NodeHost& h) { return std::make_unique<CountingSource>(h, count); };
    f.make["a"] = [work](NodeHost& h) { return std::make_unique<Working>(h, work); };
    f.make["b"] = [b_misbehaves](NodeHost& h) {
        return std::make_unique<PassThrough>(h, b_misbehaves);
    };
    f.make["out"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    return f;
}

const std::vector<std::string> kOnThreeThreads = {"thread = 1\n", "thread = 2\n", "thread = 3\n",
                                                  "thread = 3\n"};

TEST(Threads, PinnedChainDeliversEveryElementInOrder) {
    NativeFlows f = chain4_stages(20'000);
    const FlowReport r = f.run(chain4("", kOnThreeThreads));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.threads, 3u);
    EXPECT_EQ(r.nodes[1].thread, 2u);
    EXPECT_EQ(r.nodes[3].thread, 3u);
    EXPECT_EQ(r.delivered, 20'000u);
    EXPECT_TRUE(r.accounting_balanced());
    const auto& sink = f.stage<RecordingSink>("out");
    ASSERT_EQ(sink.sequences.size(), 20'000u);
    EXPECT_TRUE(std::is_sorted(sink.sequences.begin(), sink.sequences.end()));
    EXPECT_EQ(sink.payloads[12'345], "12345");
    EXPECT_TRUE(sink.completed);
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST(Threads, AnUnpinnedNodeRunsWithItsInput) {
    NativeFlows f = chain4_stages(100);
    const FlowReport r = f.run(chain4("", {"", "thread = 2\n"}));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.threads, 2u);
    EXPECT_EQ(r.nodes[0].thread, 1u);
    EXPECT_EQ(r.nodes[2].thread, 2u);
    EXPECT_EQ(r.nodes[3].thread, 2u);
    EXPECT_EQ(r.delivered, 100u);
}

TEST(Threads, AQueueBetweenThreadsHoldsAtMostItsCapacity) {
    // A slow stage on its own thread: the queue in front of it fills, the
    // source is paused, nothing is dropped.
    NativeFlows f = chain4_stages(300, std::chrono::microseconds(100));
    const FlowReport r = f.run(chain4("queue-capacity = 4\n", {"", "thread = 2\n"}));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 300u);
    for (const auto& e : r.edges) {
        EXPECT_LE(e.peak, 4u) << e.from << " -> " << e.to;
        EXPECT_EQ(e.dropped, 0u);
    }
    EXPECT_GE(r.edges[0].pressure_episodes, 1u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Threads, AFailureOnOneThreadStopsTheFlowAndAccountsForEverything) {
    Misbehaviour m;
    m.at = 500;
    m.result = CallResult::guest(GuestErrorKind::invalid_input, "bad element");
    NativeFlows f = chain4_stages(5'000, {}, m);
    const FlowReport r = f.run(chain4("", kOnThreeThreads));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_error);
    EXPECT_EQ(r.stop, StopReason::failed);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST(Threads, GracefulStopDrainsEveryThread) {
    std::atomic<int> stop{0};
    RunOptions o;
    o.stop = &stop;
    NativeFlows f = chain4_stages(~0ull);
    auto flow = f.create(NativeFlows::spec(chain4("", kOnThreeThreads)), o);
    ASSERT_TRUE(flow.ok());
    std::thread stopper([&] {
        while (flow.value()->progress().delivered < 5'000 && !flow.value()->progress().finished) {
            std::this_thread::yield();
        }
        stop.store(static_cast<int>(StopRequest::graceful));
    });
    const FlowReport r = flow.value()->run();
    stopper.join();
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.stop, StopReason::interrupted);
    EXPECT_EQ(r.delivered, r.emitted);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST(Threads, APendingSourceOnItsOwnThreadIsWokenByItsFeeder) {
    NativeFlows f = chain4_stages(0);
    f.make["src"] = [](NodeHost& h) {
        return std::make_unique<testing::FedSource>(h, std::chrono::nanoseconds(0));
    };
    auto flow = f.create(NativeFlows::spec(chain4("", {"", "thread = 2\n"})));
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    auto& src = f.stage<testing::FedSource>("src");
    std::thread feeder = src.feed_from_another_thread(*f.waker, 20, std::chrono::milliseconds(1));
    const FlowReport r = flow.value()->run();
    feeder.join();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.threads, 2u);
    EXPECT_EQ(r.delivered, 20u);
    EXPECT_EQ(f.stage<RecordingSink>("out").payloads.at(19), "19");
    EXPECT_LE(src.pulls.load(), 2u * 20u + 3u);
}

TEST(Threads, FanInAndFanOutAcrossThreads) {
    // Two sources on two threads merge into a router on a third, whose
    // ports lead to sinks on the first two.
    NativeFlows f;
    f.make["s1"] = [](NodeHost& h) { return std::make_unique<CountingSource>(h, 1'000); };
    f.make["s2"] = [](NodeHost& h) { return std::make_unique<CountingSource>(h, 1'000); };
    f.make["r"] = [](NodeHost&) { return std::make_unique<testing::ParityRouter>(); };
    f.make["even"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    f.make["odd"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    const FlowReport r = f.run(
        "[flow.t]\n"
        "[flow.t.nodes.s1]\ncomponent = \"x\"\nrole = \"source\"\nthread = 1\n"
        "[flow.t.nodes.s2]\ncomponent = \"x\"\nrole = \"source\"\nthread = 2\n"
        "[flow.t.nodes.r]\ncomponent = \"x\"\nrole = \"router\"\nthread = 3\n"
        "[flow.t.nodes.even]\ncomponent = \"x\"\nrole = \"sink\"\nthread = 1\n"
        "[flow.t.nodes.odd]\ncomponent = \"x\"\nrole = \"sink\"\nthread = 2\n"
        "[[flow.t.edges]]\nfrom = \"s1\"\nto = \"r\"\n"
        "[[flow.t.edges]]\nfrom = \"s2\"\nto = \"r\"\n"
        "[[flow.t.edges]]\nfrom = \"r.even\"\nto = \"even\"\n"
        "[[flow.t.edges]]\nfrom = \"r.odd\"\nto = \"odd\"\n");
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.threads, 3u);
    EXPECT_EQ(r.emitted, 2'000u);
    // Every 5th element goes both ways: 2 x 200 branches.
    EXPECT_EQ(r.branches, 400u);
    EXPECT_EQ(r.delivered, 2'400u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST(Threads, HeavyStagesMoveToSeveralThreads) {
    // Two stages of 200 µs each keep one thread busy: measured, they are
    // placed on two threads, one each.
    NativeFlows f = chain4_stages(600, std::chrono::microseconds(200));
    f.make["b"] = [](NodeHost& h) {
        return std::make_unique<Working>(h, std::chrono::microseconds(200));
    };
    const FlowReport r = f.run(chain4("threads = 2\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.spreads, 1u);
    // On a machine whose other core is busy (tests run side by side), two
    // threads run no faster and the flow regroups: measured, not assumed.
    if (r.regroups == 0) {
        EXPECT_EQ(r.threads, 2u);
        EXPECT_NE(r.nodes[1].thread, r.nodes[2].thread);
    } else {
        EXPECT_EQ(r.threads, 1u);
    }
    EXPECT_EQ(r.delivered, 600u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_TRUE(std::is_sorted(f.stage<RecordingSink>("out").sequences.begin(),
                               f.stage<RecordingSink>("out").sequences.end()));
}

// Heavy, and ten times heavier off the thread that made it (as a stage
// whose data lives in another core's cache might be): spreading does not pay.
class HomeBound final : public Stage {
public:
    explicit HomeBound(NodeHost& host) : host_(host), home_(std::this_thread::get_id()) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult process(const ElementRef& in, Produced& out) override {
        const bool away = std::this_thread::get_id() != home_;
        ran_away = ran_away || away;
        const auto until =
            std::chrono::steady_clock::now() + std::chrono::microseconds(away ? 2'000 : 200);
        while (std::chrono::steady_clock::now() < until) {
        }
        host_.buffers->add_ref(in.payload);
        out.present = true;
        out.payload = in.payload;
        return {};
    }
    bool ran_away = false;

private:
    NodeHost& host_;
    std::thread::id home_;
};

TEST(Threads, NodesThatRunSlowerSpreadRegroupOnOneThread) {
    NativeFlows f = chain4_stages(1'500, std::chrono::microseconds(200));
    f.make["b"] = [](NodeHost& h) { return std::make_unique<HomeBound>(h); };
    const FlowReport r = f.run(chain4("threads = 2\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_TRUE(f.stage<HomeBound>("b").ran_away);  // it was spread, and measured
    EXPECT_GE(r.regroups, 1u);                      // and regrouped
    EXPECT_EQ(r.spreads, r.regroups);
    EXPECT_EQ(r.threads, 1u);
    EXPECT_EQ(r.delivered, 1'500u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_TRUE(std::is_sorted(f.stage<RecordingSink>("out").sequences.begin(),
                               f.stage<RecordingSink>("out").sequences.end()));
}

TEST(Threads, ALightFlowStaysOnOneThread) {
    NativeFlows f = chain4_stages(300'000);
    const FlowReport r = f.run(chain4("threads = 4\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 300'000u);
    // Light is what the flow measured: its stages' time per element well
    // under the cost of a hand-off (a sanitized build, 10x slower, is not).
    std::chrono::nanoseconds busy{0};
    for (const auto& n : r.nodes) {
        busy += n.busy;
    }
    const auto per_element = busy / r.delivered;
    if (per_element < std::chrono::microseconds(2)) {
        EXPECT_EQ(r.spreads, 0u) << per_element.count() << " ns per element";
        EXPECT_EQ(r.threads, 1u);
    }
}

TEST(Threads, ThreadsOneKeepsHeavyStagesTogether) {
    NativeFlows f = chain4_stages(300, std::chrono::microseconds(200));
    const FlowReport r = f.run(chain4("threads = 1\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.threads, 1u);
}

TEST(Placement, BalanceKeepsTheHeaviestRunLight) {
    using detail::balance;
    using detail::heaviest;
    const std::vector<std::uint64_t> costs = {1, 10, 10, 1};
    const auto two = balance(costs, 2);
    EXPECT_EQ(two, (std::vector<std::uint32_t>{0, 0, 1, 1}));
    EXPECT_EQ(heaviest(costs, two), 11u);
    const std::vector<std::uint64_t> skewed = {1, 30, 5, 5, 5, 5, 1};
    const auto three = balance(skewed, 3);
    EXPECT_EQ(heaviest(skewed, three), 30u);
    EXPECT_TRUE(std::is_sorted(three.begin(), three.end()));
    EXPECT_LE(three.back(), 2u);
    EXPECT_EQ(balance(costs, 1), (std::vector<std::uint32_t>{0, 0, 0, 0}));
}

TEST(Placement, SplitsOnlyWhatPaysForItsHandOffs) {
    detail::Measured heavy;
    heavy.ns_per_tick = 1.0;
    heavy.elements = 1'000;
    heavy.busy = {1'000'000, 20'000'000, 20'000'000, 1'000'000};  // 20 µs per element each
    heavy.wall = 45'000'000;
    EXPECT_EQ(detail::place_by_cost(heavy, 8), (std::vector<std::uint32_t>{0, 0, 1, 1}));
    EXPECT_TRUE(detail::place_by_cost(heavy, 1).empty());

    detail::Measured light = heavy;  // 1 µs per element in all
    light.busy = {200'000, 300'000, 300'000, 200'000};
    light.wall = 1'300'000;
    EXPECT_TRUE(detail::place_by_cost(light, 8).empty());

    detail::Measured waiting = heavy;  // the thread mostly waits for its source
    waiting.wall = 500'000'000;
    EXPECT_TRUE(detail::place_by_cost(waiting, 8).empty());
}

}  // namespace
}  // namespace torvyn
