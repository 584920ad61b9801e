// The C++ side of the torvyn host interfaces, as the bridge's callback table.
#pragma once

#include <torvyn_bridge.h>

#include <span>
#include <string_view>

#include "torvyn/resources/node_host.hpp"

namespace torvyn::detail {

// The callbacks every engine is created with. Each receives the NodeHost of
// the instance that is calling.
const tvb_host_callbacks& host_callbacks();

// A frozen buffer holding a copy of `bytes` (counted in the node's ledger)
// and owned by the node's guest, as buffer-allocator.make makes it; 0 when a
// budget or limit refused it (h.refusal says why, `why` what).
BufferHandle make_guest_buffer(NodeHost& h, std::span<const std::byte> bytes, std::string_view type,
                               BufferOp* why);

}  // namespace torvyn::detail
