// What a manifest's values mean beyond its schema: sizes ("64KiB"),
// durations ("250ms") and where a node's component file is.
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "torvyn/config/manifest.hpp"  // parse_size, parse_duration, resolve_component

namespace torvyn {

Result<std::uint64_t> parse_size(std::string_view text) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr == text.data()) {
        return Error(ErrorCode::manifest_value, fmt::format("not a size: '{}'", text));
    }
    const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
    static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {{"", 1},
                                                                            {"B", 1},
                                                                            {"KiB", 1ull << 10},
                                                                            {"MiB", 1ull << 20},
                                                                            {"GiB", 1ull << 30},
                                                                            {"KB", 1000},
                                                                            {"MB", 1000'000},
                                                                            {"GB", 1000'000'000}};
    for (const auto& [name, scale] : kUnits) {
        if (unit == name) {
            if (value > UINT64_MAX / scale) {
                break;
            }
            return value * scale;
        }
    }
    return Error(ErrorCode::manifest_value, fmt::format("unknown size unit in '{}'", text));
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr == text.data()) {
        return Error(ErrorCode::manifest_value, fmt::format("not a duration: '{}'", text));
    }
    const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
    std::uint64_t scale = 0;
    if (unit.empty() || unit == "ms") {
        scale = 1;
    } else if (unit == "s") {
        scale = 1000;
    } else if (unit == "m") {
        scale = 60'000;
    } else if (unit == "h") {
        scale = 3'600'000;
    } else {
        return Error(ErrorCode::manifest_value, fmt::format("unknown duration unit '{}'", unit));
    }
    // At most ~292 million years: beyond, milliseconds no longer fit.
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / scale) {
        return Error(ErrorCode::manifest_value, fmt::format("duration too long: '{}'", text));
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(value * scale));
}

Result<std::filesystem::path> resolve_component(
    const Manifest& manifest, const NodeSpec& node,
    const std::vector<std::filesystem::path>& search_path) {
    std::filesystem::path p(node.component);
    std::vector<std::filesystem::path> tried;
    // A packed pipeline names its components by digest: blobs of an OCI
    // layout, beside the manifest or along the search path.
    constexpr std::string_view kDigest = "sha256:";
    if (node.component.rfind(kDigest, 0) == 0 && node.component.size() == kDigest.size() + 64 &&
        node.component.find('/') == std::string::npos) {
        const std::string hex = node.component.substr(kDigest.size());
        tried.push_back(manifest.path.parent_path() / "blobs" / "sha256" / hex);
        p = std::filesystem::path("sha256") / hex;
    }
    if (p.is_absolute()) {
        tried.push_back(p);
    } else {
        tried.push_back(manifest.path.parent_path() / p);
        for (const auto& dir : search_path) {
            tried.push_back(dir / p);
        }
    }
    std::error_code ec;
    for (const auto& t : tried) {
        if (std::filesystem::is_regular_file(t, ec)) {
            return t;
        }
    }
    std::string where;
    for (const auto& t : tried) {
        where += where.empty() ? "" : ", ";
        where += t.string();
    }
    return Error(
        ErrorCode::component_not_found,
        fmt::format("node '{}': component file '{}' not found (looked in {})", node.name,
                    node.component, where),
        node.where.str(),
        "build the components (make build; builds put them in build/components, searched by "
        "default) or pass --component-path / set TORVYN_COMPONENT_PATH");
}

const Setting* NodeSpec::setting(std::string_view key) const {
    for (const auto& s : settings) {
        if (s.key == key) {
            return &s;
        }
    }
    return nullptr;
}

}  // namespace torvyn
