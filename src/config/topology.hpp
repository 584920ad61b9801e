// Private to config: the graph checks parse_manifest runs on every flow.
#pragma once

#include <vector>

#include "torvyn/config/manifest.hpp"

namespace torvyn {

// Every topology problem of `flow` (edges to unknown nodes, ports, roles'
// in/out rules, dead letters, cycles), each with its place.
std::vector<Error> check_topology(const FlowSpec& flow);

}  // namespace torvyn
