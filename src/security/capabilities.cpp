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

// An interface several capabilities cover (wasi:io/*) comes with any of
// them: it says nothing about which one the component needs.
bool is_shared(const std::vector<const CapabilityInfo*>& covering) {
    return covering.size() > 1;
}

// Order in which denied imports are explained: the specific ones first.
int import_rank(std::string_view import_name) {
    const auto covering = capabilities_covering(import_name);
    if (covering.empty()) {
        return 0;
    }
    return is_shared(covering) ? 3 : covering.front()->rank;
}

bool is_implicit(std::string_view iface) {
    const auto& ifaces = implicit_capability().interfaces;
    return std::find(ifaces.begin(), ifaces.end(), iface) != ifaces.end();
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

std::vector<const CapabilityInfo*> capabilities_covering(std::string_view import_name) {
    const std::string_view iface = interface_without_version(import_name);
    std::vector<const CapabilityInfo*> out;
    for (const auto& c : all_capabilities()) {
        if (c.key != GrantKey::implicit &&
            std::find(c.interfaces.begin(), c.interfaces.end(), iface) != c.interfaces.end()) {
            out.push_back(&c);
        }
    }
    return out;
}

bool holds(const NodeSpec& node, const CapabilityInfo& capability) {
    switch (capability.key) {
        case GrantKey::named:
            return std::find(node.capabilities.begin(), node.capabilities.end(), capability.name) !=
                   node.capabilities.end();
        case GrantKey::dirs:
            return !node.dirs.empty();
        case GrantKey::env:
            return !node.env.empty();
        case GrantKey::connect:
            return !node.connect.empty();
        case GrantKey::implicit:
            return true;
    }
    return false;
}

namespace {

// What a call of a stubbed import says would allow it.
std::string grant_to_allow(const std::vector<const CapabilityInfo*>& covering) {
    if (covering.empty()) {
        return "no capability grants it";
    }
    std::vector<std::string> names;
    for (const CapabilityInfo* c : covering) {
        names.push_back(fmt::format("'{}'", c->name));
    }
    return fmt::format("grant {}{} to allow it", names.size() > 1 ? "one of " : "",
                       fmt::join(names, ", "));
}

// The one error that refuses a component: every ungranted import, what
// would grant those a capability covers (a hint to paste), and the rest.
Error refusal(const NodeSpec& node, const std::vector<std::string_view>& denied,
              const std::vector<std::string_view>& ungrantable,
              std::vector<const CapabilityInfo*> missing, bool c_stdio) {
    std::vector<std::string> parts;
    std::vector<std::string> hints;
    if (!denied.empty()) {
        if (missing.empty()) {
            missing = capabilities_covering(denied.front());
            missing.resize(1);
        }
        // One line the operator can paste: named capabilities together, then
        // the grants that take values.
        std::vector<std::string> named;
        std::vector<std::string_view> names;
        for (const CapabilityInfo* m : missing) {
            names.push_back(m->name);
            if (m->key == GrantKey::named) {
                named.push_back(fmt::format("\"{}\"", m->name));
            } else {
                hints.emplace_back(m->how_to_grant);
            }
        }
        if (!named.empty()) {
            hints.insert(hints.begin(), fmt::format("capabilities = [{}]", fmt::join(named, ", ")));
        }
        hints.front().insert(0, missing.size() > 1 ? "grant them: " : "grant it: ");
        if (c_stdio) {
            // Files and terminals together: the C library's stdio, not what
            // the component means to do. Never nudge towards a directory.
            hints.front().insert(
                0,
                "these imports are what the C library's stdio (printf, puts, fopen) brings in: "
                "print with the SDK's helpers instead (C: torvyn_stdout_write, C++: "
                "torvyn::print; they need only capabilities = [\"stdout\"]; sdk/README.md), and "
                "grant a directory only if the component reads files; otherwise ");
        }
        parts.push_back(fmt::format(
            "{}, which need{} {} '{}'", fmt::join(denied, ", "), denied.size() > 1 ? "" : "s",
            missing.size() > 1 ? "capabilities" : "capability", fmt::join(names, "', '")));
    }
    if (!ungrantable.empty()) {
        parts.push_back(
            fmt::format("{}, which no capability grants", fmt::join(ungrantable, ", ")));
        hints.emplace_back(
            "components may import torvyn:streaming interfaces and the WASI interfaces of their "
            "grants; rebuild the component without what no capability grants, or set "
            "ungranted-imports = \"deny\" on the node to link its WASI imports to stubs that "
            "refuse every call");
    }
    const std::size_t count = denied.size() + ungrantable.size();
    return Error(ErrorCode::component_link,
                 fmt::format("node '{}': component imports {}{}", node.name,
                             count > 1 ? fmt::format("{} ungranted interfaces: ", count) : "",
                             fmt::join(parts, "; and ")),
                 node.where.str(), fmt::format("{}", fmt::join(hints, "; ")));
}

}  // namespace

ImportCheck check_imports(const std::vector<std::string>& imports, const NodeSpec& node) {
    ImportCheck out;
    const bool deny = node.ungranted_imports == UngrantedImports::deny;
    std::vector<const CapabilityInfo*> used;
    std::vector<const CapabilityInfo*> missing;  // to grant, in order of importance
    std::vector<std::string_view> denied;        // every ungranted import, most specific first
    std::vector<std::string_view> ungrantable;   // imports no capability grants
    bool stdio_files = false;                    // denied: files ...
    bool stdio_streams = false;                  // ... and terminals: C stdio
    // Most specific first: a file import says more than the streams it needs.
    std::vector<std::string> ordered = imports;
    std::stable_sort(
        ordered.begin(), ordered.end(),
        [](const std::string& a, const std::string& b) { return import_rank(a) < import_rank(b); });
    for (const auto& imp : ordered) {
        if (imp.rfind("torvyn:streaming/", 0) == 0) {
            continue;  // the host interfaces every role may use
        }
        const std::string_view iface = interface_without_version(imp);
        if (is_implicit(iface)) {
            out.implicit.emplace_back(iface);
            continue;
        }
        const auto covering = capabilities_covering(imp);
        const auto granted = std::find_if(covering.begin(), covering.end(),
                                          [&](const CapabilityInfo* c) { return holds(node, *c); });
        if (granted != covering.end()) {
            if (!is_shared(covering)) {
                used.push_back(*granted);
            }
            continue;
        }
        if (deny && is_shared(covering)) {
            // wasi:io reaches nothing by itself (a stream or pollable comes
            // only from another interface), and the interfaces that need no
            // grant (stdin) hand out its real streams: linked, not stubbed.
            out.implicit.emplace_back(iface);
            continue;
        }
        if (deny && iface.rfind("wasi:", 0) == 0) {
            out.stubbed.push_back(StubbedImport{imp, grant_to_allow(covering)});
            continue;
        }
        if (covering.empty()) {
            ungrantable.push_back(imp);
            continue;
        }
        denied.push_back(imp);
        stdio_files = stdio_files || iface.rfind("wasi:filesystem/", 0) == 0;
        stdio_streams = stdio_streams || iface == "wasi:cli/stdout" || iface == "wasi:cli/stdin" ||
                        iface.rfind("wasi:cli/terminal-", 0) == 0;
        // A shared interface (streams) asks for a capability only if nothing
        // more specific was asked for.
        if (is_shared(covering)) {
            continue;
        }
        if (std::find(missing.begin(), missing.end(), covering.front()) == missing.end()) {
            missing.push_back(covering.front());
        }
    }
    if (!denied.empty() || !ungrantable.empty()) {
        out.errors.push_back(
            refusal(node, denied, ungrantable, missing, stdio_files && stdio_streams));
    }
    for (const auto& c : all_capabilities()) {
        if (c.key == GrantKey::implicit || !holds(node, c) ||
            std::find(used.begin(), used.end(), &c) != used.end()) {
            continue;
        }
        out.warnings.emplace_back(
            ErrorCode::component_unused_grant,
            fmt::format("node '{}' is granted '{}' but its component imports nothing that uses it",
                        node.name, c.name),
            (node.grants_where.line != 0 ? node.grants_where : node.where).str(),
            "remove the grant: deny by default");
    }
    return out;
}

Result<ResolvedGrants> resolve_grants(const NodeSpec& node, const std::filesystem::path& base_dir) {
    ResolvedGrants out;
    Grants& g = out.grants;
    for (const auto& c : all_capabilities()) {
        if (c.key != GrantKey::implicit && holds(node, c)) {
            g.cover(c);
        }
    }
    for (const auto& c : node.capabilities) {
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
