// Capabilities: deny-all by default. A node may import the torvyn host
// interfaces and nothing else, unless the manifest grants it a capability
// that covers the import. This module reads the capability table
// (torvyn/core/capability.hpp) to check a component's real imports against a
// node's grants, and resolves grants against the host (directories,
// environment values, addresses).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "torvyn/config/manifest.hpp"
#include "torvyn/core/capability.hpp"
#include "torvyn/core/error.hpp"

namespace torvyn {

// The capabilities that would each allow `import_name` (any one suffices),
// in table order; empty when no capability can grant it. The implicit row
// is not among them.
std::vector<const CapabilityInfo*> capabilities_covering(std::string_view import_name);

// Whether a node holds `capability`: named in `capabilities`, or given the
// values it resolves against (dirs, env, connect).
bool holds(const NodeSpec& node, const CapabilityInfo& capability);

struct ImportCheck {
    std::vector<Error> errors;    // E0203: an import no grant covers
    std::vector<Error> warnings;  // E0205: a grant no import uses
    // Imports that need no grant (exit, an empty stdin, no terminal): linked
    // only when imported.
    std::vector<std::string> implicit;
    // With ungranted-imports = "deny": the WASI imports not granted, to link
    // to stubs that refuse every call (instead of errors).
    std::vector<StubbedImport> stubbed;
};

// Checks every import of a component against a node's grants.
ImportCheck check_imports(const std::vector<std::string>& imports, const NodeSpec& node);

struct ResolvedGrants {
    Grants grants;
    std::vector<std::string> described;  // one line per grant, for the audit log
};

// Turns a node's manifest grants into engine grants: the interfaces of every
// capability it holds, directories absolute and existing, environment values
// read from the host, addresses resolved.
Result<ResolvedGrants> resolve_grants(const NodeSpec& node, const std::filesystem::path& base_dir);

}  // namespace torvyn
