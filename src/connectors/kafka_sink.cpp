// The Kafka sink: an idempotent producer (enable.idempotence, acks=all: a
// retried send is not stored twice, order per partition is kept). A batch
// is produced whole, then the call waits for every record's delivery
// report: an element succeeds only once the broker has it, and a record the
// broker did not take fails its element (the node's on-error decides).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>

#include "kafka.hpp"
#include "settings.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn::connectors {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kHeaderPrefix = "kafka.header.";

// What became of one record of the batch in progress.
struct Delivery {
    bool reported = false;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

class KafkaSink final : public BatchSink {
public:
    KafkaSink(NodeHost& host, KafkaOptions o, std::string flow)
        : host_(host), o_(std::move(o)), flow_(std::move(flow)) {}
    ~KafkaSink() override { close(); }

    CallResult init(std::string_view) override {
        auto conf = kafka_conf(o_, {{"enable.idempotence", "true"},
                                    {"acks", "all"},
                                    {"message.timeout.ms", std::to_string(kDeliveryMs)},
                                    {"client.id", "torvyn-" + host_.name}});
        if (conf && transactional()) {
            std::array<char, 512> why{};
            if (rd_kafka_conf_set(conf->get(), "transactional.id", o_.transactional_id.c_str(),
                                  why.data(), why.size()) != RD_KAFKA_CONF_OK) {
                return kafka_error(
                    ErrorCode::kafka_client, GuestErrorKind::fatal,
                    fmt::format("librdkafka refuses transactional.id: {}", why.data()));
            }
        }
        if (!conf) {
            return kafka_error(ErrorCode::kafka_client, GuestErrorKind::fatal,
                               conf.error().message);
        }
        rd_kafka_conf_set_opaque(conf->get(), this);
        rd_kafka_conf_set_dr_msg_cb(conf->get(), &KafkaSink::on_delivery);
        std::array<char, 512> why{};
        rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), why.data(), why.size()));
        if (!rk_) {
            return kafka_error(ErrorCode::kafka_client, GuestErrorKind::fatal,
                               fmt::format("cannot make a Kafka producer: {}", why.data()));
        }
        (void)conf.value().release();  // rd_kafka_new owns it now
        if (transactional()) {
            // Fences an earlier producer with the same id, and aborts the
            // transaction it left open (a process killed mid-batch).
            if (rd_kafka_error_t* e = rd_kafka_init_transactions(rk_.get(), kTxnTimeoutMs)) {
                return txn_failed("cannot start Kafka transactions", e);
            }
        }
        return {};
    }

    [[nodiscard]] std::size_t batch_limit() const override { return limits::kMaxBatch; }

    CallResult push_batch(std::span<const ElementRef> in, std::span<CallResult> each,
                          bool& pause) override {
        pause = false;
        if (transactional()) {
            return push_transaction(in, each);
        }
        batch_base_ = next_id_;
        next_id_ += in.size();
        batch_.assign(in.size(), Delivery{});
        outstanding_ = 0;
        const auto deadline = Clock::now() + std::chrono::milliseconds(kDeliveryMs + 5000);
        for (std::size_t i = 0; i < in.size(); ++i) {
            const rd_kafka_resp_err_t err = produce(in[i], batch_base_ + i, deadline);
            if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                batch_[i] = {true, err};
            } else {
                ++outstanding_;
            }
        }
        // Only this batch is outstanding: flushing sends it at once (no
        // linger.ms) and serves its delivery reports.
        while (outstanding_ > 0 && Clock::now() < deadline) {
            rd_kafka_flush(rk_.get(), 100);
        }
        for (std::size_t i = 0; i < in.size(); ++i) {
            each[i] = outcome(batch_[i]);
        }
        if (char why[512]; rd_kafka_fatal_error(rk_.get(), why, sizeof why) != 0) {
            return kafka_error(ErrorCode::kafka_delivery, GuestErrorKind::fatal,
                               fmt::format("the Kafka producer failed for good: {}", why));
        }
        return {};
    }

    CallResult complete() override { return flush(); }
    CallResult teardown() override { return flush(); }
    void close() override { rk_.reset(); }

    void counters(std::vector<std::pair<std::string_view, std::uint64_t>>& out) const override {
        out.emplace_back("produced", produced_.load(std::memory_order_relaxed));
        if (transactional()) {
            out.emplace_back("transactions", transactions_.load(std::memory_order_relaxed));
            out.emplace_back("aborted", aborted_.load(std::memory_order_relaxed));
            out.emplace_back("stale-skipped", stale_.load(std::memory_order_relaxed));
        }
        out.emplace_back("delivery-errors", delivery_errors_.load(std::memory_order_relaxed));
    }

private:
    static constexpr int kDeliveryMs = kafka_limits::kDeliveryTimeoutMs;
    static constexpr int kTxnTimeoutMs = kafka_limits::kDeliveryTimeoutMs;

    [[nodiscard]] bool transactional() const { return !o_.transactional_id.empty(); }

    // A transaction's call failed: fenced or fatal ends the node (E0913);
    // anything else aborts the transaction, and the batch fails.
    CallResult txn_failed(std::string_view what, rd_kafka_error_t* e) {
        const std::string text = fmt::format("{} (transactional.id '{}'): {}", what,
                                             o_.transactional_id, rd_kafka_error_string(e));
        const bool fatal = rd_kafka_error_is_fatal(e) != 0;
        rd_kafka_error_destroy(e);
        return kafka_error(ErrorCode::kafka_transaction,
                           fatal ? GuestErrorKind::fatal : GuestErrorKind::unavailable, text);
    }

    // One transaction per batch: its records and its source's offsets.
    CallResult push_transaction(std::span<const ElementRef> in, std::span<CallResult> each) {
        TxnPlan plan;
        std::uint32_t source = 0;
        const bool has_origin = !in.empty() && in.front().origin != nullptr;
        if (has_origin) {
            source = in.front().origin->source;
        }
        const bool found = has_origin && with_txn_source(txn_key(flow_, source),
                                                         [&](TxnSource& s) { s.plan(in, plan); });
        if (!found && source_seen_) {
            // The source has stopped (its teardown came first): nothing of
            // these is committed, so they are read again by the next run.
            for (CallResult& r : each) {
                r = kafka_error(ErrorCode::kafka_delivery, GuestErrorKind::unavailable,
                                "the Kafka source has stopped: the record is read again by "
                                "the group's next run");
            }
            return {};
        }
        source_seen_ = source_seen_ || found;
        if (!found) {
            return kafka_error(ErrorCode::kafka_transaction_pair, GuestErrorKind::fatal,
                               fmt::format("sink '{}' has a transactional-id, but its elements "
                                           "come from no Kafka source with commit = "
                                           "\"transaction\" in flow '{}'",
                                           host_.name, flow_));
        }
        for (std::size_t i = 0; i < in.size(); ++i) {
            const ElementOrigin* o = in[i].origin;
            if (o == nullptr || o->source != source || !o->token) {
                // An aggregate (no token of its own) or a second source:
                // no single offset says what this transaction covers.
                return kafka_error(ErrorCode::kafka_transaction_pair, GuestErrorKind::fatal,
                                   fmt::format("sink '{}' has a transactional-id, but a batch "
                                               "mixes elements of several sources, or holds "
                                               "an aggregate",
                                               host_.name));
            }
        }
        if (std::none_of(plan.fate.begin(), plan.fate.end(),
                         [](TxnFate f) { return f == TxnFate::produce; })) {
            for (std::size_t i = 0; i < in.size(); ++i) {  // nothing to write
                each[i] = plan.fate[i] == TxnFate::stale
                              ? CallResult{}
                              : kafka_error(ErrorCode::kafka_delivery, GuestErrorKind::unavailable,
                                            "a lower offset of the record's partition is still "
                                            "in flight: it is read again");
            }
            return {};
        }
        if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk_.get())) {
            return txn_failed("cannot begin a Kafka transaction", e);
        }
        batch_base_ = next_id_;
        next_id_ += in.size();
        batch_.assign(in.size(), Delivery{});
        outstanding_ = 0;
        const auto deadline = Clock::now() + std::chrono::milliseconds(kDeliveryMs + 5000);
        bool ok = true;
        for (std::size_t i = 0; i < in.size() && ok; ++i) {
            if (plan.fate[i] != TxnFate::produce) {
                continue;
            }
            const rd_kafka_resp_err_t err = produce(in[i], batch_base_ + i, deadline);
            if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                batch_[i] = {true, err};
                ok = false;
            } else {
                ++outstanding_;
            }
        }
        while (ok && outstanding_ > 0 && Clock::now() < deadline) {
            rd_kafka_flush(rk_.get(), 100);
        }
        for (std::size_t i = 0; i < in.size() && ok; ++i) {
            if (plan.fate[i] == TxnFate::produce &&
                (!batch_[i].reported || batch_[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)) {
                ok = false;
            }
        }
        std::string why;
        if (ok && plan.offsets->cnt > 0) {
            if (rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(
                    rk_.get(), plan.offsets.get(), plan.group.get(), kTxnTimeoutMs)) {
                if (rd_kafka_error_is_fatal(e) != 0) {
                    return txn_failed("cannot add the offsets to the Kafka transaction", e);
                }
                why = rd_kafka_error_string(e);
                rd_kafka_error_destroy(e);
                ok = false;
            }
        }
        if (ok) {
            if (rd_kafka_error_t* e = rd_kafka_commit_transaction(rk_.get(), kTxnTimeoutMs)) {
                if (rd_kafka_error_is_fatal(e) != 0) {
                    return txn_failed("cannot commit the Kafka transaction", e);
                }
                why = rd_kafka_error_string(e);
                rd_kafka_error_destroy(e);
                ok = false;
            }
        }
        if (!ok) {
            aborted_.fetch_add(1, std::memory_order_relaxed);
            if (rd_kafka_error_t* e = rd_kafka_abort_transaction(rk_.get(), kTxnTimeoutMs)) {
                return txn_failed("cannot abort the Kafka transaction", e);
            }
            for (std::size_t i = 0; i < in.size(); ++i) {
                if (plan.fate[i] == TxnFate::stale) {
                    each[i] = {};
                    continue;
                }
                delivery_errors_.fetch_add(1, std::memory_order_relaxed);
                const Delivery& d = batch_[i];
                std::string cause = !why.empty() ? why
                                    : d.reported && d.err != RD_KAFKA_RESP_ERR_NO_ERROR
                                        ? std::string(rd_kafka_err2str(d.err))
                                        : std::string("another record of the batch failed");
                each[i] = kafka_error(ErrorCode::kafka_delivery, GuestErrorKind::unavailable,
                                      fmt::format("the Kafka transaction for topic '{}' was "
                                                  "aborted: {}",
                                                  o_.topics.front(), cause));
            }
            return {};
        }
        transactions_.fetch_add(1, std::memory_order_relaxed);
        with_txn_source(txn_key(flow_, source),
                        [&](TxnSource& s) { s.committed(plan.offsets.get()); });
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (plan.fate[i] == TxnFate::produce) {
                produced_.fetch_add(1, std::memory_order_relaxed);
                each[i] = {};
            } else if (plan.fate[i] == TxnFate::stale) {
                stale_.fetch_add(1, std::memory_order_relaxed);
                each[i] = {};
            } else {
                delivery_errors_.fetch_add(1, std::memory_order_relaxed);
                each[i] = kafka_error(ErrorCode::kafka_delivery, GuestErrorKind::unavailable,
                                      "a lower offset of the record's partition is still in "
                                      "flight: it is read again");
            }
        }
        return {};
    }

    // Queues one record (the payload is copied: the element's buffer goes
    // back to the host when the call returns). A full local queue is waited
    // out, serving delivery reports, until the deadline.
    rd_kafka_resp_err_t produce(const ElementRef& in, std::uint64_t id,
                                Clock::time_point deadline) {
        std::span<const std::byte> value;
        host_.buffers->bytes(in.payload, 0, ~0ull, &value);
        const Attribute* key = nullptr;
        rd_kafka_headers_t* headers = rd_kafka_headers_new(4);
        if (in.origin != nullptr) {
            for (const Attribute& a : in.origin->attributes) {
                if (a.key == o_.key_attribute) {
                    key = &a;
                } else if (a.key.starts_with(kHeaderPrefix) &&
                           a.key.compare(kHeaderPrefix.size(), std::string::npos, "traceparent") !=
                               0) {
                    rd_kafka_header_add(headers, a.key.data() + kHeaderPrefix.size(),
                                        static_cast<ssize_t>(a.key.size() - kHeaderPrefix.size()),
                                        a.value.data(), static_cast<ssize_t>(a.value.size()));
                }
            }
        }
        if (in.trace.valid()) {
            const std::string tp = format_traceparent(in.trace);
            rd_kafka_header_add(headers, "traceparent", -1, tp.data(),
                                static_cast<ssize_t>(tp.size()));
        }
        const void* key_data = key != nullptr ? key->value.data() : nullptr;
        const std::size_t key_size = key != nullptr ? key->value.size() : 0;
        void* value_data = const_cast<std::byte*>(value.data());
        const std::size_t value_size = value.size();
        void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(id));
        for (;;) {
            const rd_kafka_resp_err_t err = rd_kafka_producev(
                rk_.get(), RD_KAFKA_V_TOPIC(o_.topics.front().c_str()),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value_data, value_size),
                RD_KAFKA_V_KEY(key_data, key_size), RD_KAFKA_V_HEADERS(headers),
                RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                return err;  // the headers are the record's now
            }
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || Clock::now() >= deadline) {
                rd_kafka_headers_destroy(headers);
                return err;
            }
            rd_kafka_poll(rk_.get(), 10);
        }
    }

    CallResult outcome(const Delivery& d) {
        if (d.reported && d.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            produced_.fetch_add(1, std::memory_order_relaxed);
            return {};
        }
        delivery_errors_.fetch_add(1, std::memory_order_relaxed);
        return kafka_error(ErrorCode::kafka_delivery, GuestErrorKind::unavailable,
                           d.reported
                               ? fmt::format("Kafka did not take the record for topic '{}': {}",
                                             o_.topics.front(), rd_kafka_err2str(d.err))
                               : fmt::format("no delivery report for topic '{}' within {} ms",
                                             o_.topics.front(), kDeliveryMs + 5000));
    }

    CallResult flush() {
        if (!rk_) {
            return {};
        }
        if (const rd_kafka_resp_err_t err =
                rd_kafka_flush(rk_.get(), kafka_limits::kCloseTimeoutMs)) {
            return kafka_error(ErrorCode::kafka_delivery, GuestErrorKind::unavailable,
                               fmt::format("records for topic '{}' still unsent at the end: {}",
                                           o_.topics.front(), rd_kafka_err2str(err)));
        }
        return {};
    }

    // librdkafka calls this inside rd_kafka_poll, on the flow's thread. A
    // report of an earlier batch (one that waited past its deadline) is
    // too late to matter.
    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
        auto* self = static_cast<KafkaSink*>(opaque);
        const auto id = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(m->_private));
        if (id < self->batch_base_ || id - self->batch_base_ >= self->batch_.size()) {
            return;
        }
        Delivery& d = self->batch_[id - self->batch_base_];
        if (!d.reported) {
            d = {true, m->err};
            --self->outstanding_;
        }
    }

    NodeHost& host_;
    KafkaOptions o_;
    std::string flow_;
    bool source_seen_ = false;  // the transactional source was there once
    KafkaHandle rk_;
    std::vector<Delivery> batch_;
    std::uint64_t batch_base_ = 0;  // the id of batch_[0]
    std::uint64_t next_id_ = 1;
    std::size_t outstanding_ = 0;  // produced, not yet reported
    std::atomic<std::uint64_t> produced_{0};
    std::atomic<std::uint64_t> delivery_errors_{0};
    std::atomic<std::uint64_t> transactions_{0};
    std::atomic<std::uint64_t> aborted_{0};
    std::atomic<std::uint64_t> stale_{0};
};

}  // namespace

Result<std::unique_ptr<Stage>> make_kafka_sink(StageSlot& slot, KafkaOptions o) {
    return std::unique_ptr<Stage>(
        std::make_unique<KafkaSink>(slot.host, std::move(o), slot.flow.name));
}

}  // namespace torvyn::connectors
