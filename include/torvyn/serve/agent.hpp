// The node agent of `torvyn serve`: holds the pipelines an operator deploys,
// each running on threads of its own, keeps what is deployed in its state
// database (serve/state.hpp) so that every running pipeline comes back after
// a restart or a crash, from the local caches, and upgrades a deployment by
// swapping the components that changed between two calls of their nodes
// (reactor: Flow::replace_stage), so no element is lost or duplicated.
//
// Grants are the operator's: a deployment's capabilities come from its
// deploy request, never from the artifact's manifest.
//
// Threading: every operation may be called from any thread (the admin API's
// threads); changes are serialised, reads see a consistent deployment.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "torvyn/core/error.hpp"
#include "torvyn/observability/live.hpp"

namespace torvyn::serve {

struct AgentOptions {
    std::filesystem::path state_dir;  // state.db, logs/
    std::vector<std::filesystem::path> component_path;
    std::filesystem::path cache_dir;  // compiled components; empty: no cache
    // How often a running deployment's accounting is written to the state
    // database (what a crash would lose track of).
    std::chrono::milliseconds checkpoint_every{1000};
    // A stop waits this long beyond the flows' own drain timeouts.
    std::chrono::milliseconds stop_grace{2000};
};

// Names are what paths and metrics can carry: [a-z0-9][a-z0-9_-]{0,62}.
std::optional<Error> check_deployment_name(std::string_view name);

struct DeployRequest {
    std::string name;
    std::string source;  // registry reference, or a folder / Torvyn.toml on this machine
    // {"NODE" or "FLOW.NODE": {"capabilities": [...], "env": [...],
    //  "connect": [...], "dirs": [{"host", "guest", "writable"}]}}
    nlohmann::json grants = nlohmann::json::object();
    std::vector<std::string> trust;  // public key files: the pipeline must be signed
};

// "flush", "reset", "handover": what becomes of an aggregator's state when
// its component is swapped (reactor/flow.hpp).
std::optional<SwapState> swap_state_from_name(std::string_view name);

struct UpgradeRequest {
    std::string name;
    std::string source;
    std::optional<nlohmann::json> grants;  // none: the deployment's
    std::vector<std::string> trust;
    SwapState aggregators = SwapState::flush;
};

class Agent {
public:
    // Opens the state directory and brings back every deployment that was
    // running. Problems with one deployment are recorded on it (failed),
    // never stop the agent.
    static Result<std::unique_ptr<Agent>> open(AgentOptions options);
    // Stops every flow (gracefully); deployments stay "running" in the
    // state database, so they come back when the agent starts again.
    ~Agent();
    Agent(const Agent&) = delete;
    Agent& operator=(const Agent&) = delete;

    // Answers of the admin API (/v1): JSON bodies, errors with codes.
    Result<nlohmann::json> deploy(const DeployRequest& request);
    Result<nlohmann::json> list();
    Result<nlohmann::json> describe(const std::string& name);
    // Drains and stops it; `remove` also forgets it.
    Result<nlohmann::json> stop(const std::string& name, bool remove);
    Result<nlohmann::json> upgrade(const UpgradeRequest& request);
    // Back to what ran before the last upgrade, the same way.
    Result<nlohmann::json> rollback(const std::string& name);
    // The latest `tail` lines of its log (guest stderr, lifecycle events).
    Result<nlohmann::json> logs(const std::string& name, std::size_t tail);
    // The deployed flows' live counters (metrics, the live page).
    [[nodiscard]] const LiveRegistry& live() const;

    struct Impl;

private:
    explicit Agent(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace torvyn::serve
