// What the CLI verbs share: exit codes, diagnostics, signals, the manifest
// and runtime they start from, and running flows side by side.
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "torvyn/config/manifest.hpp"
#include "torvyn/engine/engine.hpp"
#include "torvyn/packaging/source.hpp"
#include "torvyn/reactor/flow.hpp"

namespace torvyn::cli {

// Exit codes, as documented in README and docs/errors.md:
//   0    ok (check/link: no errors, warnings allowed; run: every flow completed)
//   1    a flow failed while running (guest trap, error, deadline, timeout ...)
//   2    invalid input found before anything ran (usage, manifest, component, link)
//   3    bench: a metric regressed past --threshold against --compare
//   130  stopped by SIGINT, 143 by SIGTERM (after draining, or forced)
inline constexpr int kExitOk = 0;
inline constexpr int kExitRunFailed = 1;
inline constexpr int kExitInvalid = 2;
inline constexpr int kExitRegression = 3;

// One CLI verb: its name, what it does, and how it is defined: `define` adds
// the verb's options to its subcommand and returns what runs it once the
// command line is parsed. The table is in main.cpp; a verb is one file.
struct Verb {
    std::string_view name;
    std::string_view summary;
    std::function<int()> (*define)(CLI::App& command);
};

// Turns SIGINT/SIGTERM into stop requests: the first drains gracefully, the
// second stops at once. Signals are taken by one thread with sigtimedwait, so
// no handler runs on a thread that is inside a guest. Create it before any
// other thread, so every thread inherits the mask.
class SignalWatcher {
public:
    SignalWatcher();
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;
    ~SignalWatcher();
    [[nodiscard]] const std::atomic<int>* stop() const { return &stop_; }
    // A stop asked for by the program itself (not a signal).
    void request(int level) { stop_.store(std::max(stop_.load(), level)); }
    // Withdraws the program's own request (before running again); a signal
    // that has arrived keeps its stop.
    void withdraw() {
        if (signal_.load() == 0) {
            stop_.store(0);
            if (signal_.load() != 0) {  // it arrived meanwhile
                request(1);
            }
        }
    }
    [[nodiscard]] int signal() const { return signal_.load(); }

private:
    sigset_t set_{};
    std::atomic<int> stop_{0};
    std::atomic<int> signal_{0};
    std::atomic<bool> done_{false};
    std::thread thread_;
};

// Diagnostics on stderr, in colour on a terminal unless NO_COLOR is set.
class Diagnostics {
public:
    Diagnostics();
    void error(const Error& e) const { print(e, "error", "\033[1;31m"); }
    void warning(const Error& e) const { print(e, "warning", "\033[1;33m"); }
    [[nodiscard]] std::string ok(std::string_view text) const;

private:
    void print(const Error& e, std::string_view level, std::string_view ansi) const;
    bool colour_;
};

// Options every verb that reads a manifest has.
struct CommonArgs {
    std::string manifest = ".";
    std::vector<std::string> flows;
    std::vector<std::string> component_path;
    std::string cache_dir;
    bool no_cache = false;
    bool no_pool = false;
    bool json = false;
    // --set [FLOW.]NODE.config=VALUE: overrides from the command line.
    std::vector<std::string> sets;
    // --trust KEY.pub: a registry reference must be signed by one of these.
    std::vector<std::string> trust;
};
// Adds them to `command` (the component options only when `components`).
void add_common(CLI::App& command, CommonArgs& args, bool components);

// The manifest file an argument names (packaging/source.hpp).
using oci::manifest_of;
// The manifest, loaded and validated; every problem printed (or appended to
// `errors`).
std::optional<Manifest> load_checked(const CommonArgs& args, const Diagnostics& diag,
                                     std::vector<Error>* errors = nullptr);
std::vector<const FlowSpec*> selected_flows(const Manifest& m, const CommonArgs& args);
Result<std::unique_ptr<Runtime>> make_runtime(const CommonArgs& args, const Manifest& m);
std::vector<std::filesystem::path> component_path(const CommonArgs& args);
// Where compiled components are cached: $XDG_CACHE_HOME/torvyn/compiled.
std::filesystem::path default_cache_dir();
// This torvyn's own file (empty if the system cannot say): where it finds
// its build's components, SDKs and templates.
std::filesystem::path executable_path();

struct Executed {
    int rc = kExitOk;
    std::vector<FlowReport> reports;
};

// Links every selected flow (nothing runs if one fails), then runs them all,
// one thread per flow. `observe(i)` gives flow i observers of its own;
// `tick`, when given, is called on this thread about every 20 ms while they
// run, with their progress (a live line, a stop condition); `linked(i, flow)`
// is told of each flow once all are linked, before any runs (the flow
// outlives its run). After a forced stop, a call that cannot be ended does
// not hold the process.
using ProgressTick = std::function<void(const std::vector<FlowProgress>&)>;
Executed execute(const CommonArgs& args, const Manifest& manifest, const RunOptions& options,
                 Runtime& runtime, const Diagnostics& diag, const SignalWatcher& signals,
                 const std::function<std::vector<FlowObserver*>(std::size_t)>& observe = {},
                 const ProgressTick& tick = {},
                 const std::function<void(std::size_t, const Flow&)>& linked = {});

}  // namespace torvyn::cli
