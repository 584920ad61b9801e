// Replacing a node's stage while its flow runs (Flow::replace_stage), on
// native stages: nothing lost or repeated across a swap, the node's own
// driver thread does it, aggregators' state flushed, reset or handed over,
// refusals that change nothing, stopped nodes revived.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "swap_stages.hpp"

namespace torvyn {
namespace {

using namespace std::chrono_literals;
using testing::answer;
using testing::CountingSource;
using testing::eventually;
using testing::FedSource;
using testing::Marking;
using testing::marking;
using testing::Misbehaviour;
using testing::NativeFlows;
using testing::ParityRouter;
using testing::PassThrough;
using testing::RecordingSink;
using testing::Replaced;
using testing::Running;
using testing::Sink;
using testing::stoppable;
using testing::Summing;
using testing::swap_of;
using testing::Tally;

std::string chain(const std::string& flow_extra = "", const std::string& mid_extra = "",
                  const std::string& mid_role = "processor", const std::string& src_extra = "") {
    return "[flow.t]\n" + flow_extra +
           "[flow.t.nodes.src]\ncomponent = \"x\"\nrole = \"source\"\n" + src_extra +
           "[flow.t.nodes.mid]\ncomponent = \"x\"\nrole = \"" + mid_role + "\"\n" + mid_extra +
           "[flow.t.nodes.out]\ncomponent = \"x\"\nrole = \"sink\"\n"
           "[[flow.t.edges]]\nfrom = \"src\"\nto = \"mid\"\n"
           "[[flow.t.edges]]\nfrom = \"mid\"\nto = \"out\"\n";
}

// The sink's payloads are "old:N" up to some element and "new:N" after it,
// N = 0, 1, ... each once: returns how many were the old stage's.
std::size_t check_marks(const std::vector<std::string>& payloads) {
    std::size_t old = 0;
    while (old < payloads.size() && payloads[old].starts_with("old:")) {
        ++old;
    }
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        const std::string want = (i < old ? "old:" : "new:") + std::to_string(i);
        EXPECT_EQ(payloads[i], want) << "element " << i;
        if (payloads[i] != want) {
            break;
        }
    }
    return old;
}

// A processor replaced mid-stream: every element delivered once, in order;
// what was queued for the node went to the new stage.
void swap_mid_stream(const std::string& flow_extra, const std::string& mid_extra,
                     bool on_its_own_thread) {
    static constexpr std::uint64_t kCount = 4000;
    NativeFlows f;
    auto old_tally = std::make_shared<Tally>();
    auto new_tally = std::make_shared<Tally>();
    f.make["src"] = [](NodeHost& h) { return std::make_unique<CountingSource>(h, kCount); };
    // A slow old stage; the source emits more a sweep than a node takes in
    // one turn (64), so elements wait at the node's input.
    f.make["mid"] = [&](NodeHost& h) {
        return std::make_unique<Marking>(h, "old", old_tally, 20us);
    };
    f.make["out"] = [](NodeHost& h) { return std::make_unique<Sink>(h); };
    Replaced replaced;
    std::atomic<int> stop{0};
    RunOptions o;
    o.observers.push_back(&replaced);
    o.stop = &stop;
    auto flow = f.create(NativeFlows::spec(chain(flow_extra, mid_extra)), o);
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    auto& sink = f.stage<Sink>("out");
    Running running(*flow.value(), stop);
    ASSERT_TRUE(eventually([&] { return flow.value()->progress().delivered >= 1000; }));
    std::thread::id made_on;
    StageSwap swap{"mid", {}, SwapState::flush, std::nullopt};
    swap.make = [&, make = marking("new", new_tally)](StageSlot& slot) {
        made_on = std::this_thread::get_id();
        return make(slot);
    };
    auto done = flow.value()->replace_stage(std::move(swap));
    const Result<SwapOutcome> outcome = answer(done);
    const FlowReport& r = running.join();
    ASSERT_TRUE(outcome.ok()) << outcome.error().format();
    ASSERT_TRUE(r.ok()) << r.error->format();

    EXPECT_EQ(outcome->generation, 1u);
    EXPECT_GT(outcome->queued, 0u);
    EXPECT_EQ(outcome->state, SwapState::reset);  // a processor has no flush
    EXPECT_FALSE(outcome->revived);
    EXPECT_EQ(r.emitted, kCount);
    EXPECT_EQ(r.delivered, kCount);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(r.buffers.live_buffers, 0u);
    EXPECT_EQ(sink.out_of_order(), 0u);
    const std::vector<std::string> payloads = sink.payloads();
    ASSERT_EQ(payloads.size(), kCount);
    const std::size_t old = check_marks(payloads);
    EXPECT_GE(old, 1000u);
    EXPECT_EQ(old, old_tally->calls.load());
    EXPECT_EQ(kCount - old, new_tally->calls.load());
    EXPECT_GE(new_tally->calls.load(), outcome->queued);
    // The old stage went when the swap was made, the new one at the end.
    EXPECT_EQ(old_tally->teardowns.load(), 1);
    EXPECT_EQ(old_tally->closes.load(), 1);
    EXPECT_EQ(new_tally->inits.load(), 1);
    EXPECT_EQ(new_tally->teardowns.load(), 1);
    EXPECT_EQ(new_tally->closes.load(), 1);
    EXPECT_EQ(r.nodes[1].swaps, 1u);
    EXPECT_EQ(replaced.seen, (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{1, 1}}));
    // Made, initialised and run on the thread that drove the node all along.
    EXPECT_EQ(old_tally->where(), std::set<std::thread::id>{made_on});
    EXPECT_EQ(new_tally->where(), std::set<std::thread::id>{made_on});
    EXPECT_EQ(new_tally->initialised_on(), made_on);
    EXPECT_EQ(made_on != running.id(), on_its_own_thread);
    EXPECT_EQ(outcome->thread, on_its_own_thread ? 2u : 1u);
}

TEST(Swap, ProcessorMidStreamLosesAndRepeatsNothing) {
    // One thread: placement may not move it meanwhile.
    swap_mid_stream("source-batch = 100\nqueue-capacity = 128\nthreads = 1\n", "", false);
}

TEST(Swap, OnAFlowSpreadOverTwoThreadsTheNodesThreadSwapsIt) {
    swap_mid_stream("source-batch = 100\nqueue-capacity = 128\n", "thread = 2\n", true);
}

// src (fed by the test) -> agg -> out: 1..50 go to the old stage, the swap,
// then 51..100.
struct AggregatorRun {
    Result<SwapOutcome> outcome = Error();
    FlowReport report;
    std::vector<std::string> delivered;
    std::shared_ptr<Tally> old_tally = std::make_shared<Tally>();
    std::shared_ptr<Tally> new_tally = std::make_shared<Tally>();
};

AggregatorRun swap_aggregator(SwapState state, bool old_hands, bool new_takes,
                              std::optional<SwapState> fallback = std::nullopt) {
    AggregatorRun run;
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<FedSource>(h, 0ns); };
    f.make["mid"] = [&](NodeHost& h) {
        return std::make_unique<Summing>(h, "old", old_hands, run.old_tally);
    };
    f.make["out"] = [](NodeHost& h) { return std::make_unique<Sink>(h); };
    std::atomic<int> stop{0};
    RunOptions o;
    o.stop = &stop;
    auto flow = f.create(NativeFlows::spec(chain("", "", "aggregator")), o);
    if (!flow) {
        run.outcome = flow.error();
        return run;
    }
    auto& src = f.stage<FedSource>("src");
    Running running(*flow.value(), stop);
    const auto feed = [&](int from, int to) {
        for (int i = from; i <= to; ++i) {
            src.feed(std::to_string(i));
        }
        f.waker->wake();
    };
    feed(1, 50);
    EXPECT_TRUE(eventually([&] { return flow.value()->progress().aggregated == 50; }));
    StageSwap swap;
    swap.node = "mid";
    swap.state = state;
    swap.fallback = fallback;
    swap.make = [&, new_takes](StageSlot& slot) -> Result<std::unique_ptr<Stage>> {
        return std::unique_ptr<Stage>(
            std::make_unique<Summing>(slot.host, "new", new_takes, run.new_tally));
    };
    auto done = flow.value()->replace_stage(std::move(swap));
    run.outcome = answer(done);
    feed(51, 100);
    src.finish();
    f.waker->wake();
    run.report = running.join();
    run.delivered = f.stage<Sink>("out").payloads();
    return run;
}

TEST(Swap, AggregatorFlushSendsTheOldStateDownstream) {
    const AggregatorRun run = swap_aggregator(SwapState::flush, false, false);
    ASSERT_TRUE(run.outcome.ok()) << run.outcome.error().format();
    EXPECT_EQ(run.outcome->state, SwapState::flush);
    EXPECT_EQ(run.outcome->flushed, 1u);
    EXPECT_EQ(run.delivered, (std::vector<std::string>{"old n=50 sum=1275", "new n=50 sum=3775"}));
    EXPECT_EQ(run.report.aggregated, 100u);
    EXPECT_EQ(run.report.derived, 2u);
    EXPECT_TRUE(run.report.accounting_balanced());
}

TEST(Swap, AggregatorResetDiscardsTheOldStateAndSaysSo) {
    const AggregatorRun run = swap_aggregator(SwapState::reset, false, false);
    ASSERT_TRUE(run.outcome.ok()) << run.outcome.error().format();
    EXPECT_EQ(run.outcome->state, SwapState::reset);
    EXPECT_EQ(run.outcome->flushed, 0u);
    EXPECT_EQ(run.delivered, (std::vector<std::string>{"new n=50 sum=3775"}));
    EXPECT_EQ(run.report.aggregated, 100u);
    EXPECT_TRUE(run.report.accounting_balanced());
}

TEST(Swap, AggregatorHandoverCarriesTheStateOn) {
    const AggregatorRun run = swap_aggregator(SwapState::handover, true, true);
    ASSERT_TRUE(run.outcome.ok()) << run.outcome.error().format();
    EXPECT_EQ(run.outcome->state, SwapState::handover);
    EXPECT_GT(run.outcome->snapshot_bytes, 0u);
    EXPECT_FALSE(run.outcome->fell_back);
    EXPECT_EQ(run.delivered, (std::vector<std::string>{"new n=100 sum=5050"}));
    EXPECT_TRUE(run.report.accounting_balanced());
}

TEST(Swap, HandoverThatCannotBeMadeIsRefusedAndChangesNothing) {
    // The old stage has no snapshot; then the new one has no restore.
    for (const bool old_hands : {false, true}) {
        const AggregatorRun run = swap_aggregator(SwapState::handover, old_hands, false);
        ASSERT_FALSE(run.outcome.ok());
        const Error& e = run.outcome.error();
        EXPECT_EQ(e.code, ErrorCode::swap_refused);
        EXPECT_EQ(error_code_name(e.code), "E0820");
        EXPECT_NE(e.message.find(old_hands ? "'restore'" : "'snapshot'"), std::string::npos)
            << e.message;
        EXPECT_NE(e.hint.find("fallback"), std::string::npos) << e.hint;
        // The old stage saw everything and flushed at the end.
        EXPECT_EQ(run.delivered, (std::vector<std::string>{"old n=100 sum=5050"}));
        EXPECT_EQ(run.report.nodes[1].swaps, 0u);
        EXPECT_TRUE(run.report.accounting_balanced());
        // A new stage that was made is let go of; the old one only at the end.
        EXPECT_EQ(run.new_tally->closes.load(), old_hands ? 1 : 0);
        EXPECT_EQ(run.old_tally->teardowns.load(), 1);
    }
}

TEST(Swap, HandoverFallsBackOnlyWhenAsked) {
    const AggregatorRun run = swap_aggregator(SwapState::handover, false, true, SwapState::flush);
    ASSERT_TRUE(run.outcome.ok()) << run.outcome.error().format();
    EXPECT_TRUE(run.outcome->fell_back);
    EXPECT_EQ(run.outcome->state, SwapState::flush);
    EXPECT_EQ(run.delivered, (std::vector<std::string>{"old n=50 sum=1275", "new n=50 sum=3775"}));
    EXPECT_TRUE(run.report.accounting_balanced());
}

// src (fed by the test) -> mid -> out, on one thread.
struct FedChain {
    NativeFlows f;
    std::unique_ptr<Flow> flow;
    std::shared_ptr<Tally> old_tally = std::make_shared<Tally>();
    std::atomic<int> stop{0};

    explicit FedChain(const std::string& mid_extra = "", NativeFlows::Maker mid = nullptr) {
        f.make["src"] = [](NodeHost& h) { return std::make_unique<FedSource>(h, 0ns); };
        if (mid) {
            f.make["mid"] = std::move(mid);
        } else {
            f.make["mid"] = [this](NodeHost& h) {
                return std::make_unique<Marking>(h, "old", old_tally);
            };
        }
        f.make["out"] = [](NodeHost& h) { return std::make_unique<Sink>(h); };
        RunOptions o;
        o.stop = &stop;
        auto made = f.create(NativeFlows::spec(chain("", mid_extra)), o);
        if (!made) {
            throw std::runtime_error(made.error().format());
        }
        flow = std::move(made).value();
    }
    // Feeds elements first..last-1 ("0", "1", ...) and wakes the flow.
    void feed(int first, int last) {
        for (int i = first; i < last; ++i) {
            f.stage<FedSource>("src").feed(std::to_string(i));
        }
        f.waker->wake();
    }
    void finish() {
        f.stage<FedSource>("src").finish();
        f.waker->wake();
    }
    Sink& sink() { return f.stage<Sink>("out"); }
};

TEST(Swap, AFailingFactoryOrInitLeavesTheOldStageRunning) {
    FedChain c;
    Running running(*c.flow, c.stop);
    c.feed(0, 10);
    ASSERT_TRUE(eventually([&] { return c.flow->progress().delivered == 10; }));
    auto refused =
        c.flow->replace_stage(swap_of("mid", [](StageSlot&) -> Result<std::unique_ptr<Stage>> {
            return Error(ErrorCode::component_link, "no export 'process'", "",
                         "build it for the processor world");
        }));
    const Result<SwapOutcome> by_factory = answer(refused);
    ASSERT_FALSE(by_factory.ok());
    EXPECT_EQ(by_factory.error().code, ErrorCode::swap_refused);
    EXPECT_NE(by_factory.error().message.find("no export 'process' (E0203)"), std::string::npos)
        << by_factory.error().message;
    EXPECT_NE(by_factory.error().hint.find("old stage runs on"), std::string::npos);

    // A stage whose init fails is let go of, never torn down.
    class FailsInit final : public Stage {
    public:
        explicit FailsInit(std::shared_ptr<Tally> t) : t_(std::move(t)) {}
        CallResult init(std::string_view) override {
            return CallResult::guest(GuestErrorKind::invalid_input, "bad config");
        }
        CallResult teardown() override {
            t_->teardowns.fetch_add(1);
            return {};
        }
        void close() override { t_->closes.fetch_add(1); }

    private:
        std::shared_ptr<Tally> t_;
    };
    auto failed = std::make_shared<Tally>();
    auto by_init_future = c.flow->replace_stage(
        swap_of("mid", [failed](StageSlot&) -> Result<std::unique_ptr<Stage>> {
            return std::unique_ptr<Stage>(std::make_unique<FailsInit>(failed));
        }));
    const Result<SwapOutcome> by_init = answer(by_init_future);
    ASSERT_FALSE(by_init.ok());
    EXPECT_NE(
        by_init.error().message.find("failed in init: returned error invalid-input: bad config"),
        std::string::npos)
        << by_init.error().message;
    EXPECT_EQ(failed->closes.load(), 1);
    EXPECT_EQ(failed->teardowns.load(), 0);

    c.feed(10, 20);
    c.finish();
    const FlowReport& r = running.join();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 20u);
    const std::vector<std::string> payloads = c.sink().payloads();
    EXPECT_EQ(check_marks(payloads), 20u);  // every one the old stage's
    EXPECT_EQ(r.nodes[1].swaps, 0u);
    EXPECT_EQ(c.old_tally->teardowns.load(), 1);  // at the end only
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Swap, RefusedForUnknownNodesSourcesAndFlowsNotRunning) {
    FedChain c;
    auto tally = std::make_shared<Tally>();
    // Before run().
    auto before = c.flow->replace_stage(swap_of("mid", marking("new", tally)));
    ASSERT_EQ(before.wait_for(0s), std::future_status::ready);
    Result<SwapOutcome> r = before.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::swap_refused);
    EXPECT_NE(r.error().message.find("is not running"), std::string::npos) << r.error().message;

    Running running(*c.flow, c.stop);
    auto unknown = c.flow->replace_stage(swap_of("mdi", marking("new", tally)));
    r = answer(unknown);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("has no node 'mdi'"), std::string::npos);
    EXPECT_NE(r.error().hint.find("did you mean 'mid'?"), std::string::npos) << r.error().hint;

    auto source = c.flow->replace_stage(swap_of("src", marking("new", tally)));
    r = answer(source);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("a source cannot be replaced"), std::string::npos);
    EXPECT_NE(r.error().hint.find("start over"), std::string::npos);

    c.feed(0, 5);
    c.finish();
    const FlowReport& report = running.join();
    EXPECT_TRUE(report.ok());
    auto after = c.flow->replace_stage(swap_of("mid", marking("new", tally)));
    r = answer(after);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("has finished"), std::string::npos) << r.error().message;
    EXPECT_EQ(tally->inits.load(), 0);  // no factory was called
    EXPECT_EQ(check_marks(c.sink().payloads()), 5u);
}

TEST(Swap, RefusedForANodeThatIsDone) {
    // a -> x -> end is over while b -> end2 still runs.
    std::atomic<int> stop{0};
    NativeFlows f;
    f.make["a"] = [](NodeHost& h) { return std::make_unique<CountingSource>(h, 5); };
    f.make["x"] = [](NodeHost& h) { return std::make_unique<PassThrough>(h); };
    f.make["end"] = [](NodeHost& h) { return std::make_unique<Sink>(h); };
    f.make["b"] = [](NodeHost& h) { return std::make_unique<FedSource>(h, 0ns); };
    f.make["end2"] = [](NodeHost& h) { return std::make_unique<Sink>(h); };
    auto flow =
        f.create(NativeFlows::spec("[flow.t]\n"
                                   "[flow.t.nodes.a]\ncomponent = \"x\"\nrole = \"source\"\n"
                                   "[flow.t.nodes.x]\ncomponent = \"x\"\nrole = \"processor\"\n"
                                   "[flow.t.nodes.end]\ncomponent = \"x\"\nrole = \"sink\"\n"
                                   "[flow.t.nodes.b]\ncomponent = \"x\"\nrole = \"source\"\n"
                                   "[flow.t.nodes.end2]\ncomponent = \"x\"\nrole = \"sink\"\n"
                                   "[[flow.t.edges]]\nfrom = \"a\"\nto = \"x\"\n"
                                   "[[flow.t.edges]]\nfrom = \"x\"\nto = \"end\"\n"
                                   "[[flow.t.edges]]\nfrom = \"b\"\nto = \"end2\"\n"),
                 stoppable(stop));
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    Running running(*flow.value(), stop);
    // `end` completes only after `x` is done.
    ASSERT_TRUE(eventually([&] { return f.stage<Sink>("end").completed.load(); }));
    auto tally = std::make_shared<Tally>();
    auto done = flow.value()->replace_stage(swap_of("x", marking("new", tally)));
    const Result<SwapOutcome> r = answer(done);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("it has finished"), std::string::npos) << r.error().message;
    EXPECT_EQ(tally->inits.load(), 0);
    f.stage<FedSource>("b").finish();
    f.waker->wake();
    EXPECT_TRUE(running.join().ok());
}

TEST(Swap, PendingWhenTheRunEndsIsAnsweredNotLeftHanging) {
    // The sink asks for a swap in its last call: the flow ends before any
    // driver thread comes back to its mailbox.
    FedChain c;
    std::future<Result<SwapOutcome>> late;
    auto tally = std::make_shared<Tally>();
    c.sink().on_complete = [&] {
        late = c.flow->replace_stage(swap_of("mid", marking("new", tally)));
    };
    Running running(*c.flow, c.stop);
    c.feed(0, 3);
    c.finish();
    EXPECT_TRUE(running.join().ok());
    ASSERT_TRUE(late.valid());
    ASSERT_EQ(late.wait_for(0s), std::future_status::ready);
    const Result<SwapOutcome> r = late.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::swap_refused);
    EXPECT_NE(r.error().message.find("ended before the swap"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(tally->inits.load(), 0);
}

CallResult fatal() {
    return CallResult::guest(GuestErrorKind::fatal, "giving up");
}
CallResult trap() {
    return CallResult::failure(CallStatus::trap, "wasm trap: unreachable");
}

TEST(Swap, RevivesANodeThatStopped) {
    // Fatal: torn down at once; a trap: dead. Either way the node gives up
    // what comes until a new stage takes over.
    for (const CallResult& failure : {fatal(), trap()}) {
        FedChain c("on-error = \"skip\"\n", [&](NodeHost& h) {
            return std::make_unique<PassThrough>(h, Misbehaviour{3, false, failure});
        });
        Running running(*c.flow, c.stop);
        c.feed(0, 10);
        ASSERT_TRUE(eventually([&] { return c.flow->progress().failed == 7; }));
        auto tally = std::make_shared<Tally>();
        auto done = c.flow->replace_stage(swap_of("mid", marking("new", tally)));
        const Result<SwapOutcome> outcome = answer(done);
        ASSERT_TRUE(outcome.ok()) << outcome.error().format();
        EXPECT_TRUE(outcome->revived);
        c.feed(10, 20);
        c.finish();
        const FlowReport& r = running.join();
        EXPECT_TRUE(r.ok());
        EXPECT_EQ(r.delivered, 13u);
        EXPECT_EQ(r.failed, 7u);
        EXPECT_FALSE(r.nodes[1].stopped);
        EXPECT_EQ(r.nodes[1].swaps, 1u);
        EXPECT_EQ(tally->calls.load(), 10u);
        EXPECT_TRUE(r.accounting_balanced());
        const std::vector<std::string> payloads = c.sink().payloads();
        ASSERT_EQ(payloads.size(), 13u);
        EXPECT_EQ(payloads[3], "new:10");
        EXPECT_EQ(payloads.back(), "new:19");
    }
}

TEST(Swap, ARoutersNewStageMustDeclareItsPorts) {
    std::atomic<int> stop{0};
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<FedSource>(h, 0ns); };
    f.make["split"] = [](NodeHost&) { return std::make_unique<ParityRouter>(); };
    f.make["evens"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    f.make["odds"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    auto flow =
        f.create(NativeFlows::spec("[flow.t]\n"
                                   "[flow.t.nodes.src]\ncomponent = \"x\"\nrole = \"source\"\n"
                                   "[flow.t.nodes.split]\ncomponent = \"x\"\nrole = \"router\"\n"
                                   "[flow.t.nodes.evens]\ncomponent = \"x\"\nrole = \"sink\"\n"
                                   "[flow.t.nodes.odds]\ncomponent = \"x\"\nrole = \"sink\"\n"
                                   "[[flow.t.edges]]\nfrom = \"src\"\nto = \"split\"\n"
                                   "[[flow.t.edges]]\nfrom = \"split.even\"\nto = \"evens\"\n"
                                   "[[flow.t.edges]]\nfrom = \"split.odd\"\nto = \"odds\"\n"),
                 stoppable(stop));
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    Running running(*flow.value(), stop);
    const auto router = [](std::vector<std::string> ports) {
        return [ports](StageSlot&) -> Result<std::unique_ptr<Stage>> {
            return std::unique_ptr<Stage>(std::make_unique<ParityRouter>(ports));
        };
    };
    auto bad = flow.value()->replace_stage(swap_of("split", router({"even", "odd", "other"})));
    const Result<SwapOutcome> refused = answer(bad);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("'other'"), std::string::npos)
        << refused.error().message;
    auto good = flow.value()->replace_stage(swap_of("split", router({"even", "odd"})));
    const Result<SwapOutcome> swapped = answer(good);
    ASSERT_TRUE(swapped.ok()) << swapped.error().format();
    auto& src = f.stage<FedSource>("src");
    for (int i = 0; i < 10; ++i) {
        src.feed(std::to_string(i));
    }
    src.finish();
    f.waker->wake();
    const FlowReport& r = running.join();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.delivered, 12u);  // 0 and 5 go both ways
    EXPECT_EQ(r.nodes[1].swaps, 1u);
    EXPECT_TRUE(r.accounting_balanced());
}

// 100 swaps of a processor under a source that never ends: what each
// pause was, and that nothing was lost or repeated meanwhile.
TEST(Swap, HundredSwapsUnderLoadPauseBriefly) {
    std::atomic<int> stop{0};
    RunOptions o;
    o.stop = &stop;
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<CountingSource>(h, ~0ull); };
    f.make["mid"] = [](NodeHost& h) { return std::make_unique<PassThrough>(h); };
    f.make["out"] = [](NodeHost& h) { return std::make_unique<Sink>(h, 0, false); };
    auto flow = f.create(NativeFlows::spec(chain()), o);
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    Running running(*flow.value(), stop);
    std::vector<std::chrono::nanoseconds> pauses;
    for (std::uint32_t i = 1; i <= 100; ++i) {
        const std::uint64_t before = flow.value()->progress().delivered;
        ASSERT_TRUE(eventually([&] { return flow.value()->progress().delivered >= before + 100; }));
        auto done = flow.value()->replace_stage(
            swap_of("mid", [](StageSlot& slot) -> Result<std::unique_ptr<Stage>> {
                return std::unique_ptr<Stage>(std::make_unique<PassThrough>(slot.host));
            }));
        const Result<SwapOutcome> outcome = answer(done);
        ASSERT_TRUE(outcome.ok()) << outcome.error().format();
        EXPECT_EQ(outcome->generation, i);
        pauses.push_back(outcome->pause);
    }
    stop.store(static_cast<int>(StopRequest::graceful));
    const FlowReport& r = running.join();
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.nodes[1].swaps, 100u);
    EXPECT_EQ(r.delivered, r.emitted);
    EXPECT_TRUE(r.accounting_balanced());
    EXPECT_EQ(f.stage<Sink>("out").out_of_order(), 0u);
    std::sort(pauses.begin(), pauses.end());
    const auto us = [](std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e3; };
    std::cout << fmt::format(
        "swap pause over 100 swaps: p50 {:.1f} us, p99 {:.1f} us, max {:.1f} us\n", us(pauses[49]),
        us(pauses[98]), us(pauses[99]));
    EXPECT_LT(pauses[98], 50ms);
}

}  // namespace
}  // namespace torvyn
