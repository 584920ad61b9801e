// The engine's private view of the bridge: owners of bridge objects, the
// state an Instance keeps, and what its calls share. Included by the
// engine's sources only (engine.cpp, instance.cpp, batch.cpp).
#pragma once

#include <torvyn_bridge.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "epoch_ticker.hpp"
#include "torvyn/core/limits.hpp"
#include "torvyn/engine/engine.hpp"

namespace torvyn {

// Every bridge object is held by one of these; they free it exactly once.
struct BridgeFree {
    void operator()(tvb_engine* p) const { tvb_engine_free(p); }
    void operator()(tvb_component* p) const { tvb_component_free(p); }
    void operator()(tvb_prepared* p) const { tvb_prepared_free(p); }
    void operator()(tvb_instance* p) const { tvb_instance_free(p); }
    void operator()(tvb_error* p) const { tvb_error_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, BridgeFree>;

// How a batch carries payloads to a component. By value saves a handle and
// a host call per element, but copies payloads a component may never read
// (a filter or router on metadata): the first batch is lent, and the
// component's reads of it decide.
enum class PayloadMode : std::uint8_t { probe, by_value, lent };

// What a batch call lends and gets back, kept to reuse the memory.
struct BatchScratch {
    PayloadMode mode = PayloadMode::probe;
    std::uint64_t reads_before = 0;  // NodeHost::payload_reads when a probe began
    tvb_batch batch{};
    std::vector<tvb_batch_element> elements;
    std::vector<std::byte> bytes;         // payloads carried by value
    std::vector<std::string_view> types;  // distinct content types (the buffers' own)
    std::vector<tvb_bytes> type_views;
    std::vector<tvb_batch_result> results;
};
struct Instance::Raw {
    std::shared_ptr<const PreparedComponent> prepared;
    Owned<tvb_instance> handle;
    BatchScratch scratch;
    std::shared_ptr<CallGate> gate;  // each guest call holds an InCall on it
};
// A bridge call's outcome: null on success.
struct Instance::Failure {
    Owned<tvb_error> error;
};

namespace detail {

using ErrorPtr = Owned<tvb_error>;

inline std::string message_of(const tvb_error* e) {
    const uint8_t* data = nullptr;
    size_t len = 0;
    tvb_error_message(e, &data, &len);
    return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), len);
}

inline std::string_view text(const uint8_t* data, size_t len) {
    return {reinterpret_cast<const char*>(data), len};
}

// A guest that says "pending" without a time is asked again after
// limits::kGuestPendingRetry: no one else would wake the flow.
inline std::chrono::nanoseconds guest_retry_after(std::uint64_t ns) {
    return ns != 0 ? std::chrono::nanoseconds(ns) : limits::kGuestPendingRetry;
}

// A guest's process-error kind, and a bridge status, as the host's.
GuestErrorKind guest_kind(tvb_process_error_kind kind);
CallStatus call_status(tvb_status status);

}  // namespace detail
}  // namespace torvyn
