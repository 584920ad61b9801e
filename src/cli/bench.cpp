// torvyn bench: run with a warm-up (and optionally for a fixed time), then
// report throughput, latency percentiles, per-node cost, copies, queues and
// memory; optionally compare with an earlier report.
#include <sys/resource.h>

#include <fstream>

#include <fmt/format.h>

#include "common.hpp"
#include "torvyn/observability/bench.hpp"

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
};

std::uint64_t peak_rss_bytes() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<std::uint64_t>(u.ru_maxrss) * 1024;
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
    // The measurements (and, with --count-events, a counter of every event)
    // are each flow's observers.
    const std::size_t count = selected_flows(*manifest, args).size();
    std::vector<std::unique_ptr<BenchObserver>> measured;
    std::vector<std::unique_ptr<CountingObserver>> counters;
    for (std::size_t i = 0; i < count; ++i) {
        measured.push_back(std::make_unique<BenchObserver>(args.warmup));
        counters.push_back(args.count_events ? std::make_unique<CountingObserver>() : nullptr);
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
    const Executed ran = execute(args, *manifest, opts, *runtime.value(), diag, signals,
                                 [&](std::size_t i) -> std::vector<FlowObserver*> {
                                     std::vector<FlowObserver*> o{measured.at(i).get()};
                                     if (counters.at(i)) {
                                         o.push_back(counters[i].get());
                                     }
                                     return o;
                                 });
    finished.store(true);
    if (timer.joinable()) {
        timer.join();
    }
    if (ran.rc == kExitInvalid) {
        return ran.rc;
    }
    nlohmann::json benches = nlohmann::json::array();
    const std::uint64_t rss = peak_rss_bytes();
    for (std::size_t i = 0; i < ran.reports.size(); ++i) {
        const FlowReport& r = ran.reports[i];
        if (r.error) {
            diag.error(*r.error);
        }
        benches.push_back(bench_to_json(r, *measured[i], rss));
        if (counters[i]) {
            benches.back()["events"] = counters[i]->json();
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
        std::vector<const BenchObserver*> views;
        for (const auto& m : measured) {
            views.push_back(m.get());
        }
        std::ofstream(args.html_file) << bench_html(ran.reports, views, benches);
    }
    int rc = ran.rc;
    if (!args.compare_file.empty()) {
        const auto deltas = compare_bench(before, benches, args.threshold);
        fmt::print(stderr, "compared with {} (threshold {}%):\n{}", args.compare_file,
                   args.threshold, format_deltas(deltas));
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
    command.add_flag("--count-events", args->count_events,
                     "Attach an observer that counts every event (what an observer costs)");
    return [args] { return bench(*args); };
}

}  // namespace torvyn::cli
