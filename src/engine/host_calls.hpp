// The C++ side of the torvyn host interfaces, as the bridge's callback table.
#pragma once

#include <torvyn_bridge.h>

namespace torvyn::detail {

// The callbacks every engine is created with. Each receives the NodeHost of
// the instance that is calling.
const tvb_host_callbacks& host_callbacks();

}  // namespace torvyn::detail
