#include "torvyn/config/manifest.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace torvyn {
namespace {

ManifestLoad parse(std::string_view text) {
    return parse_manifest(text, "Torvyn.toml");
}

bool has_error(const ManifestLoad& m, ErrorCode code, std::string_view where_prefix = {}) {
    return std::any_of(m.errors.begin(), m.errors.end(), [&](const Error& e) {
        return e.code == code && e.where.rfind(where_prefix, 0) == 0;
    });
}

constexpr std::string_view kGood = R"(
[flow.demo]
description = "three stages"
queue-capacity = 8
call-timeout = "250ms"

[flow.demo.nodes.src]
component = "a.wasm"
role = "source"
config = "count=3"

[flow.demo.nodes.mid]
component = "b.wasm"
role = "processor"

[flow.demo.nodes.out]
component = "c.wasm"
role = "sink"
capabilities = ["stdout"]

[[flow.demo.edges]]
from = "src"
to = "mid"

[[flow.demo.edges]]
from = "mid"
to = "out"
capacity = 2
)";

TEST(Manifest, ParsesAGoodFlow) {
    const auto m = parse(kGood);
    ASSERT_TRUE(m.ok()) << m.errors.front().format();
    ASSERT_EQ(m.manifest.flows.size(), 1u);
    const FlowSpec& f = m.manifest.flows[0];
    EXPECT_EQ(f.name, "demo");
    EXPECT_EQ(f.queue_capacity, 8u);
    EXPECT_EQ(f.call_timeout, std::chrono::milliseconds(250));
    ASSERT_EQ(f.nodes.size(), 3u);
    // Nodes keep the order they are written in.
    EXPECT_EQ(f.nodes[0].name, "src");
    EXPECT_EQ(f.nodes[1].name, "mid");
    EXPECT_EQ(f.nodes[2].name, "out");
    EXPECT_EQ(f.nodes[0].role, Role::source);
    EXPECT_EQ(f.nodes[0].config, "count=3");
    EXPECT_EQ(f.nodes[2].capabilities, std::vector<std::string>{"stdout"});
    ASSERT_EQ(f.edges.size(), 2u);
    EXPECT_EQ(f.edges[1].from, "mid");
    EXPECT_EQ(f.edges[1].capacity, 2u);
    EXPECT_EQ(f.edges[0].capacity, 0u);
    EXPECT_EQ(f.nodes[1].where.line, 12u);
}

TEST(Manifest, SyntaxErrorHasLineAndColumn) {
    const auto m = parse("[flow.x]\nqueue-capacity = = 3\n");
    ASSERT_EQ(m.errors.size(), 1u);
    EXPECT_EQ(m.errors[0].code, ErrorCode::manifest_syntax);
    EXPECT_EQ(m.errors[0].where.rfind("Torvyn.toml:2:", 0), 0u) << m.errors[0].where;
}

TEST(Manifest, ReportsEveryProblemAtOnce) {
    const auto m = parse(R"(
[flow.f]
queu-capacity = 3

[flow.f.nodes.a]
component = "a.wasm"
role = "producer"

[flow.f.nodes.b]
role = "sink"
colour = "blue"

[[flow.f.edges]]
from = "a"
to = "nowhere"
)");
    EXPECT_FALSE(m.ok());
    EXPECT_TRUE(has_error(m, ErrorCode::manifest_schema, "Torvyn.toml:3:"));   // unknown flow key
    EXPECT_TRUE(has_error(m, ErrorCode::manifest_value, "Torvyn.toml:7:"));    // unknown role
    EXPECT_TRUE(has_error(m, ErrorCode::manifest_schema, "Torvyn.toml:11:"));  // unknown node key
    EXPECT_TRUE(has_error(m, ErrorCode::manifest_schema, "Torvyn.toml:9:"));   // b lacks component
    EXPECT_TRUE(has_error(m, ErrorCode::manifest_unknown_node, "Torvyn.toml:15:"));  // at `to`
    EXPECT_GE(m.errors.size(), 5u);
    for (const auto& e : m.errors) {
        EXPECT_FALSE(e.where.empty()) << e.format();
    }
}

TEST(Manifest, UnknownKeyErrorListsTheKnownKeys) {
    const auto m =
        parse("[flow.f]\nqueue_capacity = 3\n[flow.f.nodes.a]\ncomponent=\"a\"\nrole=\"source\"\n");
    ASSERT_TRUE(has_error(m, ErrorCode::manifest_schema, "Torvyn.toml:2:"));
    const auto it = std::find_if(m.errors.begin(), m.errors.end(), [](const Error& e) {
        return e.code == ErrorCode::manifest_schema;
    });
    EXPECT_NE(it->hint.find("queue-capacity"), std::string::npos);
}

TEST(Manifest, UngrantedImportsIsRefuseByDefaultDenyWhenAskedAndCheckedAtItsPlace) {
    const std::string_view nodes =
        "[flow.f]\n[flow.f.nodes.a]\ncomponent=\"a\"\nrole=\"source\"\n"
        "[flow.f.nodes.b]\ncomponent=\"b\"\nrole=\"sink\"\n";
    const std::string_view edge = "[[flow.f.edges]]\nfrom=\"a\"\nto=\"b\"\n";
    const auto ok =
        parse(std::string(nodes) + "ungranted-imports = \"deny\"\n" + std::string(edge));
    ASSERT_TRUE(ok.errors.empty()) << ok.errors.front().format();
    EXPECT_EQ(ok.manifest.flows[0].find("a")->ungranted_imports, UngrantedImports::refuse);
    EXPECT_EQ(ok.manifest.flows[0].find("b")->ungranted_imports, UngrantedImports::deny);

    const auto bad =
        parse(std::string(nodes) + "ungranted-imports = \"deni\"\n" + std::string(edge));
    ASSERT_EQ(bad.errors.size(), 1u);
    const Error& e = bad.errors.front();
    EXPECT_EQ(e.code, ErrorCode::manifest_value);
    EXPECT_EQ(e.where, "Torvyn.toml:8:21");
    EXPECT_NE(e.message.find("invalid 'ungranted-imports'"), std::string::npos) << e.message;
    EXPECT_EQ(e.hint, "did you mean 'deny'? one of: refuse, deny");
}

TEST(Manifest, MaxRateIsForSources) {
    const auto ok = parse(
        "[flow.f]\n[flow.f.nodes.a]\ncomponent=\"a\"\nrole=\"source\"\nmax-rate = 5000\n"
        "[flow.f.nodes.b]\ncomponent=\"b\"\nrole=\"sink\"\n"
        "[[flow.f.edges]]\nfrom=\"a\"\nto=\"b\"\n");
    ASSERT_TRUE(ok.errors.empty()) << ok.errors.front().format();
    EXPECT_EQ(ok.manifest.flows[0].find("a")->max_rate, 5000u);
    const auto bad = parse(
        "[flow.f]\n[flow.f.nodes.a]\ncomponent=\"a\"\nrole=\"source\"\n"
        "[flow.f.nodes.b]\ncomponent=\"b\"\nrole=\"sink\"\nmax-rate = 10\n"
        "[[flow.f.edges]]\nfrom=\"a\"\nto=\"b\"\n");
    EXPECT_TRUE(has_error(bad, ErrorCode::manifest_schema, "Torvyn.toml:8:"));
    const auto zero =
        parse("[flow.f]\n[flow.f.nodes.a]\ncomponent=\"a\"\nrole=\"source\"\nmax-rate = 0\n");
    EXPECT_TRUE(has_error(zero, ErrorCode::manifest_value, "Torvyn.toml:5:"));
}

TEST(Manifest, BatchIsForRolesWithABatchForm) {
    const auto bad = parse(
        "[flow.f]\n[flow.f.nodes.a]\ncomponent=\"a\"\nrole=\"source\"\n"
        "[flow.f.nodes.g]\ncomponent=\"g\"\nrole=\"aggregator\"\nbatch = 8\n"
        "[flow.f.nodes.b]\ncomponent=\"b\"\nrole=\"sink\"\n"
        "[[flow.f.edges]]\nfrom=\"a\"\nto=\"g\"\n[[flow.f.edges]]\nfrom=\"g\"\nto=\"b\"\n");
    EXPECT_TRUE(has_error(bad, ErrorCode::manifest_schema, "Torvyn.toml:8:"));
    const auto good = parse(
        "[flow.f]\n[flow.f.nodes.a]\ncomponent=\"a\"\nrole=\"source\"\n"
        "[flow.f.nodes.b]\ncomponent=\"b\"\nrole=\"sink\"\nbatch = 8\n"
        "[[flow.f.edges]]\nfrom=\"a\"\nto=\"b\"\n");
    ASSERT_TRUE(good.errors.empty()) << good.errors.front().format();
    EXPECT_EQ(good.manifest.flows[0].find("b")->batch, 8u);
}

TEST(Manifest, ThreadsAreAutoOrACountAndPinsStayWithinThem) {
    const std::string nodes =
        "[flow.f.nodes.a]\ncomponent=\"a\"\nrole=\"source\"\n"
        "[flow.f.nodes.b]\ncomponent=\"b\"\nrole=\"sink\"\nthread = 3\n"
        "[[flow.f.edges]]\nfrom=\"a\"\nto=\"b\"\n";
    const auto pinned = parse("[flow.f]\nthreads = 4\n" + nodes);
    ASSERT_TRUE(pinned.errors.empty()) << pinned.errors.front().format();
    EXPECT_EQ(pinned.manifest.flows[0].threads, 4u);
    EXPECT_EQ(pinned.manifest.flows[0].find("b")->thread, 3u);
    const auto automatic = parse("[flow.f]\nthreads = \"auto\"\n" + nodes);
    ASSERT_TRUE(automatic.errors.empty()) << automatic.errors.front().format();
    EXPECT_EQ(automatic.manifest.flows[0].threads, 0u);
    // Pinned beyond the flow's threads: the error is at the node's key.
    EXPECT_TRUE(has_error(parse("[flow.f]\nthreads = 2\n" + nodes), ErrorCode::manifest_value,
                          "Torvyn.toml:9:"));
    EXPECT_TRUE(has_error(parse("[flow.f]\nthreads = 0\n" + nodes), ErrorCode::manifest_value,
                          "Torvyn.toml:2:"));
    EXPECT_TRUE(has_error(parse("[flow.f]\nthreads = \"many\"\n" + nodes),
                          ErrorCode::manifest_value, "Torvyn.toml:2:"));
}

TEST(Manifest, AMisspeltNodeInAnEdgeIsNamedAtItsKeyWithoutFollowOnErrors) {
    const auto m = parse(
        "[flow.f.nodes.src]\ncomponent=\"a\"\nrole=\"source\"\n"
        "[flow.f.nodes.redact]\ncomponent=\"b\"\nrole=\"processor\"\n"
        "[flow.f.nodes.out]\ncomponent=\"c\"\nrole=\"sink\"\n"
        "[[flow.f.edges]]\nfrom = \"src\"\nto = \"redcat\"\n"
        "[[flow.f.edges]]\nfrom = \"redact\"\nto = \"out\"\n");
    ASSERT_EQ(m.errors.size(), 1u) << m.errors.back().format();
    EXPECT_EQ(m.errors[0].code, ErrorCode::manifest_unknown_node);
    EXPECT_EQ(m.errors[0].where, "Torvyn.toml:12:6");
    EXPECT_EQ(m.errors[0].hint, "did you mean 'redact'?");
    // Nothing close: the hint lists the nodes.
    const auto far = parse(
        "[flow.f.nodes.src]\ncomponent=\"a\"\nrole=\"source\"\n"
        "[flow.f.nodes.out]\ncomponent=\"c\"\nrole=\"sink\"\n"
        "[[flow.f.edges]]\nfrom = \"src\"\nto = \"elsewhere\"\n");
    const auto unknown = std::find_if(far.errors.begin(), far.errors.end(), [](const Error& e) {
        return e.code == ErrorCode::manifest_unknown_node;
    });
    ASSERT_NE(unknown, far.errors.end());
    EXPECT_EQ(unknown->where, "Torvyn.toml:9:6");
    EXPECT_EQ(unknown->hint, "name a node of the same flow: src, out");
}

TEST(Manifest, RejectsCycles) {
    const auto m = parse(R"(
[flow.loop.nodes.s]
component = "s"
role = "source"
[flow.loop.nodes.a]
component = "a"
role = "processor"
[flow.loop.nodes.b]
component = "b"
role = "processor"
[flow.loop.nodes.k]
component = "k"
role = "sink"
[[flow.loop.edges]]
from = "s"
to = "a"
[[flow.loop.edges]]
from = "a"
to = "b"
[[flow.loop.edges]]
from = "b"
to = "a"
[[flow.loop.edges]]
from = "b"
to = "k"
)");
    EXPECT_TRUE(has_error(m, ErrorCode::manifest_topology));
}

TEST(Manifest, RoleShapeIsChecked) {
    const auto m = parse(R"(
[flow.f.nodes.s]
component = "s"
role = "source"
[flow.f.nodes.p]
component = "p"
role = "processor"
[flow.f.nodes.k]
component = "k"
role = "sink"
[[flow.f.edges]]
from = "k"
to = "s"
)");
    // sink with an output, source with an input, processor unconnected.
    EXPECT_GE(std::count_if(m.errors.begin(), m.errors.end(),
                            [](const Error& e) { return e.code == ErrorCode::manifest_topology; }),
              4);
}

TEST(Manifest, UnknownCapabilityIsAnError) {
    const auto m = parse(R"(
[flow.f.nodes.s]
component = "s"
role = "source"
capabilities = ["network"]
[flow.f.nodes.k]
component = "k"
role = "sink"
[[flow.f.edges]]
from = "s"
to = "k"
)");
    ASSERT_TRUE(has_error(m, ErrorCode::manifest_value, "Torvyn.toml:5:"));
}

TEST(Manifest, EmptyManifestSaysWhatToAdd) {
    const auto m = parse("");
    ASSERT_EQ(m.errors.size(), 1u);
    EXPECT_EQ(m.errors[0].code, ErrorCode::manifest_schema);
    EXPECT_FALSE(m.errors[0].hint.empty());
}

TEST(Manifest, MissingFileIsReported) {
    const auto m = load_manifest("/nonexistent/Torvyn.toml");
    ASSERT_EQ(m.errors.size(), 1u);
    EXPECT_EQ(m.errors[0].code, ErrorCode::manifest_not_found);
}

TEST(Duration, ParsesUnits) {
    EXPECT_EQ(parse_duration("250ms").value(), std::chrono::milliseconds(250));
    EXPECT_EQ(parse_duration("5s").value(), std::chrono::milliseconds(5000));
    EXPECT_EQ(parse_duration("2m").value(), std::chrono::milliseconds(120000));
    EXPECT_EQ(parse_duration("1h").value(), std::chrono::milliseconds(3'600'000));
    EXPECT_EQ(parse_duration("40").value(), std::chrono::milliseconds(40));
    EXPECT_FALSE(parse_duration("fast").ok());
    EXPECT_FALSE(parse_duration("5d").ok());
    EXPECT_FALSE(parse_duration("").ok());
    // Beyond what milliseconds hold: refused, never wrapped to a negative time.
    EXPECT_FALSE(parse_duration("18446744073709551615m").ok());
    EXPECT_FALSE(parse_duration("9223372036854776s").ok());
}

TEST(ErrorFormat, OneLineWithCodeAndPlaceThenHint) {
    const Error e(ErrorCode::component_wrong_world, "does not export x", "Torvyn.toml:3:1",
                  "rebuild");
    EXPECT_EQ(e.format(), "error[E0202] Torvyn.toml:3:1: does not export x\n  hint: rebuild");
    EXPECT_EQ(error_code_name(ErrorCode::manifest_syntax), "E0101");
}

}  // namespace
}  // namespace torvyn

namespace torvyn {
namespace {

TEST(Manifest, ParsesGrantsAndLimits) {
    const auto m = parse_manifest(R"(
[flow.g.nodes.s]
component = "s"
role = "source"
capabilities = ["wall-clock", "random"]
dirs = [{ host = "data", guest = "/data" }, { host = "out", guest = "/out", mode = "rw" }]
env = ["LANG"]
connect = ["127.0.0.1:8080", "localhost:6379"]
max-memory = "16MiB"
max-table-elements = 1000
fuel = 500000
on-trap = "restart"
max-restarts = 5
[flow.g.nodes.k]
component = "k"
role = "sink"
[[flow.g.edges]]
from = "s"
to = "k"
)",
                                  "Torvyn.toml");
    ASSERT_TRUE(m.ok()) << m.errors.front().format();
    const NodeSpec& s = m.manifest.flows[0].nodes[0];
    EXPECT_EQ(s.capabilities, (std::vector<std::string>{"wall-clock", "random"}));
    ASSERT_EQ(s.dirs.size(), 2u);
    EXPECT_FALSE(s.dirs[0].writable);
    EXPECT_TRUE(s.dirs[1].writable);
    EXPECT_EQ(s.dirs[1].guest, "/out");
    EXPECT_EQ(s.env, std::vector<std::string>{"LANG"});
    EXPECT_EQ(s.connect.size(), 2u);
    EXPECT_EQ(s.max_memory, 16u << 20);
    EXPECT_EQ(s.max_table_elements, 1000u);
    EXPECT_EQ(s.fuel, 500000u);
    EXPECT_TRUE(s.restart_on_trap);
    EXPECT_EQ(s.max_restarts, 5u);
    EXPECT_EQ(s.grants_where.line, 5u);
}

TEST(Manifest, BadGrantsAndLimitsAreErrors) {
    const auto m = parse_manifest(R"(
[flow.g.nodes.s]
component = "s"
role = "source"
dirs = [{ host = "data", guest = "relative", mode = "rwx" }]
connect = ["no-port"]
max-memory = "lots"
fuel = -1
ports = ["a"]
[flow.g.nodes.k]
component = "k"
role = "sink"
[[flow.g.edges]]
from = "s"
to = "k"
)",
                                  "Torvyn.toml");
    const auto count = [&](ErrorCode c) {
        return std::count_if(m.errors.begin(), m.errors.end(),
                             [&](const Error& e) { return e.code == c; });
    };
    EXPECT_GE(count(ErrorCode::manifest_value), 5);   // guest, mode, connect, max-memory, fuel
    EXPECT_GE(count(ErrorCode::manifest_schema), 1);  // ports on a source
}

TEST(Size, ParsesUnits) {
    EXPECT_EQ(parse_size("512B").value(), 512u);
    EXPECT_EQ(parse_size("64KiB").value(), 64u << 10);
    EXPECT_EQ(parse_size("16MiB").value(), 16u << 20);
    EXPECT_EQ(parse_size("2GB").value(), 2'000'000'000u);
    EXPECT_EQ(parse_size("100").value(), 100u);
    EXPECT_FALSE(parse_size("16MB/s").ok());
    EXPECT_FALSE(parse_size("big").ok());
}

}  // namespace
}  // namespace torvyn
