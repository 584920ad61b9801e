// Kafka through librdkafka (the client the connectors use), against a real
// Kafka 4.x broker in KRaft mode that smoke.py started (tests/brokers/kafka.py).
//
//   kafka_smoke BOOTSTRAP run            a topic, N messages from the
//                                        idempotent producer, a consumer
//                                        group committing only after
//                                        processing, and a restarted consumer
//                                        resuming at the committed offset
//   kafka_smoke BOOTSTRAP after-restart  the broker was restarted: the
//                                        messages and the group's offset are
//                                        still there, and consuming resumes
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"

namespace {

using torvyn::brokers_test::seconds_since;
using Clock = std::chrono::steady_clock;

constexpr const char* kTopic = "torvyn-smoke";
constexpr const char* kGroup = "torvyn-smoke-group";
constexpr int64_t kMessages = 200;
constexpr int64_t kCommitted = 120;   // the first consumer commits these...
constexpr int64_t kUncommitted = 10;  // ...and processes these without a commit
constexpr int kTimeoutMs = 15000;

struct Deleter {
    void operator()(rd_kafka_t* p) const { rd_kafka_destroy(p); }
    void operator()(rd_kafka_message_t* p) const { rd_kafka_message_destroy(p); }
    void operator()(rd_kafka_topic_partition_list_t* p) const {
        rd_kafka_topic_partition_list_destroy(p);
    }
    void operator()(rd_kafka_queue_t* p) const { rd_kafka_queue_destroy(p); }
    void operator()(rd_kafka_event_t* p) const { rd_kafka_event_destroy(p); }
    void operator()(rd_kafka_NewTopic_t* p) const { rd_kafka_NewTopic_destroy(p); }
};
template <class T>
using Own = std::unique_ptr<T, Deleter>;

void set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
    char err[512];
    BROKER_CHECK(rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK,
                 std::string(key) + ": " + err);
}

std::string key_of(int64_t i) {
    return "key-" + std::to_string(i);
}
std::string value_of(int64_t i) {
    return "value " + std::to_string(i);
}
std::string traceparent_of(int64_t i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "00-%032llx-%016llx-01", static_cast<unsigned long long>(i + 1),
                  static_cast<unsigned long long>(i + 1));
    return buf;
}

// --- producer ---------------------------------------------------------------
struct Delivered {
    std::vector<int64_t> offsets;
    int errors = 0;
    std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* d = static_cast<Delivered*>(opaque);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (d->errors++ == 0)
            d->first_error = rd_kafka_err2str(m->err);
        return;
    }
    d->offsets.push_back(m->offset);
}

Own<rd_kafka_t> producer(const std::string& bootstrap, Delivered* delivered) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "enable.idempotence", "true");  // implies acks=all, in-order, no duplicates on retry
    set(conf, "linger.ms", "5");
    rd_kafka_conf_set_opaque(conf, delivered);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    BROKER_CHECK(rk != nullptr, err);
    return Own<rd_kafka_t>(rk);
}

void produce(rd_kafka_t* rk, int64_t i) {
    const std::string key = key_of(i), value = value_of(i), tp = traceparent_of(i);
    rd_kafka_headers_t* headers = rd_kafka_headers_new(1);
    rd_kafka_header_add(headers, "traceparent", -1, tp.data(), static_cast<ssize_t>(tp.size()));
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(kTopic), RD_KAFKA_V_PARTITION(0),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_headers_destroy(headers);
    BROKER_CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, std::string("produce: ") + rd_kafka_err2str(e));
}

void create_topic(rd_kafka_t* rk) {
    char err[512];
    Own<rd_kafka_NewTopic_t> topic(rd_kafka_NewTopic_new(kTopic, 1, 1, err, sizeof err));
    BROKER_CHECK(topic != nullptr, err);
    Own<rd_kafka_queue_t> queue(rd_kafka_queue_new(rk));
    rd_kafka_NewTopic_t* topics[] = {topic.get()};
    rd_kafka_CreateTopics(rk, topics, 1, nullptr, queue.get());
    Own<rd_kafka_event_t> ev(rd_kafka_queue_poll(queue.get(), kTimeoutMs));
    BROKER_CHECK(ev != nullptr, "no answer to CreateTopics");
    BROKER_CHECK(rd_kafka_event_error(ev.get()) == RD_KAFKA_RESP_ERR_NO_ERROR,
                 rd_kafka_event_error_string(ev.get()));
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev.get());
    BROKER_CHECK(res != nullptr, "not a CreateTopics result");
    size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &count);
    BROKER_CHECK(count == 1, "CreateTopics: " + std::to_string(count) + " results");
    const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[0]);
    const char* msg = rd_kafka_topic_result_error_string(results[0]);
    BROKER_CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR,
                 std::string("create topic: ") + (msg ? msg : rd_kafka_err2str(e)));
}

// Produces [from, to) and checks each was stored once, in order, at offset i.
void produce_range(const std::string& bootstrap, int64_t from, int64_t to) {
    Delivered delivered;
    auto rk = producer(bootstrap, &delivered);
    for (int64_t i = from; i < to; ++i)
        produce(rk.get(), i);
    BROKER_CHECK(rd_kafka_flush(rk.get(), kTimeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR,
                 "flush timed out");
    BROKER_CHECK(delivered.errors == 0,
                 std::to_string(delivered.errors) + " failed: " + delivered.first_error);
    BROKER_CHECK(static_cast<int64_t>(delivered.offsets.size()) == to - from,
                 std::to_string(delivered.offsets.size()) + " delivery reports");
    for (int64_t i = from; i < to; ++i) {
        const int64_t got = delivered.offsets[static_cast<size_t>(i - from)];
        BROKER_CHECK(got == i,
                     "message " + std::to_string(i) + " stored at offset " + std::to_string(got));
    }
}

// --- consumer ---------------------------------------------------------------
Own<rd_kafka_t> consumer(const std::string& bootstrap) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "group.id", kGroup);
    set(conf, "enable.auto.commit", "false");  // committed only after processing
    set(conf, "enable.auto.offset.store", "false");
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "session.timeout.ms", "6000");
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    BROKER_CHECK(rk != nullptr, err);
    rd_kafka_poll_set_consumer(rk);
    Own<rd_kafka_topic_partition_list_t> topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), kTopic, RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics.get());
    BROKER_CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, std::string("subscribe: ") + rd_kafka_err2str(e));
    return Own<rd_kafka_t>(rk);
}

void close_consumer(Own<rd_kafka_t>& rk) {
    const rd_kafka_resp_err_t e = rd_kafka_consumer_close(rk.get());
    BROKER_CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, std::string("close: ") + rd_kafka_err2str(e));
    rk.reset();
}

// The next message (errors fail the check); waits up to kTimeoutMs.
Own<rd_kafka_message_t> next(rd_kafka_t* rk) {
    const auto start = Clock::now();
    while (seconds_since(start) * 1000 < kTimeoutMs) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
        if (m == nullptr)
            continue;
        Own<rd_kafka_message_t> msg(m);
        BROKER_CHECK(m->err == RD_KAFKA_RESP_ERR_NO_ERROR,
                     std::string("consume: ") + rd_kafka_message_errstr(m));
        return msg;
    }
    torvyn::brokers_test::fail(__FILE__, __LINE__,
                               "no message within " + std::to_string(kTimeoutMs) + " ms");
}

// "Processing": the message is the one produced as number `offset`.
void process(const rd_kafka_message_t* m) {
    const int64_t i = m->offset;
    const std::string_view key(static_cast<const char*>(m->key), m->key_len);
    const std::string_view value(static_cast<const char*>(m->payload), m->len);
    BROKER_CHECK(
        key == key_of(i) && value == value_of(i),
        "offset " + std::to_string(i) + " holds " + std::string(key) + " = " + std::string(value));
    rd_kafka_headers_t* headers = nullptr;
    BROKER_CHECK(rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, "no headers");
    const void* tp = nullptr;
    size_t tp_len = 0;
    BROKER_CHECK(rd_kafka_header_get_last(headers, "traceparent", &tp, &tp_len) ==
                     RD_KAFKA_RESP_ERR_NO_ERROR,
                 "no traceparent header");
    BROKER_CHECK(std::string_view(static_cast<const char*>(tp), tp_len) == traceparent_of(i),
                 "traceparent");
}

void commit(rd_kafka_t* rk, const rd_kafka_message_t* m) {
    const rd_kafka_resp_err_t e = rd_kafka_commit_message(rk, m, 0);  // synchronous
    BROKER_CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, std::string("commit: ") + rd_kafka_err2str(e));
}

int64_t committed(rd_kafka_t* rk) {
    Own<rd_kafka_topic_partition_list_t> parts(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(parts.get(), kTopic, 0);
    const rd_kafka_resp_err_t e = rd_kafka_committed(rk, parts.get(), kTimeoutMs);
    BROKER_CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, std::string("committed: ") + rd_kafka_err2str(e));
    return parts->elems[0].offset;
}

int64_t high_watermark(rd_kafka_t* rk) {
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(rk, kTopic, 0, &low, &high, kTimeoutMs);
    BROKER_CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR,
                 std::string("watermarks: ") + rd_kafka_err2str(e));
    return high;
}

void run(const std::string& bootstrap) {
    {
        Delivered unused;
        auto admin = producer(bootstrap, &unused);
        create_topic(admin.get());
    }
    produce_range(bootstrap, 0, kMessages);

    // The first consumer: commits after processing each of the first
    // kCommitted messages, then processes kUncommitted more and "crashes"
    // before committing them.
    auto a = consumer(bootstrap);
    for (int64_t i = 0; i < kCommitted + kUncommitted; ++i) {
        auto m = next(a.get());
        BROKER_CHECK(m->offset == i, "first consumer got offset " + std::to_string(m->offset) +
                                         ", expected " + std::to_string(i));
        process(m.get());
        if (i < kCommitted)
            commit(a.get(), m.get());
    }
    BROKER_CHECK(committed(a.get()) == kCommitted,
                 "committed " + std::to_string(committed(a.get())));
    close_consumer(a);

    // A restarted consumer in the same group resumes at the committed offset:
    // the uncommitted ones come again (at least once), nothing is skipped.
    auto b = consumer(bootstrap);
    const auto resume_start = Clock::now();
    for (int64_t i = kCommitted; i < kMessages; ++i) {
        auto m = next(b.get());
        BROKER_CHECK(m->offset == i, "restarted consumer got offset " + std::to_string(m->offset) +
                                         ", expected " + std::to_string(i));
        process(m.get());
        commit(b.get(), m.get());
    }
    const double resumed = seconds_since(resume_start);
    BROKER_CHECK(committed(b.get()) == kMessages,
                 "committed " + std::to_string(committed(b.get())));
    BROKER_CHECK(high_watermark(b.get()) == kMessages,
                 "the topic holds " + std::to_string(high_watermark(b.get())));
    close_consumer(b);
    std::printf(
        "kafka: %lld produced once each (idempotent), %lld committed, the restarted consumer "
        "resumed at "
        "offset %lld (%lld redelivered) in %.2f s\n",
        static_cast<long long>(kMessages), static_cast<long long>(kCommitted),
        static_cast<long long>(kCommitted), static_cast<long long>(kUncommitted), resumed);
}

void after_restart(const std::string& bootstrap) {
    {
        auto c = consumer(bootstrap);
        BROKER_CHECK(high_watermark(c.get()) == kMessages, "messages lost in the restart");
        BROKER_CHECK(committed(c.get()) == kMessages, "the group's offset lost in the restart");
        close_consumer(c);
    }
    produce_range(bootstrap, kMessages, kMessages + 1);
    auto c = consumer(bootstrap);
    auto m = next(c.get());
    BROKER_CHECK(m->offset == kMessages, "resumed at offset " + std::to_string(m->offset));
    process(m.get());
    commit(c.get(), m.get());
    m.reset();
    close_consumer(c);
    std::printf(
        "kafka: after the restart, %lld messages and the group's offset kept; consuming resumed\n",
        static_cast<long long>(kMessages));
}

}  // namespace

int main(int argc, char** argv) {
    const int rc = torvyn::brokers_test::run_phase(argc, argv, "kafka_smoke", run, after_restart);
    rd_kafka_wait_destroyed(5000);
    return rc;
}
