// The scheduler, queues, error policies, accounting and observers, driven
// through the Stage seam by native stages: no Wasm engine is linked into
// this test binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "../thread_cpu.hpp"
#include "native_stages.hpp"

namespace torvyn {
namespace {

using testing::thread_cpu;

using testing::BurstAggregator;
using testing::CountingSource;
using testing::EvenFilter;
using testing::Misbehaviour;
using testing::NativeFlows;
using testing::ParityRouter;
using testing::PassThrough;
using testing::RecordingSink;

// src -> mid -> out, with flow settings and the mid node's extra keys.
std::string chain(const std::string& flow_extra = "", const std::string& mid_extra = "",
                  const std::string& edge_extra = "") {
    return "[flow.t]\n" + flow_extra +
           "[flow.t.nodes.src]\ncomponent = \"x\"\nrole = \"source\"\n"
           "[flow.t.nodes.mid]\ncomponent = \"x\"\nrole = \"processor\"\n" +
           mid_extra +
           "[flow.t.nodes.out]\ncomponent = \"x\"\nrole = \"sink\"\n"
           "[[flow.t.edges]]\nfrom = \"src\"\nto = \"mid\"\n" +
           edge_extra + "[[flow.t.edges]]\nfrom = \"mid\"\nto = \"out\"\n" + edge_extra;
}

NativeFlows chain_stages(std::uint64_t count, Misbehaviour m = {}, std::uint64_t pause_every = 0) {
    NativeFlows f;
    f.make["src"] = [count](NodeHost& h) { return std::make_unique<CountingSource>(h, count); };
    f.make["mid"] = [m](NodeHost& h) { return std::make_unique<PassThrough>(h, m); };
    f.make["out"] = [pause_every](NodeHost& h) {
        return std::make_unique<RecordingSink>(h, pause_every);
    };
    return f;
}

CallResult trap() {
    return CallResult::failure(CallStatus::trap, "wasm trap: unreachable");
}
CallResult invalid_input() {
    return CallResult::guest(GuestErrorKind::invalid_input, "bad element");
}
CallResult unavailable() {
    return CallResult::guest(GuestErrorKind::unavailable, "not yet");
}
CallResult fatal() {
    return CallResult::guest(GuestErrorKind::fatal, "giving up");
}

TEST(Scheduler, ChainDeliversEveryElementInOrder) {
    NativeFlows f = chain_stages(100);
    const FlowReport r = f.run(chain());
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.emitted, 100u);
    EXPECT_EQ(r.delivered, 100u);
    EXPECT_TRUE(r.accounting_balanced());
    const auto& sink = f.stage<RecordingSink>("out");
    ASSERT_EQ(sink.sequences.size(), 100u);
    EXPECT_TRUE(std::is_sorted(sink.sequences.begin(), sink.sequences.end()));
    EXPECT_EQ(sink.payloads[42], "42");
    EXPECT_TRUE(sink.completed);
    EXPECT_EQ(r.buffers.live_buffers, 0u);
    EXPECT_EQ(f.stage<PassThrough>("mid").teardowns, 1);
}

TEST(Scheduler, PacedSourceSleepsBetweenPulls) {
    // 1000 elements per second: 40 elements take at least 39 periods, and
    // the flow's thread sleeps through them instead of spinning.
    NativeFlows f = chain_stages(40);
    std::string m = chain();
    const std::string role = "role = \"source\"\n";
    m.insert(m.find(role) + role.size(), "max-rate = 1000\n");
    const auto cpu0 = thread_cpu();
    const auto t0 = std::chrono::steady_clock::now();
    const FlowReport r = f.run(m);
    const auto wall = std::chrono::steady_clock::now() - t0;
    const auto cpu = thread_cpu() - cpu0;
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 40u);
    EXPECT_GE(wall, std::chrono::milliseconds(39));
    EXPECT_LT(cpu, wall / 2);
}

TEST(Scheduler, PendingSourceWaitsForItsFeedersWake) {
    // Pending until woken (no retry delay): the flow sleeps between items,
    // asks the source again when the feeder wakes it, and is not "stalled".
    NativeFlows f = chain_stages(0);
    f.make["src"] = [](NodeHost& h) {
        return std::make_unique<testing::FedSource>(h, std::chrono::nanoseconds(0));
    };
    auto flow = f.create(NativeFlows::spec(chain()));
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    auto& src = f.stage<testing::FedSource>("src");
    std::thread feeder = src.feed_from_another_thread(*f.waker, 20, std::chrono::milliseconds(2));
    const auto cpu0 = thread_cpu();
    const auto t0 = std::chrono::steady_clock::now();
    const FlowReport r = flow.value()->run();
    const auto wall = std::chrono::steady_clock::now() - t0;
    const auto cpu = thread_cpu() - cpu0;
    feeder.join();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 20u);
    EXPECT_EQ(f.stage<RecordingSink>("out").payloads.at(19), "19");
    // One pull per item, one per wake that found nothing, the first and the last.
    EXPECT_LE(src.pulls.load(), 2u * 20u + 3u);
    EXPECT_LT(cpu, wall / 2);
}

TEST(Scheduler, PendingSourceIsAskedAgainAfterItsDelay) {
    // Never woken: the source is asked again every 1 ms, not in a loop.
    NativeFlows f = chain_stages(0);
    f.make["src"] = [](NodeHost& h) {
        return std::make_unique<testing::FedSource>(h, std::chrono::milliseconds(1));
    };
    auto flow = f.create(NativeFlows::spec(chain()));
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    auto& src = f.stage<testing::FedSource>("src");
    std::thread feeder([&] {
        for (int i = 0; i < 10; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(3));
            src.feed(std::to_string(i));
        }
        src.finish();
    });
    const auto t0 = std::chrono::steady_clock::now();
    const FlowReport r = flow.value()->run();
    const auto wall_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    feeder.join();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 10u);
    // At most one pull per elapsed millisecond, plus one per item.
    EXPECT_LE(src.pulls.load(), static_cast<std::uint64_t>(wall_ms) + 10u + 2u);
}

NativeFlows batching_chain(std::uint64_t count, Misbehaviour m = {},
                           std::uint64_t pause_every = 0) {
    NativeFlows f = chain_stages(count, {}, pause_every);
    f.make["mid"] = [m](NodeHost& h) { return std::make_unique<PassThrough>(h, m, 64); };
    return f;
}

TEST(Batches, TakeWhatIsWaitingUpToTheNodesBatch) {
    NativeFlows f = batching_chain(100);
    const FlowReport r = f.run(chain("source-batch = 32\n", "batch = 16\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 100u);
    EXPECT_TRUE(r.accounting_balanced());
    const auto& sink = f.stage<RecordingSink>("out");
    EXPECT_TRUE(std::is_sorted(sink.sequences.begin(), sink.sequences.end()));
    const auto& batches = f.stage<PassThrough>("mid").batches;
    EXPECT_EQ(*std::max_element(batches.begin(), batches.end()), 16u);
    EXPECT_LE(batches.size(), 100u / 16u + 4u);
    EXPECT_EQ(r.nodes[1].calls, batches.size() + 2u);  // + init and teardown
}

TEST(Batches, AreOneElementWhenOneIsWaiting) {
    // The source emits one element a turn: the processor never waits for more.
    NativeFlows f = batching_chain(20);
    const FlowReport r = f.run(chain("", "batch = 16\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 20u);
    const auto& batches = f.stage<PassThrough>("mid").batches;
    EXPECT_EQ(*std::max_element(batches.begin(), batches.end()), 1u);
}

TEST(Batches, FitWhatTheQueuesDownstreamCanTake) {
    // A sink that pauses after every element keeps the queue to it full.
    NativeFlows f = batching_chain(60, {}, 1);
    const FlowReport r = f.run(chain("source-batch = 32\nqueue-capacity = 4\n", "batch = 16\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 60u);
    for (const auto& e : r.edges) {
        EXPECT_LE(e.peak, 4u) << e.from << " -> " << e.to;
    }
    const auto& batches = f.stage<PassThrough>("mid").batches;
    EXPECT_LE(*std::max_element(batches.begin(), batches.end()), 4u);
}

TEST(Batches, AnElementsOwnErrorFailsOnlyIt) {
    NativeFlows f = batching_chain(40, Misbehaviour{5, false, invalid_input()});
    const FlowReport r = f.run(chain("source-batch = 32\n", "batch = 16\non-error = \"skip\"\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 39u);
    EXPECT_EQ(r.failed, 1u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST(Batches, ATrapFailsTheWholeBatchAndStopsTheNode) {
    NativeFlows f = batching_chain(40, Misbehaviour{5, false, trap()});
    const FlowReport r = f.run(chain("source-batch = 32\n", "batch = 16\non-error = \"skip\"\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    // The first batch (0..15) holds the trap: every element of it fails, and
    // the stopped node gives up the rest.
    EXPECT_EQ(r.delivered, 0u);
    EXPECT_EQ(r.failed, 40u);
    EXPECT_EQ(r.nodes[1].errors, 1u);
    EXPECT_TRUE(r.nodes[1].stopped);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST(Scheduler, BlockQueueHoldsAtMostItsCapacityAndPausesTheSource) {
    // A sink that pauses after every element: the source outruns it.
    NativeFlows f = chain_stages(40, {}, 1);
    const FlowReport r = f.run(chain("queue-capacity = 8\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 40u);
    for (const auto& e : r.edges) {
        EXPECT_LE(e.peak, 8u) << e.from << " -> " << e.to;
    }
    // Pressure paused the source and released it again.
    const auto& notes = f.stage<CountingSource>("src").notifications;
    ASSERT_GE(notes.size(), 2u);
    EXPECT_TRUE(notes.front());
    EXPECT_GT(r.edges[1].pressure_episodes, 0u);
}

TEST(Scheduler, DroppingQueuesDropAndAccount) {
    for (const char* policy : {"drop-oldest", "drop-newest"}) {
        NativeFlows f = chain_stages(300, {}, 1);
        const FlowReport r = f.run(
            chain("queue-capacity = 4\n", "", std::string("backpressure = \"") + policy + "\"\n"));
        ASSERT_TRUE(r.ok()) << policy;
        EXPECT_GT(r.dropped, 0u) << policy;
        EXPECT_EQ(r.delivered + r.dropped, 300u) << policy;
        EXPECT_TRUE(r.accounting_balanced()) << policy;
        EXPECT_EQ(r.buffers.live_buffers, 0u);
    }
}

TEST(Scheduler, FailingQueueFailsTheFlow) {
    NativeFlows f = chain_stages(300, {}, 1);
    const FlowReport r = f.run(chain("queue-capacity = 4\n", "", "backpressure = \"fail\"\n"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::queue_overflow);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Policy, FailStopsTheFlowAndAccountsForEverything) {
    NativeFlows f = chain_stages(10, Misbehaviour{3, false, invalid_input()});
    const FlowReport r = f.run(chain());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_error);
    EXPECT_NE(r.error->message.find("node 'mid' failed on element 3"), std::string::npos);
    EXPECT_EQ(r.delivered, 3u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST(Policy, SkipCountsTheElementFailedAndGoesOn) {
    NativeFlows f = chain_stages(10, Misbehaviour{3, false, invalid_input()});
    const FlowReport r = f.run(chain("", "on-error = \"skip\"\n"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.delivered, 9u);
    EXPECT_EQ(r.failed, 1u);
    EXPECT_EQ(r.nodes[1].skipped, 1u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Policy, EveryErrorIsCountedAndTheFirstAndLastAreKept) {
    Misbehaviour m;
    m.at = 0;
    m.repeat = true;
    m.result = invalid_input();
    NativeFlows f = chain_stages(100, m);
    const FlowReport r = f.run(chain("", "on-error = \"skip\"\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_FALSE(r.run_failed());
    EXPECT_EQ(r.nodes[1].errors_by_code,
              (std::vector<std::pair<ErrorCode, std::uint64_t>>{{ErrorCode::guest_error, 100}}));
    ASSERT_EQ(r.failures.size(), 2 * FlowReport::kFailuresKept);
    EXPECT_EQ(r.failures_omitted, 100 - 2 * FlowReport::kFailuresKept);
    EXPECT_EQ(r.failures.front().element, 0u);
    EXPECT_EQ(r.failures[9].element, 9u);
    EXPECT_EQ(r.failures[10].element, 90u);
    EXPECT_EQ(r.failures.back().element, 99u);
    EXPECT_EQ(r.failures.back().node, "mid");
    EXPECT_EQ(r.failures.back().error.code, ErrorCode::guest_error);
}

TEST(Policy, ANodeThatStopsFailsTheRunUnlessAllowed) {
    Misbehaviour m;
    m.at = 3;
    m.result = fatal();
    NativeFlows f = chain_stages(10, m);
    const FlowReport r = f.run(chain("", "on-error = \"skip\"\n"));
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.completed_with_failures());
    EXPECT_TRUE(r.run_failed());
    EXPECT_TRUE(r.accounting_balanced());
    NativeFlows g = chain_stages(10, m);
    const FlowReport allowed = g.run(chain("allow-failures = true\n", "on-error = \"skip\"\n"));
    EXPECT_TRUE(allowed.completed_with_failures());
    EXPECT_FALSE(allowed.run_failed());
}

TEST(Policy, RetrySucceedsWithinItsAttempts) {
    Misbehaviour m{3, false, unavailable(), 2};  // fails twice, then works
    NativeFlows f = chain_stages(10, m);
    const FlowReport r =
        f.run(chain("", "on-error = \"retry\"\nretries = 3\nretry-backoff = \"1ms\"\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 10u);
    EXPECT_EQ(r.nodes[1].retries, 2u);
}

TEST(Policy, RetriesThatRunOutFailTheElement) {
    NativeFlows f = chain_stages(10, Misbehaviour{3, false, unavailable()});
    const FlowReport r =
        f.run(chain("", "on-error = \"retry\"\nretries = 2\nretry-backoff = \"1ms\"\n"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.failed, 1u);
    EXPECT_EQ(r.nodes[1].retries, 2u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Policy, FatalStopsTheNodeUnderSkipAndTheFlowGoesOn) {
    NativeFlows f = chain_stages(10, Misbehaviour{3, false, fatal()});
    const FlowReport r = f.run(chain("", "on-error = \"skip\"\n"));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.nodes[1].stopped);
    EXPECT_EQ(r.delivered, 3u);
    EXPECT_EQ(r.failed, 7u);
    ASSERT_EQ(r.node_errors.size(), 1u);
    EXPECT_EQ(r.node_errors[0].code, ErrorCode::guest_fatal);
    EXPECT_EQ(f.stage<PassThrough>("mid").teardowns, 1);  // torn down at once
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Policy, DeadLetterSinkReceivesFailedElements) {
    NativeFlows f = chain_stages(10, Misbehaviour{3, true, invalid_input()});
    f.make["dead"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    const FlowReport r = f.run(chain("", "on-error = \"dead-letter\"\ndead-letter = \"dead\"\n") +
                               "[flow.t.nodes.dead]\ncomponent = \"x\"\nrole = \"sink\"\n");
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 3u);
    EXPECT_EQ(r.dead_lettered, 7u);
    EXPECT_EQ(f.stage<RecordingSink>("dead").sequences.size(), 7u);
    // Each told why; the healthy sink is told nothing.
    EXPECT_EQ(f.stage<RecordingSink>("dead").reasons.front(),
              "E0303 invalid-input mid: bad element");
    EXPECT_EQ(f.stage<RecordingSink>("out").reasons.front(), "");
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Policy, TrappedStageRestartsWithinItsBudget) {
    NativeFlows f = chain_stages(10, Misbehaviour{3, false, trap()});
    f.make["mid"] = [](NodeHost& h) {
        auto p = std::make_unique<PassThrough>(h, Misbehaviour{3, false, trap()});
        p->restartable = true;
        return p;
    };
    const FlowReport r =
        f.run(chain("", "on-error = \"skip\"\non-trap = \"restart\"\nmax-restarts = 1\n"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.nodes[1].restarts, 1u);
    EXPECT_EQ(f.stage<PassThrough>("mid").restarts, 1);
    EXPECT_EQ(r.delivered, 9u);
    EXPECT_EQ(r.failed, 1u);
}

TEST(Policy, AStageThatCannotRestartStops) {
    NativeFlows f = chain_stages(10, Misbehaviour{3, false, trap()});
    const FlowReport r =
        f.run(chain("", "on-error = \"skip\"\non-trap = \"restart\"\nmax-restarts = 3\n"));
    EXPECT_TRUE(r.nodes[1].stopped);
    EXPECT_EQ(r.nodes[1].restarts, 0u);
    EXPECT_EQ(r.delivered, 3u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Scheduler, FanInTakesInputsInTurn) {
    NativeFlows f;
    f.make["a"] = [](NodeHost& h) { return std::make_unique<CountingSource>(h, 100); };
    f.make["b"] = [](NodeHost& h) { return std::make_unique<CountingSource>(h, 100); };
    f.make["out"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    const FlowReport r = f.run(
        "[flow.t]\nqueue-capacity = 4\n"
        "[flow.t.nodes.a]\ncomponent = \"x\"\nrole = \"source\"\n"
        "[flow.t.nodes.b]\ncomponent = \"x\"\nrole = \"source\"\n"
        "[flow.t.nodes.out]\ncomponent = \"x\"\nrole = \"sink\"\n"
        "[[flow.t.edges]]\nfrom = \"a\"\nto = \"out\"\n[[flow.t.edges]]\nfrom = \"b\"\nto = "
        "\"out\"\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.delivered, 200u);
    // Round-robin: the sink sees each sequence number twice, in step.
    const auto& seen = f.stage<RecordingSink>("out").sequences;
    for (std::size_t i = 0; i + 1 < seen.size(); i += 2) {
        EXPECT_EQ(seen[i], seen[i + 1]) << i;
    }
}

std::string routed(const std::string& ports = "") {
    return "[flow.t]\n"
           "[flow.t.nodes.src]\ncomponent = \"x\"\nrole = \"source\"\n"
           "[flow.t.nodes.split]\ncomponent = \"x\"\nrole = \"router\"\n" +
           ports +
           "[flow.t.nodes.evens]\ncomponent = \"x\"\nrole = \"sink\"\n"
           "[flow.t.nodes.odds]\ncomponent = \"x\"\nrole = \"sink\"\n"
           "[[flow.t.edges]]\nfrom = \"src\"\nto = \"split\"\n"
           "[[flow.t.edges]]\nfrom = \"split.even\"\nto = \"evens\"\n"
           "[[flow.t.edges]]\nfrom = \"split.odd\"\nto = \"odds\"\n";
}

TEST(Scheduler, RouterSharesOneBufferAcrossPorts) {
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<CountingSource>(h, 10); };
    f.make["split"] = [](NodeHost&) { return std::make_unique<ParityRouter>(); };
    f.make["evens"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    f.make["odds"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    const FlowReport r = f.run(routed());
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.emitted, 10u);
    EXPECT_EQ(r.branches, 2u);  // 0 and 5 go both ways
    EXPECT_EQ(r.delivered, 12u);
    EXPECT_EQ(r.buffers.allocations, 10u);  // shared, never copied
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Scheduler, RouterThatDeclaresOtherPortsFailsBeforeAnyElement) {
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<CountingSource>(h, 10); };
    f.make["split"] = [](NodeHost&) {
        return std::make_unique<ParityRouter>(std::vector<std::string>{"even", "odd", "other"});
    };
    f.make["evens"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    f.make["odds"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    const FlowReport r = f.run(routed());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::manifest_topology);
    EXPECT_NE(r.error->message.find("'other'"), std::string::npos) << r.error->message;
    EXPECT_EQ(r.emitted, 0u);
}

TEST(Scheduler, FilterKeepsWhatItAccepts) {
    NativeFlows f = chain_stages(10);
    f.make["mid"] = [](NodeHost&) { return std::make_unique<EvenFilter>(); };
    std::string toml = chain();
    toml.replace(toml.find("role = \"processor\""), 18, "role = \"filter\"");
    const FlowReport r = f.run(toml);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.delivered, 5u);
    EXPECT_EQ(r.filtered, 5u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Scheduler, FlushLargerThanTheQueueIsDelivered) {
    NativeFlows f = chain_stages(10);
    f.make["mid"] = [](NodeHost& h) { return std::make_unique<BurstAggregator>(h, 50); };
    std::string toml = chain("queue-capacity = 4\n");
    toml.replace(toml.find("role = \"processor\""), 18, "role = \"aggregator\"");
    const FlowReport r = f.run(toml);
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.aggregated, 10u);
    EXPECT_EQ(r.derived, 50u);
    EXPECT_EQ(r.delivered, 50u);
    EXPECT_LE(r.edges[1].peak, 4u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Scheduler, GracefulStopDrainsEverythingInFlight) {
    std::atomic<int> stop{0};
    RunOptions o;
    o.stop = &stop;
    NativeFlows f = chain_stages(~0ull);  // never ends by itself
    auto flow = f.create(NativeFlows::spec(chain()), o);
    ASSERT_TRUE(flow.ok());
    std::thread stopper([&] {
        while (flow.value()->progress().delivered < 1000) {
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
    EXPECT_TRUE(flow.value()->progress().finished);
    EXPECT_EQ(flow.value()->progress().delivered, r.delivered);
    // Buffer memory too (what --metrics reads while a flow runs).
    EXPECT_EQ(flow.value()->progress().peak_buffer_bytes, r.buffers.peak_bytes_held);
    EXPECT_GT(flow.value()->progress().peak_buffer_bytes, 0u);
    EXPECT_EQ(flow.value()->progress().buffer_bytes, r.buffers.bytes_held);
}

TEST(Scheduler, ForcedStopCountsWhatIsQueuedAsFailed) {
    std::atomic<int> stop{static_cast<int>(StopRequest::forced)};
    RunOptions o;
    o.stop = &stop;
    NativeFlows f = chain_stages(~0ull);
    const FlowReport r = f.run(chain(), o);
    EXPECT_EQ(r.stop, StopReason::forced);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

// Counts events by kind, to check them against the report.
class Counter : public FlowObserver {
public:
    void on_start(const FlowTopology& t) override { nodes = t.nodes.size(); }
    void on_call(std::uint32_t, CallKind kind, std::uint64_t, CallStatus) override {
        ++calls;
        kinds[kind]++;
    }
    void on_emitted(std::uint32_t, const ElementRef& e) override {
        ++emitted;
        stamped += e.born_ticks != 0;
    }
    void on_delivered(std::uint32_t, const ElementRef&, std::uint64_t bytes,
                      std::uint64_t) override {
        ++delivered;
        delivered_bytes += bytes;
    }
    void on_ended(PathEnd how, std::uint32_t, std::uint64_t) override { ++ended[how]; }
    void on_queue(std::uint32_t, std::size_t depth) override {
        max_depth = std::max(max_depth, depth);
    }
    void on_finish(const FlowReport& r) override { finished_with = r.delivered; }

    std::size_t nodes = 0;
    std::uint64_t calls = 0;
    std::map<CallKind, std::uint64_t> kinds;
    std::uint64_t emitted = 0;
    std::uint64_t stamped = 0;
    std::uint64_t delivered = 0;
    std::uint64_t delivered_bytes = 0;
    std::map<PathEnd, std::uint64_t> ended;
    std::size_t max_depth = 0;
    std::uint64_t finished_with = 0;
};

TEST(Observers, SeeEveryEventTheReportCounts) {
    Counter c;
    RunOptions o;
    o.observers.push_back(&c);
    NativeFlows f = chain_stages(20, Misbehaviour{4, false, invalid_input()});
    const FlowReport r = f.run(chain("queue-capacity = 4\n", "on-error = \"skip\"\n"), o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(c.nodes, 3u);
    EXPECT_EQ(c.emitted, r.emitted);
    EXPECT_EQ(c.stamped, r.emitted);  // observed: every path is timed
    EXPECT_EQ(c.delivered, r.delivered);
    EXPECT_EQ(c.delivered_bytes, 29u);  // "0".."9" and "10".."19" without "4"
    EXPECT_EQ(c.ended[PathEnd::failed], r.failed);
    EXPECT_EQ(c.finished_with, r.delivered);
    EXPECT_EQ(c.kinds[CallKind::pull], 21u);  // 20 elements, then exhausted
    EXPECT_EQ(c.kinds[CallKind::process], 20u);
    EXPECT_EQ(c.kinds[CallKind::push], 19u);
    std::uint64_t calls = 0;
    for (const auto& n : r.nodes) {
        calls += n.calls;
    }
    EXPECT_EQ(c.calls, calls);
    EXPECT_LE(c.max_depth, 4u);
}

TEST(Observers, AnUnobservedFlowReadsNoClockPerElement) {
    NativeFlows f = chain_stages(10);
    const FlowReport r = f.run(chain());
    ASSERT_TRUE(r.ok());
    const auto& born = f.stage<RecordingSink>("out").born;
    EXPECT_TRUE(std::all_of(born.begin(), born.end(), [](std::uint64_t t) { return t == 0; }));
}

// The same counter, listening to paths only.
class PathCounter final : public Counter {
public:
    [[nodiscard]] std::uint32_t events() const override { return kPathEvents; }
};

TEST(Observers, HearOnlyWhatTheyListenTo) {
    PathCounter paths;
    Counter all;
    RunOptions o;
    o.observers = {&paths, &all};
    NativeFlows f = chain_stages(10);
    const FlowReport r = f.run(chain(), o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(paths.delivered, 10u);
    EXPECT_EQ(paths.stamped, 10u);
    EXPECT_EQ(paths.calls, 0u);
    EXPECT_EQ(paths.max_depth, 0u);
    EXPECT_EQ(paths.finished_with, 10u);  // on_start and on_finish always come
    EXPECT_EQ(paths.nodes, 3u);
    EXPECT_GT(all.calls, 0u);
    EXPECT_GT(all.max_depth, 0u);
}

TEST(Stages, CallsOutsideTheirRoleAreRefused) {
    EvenFilter filter;
    Produced out;
    const CallResult r = filter.pull(out);
    EXPECT_EQ(r.status, CallStatus::internal);
    EXPECT_NE(r.message.find("'pull'"), std::string::npos);
}

}  // namespace
}  // namespace torvyn
