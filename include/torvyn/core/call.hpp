// How a call into a stage ended: the vocabulary the scheduler and its error
// policies speak, whether the stage is a Wasm component or host code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace torvyn {

enum class CallStatus : std::uint8_t {
    ok,
    guest_error,  // the component returned a process-error
    trap,         // the component trapped; the instance is dead
    deadline,     // the per-call deadline expired; the instance is dead
    limit,        // a limit of the node was hit (memory, tables, fuel); the instance is dead
    host_limit,   // one of the host's fixed limits (limits.hpp); the instance is dead
    internal,     // a host/bridge failure
    stopped,      // ended by a forced stop of the run; the instance is dead
    denied,       // called an ungranted WASI function (a denying stub); the instance is dead
};

// Cases of torvyn:streaming/types.process-error.
enum class GuestErrorKind : std::uint8_t {
    invalid_input,
    unavailable,
    internal,
    deadline_exceeded,
    fatal
};

std::string_view call_status_name(CallStatus status);
std::string_view guest_error_kind_name(GuestErrorKind kind);

struct CallResult {
    CallStatus status = CallStatus::ok;
    GuestErrorKind guest_kind = GuestErrorKind::internal;  // when guest_error
    std::string message;                                   // when not ok
    // A host stage's own stable error code (an ErrorCode's number, e.g. 904
    // for a connector's oversized line); 0: the status decides.
    std::uint16_t code = 0;

    [[nodiscard]] bool ok() const { return status == CallStatus::ok; }
    // The instance can no longer be called.
    [[nodiscard]] bool instance_dead() const {
        return status == CallStatus::trap || status == CallStatus::deadline ||
               status == CallStatus::limit || status == CallStatus::host_limit ||
               status == CallStatus::internal || status == CallStatus::stopped ||
               status == CallStatus::denied;
    }
    // An error the same call may not repeat: retry it.
    [[nodiscard]] bool retryable() const {
        return status == CallStatus::guest_error && guest_kind != GuestErrorKind::fatal;
    }
    // The stage declared it cannot go on, or can no longer be called.
    [[nodiscard]] bool fatal() const {
        return instance_dead() ||
               (status == CallStatus::guest_error && guest_kind == GuestErrorKind::fatal);
    }

    static CallResult failure(CallStatus s, std::string text) {
        CallResult r;
        r.status = s;
        r.message = std::move(text);
        return r;
    }
    static CallResult guest(GuestErrorKind kind, std::string text) {
        CallResult r;
        r.status = CallStatus::guest_error;
        r.guest_kind = kind;
        r.message = std::move(text);
        return r;
    }
};

}  // namespace torvyn
