// Capabilities: deny-all by default. A node may import the torvyn host
// interfaces and nothing else, unless the manifest grants it a capability
// that covers the import. This module maps imports to capabilities, checks a
// component's real imports against a node's grants, and resolves grants
// against the host (directories, environment values, addresses).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "torvyn/config/manifest.hpp"
#include "torvyn/core/error.hpp"
#include "torvyn/engine/engine.hpp"

namespace torvyn {

// "wasi:cli/stdout@0.2.12" -> "wasi:cli/stdout".
std::string_view interface_without_version(std::string_view import_name);

// The capabilities that would each allow `import_name` (any one suffices);
// empty when no capability can grant it.
std::vector<std::string_view> capabilities_covering(std::string_view import_name);

// The capability names a node holds: its `capabilities` plus "dirs", "env"
// and "network" when it has such grants.
std::vector<std::string> held_capabilities(const NodeSpec& node);

struct ImportCheck {
    std::vector<Error> errors;        // E0203: an import no grant covers
    std::vector<Error> warnings;      // E0205: a grant no import uses
    bool needs_exit = false;          // imports wasi:cli/exit (always allowed)
    bool needs_null_devices = false;  // imports stdin or a terminal (always allowed, empty)
};

// Checks every import of a component against a node's grants.
ImportCheck check_imports(const std::vector<std::string>& imports, const NodeSpec& node);

struct ResolvedGrants {
    Grants grants;
    std::vector<std::string> described;  // one line per grant, for the audit log
};

// Turns a node's manifest grants into engine grants: directories absolute and
// existing, environment values read from the host, addresses resolved.
Result<ResolvedGrants> resolve_grants(const NodeSpec& node, const std::filesystem::path& base_dir);

}  // namespace torvyn
