// The pipeline manifest (Torvyn.toml): flows of named nodes joined by edges.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "torvyn/core/error.hpp"
#include "torvyn/engine/role.hpp"

namespace torvyn {

struct SourceLocation {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t column = 0;
    // "Torvyn.toml:12:3" (or just the file when the position is unknown).
    [[nodiscard]] std::string str() const;
};

struct NodeSpec {
    std::string name;
    std::string component;  // path as written; see resolve_component()
    Role role = Role::processor;
    std::string config;  // handed to the component's init
    std::vector<std::string> capabilities;
    SourceLocation where;
};

struct EdgeSpec {
    std::string from;
    std::string to;
    std::uint32_t capacity = 0;  // 0: the flow's default
    SourceLocation where;
};

struct FlowSpec {
    std::string name;
    std::string description;
    std::uint32_t queue_capacity = 64;
    std::chrono::milliseconds call_timeout{10'000};
    std::vector<NodeSpec> nodes;
    std::vector<EdgeSpec> edges;
    SourceLocation where;

    [[nodiscard]] const NodeSpec* find(std::string_view node) const;
};

struct Manifest {
    std::filesystem::path path;
    std::vector<FlowSpec> flows;
};

// Parsing collects every problem it can find, not only the first.
struct ManifestLoad {
    Manifest manifest;
    std::vector<Error> errors;
    [[nodiscard]] bool ok() const { return errors.empty(); }
};

// Capabilities a manifest may grant today.
inline constexpr std::string_view kKnownCapabilities[] = {"stdout", "stderr"};

ManifestLoad load_manifest(const std::filesystem::path& path);
ManifestLoad parse_manifest(std::string_view text, const std::filesystem::path& path);

// "250ms", "5s", "2m", or a bare number of milliseconds.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// Finds a node's component file: absolute, relative to the manifest's folder,
// then relative to each folder of `search_path`. Lists what it tried on failure.
Result<std::filesystem::path> resolve_component(
    const Manifest& manifest, const NodeSpec& node,
    const std::vector<std::filesystem::path>& search_path);

}  // namespace torvyn
