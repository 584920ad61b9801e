// Contract 0.2.0 through the real host and real components: both contract
// versions in one flow, batches (by value and lent), an element's own error
// inside a batch, and a source that answers "pending".

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "../thread_cpu.hpp"
#include "fixture.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn {
namespace {

using testing::thread_cpu;

using testing::FlowTest;
using testing::toml_edge;
using testing::toml_node;
using testing::toml_source;

using ContractTest = FlowTest;

// blobs (count, size) -> checked_copy (config, batch) -> slow_sink (batch)
std::string blobs_chain(int count, int size, const std::string& copy_config, int batch,
                        const std::string& copy_extra = "") {
    const std::string b = "batch = " + std::to_string(batch) + "\n";
    // The source emits up to 16 per turn, so batches build up behind it.
    return "[flow.c]\nsource-batch = 16\n" +
           toml_source("c", "blobs", "blobs.wasm", fmt::format("count={} size={}", count, size)) +
           toml_node("c", "copy", "checked_copy.wasm", "processor",
                     "config = \"" + copy_config + "\"\n" + b + copy_extra) +
           toml_node("c", "sink", "slow_sink.wasm", "sink",
                     "config = \"work=1\"\ncapabilities = [\"stdout\"]\n" + b) +
           toml_edge("c", "blobs", "copy") + toml_edge("c", "copy", "sink");
}

TEST_F(ContractTest, TheHostSpeaksBothVersionsAndFindsTheBatchForms) {
    namespace fs = std::filesystem;
    const auto version = [](const char* file, Role role) {
        fs::path path = fs::path(TORVYN_TEST_COMPONENT_DIR) / file;
        if (!fs::exists(path)) {
            path = fs::path(TORVYN_EXAMPLE_COMPONENT_DIR) / file;
        }
        auto c = runtime_->load(path);
        EXPECT_TRUE(c.ok()) << path;
        auto p = runtime_->prepare(c.value(), role, Grants{});
        EXPECT_TRUE(p.ok()) << p.error().format();
        return std::pair{p.value()->contract_minor(), p.value()->batched()};
    };
    // Frozen 0.1.0, C: no batch form.
    EXPECT_EQ(version("misbehave.wasm", Role::processor), std::pair(1u, false));
    // 0.2.0, C (per element only) and C++ (the SDK adds the batch form).
    EXPECT_EQ(version("hello_greeter.wasm", Role::source), std::pair(2u, false));
    EXPECT_EQ(version("bursts.wasm", Role::source), std::pair(2u, true));
    EXPECT_EQ(version("checked_copy.wasm", Role::processor), std::pair(2u, true));
    EXPECT_EQ(version("multiple_of.wasm", Role::filter), std::pair(2u, true));
    EXPECT_EQ(version("even_sequence.wasm", Role::filter), std::pair(2u, true));
}

TEST_F(ContractTest, ComponentsOfBothVersionsRunInOneFlow) {
    // greeter (0.2.0) -> misbehave pass (0.1.0) -> even_sequence (0.2.0, batched) -> printer
    const std::string t =
        "[flow.mix]\n" + toml_source("mix", "src", "hello_greeter.wasm", "count=50") +
        toml_node("mix", "old", "misbehave.wasm", "processor", "config = \"mode=pass\"\n") +
        toml_node("mix", "even", "even_sequence.wasm", "filter") +
        toml_node("mix", "end", "hello_printer.wasm", "sink", "capabilities = [\"stdout\"]\n") +
        toml_edge("mix", "src", "old") + toml_edge("mix", "old", "even") +
        toml_edge("mix", "even", "end");
    const FlowReport r = run("mix", t);
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.emitted, 50u);
    EXPECT_EQ(r.delivered, 25u);
    EXPECT_EQ(node(r, "even").filtered, 25u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(ContractTest, BatchesCarrySmallPayloadsByValueAndCountEachCopy) {
    // 64-byte payloads checked byte by byte inside the component: by value,
    // in batches of up to 16, with one counted copy in and one out each.
    const FlowReport r = run("batched", blobs_chain(1000, 64, "verify=1", 16));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 1000u);
    const NodeReport& copy = node(r, "copy");
    EXPECT_EQ(copy.errors, 0u);
    EXPECT_EQ(copy.elements_in, 1000u);
    EXPECT_LT(copy.calls, 1000u / 4) << "batches of more than one element";
    EXPECT_LT(node(r, "sink").calls, 1000u / 4);
    // The source (C++ SDK) too: pull-batch, its 64 B payloads back by value.
    EXPECT_LT(node(r, "blobs").calls, 1000u / 4);
    EXPECT_EQ(node(r, "blobs").host_calls, 0u);
    EXPECT_EQ(node(r, "blobs").copies.of(CopyReason::guest_to_host).copies, 1000u);
    EXPECT_EQ(node(r, "blobs").copies.of(CopyReason::guest_to_host).bytes, 64'000u);
    EXPECT_EQ(copy.copies.of(CopyReason::host_to_guest).copies, 1000u);
    EXPECT_EQ(copy.copies.of(CopyReason::host_to_guest).bytes, 64'000u);
    EXPECT_EQ(copy.copies.of(CopyReason::guest_to_host).copies, 1000u);
    EXPECT_EQ(copy.copies.of(CopyReason::guest_to_host).bytes, 64'000u);
    EXPECT_EQ(node(r, "sink").copies.of(CopyReason::host_to_guest).bytes, 64'000u);
    // By value: after the first batch (lent, to learn that the component
    // reads its payloads) it never asked the host for one.
    EXPECT_LE(copy.host_calls, 2u * 16);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(ContractTest, AFilterThatNeverReadsPayloadsIsNeverSentThem) {
    const std::string t = "[flow.meta]\nsource-batch = 16\n" +
                          toml_source("meta", "src", "blobs.wasm", "count=200 size=64") +
                          toml_node("meta", "even", "even_sequence.wasm", "filter") +
                          toml_node("meta", "end", "checked_copy.wasm", "processor") +
                          toml_node("meta", "out", "slow_sink.wasm", "sink",
                                    "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
                          toml_edge("meta", "src", "even") + toml_edge("meta", "even", "end") +
                          toml_edge("meta", "end", "out");
    const FlowReport r = run("meta", t);
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 100u);
    EXPECT_LT(node(r, "even").calls, 200u / 4);
    EXPECT_EQ(node(r, "even").copies.total().copies, 0u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(ContractTest, LargePayloadsInABatchAreLent) {
    // Over limits::kBatchInlineBytes: lent by handle and read by the
    // component (a host call each), still checked byte by byte.
    const int size = static_cast<int>(limits::kBatchInlineBytes) + 1000;
    const FlowReport r = run("lent", blobs_chain(40, size, "verify=1", 16));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 40u);
    const NodeReport& copy = node(r, "copy");
    EXPECT_EQ(copy.errors, 0u);
    EXPECT_GE(copy.host_calls, 40u);
    EXPECT_EQ(copy.copies.of(CopyReason::host_to_guest).copies, 40u);
    EXPECT_EQ(copy.copies.of(CopyReason::host_to_guest).bytes, 40u * size);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(ContractTest, ABatchOverTheCallsByteBudgetIsHandedOverInParts) {
    // 12 payloads of 1 MiB waiting: read whole, one call could not carry
    // them (limits::kMaxCallTransferBytes); parts of at most 4 MiB can.
    const FlowReport r = run("parts", blobs_chain(12, 1 << 20, "verify=1", 16));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 12u);
    EXPECT_EQ(node(r, "copy").errors, 0u);
    EXPECT_GE(node(r, "copy").calls, 12u * (1u << 20) / limits::kBatchCallBytes);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(ContractTest, AnElementsOwnErrorInABatchFailsOnlyThatElement) {
    const FlowReport r =
        run("fails", blobs_chain(100, 64, "fail-every=10", 16, "on-error = \"skip\"\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    const NodeReport& copy = node(r, "copy");
    EXPECT_EQ(copy.skipped, 10u);  // sequences 0, 10, ..., 90
    EXPECT_EQ(copy.errors, 10u);
    EXPECT_EQ(r.delivered, 90u);
    EXPECT_EQ(r.failed, 10u);
    EXPECT_LT(copy.calls, 100u / 4);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(ContractTest, APendingSourceIsAskedAgainLaterWithoutSpinning) {
    // 20 elements, each after a "pending, come back in 5 ms".
    const std::string t = "[flow.tick]\n" +
                          toml_source("tick", "src", "ticker.wasm", "count=20 wait-us=5000") +
                          toml_node("tick", "end", "slow_sink.wasm", "sink",
                                    "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
                          toml_edge("tick", "src", "end");
    auto flow = create(manifest("tick", t));  // only the run is timed
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    const auto cpu0 = thread_cpu();
    const auto t0 = std::chrono::steady_clock::now();
    const FlowReport r = flow.value()->run();
    const auto wall = std::chrono::steady_clock::now() - t0;
    const auto cpu = thread_cpu() - cpu0;
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 20u);
    EXPECT_GE(node(r, "src").calls, 41u);  // 20 pending, 20 elements, 1 exhausted
    EXPECT_GE(wall, std::chrono::milliseconds(95));
    EXPECT_LT(cpu, wall / 2);
}

TEST_F(ContractTest, ABatchedSourceSendsABurstInOneCallAndWaitsBetween) {
    // 5 bursts of 8, each after "pending, come back in 5 ms".
    const std::string t =
        "[flow.bursts]\nsource-batch = 16\n" +
        toml_source("bursts", "src", "bursts.wasm", "count=40 burst=8 wait-us=5000") +
        toml_node("bursts", "end", "slow_sink.wasm", "sink",
                  "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
        toml_edge("bursts", "src", "end");
    // Made first: only the run itself is timed (loading and instantiating
    // take CPU, much of it under the sanitizers).
    auto flow = create(manifest("bursts", t));
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    const auto cpu0 = thread_cpu();
    const auto t0 = std::chrono::steady_clock::now();
    const FlowReport r = flow.value()->run();
    const auto wall = std::chrono::steady_clock::now() - t0;
    const auto cpu = thread_cpu() - cpu0;
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 40u);
    EXPECT_EQ(r.emitted, 40u);
    // About one call per burst (each ends with the next pending), where one
    // call per element and pending would take 46.
    EXPECT_LT(node(r, "src").calls, 10u);
    EXPECT_GE(wall, std::chrono::milliseconds(24));
    EXPECT_LT(cpu, wall / 2);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(ContractTest, AGuestPendingWithoutATimeIsAskedAgainSoon) {
    // pending(0): a guest cannot wake the host, so the host comes back after
    // limits::kGuestPendingRetry instead of waiting for a wake-up forever.
    const std::string t = "[flow.soon]\n" +
                          toml_source("soon", "src", "ticker.wasm", "count=10 wait-us=0") +
                          toml_node("soon", "end", "slow_sink.wasm", "sink",
                                    "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
                          toml_edge("soon", "src", "end");
    const auto t0 = std::chrono::steady_clock::now();
    const FlowReport r = run("soon", t);
    const auto wall = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 10u);
    EXPECT_GE(wall, 10 * limits::kGuestPendingRetry);
}

}  // namespace
}  // namespace torvyn
