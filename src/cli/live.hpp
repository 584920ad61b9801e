// torvyn run --metrics / --ui: the live endpoints of a run's flows. Nothing
// is made, and no flow observed, when neither option is given.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common.hpp"
#include "torvyn/observability/live.hpp"
#include "torvyn/observability/live_server.hpp"

namespace torvyn::cli {

struct LiveArgs {
    std::string metrics;  // ADDR:PORT
    std::string ui;       // ADDR:PORT
    [[nodiscard]] bool any() const { return !metrics.empty() || !ui.empty(); }
};
void add_live_options(CLI::App& command, LiveArgs& args);

class LiveRun {
public:
    // Listens at every address given (one server when --metrics and --ui
    // name the same one) and says on stderr where. Errors name the option.
    static Result<std::unique_ptr<LiveRun>> start(const LiveArgs& args);

    // Each of `flows` gets a LiveFlow, in order.
    void add_flows(const std::vector<const FlowSpec*>& flows);
    [[nodiscard]] FlowObserver* observer(std::size_t i) const { return flows_.at(i).get(); }
    // Flow i is linked: its accounting and memory are read from it while it runs.
    void track(std::size_t i, const Flow& flow);

private:
    LiveRun() = default;
    LiveRegistry registry_;
    std::vector<std::unique_ptr<LiveServer>> servers_;
    std::vector<std::shared_ptr<LiveFlow>> flows_;
};

}  // namespace torvyn::cli
