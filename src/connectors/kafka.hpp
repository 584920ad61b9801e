// The Kafka connector (kind = "kafka"): a consumer-group source that commits
// an offset only once everything derived from its record is done, and an
// idempotent producer sink. What the source and the sink share: the
// settings, the librdkafka configuration, handles, and the row's functions.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "torvyn/connectors/connectors.hpp"

namespace torvyn::connectors {

namespace kafka_limits {
// Bounds on what a broker hands the source, per record (beyond
// max-message-bytes, which bounds value, key and headers together).
inline constexpr std::size_t kMaxHeaders = 64;
inline constexpr std::size_t kMaxHeaderNameBytes = 255;
// librdkafka's prefetch queue per consumer: the records it holds before
// the flow takes them (its default is 64 MiB).
inline constexpr int kQueuedKiB = 16 * 1024;
// A source with nothing fetched is asked again after this at the latest;
// a record's arrival wakes the flow sooner (the queue's event fd).
inline constexpr std::chrono::milliseconds kIdleRecheck{100};
// Settled offsets are committed asynchronously this often.
inline constexpr std::chrono::milliseconds kCommitInterval{1000};
// `torvyn link`'s metadata request, and a synchronous commit at the end.
inline constexpr int kProbeTimeoutMs = 5000;
inline constexpr int kCloseTimeoutMs = 10000;
// A sink's batch waits at most this long for its delivery reports beyond
// librdkafka's own message.timeout.ms (which ends each record's attempts).
inline constexpr int kDeliveryTimeoutMs = 30000;
}  // namespace kafka_limits

struct KafkaOptions {
    std::string bootstrap;
    std::vector<std::string> topics;  // a sink has one
    // source
    std::string group;
    bool start_earliest = true;
    std::uint64_t max_message_bytes = 0;
    bool fail_on_error =
        true;  // the node's on-error is "fail": an oversized record stays uncommitted
    // sink
    std::string key_attribute;  // empty: records without a key
    // librdkafka properties from the `properties` table, after ours.
    std::vector<std::pair<std::string, std::string>> properties;
};

// The node's settings (every problem an E0900 at its place); `properties`
// are tried on a scratch librdkafka configuration, so a wrong name or
// value is reported by `torvyn check` too.
KafkaOptions read_kafka_options(const NodeSpec& node, std::vector<Error>& errors);

struct KafkaDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
    void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
    void operator()(rd_kafka_topic_partition_list_t* l) const {
        rd_kafka_topic_partition_list_destroy(l);
    }
    void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
    void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;
using KafkaPartitions = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, KafkaDeleter>;
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, KafkaDeleter>;

// A configuration with `bootstrap`, the given settings, then the user's
// properties; or why librdkafka refused one (E0912).
Result<KafkaConf> kafka_conf(const KafkaOptions& o,
                             std::initializer_list<std::pair<const char*, std::string>> ours);

// A CallResult error with a stable code.
CallResult kafka_error(ErrorCode code, GuestErrorKind kind, std::string message);

// The stages (kafka_source.cpp, kafka_sink.cpp).
Result<std::unique_ptr<Stage>> make_kafka_source(StageSlot& slot, KafkaOptions o);
Result<std::unique_ptr<Stage>> make_kafka_sink(StageSlot& slot, KafkaOptions o);

// The row's functions (kafka.cpp).
void check_kafka(const NodeSpec& node, std::vector<Error>& errors);
Result<std::string> probe_kafka(const NodeSpec& node, const std::filesystem::path& base);
Result<std::unique_ptr<Stage>> make_kafka(StageSlot& slot, const std::filesystem::path& base);

}  // namespace torvyn::connectors
