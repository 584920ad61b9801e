// The Kafka source: a consumer in a group (several Torvyn processes with
// the same `group` share the topic's partitions). librdkafka fetches in its
// own threads into a bounded queue; the flow's thread takes from it without
// waiting (rd_kafka_consumer_poll with timeout 0), never more than the room
// downstream. When the queue was empty, librdkafka's queue event wakes the
// flow as soon as a record arrives.
//
// At least once: auto-commit is off. Each record carries an ack token; a
// partition's committed offset is the lowest offset handed out and not yet
// settled (or the next one when all are), committed every second and at a
// revocation or the end. A record that was not delivered makes its
// partition seek back to it: it and the later ones come again (duplicates,
// never loss). Rebalance callbacks run on the flow's thread (inside the
// poll), like Stage::settled, so the bookkeeping needs no lock.
#include <fmt/format.h>

#include <array>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "kafka.hpp"
#include "torvyn/core/limits.hpp"
#include "torvyn/reactor/waker.hpp"

namespace torvyn::connectors {
namespace {

using Clock = std::chrono::steady_clock;
using PartitionKey = std::pair<std::string, std::int32_t>;

std::uint64_t now_ms() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
            .count());
}

// One assignment of one partition. A partition assigned again later is a
// new one (a new id): settlements of the old one's records are ignored.
struct Partition {
    std::string topic;
    std::int32_t partition = 0;
    std::set<std::int64_t> in_flight;  // handed out, not yet settled
    std::int64_t next = -1;            // after the highest handed out; -1: none yet
    std::int64_t committed = -1;       // what was last committed (or asked to be)
    // commit = "transaction": what the last committed transaction committed;
    // the records below it are written (their settlements may still come).
    std::int64_t txn_floor = -1;

    // What may be committed: everything below it is done.
    [[nodiscard]] std::int64_t settled_point() const {
        return in_flight.empty() ? next : *in_flight.begin();
    }
};

struct InFlight {
    std::uint32_t partition_id = 0;
    std::int64_t offset = 0;
};

bool valid_header_name(const char* name) {
    const std::size_t len = std::strlen(name);
    if (len == 0 || len > kafka_limits::kMaxHeaderNameBytes) {
        return false;
    }
    return std::all_of(name, name + len, [](char c) { return c > 0x20 && c < 0x7f; });
}

class KafkaSource final : public Stage, public TxnSource {
public:
    KafkaSource(NodeHost& host, FlowWaker& waker, KafkaOptions o, std::string key)
        : host_(host), waker_(waker), o_(std::move(o)), key_(std::move(key)) {}
    ~KafkaSource() override { close(); }

    // Made here rather than in the factory: the run's calls all happen on
    // the flow's thread.
    CallResult init(std::string_view) override {
        auto conf = kafka_conf(
            o_, {{"group.id", o_.group},
                 {"enable.auto.commit", "false"},
                 {"enable.auto.offset.store", "false"},
                 {"auto.offset.reset", o_.start_earliest ? "earliest" : "latest"},
                 {"enable.partition.eof", "false"},
                 {"queued.min.messages", "10000"},
                 {"queued.max.messages.kbytes", std::to_string(kafka_limits::kQueuedKiB)},
                 {"client.id", "torvyn-" + host_.name}});
        if (!conf) {
            return kafka_error(ErrorCode::kafka_client, GuestErrorKind::fatal,
                               conf.error().message);
        }
        rd_kafka_conf_set_opaque(conf->get(), this);
        rd_kafka_conf_set_rebalance_cb(conf->get(), &KafkaSource::on_rebalance);
        rd_kafka_conf_set_offset_commit_cb(conf->get(), &KafkaSource::on_commit);
        rd_kafka_conf_set_error_cb(conf->get(), &KafkaSource::on_error);
        std::array<char, 512> why{};
        rk_.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), why.data(), why.size()));
        if (!rk_) {
            return kafka_error(ErrorCode::kafka_client, GuestErrorKind::fatal,
                               fmt::format("cannot make a Kafka consumer: {}", why.data()));
        }
        (void)conf.value().release();  // rd_kafka_new owns it now
        rd_kafka_poll_set_consumer(rk_.get());
        queue_.reset(rd_kafka_queue_get_consumer(rk_.get()));
        rd_kafka_queue_cb_event_enable(queue_.get(), &KafkaSource::on_queue_event, &waker_);
        KafkaPartitions topics(
            rd_kafka_topic_partition_list_new(static_cast<int>(o_.topics.size())));
        for (const std::string& t : o_.topics) {
            rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
        }
        if (const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_.get(), topics.get())) {
            return kafka_error(ErrorCode::kafka_client, GuestErrorKind::fatal,
                               fmt::format("cannot subscribe to {}: {}", o_.topics.front(),
                                           rd_kafka_err2str(err)));
        }
        last_commit_ = Clock::now();
        if (o_.commit_in_transaction) {
            register_txn_source(key_, this);
            registered_ = true;
        }
        return {};
    }

    [[nodiscard]] std::size_t batch_limit() const override { return limits::kMaxBatch; }

    // Nothing to pause: the source takes from librdkafka's bounded queue only
    // what is asked for, and librdkafka stops fetching when that queue is full.
    CallResult notify(bool) override { return {}; }

    CallResult pull(Produced& out) override {
        std::vector<Produced> one;
        const CallResult r = pull_batch(1, one);
        out = one.empty() ? Produced{} : one.front();
        return r;
    }

    CallResult pull_batch(std::size_t max, std::vector<Produced>& out) override {
        const std::lock_guard lock(mu_);
        if (Clock::now() - last_commit_ >= kafka_limits::kCommitInterval) {
            commit(nullptr, true);
        }
        while (out.size() < max) {
            KafkaMessage m(held_ ? held_.release() : rd_kafka_consumer_poll(rk_.get(), 0));
            if (fatal_) {
                return kafka_error(ErrorCode::kafka_client, GuestErrorKind::fatal, fatal_text_);
            }
            if (!m) {
                Produced& p = out.emplace_back();
                p.pending = true;
                p.retry_after = kafka_limits::kIdleRecheck;
                return {};
            }
            if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                continue;  // a passing client error (librdkafka retries); see on_error
            }
            Partition* part = assigned(m.get());
            if (part == nullptr) {
                continue;  // from a partition revoked meanwhile
            }
            if (CallResult bad = check(*m); !bad.ok()) {
                if (!out.empty()) {  // the batch goes first; the error on the next call
                    held_ = std::move(m);
                    return {};
                }
                // Handled by the node's on-error. Unless that stops the flow,
                // the record counts as done: its offset may be committed.
                take(*part, m->offset, !o_.fail_on_error);
                (bad.code == static_cast<std::uint16_t>(ErrorCode::connector_oversized)
                     ? oversized_
                     : bad_records_)
                    .fetch_add(1, std::memory_order_relaxed);
                return bad;
            }
            out.push_back(element(*m, *part));
        }
        return {};
    }

    void settled(std::span<const Settlement> outcomes) override {
        const std::lock_guard lock(mu_);
        std::map<std::uint32_t, std::int64_t> seek_to;  // partition id: lowest failed offset
        for (const Settlement& s : outcomes) {
            const auto it = tokens_.find(s.token);
            if (it == tokens_.end()) {
                continue;
            }
            const InFlight f = it->second;
            tokens_.erase(it);
            const auto p = partitions_.find(f.partition_id);
            if (p == partitions_.end()) {
                continue;  // revoked meanwhile: its new owner reads it again
            }
            if (s.delivered) {
                p->second.in_flight.erase(f.offset);
                continue;
            }
            auto [at, fresh] = seek_to.emplace(f.partition_id, f.offset);
            at->second = std::min(at->second, f.offset);
        }
        for (const auto& [id, offset] : seek_to) {
            redeliver(partitions_.at(id), offset);
        }
    }

    CallResult teardown() override {
        unregister();
        const std::lock_guard lock(mu_);
        if (rk_ && !closed_) {
            commit(nullptr, false);
            closed_ = true;
            rd_kafka_consumer_close(rk_.get());  // revokes: on_rebalance commits again
        }
        return {};
    }

    void close() override {
        unregister();
        const std::lock_guard lock(mu_);
        if (rk_ && !closed_) {  // no teardown (the run failed): leave the group all the same
            closed_ = true;
            rd_kafka_consumer_close(rk_.get());
        }
        if (queue_) {
            rd_kafka_queue_cb_event_enable(queue_.get(), nullptr, nullptr);
        }
        queue_.reset();
        rk_.reset();
    }

    void counters(std::vector<std::pair<std::string_view, std::uint64_t>>& out) const override {
        out.emplace_back("consumed", consumed_.load(std::memory_order_relaxed));
        out.emplace_back("committed", committed_.load(std::memory_order_relaxed));
        out.emplace_back("redelivered", redelivered_.load(std::memory_order_relaxed));
        out.emplace_back("oversized", oversized_.load(std::memory_order_relaxed));
        out.emplace_back("bad-records", bad_records_.load(std::memory_order_relaxed));
        out.emplace_back("rebalances", rebalances_.load(std::memory_order_relaxed));
        const std::uint64_t since = down_since_ms_.load(std::memory_order_relaxed);
        out.emplace_back("broker-down-ms", down_ms_.load(std::memory_order_relaxed) +
                                               (since == 0 ? 0 : now_ms() - since));
    }

    // --- TxnSource (the transactional sink's driver thread) -------------------

    void plan(std::span<const ElementRef> in, TxnPlan& out) override {
        const std::lock_guard lock(mu_);
        out.fate.assign(in.size(), TxnFate::stale);
        std::map<std::uint32_t, std::vector<std::pair<std::size_t, std::int64_t>>> by_partition;
        for (std::size_t i = 0; i < in.size(); ++i) {
            const ElementOrigin* origin = in[i].origin;
            if (origin == nullptr || !origin->token) {
                continue;
            }
            const auto t = tokens_.find(*origin->token);
            if (t == tokens_.end() || !partitions_.contains(t->second.partition_id)) {
                continue;  // read again (a seek back) or revoked: its new copy is written
            }
            by_partition[t->second.partition_id].emplace_back(i, t->second.offset);
        }
        out.offsets.reset(rd_kafka_topic_partition_list_new(
            static_cast<int>(std::max<std::size_t>(by_partition.size(), 1))));
        for (const auto& [id, items] : by_partition) {
            const Partition& part = partitions_.at(id);
            std::set<std::int64_t> mine;
            for (const auto& [i, offset] : items) {
                mine.insert(offset);
            }
            // The lowest record in flight elsewhere (not written before).
            std::int64_t gap = -1;
            for (const std::int64_t offset : part.in_flight) {
                if (offset >= part.txn_floor && !mine.contains(offset)) {
                    gap = offset;
                    break;
                }
            }
            std::int64_t point = -1;
            for (const auto& [i, offset] : items) {
                if (gap >= 0 && offset > gap) {
                    out.fate[i] = TxnFate::retry;  // written now, it would come again
                } else {
                    out.fate[i] = TxnFate::produce;
                    point = std::max(point, offset + 1);
                }
            }
            if (point < 0) {
                continue;
            }
            if (gap >= 0) {
                point = gap;  // everything below it is settled or in this batch
            }
            point = std::max(point, part.txn_floor);
            rd_kafka_topic_partition_list_add(out.offsets.get(), part.topic.c_str(), part.partition)
                ->offset = point;
        }
        out.group.reset(rd_kafka_consumer_group_metadata(rk_.get()));
    }

    void committed(const rd_kafka_topic_partition_list_t* offsets) override {
        const std::lock_guard lock(mu_);
        for (int i = 0; i < offsets->cnt; ++i) {
            const auto& tp = offsets->elems[i];
            const auto it = current_.find(PartitionKey{tp.topic, tp.partition});
            if (it != current_.end()) {
                Partition& part = partitions_.at(it->second);
                part.txn_floor = std::max(part.txn_floor, tp.offset);
                part.committed = part.txn_floor;
                committed_.fetch_add(1, std::memory_order_relaxed);
            }
        }
    }

private:
    void unregister() {
        if (registered_) {
            unregister_txn_source(key_);
            registered_ = false;
        }
    }

    // --- records -------------------------------------------------------------

    // Oversized, or headers that are not valid: an element error.
    CallResult check(const rd_kafka_message_t& m) const {
        std::uint64_t bytes = m.len + m.key_len;
        rd_kafka_headers_t* headers = nullptr;
        std::size_t count = 0;
        bool names_ok = true;
        if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            count = rd_kafka_header_cnt(headers);
            const char* name = nullptr;
            const void* value = nullptr;
            std::size_t size = 0;
            for (std::size_t i = 0; i < count && i <= kafka_limits::kMaxHeaders; ++i) {
                rd_kafka_header_get_all(headers, i, &name, &value, &size);
                bytes += std::strlen(name) + size;
                names_ok = names_ok && valid_header_name(name);
            }
        }
        const std::string where =
            fmt::format("record {}/{}@{}", rd_kafka_topic_name(m.rkt), m.partition, m.offset);
        if (bytes > o_.max_message_bytes) {
            return kafka_error(ErrorCode::connector_oversized, GuestErrorKind::invalid_input,
                               fmt::format("{} has {}{} bytes (value, key and headers), more than "
                                           "max-message-bytes = {}; it was not taken",
                                           where, count > kafka_limits::kMaxHeaders ? "over " : "",
                                           bytes, o_.max_message_bytes));
        }
        if (count > kafka_limits::kMaxHeaders || !names_ok) {
            return kafka_error(
                ErrorCode::kafka_bad_record, GuestErrorKind::invalid_input,
                fmt::format("{} has {}: header names must be 1 to {} printable ASCII bytes "
                            "without spaces, and at most {} headers",
                            where,
                            count > kafka_limits::kMaxHeaders
                                ? fmt::format("{} headers", count)
                                : std::string("a header name that is not valid"),
                            kafka_limits::kMaxHeaderNameBytes, kafka_limits::kMaxHeaders));
        }
        return {};
    }

    Produced element(const rd_kafka_message_t& m, Partition& part) {
        const std::uint64_t token = next_token_++;
        take(part, m.offset, false);
        tokens_.emplace(token, InFlight{part_id_of(part), m.offset});
        Produced p;
        p.present = true;
        p.sequence = ++emitted_;
        p.ack_token = token;
        rd_kafka_timestamp_type_t type{};
        const std::int64_t ts = rd_kafka_message_timestamp(&m, &type);
        p.timestamp_ns = ts > 0 ? static_cast<std::uint64_t>(ts) * 1'000'000 : 0;
        p.payload = host_.buffers->make_host_buffer(
            {static_cast<const std::byte*>(m.payload), m.len}, "application/octet-stream", nullptr);
        Attributes& a = p.attributes;
        a.push_back({"kafka.topic", part.topic});
        a.push_back({"kafka.partition", std::to_string(m.partition)});
        a.push_back({"kafka.offset", std::to_string(m.offset)});
        if (m.key != nullptr) {
            a.push_back({"kafka.key", std::string(static_cast<const char*>(m.key), m.key_len)});
        }
        if (ts > 0) {
            a.push_back({"kafka.timestamp", std::to_string(ts)});
        }
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            const char* name = nullptr;
            const void* value = nullptr;
            std::size_t size = 0;
            for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                                    RD_KAFKA_RESP_ERR_NO_ERROR;
                 ++i) {
                std::string text(static_cast<const char*>(value), value == nullptr ? 0 : size);
                if (std::strcmp(name, "traceparent") == 0) {
                    // An invalid one is ignored (W3C): the element starts a new trace.
                    p.trace = parse_traceparent(text).value_or(TraceContext{});
                }
                a.push_back({fmt::format("kafka.header.{}", name), std::move(text)});
            }
        }
        consumed_.fetch_add(1, std::memory_order_relaxed);
        came_back();
        return p;
    }

    // A record of `part` at `offset` is handed out (in flight until settled)
    // or, when `done`, taken care of already.
    void take(Partition& part, std::int64_t offset, bool done) {
        if (!done) {
            part.in_flight.insert(offset);
        }
        part.next = std::max(part.next, offset + 1);
        auto [seen, fresh] =
            highest_seen_.emplace(PartitionKey{part.topic, part.partition}, offset);
        if (!fresh) {
            if (offset <= seen->second) {
                redelivered_.fetch_add(1, std::memory_order_relaxed);
            }
            seen->second = std::max(seen->second, offset);
        }
    }

    void redeliver(Partition& part, std::int64_t offset) {
        part.in_flight.erase(part.in_flight.lower_bound(offset), part.in_flight.end());
        part.next = offset;
        if (o_.commit_in_transaction) {
            // The copies handed out from there on are stale: a transactional
            // sink must not write them (the records come again).
            const std::uint32_t id = part_id_of(part);
            std::erase_if(tokens_, [&](const auto& t) {
                return t.second.partition_id == id && t.second.offset >= offset;
            });
        }
        KafkaPartitions list(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(list.get(), part.topic.c_str(), part.partition)->offset =
            offset;
        if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_.get(), list.get(), 0)) {
            rd_kafka_error_destroy(e);  // it is not consumed anymore: its new owner has it
        }
    }

    // --- partitions -------------------------------------------------------------

    Partition* assigned(const rd_kafka_message_t* m) {
        const auto id = current_.find(PartitionKey{rd_kafka_topic_name(m->rkt), m->partition});
        return id == current_.end() ? nullptr : &partitions_.at(id->second);
    }

    std::uint32_t part_id_of(const Partition& part) const {
        return current_.at(PartitionKey{part.topic, part.partition});
    }

    // Commits each partition's settled point that moved (`only`: those
    // partitions); asynchronously while running, synchronously at a
    // revocation and at the end.
    void commit(const rd_kafka_topic_partition_list_t* only, bool async) {
        last_commit_ = Clock::now();
        if (o_.commit_in_transaction) {
            return;  // the sink's transactions commit the offsets
        }
        KafkaPartitions list(rd_kafka_topic_partition_list_new(4));
        for (auto& [id, part] : partitions_) {
            if (only != nullptr && rd_kafka_topic_partition_list_find(only, part.topic.c_str(),
                                                                      part.partition) == nullptr) {
                continue;
            }
            const std::int64_t point = part.settled_point();
            if (point >= 0 && point > part.committed) {
                rd_kafka_topic_partition_list_add(list.get(), part.topic.c_str(), part.partition)
                    ->offset = point;
                part.committed = point;
            }
        }
        if (list->cnt == 0) {
            return;
        }
        // The outcome comes to on_commit (a failed one is committed again).
        rd_kafka_commit(rk_.get(), list.get(), async ? 1 : 0);
    }

    void assign(rd_kafka_topic_partition_list_t* list) {
        for (int i = 0; i < list->cnt; ++i) {
            const auto& tp = list->elems[i];
            const std::uint32_t id = next_partition_id_++;
            partitions_.emplace(id, Partition{tp.topic, tp.partition, {}, -1, -1});
            current_[PartitionKey{tp.topic, tp.partition}] = id;
        }
    }

    void revoke(rd_kafka_topic_partition_list_t* list) {
        if (!fatal_) {
            commit(list, false);
        }
        for (int i = 0; i < list->cnt; ++i) {
            const auto it =
                current_.find(PartitionKey{list->elems[i].topic, list->elems[i].partition});
            if (it != current_.end()) {
                partitions_.erase(it->second);
                current_.erase(it);
            }
        }
    }

    // --- librdkafka's callbacks (on the thread that polls: the flow's) ------

    static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* list, void* opaque) {
        auto* self = static_cast<KafkaSource*>(opaque);
        const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            self->rebalances_.fetch_add(1, std::memory_order_relaxed);
            self->assign(list);
            if (cooperative) {
                if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, list)) {
                    rd_kafka_error_destroy(e);
                }
            } else {
                rd_kafka_assign(rk, list);
            }
            return;
        }
        self->revoke(list);
        if (cooperative) {
            if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, list)) {
                rd_kafka_error_destroy(e);
            }
        } else {
            rd_kafka_assign(rk, nullptr);
        }
    }

    static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* list, void* opaque) {
        auto* self = static_cast<KafkaSource*>(opaque);
        for (int i = 0; list != nullptr && i < list->cnt; ++i) {
            const auto& tp = list->elems[i];
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR && tp.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                self->committed_.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            // Not committed: the next round tries again, if it is still ours.
            const auto it = self->current_.find(PartitionKey{tp.topic, tp.partition});
            if (it != self->current_.end()) {
                self->partitions_.at(it->second).committed = -1;
            }
        }
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            self->came_back();
        }
    }

    static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
        auto* self = static_cast<KafkaSource*>(opaque);
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
            std::uint64_t none = 0;
            self->down_since_ms_.compare_exchange_strong(none, now_ms());
        }
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            std::array<char, 512> why{};
            rd_kafka_fatal_error(rk, why.data(), why.size());
            self->fatal_text_ = fmt::format("the Kafka consumer failed for good: {}", why.data());
            self->fatal_ = true;
        }
        (void)reason;
    }

    // librdkafka's thread: the consumer queue got something while empty.
    static void on_queue_event(rd_kafka_t*, void* opaque) {
        static_cast<FlowWaker*>(opaque)->wake();
    }

    // A record or a commit came through: an outage (if any) is over.
    void came_back() {
        const std::uint64_t since = down_since_ms_.exchange(0, std::memory_order_relaxed);
        if (since != 0) {
            down_ms_.fetch_add(now_ms() - since, std::memory_order_relaxed);
        }
    }

    NodeHost& host_;
    FlowWaker& waker_;
    KafkaOptions o_;
    std::string key_;  // in the transactional registry
    bool registered_ = false;
    // The bookkeeping below, for a transactional sink's calls (plan,
    // committed) from its own thread. Recursive: librdkafka's callbacks run
    // inside the poll and close that hold it.
    std::recursive_mutex mu_;
    KafkaHandle rk_;
    KafkaQueue queue_;
    KafkaMessage held_;  // a bad record met after a batch's elements: the next call's error
    bool closed_ = false;
    bool fatal_ = false;
    std::string fatal_text_;
    Clock::time_point last_commit_;

    std::unordered_map<std::uint32_t, Partition> partitions_;  // by assignment id
    std::map<PartitionKey, std::uint32_t> current_;            // what is assigned now
    std::unordered_map<std::uint64_t, InFlight> tokens_;
    std::map<PartitionKey, std::int64_t> highest_seen_;  // for counting redeliveries
    std::uint32_t next_partition_id_ = 1;
    std::uint64_t next_token_ = 1;
    std::uint64_t emitted_ = 0;

    std::atomic<std::uint64_t> consumed_{0};
    std::atomic<std::uint64_t> committed_{0};
    std::atomic<std::uint64_t> redelivered_{0};
    std::atomic<std::uint64_t> oversized_{0};
    std::atomic<std::uint64_t> bad_records_{0};
    std::atomic<std::uint64_t> rebalances_{0};
    std::atomic<std::uint64_t> down_ms_{0};
    std::atomic<std::uint64_t> down_since_ms_{0};  // 0: the brokers answer
};

}  // namespace

Result<std::unique_ptr<Stage>> make_kafka_source(StageSlot& slot, KafkaOptions o) {
    return std::unique_ptr<Stage>(std::make_unique<KafkaSource>(
        slot.host, slot.waker, std::move(o), txn_key(slot.flow.name, slot.host.id)));
}

}  // namespace torvyn::connectors
