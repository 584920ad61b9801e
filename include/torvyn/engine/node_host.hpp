// What the engine needs from the runtime while a node's guest runs: the
// flow's buffers, the node's copy ledger and the flow context it may read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "torvyn/resources/buffer_store.hpp"
#include "torvyn/resources/copy_ledger.hpp"

namespace torvyn {

// Immutable facts about a flow that guests can read through flow-context.
struct FlowContextInfo {
    std::string flow_id;
    std::string trace_id;  // 32 hex digits
    std::string span_id;   // 16 hex digits
    // Absolute deadline (steady clock, ns); none when the flow has none.
    std::optional<std::uint64_t> deadline_ns;
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
    const FlowContextInfo* context = nullptr;
    std::uint32_t context_handle = 1;
    // Set when a host call refused a guest request (why the guest trapped).
    std::string last_refusal;
    // Set when an allocation or write was refused for a byte budget.
    bool budget_refused = false;
};

}  // namespace torvyn
