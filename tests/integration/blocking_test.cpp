// Guests that wait inside the host (a clock, a connect, a read, a poll) are
// stopped at their node's call deadline like a guest spinning in wasm, and
// the flow beside them does not notice.
#include <chrono>
#include <thread>

#include "fixture.hpp"
#include "torvyn/security/audit.hpp"

namespace torvyn {
namespace {

using testing::FlowTest;
using testing::Listener;
using testing::toml_edge;
using testing::toml_node;
using testing::toml_source;

class BlockingCall : public FlowTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(BlockingCall, EndsAtTheNodesDeadline) {
    const std::string mode = GetParam();
    Listener listener(/*full=*/mode == "connect");
    const std::string port = std::to_string(listener.port());
    const std::string f = "blocked";
    // Only the blocking node has a deadline; nobody else races the clock.
    const std::string flow =
        "[flow." + f + "]\n" + toml_source(f, "src", "blobs.wasm", "count=3 size=16") +
        toml_node(f, "mid", "blocks.wasm", "processor",
                  "config = \"mode=" + mode + " port=" + port +
                      "\"\ncall-timeout = \"200ms\"\n"
                      "capabilities = [\"monotonic-clock\", \"stderr\"]\nconnect = [\"127.0.0.1:" +
                      port + "\"]\n") +
        toml_node(f, "out", "slow_sink.wasm", "sink",
                  "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
        toml_edge(f, "src", "mid") + toml_edge(f, "mid", "out");
    const auto t0 = std::chrono::steady_clock::now();
    const FlowReport r = run("blocking-" + mode, flow);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    RecordProperty("contained_in_ms", static_cast<int>(took.count()));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_deadline) << r.error->format();
    EXPECT_NE(r.error->message.find("node 'mid'"), std::string::npos);
    EXPECT_EQ(r.delivered, 0u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
    // A minute-long wait ended at the deadline, not after the minute.
    EXPECT_LT(took, std::chrono::seconds(30));
}

INSTANTIATE_TEST_SUITE_P(Waits, BlockingCall,
                         ::testing::Values("sleep", "poll", "connect", "read"));

// Without a deadline the same wait completes: the bound is the node's.
TEST_F(FlowTest, BlockingCallWithinItsDeadlineCompletes) {
    Listener listener;
    const std::string port = std::to_string(listener.port());
    const std::string f = "waits";
    const FlowReport r =
        run("blocking-ok",
            "[flow." + f + "]\n" + toml_source(f, "src", "blobs.wasm", "count=2 size=16") +
                toml_node(f, "mid", "blocks.wasm", "processor",
                          "config = \"mode=none port=" + port +
                              "\"\ncapabilities = [\"monotonic-clock\", \"stderr\"]\n"
                              "connect = [\"127.0.0.1:" +
                              port + "\"]\n") +
                toml_node(f, "out", "slow_sink.wasm", "sink",
                          "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
                toml_edge(f, "src", "mid") + toml_edge(f, "mid", "out"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 2u);
}

}  // namespace
}  // namespace torvyn
