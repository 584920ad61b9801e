// Capabilities: which imports a grant allows. Deny-all by default: a node
// may import the torvyn host interfaces and nothing else unless the manifest
// grants it a capability that covers the import.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "torvyn/core/error.hpp"

namespace torvyn {

// "wasi:cli/stdout@0.2.12" -> "wasi:cli/stdout".
std::string_view interface_without_version(std::string_view import_name);

// The capabilities that would each allow `import_name` (any one suffices);
// empty when no capability can grant it.
std::vector<std::string_view> capabilities_covering(std::string_view import_name);

// Checks every import of a component against a node's grants. The error
// names the first import that is not covered and the capability to grant.
Status check_imports(const std::vector<std::string>& imports,
                     const std::vector<std::string>& granted, std::string_view node_name);

}  // namespace torvyn
