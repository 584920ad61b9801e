// Elements as the host moves them: a payload handle and its metadata.
#pragma once

#include <chrono>
#include <cstdint>

#include "torvyn/core/trace_context.hpp"
#include "torvyn/resources/buffer_store.hpp"

namespace torvyn {

// An element as the host holds it and lends it to a stage.
struct ElementRef {
    std::uint64_t sequence = 0;
    std::uint64_t timestamp_ns = 0;
    BufferHandle payload = 0;
    // Host-only: when its path started (torvyn::ticks()), for end-to-end
    // latency; 0 when nobody measures it.
    std::uint64_t born_ticks = 0;
    // Its W3C trace context: assigned where its path starts (or kept from
    // the outside), its parent span moved on at every traced visit.
    TraceContext trace;
    // Host-only, for sampled elements: when it entered its current queue.
    std::uint64_t queued_ticks = 0;
};

// An element a stage produced; its payload is already in the host's hands
// (in transit, one reference).
struct Produced {
    bool present = false;
    // Sources: nothing yet, but not exhausted (the outside world has not
    // delivered). The host asks again after `retry_after`, or as soon as the
    // stage's FlowWaker is woken (0: only then); it waits, never spins.
    bool pending = false;
    std::chrono::nanoseconds retry_after{0};
    std::uint64_t sequence = 0;
    std::uint64_t timestamp_ns = 0;
    BufferHandle payload = 0;
    // A context the element arrived with from outside (a connector's
    // `traceparent`); invalid (all zero) when it had none.
    TraceContext trace;
};

}  // namespace torvyn
