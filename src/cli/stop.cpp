// torvyn stop NAME: drains and stops a deployment (--remove: and forgets it).
#include <fmt/format.h>

#include "agent_client.hpp"

namespace torvyn::cli {

std::function<int()> define_stop(CLI::App& command) {
    struct StopArgs : AgentArgs {
        std::string name;
        bool remove = false;
    };
    auto args = std::make_shared<StopArgs>();
    command.add_option("name", args->name, "The deployment")->required();
    command.add_flag("--remove", args->remove, "Also forget it (it is not listed any more)");
    add_agent_options(command, *args);
    return [args] {
        const nlohmann::json body = {{"remove", args->remove}};
        return request_and_show(*args, "POST", fmt::format("/v1/deployments/{}/stop", args->name),
                                &body, [&](const nlohmann::json& j) {
                                    const auto& a = j.value("accounting", nlohmann::json::object());
                                    fmt::print("{} {}: emitted {}, delivered {}\n", args->name,
                                               args->remove ? "stopped and removed" : "stopped",
                                               a.value("emitted", std::uint64_t{0}),
                                               a.value("delivered", std::uint64_t{0}));
                                });
    };
}

}  // namespace torvyn::cli
