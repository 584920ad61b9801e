// One deployment's running pipeline: its runtime, its flows (a thread
// each), its log, and upgrades — node by node while the flows run when the
// new version is wired the same, else by draining the old flows and
// starting the new ones.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline.hpp"
#include "torvyn/observability/live.hpp"
#include "torvyn/reactor/flow.hpp"
#include "torvyn/resources/node_host.hpp"
#include "torvyn/serve/agent.hpp"

namespace torvyn::serve::detail {

// The accounting as the API shows it (with in_flight).
nlohmann::json accounting_json(const Accounting& a);

// A deployment's log, a file in the state directory (rotated once at
// kMaxFileBytes), so it outlives the agent: lifecycle events, failures,
// and its guests' stderr lines (from the flows' threads).
class DeploymentLog final : public GuestLineSink {
public:
    static constexpr std::uint64_t kMaxFileBytes = 8ull << 20;
    // `torvyn logs` reads at most this much of the file's end.
    static constexpr std::uint64_t kTailBytes = 1ull << 20;

    explicit DeploymentLog(std::filesystem::path file);
    // "2026-12-04T17:00:00.123Z torvyn: deployed ..." (origin: "torvyn" or a node).
    void write(std::string_view origin, std::string_view text);
    void guest_line(const NodeHost& node, std::string_view line) override;
    // The last `n` lines of `file`.
    static std::vector<std::string> tail(const std::filesystem::path& file, std::size_t n);

private:
    std::filesystem::path file_;
    std::mutex mutex_;
    std::ofstream out_;
    std::uint64_t bytes_ = 0;
};

class Deployment {
public:
    Deployment(std::string name, std::filesystem::path log_file, LiveRegistry& live,
               std::vector<std::filesystem::path> component_path);
    // Stops what still runs (forced) and waits for it.
    ~Deployment();
    Deployment(const Deployment&) = delete;
    Deployment& operator=(const Deployment&) = delete;

    // Links `p` in `runtime` and starts its flows; nothing runs when one
    // fails to link (`details`: every problem).
    std::optional<Error> start(Pipeline p, std::unique_ptr<Runtime> runtime,
                               std::vector<Error>& details);
    // Stops the sources, lets what is in flight drain (the flows' drain
    // timeouts), then forces what is left; returns once every flow ended.
    void stop();
    // Replaces the running pipeline by `next` without losing an element:
    // the changed nodes' components are swapped between two calls when the
    // wiring is the same and no source changed, else the old flows drain and
    // the new ones start. Refused (nothing changed) when `next` does not link.
    Result<nlohmann::json> upgrade(Pipeline next, SwapState aggregators,
                                   std::vector<Error>& details);

    [[nodiscard]] bool running() const;
    // The first flow failure, once every flow ended (empty: none).
    [[nodiscard]] std::string failure() const;
    [[nodiscard]] const Pipeline& pipeline() const { return pipeline_; }
    // Per flow: state, accounting, buffer memory.
    [[nodiscard]] nlohmann::json flows_json() const;
    // The accounting summed over the flows.
    [[nodiscard]] Accounting accounting() const;
    DeploymentLog& log() { return log_; }

    struct RunningFlow;

private:
    std::optional<Error> start_flows(std::vector<Error>& details);
    void join_flows();
    Result<nlohmann::json> swap_nodes(Pipeline& next, const std::vector<std::string>& changed,
                                      SwapState aggregators, std::vector<Error>& details);

    std::string name_;
    DeploymentLog log_;
    LiveRegistry& live_;
    std::vector<std::filesystem::path> component_path_;
    Pipeline pipeline_;
    std::unique_ptr<Runtime> runtime_;
    std::atomic<int> stop_{0};
    mutable std::mutex mutex_;  // flows_ as status() reads it
    std::vector<std::unique_ptr<RunningFlow>> flows_;
};

}  // namespace torvyn::serve::detail
