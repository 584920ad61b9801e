// The Kafka connector's settings as `torvyn check` sees them: no broker is
// needed (tests/connectors/kafka_cases.py runs the connector against one).
// The `properties` table is read with its entries' places and tried on a
// librdkafka configuration.
#include <gtest/gtest.h>

#include "torvyn/connectors/connectors.hpp"

namespace torvyn {
namespace {

// A flow kafka -> kafka with the given extra keys on each node.
std::vector<std::string> errors_of(const std::string& source, const std::string& sink,
                                   const std::string& sink_topic = "out") {
    const std::string toml =
        "[flow.t]\n"
        "[flow.t.nodes.a]\nkind = \"kafka\"\nrole = \"source\"\nbootstrap = \"h:1\"\n"
        "topic = \"in\"\n" +
        source +
        "\n[flow.t.nodes.b]\nkind = \"kafka\"\nrole = \"sink\"\nbootstrap = \"h:1\"\n"
        "topic = \"" +
        sink_topic + "\"\n" + sink + "\n[[flow.t.edges]]\nfrom = \"a\"\nto = \"b\"\n";
    const ManifestLoad m = parse_manifest(toml, "/tmp/Torvyn.toml", &connector_node_kinds());
    std::vector<std::string> out;
    for (const auto& e : m.errors) {
        out.push_back(e.format());
    }
    return out;
}

bool has(const std::vector<std::string>& errors, const std::string& text) {
    for (const auto& e : errors) {
        if (e.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

TEST(KafkaSettings, AGoodPairHasNoErrors) {
    EXPECT_EQ(errors_of("group = \"g\"\nstart = \"latest\"\nmax-message-bytes = \"64KiB\"\n"
                        "properties = { \"session.timeout.ms\" = 6000, \"client.rack\" = \"r1\","
                        " \"check.crcs\" = true }",
                        "key = \"kafka.key\"\nproperties = { \"linger.ms\" = 1 }"),
              std::vector<std::string>{});
}

TEST(KafkaSettings, EachErrorAtItsPlace) {
    const auto e = errors_of(
        "start = \"middle\"\nkey = \"k\"\n"
        "properties = { \"enable.auto.commit\" = true, \"fetch.wait.max.ms\" "
        "= \"soon\", \"no.such\" = 1, \"nested\" = { a = 1 } }",
        "group = \"g\"\ntopic2 = \"x\"");
    const std::string all = ::testing::PrintToString(e);
    ASSERT_EQ(e.size(), 9u) << all;
    EXPECT_TRUE(has(e,
                    "error[E0900] /tmp/Torvyn.toml:2:1: node 'a' (kind = \"kafka\") is missing "
                    "required setting 'group'"))
        << all;
    EXPECT_TRUE(has(e, "error[E0900] /tmp/Torvyn.toml:7:9: invalid 'start'")) << all;
    EXPECT_TRUE(has(e, "/tmp/Torvyn.toml:8:7: 'key' is not a setting of node 'a'")) << all;
    EXPECT_TRUE(has(e,
                    "error[E0900] /tmp/Torvyn.toml:9:39: property 'enable.auto.commit' of node "
                    "'a' (kind = \"kafka\") is set by the connector"))
        << all;
    EXPECT_TRUE(has(e,
                    "error[E0912] /tmp/Torvyn.toml:9:67: librdkafka refuses property "
                    "'fetch.wait.max.ms' = \"soon\""))
        << all;
    EXPECT_TRUE(has(e,
                    "error[E0912] /tmp/Torvyn.toml:9:87: librdkafka refuses property "
                    "'no.such'"))
        << all;
    EXPECT_TRUE(has(e,
                    "'nested' of node 'a' (kind = \"kafka\") must be a string, a number or "
                    "true/false"))
        << all;
    EXPECT_TRUE(has(e, "'group' is not a setting of node 'b'")) << all;
    EXPECT_TRUE(has(e, "unknown setting 'topic2' of node 'b'")) << all;
}

TEST(KafkaSettings, TopicsAndTables) {
    EXPECT_TRUE(has(errors_of("group = \"g\"\nproperties = 5", ""),
                    "'properties' of node 'a' (kind = \"kafka\") must be a table"));
    EXPECT_EQ(errors_of("group = \"g\"", "").size(), 0u);
    // A sink writes one topic; a source may read several.
    EXPECT_TRUE(has(errors_of("group = \"g\"", "", "a,b"), "must name one topic"));
}

TEST(KafkaSettings, ATransactionalSinkAndItsSourceNeedEachOther) {
    EXPECT_EQ(errors_of("group = \"g\"\ncommit = \"transaction\"", "transactional-id = \"t1\""),
              std::vector<std::string>{});
    const auto sink_alone = errors_of("group = \"g\"", "transactional-id = \"t1\"");
    ASSERT_EQ(sink_alone.size(), 1u) << ::testing::PrintToString(sink_alone);
    EXPECT_TRUE(has(sink_alone,
                    "error[E0914] /tmp/Torvyn.toml:13:20: node 'b' writes in "
                    "transactions, but flow 't' has no Kafka source"))
        << sink_alone.front();
    const auto source_alone = errors_of("group = \"g\"\ncommit = \"transaction\"", "");
    ASSERT_EQ(source_alone.size(), 1u) << ::testing::PrintToString(source_alone);
    EXPECT_TRUE(has(source_alone,
                    "error[E0914] /tmp/Torvyn.toml:8:10: node 'a' leaves its "
                    "commits to a transactional sink"))
        << source_alone.front();
}

}  // namespace
}  // namespace torvyn
