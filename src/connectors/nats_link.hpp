// What the NATS JetStream source and sink share (nats_source.cpp,
// nats_sink.cpp): owning handles for libnats objects, a connection that
// reconnects forever and counts its outages, the settings both roles read,
// and the checks `torvyn link` and init make against the server.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "settings.hpp"
#include "torvyn/core/call.hpp"
#include "torvyn/core/error.hpp"

namespace torvyn::connectors::nats {

struct Deleter {
    void operator()(natsConnection* p) const;
    void operator()(natsOptions* p) const { natsOptions_Destroy(p); }
    void operator()(jsCtx* p) const { jsCtx_Destroy(p); }
    void operator()(natsSubscription* p) const { natsSubscription_Destroy(p); }
    void operator()(natsMsg* p) const { natsMsg_Destroy(p); }
    void operator()(jsStreamInfo* p) const { jsStreamInfo_Destroy(p); }
    void operator()(jsConsumerInfo* p) const { jsConsumerInfo_Destroy(p); }
    void operator()(jsMsgMetaData* p) const { jsMsgMetaData_Destroy(p); }
};
template <class T>
using Own = std::unique_ptr<T, Deleter>;

// libnats' status, the JetStream error code when there is one, and the
// library's last error text.
std::string status_text(natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0));

// The connection's health, written by libnats' callbacks (its own threads)
// and read by the stage's counters.
struct LinkHealth {
    std::atomic<std::uint64_t> reconnects{0};
    std::atomic<std::uint64_t> disconnected_ms{0};  // outages that ended, summed
    std::atomic<std::int64_t> down_since_ms{0};     // steady ms of the current outage; 0: up
    std::atomic<std::uint64_t> up_epoch{0};         // +1 at every reconnect
    // Outage time so far, the current one included.
    [[nodiscard]] std::uint64_t outage_ms() const;
    [[nodiscard]] bool connected() const { return down_since_ms.load() == 0; }
};

std::int64_t steady_ms();

// A connection with its JetStream context. `health` must outlive it.
struct Link {
    Own<natsConnection> nc;
    Own<jsCtx> js;
};

struct LinkOptions {
    std::string url;
    std::string name;  // the client's name on the server: "torvyn <flow>/<node>"
    // For a sink: its publish-ack handler (jsOptions.PublishAsync).
    jsPubAckHandler on_pub_ack = nullptr;
    void* pub_ack_closure = nullptr;
    std::chrono::milliseconds api_wait{5000};  // JetStream API requests
};

// Connects once (failing fast when nobody answers), then reconnects forever
// after a loss: an outage pauses the flow, it does not end it.
Result<Link> connect(const LinkOptions& o, LinkHealth* health);

// The settings both roles have.
inline constexpr std::string_view kDefaultUrl = "nats://127.0.0.1:4222";
std::string read_url(SettingsReader& r);
// Stream and consumer names: what JetStream accepts (no '.', '*', '>',
// spaces or path separators).
std::string read_name(SettingsReader& r, std::string_view key, bool required);

// The stream's info, or E0902 saying it is missing (or the server refused).
Result<Own<jsStreamInfo>> stream_info(jsCtx* js, const std::string& stream, std::string_view node);
// Creates a file-backed stream taking `subjects` (idempotent when it exists
// with the same configuration).
Result<Own<jsStreamInfo>> create_stream(jsCtx* js, const std::string& stream,
                                        const std::vector<std::string>& subjects,
                                        std::string_view node);

// A CallResult for an element or call that failed with `code`.
CallResult failure(ErrorCode code, GuestErrorKind kind, std::string message);

}  // namespace torvyn::connectors::nats
