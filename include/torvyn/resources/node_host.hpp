// What the engine needs from the runtime while a node's guest runs: the
// flow's buffers, the node's copy ledger and the flow context it may read.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "torvyn/core/trace_context.hpp"
#include "torvyn/resources/buffer_store.hpp"
#include "torvyn/resources/copy_ledger.hpp"
#include "torvyn/resources/element.hpp"

namespace torvyn {

// Immutable facts about a flow that guests can read through flow-context.
struct FlowContextInfo {
    std::string flow_id;
    std::string trace_id;  // 32 hex digits
    std::string span_id;   // 16 hex digits
    // Absolute deadline (steady clock, ns); none when the flow has none.
    std::optional<std::uint64_t> deadline_ns;
};

// Why an element reached a dead-letter sink (the contract's
// dead-letter-reason), lent to that sink's push.
struct DeadLetterReason {
    std::string code;  // "E0303"
    std::string kind;  // "invalid-input", "trap", ...
    std::string message;
    std::string node;  // the node that gave it up
    std::uint32_t attempts = 1;
};

// How a run is asked to stop, shared by every flow of the run: 0 run, 1 stop
// gracefully (sources stop, queues drain, sinks complete), 2 stop now (the
// calls in progress end too).
enum class StopRequest : int { none = 0, graceful = 1, forced = 2 };

// Why the host refused a guest's request during the current call; decides
// the error code of the failure that follows.
enum class Refusal : std::uint8_t {
    none,
    handle,  // a handle the guest does not hold, or not in this state (E0401)
    budget,  // a byte budget, max-buffer-memory (E0400)
    limit,   // one of the limits in torvyn/core/limits.hpp (E0302)
};

struct NodeHost;

// Takes a guest's stderr, a line at a time (structured logs), instead of
// Torvyn's stderr. Called from the node's driver thread; `line` is the
// guest's raw text (escape it for a terminal).
class GuestLineSink {
public:
    virtual ~GuestLineSink() = default;
    virtual void guest_line(const NodeHost& node, std::string_view line) = 0;
};

// Handed to the engine per instance; must outlive it. Used only by the
// thread that drives the instance.
struct NodeHost {
    BufferStore* buffers = nullptr;
    CopyLedger* ledger = nullptr;
    // The ledger of the edge the current element arrived on (reads are
    // counted there too); null for sources.
    CopyLedger* edge_ledger = nullptr;
    NodeId id = 0;
    // Names the node in its guest's stderr lines ("printer| ...").
    std::string name;
    // The run's StopRequest: at `forced`, the call in progress ends.
    const std::atomic<int>* stop = nullptr;
    const FlowContextInfo* context = nullptr;
    std::uint32_t context_handle = 1;
    // The trace context of the call's element and the edge it came on, for
    // flow-context's trace-id and span-id (null: the flow's own, as in init).
    const TraceContext* element_trace = nullptr;
    std::uint32_t element_edge = 0;
    std::string trace_text;  // what flow-context last lent: trace-id, span-id
    std::string span_text;
    // The elements of the call in progress (one, or a batch's, in order):
    // element-attributes(index) reads elements[index].origin's attributes.
    std::span<const ElementRef> call_elements;
    // During a dead-letter sink's push of a dead-lettered element: why.
    const DeadLetterReason* dead_letter = nullptr;
    // The last refusal of the current call and what it said (why the guest
    // trapped, or why its own error followed). Reset before every call.
    Refusal refusal = Refusal::none;
    std::string refusal_message;
    // Where its stderr lines go (null: Torvyn's stderr, headed by its name).
    GuestLineSink* guest_lines = nullptr;
    // The guest's stderr since its last '\n' (at most limits::kMaxGuestLineBytes).
    std::string stderr_line;
    // Calls the guest made into the host (torvyn interfaces, granted output).
    std::uint64_t host_calls = 0;
    // Of those, reads of a payload (buffer.read, buffer.read-all): whether a
    // component reads what it is lent decides how batches carry payloads.
    std::uint64_t payload_reads = 0;
};

}  // namespace torvyn
