// What the Kafka connector tests (kafka.py) and the scale script ask of the
// broker besides Torvyn itself, through librdkafka:
//
//   kafka_tool BOOT create TOPIC PARTITIONS
//   kafka_tool BOOT produce TOPIC N [BYTES [RATE [KEY_PREFIX]]]
//                                              N records, key k<i>, value "r<i>"
//                                              (padded to BYTES), partition i % P,
//                                              a `traceparent` header, at most RATE
//                                              a second (0: flat out); prints the
//                                              producer's rate as JSON
//   kafka_tool BOOT latency IN OUT PREFIX      JSON: for the records of IN whose key
//                                              starts with PREFIX, the time from their
//                                              timestamp to that of the first record
//                                              with the same key in OUT (p50, p99, max)
//   kafka_tool BOOT produce-bad TOPIC BYTES    one record of BYTES, one with a header
//                                              name that is not valid, one with 65 headers
//   kafka_tool BOOT offsets GROUP TOPIC       JSON: per partition the group's committed
//                                              offset and the end offset
//   kafka_tool BOOT values TOPIC              every value, one per line, then ends
//   kafka_tool BOOT group GROUP               JSON: the consumer group's state
//                                              ("Stable" once every member has its
//                                              partitions) and its member count
//   kafka_tool BOOT records TOPIC             every record as a line "key value traceparent"
//                                              ("-" for none)
//   kafka_tool BOOT visible TOPIC ISOLATION   every value a consumer with isolation.level
//                                              ISOLATION (read_committed, read_uncommitted)
//                                              sees, up to each partition's end (a topic
//                                              written in transactions: its control records
//                                              and aborted ones have offsets too)
//
// Status 1 with a message on any failure.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kTimeoutMs = 20000;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "kafka_tool: %s\n", what.c_str());
    std::fflush(nullptr);
    std::_Exit(1);
}

struct Deleter {
    void operator()(rd_kafka_t* p) const { rd_kafka_destroy(p); }
    void operator()(rd_kafka_topic_partition_list_t* p) const {
        rd_kafka_topic_partition_list_destroy(p);
    }
    void operator()(rd_kafka_queue_t* p) const { rd_kafka_queue_destroy(p); }
    void operator()(rd_kafka_event_t* p) const { rd_kafka_event_destroy(p); }
    void operator()(rd_kafka_message_t* p) const { rd_kafka_message_destroy(p); }
};
template <class T>
using Own = std::unique_ptr<T, Deleter>;

Own<rd_kafka_t> client(rd_kafka_type_t type, const std::string& boot,
                       std::vector<std::pair<std::string, std::string>> extra = {}) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    extra.insert(extra.begin(), {"bootstrap.servers", boot});
    for (const auto& [k, v] : extra) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            die(k + ": " + err);
        }
    }
    rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk == nullptr) {
        die(err);
    }
    return Own<rd_kafka_t>(rk);
}

// The topic's partition count, or 0 while the brokers do not know it.
int partitions_now(rd_kafka_t* rk, const std::string& topic) {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, kTimeoutMs);
    rd_kafka_topic_destroy(t);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return 0;
    }
    const int n = md->topic_cnt == 1 && md->topics[0].err == 0 ? md->topics[0].partition_cnt : 0;
    rd_kafka_metadata_destroy(md);
    return n;
}

// ... waiting up to 20 s for it (a new topic's leader takes a moment).
int partitions_of(rd_kafka_t* rk, const std::string& topic) {
    for (int i = 0; i < 200; ++i) {
        if (const int n = partitions_now(rk, topic); n > 0) {
            return n;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    die("no metadata for " + topic);
}

void create(const std::string& boot, const std::string& topic, int partitions) {
    auto rk = client(RD_KAFKA_PRODUCER, boot);
    char err[512];
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
    Own<rd_kafka_queue_t> q(rd_kafka_queue_new(rk.get()));
    rd_kafka_CreateTopics(rk.get(), &nt, 1, nullptr, q.get());
    Own<rd_kafka_event_t> ev(rd_kafka_queue_poll(q.get(), kTimeoutMs));
    rd_kafka_NewTopic_destroy(nt);
    if (!ev) {
        die("create: no answer");
    }
    const auto* res = rd_kafka_event_CreateTopics_result(ev.get());
    size_t n = 0;
    const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(res, &n);
    if (n != 1 || rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        die(std::string("create ") + topic + ": " +
            (n == 1 ? rd_kafka_err2str(rd_kafka_topic_result_error(topics[0])) : "?"));
    }
    partitions_of(rk.get(), topic);  // known to the brokers before anyone uses it
}

int delivery_errors = 0;
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && delivery_errors++ == 0) {
        std::fprintf(stderr, "delivery: %s\n", rd_kafka_err2str(m->err));
    }
}

Own<rd_kafka_t> producer(const std::string& boot) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    const std::pair<const char*, const char*> settings[] = {{"bootstrap.servers", boot.c_str()},
                                                            {"enable.idempotence", "true"},
                                                            {"linger.ms", "5"},
                                                            {"batch.num.messages", "10000"},
                                                            {"message.max.bytes", "8000000"}};
    for (const auto& [k, v] : settings) {
        if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
            die(std::string(k) + ": " + err);
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == nullptr) {
        die(err);
    }
    return Own<rd_kafka_t>(rk);
}

void send(rd_kafka_t* rk, const std::string& topic, int partition, const std::string& key,
          const std::string& value, rd_kafka_headers_t* headers) {
    for (;;) {
        const rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data(), key.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            return;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            die(std::string("produce: ") + rd_kafka_err2str(err));
        }
        rd_kafka_poll(rk, 10);
    }
}

void finish(rd_kafka_t* rk) {
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR || delivery_errors > 0) {
        die("not every record was delivered");
    }
}

void produce(const std::string& boot, const std::string& topic, long n, std::size_t bytes,
             double rate, const std::string& prefix) {
    auto rk = producer(boot);
    const int parts = partitions_of(rk.get(), topic);
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        if (rate > 0) {
            std::this_thread::sleep_until(
                start + std::chrono::duration<double>(static_cast<double>(i) / rate));
        }
        std::string value = "r" + std::to_string(i);
        if (value.size() < bytes) {
            value.resize(bytes, '.');
        }
        char tp[64];
        std::snprintf(tp, sizeof tp, "00-%032lx-%016lx-01", i + 1, i + 1);
        rd_kafka_headers_t* h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, "traceparent", -1, tp, -1);
        send(rk.get(), topic, static_cast<int>(i % parts), prefix + std::to_string(i), value, h);
        rd_kafka_poll(rk.get(), 0);
    }
    finish(rk.get());
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("{\"records\": %ld, \"seconds\": %.3f, \"records_per_second\": %.0f}\n", n, s,
                static_cast<double>(n) / s);
}

void produce_bad(const std::string& boot, const std::string& topic, std::size_t bytes) {
    auto rk = producer(boot);
    send(rk.get(), topic, 0, "big", std::string(bytes, 'x'), nullptr);
    rd_kafka_headers_t* h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "bad name\n", -1, "v", -1);
    send(rk.get(), topic, 0, "badname", "bad header name", h);
    h = rd_kafka_headers_new(65);
    for (int i = 0; i < 65; ++i) {
        const std::string name = "h" + std::to_string(i);
        rd_kafka_header_add(h, name.c_str(), -1, "v", -1);
    }
    send(rk.get(), topic, 0, "many", "too many headers", h);
    finish(rk.get());
}

void offsets(const std::string& boot, const std::string& group, const std::string& topic) {
    // read_uncommitted: the committed offsets now, without waiting for a
    // transaction still open with offsets of the group (a killed producer's).
    auto rk = client(RD_KAFKA_CONSUMER, boot,
                     {{"group.id", group}, {"isolation.level", "read_uncommitted"}});
    const int parts = partitions_of(rk.get(), topic);
    Own<rd_kafka_topic_partition_list_t> list(rd_kafka_topic_partition_list_new(parts));
    for (int p = 0; p < parts; ++p) {
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
    }
    if (rd_kafka_committed(rk.get(), list.get(), kTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        die("committed: no answer");
    }
    std::printf("[");
    for (int p = 0; p < parts; ++p) {
        int64_t low = 0;
        int64_t high = 0;
        if (rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &low, &high, kTimeoutMs) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            die("watermarks: no answer");
        }
        std::printf("%s{\"partition\": %d, \"committed\": %lld, \"end\": %lld}", p ? ", " : "", p,
                    static_cast<long long>(list->elems[p].offset), static_cast<long long>(high));
    }
    std::printf("]\n");
    rd_kafka_consumer_close(rk.get());
}

void group(const std::string& boot, const std::string& name) {
    auto rk = client(RD_KAFKA_PRODUCER, boot);
    const rd_kafka_group_list* list = nullptr;
    if (rd_kafka_list_groups(rk.get(), name.c_str(), &list, kTimeoutMs) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
        die("list groups: no answer");
    }
    const bool known = list->group_cnt > 0;
    std::printf("{\"state\": \"%s\", \"members\": %d}\n", known ? list->groups[0].state : "Unknown",
                known ? list->groups[0].member_cnt : 0);
    rd_kafka_group_list_destroy(list);
}

// Every record of `topic` up to its end offsets, to `each(message)`.
template <class Each>
void read_all(const std::string& boot, const std::string& topic, Each each) {
    auto rk = client(RD_KAFKA_CONSUMER, boot,
                     {{"group.id", "torvyn-kafka-tool"}, {"enable.auto.commit", "false"}});
    const int parts = partitions_of(rk.get(), topic);
    Own<rd_kafka_topic_partition_list_t> list(rd_kafka_topic_partition_list_new(parts));
    std::vector<int64_t> end(parts);
    int64_t left = 0;
    for (int p = 0; p < parts; ++p) {
        int64_t low = 0;
        if (rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &low, &end[p],
                                             kTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            die("watermarks: no answer");
        }
        left += end[p] - low;
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk.get(), list.get());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (left > 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            die("read: records missing before the end offsets of " + topic);
        }
        Own<rd_kafka_message_t> m(rd_kafka_consumer_poll(rk.get(), 500));
        if (!m || m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            continue;
        }
        if (m->offset < end[m->partition]) {
            each(*m);
            --left;
        }
    }
    rd_kafka_consumer_close(rk.get());
}

void visible(const std::string& boot, const std::string& topic, const std::string& isolation) {
    auto rk = client(RD_KAFKA_CONSUMER, boot,
                     {{"group.id", "torvyn-kafka-tool"},
                      {"enable.auto.commit", "false"},
                      {"enable.partition.eof", "true"},
                      {"isolation.level", isolation}});
    const int parts = partitions_of(rk.get(), topic);
    Own<rd_kafka_topic_partition_list_t> list(rd_kafka_topic_partition_list_new(parts));
    for (int p = 0; p < parts; ++p) {
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk.get(), list.get());
    std::vector<bool> at_end(parts, false);
    int ended = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (ended < parts) {
        if (std::chrono::steady_clock::now() > deadline) {
            die("visible: the end of " + topic + " not reached");
        }
        Own<rd_kafka_message_t> m(rd_kafka_consumer_poll(rk.get(), 500));
        if (!m) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (!at_end[m->partition]) {
                at_end[m->partition] = true;
                ++ended;
            }
            continue;
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            continue;
        }
        std::fwrite(m->payload, 1, m->len, stdout);
        std::fputc('\n', stdout);
    }
    rd_kafka_consumer_close(rk.get());
}

void values(const std::string& boot, const std::string& topic) {
    read_all(boot, topic, [](const rd_kafka_message_t& m) {
        std::fwrite(m.payload, 1, m.len, stdout);
        std::fputc('\n', stdout);
    });
}

std::string key_of(const rd_kafka_message_t& m) {
    return {static_cast<const char*>(m.key), m.key_len};
}

void records(const std::string& boot, const std::string& topic) {
    read_all(boot, topic, [](const rd_kafka_message_t& m) {
        rd_kafka_headers_t* h = nullptr;
        const void* tp = nullptr;
        std::size_t tp_size = 0;
        const bool traced =
            rd_kafka_message_headers(&m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(h, "traceparent", &tp, &tp_size) == RD_KAFKA_RESP_ERR_NO_ERROR;
        const std::string key = m.key != nullptr ? key_of(m) : "-";
        std::printf("%s %.*s %s\n", key.c_str(), static_cast<int>(m.len),
                    static_cast<const char*>(m.payload),
                    traced ? std::string(static_cast<const char*>(tp), tp_size).c_str() : "-");
    });
}

void latency(const std::string& boot, const std::string& in, const std::string& out,
             const std::string& prefix) {
    std::map<std::string, int64_t> sent;
    read_all(boot, in, [&](const rd_kafka_message_t& m) {
        if (key_of(m).starts_with(prefix)) {
            sent[key_of(m)] = rd_kafka_message_timestamp(&m, nullptr);
        }
    });
    std::vector<int64_t> ms;
    read_all(boot, out, [&](const rd_kafka_message_t& m) {
        const auto it = sent.find(key_of(m));
        if (it != sent.end()) {
            ms.push_back(rd_kafka_message_timestamp(&m, nullptr) - it->second);
            sent.erase(it);  // the first copy counts
        }
    });
    if (ms.empty()) {
        die("latency: no record of " + in + " with prefix " + prefix + " is in " + out);
    }
    std::sort(ms.begin(), ms.end());
    const auto at = [&](double q) {
        return ms[static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1))];
    };
    std::printf(
        "{\"records\": %zu, \"missing\": %zu, \"p50_ms\": %lld, \"p99_ms\": %lld, "
        "\"max_ms\": %lld}\n",
        ms.size(), sent.size(), static_cast<long long>(at(0.5)), static_cast<long long>(at(0.99)),
        static_cast<long long>(ms.back()));
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> a(argv + 1, argv + argc);
    if (a.size() >= 4 && a[1] == "create") {
        create(a[0], a[2], std::atoi(a[3].c_str()));
    } else if (a.size() >= 4 && a[1] == "produce") {
        produce(a[0], a[2], std::atol(a[3].c_str()),
                a.size() > 4 ? std::strtoul(a[4].c_str(), nullptr, 10) : 0,
                a.size() > 5 ? std::atof(a[5].c_str()) : 0, a.size() > 6 ? a[6] : "k");
    } else if (a.size() == 5 && a[1] == "latency") {
        latency(a[0], a[2], a[3], a[4]);
    } else if (a.size() == 4 && a[1] == "produce-bad") {
        produce_bad(a[0], a[2], std::strtoul(a[3].c_str(), nullptr, 10));
    } else if (a.size() == 4 && a[1] == "offsets") {
        offsets(a[0], a[2], a[3]);
    } else if (a.size() == 3 && a[1] == "records") {
        records(a[0], a[2]);
    } else if (a.size() == 4 && a[1] == "visible") {
        visible(a[0], a[2], a[3]);
    } else if (a.size() == 3 && a[1] == "values") {
        values(a[0], a[2]);
    } else if (a.size() == 3 && a[1] == "group") {
        group(a[0], a[2]);
    } else {
        std::fprintf(stderr, "usage: see the head of kafka_tool.cpp\n");
        return 2;
    }
    std::fflush(nullptr);
    std::_Exit(0);
}
