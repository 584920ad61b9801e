// Capabilities: deny-all by default. A capability is one row of a table
// that the manifest (names it accepts), the link check (which imports a
// grant covers), the grant resolver (what the grant resolves against) and
// the engine (which WASI interfaces to link) all read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace torvyn {

// How a capability is granted in the manifest, and what it resolves
// against on the host.
enum class GrantKey : std::uint8_t {
    named,     // capabilities = ["stdout"]; nothing to resolve
    dirs,      // dirs = [{ host, guest, mode }]: host folders
    env,       // env = ["NAME"]: host environment values
    connect,   // connect = ["host:port"]: resolved addresses
    implicit,  // needs no grant: it reaches nothing on the host
};

struct CapabilityInfo {
    std::string_view name;  // as the manifest and the messages say it
    GrantKey key;
    // The WASI interfaces (without version) it covers; the I/O interfaces
    // (wasi:io/*) are covered by every capability that needs them.
    std::span<const std::string_view> interfaces;
    std::string_view how_to_grant;  // what to write in the manifest
    // Order in which denied imports are explained: the specific first.
    int rank;
};

// Every capability, the implicit one last.
std::span<const CapabilityInfo> all_capabilities();
// A capability the manifest may name; null for unknown names.
const CapabilityInfo* find_capability(std::string_view name);
// The row that covers the interfaces needing no grant.
const CapabilityInfo& implicit_capability();
// "wasi:cli/stdout@0.2.12" -> "wasi:cli/stdout".
std::string_view interface_without_version(std::string_view import_name);

// A host directory a node may use, as the guest sees it.
struct DirAccess {
    std::filesystem::path host;  // absolute, existing
    std::string guest;
    bool writable = false;
};

// An import a node is not granted, linked to stubs that refuse every call
// (ungranted-imports = "deny"): its full name and what would grant it.
struct StubbedImport {
    std::string name;  // "wasi:cli/stdout@0.2.6"
    std::string hint;  // "grant it: capabilities = [\"stdout\"]", or why nothing can
};

// What a node was granted, resolved against the host: the WASI interfaces
// to link (names without version) and the values some of them need.
struct Grants {
    std::vector<std::string> interfaces;
    std::vector<DirAccess> dirs;
    std::vector<std::pair<std::string, std::string>> env;  // name, value
    std::vector<std::string> connect;                      // "ip:port", "[ip6]:port"
    // Not granted, linked to denying stubs.
    std::vector<StubbedImport> stubbed;
    // Told about every network operation the grants refuse, and every call
    // of a stub.
    std::function<void(std::string_view)> on_denied;

    // Adds the interfaces of `capability` not already there.
    void cover(const CapabilityInfo& capability);
    void cover(std::string_view interface);
};

}  // namespace torvyn
