// What guests hand the host, on real components: text is cut and escaped
// before anyone sees it, lists and names are bounded, and a flush that
// returns more than a queue holds is delivered whole.
#include <algorithm>

#include "fixture.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn {
namespace {

using testing::FlowTest;
using testing::toml_edge;
using testing::toml_node;
using testing::toml_source;

std::string misbehaving(const std::string& f, const std::string& mode) {
    return "[flow." + f + "]\n" + toml_source(f, "src", "blobs.wasm", "count=5 size=16") +
           toml_node(f, "mid", "misbehave.wasm", "processor",
                     "config = \"mode=" + mode + " at=1\"\n") +
           toml_node(f, "out", "slow_sink.wasm", "sink",
                     "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
           toml_edge(f, "src", "mid") + toml_edge(f, "mid", "out");
}

// Nothing a terminal acts on: no control character but the escaped forms.
bool printable(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F;
    });
}

TEST_F(FlowTest, LongGuestErrorIsCutWithItsLengthNoted) {
    const FlowReport r = run("long-error", misbehaving("le", "long-error"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_error);
    EXPECT_LT(r.error->message.size(), limits::kMaxGuestTextBytes + 200) << r.error->message.size();
    EXPECT_NE(r.error->message.find("(cut; 1048576 bytes in all)"), std::string::npos);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, GuestErrorCannotDriveTheTerminal) {
    const FlowReport r = run("escape-error", misbehaving("ee", "escape-error"));
    ASSERT_FALSE(r.ok());
    const std::string& m = r.error->message;
    EXPECT_TRUE(printable(m)) << m;
    // Every escape is shown, none is acted on.
    for (const char* shown : {"\\x1b[2J", "\\x07", "\\u{009b}", "\\n", "\\r", "\\u{202e}"}) {
        EXPECT_NE(m.find(shown), std::string::npos) << shown << " in " << m;
    }
    // The forged line stays inside the message, after the node's name.
    EXPECT_LT(m.find("node 'mid'"), m.find("torvyn: flow 'hostile'"));
}

// One call passes at most 16 MiB to the host; the SDK writes larger payloads
// in pieces, so a component never meets the limit by accident.
TEST_F(FlowTest, SdkWritesPayloadsBeyondOneCallInPieces) {
    const FlowReport r = run("big-payload", misbehaving("bp", "big-payload"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 5u);
    // The sink read the 20 MiB payloads whole.
    EXPECT_GE(node(r, "out").copies.total().bytes, 20u << 20);
}

std::string routing(const std::string& f, const std::string& mode) {
    return "[flow." + f + "]\n" + toml_source(f, "src", "blobs.wasm", "count=5 size=16") +
           toml_node(f, "split", "bad_router.wasm", "router",
                     "config = \"mode=" + mode + "\"\nports = [\"out\"]\n") +
           toml_node(f, "out", "slow_sink.wasm", "sink",
                     "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
           toml_edge(f, "src", "split") + toml_edge(f, "split.out", "out");
}

TEST_F(FlowTest, RouterListsAndNamesAreBounded) {
    for (const char* mode : {"many-ports", "long-port"}) {
        const FlowReport r = run(std::string("router-") + mode, routing("r", mode));
        ASSERT_FALSE(r.ok()) << mode;
        EXPECT_EQ(r.error->code, ErrorCode::guest_limit) << r.error->format();
        EXPECT_NE(r.error->message.find("at most"), std::string::npos) << r.error->message;
        EXPECT_TRUE(r.accounting_balanced());
        EXPECT_EQ(r.buffers.live_buffers, 0u);
    }
    const FlowReport ok = run("router-ok", routing("r", "ok"));
    ASSERT_TRUE(ok.ok()) << ok.error->format();
    EXPECT_EQ(ok.delivered, 5u);
}

TEST_F(FlowTest, RouterPortNamesAreEscaped) {
    const FlowReport r = run("router-escape", routing("r", "escape-port"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::manifest_topology);
    EXPECT_TRUE(printable(r.error->message)) << r.error->message;
    EXPECT_NE(r.error->message.find("\\x1b[2Jevil\\n"), std::string::npos) << r.error->message;
}

std::string bursting(const std::string& f, std::uint64_t burst, const std::string& edge = "") {
    return "[flow." + f + "]\nqueue-capacity = 4\n" +
           toml_source(f, "src", "numbers.wasm", "count=10") +
           toml_node(f, "agg", "burst_aggregator.wasm", "aggregator",
                     "config = \"burst=" + std::to_string(burst) + "\"\n") +
           toml_node(f, "out", "slow_sink.wasm", "sink",
                     "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
           toml_edge(f, "src", "agg") + toml_edge(f, "agg", "out", edge);
}

TEST_F(FlowTest, FlushLargerThanTheQueueIsDeliveredWhole) {
    const FlowReport r = run("burst", bursting("b", 100));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.aggregated, 10u);
    EXPECT_EQ(r.derived, 100u);
    EXPECT_EQ(r.delivered, 100u);
    EXPECT_LE(edge(r, "agg", "out").peak, 4u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(FlowTest, FlushIntoADroppingQueueFollowsItsPolicy) {
    const FlowReport r = run("burst-drop", bursting("b", 100, "backpressure = \"drop-oldest\"\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.derived, 100u);
    EXPECT_GT(r.dropped, 0u);
    EXPECT_EQ(r.delivered + r.dropped, 100u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, FlushOfMoreBuffersThanANodeMayHoldIsALimit) {
    const FlowReport r = run("burst-limit", bursting("b", limits::kMaxBuffersPerNode + 10));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_limit) << r.error->format();
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

}  // namespace
}  // namespace torvyn
