// The Kafka connector (kind = "kafka"): a consumer-group source that commits
// an offset only once everything derived from its record is done, and an
// idempotent producer sink. What the source and the sink share: the
// settings, the librdkafka configuration, handles, and the row's functions.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
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
    // commit = "transaction": the offsets go into a transactional sink's
    // transactions (the source commits nothing itself).
    bool commit_in_transaction = false;
    // sink
    std::string key_attribute;     // empty: records without a key
    std::string transactional_id;  // empty: idempotent only
    // librdkafka properties from the `properties` table, after ours.
    std::vector<std::pair<std::string, std::string>> properties;
};

// The node's settings (every problem an E0900 at its place); `properties`
// are tried on a scratch librdkafka configuration, so a wrong name or
// value is reported by `torvyn check` too.
KafkaOptions read_kafka_options(const NodeSpec& node, std::vector<Error>& errors);

struct KafkaDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
    void operator()(rd_kafka_consumer_group_metadata_t* g) const {
        rd_kafka_consumer_group_metadata_destroy(g);
    }
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

using KafkaGroupMetadata = std::unique_ptr<rd_kafka_consumer_group_metadata_t, KafkaDeleter>;

// Codes of their own (docs/errors.md), kept here rather than in ErrorCode so
// that core/error.hpp (included everywhere) is not touched.

// --- transactions: a source with commit = "transaction" and a sink with a
// transactional-id in the same flow (and process) -------------------------

// What a transactional sink does with one element of its batch.
enum class TxnFate : std::uint8_t {
    produce,  // write it in this transaction
    stale,    // its record is read again (seek back, revoked): not written, succeeds
    retry,    // a lower record of its partition is still in flight: fails, read again
};

struct TxnPlan {
    std::vector<TxnFate> fate;  // per element
    KafkaPartitions offsets;    // what the transaction commits for the group
    KafkaGroupMetadata group;
};

// A Kafka source whose offsets a transactional sink commits. Called from the
// sink's driver thread: the source locks its bookkeeping.
class TxnSource {
public:
    virtual ~TxnSource() = default;
    // Per partition, the offset to commit with these elements written: all
    // below it are settled or in the batch, never past a record in flight
    // elsewhere.
    virtual void plan(std::span<const ElementRef> in, TxnPlan& out) = 0;
    // The transaction with `offsets` is committed.
    virtual void committed(const rd_kafka_topic_partition_list_t* offsets) = 0;
};

// The process-wide registry, keyed by flow name and source node id.
std::string txn_key(const std::string& flow, std::uint32_t node);
void register_txn_source(const std::string& key, TxnSource* source);
void unregister_txn_source(const std::string& key);
// Calls `fn` with the source under the registry's lock; false: none.
bool with_txn_source(const std::string& key, const std::function<void(TxnSource&)>& fn);

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
// A sink with `transactional-id` and a source with `commit = "transaction"`
// need each other in one flow (E0914 at the setting).
void check_kafka_flow(const FlowSpec& flow, std::vector<Error>& errors);
Result<std::string> probe_kafka(const NodeSpec& node, const std::filesystem::path& base);
Result<std::unique_ptr<Stage>> make_kafka(StageSlot& slot, const std::filesystem::path& base);

}  // namespace torvyn::connectors
