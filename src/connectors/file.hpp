// The file, stdin and stdout connectors (file.cpp): their rows' functions.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "torvyn/connectors/connectors.hpp"

namespace torvyn::connectors {

void check_file(const NodeSpec& node, std::vector<Error>& errors);
void check_stdin(const NodeSpec& node, std::vector<Error>& errors);
void check_stdout(const NodeSpec& node, std::vector<Error>& errors);
Result<std::string> probe_file(const NodeSpec& node, const std::filesystem::path& base);
Result<std::string> probe_stdio(const NodeSpec& node, const std::filesystem::path& base);
Result<std::unique_ptr<Stage>> make_file(StageSlot& slot, const std::filesystem::path& base);
Result<std::unique_ptr<Stage>> make_stdin(StageSlot& slot, const std::filesystem::path& base);
Result<std::unique_ptr<Stage>> make_stdout(StageSlot& slot, const std::filesystem::path& base);

}  // namespace torvyn::connectors
