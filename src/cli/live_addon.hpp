// torvyn run --metrics / --ui: the live endpoints of a run's flows (a run
// add-on). Nothing is made, and no flow observed, when neither is given.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "run.hpp"
#include "torvyn/observability/live.hpp"
#include "torvyn/observability/live_server.hpp"

namespace torvyn::cli {

class LiveAddOn final : public RunAddOn {
public:
    void add_options(CLI::App& command) override;
    [[nodiscard]] bool wanted() const override { return !metrics_.empty() || !ui_.empty(); }
    // Listens at every address given (one server when --metrics and --ui
    // name the same one) and says on stderr where. Errors name the option.
    std::optional<Error> open(RunContext& run) override;
    std::vector<FlowObserver*> observers(std::size_t flow) override {
        return {flows_.at(flow).get()};
    }
    // Flow i's accounting and memory are read from it while it runs.
    void linked(std::size_t flow, const Flow& linked_flow) override;
    bool close(RunContext&, const std::vector<FlowReport>&) override { return true; }

private:
    std::string metrics_;  // ADDR:PORT
    std::string ui_;       // ADDR:PORT
    LiveRegistry registry_;
    std::vector<std::unique_ptr<LiveServer>> servers_;
    std::vector<std::shared_ptr<LiveFlow>> flows_;
};

}  // namespace torvyn::cli
