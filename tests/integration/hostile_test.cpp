// Hostile components (tests/hostile/) against the host. For each case: the
// documented outcome (error code, where it is caught), the host alive, a
// healthy flow running beside it unaffected, and the audit entry.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "fixture.hpp"
#include "torvyn/core/limits.hpp"
#include "torvyn/security/audit.hpp"

namespace torvyn {
namespace {

using testing::FlowTest;
using testing::Listener;
using testing::toml_edge;
using testing::toml_node;
using testing::toml_source;
namespace fs = std::filesystem;

struct HostileCase {
    const char* name;
    const char* component;
    const char* config;
    const char* node_extra;  // grants, limits
    ErrorCode code;
    bool refused_at_link;  // caught before anything runs
    const char* audit_event;
};

void PrintTo(const HostileCase& c, std::ostream* os) {
    *os << c.name;
}

// blobs -> the hostile (or granted) processor -> slow_sink. Deadlines are
// the hostile node's own (node_extra), so the others never race the clock.
std::string hostile_flow(const std::string& flow, const HostileCase& c) {
    return "[flow." + flow + "]\n" + toml_source(flow, "src", "blobs.wasm", "count=5 size=16") +
           toml_node(flow, "mid", c.component, "processor",
                     std::string("config = \"") + c.config + "\"\n" + c.node_extra + "\n") +
           toml_node(flow, "out", "slow_sink.wasm", "sink",
                     "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
           toml_edge(flow, "src", "mid") + toml_edge(flow, "mid", "out");
}

const std::string kHealthy = R"(
[flow.healthy]
[flow.healthy.nodes.src]
component = "blobs.wasm"
role = "source"
config = "count=2000 size=64"
[flow.healthy.nodes.mid]
component = "misbehave.wasm"
role = "processor"
config = "mode=pass"
[flow.healthy.nodes.out]
component = "slow_sink.wasm"
role = "sink"
config = "work=2"
capabilities = ["stdout"]
[[flow.healthy.edges]]
from = "src"
to = "mid"
[[flow.healthy.edges]]
from = "mid"
to = "out"
)";

std::vector<nlohmann::json> read_audit(const fs::path& file) {
    std::vector<nlohmann::json> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
        out.push_back(nlohmann::json::parse(line));
    }
    return out;
}

class Hostile : public FlowTest, public ::testing::WithParamInterface<HostileCase> {};

TEST_P(Hostile, IsContained) {
    const HostileCase& c = GetParam();
    const fs::path audit_file =
        fs::path(TORVYN_TEST_TMP_DIR) / (std::string("audit-") + c.name + ".jsonl");
    fs::remove(audit_file);
    AuditLog audit(audit_file);
    RunOptions o = options();
    o.audit = &audit;

    const Manifest bad = manifest(std::string("hostile-") + c.name, hostile_flow("hostile", c));
    const Manifest good = manifest(std::string("healthy-") + c.name, kHealthy);
    // Fuel needs an engine that meters it; everything else runs on the plain one.
    Runtime& rt =
        std::string(c.node_extra).find("fuel") != std::string::npos ? fuel_runtime() : *runtime_;
    auto healthy = Flow::create(rt, good, good.flows.at(0), o);
    ASSERT_TRUE(healthy.ok()) << healthy.error().format();

    auto hostile = Flow::create(rt, bad, bad.flows.at(0), o);
    FlowReport good_report;
    FlowReport bad_report;
    const auto t0 = std::chrono::steady_clock::now();
    if (c.refused_at_link) {
        ASSERT_FALSE(hostile.ok());
        EXPECT_EQ(hostile.error().code, c.code) << hostile.error().format();
        EXPECT_NE(hostile.error().message.find("node 'mid'"), std::string::npos);
        EXPECT_FALSE(hostile.error().hint.empty());
        good_report = healthy.value()->run();
    } else {
        ASSERT_TRUE(hostile.ok()) << hostile.error().format();
        // Side by side, each flow on its own thread, as `torvyn run` does.
        std::thread t([&] { bad_report = hostile.value()->run(); });
        good_report = healthy.value()->run();
        t.join();
        ASSERT_FALSE(bad_report.ok());
        EXPECT_EQ(bad_report.error->code, c.code) << bad_report.error->format();
        EXPECT_NE(bad_report.error->message.find("node 'mid'"), std::string::npos);
        EXPECT_TRUE(bad_report.accounting_balanced());
        EXPECT_EQ(bad_report.buffers.live_buffers, 0u);
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    RecordProperty("contained_in_ms", static_cast<int>(took.count()));

    // The healthy flow did not notice.
    ASSERT_TRUE(good_report.ok()) << good_report.error->format();
    EXPECT_EQ(good_report.delivered, 2000u);

    // The audit log has the event, for the hostile node, with the code.
    const auto lines = read_audit(audit_file);
    const bool found = std::any_of(lines.begin(), lines.end(), [&](const nlohmann::json& l) {
        return l["event"] == c.audit_event && l["flow"] == "hostile" && l["node"] == "mid" &&
               l.value("code", "") == error_code_name(c.code);
    });
    EXPECT_TRUE(found) << "no '" << c.audit_event << "' audit entry with "
                       << error_code_name(c.code);
}

INSTANTIATE_TEST_SUITE_P(
    Suite, Hostile,
    ::testing::Values(
        HostileCase{"infinite_loop", "misbehave.wasm", "mode=spin at=1", "call-timeout = \"100ms\"",
                    ErrorCode::guest_deadline, false, "contain"},
        HostileCase{"unbounded_memory", "misbehave.wasm", "mode=grow at=1",
                    "max-memory = \"32MiB\"", ErrorCode::guest_limit, false, "contain"},
        HostileCase{"deep_recursion", "misbehave.wasm", "mode=recurse at=1", "",
                    ErrorCode::guest_trap, false, "contain"},
        HostileCase{"trap_in_init", "misbehave.wasm", "mode=trap-init", "",
                    ErrorCode::guest_init_failed, false, "contain"},
        HostileCase{"trap_mid_stream", "misbehave.wasm", "mode=trap at=2", "",
                    ErrorCode::guest_trap, false, "contain"},
        HostileCase{"huge_buffers", "misbehave.wasm", "mode=huge-buffers at=1", "",
                    ErrorCode::resource_budget, false, "contain"},
        HostileCase{"borrow_past_call", "misbehave.wasm", "mode=keep-borrow at=1", "",
                    ErrorCode::resource_handle, false, "contain"},
        HostileCase{"consumed_mutable_buffer", "misbehave.wasm", "mode=use-consumed at=1", "",
                    ErrorCode::resource_handle, false, "contain"},
        HostileCase{"fuel_exhausted", "misbehave.wasm", "mode=spin at=1", "fuel = 5000000",
                    ErrorCode::guest_limit, false, "contain"},
        // What a guest with no grant makes the host hold.
        HostileCase{"content_type_bomb", "misbehave.wasm", "mode=type-bomb at=1", "",
                    ErrorCode::guest_limit, false, "contain"},
        HostileCase{"hoarded_buffers", "misbehave.wasm", "mode=hoard at=1", "",
                    ErrorCode::guest_limit, false, "contain"},
        HostileCase{"oversized_call", "misbehave.wasm", "mode=big-call at=1", "",
                    ErrorCode::guest_limit, false, "contain"},
        HostileCase{"endless_wasi_streams", "chatty.wasm", "mode=streams",
                    "capabilities = [\"stdout\", \"stderr\"]", ErrorCode::guest_limit, false,
                    "contain"},
        HostileCase{"file_without_grant", "reads_file.wasm", "", "", ErrorCode::component_link,
                    true, "deny"},
        HostileCase{"clock_without_grant", "reads_clock.wasm", "", "", ErrorCode::component_link,
                    true, "deny"},
        HostileCase{"random_without_grant", "reads_random.wasm", "", "", ErrorCode::component_link,
                    true, "deny"},
        HostileCase{"env_without_grant", "reads_env.wasm", "", "", ErrorCode::component_link, true,
                    "deny"}));

// Writing to stdout without a grant: the SDK's printer is a sink, so the case
// has a flow of its own.
TEST_F(FlowTest, StdoutWithoutGrantIsRefusedAndAudited) {
    const fs::path audit_file = fs::path(TORVYN_TEST_TMP_DIR) / "audit-stdout.jsonl";
    fs::remove(audit_file);
    AuditLog audit(audit_file);
    RunOptions o = options();
    o.audit = &audit;
    const Manifest m = manifest("stdout-nogrant", R"(
[flow.hostile.nodes.src]
component = "blobs.wasm"
role = "source"
[flow.hostile.nodes.mid]
component = "hello_printer.wasm"
role = "sink"
[[flow.hostile.edges]]
from = "src"
to = "mid"
)");
    auto flow = create(m, 0, o);
    ASSERT_FALSE(flow.ok());
    EXPECT_EQ(flow.error().code, ErrorCode::component_link);
    EXPECT_NE(flow.error().message.find("capability 'stdout'"), std::string::npos)
        << flow.error().message;
    const auto lines = read_audit(audit_file);
    EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const nlohmann::json& l) {
        return l["event"] == "deny" && l["node"] == "mid";
    }));
}

std::string grant_flow(const std::string& component, const std::string& config,
                       const std::string& grants) {
    HostileCase c{
        "x", component.c_str(), config.c_str(), grants.c_str(), ErrorCode::internal, false, ""};
    return hostile_flow("granted", c);
}

TEST_F(FlowTest, GrantedDirectoryIsReadableAndNothingOutsideIt) {
    const fs::path root = fs::path(TORVYN_TEST_TMP_DIR) / "grant-root";
    fs::create_directories(root / "data");
    std::ofstream(root / "data" / "input.txt") << "inside\n";
    std::ofstream(root / "outside.txt") << "outside\n";
    const std::string grants =
        "capabilities = [\"stdout\", \"stderr\", \"wall-clock\"]\ndirs = [{ host = \"" +
        (root / "data").string() + "\", guest = \"/data\" }]";
    const FlowReport inside = run("dir-inside", grant_flow("reads_file.wasm", "", grants));
    ASSERT_TRUE(inside.ok()) << inside.error->format();
    EXPECT_EQ(inside.delivered, 5u);
    EXPECT_EQ(node(inside, "out").copies.total().bytes, 5u * 6);  // "inside" x 5

    // "..", absolute host paths: both outside the preopen, both refused.
    for (const char* escape : {"/data/../outside.txt", "/outside.txt"}) {
        const FlowReport r =
            run("dir-escape", grant_flow("reads_file.wasm", std::string("path=") + escape, grants));
        ASSERT_FALSE(r.ok()) << escape;
        EXPECT_EQ(r.error->code, ErrorCode::guest_error);
        EXPECT_NE(r.error->message.find("cannot open the file"), std::string::npos);
        EXPECT_EQ(r.delivered, 0u);
    }
}

TEST_F(FlowTest, ReadOnlyDirectoryRefusesWrites) {
    const fs::path root = fs::path(TORVYN_TEST_TMP_DIR) / "grant-ro";
    fs::remove_all(root);  // a fresh folder on every run
    fs::create_directories(root);
    const std::string ro =
        "capabilities = [\"stdout\", \"stderr\", \"wall-clock\"]\ndirs = [{ host = \"" +
        root.string() + "\", guest = \"/data\" }]";
    const FlowReport r = run("dir-ro", grant_flow("writes_file.wasm", "", ro));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::guest_error);
    EXPECT_FALSE(fs::exists(root / "output.txt"));

    const std::string rw =
        "capabilities = [\"stdout\", \"stderr\", \"wall-clock\"]\ndirs = [{ host = \"" +
        root.string() + "\", guest = \"/data\", mode = \"rw\" }]";
    const FlowReport w = run("dir-rw", grant_flow("writes_file.wasm", "", rw));
    ASSERT_TRUE(w.ok()) << w.error->format();
    EXPECT_TRUE(fs::exists(root / "output.txt"));
}

TEST_F(FlowTest, OnlyNamedEnvironmentVariablesAreVisible) {
    ::setenv("TORVYN_TEST_VISIBLE", "seen", 1);
    ::setenv("TORVYN_TEST_HIDDEN", "secret", 1);
    const std::string grants = "capabilities = [\"stderr\"]\nenv = [\"TORVYN_TEST_VISIBLE\"]";
    const FlowReport seen =
        run("env-seen", grant_flow("reads_env.wasm", "name=TORVYN_TEST_VISIBLE", grants));
    ASSERT_TRUE(seen.ok()) << seen.error->format();
    EXPECT_EQ(node(seen, "out").copies.total().bytes, 5u * 4);  // "seen"
    const FlowReport hidden =
        run("env-hidden", grant_flow("reads_env.wasm", "name=TORVYN_TEST_HIDDEN", grants));
    ASSERT_TRUE(hidden.ok()) << hidden.error->format();
    EXPECT_EQ(node(hidden, "out").copies.total().bytes, 5u * 7);  // "(unset)"
}

TEST_F(FlowTest, ClockAndRandomWorkWhenGranted) {
    const FlowReport clock = run(
        "clock", grant_flow("reads_clock.wasm", "",
                            "capabilities = [\"wall-clock\", \"monotonic-clock\", \"stderr\"]"));
    ASSERT_TRUE(clock.ok()) << clock.error->format();
    const FlowReport random = run(
        "random", grant_flow("reads_random.wasm", "", "capabilities = [\"random\", \"stderr\"]"));
    ASSERT_TRUE(random.ok()) << random.error->format();
    EXPECT_EQ(random.delivered, 5u);
}

TEST_F(FlowTest, UnusedGrantIsAWarning) {
    const Manifest m = manifest(
        "unused", grant_flow("misbehave.wasm", "mode=pass", "capabilities = [\"random\"]"));
    auto flow = create(m);
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    ASSERT_EQ(flow.value()->warnings().size(), 1u);
    EXPECT_EQ(flow.value()->warnings()[0].code, ErrorCode::component_unused_grant);
    EXPECT_NE(flow.value()->warnings()[0].message.find("'random'"), std::string::npos);
}

TEST_F(FlowTest, MissingGrantedDirectoryIsAnError) {
    const Manifest m =
        manifest("nodir", grant_flow("reads_file.wasm", "",
                                     "capabilities = [\"stdout\", \"stderr\", \"wall-clock\"]\n"
                                     "dirs = [{ host = \"/no/such/dir\", guest = \"/data\" }]"));
    auto flow = create(m);
    ASSERT_FALSE(flow.ok());
    EXPECT_EQ(flow.error().code, ErrorCode::grant_invalid);
}

TEST_F(FlowTest, TrappedNodeRestartsWithinItsBudget) {
    const FlowReport r =
        run("restart", grant_flow("misbehave.wasm", "mode=trap at=2",
                                  "on-trap = \"restart\"\nmax-restarts = 2\non-error = \"skip\""));
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(node(r, "mid").restarts, 1u);
    EXPECT_EQ(r.delivered, 4u);
    EXPECT_EQ(r.failed, 1u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, RestartBudgetRunsOut) {
    // Traps on every element from 0 on: restart, restart, then stop.
    const FlowReport r = run(
        "restart-out", grant_flow("misbehave.wasm", "mode=trap at=0 repeat=1",
                                  "on-trap = \"restart\"\nmax-restarts = 2\non-error = \"skip\""));
    EXPECT_EQ(node(r, "mid").restarts, 2u);
    EXPECT_TRUE(node(r, "mid").stopped);
    EXPECT_EQ(r.delivered, 0u);
    EXPECT_TRUE(r.accounting_balanced());
}

TEST_F(FlowTest, NetworkGrantAdmitsOnlyTheListedAddress) {
    Listener allowed;
    Listener other;  // listening too: only the grant keeps the component out
    const fs::path audit_file = fs::path(TORVYN_TEST_TMP_DIR) / "audit-network.jsonl";
    fs::remove(audit_file);
    AuditLog audit(audit_file);
    RunOptions o = options();
    o.audit = &audit;
    const std::string grant = "connect = [\"127.0.0.1:" + std::to_string(allowed.port()) + "\"]";

    const Manifest ok = manifest(
        "net-ok", grant_flow("connects.wasm", "port=" + std::to_string(allowed.port()), grant));
    auto f1 = create(ok, 0, o);
    ASSERT_TRUE(f1.ok()) << f1.error().format();
    const FlowReport connected = f1.value()->run();
    ASSERT_TRUE(connected.ok()) << connected.error->format();
    EXPECT_EQ(node(connected, "out").copies.total().bytes, 5u * std::string("connected").size());

    const Manifest denied = manifest(
        "net-denied", grant_flow("connects.wasm", "port=" + std::to_string(other.port()), grant));
    auto f2 = create(denied, 0, o);
    ASSERT_TRUE(f2.ok()) << f2.error().format();
    const FlowReport refused = f2.value()->run();
    ASSERT_TRUE(refused.ok()) << refused.error->format();
    EXPECT_EQ(node(refused, "out").copies.total().bytes,
              5u * std::string("error:access-denied").size());

    const auto lines = read_audit(audit_file);
    const std::string denied_addr = "127.0.0.1:" + std::to_string(other.port());
    EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [&](const nlohmann::json& l) {
        return l["event"] == "deny" && l.value("reason", "").find(denied_addr) != std::string::npos;
    })) << "no audit entry for the refused connection";

    // Without the grant the component does not even link.
    const Manifest none = manifest("net-none", grant_flow("connects.wasm", "port=1", ""));
    auto f3 = create(none);
    ASSERT_FALSE(f3.ok());
    EXPECT_EQ(f3.error().code, ErrorCode::component_link);
    EXPECT_NE(f3.error().message.find("'network'"), std::string::npos) << f3.error().message;
}

// A source is contained like any other node: its budget refusal is audited.
TEST_F(FlowTest, SourceOverItsBudgetIsAuditedAsAContainment) {
    const fs::path audit_file = fs::path(TORVYN_TEST_TMP_DIR) / "audit-source-budget.jsonl";
    fs::remove(audit_file);
    AuditLog audit(audit_file);
    RunOptions o = options();
    o.audit = &audit;
    const std::string f = "greedy";
    const FlowReport r =
        run("source-budget",
            "[flow." + f + "]\n" + toml_source(f, "src", "blobs.wasm", "count=5 size=8192") +
                "max-buffer-memory = \"4KiB\"\n" +
                toml_node(f, "out", "slow_sink.wasm", "sink",
                          "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
                toml_edge(f, "src", "out"),
            o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, ErrorCode::resource_budget) << r.error->format();
    const auto lines = read_audit(audit_file);
    EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const nlohmann::json& l) {
        return l["event"] == "contain" && l["node"] == "src" && l["code"] == "E0400";
    })) << "no containment entry for the source";
}

// A guest retrying a refused connection in a loop cannot flood the audit log:
// at most limits::kMaxDenialsPerSecond entries per second, the rest counted.
TEST_F(FlowTest, DenialsAreRateLimitedAndCounted) {
    Listener allowed;
    Listener other;
    const fs::path audit_file = fs::path(TORVYN_TEST_TMP_DIR) / "audit-denials.jsonl";
    fs::remove(audit_file);
    constexpr std::uint64_t kAttempts = 200;
    const auto t0 = std::chrono::system_clock::now();
    {
        AuditLog audit(audit_file);
        RunOptions o = options();
        o.audit = &audit;
        const std::string f = "denied";
        const FlowReport r =
            run("denials",
                "[flow." + f + "]\n" +
                    toml_source(f, "src", "blobs.wasm",
                                "count=" + std::to_string(kAttempts) + " size=16") +
                    toml_node(f, "mid", "connects.wasm", "processor",
                              "config = \"port=" + std::to_string(other.port()) +
                                  "\"\nconnect = [\"127.0.0.1:" + std::to_string(allowed.port()) +
                                  "\"]\n") +
                    toml_node(f, "out", "slow_sink.wasm", "sink",
                              "config = \"work=1\"\ncapabilities = [\"stdout\"]\n") +
                    toml_edge(f, "src", "mid") + toml_edge(f, "mid", "out"),
                o);
        ASSERT_TRUE(r.ok()) << r.error->format();
        EXPECT_EQ(r.delivered, kAttempts);
    }  // closing the log writes what was held back
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - t0)
            .count() +
        1;
    std::uint64_t written = 0;
    std::uint64_t suppressed = 0;
    for (const auto& l : read_audit(audit_file)) {
        if (l["node"] != "mid") {
            continue;
        }
        if (l["event"] == "deny") {
            ++written;
        }
        suppressed += l.value("suppressed", std::uint64_t{0});
    }
    EXPECT_EQ(written + suppressed, kAttempts);
    EXPECT_LE(written, static_cast<std::uint64_t>(limits::kMaxDenialsPerSecond * (seconds + 1)));
    EXPECT_GT(suppressed, 0u);
}

}  // namespace
}  // namespace torvyn

namespace torvyn {
namespace {

TEST_F(FlowTest, SkippedErrorsReachTheAuditLogBounded) {
    const fs::path audit_file = fs::path(TORVYN_TEST_TMP_DIR) / "audit-skipped.jsonl";
    fs::remove(audit_file);
    AuditLog audit(audit_file);
    RunOptions o = options();
    o.audit = &audit;
    const Manifest m = manifest(
        "skipped",
        "[flow.s]\n" + testing::toml_source("s", "src", "hello_greeter.wasm", "count=50") +
            testing::toml_node("s", "picky", "misbehave.wasm", "processor",
                               "config = \"mode=error at=0 repeat=1\"\non-error = \"skip\"\n") +
            testing::toml_node("s", "out", "hello_printer.wasm", "sink",
                               "capabilities = [\"stdout\"]\n") +
            testing::toml_edge("s", "src", "picky") + testing::toml_edge("s", "picky", "out"));
    auto flow = Flow::create(*runtime_, m, m.flows.at(0), o);
    ASSERT_TRUE(flow.ok()) << flow.error().format();
    const FlowReport r = flow.value()->run();
    ASSERT_TRUE(r.ok()) << r.error->format();
    EXPECT_EQ(r.failed, 50u);
    const auto lines = read_audit(audit_file);
    const auto errors = std::count_if(
        lines.begin(), lines.end(), [](const nlohmann::json& l) { return l["event"] == "error"; });
    EXPECT_EQ(errors, 20);
    const auto total = std::find_if(lines.begin(), lines.end(),
                                    [](const nlohmann::json& l) { return l["event"] == "errors"; });
    ASSERT_NE(total, lines.end());
    EXPECT_EQ((*total)["count"], 50);
    EXPECT_EQ((*total)["omitted"], 30);
}

}  // namespace
}  // namespace torvyn
