// The NATS JetStream source: a durable pull consumer with explicit acks.
// Several Torvyn processes naming the same durable share its messages (a
// work queue). A fetch thread long-polls the server for no more messages
// than the flow last said it has room for, into a small local buffer, and
// wakes the flow; the driver thread turns them into elements and, once
// each element's every path has ended (Stage::settled), acks it, or naks
// it so that it comes again. Only the ack subject of a message in flight is
// kept: its bytes are the element's buffer.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "nats.hpp"
#include "nats_link.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn::connectors {
namespace {

using namespace nats;
using std::chrono::milliseconds;

struct SourceOptions {
    std::string url;
    std::string stream;
    std::string subject;  // the consumer's filter; empty: the whole stream
    std::string durable;
    milliseconds ack_wait{30'000};
    bool ack_wait_given = false;
    std::int64_t max_deliver = -1;  // -1: no limit
    bool max_deliver_given = false;
    std::size_t fetch = 128;
    std::uint64_t max_message = limits::kDefaultConnectorElementBytes;
    bool create = false;
    std::uint64_t max_messages = 0;   // 0: endless
    milliseconds stop_after_idle{0};  // 0: never
};

SourceOptions read_source(const NodeSpec& node, std::vector<Error>& errors) {
    SettingsReader r(node, errors);
    SourceOptions o;
    o.url = read_url(r);
    o.stream = read_name(r, "stream", true);
    o.subject = r.text("subject", "");
    o.durable = read_name(r, "durable", true);
    o.ack_wait_given = r.has("ack-wait");
    o.ack_wait = r.duration("ack-wait", o.ack_wait, std::chrono::hours(12));
    o.max_deliver_given = r.has("max-deliver");
    o.max_deliver = r.integer("max-deliver", o.max_deliver, -1, 1'000'000);
    if (o.max_deliver == 0) {
        r.error(ErrorCode::connector_setting, r.place("max-deliver"),
                fmt::format("'max-deliver' of {} cannot be 0", r.what()),
                "-1 for no limit, or at least 1");
    }
    o.fetch = static_cast<std::size_t>(r.integer("fetch", 128, 1, limits::kMaxNatsFetch));
    o.max_message = r.size("max-message-bytes", o.max_message, limits::kMaxConnectorElementBytes);
    o.create = r.boolean("create", false);
    o.max_messages = static_cast<std::uint64_t>(r.integer("max-messages", 0, 0, INT64_MAX));
    o.stop_after_idle = r.has("stop-after-idle") ? r.duration("stop-after-idle", o.stop_after_idle,
                                                              std::chrono::hours(24))
                                                 : milliseconds(0);
    r.not_for_role("publish-timeout", "only a sink publishes");
    r.finish();
    return o;
}

Result<SourceOptions> source_options(const NodeSpec& node) {
    return read_checked([&](std::vector<Error>& errors) { return read_source(node, errors); });
}

std::string client_name(const FlowSpec* flow, const NodeSpec& node) {
    return fmt::format("torvyn {}/{}", flow != nullptr ? flow->name : "-", node.name);
}

// The durable consumer: its info, or nothing when it does not exist (an
// error when the server cannot say).
Result<Own<jsConsumerInfo>> consumer_info(jsCtx* js, const SourceOptions& o, std::string_view node,
                                          bool& missing) {
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s =
        js_GetConsumerInfo(&ci, js, o.stream.c_str(), o.durable.c_str(), nullptr, &jerr);
    missing = s != NATS_OK && (jerr == JSConsumerNotFoundErr || s == NATS_NOT_FOUND);
    if (s == NATS_OK || missing) {
        return Own<jsConsumerInfo>(ci);
    }
    return unavailable(node, fmt::format("cannot read consumer '{}' of stream '{}': {}", o.durable,
                                         o.stream, status_text(s, jerr)));
}

// A consumer someone else made must be one this source can use as set.
std::optional<Error> mismatch(const jsConsumerConfig& c, const SourceOptions& o,
                              std::string_view node) {
    const auto differs = [&](std::string what, std::string has, std::string wants) {
        return unavailable(node,
                           fmt::format("consumer '{}' of stream '{}' has {} {}; the node says {}",
                                       o.durable, o.stream, what, has, wants),
                           "make the node match it, or delete the consumer (nats consumer rm) "
                           "and let create = true make it again");
    };
    if (c.DeliverSubject != nullptr && *c.DeliverSubject != '\0') {
        return differs("a deliver subject", c.DeliverSubject, "a pull consumer");
    }
    if (c.AckPolicy != js_AckExplicit) {
        return differs("an ack policy other than", "explicit", "explicit acks");
    }
    const std::string filter = c.FilterSubject != nullptr ? c.FilterSubject : "";
    if (!o.subject.empty() && filter != o.subject) {
        return differs("filter subject", filter.empty() ? "(none)" : filter, o.subject);
    }
    if (o.ack_wait_given && c.AckWait != o.ack_wait.count() * 1'000'000) {
        return differs("ack-wait", fmt::format("{}ms", c.AckWait / 1'000'000),
                       fmt::format("{}ms", o.ack_wait.count()));
    }
    if (o.max_deliver_given && c.MaxDeliver != o.max_deliver) {
        return differs("max-deliver", std::to_string(c.MaxDeliver), std::to_string(o.max_deliver));
    }
    return std::nullopt;
}

// The stream and the durable consumer, made when missing and create = true.
Result<Own<jsConsumerInfo>> ensure_consumer(jsCtx* js, const SourceOptions& o,
                                            std::string_view node) {
    auto stream = stream_info(js, o.stream, node);
    if (!stream && o.create) {
        stream =
            create_stream(js, o.stream, {o.subject.empty() ? o.stream + ".>" : o.subject}, node);
    }
    if (!stream) {
        return std::move(stream).error();
    }
    bool missing = false;
    auto info = consumer_info(js, o, node, missing);
    if (!info) {
        return info;
    }
    if (!missing) {
        if (auto bad = mismatch(*info.value()->Config, o, node)) {
            return std::move(*bad);
        }
        return info;
    }
    if (!o.create) {
        return unavailable(node,
                           fmt::format("stream '{}' has no consumer '{}'", o.stream, o.durable),
                           "create it (nats consumer add --pull --ack explicit), or set create = "
                           "true on the node");
    }
    jsConsumerConfig cfg;
    jsConsumerConfig_Init(&cfg);
    cfg.Durable = o.durable.c_str();
    cfg.AckPolicy = js_AckExplicit;
    cfg.AckWait = o.ack_wait.count() * 1'000'000;
    cfg.MaxDeliver = o.max_deliver;
    cfg.FilterSubject = o.subject.empty() ? nullptr : o.subject.c_str();
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_AddConsumer(&ci, js, o.stream.c_str(), &cfg, nullptr, &jerr);
    if (s != NATS_OK) {
        // Another node of the work queue may have made it first.
        auto again = consumer_info(js, o, node, missing);
        if (again && !missing) {
            return again;
        }
        return unavailable(node, fmt::format("cannot create consumer '{}' of stream '{}': {}",
                                             o.durable, o.stream, status_text(s, jerr)));
    }
    return Own<jsConsumerInfo>(ci);
}

// A fetched message the flow has not taken yet.
struct Fetched {
    Own<natsMsg> msg;
};

class NatsSource final : public Stage {
public:
    NatsSource(StageSlot& slot, SourceOptions o)
        : host_(slot.host),
          waker_(slot.waker),
          o_(std::move(o)),
          node_(slot.node.name),
          name_(client_name(&slot.flow, slot.node)) {}
    ~NatsSource() override { close(); }

    CallResult init(std::string_view) override {
        auto link = connect({o_.url, name_, nullptr, nullptr, milliseconds(5000)}, &health_);
        if (!link) {
            return failure(ErrorCode::connector_unavailable, GuestErrorKind::fatal,
                           link.error().message);
        }
        link_ = std::move(link).value();
        auto info = ensure_consumer(link_.js.get(), o_, node_);
        if (!info) {
            return failure(ErrorCode::connector_unavailable, GuestErrorKind::fatal,
                           info.error().message + "; " + info.error().hint);
        }
        const jsConsumerConfig& c = *info.value()->Config;
        filter_ = c.FilterSubject != nullptr && *c.FilterSubject != '\0' ? c.FilterSubject
                                                                         : o_.stream + ".>";
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = o_.stream.c_str();
        so.Consumer = o_.durable.c_str();
        natsSubscription* sub = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        const natsStatus s = js_PullSubscribe(&sub, link_.js.get(), filter_.c_str(),
                                              o_.durable.c_str(), nullptr, &so, &jerr);
        if (s != NATS_OK) {
            return failure(ErrorCode::connector_unavailable, GuestErrorKind::fatal,
                           fmt::format("cannot pull from consumer '{}' of stream '{}': {}",
                                       o_.durable, o_.stream, status_text(s, jerr)));
        }
        sub_.reset(sub);
        last_activity_ms_ = steady_ms();
        fetcher_ = std::thread([this] { fetch_loop(); });
        return {};
    }

    [[nodiscard]] std::size_t batch_limit() const override { return limits::kMaxBatch; }

    CallResult pull(Produced& out) override {
        std::vector<Produced> one;
        const CallResult r = pull_batch(1, one);
        out = one.empty() ? Produced{} : std::move(one.front());
        return r;
    }

    CallResult pull_batch(std::size_t max, std::vector<Produced>& out) override {
        if (o_.max_messages != 0 && emitted_ >= o_.max_messages) {
            out.emplace_back();  // exhausted
            return {};
        }
        if (o_.max_messages != 0) {
            max = std::min<std::uint64_t>(max, o_.max_messages - emitted_);
        }
        std::vector<Fetched> taken;
        Fetched bad;
        Bad why;
        take(max, taken, bad, why);
        for (Fetched& f : taken) {
            out.push_back(element(*f.msg));
        }
        if (bad.msg) {
            reply(*bad.msg, "+TERM");  // it would never fit: no redelivery
            ++(why.code == ErrorCode::nats_bad_record ? bad_headers_ : oversized_);
            return failure(why.code, GuestErrorKind::invalid_input, std::move(why.why));
        }
        if (out.size() < max) {
            Produced& last = out.emplace_back();
            if (idle_too_long()) {
                return {};  // not present, not pending: exhausted
            }
            last.pending = true;
            // Woken by the fetch thread; asked again now and then to see the idle clock.
            last.retry_after = o_.stop_after_idle.count() > 0 ? milliseconds(100) : milliseconds(0);
        }
        return {};
    }

    // Downstream is pressured, or has room again: nothing to do here, as the
    // flow's pulls give the fetch thread its window (at most `fetch` ahead).
    CallResult notify(bool /*pause*/) override { return {}; }

    void settled(std::span<const Settlement> outcomes) override {
        for (const Settlement& s : outcomes) {
            const auto it = in_flight_.find(s.token);
            if (it == in_flight_.end()) {
                continue;
            }
            if (publish_reply(it->second, s.delivered ? "+ACK" : "-NAK")) {
                ++(s.delivered ? acked_ : nacked_);
            }
            in_flight_.erase(it);
        }
    }

    CallResult teardown() override {
        stop_fetching();
        // Fetched but never taken, or taken and never settled (the run
        // stopped with them in flight): they come again at once.
        for (Fetched& f : buffer_) {
            reply(*f.msg, "-NAK");
            ++nacked_;
        }
        buffer_.clear();
        for (const auto& [token, subject] : in_flight_) {
            if (publish_reply(subject, "-NAK")) {
                ++nacked_;
            }
        }
        in_flight_.clear();
        if (link_.nc) {
            natsConnection_FlushTimeout(link_.nc.get(), 2000);
        }
        return {};
    }

    void close() override {
        stop_fetching();
        buffer_.clear();
        sub_.reset();
        link_.js.reset();
        link_.nc.reset();
    }

    void counters(std::vector<std::pair<std::string_view, std::uint64_t>>& out) const override {
        out.emplace_back("fetched", fetched_.load(std::memory_order_relaxed));
        out.emplace_back("acked", acked_.load(std::memory_order_relaxed));
        out.emplace_back("nacked", nacked_.load(std::memory_order_relaxed));
        out.emplace_back("redelivered", redelivered_.load(std::memory_order_relaxed));
        out.emplace_back("oversized", oversized_.load(std::memory_order_relaxed));
        out.emplace_back("bad-headers", bad_headers_.load(std::memory_order_relaxed));
        out.emplace_back("reconnects", health_.reconnects.load(std::memory_order_relaxed));
        out.emplace_back("disconnected-ms", health_.outage_ms());
    }

private:
    // --- the fetch thread --------------------------------------------------

    void fetch_loop() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            room_.wait(lock, [&] { return stopping_ || wanted_ > 0; });
            if (stopping_) {
                break;
            }
            const int batch = static_cast<int>(std::min<std::size_t>(wanted_, o_.fetch));
            lock.unlock();
            natsMsgList list{};
            jsErrCode jerr = static_cast<jsErrCode>(0);
            const natsStatus s = natsSubscription_Fetch(&list, sub_.get(), batch,
                                                        limits::kNatsFetchWait.count(), &jerr);
            lock.lock();
            if (s == NATS_OK && list.Count > 0) {
                for (int i = 0; i < list.Count; ++i) {
                    buffer_.push_back({Own<natsMsg>(list.Msgs[i])});
                    list.Msgs[i] = nullptr;
                }
                const auto got = static_cast<std::size_t>(list.Count);
                wanted_ -= std::min(wanted_, got);
                fetched_ += got;
                last_activity_ms_ = steady_ms();
                natsMsgList_Destroy(&list);
                lock.unlock();
                waker_.wake();  // never under our lock: the waker is the flow's lock
                lock.lock();
                continue;
            }
            natsMsgList_Destroy(&list);
            if (s != NATS_OK && s != NATS_TIMEOUT) {
                // The server is away (or refused): the connection reconnects
                // on its own; ask again a little later, never spinning.
                room_.wait_for(lock, milliseconds(100), [&] { return stopping_; });
            }
        }
    }

    void stop_fetching() {
        {
            const std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        room_.notify_all();
        if (fetcher_.joinable()) {
            fetcher_.join();
        }
    }

    // --- the driver thread -------------------------------------------------

    // Why a message cannot become an element.
    struct Bad {
        ErrorCode code = ErrorCode::connector_oversized;
        std::string why;  // empty: it can
    };

    // Takes up to `max` messages; a bad one (oversized, headers over the
    // limits) is taken alone, into `bad`. Then lets the fetch thread fill the
    // buffer up to `fetch` again: the flow asked, so it has room; when it
    // stops asking (backpressure) at most `fetch` messages wait here.
    void take(std::size_t max, std::vector<Fetched>& taken, Fetched& bad, Bad& why) {
        {
            const std::lock_guard lock(mutex_);
            while (!buffer_.empty() && taken.size() < max) {
                Bad b = check(*buffer_.front().msg);
                if (!b.why.empty()) {
                    if (taken.empty()) {
                        bad = std::move(buffer_.front());
                        buffer_.pop_front();
                        why = std::move(b);
                    }
                    break;
                }
                taken.push_back(std::move(buffer_.front()));
                buffer_.pop_front();
            }
            std::uint64_t window = o_.fetch;
            if (o_.max_messages != 0) {
                const std::uint64_t left = o_.max_messages - emitted_ - taken.size();
                window = std::min(window, left);
            }
            wanted_ = window > buffer_.size() ? window - buffer_.size() : 0;
        }
        room_.notify_all();
    }

    Bad check(natsMsg& m) {
        const auto size = static_cast<std::uint64_t>(natsMsg_GetDataLength(&m));
        if (size > o_.max_message) {
            return {ErrorCode::connector_oversized,
                    fmt::format("message {} of stream '{}' has {} bytes, more than "
                                "max-message-bytes = {}; it was terminated (+TERM)",
                                stream_seq(m), o_.stream, size, o_.max_message)};
        }
        const char** keys = nullptr;
        int count = 0;
        if (natsMsgHeader_Keys(&m, &keys, &count) != NATS_OK) {
            return {};
        }
        std::size_t values = 0;
        std::size_t bytes = 0;
        for (int i = 0; i < count; ++i) {
            const char** vs = nullptr;
            int n = 0;
            if (natsMsgHeader_Values(&m, keys[i], &vs, &n) == NATS_OK) {
                values += static_cast<std::size_t>(n);
                for (int j = 0; j < n; ++j) {
                    bytes += std::strlen(keys[i]) + std::strlen(vs[j]);
                }
                free(static_cast<void*>(vs));
            }
        }
        free(static_cast<void*>(keys));
        if (values > limits::kMaxConnectorHeaders || bytes > limits::kMaxConnectorHeaderBytes) {
            return {ErrorCode::nats_bad_record,
                    fmt::format("message {} of stream '{}' has {} header values of {} bytes, "
                                "more than the {} values or {} bytes an element carries; it was "
                                "terminated (+TERM)",
                                stream_seq(m), o_.stream, values, bytes,
                                limits::kMaxConnectorHeaders, limits::kMaxConnectorHeaderBytes)};
        }
        return {};
    }

    static std::uint64_t stream_seq(natsMsg& m) {
        jsMsgMetaData* raw = nullptr;
        if (natsMsg_GetMetaData(&raw, &m) != NATS_OK) {
            return 0;
        }
        const Own<jsMsgMetaData> meta(raw);
        return meta->Sequence.Stream;
    }

    Produced element(natsMsg& m) {
        Produced p;
        p.present = true;
        p.sequence = ++emitted_;
        const char* type = nullptr;
        if (natsMsgHeader_Get(&m, "Content-Type", &type) != NATS_OK || type == nullptr ||
            std::strlen(type) > 127) {
            type = "application/octet-stream";
        }
        const auto* data = reinterpret_cast<const std::byte*>(natsMsg_GetData(&m));
        p.payload = host_.buffers->make_host_buffer(
            {data, static_cast<std::size_t>(natsMsg_GetDataLength(&m))}, type, nullptr);
        attributes(m, p);
        const char* reply = natsMsg_GetReply(&m);
        if (reply != nullptr) {
            p.ack_token = next_token_;
            in_flight_.emplace(next_token_++, reply);
        }
        return p;
    }

    void attributes(natsMsg& m, Produced& p) {
        Attributes& a = p.attributes;
        a.push_back({"nats.subject", natsMsg_GetSubject(&m)});
        jsMsgMetaData* raw = nullptr;
        if (natsMsg_GetMetaData(&raw, &m) == NATS_OK) {
            const Own<jsMsgMetaData> meta(raw);
            a.push_back({"nats.stream", meta->Stream != nullptr ? meta->Stream : o_.stream});
            a.push_back({"nats.stream-seq", std::to_string(meta->Sequence.Stream)});
            a.push_back({"nats.consumer-seq", std::to_string(meta->Sequence.Consumer)});
            a.push_back({"nats.delivered", std::to_string(meta->NumDelivered)});
            if (meta->NumDelivered > 1) {
                ++redelivered_;
            }
            if (meta->Timestamp > 0) {
                p.timestamp_ns = static_cast<std::uint64_t>(meta->Timestamp);
            }
        }
        const char** keys = nullptr;
        int count = 0;
        if (natsMsgHeader_Keys(&m, &keys, &count) != NATS_OK) {
            return;
        }
        for (int i = 0; i < count; ++i) {
            const char** vs = nullptr;
            int n = 0;
            if (natsMsgHeader_Values(&m, keys[i], &vs, &n) != NATS_OK) {
                continue;
            }
            for (int j = 0; j < n; ++j) {
                a.push_back({fmt::format("nats.header.{}", keys[i]), vs[j]});
                if (std::string_view(keys[i]) == "traceparent") {
                    if (auto t = parse_traceparent(vs[j])) {
                        p.trace = *t;
                    }
                }
            }
            free(static_cast<void*>(vs));
        }
        free(static_cast<void*>(keys));
    }

    bool publish_reply(const std::string& subject, const char* what) {
        return natsConnection_PublishString(link_.nc.get(), subject.c_str(), what) == NATS_OK;
    }
    void reply(natsMsg& m, const char* what) {
        if (const char* subject = natsMsg_GetReply(&m)) {
            publish_reply(subject, what);
        }
    }

    // With stop-after-idle: connected, nothing buffered or fetched for that
    // long (an outage does not count).
    bool idle_too_long() {
        if (o_.stop_after_idle.count() == 0) {
            return false;
        }
        const std::int64_t now = steady_ms();
        const std::lock_guard lock(mutex_);
        if (!health_.connected() || !buffer_.empty()) {
            last_activity_ms_ = now;
            return false;
        }
        return now - last_activity_ms_ >= o_.stop_after_idle.count();
    }

    NodeHost& host_;
    FlowWaker& waker_;
    SourceOptions o_;
    std::string node_;
    std::string name_;
    std::string filter_;
    LinkHealth health_;
    Link link_;
    Own<natsSubscription> sub_;
    std::thread fetcher_;

    // Shared with the fetch thread, under mutex_.
    std::mutex mutex_;
    std::condition_variable room_;
    std::deque<Fetched> buffer_;
    std::size_t wanted_ = 0;  // messages the flow has room for, not fetched yet
    bool stopping_ = false;
    std::int64_t last_activity_ms_ = 0;

    // The driver thread's: ack subjects of the elements in flight.
    std::unordered_map<std::uint64_t, std::string> in_flight_;
    std::uint64_t next_token_ = 1;
    std::uint64_t emitted_ = 0;

    std::atomic<std::uint64_t> fetched_{0};
    std::atomic<std::uint64_t> acked_{0};
    std::atomic<std::uint64_t> nacked_{0};
    std::atomic<std::uint64_t> redelivered_{0};
    std::atomic<std::uint64_t> oversized_{0};
    std::atomic<std::uint64_t> bad_headers_{0};
};

}  // namespace

void check_nats(const NodeSpec& node, std::vector<Error>& errors) {
    if (node.role == Role::source) {
        read_source(node, errors);
    } else {
        check_nats_sink(node, errors);
    }
}

Result<std::string> probe_nats_source(const NodeSpec& node) {
    auto o = source_options(node);
    if (!o) {
        return std::move(o).error();
    }
    auto link = connect(
        {o->url, client_name(nullptr, node) + " (link)", nullptr, nullptr, milliseconds(3000)},
        nullptr);
    if (!link) {
        return unavailable(node.name, link.error().message, link.error().hint);
    }
    jsCtx* js = link->js.get();
    auto stream = stream_info(js, o->stream, node.name);
    if (!stream) {
        if (!o->create) {
            return std::move(stream).error();
        }
        return fmt::format("reads {} (stream '{}' and consumer '{}' will be created)", o->url,
                           o->stream, o->durable);
    }
    bool missing = false;
    auto info = consumer_info(js, *o, node.name, missing);
    if (!info) {
        return std::move(info).error();
    }
    const std::uint64_t messages = stream.value()->State.Msgs;
    if (missing) {
        if (!o->create) {
            return unavailable(
                node.name, fmt::format("stream '{}' has no consumer '{}'", o->stream, o->durable),
                "create it, or set create = true on the node");
        }
        return fmt::format("reads stream '{}' at {} ({} messages; consumer '{}' will be created)",
                           o->stream, o->url, messages, o->durable);
    }
    if (auto bad = mismatch(*info.value()->Config, *o, node.name)) {
        return std::move(*bad);
    }
    return fmt::format(
        "reads stream '{}' at {} ({} messages) through consumer '{}' ({} pending, "
        "{} awaiting acks)",
        o->stream, o->url, messages, o->durable, info.value()->NumPending,
        info.value()->NumAckPending);
}

Result<std::string> probe_nats(const NodeSpec& node, const std::filesystem::path&) {
    auto r = node.role == Role::source ? probe_nats_source(node) : probe_nats_sink(node);
    if (!r && r.error().where.empty()) {
        Error e = std::move(r).error();
        e.where = node.where.str();
        return e;
    }
    return r;
}

Result<std::unique_ptr<Stage>> make_nats(StageSlot& slot, const std::filesystem::path&) {
    if (slot.node.role != Role::source) {
        return make_nats_sink(slot);
    }
    auto o = source_options(slot.node);
    if (!o) {
        return std::move(o).error();
    }
    return std::unique_ptr<Stage>(std::make_unique<NatsSource>(slot, std::move(o).value()));
}

}  // namespace torvyn::connectors
