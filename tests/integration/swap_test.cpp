// Replacing a component while its flow runs (Flow::replace_stage): a real
// processor swapped, back and forth, for another one linked beforehand and
// instantiated on the node's driver thread. The source and the sink are
// native, so the test decides when elements come.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "../unit/native_stages.hpp"
#include "fixture.hpp"
#include "torvyn/reactor/link.hpp"

namespace torvyn {
namespace {

using namespace std::chrono_literals;
using testing::FedSource;
using testing::FlowTest;
using testing::RecordingSink;

TEST_F(FlowTest, AProcessorComponentIsReplacedWhileTheFlowRuns) {
    const Manifest m = manifest("swap", R"(
[flow.swap]
[flow.swap.nodes.src]
component = "native"
role = "source"
[flow.swap.nodes.mid]
component = "hello_shout.wasm"
role = "processor"
[flow.swap.nodes.out]
component = "native"
role = "sink"
[[flow.swap.edges]]
from = "src"
to = "mid"
[[flow.swap.edges]]
from = "mid"
to = "out"
)");
    const FlowSpec& spec = m.flows.at(0);
    std::atomic<int> stop{0};
    RunOptions o = options();
    o.stop = &stop;
    const LinkContext ctx{runtime_, &m, o.component_path, nullptr};
    FedSource* src = nullptr;
    RecordingSink* sink = nullptr;
    FlowWaker* waker = nullptr;
    auto flow = Flow::create(spec, o, [&](StageSlot& slot) -> Result<std::unique_ptr<Stage>> {
        waker = &slot.waker;
        if (slot.node.name == "src") {
            auto s = std::make_unique<FedSource>(slot.host, 0ns);
            src = s.get();
            return std::unique_ptr<Stage>(std::move(s));
        }
        if (slot.node.name == "out") {
            auto s = std::make_unique<RecordingSink>(slot.host);
            sink = s.get();
            return std::unique_ptr<Stage>(std::move(s));
        }
        auto linked = link_node(ctx, slot.flow, slot.node, slot.warnings);
        if (!linked) {
            return std::move(linked).error();
        }
        return instantiate_stage(*runtime_, linked.value(), slot);
    });
    ASSERT_TRUE(flow.ok()) << flow.error().format();

    // Both components linked before the flow runs: a swap only instantiates.
    const auto mid = std::find_if(spec.nodes.begin(), spec.nodes.end(),
                                  [](const NodeSpec& n) { return n.name == "mid"; });
    ASSERT_NE(mid, spec.nodes.end());
    NodeSpec copy_spec = *mid;
    copy_spec.component = "checked_copy.wasm";
    std::vector<Error> warnings;
    auto shout = link_node(ctx, spec, *mid, warnings);
    auto copy = link_node(ctx, spec, copy_spec, warnings);
    ASSERT_TRUE(shout.ok()) << shout.error().format();
    ASSERT_TRUE(copy.ok()) << copy.error().format();

    FlowReport report;
    std::thread running([&] { report = flow.value()->run(); });
    // A failed assertion ends the test early: the flow is stopped first.
    struct Joiner {
        std::thread& thread;
        std::atomic<int>& stop;
        ~Joiner() {
            if (thread.joinable()) {
                stop.store(static_cast<int>(StopRequest::forced));
                thread.join();
            }
        }
    } joiner{running, stop};
    std::vector<std::string> expected;
    int fed = 0;
    // Feeds `count` elements and waits until the sink has them, each
    // processed by the stage in place (shouted or copied).
    const auto feed = [&](int count, bool shouted) {
        for (int i = 0; i < count; ++i, ++fed) {
            const std::string text = fmt::format("hello {}", fed);
            src->feed(text);
            std::string out = text;
            if (shouted) {
                std::transform(out.begin(), out.end(), out.begin(), ::toupper);
                out += '!';
            }
            expected.push_back(out);
        }
        waker->wake();
        const auto until = std::chrono::steady_clock::now() + 30s;
        while (flow.value()->progress().delivered < expected.size() &&
               std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(200us);
        }
    };
    feed(10, true);
    std::vector<std::chrono::nanoseconds> pauses;
    bool shouting = true;
    for (std::uint32_t g = 1; g <= 20; ++g) {
        shouting = !shouting;
        const LinkedNode& next = shouting ? shout.value() : copy.value();
        StageSwap swap;
        swap.node = "mid";
        swap.make = [&](StageSlot& slot) { return instantiate_stage(*runtime_, next, slot); };
        auto done = flow.value()->replace_stage(std::move(swap));
        ASSERT_EQ(done.wait_for(30s), std::future_status::ready);
        const Result<SwapOutcome> outcome = done.get();
        ASSERT_TRUE(outcome.ok()) << outcome.error().format();
        EXPECT_EQ(outcome->generation, g);
        pauses.push_back(outcome->pause);
        feed(5, shouting);
    }
    src->finish();
    waker->wake();
    running.join();
    ASSERT_TRUE(report.ok()) << report.error->format();
    EXPECT_EQ(report.emitted, 110u);
    EXPECT_EQ(report.delivered, 110u);
    EXPECT_TRUE(report.accounting_balanced());
    EXPECT_EQ(report.buffers.live_buffers, 0u);
    EXPECT_EQ(node(report, "mid").swaps, 20u);
    EXPECT_EQ(sink->payloads, expected);
    std::sort(pauses.begin(), pauses.end());
    const auto us = [](std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e3; };
    std::cout << fmt::format(
        "component swap pause over 20 swaps: p50 {:.1f} us, p95 {:.1f} us, max {:.1f} us\n",
        us(pauses[9]), us(pauses[18]), us(pauses[19]));
}

}  // namespace
}  // namespace torvyn
