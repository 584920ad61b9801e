// Component roles: one table row per role, read by the manifest (topology
// rules), the link checks (exports), the engine (which export the bridge
// binds), the SDK hints (worlds) and the scheduler (which driver runs it).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace torvyn {

enum class Role : std::uint8_t { source, processor, sink, filter, router, aggregator };

struct RoleInfo {
    Role role;
    std::string_view name;       // in the manifest: role = "processor"
    std::string_view interface;  // the export: "torvyn:streaming/processor@0.1.0"
    std::string_view world;      // what a component builds for: "data-processor"
    bool takes_input;            // has edges coming in (all but sources)
    bool gives_output;           // has edges going out (all but sinks)
    bool names_ports;            // its outgoing edges name ports (routers)
};

// Every role, in the order of the enum.
std::span<const RoleInfo> all_roles();
const RoleInfo& role_info(Role role);
std::optional<Role> parse_role(std::string_view name);

inline std::string_view role_name(Role role) {
    return role_info(role).name;
}
// "torvyn:streaming/processor@0.1.0"
inline std::string_view role_interface(Role role) {
    return role_info(role).interface;
}
// "data-processor": the world a component of this role targets.
inline std::string_view role_world(Role role) {
    return role_info(role).world;
}

}  // namespace torvyn
