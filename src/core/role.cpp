#include "torvyn/core/role.hpp"

#include <array>

namespace torvyn {
namespace {

// To add a role: a row here, its interface and world in wit/, its driver in
// src/reactor/drivers.cpp, its calls in the bridge (docs/architecture.md).
constexpr std::array<RoleInfo, 6> kRoles = {{
    {Role::source, "source", "torvyn:streaming/source@0.1.0", "data-source", false, true, false},
    {Role::processor, "processor", "torvyn:streaming/processor@0.1.0", "data-processor", true, true,
     false},
    {Role::sink, "sink", "torvyn:streaming/sink@0.1.0", "data-sink", true, false, false},
    {Role::filter, "filter", "torvyn:streaming/filter@0.1.0", "data-filter", true, true, false},
    {Role::router, "router", "torvyn:streaming/router@0.1.0", "data-router", true, true, true},
    {Role::aggregator, "aggregator", "torvyn:streaming/aggregator@0.1.0", "data-aggregator", true,
     true, false},
}};

static_assert(
    [] {
        for (std::size_t i = 0; i < kRoles.size(); ++i) {
            if (static_cast<std::size_t>(kRoles[i].role) != i) {
                return false;
            }
        }
        return true;
    }(),
    "kRoles is indexed by Role");

}  // namespace

std::span<const RoleInfo> all_roles() {
    return kRoles;
}

const RoleInfo& role_info(Role role) {
    return kRoles[static_cast<std::size_t>(role)];
}

std::optional<Role> parse_role(std::string_view name) {
    for (const auto& r : kRoles) {
        if (r.name == name) {
            return r.role;
        }
    }
    return std::nullopt;
}

}  // namespace torvyn
