// Connectors: nodes that are host code instead of a component (kind =
// "file", "stdin", "stdout"), made through the reactor's Stage seam. One
// row per kind in connector_kinds() (src/connectors/connectors.cpp); a kind
// is a row plus a file.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "torvyn/config/manifest.hpp"
#include "torvyn/core/error.hpp"
#include "torvyn/reactor/flow.hpp"

namespace torvyn {

struct ConnectorKind {
    std::string_view name;
    bool source = false;  // roles it can play
    bool sink = false;
    // Its settings (each error at its place, E0900); nothing is opened.
    void (*check)(const NodeSpec& node, std::vector<Error>& errors) = nullptr;
    // What `torvyn link` says of the node, found without consuming anything
    // (the file is there and readable, the folder writable), or why it
    // cannot run (E0902). Relative paths are from `base`, the manifest's folder.
    Result<std::string> (*probe)(const NodeSpec& node, const std::filesystem::path& base) = nullptr;
    Result<std::unique_ptr<Stage>> (*make)(StageSlot& slot,
                                           const std::filesystem::path& base) = nullptr;
    // The node's `batch` when it sets none (0: the usual). A broker sink
    // waits for the broker's acks once per batch: small batches cap its rate.
    std::uint32_t default_batch = 0;
    // What the flow's nodes of this kind need of each other (optional).
    void (*check_flow)(const FlowSpec& flow, std::vector<Error>& errors) = nullptr;
};

std::span<const ConnectorKind> connector_kinds();
const ConnectorKind* find_connector_kind(std::string_view name);

// For load_manifest/parse_manifest: the kinds' roles and settings checks.
const NodeKinds& connector_node_kinds();

// The stage of a connector node (slot.node.is_connector()).
Result<std::unique_ptr<Stage>> make_connector_stage(StageSlot& slot,
                                                    const std::filesystem::path& base);
// `torvyn link`'s check of a connector node (see ConnectorKind::probe).
Result<std::string> probe_connector(const NodeSpec& node, const std::filesystem::path& base);

}  // namespace torvyn
