// What happens when a call fails: the error that explains it, the node's
// on-error policy (fail, skip, retry, dead-letter), on-trap = "restart", and
// the containments observers are told about. Also: every call goes through
// here, timed and observed.
#include <thread>

#include <fmt/format.h>

#include "flow_state.hpp"

namespace torvyn::detail {
namespace {

ErrorCode code_for(const CallResult& r) {
    if (r.code != 0) {
        return static_cast<ErrorCode>(r.code);
    }
    switch (r.status) {
        case CallStatus::guest_error:
            return r.guest_kind == GuestErrorKind::fatal ? ErrorCode::guest_fatal
                                                         : ErrorCode::guest_error;
        case CallStatus::trap:
            return ErrorCode::guest_trap;
        case CallStatus::deadline:
            return ErrorCode::guest_deadline;
        case CallStatus::limit:
        case CallStatus::host_limit:
            return ErrorCode::guest_limit;
        case CallStatus::denied:
            return ErrorCode::denied_call;
        default:
            return ErrorCode::internal;
    }
}

// The component model's handle rules, as Wasmtime words a trap that broke
// one: which rule, and what in the SDKs keeps to it.
struct HandleRule {
    std::string_view trap;  // in Wasmtime's message
    std::string_view rule;
    std::string_view hint;
};
constexpr std::string_view kHeldRule =
    "a handle may be used only while held: not after it was dropped, frozen or returned";
constexpr std::string_view kHeldHint =
    "C: use the buffer torvyn_make_buffer gave you once (return it or drop it); C++: Buffer and "
    "MutableBuffer are move-only, use what freeze() returns; docs/errors.md, E0401";
constexpr HandleRule kHandleRules[] = {
    {"borrow handles still remain",
     "a handle lent for a call must be dropped before the call returns",
     "C: call torvyn_element_done(element) on every path before the export returns (errors "
     "too); C++: keep no Element or BufferView past the call (the SDK drops them when it "
     "ends); docs/errors.md, E0401"},
    {"unknown handle index", kHeldRule, kHeldHint},
    {"used with the wrong type", kHeldRule, kHeldHint},
};

const HandleRule* broken_handle_rule(const CallResult& r) {
    if (r.status != CallStatus::trap) {
        return nullptr;
    }
    for (const HandleRule& rule : kHandleRules) {
        if (r.message.find(rule.trap) != std::string::npos) {
            return &rule;
        }
    }
    return nullptr;
}

std::string describe(const CallResult& r) {
    if (r.status == CallStatus::guest_error) {
        return r.message.empty()
                   ? fmt::format("returned error {}", guest_error_kind_name(r.guest_kind))
                   : fmt::format("returned error {}: {}", guest_error_kind_name(r.guest_kind),
                                 r.message);
    }
    // Wasmtime's messages may span lines; the first says what happened.
    return fmt::format("{}: {}", call_status_name(r.status),
                       r.message.substr(0, r.message.find('\n')));
}

// Every failed call is counted by its code, kept for the report (the first
// and the last few) and told to observers, whatever the policy then does.
void note_failure(State& s, Node& n, const Error& e, std::optional<std::uint64_t> element) {
    auto& by_code = n.report.errors_by_code;
    const auto it = std::find_if(by_code.begin(), by_code.end(),
                                 [&](const auto& c) { return c.first == e.code; });
    if (it == by_code.end()) {
        by_code.emplace_back(e.code, 1);
    } else {
        ++it->second;
    }
    FailureRecord record{n.spec.name, element, e};
    if (s.report.failures.size() < FlowReport::kFailuresKept) {
        s.report.failures.push_back(std::move(record));
    } else {
        s.recent_failures.push_back(std::move(record));
        if (s.recent_failures.size() > FlowReport::kFailuresKept) {
            s.recent_failures.pop_front();
            ++s.report.failures_omitted;
        }
    }
    // The element of the call in progress, when the failure is an element's.
    const TraceContext* trace = element ? n.host.element_trace : nullptr;
    s.listeners.notify(kErrorEvents,
                       [&](FlowObserver& o) { o.on_error(n.host.id, e, element, trace); });
}

// The host stopped a stage (trap, deadline, limit) or refused it for a
// budget or a limit: a containment, whatever the node's role.
void note_containment(State& s, const Node& n, const CallResult& r, const Error& e,
                      std::optional<std::uint64_t> element) {
    const bool contained = (r.instance_dead() && r.status != CallStatus::stopped) ||
                           e.code == ErrorCode::resource_budget || e.code == ErrorCode::guest_limit;
    if (contained) {
        const TraceContext* trace = element ? n.host.element_trace : nullptr;
        s.listeners.notify(kContainmentEvents,
                           [&](FlowObserver& o) { o.on_contained(n.host.id, e, element, trace); });
    }
}

void stop_node(State& s, Node& n, const CallResult& r) {
    n.stopped = true;
    n.report.stopped = true;
    if (r.instance_dead()) {
        n.dead = true;
    } else if (r.fatal()) {
        // A stage that declares itself unable to go on is torn down now.
        teardown(s, n);
    }
}

// After a trap, a node with on-trap = "restart" gets a fresh start while its
// restart budget lasts.
bool restart(State& s, Node& n) {
    if (!n.spec.restart_on_trap || n.report.restarts >= n.spec.max_restarts) {
        return false;
    }
    if (!call_once(s, n, CallKind::init, [&] { return n.stage->restart(n.spec.config); }).ok()) {
        return false;
    }
    ++n.report.restarts;
    n.dead = false;
    n.torn_down = false;
    s.listeners.notify(kContainmentEvents,
                       [&](FlowObserver& o) { o.on_restarted(n.host.id, n.report.restarts); });
    return true;
}

// The policy, for a failed call with or without an element. Returns the
// error when the flow goes on without the node or fails.
void apply_policy(State& s, Node& n, const CallResult& r, std::string_view during,
                  std::optional<std::uint64_t> element) {
    Error e = error_for(s, n, r, during);
    note_failure(s, n, e, element);
    note_containment(s, n, r, e, element);
    n.failure = DeadLetterReason{
        error_code_name(e.code),
        std::string(r.status == CallStatus::guest_error ? guest_error_kind_name(r.guest_kind)
                                                        : call_status_name(r.status)),
        r.message, n.spec.name, n.attempts};
    if (r.instance_dead() && restart(s, n)) {
        // The node goes on with a fresh stage; the element that broke the
        // old one still follows the error policy.
        if (n.spec.on_error == ErrorPolicy::fail) {
            fail_flow(s, std::move(e));
        }
        return;
    }
    if (r.fatal() || n.spec.on_error == ErrorPolicy::fail) {
        stop_node(s, n, r);
    }
    if (n.spec.on_error == ErrorPolicy::fail) {
        fail_flow(s, std::move(e));
    } else if (n.stopped) {
        // The flow goes on without this node; keep why, for the report.
        s.report.node_errors.push_back(std::move(e));
    }
}

}  // namespace

CallResult call_once(State& s, Node& n, CallKind kind, FunctionRef<CallResult()> call) {
    // Times every call with the cheap tick clock; converted at the end.
    const std::uint64_t t0 = ticks();
    n.call_started = t0;
    CallResult r;
    {
        const FlowUnlocked unlocked(s);
        r = call();
    }
    n.call_ended = ticks();
    n.call_kind = kind;
    const std::uint64_t took = n.call_ended - t0;
    n.busy_ticks += took;
    ++n.report.calls;
    if (s.listeners.wants(kCallEvents | kCopyEvents)) {
        const std::uint32_t id = n.host.id;
        s.listeners.notify(kCallEvents,
                           [&](FlowObserver& o) { o.on_call(id, kind, took, r.status); });
        const CopyCount now = n.report.copies.total();
        if (now.copies != n.copies_seen.copies) {
            const CopyCount delta{now.copies - n.copies_seen.copies,
                                  now.bytes - n.copies_seen.bytes};
            n.copies_seen = now;
            s.listeners.notify(
                kCopyEvents, [&](FlowObserver& o) { o.on_copied(id, delta.copies, delta.bytes); });
        }
    }
    return r;
}

CallResult call_with_retries(State& s, Node& n, CallKind kind, std::optional<std::uint64_t> element,
                             FunctionRef<CallResult()> call) {
    n.host.refusal = Refusal::none;
    n.host.refusal_message.clear();
    n.attempts = 1;
    CallResult r = call_once(s, n, kind, call);
    if (n.spec.on_error != ErrorPolicy::retry) {
        return r;
    }
    auto backoff = n.spec.retry_backoff;
    for (std::uint32_t attempt = 0; attempt < n.spec.retries && r.retryable(); ++attempt) {
        ++n.report.errors;
        note_failure(s, n,
                     error_for(s, n, r,
                               fmt::format("failed (attempt {} of {}, retrying):", attempt + 1,
                                           n.spec.retries + 1)),
                     element);
        ++n.report.retries;
        {
            const FlowUnlocked unlocked(s);
            std::this_thread::sleep_for(backoff);
        }
        backoff *= 2;
        ++n.attempts;
        r = call_once(s, n, kind, call);
    }
    return r;
}

Error error_for(const State& s, const Node& n, const CallResult& r, std::string_view during) {
    (void)s;
    if (n.host.refusal == Refusal::budget) {
        return Error(ErrorCode::resource_budget,
                     fmt::format("node '{}' {} exceeded a buffer budget: {}", n.spec.name, during,
                                 n.host.refusal_message),
                     n.spec.where.str(),
                     "raise the node's or the flow's max-buffer-memory, or make smaller buffers");
    }
    if (n.host.refusal == Refusal::limit) {
        return Error(ErrorCode::guest_limit,
                     fmt::format("node '{}' {} exceeded a host limit: {}", n.spec.name, during,
                                 n.host.refusal_message),
                     n.spec.where.str(),
                     "the host's limits are fixed (docs/limits.md); fix the component");
    }
    // A trap the host caused by refusing a bad handle is a resource error.
    const ErrorCode code = r.status == CallStatus::trap && n.host.refusal == Refusal::handle
                               ? ErrorCode::resource_handle
                               : code_for(r);
    std::string message = fmt::format("node '{}' {} {}", n.spec.name, during, describe(r));
    if (code == ErrorCode::resource_handle) {
        message += fmt::format(" ({})", n.host.refusal_message);
    }
    if (r.status == CallStatus::limit) {
        const auto show = [](std::uint64_t v) {
            return v == 0 ? std::string("runtime default") : std::to_string(v);
        };
        message += fmt::format(" (limits: max-memory {}, max-table-elements {}, fuel {})",
                               show(n.spec.max_memory), show(n.spec.max_table_elements),
                               show(n.spec.fuel));
    }
    // What the operator could change, given what the policy did.
    std::string hint;
    switch (n.spec.on_error) {
        case ErrorPolicy::fail:
            hint =
                "to go on without such elements set on-error = \"skip\" on the node (or "
                "\"dead-letter\" to keep them)";
            break;
        case ErrorPolicy::skip:
            hint =
                "the element was skipped; to keep such elements set on-error = "
                "\"dead-letter\" with a dead-letter sink";
            break;
        case ErrorPolicy::retry:
            hint = fmt::format(
                "retried up to {} times; if the cause passes, raise retries or retry-backoff",
                n.spec.retries);
            break;
        case ErrorPolicy::dead_letter:
            hint = fmt::format("the element goes to the dead-letter sink '{}'", n.spec.dead_letter);
            break;
    }
    if (const HandleRule* rule = broken_handle_rule(r)) {
        return Error(ErrorCode::resource_handle,
                     fmt::format("{} (the rule: {})", message, rule->rule), n.spec.where.str(),
                     std::string(rule->hint));
    }
    if (r.status == CallStatus::deadline) {
        hint = "raise the call-timeout or fix the component's loop";
    } else if (r.status == CallStatus::host_limit) {
        hint = "the host's limits are fixed (docs/limits.md); fix the component";
    } else if (r.status == CallStatus::denied) {
        hint =
            "grant what the message names, or keep the component from calling it (the node "
            "has ungranted-imports = \"deny\")";
    }
    return Error(code, std::move(message), n.spec.where.str(), std::move(hint));
}

void give_up(State& s, Node& n, const ElementRef& el) {
    if (n.spec.on_error == ErrorPolicy::dead_letter) {
        ++n.report.dead_lettered;
        s.dead_letters[el.payload].push_back(n.failure);
        // Counted when the dead-letter sink takes it.
        push(s, n.dead_letter, visited(s, n, el, n.input_edge, VisitEnd::dead_lettered, 1));
        return;
    }
    visited(s, n, el, n.input_edge, VisitEnd::failed);
    s.lineage.end(el.origin, false);
    s.buffers.release(el.payload);
    ++s.report.failed;
    if (n.spec.on_error != ErrorPolicy::fail) {
        ++n.report.skipped;
    }
    s.listeners.notify(
        kPathEvents, [&](FlowObserver& o) { o.on_ended(PathEnd::failed, n.host.id, el.sequence); });
}

void on_failure(State& s, Node& n, const ElementRef& el, const CallResult& r,
                std::string_view during) {
    ++n.report.errors;
    if (r.status == CallStatus::stopped) {
        // The run is being stopped at once: the element is failed, the stage
        // is gone, and nothing is wrong with the node.
        n.stopped = n.dead = true;
    } else {
        // Observers are told of the element's own context (a batch's call
        // lends the first element's).
        const TraceContext* lent = n.host.element_trace;
        n.host.element_trace = &el.trace;
        apply_policy(s, n, r, during, el.sequence);
        n.host.element_trace = lent;
    }
    give_up(s, n, el);
}

void on_call_failure(State& s, Node& n, const CallResult& r, std::string_view during) {
    ++n.report.errors;
    if (r.status == CallStatus::stopped) {
        n.stopped = n.dead = true;
        return;
    }
    apply_policy(s, n, r, during, std::nullopt);
}

void fail_node(State& s, Node& n, const CallResult& r, std::string_view during,
               std::optional<ErrorCode> code) {
    ++n.report.errors;
    if (r.status == CallStatus::stopped) {
        n.stopped = n.dead = true;
        return;
    }
    stop_node(s, n, r);
    Error e = error_for(s, n, r, during);
    // A denied call keeps its own code: the fix is a grant, not the node.
    if (code && r.status != CallStatus::denied) {
        e.code = *code;
    }
    note_failure(s, n, e, std::nullopt);
    note_containment(s, n, r, e, std::nullopt);
    fail_flow(s, std::move(e));
}

void fail_flow(State& s, Error e) {
    if (!s.report.error) {
        s.report.error = std::move(e);
        s.report.stop = StopReason::failed;
    }
    s.stopping = true;
}

void teardown(State& s, Node& n) {
    if (n.torn_down || n.dead || !n.stage) {
        return;
    }
    n.torn_down = true;
    if (const CallResult r =
            call_once(s, n, CallKind::teardown, [&] { return n.stage->teardown(); });
        !r.ok()) {
        ++n.report.errors;
        n.dead = r.instance_dead();
    }
}

}  // namespace torvyn::detail
