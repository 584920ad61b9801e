// Component roles: one table row per role, read by the manifest (topology
// rules), the link checks (exports), the engine (which export the bridge
// binds), the SDK hints (worlds) and the scheduler (which driver runs it).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "torvyn/version.hpp"

namespace torvyn {

// The oldest contract this host still runs (frozen in wit/v0.1.0/); the
// newest is kContractVersion, the package of wit/.
inline constexpr std::string_view kOldestContractVersion = "0.1.0";

enum class Role : std::uint8_t { source, processor, sink, filter, router, aggregator };

struct RoleInfo {
    Role role;
    std::string_view name;       // in the manifest: role = "processor"
    std::string_view interface;  // the export, unversioned: "torvyn:streaming/processor"
    std::string_view world;      // what a component builds for: "data-processor"
    bool takes_input;            // has edges coming in (all but sources)
    bool gives_output;           // has edges going out (all but sinks)
    bool names_ports;            // its outgoing edges name ports (routers)
    bool takes_batches;          // has a batch form (contract 0.2: all but routers, aggregators)
};

// Every role, in the order of the enum. To add a role: a value above and a
// row here; its calls go through each layer once (docs/architecture.md,
// "How to add a role").
inline constexpr std::array<RoleInfo, 6> kRoles = {{
    {Role::source, "source", "torvyn:streaming/source", "data-source", false, true, false, true},
    {Role::processor, "processor", "torvyn:streaming/processor", "data-processor", true, true,
     false, true},
    {Role::sink, "sink", "torvyn:streaming/sink", "data-sink", true, false, false, true},
    {Role::filter, "filter", "torvyn:streaming/filter", "data-filter", true, true, false, true},
    {Role::router, "router", "torvyn:streaming/router", "data-router", true, true, true, false},
    {Role::aggregator, "aggregator", "torvyn:streaming/aggregator", "data-aggregator", true, true,
     false, false},
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

inline std::span<const RoleInfo> all_roles() {
    return kRoles;
}
inline const RoleInfo& role_info(Role role) {
    return kRoles[static_cast<std::size_t>(role)];
}
std::optional<Role> parse_role(std::string_view name);

inline std::string_view role_name(Role role) {
    return role_info(role).name;
}
// "torvyn:streaming/processor@0.1.0": at the contract version of wit/
// (kContractVersion, written by the build from the WIT package).
std::string role_interface(Role role);
// "data-processor": the world a component of this role targets.
inline std::string_view role_world(Role role) {
    return role_info(role).world;
}

// Whether `export_name` ("torvyn:streaming/processor@0.1.3") is `role`'s
// interface at a version this host speaks (0.x: a minor from the oldest's to
// the current's).
bool exports_role(std::string_view export_name, Role role);
// The contract versions this host speaks: "0.1.x or 0.2.x".
std::string compatible_versions();
// What to do when a component does not export its node's role: the one hint
// for the link check and the engine.
std::string wrong_world_hint(Role role);

}  // namespace torvyn
