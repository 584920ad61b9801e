// A pipeline as the agent deploys it: resolved from its source, the
// operator's grants in place of the artifact's, and what identifies its
// content (the manifest and every component, by digest).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "torvyn/config/manifest.hpp"
#include "torvyn/core/error.hpp"
#include "torvyn/engine/engine.hpp"

namespace torvyn::serve::detail {

struct Pipeline {
    std::string source;
    Manifest manifest;  // the operator's grants applied
    // sha256 over the manifest's text and its components' digests: two
    // pipelines with the same digest run the same code with the same wiring.
    std::string digest;
    // "FLOW.NODE" -> the digest of the node's component file.
    std::map<std::string, std::string> components;
};

// Resolves `source` (offline when the local store has it), checks the
// manifest, replaces every node's grants by `grants` (unknown nodes and
// capabilities are E0800) and reads its components' digests. With `trust`,
// a registry pipeline must be signed by one of those keys.
Result<Pipeline> load_pipeline(const std::string& source, const nlohmann::json& grants,
                               const std::vector<std::string>& trust,
                               const std::vector<std::filesystem::path>& component_path);

// A runtime for the pipeline's components, with room for an upgrade's new
// instances beside the running ones.
Result<std::unique_ptr<Runtime>> runtime_for(
    const Pipeline& p, const std::vector<std::filesystem::path>& component_path,
    const std::filesystem::path& cache_dir);

// Links every node of every flow (nothing runs): E0807 with every
// component's ungranted imports, or the first other failure with the rest
// as details.
std::optional<Error> link_pipeline(Runtime& runtime, const Pipeline& p,
                                   const std::vector<std::filesystem::path>& component_path,
                                   std::vector<Error>& details);

// Whether two nodes hold the same grants.
bool same_grants(const NodeSpec& a, const NodeSpec& b);

// Whether `a` and `b` are wired and set the same (flows and their settings,
// nodes with theirs — role, config, limits, policies — and edges), so that
// `b` can replace `a` by swapping components.
bool same_shape(const Manifest& a, const Manifest& b);

}  // namespace torvyn::serve::detail
