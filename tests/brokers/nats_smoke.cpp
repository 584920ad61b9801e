// NATS JetStream through libnats (the C client the connectors use), against
// a real nats-server that smoke.py started (tests/brokers/nats.py).
//
//   nats_smoke URL run            stream, de-duplicated publishes, a durable
//                                 pull consumer with explicit acks, and the
//                                 redelivery of an un-acked message
//   nats_smoke URL after-restart  the broker was restarted: the stream, the
//                                 consumer's acks and the de-duplication
//                                 window are still there
#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "check.hpp"

namespace {

using torvyn::brokers_test::seconds_since;
using Clock = std::chrono::steady_clock;

constexpr const char* kStream = "TORVYN_SMOKE";
constexpr const char* kSubject = "smoke.events";
constexpr const char* kDurable = "smoke-durable";
constexpr int kMessages = 100;
constexpr int kRepublished = 10;
constexpr uint64_t kUnacked = 7;  // the stream sequence left un-acked once
constexpr int64_t kAckWaitNs = 1'000'000'000;

std::string status_text(natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
    std::string text = natsStatus_GetText(s);
    if (jerr != 0)
        text += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
    const char* last = nats_GetLastError(nullptr);
    if (last != nullptr && *last != '\0')
        text += ": " + std::string(last);
    return text;
}

#define NATS_OK(call)                                        \
    do {                                                     \
        jsErrCode jerr_ = static_cast<jsErrCode>(0);         \
        natsStatus s_ = (call);                              \
        BROKER_CHECK(s_ == NATS_OK, status_text(s_, jerr_)); \
    } while (0)

struct Deleter {
    void operator()(natsConnection* p) const { natsConnection_Destroy(p); }
    void operator()(jsCtx* p) const { jsCtx_Destroy(p); }
    void operator()(natsSubscription* p) const { natsSubscription_Destroy(p); }
    void operator()(natsMsg* p) const { natsMsg_Destroy(p); }
    void operator()(jsPubAck* p) const { jsPubAck_Destroy(p); }
    void operator()(jsStreamInfo* p) const { jsStreamInfo_Destroy(p); }
    void operator()(jsConsumerInfo* p) const { jsConsumerInfo_Destroy(p); }
    void operator()(jsMsgMetaData* p) const { jsMsgMetaData_Destroy(p); }
};
template <class T>
using Own = std::unique_ptr<T, Deleter>;

struct Session {
    Own<natsConnection> nc;
    Own<jsCtx> js;
};

Session connect(const char* url) {
    Session s;
    natsConnection* nc = nullptr;
    NATS_OK(natsConnection_ConnectTo(&nc, url));
    s.nc.reset(nc);
    jsCtx* js = nullptr;
    NATS_OK(natsConnection_JetStream(&js, nc, nullptr));
    s.js.reset(js);
    return s;
}

std::string msg_id(int i) {
    return "smoke-" + std::to_string(i);
}

// Publishes one message with a Nats-Msg-Id; returns the broker's ack.
Own<jsPubAck> publish(jsCtx* js, int i, const std::string& id) {
    natsMsg* raw = nullptr;
    const std::string payload = "payload " + std::to_string(i);
    NATS_OK(
        natsMsg_Create(&raw, kSubject, nullptr, payload.data(), static_cast<int>(payload.size())));
    Own<natsMsg> msg(raw);
    NATS_OK(natsMsgHeader_Set(msg.get(), "Nats-Msg-Id", id.c_str()));
    jsPubAck* pa = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_PublishMsg(&pa, js, msg.get(), nullptr, &jerr);
    BROKER_CHECK(s == NATS_OK, "publish " + id + ": " + status_text(s, jerr));
    return Own<jsPubAck>(pa);
}

Own<jsStreamInfo> stream_info(jsCtx* js) {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&si, js, kStream, nullptr, &jerr);
    BROKER_CHECK(s == NATS_OK, status_text(s, jerr));
    return Own<jsStreamInfo>(si);
}

Own<jsConsumerInfo> consumer_info(jsCtx* js) {
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetConsumerInfo(&ci, js, kStream, kDurable, nullptr, &jerr);
    BROKER_CHECK(s == NATS_OK, status_text(s, jerr));
    return Own<jsConsumerInfo>(ci);
}

Own<natsSubscription> pull_subscribe(jsCtx* js) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = kStream;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = kAckWaitNs;
    so.Config.MaxDeliver = -1;
    natsSubscription* sub = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_PullSubscribe(&sub, js, kSubject, kDurable, nullptr, &so, &jerr);
    BROKER_CHECK(s == NATS_OK, "pull subscribe: " + status_text(s, jerr));
    return Own<natsSubscription>(sub);
}

struct Meta {
    uint64_t stream_seq;
    uint64_t delivered;
    std::string id;
};

Meta meta_of(natsMsg* m) {
    jsMsgMetaData* raw = nullptr;
    NATS_OK(natsMsg_GetMetaData(&raw, m));
    Own<jsMsgMetaData> meta(raw);
    const char* id = nullptr;
    NATS_OK(natsMsgHeader_Get(m, "Nats-Msg-Id", &id));
    return {meta->Sequence.Stream, meta->NumDelivered, id};
}

void ack(natsMsg* m) {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = natsMsg_AckSync(m, nullptr, &jerr);
    BROKER_CHECK(s == NATS_OK, "ack: " + status_text(s, jerr));
}

// Fetches up to batch messages within timeout_ms; an empty list on timeout.
natsMsgList fetch(natsSubscription* sub, int batch, int64_t timeout_ms) {
    natsMsgList list{};
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = natsSubscription_Fetch(&list, sub, batch, timeout_ms, &jerr);
    BROKER_CHECK(s == NATS_OK || s == NATS_TIMEOUT, "fetch: " + status_text(s, jerr));
    return list;
}

void run(const char* url) {
    Session ses = connect(url);
    jsCtx* js = ses.js.get();

    // A file-backed stream with a two-minute de-duplication window.
    const char* subjects[] = {kSubject};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = kStream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = 120LL * 1'000'000'000;
    {
        jsStreamInfo* si = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        natsStatus s = js_AddStream(&si, js, &cfg, nullptr, &jerr);
        BROKER_CHECK(s == NATS_OK, "add stream: " + status_text(s, jerr));
        jsStreamInfo_Destroy(si);
    }

    // N publishes, each stored once, in order.
    for (int i = 0; i < kMessages; ++i) {
        auto pa = publish(js, i, msg_id(i));
        BROKER_CHECK(!pa->Duplicate, msg_id(i) + " reported as a duplicate on its first publish");
        BROKER_CHECK(pa->Sequence == static_cast<uint64_t>(i + 1),
                     msg_id(i) + " stored at sequence " + std::to_string(pa->Sequence));
    }
    // Re-published ids (a retried publish): acknowledged as duplicates, at
    // their first sequence, and not stored again.
    for (int i = 0; i < kRepublished; ++i) {
        auto pa = publish(js, i, msg_id(i));
        BROKER_CHECK(pa->Duplicate, msg_id(i) + " re-published but not reported as a duplicate");
        BROKER_CHECK(
            pa->Sequence == static_cast<uint64_t>(i + 1),
            "duplicate of " + msg_id(i) + " acknowledged at " + std::to_string(pa->Sequence));
    }
    BROKER_CHECK(stream_info(js)->State.Msgs == kMessages,
                 "the stream holds " + std::to_string(stream_info(js)->State.Msgs) + " messages");

    // A durable pull consumer with explicit acks: every message once, in
    // order; all acked except one.
    auto sub = pull_subscribe(js);
    std::set<std::string> seen;
    uint64_t next_seq = 1;
    natsMsg* unacked = nullptr;
    natsMsgList kept{};
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (seen.size() < kMessages) {
        BROKER_CHECK(Clock::now() < deadline,
                     "only " + std::to_string(seen.size()) + " messages pulled");
        natsMsgList list = fetch(sub.get(), 32, 2000);
        for (int k = 0; k < list.Count; ++k) {
            natsMsg* m = list.Msgs[k];
            Meta meta = meta_of(m);
            BROKER_CHECK(meta.stream_seq == next_seq, "pulled sequence " +
                                                          std::to_string(meta.stream_seq) +
                                                          ", expected " + std::to_string(next_seq));
            BROKER_CHECK(meta.delivered == 1,
                         "first delivery counted " + std::to_string(meta.delivered));
            BROKER_CHECK(meta.id == msg_id(static_cast<int>(next_seq - 1)), "id " + meta.id);
            BROKER_CHECK(seen.insert(meta.id).second, "pulled twice: " + meta.id);
            ++next_seq;
            if (meta.stream_seq == kUnacked) {
                unacked = m;  // processing "failed": no ack
            } else {
                ack(m);
            }
        }
        if (unacked != nullptr && kept.Count == 0) {
            kept = list;  // keep the list (and so the un-acked message) alive
        } else {
            natsMsgList_Destroy(&list);
        }
    }
    BROKER_CHECK(unacked != nullptr, "message " + std::to_string(kUnacked) + " never pulled");

    // After the ack wait, the un-acked message comes again, and only it.
    const auto before = Clock::now();
    natsMsgList again = fetch(sub.get(), 10, 5000);
    const double waited = seconds_since(before);
    BROKER_CHECK(again.Count == 1,
                 std::to_string(again.Count) + " messages redelivered, expected 1");
    Meta meta = meta_of(again.Msgs[0]);
    BROKER_CHECK(meta.stream_seq == kUnacked, "redelivered " + std::to_string(meta.stream_seq));
    BROKER_CHECK(meta.delivered == 2, "redelivery counted " + std::to_string(meta.delivered));
    BROKER_CHECK(meta.id == msg_id(static_cast<int>(kUnacked - 1)), "redelivered id " + meta.id);
    ack(again.Msgs[0]);
    natsMsgList_Destroy(&again);
    natsMsgList_Destroy(&kept);

    // Acked means done: nothing more after another ack wait.
    natsMsgList none = fetch(sub.get(), 10, 2 * kAckWaitNs / 1'000'000);
    BROKER_CHECK(none.Count == 0,
                 std::to_string(none.Count) + " messages redelivered after their ack");
    natsMsgList_Destroy(&none);
    auto ci = consumer_info(js);
    BROKER_CHECK(ci->NumAckPending == 0, std::to_string(ci->NumAckPending) + " acks pending");
    BROKER_CHECK(ci->NumPending == 0, std::to_string(ci->NumPending) + " messages pending");
    BROKER_CHECK(ci->AckFloor.Stream == kMessages,
                 "ack floor " + std::to_string(ci->AckFloor.Stream));
    std::printf("nats: %d stored, %d duplicates refused, message %llu redelivered after %.2f s\n",
                kMessages, kRepublished, static_cast<unsigned long long>(kUnacked), waited);
}

void after_restart(const char* url) {
    Session ses = connect(url);
    jsCtx* js = ses.js.get();
    BROKER_CHECK(stream_info(js)->State.Msgs == kMessages,
                 "the stream lost messages in the restart");
    auto ci = consumer_info(js);
    BROKER_CHECK(ci->AckFloor.Stream == kMessages,
                 "acks lost in the restart: ack floor " + std::to_string(ci->AckFloor.Stream));
    BROKER_CHECK(ci->NumPending == 0 && ci->NumAckPending == 0, "the consumer has work again");
    // The de-duplication window survived too.
    auto dup = publish(js, 0, msg_id(0));
    BROKER_CHECK(dup->Duplicate && dup->Sequence == 1,
                 "a re-published id stored after the restart");
    auto fresh = publish(js, kMessages, msg_id(kMessages));
    BROKER_CHECK(!fresh->Duplicate && fresh->Sequence == kMessages + 1,
                 "a new message stored at " + std::to_string(fresh->Sequence));
    // The durable consumer resumes at the new message, exactly.
    auto sub = pull_subscribe(js);
    natsMsgList list = fetch(sub.get(), 10, 5000);
    BROKER_CHECK(list.Count == 1,
                 std::to_string(list.Count) + " messages after the restart, expected 1");
    Meta meta = meta_of(list.Msgs[0]);
    BROKER_CHECK(meta.stream_seq == kMessages + 1 && meta.delivered == 1,
                 "resumed at " + std::to_string(meta.stream_seq));
    ack(list.Msgs[0]);
    natsMsgList_Destroy(&list);
    std::printf("nats: after the restart, %d messages, acks and the duplicate window kept\n",
                kMessages);
}

}  // namespace

int main(int argc, char** argv) {
    const int rc = torvyn::brokers_test::run_phase(argc, argv, "nats_smoke", run, after_restart);
    nats_Close();
    return rc;
}
