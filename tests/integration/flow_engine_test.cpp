// The flow engine on real components: topologies, backpressure, overflow and
// error policies, budgets, ownership violations, stopping and accounting.
#include <algorithm>
#include <atomic>
#include <sstream>
#include <thread>
#include <vector>

#include "fixture.hpp"

namespace torvyn {
namespace {

using testing::FlowTest;
using testing::toml_edge;
using testing::toml_node;
using testing::toml_source;

// blobs (size bytes each) -> misbehave (config) -> slow_sink (sink config)
std::string blob_chain(const std::string& f, const std::string& blobs, const std::string& mid,
                       const std::string& mid_extra, const std::string& sink_cfg,
                       const std::string& flow_extra = "") {
    return "[flow." + f + "]\n" + flow_extra + toml_source(f, "src", "blobs.wasm", blobs) +
           toml_node(f, "mid", "misbehave.wasm", "processor",
                     "config = \"" + mid + "\"\n" + mid_extra) +
           toml_node(f, "out", "slow_sink.wasm", "sink",
                     "config = \"" + sink_cfg + "\"\ncapabilities = [\"stdout\"]\n") +
           toml_edge(f, "src", "mid") + toml_edge(f, "mid", "out");
}

TEST_F(FlowTest, OneKibPayloadMakesExactlyFourCopies) {
    const FlowReport r =
        run("copies", blob_chain("c", "count=50 size=1024", "mode=pass", "", "work=1"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 50u);
    // source write, processor read, processor write, sink read
    EXPECT_EQ(r.copies.total().copies, 4u * 50);
    EXPECT_EQ(r.copies.total().bytes, 4u * 50 * 1024);
    EXPECT_EQ(r.copies.of(CopyReason::host_resize).copies, 0u);
    // Per edge: what the consumer of each edge read.
    EXPECT_EQ(edge(r, "src", "mid").copies.total().bytes, 50u * 1024);
    EXPECT_EQ(edge(r, "mid", "out").copies.total().bytes, 50u * 1024);
}

TEST_F(FlowTest, MetadataOnlyFilterCopiesNothing) {
    const std::string f = "m";
    const FlowReport r =
        run("metafilter", "[flow.m]\n" + toml_source(f, "src", "blobs.wasm", "count=40 size=512") +
                              toml_node(f, "even", "even_sequence.wasm", "filter") +
                              toml_node(f, "out", "slow_sink.wasm", "sink",
                                        "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
                              toml_edge(f, "src", "even") + toml_edge(f, "even", "out"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(node(r, "even").copies.total().copies, 0u);
    EXPECT_EQ(node(r, "even").filtered, 20u);
    EXPECT_EQ(r.delivered, 20u);
    // Only the source's writes and the sink's reads.
    EXPECT_EQ(r.copies.total().copies, 40u + 20u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, RouterFanOutSharesTheBufferWithoutCopies) {
    const std::string f = "r";
    const FlowReport r =
        run("router", "[flow.r]\n" + toml_source(f, "src", "numbers.wasm", "count=20") +
                          toml_node(f, "split", "parity_router.wasm", "router",
                                    "config = \"broadcast-every=5\"\n") +
                          toml_node(f, "a", "slow_sink.wasm", "sink",
                                    "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
                          toml_node(f, "b", "slow_sink.wasm", "sink",
                                    "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
                          toml_edge(f, "src", "split") + toml_edge(f, "split.even", "a") +
                          toml_edge(f, "split.odd", "b"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(node(r, "split").copies.total().copies, 0u);
    // 20 elements; 4 of them (5, 10, 15, 20) go to both ports.
    EXPECT_EQ(r.branches, 4u);
    EXPECT_EQ(r.delivered, 24u);
    EXPECT_EQ(node(r, "a").elements_in + node(r, "b").elements_in, 24u);
    // The host made no copy for the fan-out: source writes + sink reads only.
    EXPECT_EQ(r.copies.total().copies, 20u + 24u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(FlowTest, RouterPortsAreCheckedAgainstEdges) {
    const std::string f = "p";
    const FlowReport r =
        run("badport",
            "[flow.p]\n" + toml_source(f, "src", "numbers.wasm", "count=3") +
                toml_node(f, "split", "parity_router.wasm", "router") +
                toml_node(f, "a", "slow_sink.wasm", "sink", "capabilities = [\"stdout\"]\n") +
                toml_node(f, "b", "slow_sink.wasm", "sink", "capabilities = [\"stdout\"]\n") +
                toml_edge(f, "src", "split") + toml_edge(f, "split.evn", "a") +
                toml_edge(f, "split.odd", "b"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::manifest_topology);
    EXPECT_NE(r.error->message.find("no port 'evn'"), std::string::npos) << r.error->message;
    EXPECT_EQ(r.emitted, 0u);
}

// Fair: while both inputs have elements, the merge takes from each in turn,
// so neither waits for the other to run dry. The printer's output (numbers
// from one source, "level=..." from the other) shows the order of delivery.
TEST_F(FlowTest, FanInMergesFairly) {
    const std::string f = "fair";
    ::testing::internal::CaptureStdout();
    const FlowReport r =
        run("fanin-fair",
            "[flow.fair]\nqueue-capacity = 4\n" + toml_source(f, "a", "numbers.wasm", "count=200") +
                toml_source(f, "b", "events.wasm", "count=200") +
                toml_node(f, "out", "hello_printer.wasm", "sink", "capabilities = [\"stdout\"]\n") +
                toml_edge(f, "a", "out") + toml_edge(f, "b", "out"));
    const std::string out = ::testing::internal::GetCapturedStdout();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 400u);
    EXPECT_LE(edge(r, "a", "out").peak, 4u);
    EXPECT_LE(edge(r, "b", "out").peak, 4u);
    std::vector<char> order;  // 'a' or 'b' per delivery
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        order.push_back(line.rfind("level=", 0) == 0 ? 'b' : 'a');
    }
    ASSERT_EQ(order.size(), 400u);
    // In every window of 20 deliveries while both run, each input has
    // between 40% and 60%: a strict alternation has 50%.
    for (std::size_t start = 0; start + 20 <= 360; start += 20) {
        const auto a = std::count(order.begin() + static_cast<std::ptrdiff_t>(start),
                                  order.begin() + static_cast<std::ptrdiff_t>(start + 20), 'a');
        EXPECT_GE(a, 8) << "deliveries " << start << "..." << start + 20;
        EXPECT_LE(a, 12) << "deliveries " << start << "..." << start + 20;
    }
}

TEST_F(FlowTest, AggregatorFlushesWhenUpstreamEnds) {
    const std::string f = "agg";
    const FlowReport r = run(
        "agg",
        "[flow.agg]\n" + toml_source(f, "src", "events.wasm", "count=100") +
            toml_node(f, "count", "window_count.wasm", "aggregator", "config = \"window=30\"\n") +
            toml_node(f, "out", "slow_sink.wasm", "sink",
                      "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
            toml_edge(f, "src", "count") + toml_edge(f, "count", "out"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.aggregated, 100u);
    EXPECT_EQ(r.derived, 4u);  // three full windows of 30, then the flushed 10
    EXPECT_EQ(r.delivered, 4u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, SlowSinkKeepsQueuesAndMemoryBounded) {
    const std::string f = "bp";
    // One thread: the bound below counts one buffer in each stage's hands,
    // and on two threads a sink's batch is in its hands while the source
    // fills the queue again (placement may split this flow on a slow,
    // sanitized build).
    const FlowReport r =
        run("bounded",
            "[flow.bp]\nqueue-capacity = 8\nthreads = 1\n" +
                toml_source(f, "fast", "blobs.wasm", "count=3000 size=4096") +
                toml_node(f, "slow", "slow_sink.wasm", "sink",
                          "config = \"work=5 pause-every=500\"\ncapabilities = [\"stdout\"]\n") +
                toml_edge(f, "fast", "slow"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    const EdgeReport& q = edge(r, "fast", "slow");
    EXPECT_LE(q.peak, 8u);
    EXPECT_LE(q.peak, 6u);  // the source pauses at the high watermark (0.75 x 8)
    EXPECT_GT(q.pressure_episodes, 0u);
    EXPECT_EQ(q.dropped, 0u);
    EXPECT_EQ(r.delivered, 3000u);
    EXPECT_EQ(node(r, "slow").pauses, 6u);
    // At most the queued buffers plus the one in each stage's hands.
    EXPECT_LE(r.buffers.peak_bytes_held, (8u + 2u) * 4096u);
    EXPECT_TRUE(r.accounting_balanced());
}

std::string pausing_chain(const std::string& f, const std::string& policy) {
    return "[flow." + f + "]\nqueue-capacity = 4\n" +
           toml_source(f, "fast", "blobs.wasm", "count=400 size=64") +
           toml_node(f, "slow", "slow_sink.wasm", "sink",
                     "config = \"work=1 pause-every=1\"\ncapabilities = [\"stdout\"]\n") +
           toml_edge(f, "fast", "slow", "backpressure = \"" + policy + "\"\n");
}

TEST_F(FlowTest, DropOldestDropsAndAccounts) {
    const FlowReport r = run("dropold", pausing_chain("d", "drop-oldest"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    const EdgeReport& q = edge(r, "fast", "slow");
    EXPECT_GT(q.dropped, 0u);
    EXPECT_LE(q.peak, 4u);
    EXPECT_EQ(r.dropped, q.dropped);
    EXPECT_EQ(r.delivered + r.dropped, 400u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(FlowTest, DropNewestDropsAndAccounts) {
    const FlowReport r = run("dropnew", pausing_chain("d", "drop-newest"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_GT(r.dropped, 0u);
    EXPECT_EQ(r.delivered + r.dropped, 400u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, FailPolicyOverflowFailsTheFlow) {
    const FlowReport r = run("overflow", pausing_chain("d", "fail"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::queue_overflow);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(FlowTest, SkipPolicyCountsTheElementAndGoesOn) {
    const FlowReport r = run("skip", blob_chain("s", "count=20 size=16", "mode=error at=4",
                                                "on-error = \"skip\"\n", "work=1"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 19u);
    EXPECT_EQ(r.failed, 1u);
    EXPECT_EQ(node(r, "mid").skipped, 1u);
    EXPECT_EQ(node(r, "mid").errors, 1u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, RetryPolicyRetriesWithBackoff) {
    const FlowReport r =
        run("retry",
            blob_chain("t", "count=10 size=16", "mode=flaky at=3 times=2",
                       "on-error = \"retry\"\nretries = 3\nretry-backoff = \"1ms\"\n", "work=1"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 10u);
    EXPECT_EQ(node(r, "mid").retries, 2u);
    EXPECT_EQ(r.failed, 0u);
}

TEST_F(FlowTest, RetriesThatRunOutFailTheElement) {
    const FlowReport r =
        run("retryout",
            blob_chain("t", "count=10 size=16", "mode=flaky at=3 times=9",
                       "on-error = \"retry\"\nretries = 2\nretry-backoff = \"1ms\"\n", "work=1"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(node(r, "mid").retries, 2u);
    EXPECT_EQ(r.failed, 1u);
    EXPECT_EQ(r.delivered, 9u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, DeadLetterSinkReceivesFailedElements) {
    const std::string f = "dl";
    const FlowReport r =
        run("deadletter", "[flow.dl]\n" + toml_source(f, "src", "blobs.wasm", "count=10 size=16") +
                              toml_node(f, "mid", "misbehave.wasm", "processor",
                                        "config = \"mode=error at=6\"\non-error = "
                                        "\"dead-letter\"\ndead-letter = \"dlq\"\n") +
                              toml_node(f, "out", "slow_sink.wasm", "sink",
                                        "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
                              toml_node(f, "dlq", "slow_sink.wasm", "sink",
                                        "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
                              toml_edge(f, "src", "mid") + toml_edge(f, "mid", "out"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 9u);
    EXPECT_EQ(r.dead_lettered, 1u);
    EXPECT_EQ(node(r, "dlq").elements_in, 1u);
    EXPECT_EQ(node(r, "mid").dead_lettered, 1u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, FatalStopsTheNodeAndTheFlowGoesOnUnderSkip) {
    const FlowReport r = run("fatal", blob_chain("f", "count=10 size=16", "mode=fatal at=2",
                                                 "on-error = \"skip\"\n", "work=1"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_TRUE(node(r, "mid").stopped);
    EXPECT_EQ(r.delivered, 2u);
    EXPECT_EQ(r.failed, 8u);  // the fatal element and every later one
    ASSERT_EQ(r.node_errors.size(), 1u);
    EXPECT_EQ(r.node_errors[0].code, ErrorCode::guest_fatal);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, FlowTimeoutStopsGracefully) {
    const FlowReport r = run("timeout", blob_chain("t", "count=0 size=64", "mode=pass", "",
                                                   "work=1", "timeout = \"200ms\"\n"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::flow_timeout);
    EXPECT_EQ(r.stop, StopReason::timeout);
    // Drained, not cut: everything emitted was delivered.
    EXPECT_EQ(r.delivered, r.emitted);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, GracefulStopDrainsEverythingInFlight) {
    std::atomic<int> stop{0};
    RunOptions o = options();
    o.stop = &stop;
    const Manifest m =
        manifest("stop", blob_chain("s", "count=0 size=256", "mode=pass", "", "work=10"));
    auto flow = create(m, 0, o);
    ASSERT_TRUE(flow.ok());
    // Stops once elements are moving, however slowly the machine runs.
    std::thread stopper([&] {
        while (flow.value()->progress().delivered < 100) {
            std::this_thread::yield();
        }
        stop.store(static_cast<int>(StopRequest::graceful));
    });
    const FlowReport r = flow.value()->run();
    stopper.join();
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.stop, StopReason::interrupted);
    EXPECT_GE(r.emitted, 100u);
    EXPECT_EQ(r.delivered, r.emitted);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(FlowTest, ForcedStopCountsInFlightElementsAsFailed) {
    std::atomic<int> stop{static_cast<int>(StopRequest::forced)};
    RunOptions o = options();
    o.stop = &stop;
    const Manifest m =
        manifest("force", blob_chain("s", "count=0 size=256", "mode=pass", "", "work=10"));
    auto flow = create(m, 0, o);
    ASSERT_TRUE(flow.ok());
    const FlowReport r = flow.value()->run();
    EXPECT_EQ(r.stop, StopReason::forced);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(FlowTest, ComponentBudgetRefusalIsAClearError) {
    const FlowReport r = run("budget", blob_chain("b", "count=10 size=4096", "mode=pass",
                                                  "max-buffer-memory = \"1KiB\"\n", "work=1"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::resource_budget);
    EXPECT_NE(r.error->message.find("node 'mid'"), std::string::npos) << r.error->message;
    EXPECT_NE(r.error->message.find("of 4096 bytes refused"), std::string::npos)
        << r.error->message;
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, FlowBudgetRefusalIsAClearError) {
    const FlowReport r = run("flowbudget", blob_chain("b", "count=10 size=8192", "mode=pass", "",
                                                      "work=1", "max-buffer-memory = \"4KiB\"\n"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::resource_budget);
    EXPECT_TRUE(r.accounting_balanced());
}

class OwnershipViolation : public FlowTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(OwnershipViolation, TrapsTheGuestNotTheHost) {
    const FlowReport r = run(std::string("own-") + GetParam(),
                             blob_chain("o", "count=10 size=32",
                                        std::string("mode=") + GetParam() + " at=3", "", "work=1"));
    ASSERT_FALSE(r.ok());
    // A broken handle rule is named as such (E0401), with the rule and its SDK fix.
    EXPECT_EQ(r.error->code, ErrorCode::resource_handle) << r.error->format();
    EXPECT_NE(r.error->message.find("node 'mid'"), std::string::npos);
    EXPECT_NE(r.error->message.find("(the rule: a handle "), std::string::npos);
    EXPECT_NE(r.error->hint.find("docs/errors.md, E0401"), std::string::npos);
    EXPECT_EQ(r.delivered, 3u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

INSTANTIATE_TEST_SUITE_P(Flows, OwnershipViolation,
                         ::testing::Values("keep-borrow", "use-consumed", "double-free"));

}  // namespace
}  // namespace torvyn
