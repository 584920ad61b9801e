#include "torvyn/security/capabilities.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace torvyn {
namespace {

struct Coverage {
    std::string_view interface;
    std::array<std::string_view, 4> capabilities;  // any one allows it
};

// Every WASI 0.2 interface a component can import, and what grants it.
// Streams, polls and errors serve every I/O capability.
constexpr std::array<Coverage, 19> kCoverage = {{
    {"wasi:cli/stdout", {"stdout"}},

    {"wasi:cli/stderr", {"stderr"}},

    {"wasi:cli/environment", {"env"}},
    {"wasi:io/streams", {"stdout", "stderr", "dirs", "network"}},
    {"wasi:io/error", {"stdout", "stderr", "dirs", "network"}},
    {"wasi:io/poll", {"stdout", "stderr", "dirs", "network"}},
    {"wasi:clocks/wall-clock", {"wall-clock"}},
    {"wasi:clocks/monotonic-clock", {"monotonic-clock"}},
    {"wasi:random/random", {"random"}},
    {"wasi:random/insecure", {"random"}},
    {"wasi:random/insecure-seed", {"random"}},
    {"wasi:filesystem/types", {"dirs"}},
    {"wasi:filesystem/preopens", {"dirs"}},
    {"wasi:sockets/network", {"network"}},
    {"wasi:sockets/instance-network", {"network"}},
    {"wasi:sockets/tcp", {"network"}},
    {"wasi:sockets/tcp-create-socket", {"network"}},
    {"wasi:sockets/udp", {"network"}},
    {"wasi:sockets/udp-create-socket", {"network"}},

}};

// What to write in the manifest to grant `capability`.
std::string how_to_grant(std::string_view capability) {
    if (capability == "dirs") {
        return "grant it: dirs = [{ host = \"DIR\", guest = \"/data\", mode = \"ro\" }]";
    }
    if (capability == "env") {
        return "grant it: env = [\"NAME\"]";
    }
    if (capability == "network") {
        return "grant it: connect = [\"127.0.0.1:PORT\"]";
    }
    return fmt::format("grant it: capabilities = [\"{}\"]", capability);
}

bool is_io(std::string_view iface) {
    return iface.rfind("wasi:io/", 0) == 0;
}

// Interfaces that reach nothing on the host: a component ending itself
// (a trap for the host), an always-empty stdin, no terminal. WASI's libc
// adapter imports them for every program, so they need no grant.
bool is_null_device(std::string_view iface) {
    return iface == "wasi:cli/exit" || iface == "wasi:cli/stdin" ||
           iface.rfind("wasi:cli/terminal-", 0) == 0;
}

// Order in which denied imports are explained: the specific ones first.
int import_rank(std::string_view iface) {
    if (iface.rfind("wasi:filesystem/", 0) == 0 || iface.rfind("wasi:sockets/", 0) == 0) {
        return 0;
    }
    if (iface == "wasi:cli/environment" || iface.rfind("wasi:random/", 0) == 0 ||
        iface.rfind("wasi:clocks/", 0) == 0) {
        return 1;
    }
    if (is_io(iface)) {
        return 3;
    }
    return 2;
}

// "host:port" -> "ip:port" for each address the host resolves to.
Result<std::vector<std::string>> resolve_address(const std::string& text) {
    const auto colon = text.rfind(':');
    std::string host = text.substr(0, colon);
    const std::string port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        return Error(ErrorCode::manifest_value,
                     fmt::format("cannot resolve '{}': {}", text, gai_strerror(rc)), {},
                     "use an IP address, or a name this host resolves");
    }
    std::vector<std::string> out;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        char ip[NI_MAXHOST];
        if (getnameinfo(a->ai_addr, a->ai_addrlen, ip, sizeof ip, nullptr, 0, NI_NUMERICHOST) !=
            0) {
            continue;
        }
        const std::string addr = a->ai_family == AF_INET6 ? fmt::format("[{}]:{}", ip, port)
                                                          : fmt::format("{}:{}", ip, port);
        if (std::find(out.begin(), out.end(), addr) == out.end()) {
            out.push_back(addr);
        }
    }
    freeaddrinfo(found);
    return out;
}

}  // namespace

std::string_view interface_without_version(std::string_view import_name) {
    return import_name.substr(0, import_name.find('@'));
}

std::vector<std::string_view> capabilities_covering(std::string_view import_name) {
    const std::string_view iface = interface_without_version(import_name);
    for (const auto& c : kCoverage) {
        if (c.interface == iface) {
            std::vector<std::string_view> out;
            for (auto cap : c.capabilities) {
                if (!cap.empty()) {
                    out.push_back(cap);
                }
            }
            return out;
        }
    }
    return {};
}

std::vector<std::string> held_capabilities(const NodeSpec& node) {
    std::vector<std::string> held = node.capabilities;
    if (!node.dirs.empty()) {
        held.emplace_back("dirs");
    }
    if (!node.env.empty()) {
        held.emplace_back("env");
    }
    if (!node.connect.empty()) {
        held.emplace_back("network");
    }
    return held;
}

ImportCheck check_imports(const std::vector<std::string>& imports, const NodeSpec& node) {
    ImportCheck out;
    const std::vector<std::string> held = held_capabilities(node);
    std::vector<std::string> used;
    std::vector<std::string_view> missing;  // capabilities to grant, in order of importance
    std::string first_import;               // the most specific import that needs one
    std::size_t denied_imports = 0;
    // Most specific first: a file import says more than the streams it needs.
    std::vector<std::string> ordered = imports;
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const std::string& a, const std::string& b) {
                         return import_rank(interface_without_version(a)) <
                                import_rank(interface_without_version(b));
                     });
    for (const auto& imp : ordered) {
        if (imp.rfind("torvyn:streaming/", 0) == 0) {
            continue;  // the host interfaces every role may use
        }
        const std::string_view iface = interface_without_version(imp);
        if (is_null_device(iface)) {
            // Ending itself, an empty stdin, no terminal: no host access.
            out.needs_exit |= iface == "wasi:cli/exit";
            out.needs_null_devices |= iface != "wasi:cli/exit";
            continue;
        }
        const auto caps = capabilities_covering(imp);
        const auto granted = std::find_if(caps.begin(), caps.end(), [&](std::string_view c) {
            return std::find(held.begin(), held.end(), c) != held.end();
        });
        if (granted != caps.end()) {
            if (!is_io(iface)) {
                used.emplace_back(*granted);
            }
            continue;
        }
        if (caps.empty()) {
            out.errors.emplace_back(
                ErrorCode::component_link,
                fmt::format("node '{}': component imports {}, which no capability grants",
                            node.name, imp),
                node.where.str(),
                "components may import torvyn:streaming interfaces and the WASI interfaces of "
                "their grants; rebuild the component without this import");
            continue;
        }
        ++denied_imports;
        if (first_import.empty()) {
            first_import = imp;
        }
        // Streams come with stdout, stderr, dirs or network: ask for one only
        // if nothing else was asked for.
        if (is_io(iface)) {
            continue;
        }
        if (std::find(missing.begin(), missing.end(), caps.front()) == missing.end()) {
            missing.push_back(caps.front());
        }
    }
    if (denied_imports > 0) {
        if (missing.empty()) {
            missing.push_back("stdout");
        }
        // One line the operator can paste: named capabilities together, then
        // the grants that take values.
        std::vector<std::string> named;
        std::vector<std::string> hints;
        for (auto m : missing) {
            if (m == "dirs" || m == "env" || m == "network") {
                hints.push_back(how_to_grant(m).substr(std::string_view("grant it: ").size()));
            } else {
                named.push_back(fmt::format("\"{}\"", m));
            }
        }
        if (!named.empty()) {
            hints.insert(hints.begin(), fmt::format("capabilities = [{}]", fmt::join(named, ", ")));
        }
        hints.front().insert(0, missing.size() > 1 ? "grant them: " : "grant it: ");
        out.errors.emplace_back(
            ErrorCode::component_link,
            fmt::format(
                "node '{}': component imports {}{}, which needs {} '{}'", node.name, first_import,
                denied_imports > 1
                    ? fmt::format(" and {} more ungranted interface(s)", denied_imports - 1)
                    : "",
                missing.size() > 1 ? "capabilities" : "capability", fmt::join(missing, "', '")),
            node.where.str(), fmt::format("{}", fmt::join(hints, "; ")));
    }
    for (const auto& h : held) {
        if (std::find(used.begin(), used.end(), h) == used.end()) {
            out.warnings.emplace_back(
                ErrorCode::component_unused_grant,
                fmt::format(
                    "node '{}' is granted '{}' but its component imports nothing that uses it",
                    node.name, h),
                (node.grants_where.line != 0 ? node.grants_where : node.where).str(),
                "remove the grant: deny by default");
        }
    }
    return out;
}

Result<ResolvedGrants> resolve_grants(const NodeSpec& node, const std::filesystem::path& base_dir) {
    ResolvedGrants out;
    Grants& g = out.grants;
    for (const auto& c : node.capabilities) {
        g.stdout_stream |= c == "stdout";
        g.stderr_stream |= c == "stderr";
        g.wall_clock |= c == "wall-clock";
        g.monotonic_clock |= c == "monotonic-clock";
        g.random |= c == "random";
        out.described.push_back(c);
    }
    for (const auto& d : node.dirs) {
        std::error_code ec;
        std::filesystem::path host = d.host;
        if (host.is_relative()) {
            host = base_dir / host;
        }
        host = std::filesystem::weakly_canonical(host, ec);
        if (ec || !std::filesystem::is_directory(host, ec)) {
            return Error(
                ErrorCode::grant_invalid,
                fmt::format("node '{}': granted directory '{}' does not exist", node.name, d.host),
                d.where.str(), "create it, or fix the path (relative to the manifest)");
        }
        g.dirs.push_back(DirAccess{host, d.guest, d.writable});
        out.described.push_back(fmt::format("dir {} -> {} ({})", host.string(), d.guest,
                                            d.writable ? "read-write" : "read-only"));
    }
    for (const auto& name : node.env) {
        if (const char* v = std::getenv(name.c_str()); v != nullptr) {
            g.env.emplace_back(name, v);
            out.described.push_back("env " + name);
        } else {
            out.described.push_back("env " + name + " (unset on this host)");
        }
    }
    for (const auto& c : node.connect) {
        auto addrs = resolve_address(c);
        if (!addrs) {
            auto e = std::move(addrs).error();
            e.code = ErrorCode::grant_invalid;
            e.message = fmt::format("node '{}': {}", node.name, e.message);
            e.where = node.where.str();
            return e;
        }
        for (auto& a : addrs.value()) {
            out.described.push_back("connect " + a);
            g.connect.push_back(std::move(a));
        }
    }
    return out;
}

}  // namespace torvyn
