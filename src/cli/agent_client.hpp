// What the verbs that talk to a running `torvyn serve` share: where the
// agent is, its token, one request, and how an answer is shown.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common.hpp"

namespace torvyn::cli {

struct AgentArgs {
    std::string agent;       // URL; default $TORVYN_AGENT, else http://127.0.0.1:7311
    std::string token_file;  // default $TORVYN_TOKEN_FILE
    bool json = false;       // print the agent's answer as it is
};
void add_agent_options(CLI::App& command, AgentArgs& args);

struct AgentAnswer {
    int status = 0;
    nlohmann::json body;
};
// One request (`body`: none for GET/DELETE); E0805 when the agent cannot be
// reached.
Result<AgentAnswer> call_agent(const AgentArgs& args, const std::string& method,
                               const std::string& path, const nlohmann::json* body = nullptr);

// Runs a request and shows its answer: --json as it is, otherwise through
// `show` (for a 2xx answer) or as the diagnostic of its error. Returns the
// exit status.
int request_and_show(const AgentArgs& args, const std::string& method, const std::string& path,
                     const nlohmann::json* body,
                     const std::function<void(const nlohmann::json&)>& show);

// A source as the agent must see it: a folder or file made absolute (the
// agent runs elsewhere), a registry reference as it is.
std::string source_for_agent(const std::string& source);

}  // namespace torvyn::cli
