// Instance: the typed calls of every role, one element at a time, through
// the bridge; what a call returns is classified and adopted here.
#include <fmt/format.h>

#include "bridge_objects.hpp"
#include "torvyn/core/guest_text.hpp"

namespace torvyn {

using detail::call_status;
using detail::ErrorPtr;
using detail::guest_kind;
using detail::message_of;
using detail::text;

Instance::Instance(std::unique_ptr<Raw> raw, Role role, NodeHost& host)
    : raw_(std::move(raw)), role_(role), host_(host) {}

Instance::~Instance() = default;

bool Instance::has_lifecycle() const {
    return tvb_instance_has_lifecycle(raw_->handle.get()) != 0;
}

namespace detail {

GuestErrorKind guest_kind(tvb_process_error_kind kind) {
    switch (kind) {
        case TVB_ERR_INVALID_INPUT:
            return GuestErrorKind::invalid_input;
        case TVB_ERR_UNAVAILABLE:
            return GuestErrorKind::unavailable;
        case TVB_ERR_DEADLINE_EXCEEDED:
            return GuestErrorKind::deadline_exceeded;
        case TVB_ERR_FATAL:
            return GuestErrorKind::fatal;
        case TVB_ERR_INTERNAL:
            break;
    }
    return GuestErrorKind::internal;
}

CallStatus call_status(tvb_status status) {
    switch (status) {
        case TVB_GUEST_ERROR:
            return CallStatus::guest_error;
        case TVB_TRAP:
        case TVB_REFUSED:  // the host refused the guest, which trapped
            return CallStatus::trap;
        case TVB_DEADLINE:
            return CallStatus::deadline;
        case TVB_LIMIT:
            return CallStatus::limit;
        case TVB_STOPPED:
            return CallStatus::stopped;
        case TVB_HOST_LIMIT:
            return CallStatus::host_limit;
        case TVB_DENIED:
            return CallStatus::denied;
        default:
            return CallStatus::internal;
    }
}

}  // namespace detail

namespace {

tvb_element lend(const ElementRef& in, const NodeHost& host) {
    return tvb_element{.sequence = in.sequence,
                       .timestamp_ns = in.timestamp_ns,
                       .payload = in.payload,
                       .context = host.context_handle};
}

Produced produced(const tvb_output& o) {
    Produced out;
    out.present = o.present != 0;
    out.pending = o.pending != 0;
    out.retry_after =
        out.pending ? detail::guest_retry_after(o.retry_after_ns) : std::chrono::nanoseconds{0};
    out.sequence = o.sequence;
    out.timestamp_ns = o.timestamp_ns;
    out.payload = o.payload;
    return out;
}

void add_name(void* user, const uint8_t* name, size_t len) {
    static_cast<std::vector<std::string>*>(user)->emplace_back(text(name, len));
}

}  // namespace

CallResult Instance::finish(Failure failure) {
    CallResult r;
    if (!failure.error) {
        return r;
    }
    const tvb_error* e = failure.error.get();
    r.status = call_status(tvb_error_status(e));
    if (r.status == CallStatus::guest_error) {
        r.guest_kind = guest_kind(tvb_error_guest_kind(e));
    }
    // A refusal: the host's own record says why, with the numbers.
    const bool refused = tvb_error_status(e) == TVB_REFUSED && !host_.refusal_message.empty();
    // Guest text (the bridge cut it to limits::kMaxGuestTextBytes): escaped
    // here, so every report, log and terminal downstream gets it safe.
    r.message = refused ? host_.refusal_message : escape_guest_text(message_of(e));
    return r;
}

// Takes ownership of a payload a guest just returned.
CallResult Instance::adopt(Produced& out) {
    if (!out.present) {
        return {};
    }
    const BufferOp op = host_.buffers->take_from_guest(host_.id, out.payload);
    if (op != BufferOp::ok) {
        CallResult r;
        r.status = CallStatus::internal;
        r.message =
            fmt::format("returned buffer not owned by the component: {}", buffer_op_name(op));
        return r;
    }
    return {};
}

CallResult Instance::init(std::string_view config) {
    const InCall busy(*raw_->gate);
    return finish({ErrorPtr(tvb_call_init(raw_->handle.get(), config.data(), config.size()))});
}

CallResult Instance::teardown() {
    const InCall busy(*raw_->gate);
    return finish({ErrorPtr(tvb_call_teardown(raw_->handle.get()))});
}

CallResult Instance::pull(Produced& out) {
    tvb_output o{};
    const InCall busy(*raw_->gate);
    CallResult r = finish({ErrorPtr(tvb_call_pull(raw_->handle.get(), host_.context_handle, &o))});
    if (!r.ok()) {
        return r;
    }
    out = produced(o);
    return adopt(out);
}

CallResult Instance::notify(bool pause) {
    const InCall busy(*raw_->gate);
    return finish({ErrorPtr(tvb_call_notify(raw_->handle.get(), pause ? 1 : 0))});
}

CallResult Instance::process(const ElementRef& in, Produced& out) {
    const tvb_element e = lend(in, host_);
    tvb_output o{};
    const InCall busy(*raw_->gate);
    CallResult r = finish({ErrorPtr(tvb_call_process(raw_->handle.get(), &e, &o))});
    if (!r.ok()) {
        return r;
    }
    out = produced(o);
    return adopt(out);
}

CallResult Instance::push(const ElementRef& in, bool& pause) {
    const tvb_element e = lend(in, host_);
    int32_t p = 0;
    const InCall busy(*raw_->gate);
    CallResult r = finish({ErrorPtr(tvb_call_push(raw_->handle.get(), &e, &p))});
    pause = p != 0;
    return r;
}

CallResult Instance::complete() {
    const InCall busy(*raw_->gate);
    return finish({ErrorPtr(tvb_call_complete(raw_->handle.get()))});
}

CallResult Instance::accept(const ElementRef& in, bool& accepted) {
    const tvb_element e = lend(in, host_);
    int32_t a = 0;
    const InCall busy(*raw_->gate);
    CallResult r = finish({ErrorPtr(tvb_call_accept(raw_->handle.get(), &e, &a))});
    accepted = a != 0;
    return r;
}

CallResult Instance::ports(std::vector<std::string>& names) {
    names.clear();
    const InCall busy(*raw_->gate);
    return finish({ErrorPtr(tvb_call_ports(raw_->handle.get(), &names, add_name))});
}

CallResult Instance::route(const ElementRef& in, std::vector<std::string>& ports) {
    const tvb_element e = lend(in, host_);
    ports.clear();
    const InCall busy(*raw_->gate);
    return finish({ErrorPtr(tvb_call_route(raw_->handle.get(), &e, &ports, add_name))});
}

CallResult Instance::ingest(const ElementRef& in, Produced& out) {
    const tvb_element e = lend(in, host_);
    tvb_output o{};
    const InCall busy(*raw_->gate);
    CallResult r = finish({ErrorPtr(tvb_call_ingest(raw_->handle.get(), &e, &o))});
    if (!r.ok()) {
        return r;
    }
    out = produced(o);
    return adopt(out);
}

CallResult Instance::flush(std::vector<Produced>& out) {
    out.clear();
    const InCall busy(*raw_->gate);
    CallResult r = finish(
        {ErrorPtr(tvb_call_flush(raw_->handle.get(), &out, [](void* user, const tvb_output* o) {
            static_cast<std::vector<Produced>*>(user)->push_back(produced(*o));
        }))});
    if (!r.ok()) {
        return r;
    }
    for (auto& p : out) {
        if (CallResult a = adopt(p); !a.ok()) {
            return a;
        }
    }
    return r;
}

}  // namespace torvyn
