// Linking a flow without running it: find, compile (or load from the cache)
// and inspect every node's component, check its exports against its role and
// its imports against its grants, resolve the grants, and link it against
// the host. Nothing is instantiated. `torvyn link` reports this for every
// node at once; `torvyn run` does the same before it starts.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "torvyn/config/manifest.hpp"
#include "torvyn/core/error.hpp"
#include "torvyn/engine/engine.hpp"
#include "torvyn/reactor/flow.hpp"

namespace torvyn {

class AuditLog;

struct LinkedNode {
    std::filesystem::path file;
    LoadInfo load;
    ComponentFacts facts;              // read from the file before compiling
    std::vector<std::string> grants;   // described, one per grant
    std::vector<std::string> stubbed;  // imports linked to denying stubs
    std::shared_ptr<const PreparedComponent> prepared;
    // A connector node: what link found ("reads in.txt (lines)"); no component.
    std::string connector;
};

struct LinkContext {
    Runtime* runtime = nullptr;
    const Manifest* manifest = nullptr;
    std::vector<std::filesystem::path> component_path;
    AuditLog* audit = nullptr;  // grants and denials are recorded when set
};

// `e` as an error of node `n`: its message names the node, its place is the
// node's place in the manifest.
Error at_node(Error e, const NodeSpec& n);

// Links one node. Warnings (unused grants) are appended to `warnings`.
Result<LinkedNode> link_node(const LinkContext& ctx, const FlowSpec& flow, const NodeSpec& node,
                             std::vector<Error>& warnings);

// The stage of `slot`'s node from its component, linked (by link_node,
// perhaps for another component than the manifest names): an instance with
// the node's limits. Nothing is compiled, so it is quick: what a factory for
// Flow::replace_stage calls.
Result<std::unique_ptr<Stage>> instantiate_stage(Runtime& runtime, const LinkedNode& linked,
                                                 StageSlot& slot);

// What the instance pool must hold to run every node of `flows` at once:
// one instance of each node's component (a restart releases the old instance
// first). Nodes whose component cannot be found or read are left out.
PoolSize pool_for(const Manifest& manifest, const std::vector<const FlowSpec*>& flows,
                  const std::vector<std::filesystem::path>& component_path);

struct FlowLink {
    std::vector<LinkedNode> nodes;  // in manifest order; empty ones failed
    std::vector<Error> errors;
    std::vector<Error> warnings;
};

// Links every node of `flow` and checks what needs the components: router
// ports declared in the manifest against the edges. Reports every problem.
FlowLink link_flow(const LinkContext& ctx, const FlowSpec& flow);

}  // namespace torvyn
