// The Kafka sink: an idempotent producer (enable.idempotence, acks=all: a
// retried send is not stored twice, order per partition is kept). A batch
// is produced whole, then the call waits for every record's delivery
// report: an element succeeds only once the broker has it, and a record the
// broker did not take fails its element (the node's on-error decides).
#include <fmt/format.h>

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
    KafkaSink(NodeHost& host, KafkaOptions o) : host_(host), o_(std::move(o)) {}
    ~KafkaSink() override { close(); }

    CallResult init(std::string_view) override {
        auto conf = kafka_conf(o_, {{"enable.idempotence", "true"},
                                    {"acks", "all"},
                                    {"message.timeout.ms", std::to_string(kDeliveryMs)},
                                    {"client.id", "torvyn-" + host_.name}});
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
        return {};
    }

    [[nodiscard]] std::size_t batch_limit() const override { return limits::kMaxBatch; }

    CallResult push_batch(std::span<const ElementRef> in, std::span<CallResult> each,
                          bool& pause) override {
        pause = false;
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
        out.emplace_back("delivery-errors", delivery_errors_.load(std::memory_order_relaxed));
    }

private:
    static constexpr int kDeliveryMs = kafka_limits::kDeliveryTimeoutMs;

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
    KafkaHandle rk_;
    std::vector<Delivery> batch_;
    std::uint64_t batch_base_ = 0;  // the id of batch_[0]
    std::uint64_t next_id_ = 1;
    std::size_t outstanding_ = 0;  // produced, not yet reported
    std::atomic<std::uint64_t> produced_{0};
    std::atomic<std::uint64_t> delivery_errors_{0};
};

}  // namespace

Result<std::unique_ptr<Stage>> make_kafka_sink(StageSlot& slot, KafkaOptions o) {
    return std::unique_ptr<Stage>(std::make_unique<KafkaSink>(slot.host, std::move(o)));
}

}  // namespace torvyn::connectors
