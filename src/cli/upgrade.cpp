// torvyn upgrade NAME SOURCE: the deployment runs the new version without
// losing an element — its changed components swapped between two calls, or
// the old flows drained before the new ones start. Refused, with nothing
// changed, when the new version does not link with the deployment's grants.
#include <fmt/format.h>

#include "agent_client.hpp"

namespace torvyn::cli {

void show_upgrade(const nlohmann::json& j) {
    const auto& u = j.value("upgrade", nlohmann::json::object());
    fmt::print("{} is at generation {}: {} ({})\n", j.value("name", ""), j.value("generation", 0),
               j.value("source", ""), j.value("digest", ""));
    if (u.value("mode", "") == "swap") {
        for (const auto& s : u.value("swaps", nlohmann::json::array())) {
            fmt::print("  swapped {}: paused {:.3f} ms, {} queued element(s) kept\n",
                       s.value("node", ""), s.value("pause_ms", 0.0), s.value("queued", 0));
        }
    } else {
        fmt::print("  restarted ({}): paused {:.1f} ms; the old flows drained first\n",
                   u.value("reason", ""), u.value("pause_ms", 0.0));
    }
}

std::function<int()> define_upgrade(CLI::App& command) {
    struct UpgradeArgs : AgentArgs {
        std::string name;
        std::string source;
        std::string aggregators;
        std::vector<std::string> trust;
    };
    auto args = std::make_shared<UpgradeArgs>();
    command.add_option("name", args->name, "The deployment")->required();
    command.add_option("source", args->source, "The new version (reference, folder, layout)")
        ->required();
    command.add_option("--aggregators", args->aggregators,
                       "An aggregator's state at a swap: flush (default: it emits what it "
                       "holds), reset, or handover (snapshot/restore)");
    command.add_option("--trust", args->trust, "A public key the new version must be signed with");
    add_agent_options(command, *args);
    return [args] {
        nlohmann::json body = {{"source", source_for_agent(args->source)}};
        if (!args->aggregators.empty()) {
            body["aggregators"] = args->aggregators;
        }
        if (!args->trust.empty()) {
            nlohmann::json keys = nlohmann::json::array();
            for (const auto& k : args->trust) {
                keys.push_back(source_for_agent(k));
            }
            body["trust"] = keys;
        }
        return request_and_show(*args, "POST",
                                fmt::format("/v1/deployments/{}/upgrade", args->name), &body,
                                show_upgrade);
    };
}

}  // namespace torvyn::cli
