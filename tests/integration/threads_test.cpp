// Multi-core flows through the real host and real components: the same flow
// on one thread and on several gives the same accounting, heavy stages are
// placed on threads of their own, and a guest that traps or spins on one
// thread is contained while the others stop cleanly.

#include <fmt/format.h>

#include "fixture.hpp"

namespace torvyn {
namespace {

using testing::FlowTest;
using testing::toml_edge;
using testing::toml_node;
using testing::toml_source;

using ThreadsTest = FlowTest;

// blobs -> a (checked_copy) -> b (`b_component`) -> sink, with extra keys
// for the flow and each node.
std::string chain(const std::string& flow_extra, const std::string& copy_config,
                  const std::vector<std::string>& extra = {},
                  const std::string& b_component = "checked_copy.wasm") {
    const auto x = [&](std::size_t i) { return i < extra.size() ? extra[i] : std::string(); };
    return "[flow.m]\nsource-batch = 16\n" + flow_extra +
           toml_source("m", "src", "blobs.wasm", "count=5000 size=256") + x(0) +
           toml_node("m", "a", "checked_copy.wasm", "processor",
                     "config = \"" + copy_config + "\"\n" + x(1)) +
           toml_node("m", "b", b_component, "processor",
                     "config = \"" + copy_config + "\"\n" + x(2)) +
           toml_node("m", "sink", "slow_sink.wasm", "sink",
                     "config = \"work=1\"\ncapabilities = [\"stdout\"]\n" + x(3)) +
           toml_edge("m", "src", "a") + toml_edge("m", "a", "b") + toml_edge("m", "b", "sink");
}

TEST_F(ThreadsTest, OnSeveralThreadsTheAccountingIsTheSameAsOnOne) {
    const FlowReport one = run("m", chain("threads = 1\n", "verify=1"));
    const FlowReport three = run(
        "m",
        chain("", "verify=1", {"thread = 1\n", "thread = 2\n", "thread = 3\n", "thread = 3\n"}));
    ASSERT_TRUE(one.ok()) << one.error->format();
    ASSERT_TRUE(three.ok()) << three.error->format();
    EXPECT_EQ(one.threads, 1u);
    EXPECT_EQ(three.threads, 3u);
    EXPECT_EQ(three.delivered, 5000u);
    EXPECT_TRUE(three.accounting_balanced());
    EXPECT_EQ(three.buffers.live_buffers, 0u);
    // Every copy the flow made on one thread, and no other.
    EXPECT_EQ(three.copies.total().copies, one.copies.total().copies);
    EXPECT_EQ(three.copies.total().bytes, one.copies.total().bytes);
    for (std::size_t i = 0; i < one.nodes.size(); ++i) {
        EXPECT_EQ(three.nodes[i].elements_in, one.nodes[i].elements_in) << one.nodes[i].name;
        EXPECT_EQ(three.nodes[i].elements_out, one.nodes[i].elements_out) << one.nodes[i].name;
        EXPECT_EQ(three.nodes[i].copies.total().copies, one.nodes[i].copies.total().copies)
            << one.nodes[i].name;
    }
}

TEST_F(ThreadsTest, HeavyStagesArePlacedOnThreadsOfTheirOwn) {
    // Each copy stage sums its 256 bytes 200 times over: tens of µs per
    // element, which keeps one thread busy; measured, they are split.
    const FlowReport r = run("m", chain("threads = 2\n", "work=200"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.spreads, 1u);
    // With the machine's other core busy (tests run side by side), two
    // threads run no faster and the flow regroups on one.
    if (r.regroups == 0) {
        EXPECT_EQ(r.threads, 2u);
        EXPECT_NE(node(r, "a").thread, node(r, "b").thread);
    } else {
        EXPECT_EQ(r.threads, 1u);
    }
    EXPECT_EQ(r.delivered, 5000u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(ThreadsTest, ATrapOnOneThreadIsContainedAndTheOthersStop) {
    const FlowReport r =
        run("m", chain("", "mode=trap at=1000",
                       {"thread = 1\n", "thread = 1\n", "thread = 2\n", "thread = 3\n"},
                       "misbehave.wasm"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_trap);
    EXPECT_NE(r.error->message.find("'b'"), std::string::npos) << r.error->message;
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(ThreadsTest, ASpinningGuestOnItsOwnThreadMeetsItsDeadlineAndRestarts) {
    const FlowReport r =
        run("m", chain("", "mode=spin at=10",
                       {"", "",
                        "thread = 2\ncall-timeout = \"100ms\"\non-error = \"skip\"\n"
                        "on-trap = \"restart\"\n"},
                       "misbehave.wasm"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(node(r, "b").errors, 1u);
    EXPECT_EQ(node(r, "b").restarts, 1u);
    EXPECT_EQ(r.delivered, 4999u);
    EXPECT_EQ(r.failed, 1u);
    EXPECT_TRUE(r.accounting_balanced());
}

}  // namespace
}  // namespace torvyn
