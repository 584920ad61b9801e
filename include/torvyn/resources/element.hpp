// Elements as the host moves them: a payload handle and its metadata.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "torvyn/core/trace_context.hpp"
#include "torvyn/resources/buffer_store.hpp"

namespace torvyn {

// One piece of metadata an element came with from outside: "kafka.key",
// "nats.subject", "kafka.header.<name>", ... (docs/connectors.md lists them).
// The value is bytes (a Kafka key need not be text).
struct Attribute {
    std::string key;
    std::string value;
};
using Attributes = std::vector<Attribute>;

// Where an element's path started, when its source wants to learn what
// became of it (an at-least-once connector acknowledges a message only when
// everything derived from it is done) or it carries attributes. Shared by
// every path derived from the message: branches, a processor's output, an
// aggregate (whose origin lists the absorbed ones as parents). The reactor
// owns it (reactor/lineage); a stage only reads it.
struct ElementOrigin {
    // Paths (and aggregates) still holding it.
    std::atomic<std::uint32_t> refs{1};
    // A path ended failed or dropped: the message is to be redelivered.
    std::atomic<bool> failed{false};
    std::uint32_t source = 0;  // the node that produced it
    // The source's own name for the message; none: nobody is told.
    std::optional<std::uint64_t> token;
    Attributes attributes;
    // An aggregate's: the origins it absorbed, released when it is done.
    std::vector<ElementOrigin*> parents;
};

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
    // Null for the elements of sources that neither settle nor carry
    // attributes (components): they cost nothing.
    ElementOrigin* origin = nullptr;
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
    // A source that must learn when the element and everything derived from
    // it is done (Stage::settled) names it here.
    std::optional<std::uint64_t> ack_token;
    // Metadata from outside, readable by the stages it reaches (the
    // contract's element-attributes).
    Attributes attributes;
};

}  // namespace torvyn
