// The NATS JetStream sink: publishes each element of a batch asynchronously
// and returns once JetStream acked them all (or publish-timeout passed), so
// an element counts as delivered only when the stream has stored it. Each
// message carries a Nats-Msg-Id made from where the element came from (the
// source message's stream and sequence, or Kafka topic, partition and
// offset): when that message is delivered again and published again, the
// stream's de-duplication window drops the copy and says so (`duplicates`).
#include <algorithm>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "nats.hpp"
#include "nats_link.hpp"
#include "torvyn/core/guest_text.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn::connectors {
namespace {

using namespace nats;
using std::chrono::milliseconds;

// "out.{nats.subject}": literal text and element attributes, in order.
struct SubjectPart {
    bool attribute = false;
    std::string text;  // the literal, or the attribute's key
};

// The parts of a subject template, or why it is malformed.
Result<std::vector<SubjectPart>> parse_subject(std::string_view t) {
    std::vector<SubjectPart> parts;
    std::string literal;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] == '}') {
            return Error(ErrorCode::connector_setting, "a '}' without its '{'");
        }
        if (t[i] != '{') {
            literal += t[i];
            continue;
        }
        const std::size_t end = t.find('}', i);
        if (end == std::string_view::npos || end == i + 1 ||
            t.substr(i + 1, end - i - 1).find('{') != std::string_view::npos) {
            return Error(ErrorCode::connector_setting,
                         "a '{' must be closed by '}' around an attribute's name");
        }
        if (!literal.empty()) {
            parts.push_back({false, std::move(literal)});
            literal.clear();
        }
        parts.push_back({true, std::string(t.substr(i + 1, end - i - 1))});
        i = end;
    }
    if (!literal.empty()) {
        parts.push_back({false, std::move(literal)});
    }
    return parts;
}

struct SinkOptions {
    std::string url;
    std::string subject;  // as written
    std::vector<SubjectPart> parts;
    std::string stream;  // expected to store the messages; empty: any
    bool create = false;
    milliseconds publish_timeout{10'000};
};

SinkOptions read_sink(const NodeSpec& node, std::vector<Error>& errors) {
    SettingsReader r(node, errors);
    SinkOptions o;
    o.url = read_url(r);
    o.subject = r.text("subject", "", true);
    if (!o.subject.empty()) {
        auto parts = parse_subject(o.subject);
        if (parts) {
            o.parts = std::move(parts).value();
        } else {
            r.error(ErrorCode::connector_setting, r.place("subject"),
                    fmt::format("'subject' of {}: {}", r.what(), parts.error().message),
                    "such as subject = \"out.{nats.subject}\" (an attribute of the element)");
        }
    }
    o.stream = read_name(r, "stream", false);
    o.create = r.boolean("create", false);
    if (o.create && o.stream.empty()) {
        r.error(ErrorCode::connector_setting, r.place("create"),
                fmt::format("create = true on {} needs 'stream': the stream to create", r.what()),
                "add stream = \"NAME\"");
    }
    o.publish_timeout = r.duration("publish-timeout", o.publish_timeout, std::chrono::minutes(10));
    for (const char* key : {"durable", "ack-wait", "max-deliver", "fetch", "max-message-bytes",
                            "max-messages", "stop-after-idle"}) {
        r.not_for_role(key, "it is a source's");
    }
    r.finish();
    return o;
}

Result<SinkOptions> sink_options(const NodeSpec& node) {
    return read_checked([&](std::vector<Error>& errors) { return read_sink(node, errors); });
}

// The subjects a created stream takes: the template's literal start and
// everything below it ("out.{nats.subject}" -> "out.>").
std::string stream_subjects(const SinkOptions& o) {
    if (o.parts.empty() || !o.parts.front().attribute) {
        const bool literal = o.parts.size() <= 1;
        if (literal) {
            return o.subject;
        }
        const std::string& head = o.parts.front().text;
        return head.back() == '.' ? head + ">" : head + "*.>";
    }
    return ">";
}

// An attribute's value put into a subject (bytes). Values come from other
// systems (a Kafka key, a file name): a subject must stay one protocol token.
constexpr std::size_t kMaxSubjectValueBytes = 256;

// Whether `v` can stand in a subject: printable ASCII without spaces or the
// wildcards `*` and `>` (dots are kept: they make tokens of a subject).
bool subject_value_ok(std::string_view v) {
    return !v.empty() && v.size() <= kMaxSubjectValueBytes &&
           std::all_of(v.begin(), v.end(),
                       [](char c) { return c > ' ' && c < 0x7f && c != '*' && c != '>'; });
}

const std::string* find_attribute(const ElementRef& e, std::string_view key) {
    if (e.origin == nullptr) {
        return nullptr;
    }
    for (const Attribute& a : e.origin->attributes) {
        if (a.key == key) {
            return &a.value;
        }
    }
    return nullptr;
}

// An element's outcome while its publish is in flight.
enum class Outcome : std::uint8_t { waiting, stored, duplicate, failed };

class NatsSink final : public BatchSink {
public:
    NatsSink(StageSlot& slot, SinkOptions o)
        : host_(slot.host),
          o_(std::move(o)),
          node_(slot.node.name),
          flow_(slot.flow.name),
          name_(fmt::format("torvyn {}/{}", slot.flow.name, slot.node.name)) {
        for (const NodeSpec& n : slot.flow.nodes) {
            node_names_.push_back(n.name);
        }
    }
    ~NatsSink() override { close(); }

    CallResult init(std::string_view) override {
        auto link =
            connect({o_.url, name_, &NatsSink::on_pub_ack, this, o_.publish_timeout}, &health_);
        if (!link) {
            return failure(ErrorCode::connector_unavailable, GuestErrorKind::fatal,
                           link.error().message);
        }
        link_ = std::move(link).value();
        if (!o_.stream.empty()) {
            auto s = o_.create
                         ? create_stream(link_.js.get(), o_.stream, {stream_subjects(o_)}, node_)
                         : stream_info(link_.js.get(), o_.stream, node_);
            if (!s) {
                return failure(ErrorCode::connector_unavailable, GuestErrorKind::fatal,
                               s.error().message + "; " + s.error().hint);
            }
        }
        return {};
    }

    [[nodiscard]] std::size_t batch_limit() const override { return limits::kMaxBatch; }

    CallResult push_batch(std::span<const ElementRef> in, std::span<CallResult> each,
                          bool& pause) override {
        pause = false;
        {
            const std::lock_guard lock(mutex_);
            outcomes_.assign(in.size(), Outcome::waiting);
            reasons_.assign(in.size(), std::string());
            index_.clear();
        }
        for (std::size_t i = 0; i < in.size(); ++i) {
            each[i] = publish(in[i], i);
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = o_.publish_timeout.count() + 1000;  // the messages' own timeouts come first
        if (js_PublishAsyncComplete(link_.js.get(), &po) != NATS_OK) {
            give_up_pending();
        }
        const std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (!each[i].ok()) {
                continue;
            }
            switch (outcomes_[i]) {
                case Outcome::stored:
                    ++published_;
                    break;
                case Outcome::duplicate:
                    ++duplicates_;
                    break;
                case Outcome::failed:
                case Outcome::waiting:
                    ++publish_errors_;
                    each[i] = failure(ErrorCode::nats_publish, GuestErrorKind::unavailable,
                                      reasons_[i].empty()
                                          ? fmt::format("no ack from JetStream within {}ms",
                                                        o_.publish_timeout.count())
                                          : reasons_[i]);
                    break;
            }
        }
        return {};
    }

    CallResult complete() override { return {}; }
    CallResult teardown() override { return {}; }

    void close() override {
        link_.js.reset();
        link_.nc.reset();
    }

    void counters(std::vector<std::pair<std::string_view, std::uint64_t>>& out) const override {
        out.emplace_back("published", published_.load(std::memory_order_relaxed));
        out.emplace_back("duplicates", duplicates_.load(std::memory_order_relaxed));
        out.emplace_back("publish-errors", publish_errors_.load(std::memory_order_relaxed));
        out.emplace_back("reconnects", health_.reconnects.load(std::memory_order_relaxed));
        out.emplace_back("disconnected-ms", health_.outage_ms());
    }

private:
    // Starts the publish of element i; an error when it could not start.
    CallResult publish(const ElementRef& e, std::size_t i) {
        std::string subject;
        for (const SubjectPart& p : o_.parts) {
            if (!p.attribute) {
                subject += p.text;
                continue;
            }
            const std::string* v = find_attribute(e, p.text);
            if (v == nullptr || v->empty()) {
                ++publish_errors_;
                return failure(ErrorCode::nats_bad_record, GuestErrorKind::invalid_input,
                               fmt::format("element {} has no attribute '{}' for subject '{}'",
                                           e.sequence, p.text, o_.subject));
            }
            if (!subject_value_ok(*v)) {
                ++publish_errors_;
                return failure(
                    ErrorCode::nats_bad_record, GuestErrorKind::invalid_input,
                    fmt::format("element {}'s attribute '{}' (\"{}\") cannot be part of subject "
                                "'{}': at most {} printable ASCII bytes without spaces, '*' or '>'",
                                e.sequence, p.text, guest_text(*v, 64), o_.subject,
                                kMaxSubjectValueBytes));
            }
            subject += *v;
        }
        std::span<const std::byte> bytes;
        host_.buffers->bytes(e.payload, 0, ~0ull, &bytes);
        natsMsg* raw = nullptr;
        natsStatus s = natsMsg_Create(&raw, subject.c_str(), nullptr,
                                      reinterpret_cast<const char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
        Own<natsMsg> msg(raw);
        if (s == NATS_OK && e.trace.valid()) {
            s = natsMsgHeader_Set(raw, "traceparent", format_traceparent(e.trace).c_str());
        }
        const std::string id = message_id(e);
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = id.c_str();
        po.MaxWait = o_.publish_timeout.count();
        po.ExpectStream = o_.stream.empty() ? nullptr : o_.stream.c_str();
        if (s == NATS_OK) {
            const std::lock_guard lock(mutex_);
            index_[raw] = i;  // before the publish: its ack may come first
        }
        natsMsg* handed = raw;
        if (s == NATS_OK) {
            s = js_PublishMsgAsync(link_.js.get(), &handed, &po);
        }
        if (s != NATS_OK) {
            {
                const std::lock_guard lock(mutex_);
                index_.erase(raw);
            }
            ++publish_errors_;
            return failure(ErrorCode::nats_publish, GuestErrorKind::unavailable,
                           fmt::format("cannot publish to '{}': {}", subject, status_text(s)));
        }
        static_cast<void>(msg.release());  // the library's now, then the ack handler's
        return {};
    }

    // The de-duplication id: the same whenever the same source message is
    // published again, whichever process or run does it.
    std::string message_id(const ElementRef& e) const {
        const std::string* stream = find_attribute(e, "nats.stream");
        const std::string* seq = find_attribute(e, "nats.stream-seq");
        if (stream != nullptr && seq != nullptr) {
            return fmt::format("nats:{}:{}", *stream, *seq);
        }
        const std::string* topic = find_attribute(e, "kafka.topic");
        const std::string* partition = find_attribute(e, "kafka.partition");
        const std::string* offset = find_attribute(e, "kafka.offset");
        if (topic != nullptr && partition != nullptr && offset != nullptr) {
            return fmt::format("kafka:{}:{}:{}", *topic, *partition, *offset);
        }
        const std::uint32_t source = e.origin != nullptr ? e.origin->source : 0;
        const std::string_view from =
            source < node_names_.size() ? std::string_view(node_names_[source]) : "source";
        return fmt::format("torvyn:{}:{}:{}", flow_, from, e.sequence);
    }

    // libnats' thread: one publish's ack (or its error or timeout).
    static void on_pub_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
        auto* self = static_cast<NatsSink*>(closure);
        {
            const std::lock_guard lock(self->mutex_);
            const auto it = self->index_.find(msg);
            if (it != self->index_.end()) {
                const std::size_t i = it->second;
                self->index_.erase(it);
                if (pa != nullptr) {
                    self->outcomes_[i] = pa->Duplicate ? Outcome::duplicate : Outcome::stored;
                } else {
                    self->outcomes_[i] = Outcome::failed;
                    self->reasons_[i] =
                        fmt::format("JetStream did not store the message: {}",
                                    pae != nullptr && pae->ErrText != nullptr
                                        ? std::string(pae->ErrText)
                                        : status_text(pae != nullptr ? pae->Err : NATS_ERR,
                                                      pae != nullptr ? pae->ErrCode
                                                                     : static_cast<jsErrCode>(0)));
                }
            }
        }
        natsMsg_Destroy(msg);
    }

    // After the wait: what has no ack yet is taken back (a late ack is
    // ignored) and fails.
    void give_up_pending() {
        natsMsgList pending{};
        if (js_PublishAsyncGetPendingList(&pending, link_.js.get()) != NATS_OK) {
            return;
        }
        {
            const std::lock_guard lock(mutex_);
            for (int k = 0; k < pending.Count; ++k) {
                const auto it = index_.find(pending.Msgs[k]);
                if (it != index_.end()) {
                    outcomes_[it->second] = Outcome::failed;
                    index_.erase(it);
                }
            }
        }
        natsMsgList_Destroy(&pending);
    }

    NodeHost& host_;
    SinkOptions o_;
    std::string node_;
    std::string flow_;
    std::string name_;
    std::vector<std::string> node_names_;
    LinkHealth health_;
    Link link_;

    // The batch in flight, shared with the ack handler.
    std::mutex mutex_;
    std::unordered_map<const natsMsg*, std::size_t> index_;
    std::vector<Outcome> outcomes_;
    std::vector<std::string> reasons_;

    std::atomic<std::uint64_t> published_{0};
    std::atomic<std::uint64_t> duplicates_{0};
    std::atomic<std::uint64_t> publish_errors_{0};
};

}  // namespace

void check_nats_sink(const NodeSpec& node, std::vector<Error>& errors) {
    read_sink(node, errors);
}

Result<std::string> probe_nats_sink(const NodeSpec& node) {
    auto o = sink_options(node);
    if (!o) {
        return std::move(o).error();
    }
    auto link = connect(
        {o->url, fmt::format("torvyn link {}", node.name), nullptr, nullptr, milliseconds(3000)},
        nullptr);
    if (!link) {
        return unavailable(node.name, link.error().message, link.error().hint);
    }
    if (o->stream.empty()) {
        return fmt::format("publishes to '{}' at {} (no stream named: not checked)", o->subject,
                           o->url);
    }
    auto stream = stream_info(link->js.get(), o->stream, node.name);
    if (!stream) {
        if (o->create) {
            return fmt::format("publishes to '{}' at {} (stream '{}' will be created for {})",
                               o->subject, o->url, o->stream, stream_subjects(*o));
        }
        return std::move(stream).error();
    }
    return fmt::format("publishes to '{}' at {} into stream '{}' ({} messages)", o->subject, o->url,
                       o->stream, stream.value()->State.Msgs);
}

Result<std::unique_ptr<Stage>> make_nats_sink(StageSlot& slot) {
    auto o = sink_options(slot.node);
    if (!o) {
        return std::move(o).error();
    }
    return std::unique_ptr<Stage>(std::make_unique<NatsSink>(slot, std::move(o).value()));
}

}  // namespace torvyn::connectors
