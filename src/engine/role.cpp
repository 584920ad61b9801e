#include "torvyn/engine/role.hpp"

#include <array>

namespace torvyn {
namespace {

struct RoleNames {
    Role role;
    std::string_view name;
    std::string_view interface;
    std::string_view world;
};

constexpr std::array<RoleNames, 6> kRoles = {{
    {Role::source, "source", "torvyn:streaming/source@0.1.0", "data-source"},
    {Role::processor, "processor", "torvyn:streaming/processor@0.1.0", "data-processor"},
    {Role::sink, "sink", "torvyn:streaming/sink@0.1.0", "data-sink"},
    {Role::filter, "filter", "torvyn:streaming/filter@0.1.0", "data-filter"},
    {Role::router, "router", "torvyn:streaming/router@0.1.0", "data-router"},
    {Role::aggregator, "aggregator", "torvyn:streaming/aggregator@0.1.0", "data-aggregator"},
}};

const RoleNames& names(Role role) {
    return kRoles[static_cast<std::size_t>(role)];
}

}  // namespace

std::string_view role_name(Role role) {
    return names(role).name;
}
std::string_view role_interface(Role role) {
    return names(role).interface;
}
std::string_view role_world(Role role) {
    return names(role).world;
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
