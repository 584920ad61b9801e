// torvyn ps: the agent's deployments, what each is doing and has done.
#include <fmt/format.h>

#include "agent_client.hpp"

namespace torvyn::cli {

std::function<int()> define_ps(CLI::App& command) {
    auto args = std::make_shared<AgentArgs>();
    add_agent_options(command, *args);
    return [args] {
        return request_and_show(
            *args, "GET", "/v1/deployments", nullptr, [](const nlohmann::json& j) {
                const auto& all = j.value("deployments", nlohmann::json::array());
                fmt::print("{:<20} {:<10} {:>4} {:>12} {:>12} {:>9}  {}\n", "NAME", "STATUS", "GEN",
                           "EMITTED", "DELIVERED", "IN-FLIGHT", "SOURCE");
                for (const auto& d : all) {
                    const auto& a = d.value("accounting", nlohmann::json::object());
                    fmt::print("{:<20} {:<10} {:>4} {:>12} {:>12} {:>9}  {}\n", d.value("name", ""),
                               d.value("status", ""), d.value("generation", 0),
                               a.value("emitted", std::uint64_t{0}),
                               a.value("delivered", std::uint64_t{0}),
                               a.value("in_flight", std::uint64_t{0}), d.value("source", ""));
                }
            });
    };
}

}  // namespace torvyn::cli
