// The serve agent's durable state: the deployments it holds, in an embedded
// SQLite database in its state directory. Every change is one transaction,
// so a crash (kill -9) leaves the state before or after it, never between.
//
// Threading: one StateDb may be used from any thread; it serialises its own
// calls.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "torvyn/core/error.hpp"

namespace torvyn::serve {

// What a deployment is meant to be doing. `running` deployments come back
// when the agent starts.
enum class DeploymentStatus : std::uint8_t { running, stopped, completed, failed };
std::string_view status_name(DeploymentStatus status);
std::optional<DeploymentStatus> status_from_name(std::string_view name);

struct DeploymentRecord {
    std::string name;
    std::string source;  // a registry reference, or an absolute folder or Torvyn.toml
    std::string digest;  // what `source` resolved to (pipeline_digest)
    // The operator's grants, per node ("NODE" or "FLOW.NODE"): never the artifact's.
    nlohmann::json grants = nlohmann::json::object();
    DeploymentStatus status = DeploymentStatus::running;
    std::string error;  // why it failed or was refused on recovery
    // What it ran before its last upgrade (empty: never upgraded): rollback's target.
    std::string previous_source;
    std::string previous_digest;
    std::uint32_t generation = 1;  // 1 + upgrades and rollbacks
    std::int64_t created = 0;      // unix seconds
    std::int64_t updated = 0;
    // The accounting of the current run at its last checkpoint (about once
    // a second), and of the runs a crash or restart of the agent ended.
    nlohmann::json checkpoint = nlohmann::json::object();
    nlohmann::json earlier_runs = nlohmann::json::array();
    std::uint32_t recoveries = 0;  // times the agent brought it back after starting
};

class StateDb {
public:
    // Opens (or creates) the database `file`; E0804 when it cannot.
    static Result<std::unique_ptr<StateDb>> open(const std::filesystem::path& file);
    ~StateDb();
    StateDb(const StateDb&) = delete;
    StateDb& operator=(const StateDb&) = delete;

    Result<std::vector<DeploymentRecord>> all();
    Result<std::optional<DeploymentRecord>> find(const std::string& name);
    // A new deployment; E0802 when one of that name exists.
    std::optional<Error> insert(const DeploymentRecord& record);
    // Replaces the record of `record.name` (E0801 when there is none).
    std::optional<Error> update(const DeploymentRecord& record);
    std::optional<Error> remove(const std::string& name);

    struct Impl;

private:
    explicit StateDb(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace torvyn::serve
