// Element tracing through the observer seam: W3C trace context parsing,
// sampling, and the visits of sampled elements (parents, ends, fan-out,
// dead letters, contexts from outside), on native stages.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "native_stages.hpp"
#include "torvyn/observability/trace.hpp"

namespace torvyn {
namespace {

using testing::bytes_of;
using testing::CountingSource;
using testing::Misbehaviour;
using testing::NativeFlows;
using testing::ParityRouter;
using testing::PassThrough;
using testing::RecordingSink;

TEST(TraceParent, ParsesAndFormatsTheW3CForm) {
    const std::string header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const auto t = parse_traceparent(header);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->trace_hi, 0x4bf92f3577b34da6ULL);
    EXPECT_EQ(t->trace_lo, 0xa3ce929d0e0e4736ULL);
    EXPECT_EQ(t->parent, 0x00f067aa0ba902b7ULL);
    EXPECT_TRUE(t->sampled);
    EXPECT_EQ(format_traceparent(*t), header);
    EXPECT_EQ(trace_id_hex(*t), "4bf92f3577b34da6a3ce929d0e0e4736");
    // A later version may add fields; its known ones are read.
    EXPECT_TRUE(parse_traceparent(header.substr(0, 0) + "cc" + header.substr(2) + "-what-next"));
    EXPECT_FALSE(
        parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")->sampled);
}

TEST(TraceParent, RefusesWhatTheW3CRulesRefuse) {
    for (const char* bad : {
             "",
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
             "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // uppercase
             "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace
             "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent
             "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // 00 is exact
             "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
         }) {
        EXPECT_FALSE(parse_traceparent(bad)) << bad;
    }
}

// Keeps every visit, as the trace file and OTLP exporter see them.
class Visits final : public FlowObserver {
public:
    struct Seen {
        std::uint32_t node;
        std::uint32_t edge;
        VisitEnd end;
        std::uint32_t sent_on;
        TraceContext trace;
        std::uint64_t sequence;
        std::uint64_t span;
    };
    [[nodiscard]] std::uint32_t events() const override { return kVisitEvents; }
    void on_start(const FlowTopology& t) override { nodes = t.nodes; }
    void on_visit(const Visit& v) override {
        seen.push_back(
            {v.node, v.edge, v.end, v.sent_on, v.element.trace, v.element.sequence, v.span});
    }
    [[nodiscard]] std::vector<Seen> at(const std::string& node) const {
        std::vector<Seen> out;
        for (const auto& s : seen) {
            if (nodes.at(s.node) == node) {
                out.push_back(s);
            }
        }
        return out;
    }
    std::vector<std::string> nodes;
    std::vector<Seen> seen;
};

std::string chain(const std::string& mid_extra = "") {
    return "[flow.t]\n"
           "[flow.t.nodes.src]\ncomponent = \"x\"\nrole = \"source\"\n"
           "[flow.t.nodes.mid]\ncomponent = \"x\"\nrole = \"processor\"\n" +
           mid_extra +
           "[flow.t.nodes.out]\ncomponent = \"x\"\nrole = \"sink\"\n"
           "[[flow.t.edges]]\nfrom = \"src\"\nto = \"mid\"\n"
           "[[flow.t.edges]]\nfrom = \"mid\"\nto = \"out\"\n";
}

NativeFlows chain_stages(std::uint64_t count, Misbehaviour m = {}) {
    NativeFlows f;
    f.make["src"] = [count](NodeHost& h) { return std::make_unique<CountingSource>(h, count); };
    f.make["mid"] = [m](NodeHost& h) { return std::make_unique<PassThrough>(h, m); };
    f.make["out"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    return f;
}

TEST(Tracing, EveryElementsPathIsAChainOfVisits) {
    Visits v;
    RunOptions o;
    o.observers = {&v};
    NativeFlows f = chain_stages(10);
    ASSERT_TRUE(f.run(chain(), o).ok());
    ASSERT_EQ(v.seen.size(), 30u);
    const auto src = v.at("src");
    const auto mid = v.at("mid");
    const auto out = v.at("out");
    for (std::size_t i = 0; i < 10; ++i) {
        EXPECT_EQ(src[i].trace.parent, 0u);  // a root
        EXPECT_EQ(src[i].edge, kNoEdgeIndex);
        EXPECT_EQ(src[i].end, VisitEnd::sent);
        EXPECT_EQ(mid[i].trace.parent, src[i].span);
        EXPECT_EQ(out[i].trace.parent, mid[i].span);
        EXPECT_EQ(out[i].end, VisitEnd::delivered);
        EXPECT_EQ(mid[i].trace.trace_lo, src[i].trace.trace_lo);
        EXPECT_EQ(out[i].sequence, i);
        if (i > 0) {  // a trace per element
            EXPECT_NE(src[i].trace.trace_lo, src[i - 1].trace.trace_lo);
        }
    }
}

// Listens to paths, not visits: elements carry trace ids, none is sampled.
class Deliveries final : public FlowObserver {
public:
    [[nodiscard]] std::uint32_t events() const override { return kPathEvents; }
    void on_delivered(std::uint32_t, const ElementRef& e, std::uint64_t, std::uint64_t) override {
        traces.push_back(e.trace);
    }
    std::vector<TraceContext> traces;
};

TEST(Tracing, NobodyListeningToVisitsSamplesNothing) {
    Deliveries d;
    RunOptions o;
    o.observers = {&d};
    NativeFlows f = chain_stages(5);
    ASSERT_TRUE(f.run(chain(), o).ok());
    ASSERT_EQ(d.traces.size(), 5u);
    for (const auto& t : d.traces) {
        EXPECT_TRUE(t.valid());
        EXPECT_FALSE(t.sampled);
        EXPECT_EQ(t.parent, 0u);  // unsampled: no spans, no parents
    }
}

TEST(Tracing, SamplesOneInNUpToTheMaximum) {
    Visits v;
    RunOptions o;
    o.observers = {&v};
    o.sampling.mode = TraceSampling::Mode::one_in;
    o.sampling.n = 7;
    NativeFlows f = chain_stages(100);
    ASSERT_TRUE(f.run(chain(), o).ok());
    std::vector<std::uint64_t> traced;
    for (const auto& s : v.at("out")) {
        traced.push_back(s.sequence);
    }
    EXPECT_EQ(traced, (std::vector<std::uint64_t>{0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84,
                                                  91, 98}));
    Visits capped;
    o.observers = {&capped};
    o.sampling = TraceSampling{};
    o.sampling.max_elements = 4;
    NativeFlows g = chain_stages(100);
    ASSERT_TRUE(g.run(chain(), o).ok());
    EXPECT_EQ(capped.at("out").size(), 4u);
}

TEST(Tracing, AFailedElementEndsItsPathOrGoesToTheDeadLetterSink) {
    Visits v;
    RunOptions o;
    o.observers = {&v};
    const Misbehaviour bad{3, false, CallResult::guest(GuestErrorKind::invalid_input, "no")};
    NativeFlows f = chain_stages(6, bad);
    f.make["dl"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    const std::string toml = chain("on-error = \"dead-letter\"\ndead-letter = \"dl\"\n") +
                             "[flow.t.nodes.dl]\ncomponent = \"x\"\nrole = \"sink\"\n";
    ASSERT_TRUE(f.run(toml, o).ok());
    const auto mid = v.at("mid");
    const auto dl = v.at("dl");
    ASSERT_EQ(mid.size(), 6u);
    EXPECT_EQ(mid[3].end, VisitEnd::dead_lettered);
    EXPECT_EQ(mid[3].sent_on, 1u);
    ASSERT_EQ(dl.size(), 1u);
    EXPECT_EQ(dl[0].trace.parent, mid[3].span);
    EXPECT_EQ(dl[0].end, VisitEnd::delivered);
    EXPECT_EQ(v.at("out").size(), 5u);

    Visits skipped;
    o.observers = {&skipped};
    NativeFlows g = chain_stages(6, bad);
    ASSERT_TRUE(g.run(chain("on-error = \"skip\"\n"), o).ok());
    EXPECT_EQ(skipped.at("mid")[3].end, VisitEnd::failed);
}

TEST(Tracing, AFanOutIsATreeWithOneSpanPerBranch) {
    Visits v;
    RunOptions o;
    o.observers = {&v};
    NativeFlows f;
    f.make["src"] = [](NodeHost& h) { return std::make_unique<CountingSource>(h, 10); };
    f.make["split"] = [](NodeHost&) { return std::make_unique<ParityRouter>(); };
    f.make["even"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    f.make["odd"] = [](NodeHost& h) { return std::make_unique<RecordingSink>(h); };
    const FlowReport r = f.run(
        "[flow.t]\n[flow.t.nodes.src]\ncomponent = \"x\"\nrole = \"source\"\n"
        "[flow.t.nodes.split]\ncomponent = \"x\"\nrole = \"router\"\n"
        "[flow.t.nodes.even]\ncomponent = \"x\"\nrole = \"sink\"\n"
        "[flow.t.nodes.odd]\ncomponent = \"x\"\nrole = \"sink\"\n"
        "[[flow.t.edges]]\nfrom = \"src\"\nto = \"split\"\n"
        "[[flow.t.edges]]\nfrom = \"split.even\"\nto = \"even\"\n"
        "[[flow.t.edges]]\nfrom = \"split.odd\"\nto = \"odd\"\n",
        o);
    ASSERT_TRUE(r.ok()) << r.error->format();
    std::map<std::uint64_t, int> children;
    for (const auto& s : v.seen) {
        ++children[s.trace.parent];
    }
    for (const auto& s : v.at("split")) {
        EXPECT_EQ(children[s.span], static_cast<int>(s.sent_on));
    }
    EXPECT_EQ(v.at("even").size() + v.at("odd").size(), r.delivered);
}

// A source whose elements arrive with a W3C context, as a connector's would.
class ContextSource final : public Stage {
public:
    ContextSource(NodeHost& host, std::vector<std::string> headers)
        : host_(host), headers_(std::move(headers)) {}
    CallResult init(std::string_view) override { return {}; }
    CallResult teardown() override { return {}; }
    CallResult pull(Produced& out) override {
        if (next_ == headers_.size()) {
            out.present = false;
            return {};
        }
        out.present = true;
        out.sequence = next_;
        out.trace = parse_traceparent(headers_[next_++]).value_or(TraceContext{});
        out.payload = host_.buffers->make_host_buffer(bytes_of("x"), "text/plain", nullptr);
        return {};
    }

private:
    NodeHost& host_;
    std::vector<std::string> headers_;
    std::size_t next_ = 0;
};

TEST(Tracing, AnElementFromOutsideKeepsItsTraceAndSamplingDecision) {
    Visits v;
    RunOptions o;
    o.observers = {&v};
    o.sampling.mode = TraceSampling::Mode::one_in;
    o.sampling.n = 1'000'000;  // only the first element of our own would be sampled
    NativeFlows f = chain_stages(0);
    f.make["src"] = [](NodeHost& h) {
        return std::make_unique<ContextSource>(
            h, std::vector<std::string>{
                   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // sampled
                   "00-11111111111111111111111111111111-2222222222222222-00",  // not
                   "00-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b8-01",  // sampled
               });
    };
    ASSERT_TRUE(f.run(chain(), o).ok());
    const auto src = v.at("src");
    ASSERT_EQ(src.size(), 2u);
    EXPECT_EQ(trace_id_hex(src[0].trace), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(src[0].trace.parent, 0x00f067aa0ba902b7ULL);  // the outside span is its parent
    EXPECT_EQ(src[1].sequence, 2u);
    const auto out = v.at("out");
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(trace_id_hex(out[1].trace), "4bf92f3577b34da6a3ce929d0e0e4737");
}

TEST(TraceFile, IsChromeTraceEventJsonWithATrackPerNode) {
    TraceRecorder recorder(true);
    RunOptions o;
    o.observers = {&recorder};
    NativeFlows f = chain_stages(3);
    ASSERT_TRUE(f.run(chain(), o).ok());
    EXPECT_EQ(recorder.elements(), 3u);
    std::ostringstream out;
    write_chrome_trace(out, {&recorder}, {{"tool", "test"}});
    const auto json = nlohmann::json::parse(out.str());
    std::map<std::string, int> phases;
    std::vector<std::string> tracks;
    for (const auto& e : json["traceEvents"]) {
        ++phases[e["ph"].get<std::string>()];
        if (e["name"] == "thread_name") {
            tracks.push_back(e["args"]["name"]);
        }
    }
    EXPECT_EQ(tracks, (std::vector<std::string>{"src (source)", "mid (processor)", "out (sink)"}));
    EXPECT_EQ(phases["s"], 6);  // src -> mid -> out, three times
    EXPECT_EQ(phases["f"], 6);
    EXPECT_EQ(phases["b"], 6);  // a wait in a queue per arrow
    EXPECT_EQ(phases["e"], 6);
    EXPECT_GE(phases["X"], 9 + 6);  // 9 element calls; init, teardown, complete
    EXPECT_GT(phases["C"], 0);
    EXPECT_EQ(json["otherData"]["tool"], "test");
}

}  // namespace
}  // namespace torvyn
