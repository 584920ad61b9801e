// torvyn logs NAME: a deployment's log (lifecycle, failures, its guests'
// stderr); --follow keeps printing what comes.
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "agent_client.hpp"

namespace torvyn::cli {

std::function<int()> define_logs(CLI::App& command) {
    struct LogsArgs : AgentArgs {
        std::string name;
        std::size_t tail = 100;
        bool follow = false;
    };
    auto args = std::make_shared<LogsArgs>();
    command.add_option("name", args->name, "The deployment")->required();
    command.add_option("--tail,-n", args->tail, "The last N lines (at most 10000)");
    command.add_flag("--follow,-f", args->follow, "Keep printing new lines until interrupted");
    add_agent_options(command, *args);
    return [args] {
        std::string last;  // the last line printed; lines carry a millisecond time
        for (;;) {
            const std::string path =
                fmt::format("/v1/deployments/{}/logs?tail={}", args->name, args->tail);
            const int rc =
                request_and_show(*args, "GET", path, nullptr, [&](const nlohmann::json& j) {
                    const auto& lines = j.value("lines", nlohmann::json::array());
                    std::size_t from = 0;
                    for (std::size_t i = 0; i < lines.size(); ++i) {
                        from = lines[i].get<std::string>() == last ? i + 1 : from;
                    }
                    for (std::size_t i = from; i < lines.size(); ++i) {
                        fmt::print("{}\n", lines[i].get<std::string>());
                    }
                    if (!lines.empty()) {
                        last = lines.back().get<std::string>();
                    }
                    std::fflush(stdout);
                });
            if (rc != kExitOk || !args->follow || args->json) {
                return rc;
            }
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    };
}

}  // namespace torvyn::cli
