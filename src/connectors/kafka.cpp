// The Kafka row: settings, the librdkafka configuration both stages start
// from, `torvyn link`'s metadata probe, and the factory.
#include "kafka.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "settings.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn::connectors {
namespace {

// Properties the connector sets itself: its guarantees rest on them.
constexpr std::array<std::string_view, 10> kOwnProperties = {
    "bootstrap.servers",        "metadata.broker.list", "group.id",           "enable.auto.commit",
    "enable.auto.offset.store", "auto.offset.reset",    "enable.idempotence", "acks",
    "request.required.acks",    "transactional.id"};

std::vector<std::string> split_topics(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at <= text.size()) {
        const std::size_t comma = std::min(text.find(',', at), text.size());
        std::string name = text.substr(at, comma - at);
        name.erase(0, name.find_first_not_of(' '));
        name.erase(name.find_last_not_of(' ') + 1);
        out.push_back(std::move(name));
        at = comma + 1;
    }
    return out;
}

void read_properties(SettingsReader& r, KafkaOptions& o) {
    const Setting* table = r.table("properties");
    if (table == nullptr) {
        return;
    }
    KafkaConf scratch(rd_kafka_conf_new());
    for (const Setting& entry : table->entries) {
        std::string value;
        if (!r.scalar_text(entry, value)) {
            continue;
        }
        if (std::find(kOwnProperties.begin(), kOwnProperties.end(), entry.key) !=
            kOwnProperties.end()) {
            r.error(ErrorCode::connector_setting, entry.where,
                    fmt::format("property '{}' of {} is set by the connector", entry.key, r.what()),
                    "use the node's settings (bootstrap, group, start); offsets are committed "
                    "by the connector, and the sink is always idempotent with acks=all");
            continue;
        }
        std::array<char, 512> why{};
        if (rd_kafka_conf_set(scratch.get(), entry.key.c_str(), value.c_str(), why.data(),
                              why.size()) != RD_KAFKA_CONF_OK) {
            r.error(ErrorCode::kafka_client, entry.where,
                    fmt::format("librdkafka refuses property '{}' = \"{}\" of {}: {}", entry.key,
                                value, r.what(), why.data()),
                    "see librdkafka's CONFIGURATION.md for its properties and values");
            continue;
        }
        o.properties.emplace_back(entry.key, std::move(value));
    }
}

}  // namespace

KafkaOptions read_kafka_options(const NodeSpec& node, std::vector<Error>& errors) {
    SettingsReader r(node, errors);
    KafkaOptions o;
    o.bootstrap = r.text("bootstrap", "", true);
    const Setting* topic_setting = node.setting("topic");
    const std::string topics = r.text("topic", "", true);
    if (!topics.empty()) {
        o.topics = split_topics(topics);
        const bool empty_name =
            std::any_of(o.topics.begin(), o.topics.end(), [](auto& t) { return t.empty(); });
        if (empty_name || (node.role == Role::sink && o.topics.size() != 1)) {
            r.error(
                ErrorCode::connector_setting, topic_setting->where,
                fmt::format("'topic' of {} must name {}", r.what(),
                            node.role == Role::sink ? "one topic" : "topics separated by commas"),
                "topic = \"orders\"");
        }
    }
    if (node.role == Role::source) {
        o.group = r.text("group", "", true);
        o.start_earliest = r.choice("start", {"earliest", "latest"}, 0) == 0;
        o.max_message_bytes = r.size("max-message-bytes", limits::kDefaultConnectorElementBytes,
                                     limits::kMaxConnectorElementBytes);
        o.fail_on_error = node.on_error == ErrorPolicy::fail;
        o.commit_in_transaction = r.choice("commit", {"settled", "transaction"}, 0) == 1;
        r.not_for_role("key", "a source passes the record's key on as kafka.key");
        r.not_for_role("transactional-id", "a source does not produce");
    } else {
        o.key_attribute = r.text("key", "kafka.key");
        o.transactional_id = r.text("transactional-id", "");
        r.not_for_role("commit", "a sink's offsets are its source's");
        r.not_for_role("group", "a sink belongs to no consumer group");
        r.not_for_role("start", "a sink only writes");
        r.not_for_role("max-message-bytes",
                       "a sink writes what it is given (librdkafka's "
                       "message.max.bytes property bounds it)");
    }
    read_properties(r, o);
    r.finish();
    return o;
}

Result<KafkaConf> kafka_conf(const KafkaOptions& o,
                             std::initializer_list<std::pair<const char*, std::string>> ours) {
    KafkaConf conf(rd_kafka_conf_new());
    std::array<char, 512> why{};
    auto set = [&](const char* key, const std::string& value) -> std::optional<Error> {
        if (rd_kafka_conf_set(conf.get(), key, value.c_str(), why.data(), why.size()) !=
            RD_KAFKA_CONF_OK) {
            return Error(ErrorCode::kafka_client,
                         fmt::format("librdkafka refuses {} = \"{}\": {}", key, value, why.data()));
        }
        return std::nullopt;
    };
    if (auto e = set("bootstrap.servers", o.bootstrap)) {
        return std::move(*e);
    }
    for (const auto& [key, value] : ours) {
        if (auto e = set(key, value)) {
            return std::move(*e);
        }
    }
    for (const auto& [key, value] : o.properties) {
        if (auto e = set(key.c_str(), value)) {
            return std::move(*e);
        }
    }
    return conf;
}

namespace {

struct TxnRegistry {
    std::mutex mu;
    std::map<std::string, TxnSource*> sources;
};

TxnRegistry& txn_registry() {
    static TxnRegistry r;
    return r;
}

}  // namespace

std::string txn_key(const std::string& flow, std::uint32_t node) {
    return fmt::format("{}\n{}", flow, node);
}

void register_txn_source(const std::string& key, TxnSource* source) {
    TxnRegistry& r = txn_registry();
    const std::lock_guard lock(r.mu);
    r.sources[key] = source;
}

void unregister_txn_source(const std::string& key) {
    TxnRegistry& r = txn_registry();
    const std::lock_guard lock(r.mu);
    r.sources.erase(key);
}

bool with_txn_source(const std::string& key, const std::function<void(TxnSource&)>& fn) {
    TxnRegistry& r = txn_registry();
    const std::lock_guard lock(r.mu);
    const auto it = r.sources.find(key);
    if (it == r.sources.end()) {
        return false;
    }
    fn(*it->second);
    return true;
}

CallResult kafka_error(ErrorCode code, GuestErrorKind kind, std::string message) {
    CallResult r = CallResult::guest(kind, std::move(message));
    r.code = static_cast<std::uint16_t>(code);
    return r;
}

namespace {

Result<KafkaOptions> options_of(const NodeSpec& node) {
    return read_checked(
        [&](std::vector<Error>& errors) { return read_kafka_options(node, errors); });
}

}  // namespace

namespace {

// The setting `key` of a Kafka node, when it has it.
const Setting* kafka_setting(const NodeSpec& node, std::string_view key) {
    if (node.kind != "kafka") {
        return nullptr;
    }
    const auto it = std::find_if(node.settings.begin(), node.settings.end(),
                                 [&](const Setting& s) { return s.key == key; });
    return it != node.settings.end() ? &*it : nullptr;
}

}  // namespace

void check_kafka_flow(const FlowSpec& flow, std::vector<Error>& errors) {
    const NodeSpec* sink = nullptr;  // the first of each, for the message
    const NodeSpec* source = nullptr;
    for (const NodeSpec& n : flow.nodes) {
        if (n.role == Role::sink && kafka_setting(n, "transactional-id") != nullptr) {
            sink = sink != nullptr ? sink : &n;
        }
        const Setting* commit = kafka_setting(n, "commit");
        if (n.role == Role::source && commit != nullptr && commit->text == "transaction") {
            source = source != nullptr ? source : &n;
        }
    }
    if (sink != nullptr && source == nullptr) {
        errors.emplace_back(
            ErrorCode::kafka_transaction_pair,
            fmt::format("node '{}' writes in transactions, but flow '{}' has no Kafka source with "
                        "commit = \"transaction\" whose offsets they could carry",
                        sink->name, flow.name),
            kafka_setting(*sink, "transactional-id")->where.str(),
            "set commit = \"transaction\" on the flow's Kafka source, or drop transactional-id");
    }
    if (source != nullptr && sink == nullptr) {
        errors.emplace_back(
            ErrorCode::kafka_transaction_pair,
            fmt::format("node '{}' leaves its commits to a transactional sink, but flow '{}' has "
                        "no Kafka sink with a transactional-id: nothing would ever be committed",
                        source->name, flow.name),
            kafka_setting(*source, "commit")->where.str(),
            "give the flow's Kafka sink a transactional-id, or drop commit = \"transaction\"");
    }
}

void check_kafka(const NodeSpec& node, std::vector<Error>& errors) {
    read_kafka_options(node, errors);
}

// A metadata request per topic with a producer handle (it joins no group
// and reads no record): the topic exists, and how many partitions it has.
Result<std::string> probe_kafka(const NodeSpec& node, const std::filesystem::path&) {
    auto o = options_of(node);
    if (!o) {
        return std::move(o).error();
    }
    auto conf = kafka_conf(*o, {{"socket.connection.setup.timeout.ms", "3000"}});
    if (!conf) {
        return unavailable(node, conf.error().message, "fix the node's properties");
    }
    // The outcome is ours to report: librdkafka's own log lines would repeat it.
    rd_kafka_conf_set_log_cb(conf->get(), nullptr);
    std::array<char, 512> why{};
    KafkaHandle rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), why.data(), why.size()));
    if (!rk) {
        return unavailable(node, fmt::format("cannot make a Kafka client: {}", why.data()),
                           "fix the node's properties");
    }
    (void)conf->release();  // rd_kafka_new owns it now
    std::vector<std::string> found;
    for (const std::string& topic : o->topics) {
        rd_kafka_topic_t* t = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
        const rd_kafka_metadata_t* md = nullptr;
        const rd_kafka_resp_err_t err =
            rd_kafka_metadata(rk.get(), 0, t, &md, kafka_limits::kProbeTimeoutMs);
        rd_kafka_topic_destroy(t);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return unavailable(
                node,
                fmt::format("no answer from the Kafka brokers at {} within {} ms ({})",
                            o->bootstrap, kafka_limits::kProbeTimeoutMs, rd_kafka_err2str(err)),
                "start the broker, or fix 'bootstrap' (host:port, separated by commas)");
        }
        const rd_kafka_resp_err_t topic_err =
            md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        const int partitions = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
        rd_kafka_metadata_destroy(md);
        if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR || partitions == 0) {
            return unavailable(node,
                               fmt::format("topic '{}' is not on the brokers at {} ({})", topic,
                                           o->bootstrap, rd_kafka_err2str(topic_err)),
                               "create it (kafka-topics.sh --create), or fix 'topic'");
        }
        found.push_back(
            fmt::format("{} ({} partition{})", topic, partitions, partitions == 1 ? "" : "s"));
    }
    if (node.role == Role::source) {
        return fmt::format("consumes {} from {} as group '{}' (start: {})", fmt::join(found, ", "),
                           o->bootstrap, o->group, o->start_earliest ? "earliest" : "latest");
    }
    return fmt::format(
        "produces to {} at {} ({}, acks=all, key from {})", fmt::join(found, ", "), o->bootstrap,
        o->transactional_id.empty() ? std::string("idempotent")
                                    : fmt::format("transactional.id '{}'", o->transactional_id),
        o->key_attribute);
}

Result<std::unique_ptr<Stage>> make_kafka(StageSlot& slot, const std::filesystem::path&) {
    auto o = options_of(slot.node);
    if (!o) {
        return std::move(o).error();
    }
    return slot.node.role == Role::source ? make_kafka_source(slot, std::move(o).value())
                                          : make_kafka_sink(slot, std::move(o).value());
}

}  // namespace torvyn::connectors
