// torvyn rollback NAME: back to the version before the last upgrade, the
// same way an upgrade goes (refused if that version is no longer what it was).
#include <fmt/format.h>

#include "agent_client.hpp"

namespace torvyn::cli {

void show_upgrade(const nlohmann::json& j);  // upgrade.cpp

std::function<int()> define_rollback(CLI::App& command) {
    struct RollbackArgs : AgentArgs {
        std::string name;
    };
    auto args = std::make_shared<RollbackArgs>();
    command.add_option("name", args->name, "The deployment")->required();
    add_agent_options(command, *args);
    return [args] {
        const nlohmann::json body = nlohmann::json::object();
        return request_and_show(*args, "POST",
                                fmt::format("/v1/deployments/{}/rollback", args->name), &body,
                                show_upgrade);
    };
}

}  // namespace torvyn::cli
