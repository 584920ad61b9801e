// torvyn run: link, then run the flows of a manifest, one thread per flow,
// and print each flow's summary (and write the JSON report); add-ons export
// what happens meanwhile.
#include "run.hpp"

#include <charconv>
#include <fstream>

#include <fmt/format.h>

#include "torvyn/observability/report.hpp"
#include "torvyn/security/audit.hpp"

namespace torvyn::cli {
namespace {

// -v: every failed call on stderr as it happens (the summary counts them).
class ErrorPrinter final : public FlowObserver {
public:
    explicit ErrorPrinter(const Diagnostics& diag) : diag_(diag) {}
    [[nodiscard]] std::uint32_t events() const override { return kErrorEvents; }
    void on_start(const FlowTopology& topology) override { flow_ = topology.flow; }
    void on_error(std::uint32_t, const Error& why, std::optional<std::uint64_t> element,
                  const TraceContext*) override {
        Error e = why;
        (void)element;  // the message names it
        e.message = fmt::format("flow '{}': {}", flow_, e.message);
        diag_.warning(e);
    }

private:
    const Diagnostics& diag_;
    std::string flow_;
};

}  // namespace

// "all", "1/N" (one element in N) or "N/s" (at most N a second).
Result<TraceSampling> parse_sampling(std::string_view text) {
    TraceSampling s;
    const auto bad = [&] {
        return Error(ErrorCode::usage, fmt::format("--sample '{}' is not a sampling", text), "",
                     "use all (every element), 1/N (one element in N) or N/s (at most N a "
                     "second), e.g. --sample 1/100");
    };
    const auto number = [](std::string_view digits, std::uint64_t& out) {
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
        return ec == std::errc() && end == digits.data() + digits.size() && out > 0;
    };
    if (text == "all") {
        return s;
    }
    if (text.rfind("1/", 0) == 0) {
        s.mode = TraceSampling::Mode::one_in;
        if (!number(text.substr(2), s.n)) {
            return bad();
        }
        return s;
    }
    if (text.size() > 2 && text.substr(text.size() - 2) == "/s") {
        s.mode = TraceSampling::Mode::per_second;
        if (!number(text.substr(0, text.size() - 2), s.n)) {
            return bad();
        }
        return s;
    }
    return bad();
}

int run_flows(const RunArgs& args, AddOns& addons) {
    SignalWatcher signals;  // first: every later thread inherits its mask
    const Diagnostics diag;
    auto manifest = load_checked(args, diag);
    if (!manifest) {
        return kExitInvalid;
    }
    auto sampling = parse_sampling(args.sample);
    if (!sampling) {
        diag.error(sampling.error());
        return kExitInvalid;
    }
    std::optional<std::chrono::milliseconds> duration;
    if (!args.duration.empty()) {
        auto d = parse_duration(args.duration);
        if (!d || d.value().count() <= 0) {
            diag.error(Error(ErrorCode::usage,
                             fmt::format("--duration '{}' is not a duration", args.duration), "",
                             "write it like 500ms, 10s or 2m"));
            return kExitInvalid;
        }
        duration = d.value();
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
    opts.sampling = sampling.value();
    const std::vector<const FlowSpec*> selected = selected_flows(*manifest, args);
    const std::size_t flows = selected.size();
    RunContext context{*manifest, selected, flows, diag, signals, opts};
    std::vector<RunAddOn*> active;
    for (auto& addon : addons) {
        if (!addon->wanted()) {
            continue;
        }
        if (auto e = addon->open(context)) {
            diag.error(*e);
            return kExitInvalid;
        }
        active.push_back(addon.get());
    }
    // The summary and the JSON report are each flow's observer.
    std::vector<std::unique_ptr<ReportObserver>> reports(flows);
    std::vector<std::unique_ptr<ErrorPrinter>> printers;
    for (auto& r : reports) {
        r = std::make_unique<ReportObserver>();
        printers.push_back(std::make_unique<ErrorPrinter>(diag));
    }
    const auto started = std::chrono::steady_clock::now();
    const Executed ran = execute(
        args, *manifest, opts, *runtime.value(), diag, signals,
        [&](std::size_t i) {
            std::vector<FlowObserver*> observers{reports.at(i).get()};
            if (args.verbose) {
                observers.push_back(printers.at(i).get());
            }
            for (RunAddOn* addon : active) {
                for (FlowObserver* o : addon->observers(i)) {
                    observers.push_back(o);
                }
            }
            return observers;
        },
        [&](const std::vector<FlowProgress>& progress) {
            if (duration && std::chrono::steady_clock::now() - started >= *duration) {
                signals.request(static_cast<int>(StopRequest::graceful));
            }
            for (RunAddOn* addon : active) {
                addon->tick(context, progress);
            }
        },
        [&](std::size_t i, const Flow& flow) {
            for (RunAddOn* addon : active) {
                addon->linked(i, flow);
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
    for (RunAddOn* addon : active) {
        if (!addon->close(context, ran.reports) && rc == kExitOk) {
            rc = kExitRunFailed;
        }
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

void add_run_options(CLI::App& command, RunArgs& args, AddOns& addons) {
    add_common(command, args, true);
    command.add_option("--duration", args.duration,
                       "Stop gracefully after this long (e.g. 30s), draining what is in flight");
    command.add_option("--sample", args.sample, "Which elements are traced: all, 1/N or N/s")
        ->capture_default_str();
    for (auto& addon : addons) {
        addon->add_options(command);
    }
    command.add_option("--report", args.report_file, "Write the run report as JSON to this file");
    command.add_option("--audit", args.audit_file,
                       "Append the audit log (grants, denials, containments) as JSON lines");
    command.add_flag("--quiet,-q", args.quiet, "Do not print the run summary");
    command.add_flag("--verbose,-v", args.verbose,
                     "Print every failed call on stderr as it happens");
    command.add_flag("--allow-failures", args.allow_failures,
                     "Exit 0 when nodes stopped but the flow completed (as allow-failures)");
}

std::function<int()> define_run(CLI::App& command) {
    auto args = std::make_shared<RunArgs>();
    args->sample = "1/100";  // spans for one element in a hundred, when exported
    auto addons = std::make_shared<AddOns>();
    addons->push_back(make_otlp_addon());
    addons->push_back(make_log_addon());
    addons->push_back(make_progress_addon());
    addons->push_back(make_live_addon());
    add_run_options(command, *args, *addons);
    return [args, addons] { return run_flows(*args, *addons); };
}

}  // namespace torvyn::cli
