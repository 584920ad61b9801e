// torvyn — the command-line front end.
//
// Exit codes:
//   0    every flow completed
//   1    a flow failed while running (guest trap, error, deadline, timeout ...)
//   2    invalid input found before anything ran (usage, manifest, component, link)
//   130  stopped by SIGINT, 143 by SIGTERM (after draining, or forced by a
//        second signal or the drain timeout)
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "torvyn/config/manifest.hpp"
#include "torvyn/engine/engine.hpp"
#include "torvyn/observability/report.hpp"
#include "torvyn/reactor/flow.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitInvalid = 2;

void print_error(const torvyn::Error& e) {
    fmt::print(stderr, "torvyn: {}\n", e.format());
}

std::filesystem::path default_cache_dir() {
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
        return std::filesystem::path(x) / "torvyn" / "compiled";
    }
    if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
        return std::filesystem::path(h) / ".cache" / "torvyn" / "compiled";
    }
    return {};
}

std::vector<std::filesystem::path> env_component_path() {
    std::vector<std::filesystem::path> out;
    const char* v = std::getenv("TORVYN_COMPONENT_PATH");
    if (v == nullptr) {
        return out;
    }
    std::string s(v);
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t end = s.find(':', start);
        const std::string part =
            s.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!part.empty()) {
            out.emplace_back(part);
        }
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    return out;
}

// Turns SIGINT/SIGTERM into stop requests: the first drains gracefully, the
// second stops at once. Signals are taken by one thread with sigtimedwait, so
// no handler runs on a thread that is inside a guest.
class SignalWatcher {
public:
    SignalWatcher() {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set_, nullptr);
        thread_ = std::thread([this] {
            const timespec tick{0, 50'000'000};
            while (!done_.load()) {
                const int sig = sigtimedwait(&set_, nullptr, &tick);
                if (sig <= 0) {
                    continue;
                }
                signal_ = sig;
                const int level = stop_.load() + 1;
                stop_.store(std::min(level, 2));
                fmt::print(
                    stderr, "\ntorvyn: {} received, {}\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                    level == 1 ? "draining (send it again to stop at once)" : "stopping now");
            }
        });
    }
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;
    ~SignalWatcher() {
        done_.store(true);
        thread_.join();
    }
    [[nodiscard]] const std::atomic<int>* stop() const { return &stop_; }
    [[nodiscard]] int signal() const { return signal_.load(); }

private:
    sigset_t set_{};
    std::atomic<int> stop_{0};
    std::atomic<int> signal_{0};
    std::atomic<bool> done_{false};
    std::thread thread_;
};

struct RunArgs {
    std::string manifest = ".";
    std::vector<std::string> flows;
    std::vector<std::string> component_path;
    std::string cache_dir;
    bool no_cache = false;
    std::string report_file;
    bool quiet = false;
};

int run(const RunArgs& args) {
    // First, before any thread exists, so every thread inherits the mask.
    SignalWatcher signals;
    auto load = torvyn::load_manifest(args.manifest);
    if (!load.ok()) {
        for (const auto& e : load.errors) {
            print_error(e);
        }
        return kExitInvalid;
    }
    const auto& manifest = load.manifest;

    std::vector<const torvyn::FlowSpec*> selected;
    for (const auto& f : manifest.flows) {
        if (args.flows.empty() ||
            std::find(args.flows.begin(), args.flows.end(), f.name) != args.flows.end()) {
            selected.push_back(&f);
        }
    }
    for (const auto& want : args.flows) {
        if (std::none_of(manifest.flows.begin(), manifest.flows.end(),
                         [&](const auto& f) { return f.name == want; })) {
            print_error(
                torvyn::Error(torvyn::ErrorCode::usage,
                              fmt::format("no flow named '{}' in {}", want, manifest.path.string()),
                              {}, "omit --flow to run every flow"));
            return kExitInvalid;
        }
    }

    torvyn::RuntimeOptions ro;
    if (!args.no_cache) {
        ro.cache_dir =
            args.cache_dir.empty() ? default_cache_dir() : std::filesystem::path(args.cache_dir);
    }
    auto runtime = torvyn::Runtime::create(ro);
    if (!runtime) {
        print_error(runtime.error());
        return kExitInvalid;
    }

    torvyn::RunOptions opts;
    opts.stop = signals.stop();
    for (const auto& p : args.component_path) {
        opts.component_path.emplace_back(p);
    }
    for (auto& p : env_component_path()) {
        opts.component_path.push_back(std::move(p));
    }

    // Build every flow before running any: invalid input stops everything
    // before the first element moves.
    std::vector<std::unique_ptr<torvyn::Flow>> flows;
    for (const auto* spec : selected) {
        auto flow = torvyn::Flow::create(*runtime.value(), manifest, *spec, opts);
        if (!flow) {
            print_error(flow.error());
            return kExitInvalid;
        }
        flows.push_back(std::move(flow).value());
    }

    // Guests write to the same stdout; flush ours first so output keeps its order.
    std::fflush(stdout);
    std::vector<torvyn::FlowReport> reports(flows.size());
    {
        // One thread per flow: flows never wait on each other.
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < flows.size(); ++i) {
            threads.emplace_back([&, i] { reports[i] = flows[i]->run(); });
        }
        for (auto& t : threads) {
            t.join();
        }
    }
    flows.clear();

    int rc = kExitOk;
    nlohmann::json json = nlohmann::json::array();
    for (const auto& r : reports) {
        if (!args.quiet) {
            fmt::print(stderr, "{}", torvyn::format_summary(r));
        }
        if (r.error) {
            print_error(*r.error);
            rc = kExitRunFailed;
        }
        if (args.quiet) {
            for (const auto& e : r.node_errors) {
                fmt::print(stderr, "torvyn: warning: {}\n", e.format());
            }
        }
        json.push_back(torvyn::report_to_json(r));
    }
    if (signals.signal() != 0) {
        rc = 128 + signals.signal();
    }
    if (!args.report_file.empty()) {
        std::ofstream out(args.report_file);
        out << json.dump(2) << '\n';
        if (!out) {
            print_error(torvyn::Error(torvyn::ErrorCode::io,
                                      fmt::format("cannot write report {}", args.report_file)));
            return rc == kExitOk ? kExitRunFailed : rc;
        }
    }
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Torvyn: ownership-aware streaming pipelines of sandboxed WebAssembly components"};
    app.require_subcommand(1);
    app.set_version_flag("--version", fmt::format("torvyn 0.1.0 (wasmtime {})",
                                                  torvyn::Runtime::wasmtime_version()));

    RunArgs ra;
    auto* run_cmd = app.add_subcommand("run", "Run the flows of a pipeline manifest");
    run_cmd->add_option("manifest", ra.manifest, "Torvyn.toml, or a folder containing one")
        ->capture_default_str();
    run_cmd->add_option("--flow", ra.flows, "Run only this flow (repeatable)");
    run_cmd->add_option(
        "--component-path,-L", ra.component_path,
        "Folder to search for component files (repeatable; also TORVYN_COMPONENT_PATH)");
    run_cmd->add_option("--cache-dir", ra.cache_dir, "Where compiled components are cached");
    run_cmd->add_flag("--no-cache", ra.no_cache, "Compile every component afresh");
    run_cmd->add_option("--report", ra.report_file, "Write the run report as JSON to this file");
    run_cmd->add_flag("--quiet,-q", ra.quiet, "Do not print the run summary");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            return app.exit(e);
        }
        print_error(torvyn::Error(torvyn::ErrorCode::usage, e.what(), {}, "see torvyn --help"));
        return kExitInvalid;
    }
    if (*run_cmd) {
        return run(ra);
    }
    return kExitInvalid;
}
