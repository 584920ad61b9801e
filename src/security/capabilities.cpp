#include "torvyn/security/capabilities.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace torvyn {
namespace {

struct Coverage {
    std::string_view interface;
    std::array<std::string_view, 2> capabilities;  // any one allows it
};

// Output streams need wasi:io's stream and error resources too.
constexpr std::array<Coverage, 4> kCoverage = {{
    {"wasi:cli/stdout", {"stdout", ""}},
    {"wasi:cli/stderr", {"stderr", ""}},
    {"wasi:io/streams", {"stdout", "stderr"}},
    {"wasi:io/error", {"stdout", "stderr"}},
}};

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

Status check_imports(const std::vector<std::string>& imports,
                     const std::vector<std::string>& granted, std::string_view node_name) {
    for (const auto& imp : imports) {
        if (imp.rfind("torvyn:streaming/", 0) == 0) {
            continue;  // the host interfaces every role may use
        }
        const auto caps = capabilities_covering(imp);
        const bool allowed = std::any_of(caps.begin(), caps.end(), [&](std::string_view c) {
            return std::find(granted.begin(), granted.end(), c) != granted.end();
        });
        if (allowed) {
            continue;
        }
        if (caps.empty()) {
            return Error(ErrorCode::component_link,
                         fmt::format("node '{}': component imports {}, which no capability grants",
                                     node_name, imp),
                         {},
                         "components may import only torvyn:streaming interfaces and granted WASI "
                         "interfaces (stdout, stderr); rebuild without that import");
        }
        return Error(
            ErrorCode::component_link,
            fmt::format("node '{}': component imports {}, which needs capability '{}'", node_name,
                        imp, caps.front()),
            {}, fmt::format("grant it in the manifest: capabilities = [\"{}\"]", caps.front()));
    }
    return {};
}

}  // namespace torvyn
