// What the NATS connector tests (nats.py) and the scale measurement
// (bench/connectors/nats_scale.py) do to a real nats-server besides running
// torvyn, on libnats:
//
//   nats_tool URL stream NAME SUBJECT            create a file-backed stream (idempotent)
//   nats_tool URL publish SUBJECT COUNT [SIZE] [FIRST] [HEADERS] [RATE]
//             COUNT messages "msg <i> t=<unix ns> " padded with '.' to SIZE
//             bytes (i from FIRST), each with a traceparent (trace id i+1)
//             and HEADERS extra headers; async (at most RATE a second when
//             given), every ack awaited; prints the rate
//   nats_tool URL consumer STREAM DURABLE         the consumer's state as JSON
//   nats_tool URL delete-consumer STREAM DURABLE
//   nats_tool URL count STREAM                    how many messages the stream holds
//   nats_tool URL dump STREAM                     every message as a JSON line:
//             seq, time (ns), subject, msg-id, payload
//   nats_tool URL consume STREAM DURABLE COUNT    a plain libnats durable pull consumer
//             (fetch 256, ack each) taking COUNT messages: the rate to compare with
//
// Exit status 1 with the reason on stderr when something fails.
#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "../brokers/check.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using torvyn::brokers_test::seconds_since;

std::string status_text(natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
    std::string text = natsStatus_GetText(s);
    if (jerr != 0) {
        text += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
    }
    const char* last = nats_GetLastError(nullptr);
    if (last != nullptr && *last != '\0') {
        text += ": " + std::string(last);
    }
    return text;
}

#define NATS_OK(call)                                       \
    do {                                                    \
        jsErrCode jerr = static_cast<jsErrCode>(0);         \
        natsStatus s_ = (call);                             \
        BROKER_CHECK(s_ == NATS_OK, status_text(s_, jerr)); \
    } while (0)

struct Session {
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
};

Session connect(const char* url) {
    Session s;
    NATS_OK(natsConnection_ConnectTo(&s.nc, url));
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 10000;
    NATS_OK(natsConnection_JetStream(&s.js, s.nc, &jo));
    return s;
}

std::int64_t unix_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string json_text(std::string_view in) {
    std::string out = "\"";
    for (const char c : in) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// The stream's first subject (the consumers here filter on it).
std::string subject_of(Session& s, const char* stream) {
    jsStreamInfo* si = nullptr;
    NATS_OK(js_GetStreamInfo(&si, s.js, stream, nullptr, &jerr));
    std::string subject = si->Config->SubjectsLen > 0 ? si->Config->Subjects[0] : ">";
    jsStreamInfo_Destroy(si);
    return subject;
}

void make_stream(Session& s, const char* name, const char* subject) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    const char* subjects[] = {subject};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo* si = nullptr;
    NATS_OK(js_AddStream(&si, s.js, &cfg, nullptr, &jerr));
    jsStreamInfo_Destroy(si);
}

void publish(Session& s, const char* subject, long count, long size, long first, long headers,
             long rate) {
    const auto start = Clock::now();
    for (long i = first; i < first + count; ++i) {
        if (rate > 0) {  // paced: message k leaves at k / rate seconds
            std::this_thread::sleep_until(
                start + std::chrono::microseconds((i - first) * 1'000'000 / rate));
        }
        std::string payload = "msg " + std::to_string(i) + " t=" + std::to_string(unix_ns()) + " ";
        if (static_cast<long>(payload.size()) < size) {
            payload.append(static_cast<std::size_t>(size) - payload.size(), '.');
        }
        natsMsg* m = nullptr;
        NATS_OK(
            natsMsg_Create(&m, subject, nullptr, payload.data(), static_cast<int>(payload.size())));
        // A W3C context per message (trace id i+1): the sink must forward it.
        char trace[64];
        std::snprintf(trace, sizeof trace, "00-%016x%016lx-%016lx-01", 0U,
                      static_cast<unsigned long>(i + 1), static_cast<unsigned long>(i + 1));
        NATS_OK(natsMsgHeader_Set(m, "traceparent", trace));
        for (long h = 0; h < headers; ++h) {
            NATS_OK(natsMsgHeader_Add(m, ("X-Extra-" + std::to_string(h)).c_str(), "v"));
        }
        natsStatus st = js_PublishMsgAsync(s.js, &m, nullptr);
        natsMsg_Destroy(m);
        BROKER_CHECK(st == NATS_OK, status_text(st));
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 30000;
    NATS_OK(js_PublishAsyncComplete(s.js, &po));
    const double took = seconds_since(start);
    std::printf("{\"published\": %ld, \"seconds\": %.3f, \"per_second\": %.0f}\n", count, took,
                static_cast<double>(count) / took);
}

void consumer(Session& s, const char* stream, const char* durable) {
    jsConsumerInfo* ci = nullptr;
    NATS_OK(js_GetConsumerInfo(&ci, s.js, stream, durable, nullptr, &jerr));
    std::printf(
        "{\"num_ack_pending\": %lld, \"num_redelivered\": %lld, \"num_pending\": %llu, "
        "\"ack_floor_stream\": %llu, \"delivered_stream\": %llu, \"num_waiting\": %lld}\n",
        static_cast<long long>(ci->NumAckPending), static_cast<long long>(ci->NumRedelivered),
        static_cast<unsigned long long>(ci->NumPending),
        static_cast<unsigned long long>(ci->AckFloor.Stream),
        static_cast<unsigned long long>(ci->Delivered.Stream),
        static_cast<long long>(ci->NumWaiting));
    jsConsumerInfo_Destroy(ci);
}

void count(Session& s, const char* stream) {
    jsStreamInfo* si = nullptr;
    NATS_OK(js_GetStreamInfo(&si, s.js, stream, nullptr, &jerr));
    std::printf("%llu\n", static_cast<unsigned long long>(si->State.Msgs));
    jsStreamInfo_Destroy(si);
}

void delete_consumer(Session& s, const char* stream, const char* durable) {
    NATS_OK(js_DeleteConsumer(s.js, stream, durable, nullptr, &jerr));
}

void dump(Session& s, const char* stream) {
    jsStreamInfo* si = nullptr;
    NATS_OK(js_GetStreamInfo(&si, s.js, stream, nullptr, &jerr));
    const std::uint64_t total = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    if (total == 0) {
        return;
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Config.AckPolicy = js_AckNone;
    so.Config.DeliverPolicy = js_DeliverAll;
    natsSubscription* sub = nullptr;
    NATS_OK(
        js_PullSubscribe(&sub, s.js, subject_of(s, stream).c_str(), nullptr, nullptr, &so, &jerr));
    std::uint64_t seen = 0;
    while (seen < total) {
        natsMsgList list{};
        jsErrCode fetch_err = static_cast<jsErrCode>(0);
        const natsStatus st = natsSubscription_Fetch(&list, sub, 1024, 5000, &fetch_err);
        BROKER_CHECK(st == NATS_OK, "dump fetch: " + status_text(st, fetch_err));
        for (int i = 0; i < list.Count; ++i) {
            natsMsg* m = list.Msgs[i];
            jsMsgMetaData* meta = nullptr;
            NATS_OK(natsMsg_GetMetaData(&meta, m));
            const char* id = nullptr;
            if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) != NATS_OK) {
                id = "";
            }
            const char* trace = nullptr;
            if (natsMsgHeader_Get(m, "traceparent", &trace) != NATS_OK) {
                trace = "";
            }
            std::printf(
                "{\"seq\": %llu, \"time\": %lld, \"subject\": %s, \"id\": %s, "
                "\"traceparent\": %s, \"payload\": %s}\n",
                static_cast<unsigned long long>(meta->Sequence.Stream),
                static_cast<long long>(meta->Timestamp), json_text(natsMsg_GetSubject(m)).c_str(),
                json_text(id).c_str(), json_text(trace).c_str(),
                json_text({natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))})
                    .c_str());
            jsMsgMetaData_Destroy(meta);
        }
        seen += static_cast<std::uint64_t>(list.Count);
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
}

void consume(Session& s, const char* stream, const char* durable, long count) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Config.AckPolicy = js_AckExplicit;
    natsSubscription* sub = nullptr;
    NATS_OK(
        js_PullSubscribe(&sub, s.js, subject_of(s, stream).c_str(), durable, nullptr, &so, &jerr));
    const auto start = Clock::now();
    long got = 0;
    while (got < count) {
        natsMsgList list{};
        jsErrCode fetch_err = static_cast<jsErrCode>(0);
        const natsStatus st = natsSubscription_Fetch(&list, sub, 256, 5000, &fetch_err);
        BROKER_CHECK(st == NATS_OK, "consume fetch: " + status_text(st, fetch_err));
        for (int i = 0; i < list.Count; ++i) {
            NATS_OK(natsMsg_Ack(list.Msgs[i], nullptr));
        }
        got += list.Count;
        natsMsgList_Destroy(&list);
    }
    NATS_OK(natsConnection_FlushTimeout(s.nc, 5000));
    const double took = seconds_since(start);
    std::printf("{\"consumed\": %ld, \"seconds\": %.3f, \"per_second\": %.0f}\n", got, took,
                static_cast<double>(got) / took);
    natsSubscription_Destroy(sub);
}

long number(const char* text) {
    char* end = nullptr;
    const long v = std::strtol(text, &end, 10);
    BROKER_CHECK(end != text && *end == '\0' && v >= 0, std::string("not a number: ") + text);
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: nats_tool URL stream|publish|consumer|delete-consumer|dump|"
                     "consume ARGS... (see the file's head)\n");
        return 2;
    }
    const std::string_view verb = argv[2];
    Session s = connect(argv[1]);
    if (verb == "stream" && argc == 5) {
        make_stream(s, argv[3], argv[4]);
    } else if (verb == "publish" && argc >= 5 && argc <= 9) {
        publish(s, argv[3], number(argv[4]), argc > 5 ? number(argv[5]) : 0,
                argc > 6 ? number(argv[6]) : 0, argc > 7 ? number(argv[7]) : 0,
                argc > 8 ? number(argv[8]) : 0);
    } else if (verb == "consumer" && argc == 5) {
        consumer(s, argv[3], argv[4]);
    } else if (verb == "delete-consumer" && argc == 5) {
        delete_consumer(s, argv[3], argv[4]);
    } else if (verb == "count" && argc == 4) {
        count(s, argv[3]);
    } else if (verb == "dump" && argc == 4) {
        dump(s, argv[3]);
    } else if (verb == "consume" && argc == 6) {
        consume(s, argv[3], argv[4], number(argv[5]));
    } else {
        std::fprintf(stderr, "nats_tool: bad arguments for '%s'\n", argv[2]);
        return 2;
    }
    std::fflush(stdout);
    std::_Exit(0);  // the client's threads are still running: no static teardown under them
}
