// Runs real components on real Wasmtime through the host's public API.
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "fixture.hpp"

namespace torvyn {
namespace {

using testing::FlowTest;
using testing::toml_edge;
using testing::toml_node;
using testing::toml_source;

// greeter (count) -> middle node -> printer
std::string chain(const std::string& flow, const std::string& middle_component,
                  const std::string& middle_role, const std::string& middle_config, int count = 5,
                  const std::string& extra = "", const std::string& middle_extra = "") {
    return "[flow." + flow + "]\n" + extra +
           toml_source(flow, "src", "hello_greeter.wasm", "count=" + std::to_string(count)) +
           toml_node(flow, "mid", middle_component, middle_role,
                     "config = \"" + middle_config + "\"\n" + middle_extra) +
           toml_node(flow, "end", "hello_printer.wasm", "sink", "capabilities = [\"stdout\"]\n") +
           toml_edge(flow, "src", "mid") + toml_edge(flow, "mid", "end");
}

TEST_F(FlowTest, HelloPipelineMakesExactlyTheContractsCopies) {
    const Manifest m = manifest("hello", R"(
[flow.hello]
[flow.hello.nodes.greeter]
component = "hello_greeter.wasm"
role = "source"
config = "count=7"
[flow.hello.nodes.shout]
component = "hello_shout.wasm"
role = "processor"
[flow.hello.nodes.printer]
component = "hello_printer.wasm"
role = "sink"
capabilities = ["stdout"]
[[flow.hello.edges]]
from = "greeter"
to = "shout"
[[flow.hello.edges]]
from = "shout"
to = "printer"
)");
    auto flow = create(m);
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    const FlowReport r = flow.value()->run();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.emitted, 7u);
    EXPECT_EQ(r.delivered, 7u);
    EXPECT_TRUE(r.accounting_balanced());

    // "hello, world #N" for N = 1..7; the processor adds one "!".
    std::uint64_t greeting_bytes = 0;
    for (int i = 1; i <= 7; ++i) {
        greeting_bytes += std::string("hello, world #" + std::to_string(i)).size();
    }
    const auto& g = node(r, "greeter").copies;
    const auto& s = node(r, "shout").copies;
    const auto& p = node(r, "printer").copies;
    // Source writes once; processor reads once and writes once; sink reads once.
    EXPECT_EQ(g.of(CopyReason::guest_to_host).copies, 7u);
    EXPECT_EQ(g.of(CopyReason::guest_to_host).bytes, greeting_bytes);
    EXPECT_EQ(g.of(CopyReason::host_to_guest).copies, 0u);
    EXPECT_EQ(s.of(CopyReason::host_to_guest).copies, 7u);
    EXPECT_EQ(s.of(CopyReason::host_to_guest).bytes, greeting_bytes);
    EXPECT_EQ(s.of(CopyReason::guest_to_host).copies, 7u);
    EXPECT_EQ(s.of(CopyReason::guest_to_host).bytes, greeting_bytes + 7);
    EXPECT_EQ(p.of(CopyReason::host_to_guest).copies, 7u);
    EXPECT_EQ(p.of(CopyReason::host_to_guest).bytes, greeting_bytes + 7);
    EXPECT_EQ(r.copies.total().copies, 28u);
    EXPECT_EQ(r.copies.of(CopyReason::host_resize).copies, 0u);
    // Every buffer went back to the pool.
    EXPECT_EQ(r.buffers.live_buffers, 0u);
    EXPECT_EQ(node(r, "shout").elements_in, 7u);
    EXPECT_EQ(node(r, "shout").elements_out, 7u);
}

TEST_F(FlowTest, FilterAccountsForEveryElement) {
    const Manifest m = manifest("filter", R"(
[flow.f]
[flow.f.nodes.numbers]
component = "numbers.wasm"
role = "source"
config = "count=100"
[flow.f.nodes.keep]
component = "multiple_of.wasm"
role = "filter"
config = "divisor=7"
[flow.f.nodes.print]
component = "hello_printer.wasm"
role = "sink"
capabilities = ["stdout"]
[[flow.f.edges]]
from = "numbers"
to = "keep"
[[flow.f.edges]]
from = "keep"
to = "print"
)");
    auto flow = create(m);
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    const FlowReport r = flow.value()->run();
    ASSERT_TRUE(r.ok()) << r.error->format();
    const auto& keep = node(r, "keep");
    EXPECT_EQ(keep.elements_in, 100u);
    EXPECT_EQ(keep.elements_out, 14u);  // 7, 14, ..., 98
    EXPECT_EQ(keep.filtered, 86u);
    EXPECT_EQ(keep.elements_in, keep.elements_out + keep.filtered);
    EXPECT_EQ(r.delivered, 14u);
    EXPECT_TRUE(r.accounting_balanced());
    // The filter forwards the same buffer: it never writes payload bytes.
    EXPECT_EQ(keep.copies.of(CopyReason::guest_to_host).copies, 0u);
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(FlowTest, TrapNamesTheNodeAndCountsTheLostElements) {
    const Manifest m =
        manifest("trap", chain("trap", "misbehave.wasm", "processor", "mode=trap at=3", 10));
    auto flow = create(m);
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    const FlowReport r = flow.value()->run();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_trap);
    EXPECT_NE(r.error->message.find("node 'mid'"), std::string::npos) << r.error->message;
    EXPECT_EQ(node(r, "mid").errors, 1u);
    // Elements 0..2 made it; element 3 failed in the node; the rest queued
    // behind it are counted as failed, not lost.
    EXPECT_EQ(r.delivered, 3u);
    EXPECT_GE(r.failed, 1u);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
}

TEST_F(FlowTest, TrapInOneFlowLeavesAnotherFlowUntouched) {
    const Manifest bad =
        manifest("trap2", chain("bad", "misbehave.wasm", "processor", "mode=trap at=1", 50));
    const Manifest good = manifest("good", chain("good", "hello_shout.wasm", "processor", "", 50));
    auto bad_flow = create(bad);
    auto good_flow = create(good);
    ASSERT_TRUE(bad_flow.ok() && good_flow.ok());
    FlowReport bad_report;
    FlowReport good_report;
    std::thread t1([&] { bad_report = bad_flow.value()->run(); });
    std::thread t2([&] { good_report = good_flow.value()->run(); });
    t1.join();
    t2.join();
    EXPECT_FALSE(bad_report.ok());
    ASSERT_TRUE(good_report.ok()) << good_report.error->format();
    EXPECT_EQ(good_report.delivered, 50u);
    EXPECT_TRUE(good_report.accounting_balanced());
}

TEST_F(FlowTest, GuestErrorIsReportedWithItsKindAndMessage) {
    const Manifest m =
        manifest("err", chain("err", "misbehave.wasm", "processor", "mode=error at=0"));
    auto flow = create(m);
    ASSERT_TRUE(flow.ok());
    const FlowReport r = flow.value()->run();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_error);
    EXPECT_NE(r.error->message.find("invalid-input: element rejected on purpose"),
              std::string::npos)
        << r.error->message;
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, InfiniteLoopHitsTheCallDeadline) {
    const Manifest m =
        manifest("spin", chain("spin", "misbehave.wasm", "processor", "mode=spin at=1", 5, "",
                               "call-timeout = \"100ms\"\n"));
    auto flow = create(m);
    ASSERT_TRUE(flow.ok());
    const FlowReport r = flow.value()->run();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_deadline);
    EXPECT_NE(r.error->message.find("node 'mid'"), std::string::npos);
    EXPECT_TRUE(r.accounting_balanced());
}

// The epoch ticker parks when no guest call has run for a while (an idle
// host is not woken every millisecond); the next call must wake it, or a
// spinning guest would never meet its deadline. The source pulls twice a
// second, so the ticker is parked when the third element's call spins.
TEST_F(FlowTest, AGuestSpinningAfterAnIdlePauseStillHitsItsDeadline) {
    const Manifest m = manifest(
        "idle", "[flow.idle]\n" + toml_source("idle", "src", "hello_greeter.wasm", "count=5") +
                    "max-rate = 2\n" +
                    toml_node("idle", "mid", "misbehave.wasm", "processor",
                              "config = \"mode=spin at=3\"\n"
                              "call-timeout = \"100ms\"\n") +
                    toml_node("idle", "end", "hello_printer.wasm", "sink",
                              "capabilities = [\"stdout\"]\n") +
                    toml_edge("idle", "src", "mid") + toml_edge("idle", "mid", "end"));
    auto flow = create(m);
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    auto done = std::async(std::launch::async, [&] { return flow.value()->run(); });
    if (done.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
        // The spinning call was never interrupted: nothing can stop it now.
        std::fprintf(stderr, "the spinning call did not end within 60 s\n");
        std::_Exit(1);
    }
    const FlowReport r = done.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_deadline);
    EXPECT_GE(r.emitted, 3u);  // the source may pull once more meanwhile
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, InitFailureStopsTheFlowBeforeAnyElement) {
    const Manifest m =
        manifest("init", chain("init", "misbehave.wasm", "processor", "mode=init-fail"));
    auto flow = create(m);
    ASSERT_TRUE(flow.ok());
    const FlowReport r = flow.value()->run();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_init_failed);
    EXPECT_NE(r.error->message.find("refusing to start"), std::string::npos);
    EXPECT_EQ(r.emitted, 0u);
}

TEST_F(FlowTest, WrongWorldIsRejectedBeforeAnythingRuns) {
    // A processor component in a sink node.
    const Manifest m = manifest("world", R"(
[flow.w.nodes.src]
component = "hello_greeter.wasm"
role = "source"
[flow.w.nodes.snk]
component = "hello_shout.wasm"
role = "sink"
[[flow.w.edges]]
from = "src"
to = "snk"
)");
    auto flow = create(m);
    ASSERT_FALSE(flow.ok());
    EXPECT_EQ(flow.error().code, ErrorCode::component_wrong_world);
    EXPECT_NE(flow.error().message.find("node 'snk'"), std::string::npos);
    EXPECT_NE(flow.error().message.find(fmt::format("torvyn:streaming/sink@{}", kContractVersion)),
              std::string::npos);
    EXPECT_FALSE(flow.error().hint.empty());
}

TEST_F(FlowTest, UngrantedCapabilityFailsToLink) {
    // The printer imports wasi:cli/stdout; without the grant it cannot link.
    const Manifest m = manifest("nogrant", R"(
[flow.g.nodes.src]
component = "hello_greeter.wasm"
role = "source"
[flow.g.nodes.snk]
component = "hello_printer.wasm"
role = "sink"
[[flow.g.edges]]
from = "src"
to = "snk"
)");
    auto flow = create(m);
    ASSERT_FALSE(flow.ok());
    EXPECT_EQ(flow.error().code, ErrorCode::component_link);
    EXPECT_NE(flow.error().message.find("which need capability 'stdout'"), std::string::npos)
        << flow.error().message;
    EXPECT_NE(flow.error().hint.find("capabilities = [\"stdout\"]"), std::string::npos);
}

TEST_F(FlowTest, EveryInterfaceACapabilityCoversIsOneTheEngineLinks) {
    // The capability table (core) and the bridge's interface table (Rust)
    // must agree: a name the bridge does not know would fail every prepare.
    for (const auto& c : all_capabilities()) {
        for (auto iface : c.interfaces) {
            EXPECT_TRUE(Runtime::links_interface(iface)) << c.name << ": " << iface;
        }
    }
    EXPECT_FALSE(Runtime::links_interface("wasi:http/outgoing-handler"));
    Grants unknown;
    unknown.interfaces = {"wasi:http/outgoing-handler"};
    auto component =
        runtime_->load(std::filesystem::path(TORVYN_EXAMPLE_COMPONENT_DIR) / "hello_printer.wasm");
    ASSERT_TRUE(component);
    auto prepared = runtime_->prepare(component.value(), Role::sink, unknown);
    ASSERT_FALSE(prepared);
    EXPECT_EQ(prepared.error().code, ErrorCode::engine);
}

TEST_F(FlowTest, AnInstanceKeepsWhatItWasMadeFromAlive) {
    // Ownership, not call order: the runtime, component and prepared link
    // may all go before the instance, which still runs.
    auto runtime = Runtime::create({});
    ASSERT_TRUE(runtime);
    auto component = runtime.value()->load(std::filesystem::path(TORVYN_EXAMPLE_COMPONENT_DIR) /
                                           "multiple_of.wasm");
    ASSERT_TRUE(component) << component.error().format();
    auto prepared = runtime.value()->prepare(component.value(), Role::filter, {});
    ASSERT_TRUE(prepared) << prepared.error().format();
    BufferStore buffers;
    CopyLedger ledger;
    FlowContextInfo context{"f", "0", "0", std::nullopt};
    NodeHost host;
    host.buffers = &buffers;
    host.ledger = &ledger;
    host.context = &context;
    auto instance = runtime.value()->instantiate(prepared.value(), host, {});
    ASSERT_TRUE(instance) << instance.error().format();
    component = Error(ErrorCode::engine, "released");
    prepared = Error(ErrorCode::engine, "released");
    runtime.value().reset();
    ASSERT_TRUE(instance.value()->init("divisor=2").ok());
    for (const auto& [text, multiple] : {std::pair{"14", true}, std::pair{"15", false}}) {
        const BufferHandle b =
            buffers.make_host_buffer(std::as_bytes(std::span(text, 2)), "text/plain", nullptr);
        bool accepted = !multiple;
        ElementRef element;
        element.payload = b;
        const CallResult r = instance.value()->accept(element, accepted);
        EXPECT_TRUE(r.ok()) << r.message;
        EXPECT_EQ(accepted, multiple) << text;
        buffers.release(b);
    }
}

TEST_F(FlowTest, MissingComponentFileNamesTheNode) {
    const Manifest m = manifest("missing", R"(
[flow.m.nodes.src]
component = "no_such_component.wasm"
role = "source"
[flow.m.nodes.snk]
component = "hello_printer.wasm"
role = "sink"
[[flow.m.edges]]
from = "src"
to = "snk"
)");
    auto flow = create(m);
    ASSERT_FALSE(flow.ok());
    EXPECT_EQ(flow.error().code, ErrorCode::component_not_found);
    EXPECT_NE(flow.error().message.find("node 'src'"), std::string::npos);
}

TEST_F(FlowTest, NotAComponentIsACompileError) {
    namespace fs = std::filesystem;
    const fs::path junk = fs::path(TORVYN_TEST_TMP_DIR) / "junk.wasm";
    std::ofstream(junk) << "this is not wasm";
    const Manifest m =
        manifest("junk", "[flow.j.nodes.src]\ncomponent = \"" + junk.string() +
                             "\"\nrole = \"source\"\n[flow.j.nodes.snk]\ncomponent = "
                             "\"hello_printer.wasm\"\nrole = \"sink\"\n[[flow.j.edges]]\n"
                             "from = \"src\"\nto = \"snk\"\n");
    auto flow = create(m);
    ASSERT_FALSE(flow.ok());
    EXPECT_EQ(flow.error().code, ErrorCode::component_invalid);
}

TEST_F(FlowTest, CompiledComponentsAreCachedByDigest) {
    namespace fs = std::filesystem;
    LoadInfo first;
    LoadInfo second;
    const fs::path file = fs::path(TORVYN_EXAMPLE_COMPONENT_DIR) / "hello_shout.wasm";
    ASSERT_TRUE(runtime_->load(file, &first).ok());
    ASSERT_TRUE(runtime_->load(file, &second).ok());
    EXPECT_TRUE(second.cache_hit);
    EXPECT_EQ(first.digest, second.digest);
    EXPECT_EQ(first.digest.size(), 64u);
}

}  // namespace
}  // namespace torvyn
