// torvyn run, and what runs flows the same way (torvyn trace): the run's
// options, and add-ons — exporters, files, servers — that each bring their
// options and observers. To add an exporter: one RunAddOn, in a file of its
// own, listed by the verbs that offer it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"

namespace torvyn::cli {

struct RunArgs : CommonArgs {
    std::string report_file;
    std::string audit_file;
    bool quiet = false;
    bool verbose = false;
    bool allow_failures = false;
    // --duration: stop gracefully after this long (0: when the sources end).
    std::string duration;
    // --sample: which elements are traced when an add-on traces them.
    std::string sample;
};

// What an add-on may use while the flows run.
struct RunContext {
    const Manifest& manifest;
    std::vector<const FlowSpec*> selected;  // the flows that run; observers(i) is asked for each
    std::size_t flows;                      // selected.size()
    const Diagnostics& diag;
    SignalWatcher& signals;
    RunOptions& options;  // before any flow is made: sampling, ...
};

class RunAddOn {
public:
    virtual ~RunAddOn() = default;
    // Adds its options to the verb.
    virtual void add_options(CLI::App& command) = 0;
    // Whether its options asked for it.
    [[nodiscard]] virtual bool wanted() const = 0;
    // Before any flow is linked: open what it writes to, start what it
    // serves; an error stops the run before anything runs (exit 2).
    virtual std::optional<Error> open(RunContext& run) = 0;
    // Observers of flow `flow` (owned by the add-on).
    virtual std::vector<FlowObserver*> observers(std::size_t flow) = 0;
    // Flow `flow` is linked, before any runs (it outlives its run).
    virtual void linked(std::size_t flow, const Flow& linked_flow) {
        (void)flow, (void)linked_flow;
    }
    // About every 20 ms while the flows run (on the main thread).
    virtual void tick(RunContext& run, const std::vector<FlowProgress>& progress) {
        (void)run, (void)progress;
    }
    // After every flow ended: flush, write, say where. Returns false when
    // what it owed the user could not be delivered (the run fails).
    virtual bool close(RunContext& run, const std::vector<FlowReport>& reports) = 0;
};

using AddOns = std::vector<std::unique_ptr<RunAddOn>>;

// --sample: "all", "1/N" (one element in N) or "N/s" (at most N a second).
Result<TraceSampling> parse_sampling(std::string_view text);
// Adds the run's options and each add-on's to `command`.
void add_run_options(CLI::App& command, RunArgs& args, AddOns& addons);
// Links and runs the manifest's flows with the add-ons that were asked for.
int run_flows(const RunArgs& args, AddOns& addons);

// Add-ons (one file each).
std::unique_ptr<RunAddOn> make_otlp_addon();
std::unique_ptr<RunAddOn> make_log_addon();
std::unique_ptr<RunAddOn> make_progress_addon();
std::unique_ptr<RunAddOn> make_live_addon();

}  // namespace torvyn::cli
