// Component roles and the WIT interface each one exports.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace torvyn {

enum class Role : std::uint8_t { source, processor, sink, filter, router, aggregator };

std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view name);
// "torvyn:streaming/processor@0.1.0"
std::string_view role_interface(Role role);
// "data-processor": the world a component of this role targets.
std::string_view role_world(Role role);

}  // namespace torvyn
