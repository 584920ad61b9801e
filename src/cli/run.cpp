// torvyn run: link, then run the flows of a manifest, one thread per flow,
// and print each flow's summary (and write the JSON report).
#include <fstream>

#include <fmt/format.h>

#include "common.hpp"
#include "live.hpp"
#include "torvyn/observability/report.hpp"
#include "torvyn/security/audit.hpp"

namespace torvyn::cli {
namespace {

struct RunArgs : CommonArgs {
    std::string report_file;
    std::string audit_file;
    bool quiet = false;
    bool verbose = false;
    bool allow_failures = false;
    LiveArgs live;
};

// -v: every failed call on stderr as it happens (the summary counts them).
class ErrorPrinter final : public FlowObserver {
public:
    explicit ErrorPrinter(const Diagnostics& diag) : diag_(diag) {}
    [[nodiscard]] std::uint32_t events() const override { return kErrorEvents; }
    void on_start(const FlowTopology& topology) override { flow_ = topology.flow; }
    void on_error(std::uint32_t, const Error& why, std::optional<std::uint64_t> element) override {
        Error e = why;
        (void)element;  // the message names it
        e.message = fmt::format("flow '{}': {}", flow_, e.message);
        diag_.warning(e);
    }

private:
    const Diagnostics& diag_;
    std::string flow_;
};

int run(const RunArgs& args) {
    const SignalWatcher signals;  // first: every later thread inherits its mask
    const Diagnostics diag;
    // Listening first: a taken port fails the command before anything loads.
    std::unique_ptr<LiveRun> live;
    if (args.live.any()) {
        auto started = LiveRun::start(args.live);
        if (!started) {
            diag.error(started.error());
            return kExitInvalid;
        }
        live = std::move(started).value();
    }
    auto manifest = load_checked(args, diag);
    if (!manifest) {
        return kExitInvalid;
    }
    auto runtime = make_runtime(args, *manifest);
    if (!runtime) {
        diag.error(runtime.error());
        return kExitInvalid;
    }
    AuditLog audit(args.audit_file);
    if (!audit.ok()) {
        diag.error(Error(ErrorCode::io, fmt::format("cannot write audit log {}", args.audit_file)));
        return kExitInvalid;
    }
    RunOptions opts;
    opts.stop = signals.stop();
    opts.component_path = component_path(args);
    opts.audit = audit.enabled() ? &audit : nullptr;
    opts.allow_failures = args.allow_failures;
    // The summary and the JSON report are each flow's observer.
    std::vector<std::unique_ptr<ReportObserver>> reports(selected_flows(*manifest, args).size());
    std::vector<std::unique_ptr<ErrorPrinter>> printers;
    for (auto& r : reports) {
        r = std::make_unique<ReportObserver>();
        printers.push_back(std::make_unique<ErrorPrinter>(diag));
    }
    if (live) {
        live->add_flows(selected_flows(*manifest, args));
    }
    const Executed ran = execute(
        args, *manifest, opts, *runtime.value(), diag, signals,
        [&](std::size_t i) {
            std::vector<FlowObserver*> observers = {reports.at(i).get()};
            if (args.verbose) {
                observers.push_back(printers.at(i).get());
            }
            if (live) {
                observers.push_back(live->observer(i));
            }
            return observers;
        },
        [&](std::size_t i, const Flow& flow) {
            if (live) {
                live->track(i, flow);
            }
        });
    if (ran.rc == kExitInvalid) {
        return ran.rc;
    }
    int rc = ran.rc;
    nlohmann::json json = nlohmann::json::array();
    for (std::size_t i = 0; i < ran.reports.size(); ++i) {
        const FlowReport& r = ran.reports[i];
        if (!args.quiet) {
            fmt::print(stderr, "{}", reports[i]->summary());
        } else {
            for (const auto& e : r.node_errors) {
                diag.warning(e);
            }
        }
        if (r.error) {
            diag.error(*r.error);
        } else if (r.run_failed()) {
            diag.error(Error(ErrorCode::run_degraded,
                             fmt::format("flow '{}' completed, but {} node(s) stopped on the way",
                                         r.name, r.node_errors.size()),
                             "",
                             "fix what stopped them (above); or, when a flow may go on without "
                             "a node, set allow-failures = true on the flow or run with "
                             "--allow-failures"));
        }
        json.push_back(reports[i]->json());
    }
    if (signals.signal() != 0) {
        rc = 128 + signals.signal();
    }
    if (!args.report_file.empty()) {
        std::ofstream out(args.report_file);
        out << json.dump(2) << '\n';
        if (!out) {
            diag.error(
                Error(ErrorCode::io, fmt::format("cannot write report {}", args.report_file)));
            return rc == kExitOk ? kExitRunFailed : rc;
        }
    }
    return rc;
}

}  // namespace

std::function<int()> define_run(CLI::App& command) {
    auto args = std::make_shared<RunArgs>();
    add_common(command, *args, true);
    command.add_option("--report", args->report_file, "Write the run report as JSON to this file");
    command.add_option("--audit", args->audit_file,
                       "Append the audit log (grants, denials, containments) as JSON lines");
    command.add_flag("--quiet,-q", args->quiet, "Do not print the run summary");
    command.add_flag("--verbose,-v", args->verbose,
                     "Print every failed call on stderr as it happens");
    command.add_flag("--allow-failures", args->allow_failures,
                     "Exit 0 when nodes stopped but the flow completed (as allow-failures)");
    add_live_options(command, args->live);
    return [args] { return run(*args); };
}

}  // namespace torvyn::cli
