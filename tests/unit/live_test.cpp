// The live registry, its Prometheus families and its HTTP endpoints, fed
// with events by hand (no flow, no engine).
#include <gtest/gtest.h>

#include <httplib.h>

#include <set>
#include <thread>

#include "torvyn/core/ticks.hpp"
#include "torvyn/observability/live.hpp"
#include "torvyn/observability/live_server.hpp"
#include "torvyn/observability/metrics.hpp"

namespace torvyn {
namespace {

// a (source) -> b (processor) -> c (sink), queues of 4.
FlowTopology three_nodes() {
    FlowTopology t;
    t.flow = "f";
    t.nodes = {"a", "b", "c"};
    t.roles = {Role::source, Role::processor, Role::sink};
    t.edges = {"a -> b", "b -> c"};
    t.links = {{0, 1, 4, false}, {1, 2, 4, false}};
    return t;
}

Error guest_error(const std::string& message) {
    return Error(ErrorCode::guest_error, message);
}

// One element through the flow: a's call pushes on edge 0; b pops it and
// pushes on edge 1; c pops it.
void one_element(LiveFlow& f, std::uint64_t call_ticks) {
    f.on_call(0, CallKind::pull, call_ticks, CallStatus::ok);
    f.on_queue(0, 1);
    f.on_queue(0, 0);
    f.on_call(1, CallKind::process, call_ticks, CallStatus::ok);
    f.on_copied(1, 2, 128);
    f.on_queue(1, 1);
    f.on_queue(1, 0);
    f.on_call(2, CallKind::process, call_ticks, CallStatus::ok);
}

TEST(Live, SnapshotCountsWhatTheEventsSay) {
    LiveRegistry registry;
    auto flow = registry.add("f", 1024);
    EXPECT_EQ(flow->snapshot().state, LiveState::linking);
    FlowProgress progress;
    progress.emitted = 7;
    progress.buffer_bytes = 300;
    flow->track([&] { return progress; });
    flow->on_start(three_nodes());
    for (int i = 0; i < 3; ++i) {
        one_element(*flow, 1);
    }
    flow->on_queue(0, 1);  // one more waits on a -> b
    flow->on_error(1, guest_error("no"), 4, nullptr);
    flow->on_error(1, guest_error("no again"), 5, nullptr);
    flow->on_contained(1, Error(ErrorCode::guest_trap, "trapped"), 6, nullptr);
    flow->on_restarted(1, 1);
    flow->on_ended(PathEnd::filtered, 1, 7);
    flow->on_ended(PathEnd::dropped, 1, 8);
    flow->on_pressure(0, true);

    const FlowSnapshot s = flow->snapshot();
    EXPECT_EQ(s.state, LiveState::running);
    EXPECT_EQ(s.progress.emitted, 7U);
    EXPECT_EQ(s.progress.buffer_bytes, 300U);
    EXPECT_EQ(s.buffer_budget, 1024U);
    ASSERT_EQ(s.nodes.size(), 3U);
    EXPECT_EQ(s.nodes[0].elements_in, 0U);
    EXPECT_EQ(s.nodes[0].elements_out, 4U);
    EXPECT_EQ(s.nodes[1].elements_in, 3U);
    EXPECT_EQ(s.nodes[1].elements_out, 3U);
    EXPECT_EQ(s.nodes[2].elements_in, 3U);
    EXPECT_EQ(s.nodes[1].calls, 3U);
    EXPECT_EQ(s.nodes[1].filtered, 1U);
    EXPECT_EQ(s.nodes[1].errors, 2U);
    ASSERT_EQ(s.nodes[1].errors_by_code.size(), 1U);
    EXPECT_EQ(s.nodes[1].errors_by_code[0].first, ErrorCode::guest_error);
    EXPECT_EQ(s.nodes[1].errors_by_code[0].second, 2U);
    EXPECT_EQ(s.nodes[1].containments, 1U);
    EXPECT_EQ(s.nodes[1].restarts, 1U);
    EXPECT_EQ(s.nodes[1].copies, 6U);
    EXPECT_EQ(s.nodes[1].copied_bytes, 384U);
    EXPECT_EQ(s.copies, 6U);
    EXPECT_EQ(s.containments, 1U);
    EXPECT_EQ(s.restarts, 1U);
    ASSERT_EQ(s.edges.size(), 2U);
    EXPECT_EQ(s.edges[0].depth, 1U);
    EXPECT_EQ(s.edges[0].peak, 1U);
    EXPECT_EQ(s.edges[0].pushed, 4U);
    EXPECT_EQ(s.edges[0].link.capacity, 4U);
    EXPECT_TRUE(s.edges[0].pressured);
    EXPECT_EQ(s.edges[0].pressure_episodes, 1U);
    EXPECT_EQ(s.edges[1].dropped, 1U);
    ASSERT_EQ(s.events.size(), 3U);
    EXPECT_EQ(s.events[0].node, "b");
    EXPECT_EQ(s.events[0].code, "E0303");
    EXPECT_TRUE(s.events[2].contained);
}

TEST(Live, CallTimesFallInTheirBuckets) {
    LiveRegistry registry;
    auto flow = registry.add("f");
    flow->on_start(three_nodes());
    // Ticks may be TSC cycles: measure what a second is in them.
    // (Against the steady clock over the same interval: a loaded machine
    // sleeps longer than asked.)
    const auto t0 = ticks();
    const auto s0 = steady_now_ns();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const double ticks_per_second =
        static_cast<double>(ticks() - t0) * 1e9 / static_cast<double>(steady_now_ns() - s0);
    const auto at = [&](double seconds) {
        return static_cast<std::uint64_t>(seconds * ticks_per_second);
    };
    flow->on_call(1, CallKind::process, at(2e-6), CallStatus::ok);
    flow->on_call(1, CallKind::process, at(2e-3), CallStatus::ok);
    flow->on_call(1, CallKind::process, at(20.0), CallStatus::ok);
    const NodeSnapshot n = flow->snapshot().nodes[1];
    EXPECT_EQ(n.calls, 3U);
    EXPECT_EQ(n.call_buckets[0], 0U);                              // <= 1 us
    EXPECT_EQ(n.call_buckets[1], 1U);                              // <= 5 us
    EXPECT_EQ(n.call_buckets[6], 1U);                              // <= 1 ms
    EXPECT_EQ(n.call_buckets[7], 2U);                              // <= 5 ms
    EXPECT_EQ(n.call_buckets[kCallSecondsBounds.size() - 1], 2U);  // <= 5 s
    EXPECT_EQ(n.call_buckets.back(), 3U);                          // +Inf
    EXPECT_NEAR(n.call_seconds, 20.002002, 0.5);
}

TEST(Live, KeepsTheLatestEventsOnly) {
    LiveRegistry registry;
    auto flow = registry.add("f");
    flow->on_start(three_nodes());
    for (int i = 0; i < 50; ++i) {
        flow->on_error(1, guest_error(std::to_string(i)), std::nullopt, nullptr);
    }
    const FlowSnapshot s = flow->snapshot();
    ASSERT_EQ(s.events.size(), LiveFlow::kEventsKept);
    EXPECT_EQ(s.events.back().message, "49");
    EXPECT_EQ(s.nodes[1].errors, 50U);
}

TEST(Live, FinishedFlowKeepsItsLastNumbersAndIsReplacedByItsNextRun) {
    LiveRegistry registry;
    auto first = registry.add("f");
    bool asked_after_finish = false;
    bool finished = false;
    first->track([&] {
        asked_after_finish |= finished;
        return FlowProgress{};
    });
    first->on_start(three_nodes());
    FlowReport report;
    report.emitted = 42;
    report.buffers.peak_bytes_held = 99;
    first->on_finish(report);
    finished = true;
    const FlowSnapshot s = first->snapshot();
    EXPECT_FALSE(asked_after_finish);  // the flow may be gone
    EXPECT_EQ(s.state, LiveState::finished);
    EXPECT_EQ(s.stop, "completed");
    EXPECT_EQ(s.progress.emitted, 42U);
    EXPECT_EQ(s.progress.peak_buffer_bytes, 99U);
    auto other = registry.add("g");
    auto second = registry.add("f");
    const auto all = registry.snapshot();
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all[0].name, "g");
    EXPECT_EQ(all[1].id, second->id());
    registry.remove(other->id());
    EXPECT_EQ(registry.snapshot().size(), 1U);
}

TEST(LiveMetrics, FamiliesFollowPrometheusNaming) {
    LiveRegistry registry;
    auto flow = registry.add("f", 1024);
    flow->on_start(three_nodes());
    one_element(*flow, 1);
    flow->on_error(1, guest_error("no"), 1, nullptr);
    const auto families = LiveCollector(registry).Collect();
    std::set<std::string> names;
    for (const auto& f : families) {
        names.insert(f.name);
        EXPECT_EQ(f.name.rfind("torvyn_", 0), 0U) << f.name;
        EXPECT_FALSE(f.metric.empty()) << f.name;
        const bool total = f.name.size() > 6 && f.name.ends_with("_total");
        EXPECT_EQ(total, f.type == prometheus::MetricType::Counter) << f.name;
    }
    for (const char* want : {"torvyn_flow_running", "torvyn_flow_elements_emitted_total",
                             "torvyn_flow_elements_delivered_total", "torvyn_flow_copies_total",
                             "torvyn_flow_copied_bytes_total", "torvyn_flow_buffer_bytes",
                             "torvyn_flow_buffer_budget_bytes", "torvyn_flow_containments_total",
                             "torvyn_flow_restarts_total", "torvyn_node_calls_total",
                             "torvyn_node_call_duration_seconds", "torvyn_node_elements_in_total",
                             "torvyn_node_elements_out_total", "torvyn_node_errors_total",
                             "torvyn_edge_queue_depth", "torvyn_edge_queue_capacity",
                             "torvyn_edge_dropped_total", "torvyn_edge_pressure_seconds_total"}) {
        EXPECT_TRUE(names.count(want)) << want;
    }
    const std::string text = metrics_text(registry);
    EXPECT_NE(text.find("# TYPE torvyn_node_call_duration_seconds histogram"), std::string::npos);
    EXPECT_NE(text.find("torvyn_node_errors_total{flow=\"f\",node=\"b\",code=\"E0303\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("torvyn_node_calls_total{flow=\"f\",node=\"c\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("torvyn_edge_queue_capacity{flow=\"f\",edge=\"a -> b\"} 4\n"),
              std::string::npos);
    EXPECT_NE(
        text.find(
            "torvyn_node_call_duration_seconds_bucket{flow=\"f\",node=\"a\",le=\"+Inf\"} 1\n"),
        std::string::npos);
    EXPECT_NE(text.find("torvyn_node_info{flow=\"f\",node=\"a\",role=\"source\"} 1\n"),
              std::string::npos);
}

TEST(LiveMetrics, NoFlowNoSeries) {
    LiveRegistry registry;
    EXPECT_TRUE(LiveCollector(registry).Collect().empty());
    // A flow still linking has no nodes yet, only its flow series.
    registry.add("f");
    const std::string text = metrics_text(registry);
    EXPECT_NE(text.find("torvyn_flow_running{flow=\"f\"} 0\n"), std::string::npos);
    EXPECT_EQ(text.find("torvyn_node_"), std::string::npos);
}

TEST(LiveServer, ParsesListenAddresses) {
    const auto ok = [](std::string_view text, const std::string& host, int port) {
        auto a = parse_listen_address(text, "--metrics");
        ASSERT_TRUE(a) << text << ": " << a.error().message;
        EXPECT_EQ(a->host, host);
        EXPECT_EQ(a->port, port);
    };
    ok("127.0.0.1:9464", "127.0.0.1", 9464);
    ok("localhost:0", "localhost", 0);
    ok("[::1]:80", "::1", 80);
    ok(":9464", "0.0.0.0", 9464);
    for (const char* bad : {"9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "1.2.3.4:65536",
                            "1.2.3.4:-1", "::1:80", "host:12ab"}) {
        auto a = parse_listen_address(bad, "--ui");
        ASSERT_FALSE(a) << bad;
        EXPECT_EQ(a.error().code, ErrorCode::listen_address) << bad;
        EXPECT_EQ(a.error().where, "--ui");
        EXPECT_FALSE(a.error().hint.empty());
    }
}

TEST(LiveServer, ServesMetricsPageAndJson) {
    LiveRegistry registry;
    auto flow = registry.add("f");
    flow->on_start(three_nodes());
    one_element(*flow, 1);
    auto server = LiveServer::start({"127.0.0.1", 0}, {true, true}, registry);
    ASSERT_TRUE(server) << server.error().message;
    ASSERT_GT(server.value()->port(), 0);
    EXPECT_EQ(server.value()->url(), "http://127.0.0.1:" + std::to_string(server.value()->port()));
    httplib::Client client("127.0.0.1", server.value()->port());
    auto metrics = client.Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_EQ(metrics->status, 200);
    EXPECT_EQ(metrics->get_header_value("Content-Type"), kMetricsContentType);
    EXPECT_NE(metrics->body.find("torvyn_node_calls_total{flow=\"f\",node=\"b\"} 1"),
              std::string::npos);
    auto page = client.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_NE(page->body.find("<title>Torvyn live</title>"), std::string::npos);
    // Self-contained: nothing is loaded from elsewhere.
    EXPECT_EQ(page->body.find("src=\"http"), std::string::npos);
    EXPECT_EQ(page->body.find("href=\"http"), std::string::npos);
    auto json = client.Get("/api/flows");
    ASSERT_TRUE(json);
    const auto j = nlohmann::json::parse(json->body);
    ASSERT_EQ(j["flows"].size(), 1U);
    EXPECT_EQ(j["flows"][0]["name"], "f");
    EXPECT_EQ(j["flows"][0]["state"], "running");
    EXPECT_EQ(j["flows"][0]["nodes"][1]["in"], 1);
    EXPECT_EQ(j["flows"][0]["edges"][0]["capacity"], 4);
    auto missing = client.Get("/nope");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
}

TEST(LiveServer, OnlyTheEndpointsAskedFor) {
    LiveRegistry registry;
    auto server = LiveServer::start({"127.0.0.1", 0}, {true, false}, registry);
    ASSERT_TRUE(server);
    httplib::Client client("127.0.0.1", server.value()->port());
    auto page = client.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 404);
}

TEST(LiveServer, ATakenPortIsAClearError) {
    LiveRegistry registry;
    auto first = LiveServer::start({"127.0.0.1", 0}, {true, false}, registry);
    ASSERT_TRUE(first);
    auto second = LiveServer::start({"127.0.0.1", first.value()->port()}, {true, false}, registry);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, ErrorCode::listen_failed);
    EXPECT_NE(second.error().message.find(std::to_string(first.value()->port())),
              std::string::npos);
    EXPECT_FALSE(second.error().hint.empty());
}

TEST(LiveServer, GuestTextThatIsNotUtf8DoesNotBreakTheJson) {
    LiveRegistry registry;
    auto flow = registry.add("f");
    flow->on_start(three_nodes());
    flow->on_error(1, guest_error("bad \xff\xfe bytes"), std::nullopt, nullptr);
    auto server = LiveServer::start({"127.0.0.1", 0}, {false, true}, registry);
    ASSERT_TRUE(server);
    httplib::Client client("127.0.0.1", server.value()->port());
    auto json = client.Get("/api/flows");
    ASSERT_TRUE(json);
    EXPECT_EQ(json->status, 200);
    EXPECT_TRUE(nlohmann::json::accept(json->body));
}

}  // namespace
}  // namespace torvyn
