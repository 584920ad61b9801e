#include <algorithm>
#include <array>
#include <cstdint>

#include "torvyn/core/capability.hpp"

namespace torvyn {
namespace {

// To add a capability: a row here. To cover a WASI interface the bridge does
// not link yet: a row in bridge/src/wasi.rs too (docs/architecture.md).
using I = std::string_view;
constexpr I kStdout[] = {"wasi:cli/stdout", "wasi:io/streams", "wasi:io/error", "wasi:io/poll"};
constexpr I kStderr[] = {"wasi:cli/stderr", "wasi:io/streams", "wasi:io/error", "wasi:io/poll"};
constexpr I kWallClock[] = {"wasi:clocks/wall-clock"};
// A clock subscription is a pollable.
constexpr I kMonotonicClock[] = {"wasi:clocks/monotonic-clock", "wasi:io/poll"};
constexpr I kRandom[] = {"wasi:random/random", "wasi:random/insecure", "wasi:random/insecure-seed"};
constexpr I kDirs[] = {"wasi:filesystem/types", "wasi:filesystem/preopens", "wasi:io/streams",
                       "wasi:io/error", "wasi:io/poll"};
constexpr I kEnv[] = {"wasi:cli/environment"};
constexpr I kNetwork[] = {"wasi:sockets/network", "wasi:sockets/instance-network",
                          "wasi:sockets/tcp",     "wasi:sockets/tcp-create-socket",
                          "wasi:sockets/udp",     "wasi:sockets/udp-create-socket",
                          "wasi:io/streams",      "wasi:io/error",
                          "wasi:io/poll"};
// A component ending itself (a trap for the host), an always-empty stdin, no
// terminal: WASI's libc adapter imports them for every program.
constexpr I kImplicit[] = {"wasi:cli/exit",           "wasi:cli/stdin",
                           "wasi:cli/terminal-input", "wasi:cli/terminal-output",
                           "wasi:cli/terminal-stdin", "wasi:cli/terminal-stdout",
                           "wasi:cli/terminal-stderr"};

// The first row covering a shared interface (wasi:io/*) is the one asked
// for when a component imports only that.
constexpr std::array<CapabilityInfo, 9> kCapabilities = {{
    {"stdout", GrantKey::named, kStdout, "capabilities = [\"stdout\"]", 2},
    {"stderr", GrantKey::named, kStderr, "capabilities = [\"stderr\"]", 2},
    {"wall-clock", GrantKey::named, kWallClock, "capabilities = [\"wall-clock\"]", 1},
    {"monotonic-clock", GrantKey::named, kMonotonicClock, "capabilities = [\"monotonic-clock\"]",
     1},
    {"random", GrantKey::named, kRandom, "capabilities = [\"random\"]", 1},
    {"env", GrantKey::env, kEnv, "env = [\"NAME\"]", 1},
    {"dirs", GrantKey::dirs, kDirs, "dirs = [{ host = \"DIR\", guest = \"/data\", mode = \"ro\" }]",
     0},
    {"network", GrantKey::connect, kNetwork, "connect = [\"127.0.0.1:PORT\"]", 0},
    {"", GrantKey::implicit, kImplicit, "", 3},
}};
}  // namespace

std::span<const CapabilityInfo> all_capabilities() {
    return kCapabilities;
}

const CapabilityInfo* find_capability(std::string_view name) {
    for (const auto& c : kCapabilities) {
        if (c.key != GrantKey::implicit && c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

const CapabilityInfo& implicit_capability() {
    return kCapabilities.back();
}

std::string_view interface_without_version(std::string_view import_name) {
    return import_name.substr(0, import_name.find('@'));
}

void Grants::cover(std::string_view interface) {
    if (std::find(interfaces.begin(), interfaces.end(), interface) == interfaces.end()) {
        interfaces.emplace_back(interface);
    }
}

void Grants::cover(const CapabilityInfo& capability) {
    for (auto i : capability.interfaces) {
        cover(i);
    }
}

}  // namespace torvyn
