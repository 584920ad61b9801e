// torvyn bench: run with a warm-up (and optionally for a fixed time), then
// report throughput, latency percentiles, per-node cost, copies, queues and
// memory; optionally compare with an earlier report.
#include <sys/resource.h>

#include <fstream>

#include <fmt/format.h>

#include "run.hpp"
#include "torvyn/observability/bench.hpp"
#include "torvyn/observability/live.hpp"
#include "torvyn/observability/trace.hpp"

namespace torvyn::cli {
namespace {

struct BenchArgs : CommonArgs {
    std::uint64_t warmup = 1000;
    std::string duration;
    std::string out_file;
    std::string html_file;
    std::string compare_file;
    double threshold = 10.0;
    bool count_events = false;
    std::string trace;  // --trace SAMPLING: what tracing costs
    bool live = false;
    std::uint32_t repeat = 1;
};

std::uint64_t peak_rss_bytes() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<std::uint64_t>(u.ru_maxrss) * 1024;
}

// One execution of the selected flows, each with its measurements.
struct BenchRun {
    Executed ran;
    std::vector<std::unique_ptr<BenchObserver>> measured;
    std::vector<std::unique_ptr<CountingObserver>> counters;
    std::vector<std::unique_ptr<TraceRecorder>> traces;
    std::vector<std::shared_ptr<LiveFlow>> live;
    nlohmann::json benches = nlohmann::json::array();
};

BenchRun run_once(const BenchArgs& args, const Manifest& manifest, const RunOptions& opts,
                  Runtime& runtime, const Diagnostics& diag, SignalWatcher& signals,
                  std::optional<std::chrono::milliseconds> duration, std::size_t count,
                  LiveRegistry* live) {
    BenchRun run;
    // With --live, what `torvyn run --metrics` attaches (nothing scrapes it).
    if (live != nullptr) {
        for (const FlowSpec* f : selected_flows(manifest, args)) {
            run.live.push_back(live->add(f->name, f->max_buffer_memory));
        }
    }
    // The measurements (and, with --count-events, a counter of every event)
    // are each flow's observers.
    for (std::size_t i = 0; i < count; ++i) {
        run.measured.push_back(std::make_unique<BenchObserver>(args.warmup));
        run.counters.push_back(args.count_events ? std::make_unique<CountingObserver>() : nullptr);
        run.traces.push_back(args.trace.empty() ? nullptr : std::make_unique<TraceRecorder>(false));
    }
    std::atomic<bool> finished{false};
    std::thread timer;
    if (duration) {
        timer = std::thread([&] {
            const auto until = std::chrono::steady_clock::now() + *duration;
            while (!finished.load() && std::chrono::steady_clock::now() < until) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            if (!finished.load()) {
                signals.request(1);
            }
        });
    }
    run.ran = execute(
        args, manifest, opts, runtime, diag, signals,
        [&](std::size_t i) -> std::vector<FlowObserver*> {
            std::vector<FlowObserver*> o{run.measured.at(i).get()};
            if (run.counters.at(i)) {
                o.push_back(run.counters[i].get());
            }
            if (!run.live.empty()) {
                o.push_back(run.live.at(i).get());
            }
            if (run.traces.at(i)) {
                o.push_back(run.traces[i].get());
            }
            return o;
        },
        {},
        [&](std::size_t i, const Flow& flow) {
            if (!run.live.empty()) {
                run.live.at(i)->track([&flow] { return flow.progress(); });
            }
        });
    finished.store(true);
    if (timer.joinable()) {
        timer.join();
        signals.withdraw();  // the timer's stop ended this run only
    }
    const std::uint64_t rss = peak_rss_bytes();
    for (std::size_t i = 0; i < run.ran.reports.size(); ++i) {
        run.benches.push_back(bench_to_json(run.ran.reports[i], *run.measured[i], rss));
        if (run.counters[i]) {
            run.benches.back()["events"] = run.counters[i]->json();
        }
        if (run.traces[i]) {
            run.benches.back()["traced"] = {{"sampling", args.trace},
                                            {"elements", run.traces[i]->elements()},
                                            {"visits", run.traces[i]->visits()}};
        }
    }
    return run;
}

int bench(const BenchArgs& args) {
    SignalWatcher signals;  // first: every later thread inherits its mask
    const Diagnostics diag;
    auto manifest = load_checked(args, diag);
    if (!manifest) {
        return kExitInvalid;
    }
    std::optional<std::chrono::milliseconds> duration;
    if (!args.duration.empty()) {
        auto d = parse_duration(args.duration);
        if (!d) {
            diag.error(Error(ErrorCode::usage,
                             fmt::format("--duration: not a duration: '{}'", args.duration), {},
                             "write e.g. 10s or 500ms"));
            return kExitInvalid;
        }
        duration = d.value();
    }
    nlohmann::json before;
    if (!args.compare_file.empty()) {
        std::ifstream in(args.compare_file);
        before = nlohmann::json::parse(in, nullptr, false);
        if (!in || before.is_discarded() || !before.is_array()) {
            diag.error(Error(ErrorCode::usage,
                             fmt::format("--compare: {} is not a bench report", args.compare_file),
                             {}, "pass a file written by torvyn bench --out"));
            return kExitInvalid;
        }
    }
    auto runtime = make_runtime(args, *manifest);
    if (!runtime) {
        diag.error(runtime.error());
        return kExitInvalid;
    }
    RunOptions opts;
    opts.stop = signals.stop();
    opts.component_path = component_path(args);
    if (!args.trace.empty()) {
        auto sampling = parse_sampling(args.trace);
        if (!sampling) {
            diag.error(sampling.error());
            return kExitInvalid;
        }
        opts.sampling = sampling.value();
    }
    const std::size_t count = selected_flows(*manifest, args).size();
    std::optional<LiveRegistry> live;
    if (args.live) {
        live.emplace();
    }
    std::vector<BenchRun> runs;
    for (std::uint32_t n = 0; n < args.repeat && signals.signal() == 0; ++n) {
        runs.push_back(run_once(args, *manifest, opts, *runtime.value(), diag, signals, duration,
                                count, live ? &*live : nullptr));
        if (runs.back().ran.rc == kExitInvalid) {
            return kExitInvalid;
        }
    }
    // Each flow's report: its one run, or the medians over the runs.
    nlohmann::json benches = nlohmann::json::array();
    std::vector<std::size_t> shown(count, 0);  // the run whose details (HTML) are shown
    for (std::size_t i = 0; i < count; ++i) {
        std::vector<nlohmann::json> of_flow;
        for (const auto& r : runs) {
            if (i < r.benches.size()) {
                of_flow.push_back(r.benches[i]);
            }
        }
        if (of_flow.empty()) {
            continue;
        }
        benches.push_back(combine_runs(of_flow));
        shown[i] = median_run(of_flow);
    }
    const BenchRun& last = runs.back();
    for (const FlowReport& r : last.ran.reports) {
        if (r.error) {
            diag.error(*r.error);
        }
    }
    if (args.json) {
        fmt::print("{}\n", benches.dump(2));
    } else {
        for (const auto& b : benches) {
            fmt::print(stderr, "{}", format_bench(b));
        }
    }
    if (!args.out_file.empty()) {
        std::ofstream(args.out_file) << benches.dump(2) << '\n';
    }
    if (!args.html_file.empty()) {
        // The representative run of each flow (the median's, with --repeat).
        std::vector<FlowReport> reports;
        std::vector<const BenchObserver*> views;
        for (std::size_t i = 0; i < last.ran.reports.size(); ++i) {
            const BenchRun& r = runs.at(shown.at(i));
            reports.push_back(r.ran.reports.at(i));
            views.push_back(r.measured.at(i).get());
        }
        std::ofstream(args.html_file) << bench_html(reports, views, benches);
    }
    int rc = last.ran.rc;
    // A warm-up that took every delivery leaves nothing measured: the
    // figures would be zeros, not a measurement.
    for (std::size_t i = 0; i < last.ran.reports.size(); ++i) {
        const FlowReport& r = last.ran.reports[i];
        if (r.ok() && r.delivered <= args.warmup) {
            diag.error(
                Error(ErrorCode::usage,
                      fmt::format("bench '{}': the warm-up of {} deliveries took the whole run ({} "
                                  "delivered): nothing was measured",
                                  r.name, args.warmup, r.delivered),
                      {},
                      fmt::format("lower --warmup (e.g. --warmup {}) or let the flow emit more",
                                  r.delivered / 10)));
            rc = kExitInvalid;
        }
    }
    if (!args.compare_file.empty()) {
        const auto deltas = compare_bench(before, benches, args.threshold);
        fmt::print(stderr, "compared with {} (threshold {}%):\n{}", args.compare_file,
                   args.threshold, format_deltas(deltas));
        // A gate tighter than the machine's own run-to-run spread flags noise.
        for (const auto& b : benches) {
            if (!b.contains("repeat")) {
                continue;
            }
            for (const auto& d : deltas) {
                const auto& r = b["repeat"];
                if (d.flow == b["flow"] && r.contains(d.metric) &&
                    r[d.metric]["spread_pct"].get<double>() > args.threshold) {
                    fmt::print(stderr,
                               "  note: {} of '{}' varied by {:.0f}% over these {} runs, more than "
                               "the threshold: raise --threshold or --repeat\n",
                               d.metric, d.flow, r[d.metric]["spread_pct"].get<double>(),
                               r["runs"].get<std::size_t>());
                }
            }
        }
        if (rc == kExitOk &&
            std::any_of(deltas.begin(), deltas.end(), [](const auto& d) { return d.regression; })) {
            rc = kExitRegression;
        }
    }
    if (signals.signal() != 0) {
        rc = 128 + signals.signal();
    }
    return rc;
}

}  // namespace

std::function<int()> define_bench(CLI::App& command) {
    auto args = std::make_shared<BenchArgs>();
    add_common(command, *args, true);
    command.add_option("--warmup", args->warmup, "Deliveries left out of the measurements")
        ->capture_default_str();
    command.add_option("--duration", args->duration, "Stop (gracefully) after this long, e.g. 10s");
    command.add_flag("--json", args->json, "Machine-readable report on stdout");
    command.add_option("--out", args->out_file, "Write the JSON report to this file");
    command.add_option("--html", args->html_file, "Write a self-contained HTML report");
    command.add_option("--compare", args->compare_file, "Compare with an earlier --out report");
    command
        .add_option("--threshold", args->threshold,
                    "Percent by which a metric may get worse before it is a regression")
        ->capture_default_str();
    command
        .add_option("--repeat", args->repeat,
                    "Run the flows this many times and report each metric's median and spread "
                    "(for a regression gate on a noisy machine)")
        ->check(CLI::Range(1U, 1000U))
        ->capture_default_str();
    command.add_option("--trace", args->trace,
                       "Trace elements as torvyn trace does (all, 1/N or N/s), kept in memory: "
                       "what tracing costs");
    command.add_flag("--count-events", args->count_events,
                     "Attach an observer that counts every event (what an observer costs)");
    command.add_flag("--live", args->live,
                     "Keep the live counters `torvyn run --metrics/--ui` keeps, serving nothing "
                     "(what production-level observability costs)");
    return [args] { return bench(*args); };
}

}  // namespace torvyn::cli
