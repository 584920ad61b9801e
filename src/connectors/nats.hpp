// The NATS JetStream connector (kind = "nats-jetstream"): its row's
// functions. The source is in nats_source.cpp, the sink in nats_sink.cpp,
// what both share in nats_link.hpp.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "torvyn/connectors/connectors.hpp"

namespace torvyn::connectors {

void check_nats(const NodeSpec& node, std::vector<Error>& errors);
Result<std::string> probe_nats(const NodeSpec& node, const std::filesystem::path& base);
Result<std::unique_ptr<Stage>> make_nats(StageSlot& slot, const std::filesystem::path& base);

// The roles' halves.
void check_nats_sink(const NodeSpec& node, std::vector<Error>& errors);
Result<std::string> probe_nats_source(const NodeSpec& node);
Result<std::string> probe_nats_sink(const NodeSpec& node);
Result<std::unique_ptr<Stage>> make_nats_sink(StageSlot& slot);

}  // namespace torvyn::connectors
