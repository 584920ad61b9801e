// Human and machine renderings of what a run did.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "torvyn/reactor/flow.hpp"

namespace torvyn {

// A fixed-width table per flow: per-node counts, time and copies, then the
// flow's totals and its element accounting.
std::string format_summary(const FlowReport& report);

// The same facts as JSON (stable field names, times in nanoseconds).
nlohmann::json report_to_json(const FlowReport& report);

}  // namespace torvyn
