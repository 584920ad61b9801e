#include "nats_link.hpp"

#include <fmt/format.h>

namespace torvyn::connectors::nats {

void Deleter::operator()(natsConnection* p) const {
    natsConnection_Close(p);  // flushes what is buffered (acks), then ends the threads
    natsConnection_Destroy(p);
}

std::string status_text(natsStatus s, jsErrCode jerr) {
    std::string text = natsStatus_GetText(s);
    if (jerr != 0) {
        text += fmt::format(" (JetStream error {})", static_cast<int>(jerr));
    }
    const char* last = nats_GetLastError(nullptr);
    if (last != nullptr && *last != '\0' && text.find(last) == std::string::npos) {
        text += ": ";
        text += last;
    }
    return text;
}

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::uint64_t LinkHealth::outage_ms() const {
    const std::int64_t since = down_since_ms.load();
    const std::uint64_t now = since == 0 ? 0 : static_cast<std::uint64_t>(steady_ms() - since);
    return disconnected_ms.load() + now;
}

namespace {

void on_disconnected(natsConnection* nc, void* closure) {
    if (natsConnection_IsClosed(nc)) {
        return;  // our own close at the end, not an outage
    }
    auto* h = static_cast<LinkHealth*>(closure);
    std::int64_t expected = 0;
    h->down_since_ms.compare_exchange_strong(expected, steady_ms());
}

void on_reconnected(natsConnection*, void* closure) {
    auto* h = static_cast<LinkHealth*>(closure);
    const std::int64_t since = h->down_since_ms.exchange(0);
    if (since != 0) {
        h->disconnected_ms += static_cast<std::uint64_t>(steady_ms() - since);
    }
    ++h->reconnects;
    ++h->up_epoch;
}

constexpr std::int64_t kConnectTimeoutMs = 2000;
constexpr std::int64_t kReconnectWaitMs = 250;
// Publishes (acks, a sink's messages) kept while the server is away.
constexpr int kReconnectBufferBytes = 32 << 20;

}  // namespace

Result<Link> connect(const LinkOptions& o, LinkHealth* health) {
    natsOptions* raw = nullptr;
    natsStatus s = natsOptions_Create(&raw);
    Own<natsOptions> opts(raw);
    if (s == NATS_OK)
        s = natsOptions_SetURL(raw, o.url.c_str());
    if (s == NATS_OK)
        s = natsOptions_SetName(raw, o.name.c_str());
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(raw, kConnectTimeoutMs);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(raw, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(raw, kReconnectWaitMs);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(raw, kReconnectBufferBytes);
    if (s == NATS_OK && health != nullptr) {
        s = natsOptions_SetDisconnectedCB(raw, on_disconnected, health);
        if (s == NATS_OK)
            s = natsOptions_SetReconnectedCB(raw, on_reconnected, health);
    }
    if (s != NATS_OK) {
        return Error(
            ErrorCode::connector_setting,
            fmt::format("the NATS client refused its options for {}: {}", o.url, status_text(s)),
            "", "check 'url' (nats://host:port)");
    }
    natsConnection* nc = nullptr;
    s = natsConnection_Connect(&nc, raw);
    if (s != NATS_OK) {
        return Error(ErrorCode::connector_unavailable,
                     fmt::format("cannot connect to NATS at {}: {}", o.url, status_text(s)), "",
                     "start the server (nats-server -js), or fix 'url'");
    }
    Link link;
    link.nc.reset(nc);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = o.api_wait.count();
    jo.PublishAsync.AckHandler = o.on_pub_ack;
    jo.PublishAsync.AckHandlerClosure = o.pub_ack_closure;
    jsCtx* js = nullptr;
    s = natsConnection_JetStream(&js, nc, &jo);
    if (s != NATS_OK) {
        return Error(ErrorCode::connector_unavailable,
                     fmt::format("no JetStream context on {}: {}", o.url, status_text(s)));
    }
    link.js.reset(js);
    return link;
}

std::string read_url(SettingsReader& r) {
    std::string url = r.text("url", std::string(kDefaultUrl));
    if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0) {
        r.error(ErrorCode::connector_setting, r.place("url"),
                fmt::format("'url' of {} must start with nats:// or tls://", r.what()),
                "such as url = \"nats://127.0.0.1:4222\"");
    }
    return url;
}

std::string read_name(SettingsReader& r, std::string_view key, bool required) {
    std::string name = r.text(key, "", required);
    if (name.find_first_of(".*> \t/\\") != std::string::npos) {
        r.error(ErrorCode::connector_setting, r.place(key),
                fmt::format("'{}' of {} cannot hold '.', '*', '>', spaces or slashes: '{}'", key,
                            r.what(), name),
                "JetStream names are single tokens, such as ORDERS or orders-worker");
    }
    return name;
}

Result<Own<jsStreamInfo>> stream_info(jsCtx* js, const std::string& stream, std::string_view node) {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_GetStreamInfo(&si, js, stream.c_str(), nullptr, &jerr);
    if (s == NATS_OK) {
        return Own<jsStreamInfo>(si);
    }
    if (jerr == JSStreamNotFoundErr || s == NATS_NOT_FOUND) {
        return unavailable(node, fmt::format("JetStream has no stream '{}'", stream),
                           "create it (nats stream add), or set create = true on the node");
    }
    return unavailable(node,
                       fmt::format("cannot read stream '{}': {}", stream, status_text(s, jerr)),
                       "is the server running with JetStream (-js)?");
}

Result<Own<jsStreamInfo>> create_stream(jsCtx* js, const std::string& stream,
                                        const std::vector<std::string>& subjects,
                                        std::string_view node) {
    std::vector<const char*> names;
    names.reserve(subjects.size());
    for (const auto& s : subjects) {
        names.push_back(s.c_str());
    }
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream.c_str();
    cfg.Subjects = names.data();
    cfg.SubjectsLen = static_cast<int>(names.size());
    cfg.Storage = js_FileStorage;
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_AddStream(&si, js, &cfg, nullptr, &jerr);
    if (s != NATS_OK) {
        // Another node may have made it first, with another configuration.
        auto existing = stream_info(js, stream, node);
        if (existing) {
            return existing;
        }
        return unavailable(
            node, fmt::format("cannot create stream '{}': {}", stream, status_text(s, jerr)),
            "create it by hand, or check the server's JetStream limits");
    }
    return Own<jsStreamInfo>(si);
}

CallResult failure(ErrorCode code, GuestErrorKind kind, std::string message) {
    CallResult r = CallResult::guest(kind, std::move(message));
    r.code = static_cast<std::uint16_t>(code);
    return r;
}

}  // namespace torvyn::connectors::nats
