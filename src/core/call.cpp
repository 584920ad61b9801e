#include "torvyn/core/call.hpp"

namespace torvyn {

std::string_view call_status_name(CallStatus status) {
    switch (status) {
        case CallStatus::ok:
            return "ok";
        case CallStatus::guest_error:
            return "error";
        case CallStatus::trap:
            return "trap";
        case CallStatus::deadline:
            return "deadline exceeded";
        case CallStatus::limit:
            return "limit exceeded";
        case CallStatus::host_limit:
            return "host limit exceeded";
        case CallStatus::internal:
            return "internal error";
        case CallStatus::stopped:
            return "stopped";
        case CallStatus::denied:
            return "denied";
    }
    return "unknown";
}

std::string_view guest_error_kind_name(GuestErrorKind kind) {
    switch (kind) {
        case GuestErrorKind::invalid_input:
            return "invalid-input";
        case GuestErrorKind::unavailable:
            return "unavailable";
        case GuestErrorKind::internal:
            return "internal";
        case GuestErrorKind::deadline_exceeded:
            return "deadline-exceeded";
        case GuestErrorKind::fatal:
            return "fatal";
    }
    return "unknown";
}

}  // namespace torvyn
