// At-least-once sources: a source that settles hears, for each element it
// produced with an ack_token, whether every path derived from it ended
// delivered (or filtered, dead-lettered) or not (dropped, failed), once,
// through fan-out, routers, filters, aggregators and error policies; and
// the attributes it gave travel with everything derived.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "native_stages.hpp"

namespace torvyn {
namespace {

using testing::bytes_of;
using testing::EvenFilter;
using testing::Misbehaviour;
using testing::NativeFlows;
using testing::ParityRouter;
using testing::PassThrough;
using testing::RecordingSink;

// Emits `count` elements with ack tokens 100+i and an attribute "n" = i;
// with `wait_for_settled`, stays pending after them until it has heard of
// them all (only a flow that settles while it runs lets it finish).
class AckingSource final : public Stage {
public:
    AckingSource(NodeHost& host, std::uint64_t count, bool wait_for_settled = false)
        : host_(host), count_(count), wait_(wait_for_settled) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override {
        torn_down = true;
        return {};
    }
    CallResult pull(Produced& out) override {
        if (next_ == count_) {
            out.present = false;
            out.pending = wait_ && outcomes.size() < count_;
            out.retry_after = std::chrono::milliseconds(1);
            return {};
        }
        out.present = true;
        out.sequence = next_;
        out.ack_token = 100 + next_;
        out.attributes = {{"n", std::to_string(next_)}};
        out.payload = host_.buffers->make_host_buffer(bytes_of("x"), "", nullptr);
        ++next_;
        return {};
    }
    CallResult notify(bool) override { return {}; }
    void settled(std::span<const Settlement> done) override {
        EXPECT_FALSE(torn_down) << "settled after teardown";
        for (const Settlement& s : done) {
            EXPECT_TRUE(outcomes.emplace(s.token, s.delivered).second) << "twice: " << s.token;
        }
        ++calls;
    }
    void counters(std::vector<std::pair<std::string_view, std::uint64_t>>& out) const override {
        out.emplace_back("heard", outcomes.size());
    }
    std::map<std::uint64_t, bool> outcomes;  // token -> delivered
    int calls = 0;
    bool torn_down = false;

    [[nodiscard]] std::set<std::uint64_t> not_delivered() const {
        std::set<std::uint64_t> out;
        for (const auto& [token, ok] : outcomes) {
            if (!ok) {
                out.insert(token - 100);
            }
        }
        return out;
    }

private:
    NodeHost& host_;
    std::uint64_t count_;
    bool wait_;
    std::uint64_t next_ = 0;
};

// Records the attribute "n" of what it takes (from the element's origin);
// fails the elements whose sequence is in `fail`.
class AttributeSink final : public Stage {
public:
    explicit AttributeSink(std::set<std::uint64_t> fail = {}) : fail_(std::move(fail)) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult push(const ElementRef& in, bool&) override {
        if (fail_.count(in.sequence) != 0) {
            return CallResult::guest(GuestErrorKind::invalid_input, "refused");
        }
        std::string n = "-";
        if (in.origin != nullptr) {
            for (const Attribute& a : in.origin->attributes) {
                n = a.key == "n" ? a.value : n;
            }
        }
        seen.push_back(n);
        return {};
    }
    CallResult complete() override { return {}; }
    std::vector<std::string> seen;

private:
    std::set<std::uint64_t> fail_;
};

// One output per `every` elements ingested, numbered 1000+; the rest at flush.
class GroupAggregator final : public Stage {
public:
    GroupAggregator(NodeHost& host, std::uint64_t every) : host_(host), every_(every) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult ingest(const ElementRef&, Produced& out) override {
        out.present = ++held_ == every_;
        if (out.present) {
            emit(out);
        }
        return {};
    }
    CallResult flush(std::vector<Produced>& out) override {
        if (held_ > 0) {
            emit(out.emplace_back());
            out.back().present = true;
        }
        return {};
    }

private:
    void emit(Produced& out) {
        held_ = 0;
        out.sequence = 1000 + outputs_++;
        out.payload = host_.buffers->make_host_buffer(bytes_of("sum"), "", nullptr);
    }
    NodeHost& host_;
    std::uint64_t every_;
    std::uint64_t held_ = 0;
    std::uint64_t outputs_ = 0;
};

std::string node(const std::string& name, const std::string& role, const std::string& extra = "") {
    return "[flow.t.nodes." + name + "]\ncomponent = \"x\"\nrole = \"" + role + "\"\n" + extra;
}
std::string edge(const std::string& from, const std::string& to, const std::string& extra = "") {
    return "[[flow.t.edges]]\nfrom = \"" + from + "\"\nto = \"" + to + "\"\n" + extra;
}

const NodeReport& report_of(const FlowReport& r, const std::string& name) {
    return *std::find_if(r.nodes.begin(), r.nodes.end(),
                         [&](const NodeReport& n) { return n.name == name; });
}

TEST(Lineage, EveryElementIsSettledOnceAndItsAttributesTravel) {
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<AckingSource>(h, 50); };
    f.make["mid"] = [](NodeHost& h) { return std::make_unique<PassThrough>(h); };
    f.make["out"] = [](NodeHost&) { return std::make_unique<AttributeSink>(); };
    const FlowReport r =
        f.run("[flow.t]\nqueue-capacity = 4\n" + node("src", "source") + node("mid", "processor") +
              node("out", "sink") + edge("src", "mid") + edge("mid", "out"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    const auto& src = f.stage<AckingSource>("src");
    EXPECT_EQ(src.outcomes.size(), 50u);
    EXPECT_TRUE(src.not_delivered().empty());
    EXPECT_EQ(report_of(r, "src").acked, 50u);
    EXPECT_EQ(report_of(r, "src").nacked, 0u);
    const auto& seen = f.stage<AttributeSink>("out").seen;
    ASSERT_EQ(seen.size(), 50u);
    EXPECT_EQ(seen[0], "0");
    EXPECT_EQ(seen[49], "49");
    // The stage's own counters reach the report.
    ASSERT_EQ(report_of(r, "src").counters.size(), 1u);
    EXPECT_EQ(report_of(r, "src").counters[0],
              (std::pair<std::string, std::uint64_t>("heard", 50)));
}

TEST(Lineage, TheSourceHearsWhileTheFlowRuns) {
    // The source finishes only once it heard of all 20: settlements that
    // came only at the run's end would leave it pending forever.
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<AckingSource>(h, 20, true); };
    f.make["out"] = [](NodeHost&) { return std::make_unique<AttributeSink>(); };
    const FlowReport r = f.run("[flow.t]\ntimeout = \"5s\"\n" + node("src", "source") +
                               node("out", "sink") + edge("src", "out"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(f.stage<AckingSource>("src").outcomes.size(), 20u);
    EXPECT_GE(f.stage<AckingSource>("src").calls, 1);
}

TEST(Lineage, FanOutSettlesOnceWhenEveryBranchIsDone) {
    // 0 and 5 go both ways; the odd sink refuses 5 and 7 (skipped): 5 is not
    // delivered although its even branch was, 7 is not, the rest are.
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<AckingSource>(h, 10); };
    f.make["split"] = [](NodeHost&) { return std::make_unique<ParityRouter>(); };
    f.make["evens"] = [](NodeHost&) { return std::make_unique<AttributeSink>(); };
    f.make["odds"] = [](NodeHost&) {
        return std::make_unique<AttributeSink>(std::set<std::uint64_t>{5, 7});
    };
    const FlowReport r =
        f.run("[flow.t]\n" + node("src", "source") + node("split", "router") +
              node("evens", "sink") + node("odds", "sink", "on-error = \"skip\"\n") +
              edge("src", "split") + edge("split.even", "evens") + edge("split.odd", "odds"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    const auto& src = f.stage<AckingSource>("src");
    EXPECT_EQ(src.outcomes.size(), 10u);
    EXPECT_EQ(src.not_delivered(), (std::set<std::uint64_t>{5, 7}));
    EXPECT_EQ(report_of(r, "src").acked, 8u);
    EXPECT_EQ(report_of(r, "src").nacked, 2u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST(Lineage, FilteredAndDeadLetteredAreDoneFailedIsNot) {
    // The filter drops odd elements (done); mid fails 4 and up under
    // dead-letter (done, at the dead-letter sink) except... the dead-letter
    // sink refuses 6 (skipped): 6 alone must come again.
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<AckingSource>(h, 10); };
    f.make["keep"] = [](NodeHost&) { return std::make_unique<EvenFilter>(); };
    f.make["mid"] = [](NodeHost& h) {
        return std::make_unique<PassThrough>(
            h, Misbehaviour{4, true, CallResult::guest(GuestErrorKind::invalid_input, "no")});
    };
    f.make["out"] = [](NodeHost&) { return std::make_unique<AttributeSink>(); };
    f.make["dead"] = [](NodeHost&) {
        return std::make_unique<AttributeSink>(std::set<std::uint64_t>{6});
    };
    const FlowReport r =
        f.run("[flow.t]\n" + node("src", "source") + node("keep", "filter") +
              node("mid", "processor", "on-error = \"dead-letter\"\ndead-letter = \"dead\"\n") +
              node("out", "sink") + node("dead", "sink", "on-error = \"skip\"\n") +
              edge("src", "keep") + edge("keep", "mid") + edge("mid", "out"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    const auto& src = f.stage<AckingSource>("src");
    EXPECT_EQ(src.outcomes.size(), 10u);
    EXPECT_EQ(src.not_delivered(), (std::set<std::uint64_t>{6}));
    // The dead-letter sink sees the attributes too.
    EXPECT_EQ(f.stage<AttributeSink>("dead").seen, (std::vector<std::string>{"4", "8"}));
}

TEST(Lineage, DroppedElementsAreNotDelivered) {
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<AckingSource>(h, 200); };
    f.make["out"] = [](NodeHost&) { return std::make_unique<AttributeSink>(); };
    const FlowReport r =
        f.run("[flow.t]\nqueue-capacity = 2\n" + node("src", "source") + node("out", "sink") +
              edge("src", "out", "backpressure = \"drop-newest\"\n"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    const auto& src = f.stage<AckingSource>("src");
    EXPECT_EQ(src.outcomes.size(), 200u);
    EXPECT_EQ(src.not_delivered().size(), r.dropped);
    EXPECT_EQ(report_of(r, "src").acked, r.delivered);
}

TEST(Lineage, AnAggregateSettlesWhatItAbsorbedWhenItIsDone) {
    // Groups of 3: {0,1,2} {3,4,5} {6,7,8} and {9} at flush; the sink
    // refuses the second aggregate (1001): 3, 4 and 5 come again.
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<AckingSource>(h, 10); };
    f.make["sum"] = [](NodeHost& h) { return std::make_unique<GroupAggregator>(h, 3); };
    f.make["out"] = [](NodeHost&) {
        return std::make_unique<AttributeSink>(std::set<std::uint64_t>{1001});
    };
    const FlowReport r = f.run("[flow.t]\n" + node("src", "source") + node("sum", "aggregator") +
                               node("out", "sink", "on-error = \"skip\"\n") + edge("src", "sum") +
                               edge("sum", "out"));
    ASSERT_TRUE(r.ok()) << r.error->format();
    const auto& src = f.stage<AckingSource>("src");
    EXPECT_EQ(src.outcomes.size(), 10u);
    EXPECT_EQ(src.not_delivered(), (std::set<std::uint64_t>{3, 4, 5}));
    // An aggregate carries no attributes of its own.
    EXPECT_EQ(f.stage<AttributeSink>("out").seen, (std::vector<std::string>{"-", "-", "-"}));
}

TEST(Lineage, SettlementsCrossDriverThreads) {
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<AckingSource>(h, 2000, true); };
    f.make["mid"] = [](NodeHost& h) { return std::make_unique<PassThrough>(h); };
    f.make["out"] = [](NodeHost&) { return std::make_unique<AttributeSink>(); };
    const FlowReport r =
        f.run("[flow.t]\nthreads = 2\ntimeout = \"10s\"\n" + node("src", "source", "thread = 1\n") +
              node("mid", "processor", "thread = 2\n") + node("out", "sink", "thread = 2\n") +
              edge("src", "mid") + edge("mid", "out"));
    ASSERT_TRUE(r.ok()) << (r.error ? r.error->format() : r.node_errors.front().format());
    EXPECT_EQ(r.threads, 2u);
    EXPECT_EQ(f.stage<AckingSource>("src").outcomes.size(), 2000u);
    EXPECT_EQ(report_of(r, "src").acked, 2000u);
}

}  // namespace
}  // namespace torvyn

namespace torvyn {
namespace {

// Hears the settle events: the source's totals and counters as they grow.
class SettleWatcher final : public FlowObserver {
public:
    [[nodiscard]] std::uint32_t events() const override { return kSettleEvents; }
    void on_settled(std::uint32_t node, std::uint64_t acked, std::uint64_t nacked,
                    std::span<const std::pair<std::string_view, std::uint64_t>> counters) override {
        EXPECT_EQ(node, 0u);
        EXPECT_GE(acked, last_acked);
        last_acked = acked;
        last_nacked = nacked;
        heard = counters.empty() ? 0 : counters.front().second;
        ++heard_events;
    }
    std::uint64_t last_acked = 0;
    std::uint64_t last_nacked = 0;
    std::uint64_t heard = 0;
    int heard_events = 0;
};

TEST(Lineage, ObserversHearTheAcksAndTheStagesCounters) {
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<AckingSource>(h, 30, true); };
    f.make["out"] = [](NodeHost&) {
        return std::make_unique<AttributeSink>(std::set<std::uint64_t>{3});
    };
    SettleWatcher watcher;
    RunOptions options;
    options.observers = {&watcher};
    const FlowReport r =
        f.run("[flow.t]\ntimeout = \"5s\"\n" + node("src", "source") +
                  node("out", "sink", "on-error = \"skip\"\n") + edge("src", "out"),
              options);
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_GE(watcher.heard_events, 1);
    EXPECT_EQ(watcher.last_acked, 29u);
    EXPECT_EQ(watcher.last_nacked, 1u);
    EXPECT_EQ(watcher.heard, 30u);
}

}  // namespace
}  // namespace torvyn
