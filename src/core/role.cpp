#include "torvyn/core/role.hpp"

#include <charconv>

#include <fmt/format.h>

namespace torvyn {
namespace {

struct Version {
    unsigned major = 0;
    unsigned minor = 0;
};

// "major.minor[.patch...]" at the start of `text`.
std::optional<Version> parse_version(std::string_view text) {
    Version v;
    const char* end = text.data() + text.size();
    const auto r1 = std::from_chars(text.data(), end, v.major);
    if (r1.ec != std::errc() || r1.ptr == end || *r1.ptr != '.') {
        return std::nullopt;
    }
    if (std::from_chars(r1.ptr + 1, end, v.minor).ec != std::errc()) {
        return std::nullopt;
    }
    return v;
}

}  // namespace

std::optional<Role> parse_role(std::string_view name) {
    for (const auto& r : kRoles) {
        if (r.name == name) {
            return r.role;
        }
    }
    return std::nullopt;
}

std::string role_interface(Role role) {
    return fmt::format("{}@{}", role_info(role).interface, kContractVersion);
}

bool exports_role(std::string_view export_name, Role role) {
    const std::string_view name = role_info(role).interface;
    if (export_name.size() <= name.size() || export_name.rfind(name, 0) != 0 ||
        export_name[name.size()] != '@') {
        return false;
    }
    // Semver: 0.x versions are compatible within one minor version, and the
    // host speaks every minor from the oldest it kept to the current one.
    const auto theirs = parse_version(export_name.substr(name.size() + 1));
    const auto newest = parse_version(kContractVersion);
    const auto oldest = parse_version(kOldestContractVersion);
    return theirs && newest && oldest && theirs->major == newest->major &&
           theirs->minor >= oldest->minor && theirs->minor <= newest->minor;
}

std::string compatible_versions() {
    const auto newest = parse_version(kContractVersion);
    const auto oldest = parse_version(kOldestContractVersion);
    if (!newest || !oldest) {
        return std::string(kContractVersion);
    }
    std::string out;
    for (unsigned minor = oldest->minor; minor <= newest->minor; ++minor) {
        out += fmt::format("{}{}.{}.x", out.empty() ? "" : (minor == newest->minor ? " or " : ", "),
                           newest->major, minor);
    }
    return out;
}

std::string wrong_world_hint(Role role) {
    return fmt::format(
        "build it for the '{}' world (torvyn_add_component ROLE {}) or change the node's role",
        role_world(role), role_name(role));
}

}  // namespace torvyn
