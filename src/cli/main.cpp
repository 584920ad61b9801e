// torvyn — the command-line front end.
//
// torvyn check | link | run | bench. Exit codes:
//   0    ok (check/link: no errors, warnings allowed; run: every flow completed)
//   1    a flow failed while running (guest trap, error, deadline, timeout ...)
//   2    invalid input found before anything ran (usage, manifest, component, link)
//   3    bench: a metric regressed past --threshold against --compare
//   130  stopped by SIGINT, 143 by SIGTERM (after draining, or forced by a
//        second signal or the drain timeout)
#include <CLI/CLI.hpp>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/resource.h>
#include <unistd.h>

#include "torvyn/config/manifest.hpp"
#include "torvyn/core/limits.hpp"
#include "torvyn/engine/engine.hpp"
#include "torvyn/observability/bench.hpp"
#include "torvyn/observability/report.hpp"
#include "torvyn/reactor/flow.hpp"
#include "torvyn/reactor/link.hpp"
#include "torvyn/security/audit.hpp"

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
    // A stop asked for by the program itself (not a signal).
    void request(int level) { stop_.store(std::max(stop_.load(), level)); }
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
    Diagnostics()
        : colour_(isatty(fileno(stderr)) != 0 &&
                  (std::getenv("NO_COLOR") == nullptr || *std::getenv("NO_COLOR") == '\0')) {}

    void error(const torvyn::Error& e) { print(e, "error", "\033[1;31m"); }
    void warning(const torvyn::Error& e) { print(e, "warning", "\033[1;33m"); }
    [[nodiscard]] std::string ok(std::string_view text) const {
        return colour_ ? fmt::format("\033[1;32m{}\033[0m", text) : std::string(text);
    }

private:
    void print(const torvyn::Error& e, std::string_view level, std::string_view ansi) const {
        std::string line = e.format();  // "error[E0202] where: message\n  hint: ..."
        if (level != "error") {
            line.replace(0, 5, level);
        }
        if (colour_) {
            line.insert(line.find('['), "\033[0m");
            line.insert(0, ansi);
        }
        fmt::print(stderr, "torvyn: {}\n", line);
    }
    bool colour_;
};

using torvyn::error_json;

struct CommonArgs {
    std::string manifest = ".";
    std::vector<std::string> flows;
    std::vector<std::string> component_path;
    std::string cache_dir;
    bool no_cache = false;
    bool json = false;
};

struct RunArgs : CommonArgs {
    std::string report_file;
    std::string audit_file;
    bool quiet = false;
};

struct CheckArgs : CommonArgs {
    std::string wit_dir;
};

// The manifest, loaded and validated; every problem printed.
std::optional<torvyn::Manifest> load_checked(const CommonArgs& args, Diagnostics& diag,
                                             std::vector<torvyn::Error>* errors = nullptr) {
    auto load = torvyn::load_manifest(args.manifest);
    for (const auto& e : load.errors) {
        if (errors != nullptr) {
            errors->push_back(e);
        } else {
            diag.error(e);
        }
    }
    if (!load.ok()) {
        return std::nullopt;
    }
    for (const auto& want : args.flows) {
        if (std::none_of(load.manifest.flows.begin(), load.manifest.flows.end(),
                         [&](const auto& f) { return f.name == want; })) {
            torvyn::Error e(
                torvyn::ErrorCode::usage,
                fmt::format("no flow named '{}' in {}", want, load.manifest.path.string()), {},
                "omit --flow to use every flow");
            if (errors != nullptr) {
                errors->push_back(e);
            } else {
                diag.error(e);
            }
            return std::nullopt;
        }
    }
    return std::move(load.manifest);
}

std::vector<const torvyn::FlowSpec*> selected_flows(const torvyn::Manifest& m,
                                                    const CommonArgs& args) {
    std::vector<const torvyn::FlowSpec*> out;
    for (const auto& f : m.flows) {
        if (args.flows.empty() ||
            std::find(args.flows.begin(), args.flows.end(), f.name) != args.flows.end()) {
            out.push_back(&f);
        }
    }
    return out;
}

torvyn::Result<std::unique_ptr<torvyn::Runtime>> make_runtime(const CommonArgs& args,
                                                              const torvyn::Manifest& m) {
    torvyn::RuntimeOptions ro;
    if (!args.no_cache) {
        ro.cache_dir =
            args.cache_dir.empty() ? default_cache_dir() : std::filesystem::path(args.cache_dir);
    }
    // Fuel metering slows every instance, so only when a node asks for it.
    for (const auto& f : m.flows) {
        for (const auto& n : f.nodes) {
            ro.fuel |= n.fuel != 0;
        }
    }
    return torvyn::Runtime::create(ro);
}

std::vector<std::filesystem::path> component_path(const CommonArgs& args) {
    std::vector<std::filesystem::path> out(args.component_path.begin(), args.component_path.end());
    for (auto& p : env_component_path()) {
        out.push_back(std::move(p));
    }
    return out;
}

// torvyn check: the manifest's schema and the project's WIT, without
// touching any component.
int check(const CheckArgs& args) {
    Diagnostics diag;
    std::vector<torvyn::Error> errors;
    auto manifest = load_checked(args, diag, &errors);
    std::filesystem::path wit = args.wit_dir;
    if (wit.empty() && manifest) {
        wit = manifest->path.parent_path() / "wit";
    }
    std::error_code ec;
    const bool check_wit = !wit.empty() && std::filesystem::is_directory(wit, ec);
    if (!args.wit_dir.empty() && !check_wit) {
        errors.emplace_back(torvyn::ErrorCode::wit_invalid,
                            fmt::format("WIT folder {} does not exist", wit.string()), "",
                            "pass --wit DIR with the project's WIT package");
    } else if (check_wit) {
        if (auto s = torvyn::check_wit(wit); !s) {
            errors.push_back(s.error());
        }
    }
    std::size_t nodes = 0;
    std::size_t flows = 0;
    if (manifest) {
        for (const auto* f : selected_flows(*manifest, args)) {
            ++flows;
            nodes += f->nodes.size();
        }
    }
    if (args.json) {
        nlohmann::json j = {{"ok", errors.empty()},
                            {"flows", flows},
                            {"nodes", nodes},
                            {"wit", check_wit ? wit.string() : ""}};
        auto& ej = j["errors"] = nlohmann::json::array();
        for (const auto& e : errors) {
            ej.push_back(error_json(e));
        }
        j["warnings"] = nlohmann::json::array();
        fmt::print("{}\n", j.dump(2));
    } else {
        for (const auto& e : errors) {
            diag.error(e);
        }
        if (errors.empty()) {
            fmt::print(stderr, "{}: {} flow(s), {} node(s){}\n", diag.ok("check ok"), flows, nodes,
                       check_wit ? fmt::format(", WIT in {}", wit.string()) : "");
        } else {
            fmt::print(stderr, "check: {} error(s)\n", errors.size());
        }
    }
    return errors.empty() ? kExitOk : kExitInvalid;
}

// torvyn link: check, then find, compile and inspect every component and
// link it against its grants. Nothing is instantiated.
int link(const CommonArgs& args) {
    Diagnostics diag;
    std::vector<torvyn::Error> errors;
    std::vector<torvyn::Error> warnings;
    auto manifest = load_checked(args, diag, &errors);
    nlohmann::json flows_json = nlohmann::json::array();
    if (manifest) {
        auto runtime = make_runtime(args, *manifest);
        if (!runtime) {
            diag.error(runtime.error());
            return kExitInvalid;
        }
        torvyn::LinkContext ctx{runtime.value().get(), &*manifest, component_path(args), nullptr};
        for (const auto* f : selected_flows(*manifest, args)) {
            torvyn::FlowLink fl = torvyn::link_flow(ctx, *f);
            nlohmann::json fj = {{"flow", f->name}, {"nodes", nlohmann::json::array()}};
            if (!args.json) {
                fmt::print("flow '{}'\n", f->name);
            }
            for (std::size_t i = 0; i < f->nodes.size(); ++i) {
                const auto& spec = f->nodes[i];
                const auto& ln = fl.nodes[i];
                fj["nodes"].push_back({{"name", spec.name},
                                       {"role", torvyn::role_name(spec.role)},
                                       {"linked", ln.prepared != nullptr},
                                       {"component", ln.file.string()},
                                       {"sha256", ln.load.digest},
                                       {"imports", ln.interfaces.imports},
                                       {"exports", ln.interfaces.exports},
                                       {"grants", ln.grants}});
                if (!args.json) {
                    fmt::print("  {:<14} {:<10} {}\n", spec.name, torvyn::role_name(spec.role),
                               ln.prepared ? ln.file.filename().string() : "(not linked)");
                    if (ln.prepared) {
                        fmt::print("  {:<25} imports: {}\n", "",
                                   fmt::join(ln.interfaces.imports, ", "));
                        fmt::print("  {:<25} grants:  {}\n", "",
                                   ln.grants.empty()
                                       ? "none (pure computation)"
                                       : fmt::format("{}", fmt::join(ln.grants, ", ")));
                    }
                }
            }
            flows_json.push_back(std::move(fj));
            for (auto& e : fl.errors) {
                errors.push_back(std::move(e));
            }
            for (auto& w : fl.warnings) {
                warnings.push_back(std::move(w));
            }
        }
    }
    if (args.json) {
        nlohmann::json j = {{"ok", errors.empty()}, {"flows", flows_json}};
        auto& ej = j["errors"] = nlohmann::json::array();
        for (const auto& e : errors) {
            ej.push_back(error_json(e));
        }
        auto& wj = j["warnings"] = nlohmann::json::array();
        for (const auto& w : warnings) {
            wj.push_back(error_json(w));
        }
        fmt::print("{}\n", j.dump(2));
    } else {
        for (const auto& e : errors) {
            diag.error(e);
        }
        for (const auto& w : warnings) {
            diag.warning(w);
        }
        fmt::print(stderr, "{}\n",
                   errors.empty() ? diag.ok(fmt::format("link ok ({} warning(s))", warnings.size()))
                                  : fmt::format("link: {} error(s), {} warning(s)", errors.size(),
                                                warnings.size()));
    }
    return errors.empty() ? kExitOk : kExitInvalid;
}

struct Executed {
    int rc = kExitOk;
    std::vector<torvyn::FlowReport> reports;
};

// After a forced stop, flows get limits::kForcedExitGrace to end the calls
// they are in. A guest blocked inside the host where no deadline reaches it
// (a full stdout pipe, a FIFO) must not hold the process: what every flow
// did so far is printed, and the process exits.
//
// Written straight to the file descriptor: the stuck call may hold stdio's
// locks (a guest blocked writing to a full stdout holds stdout's).
[[noreturn]] void exit_now(const std::vector<std::unique_ptr<torvyn::Flow>>& flows, int code) {
    std::string text =
        fmt::format("torvyn: a call did not end within {} ms of the forced stop; exiting now\n",
                    torvyn::limits::kForcedExitGrace.count());
    for (const auto& f : flows) {
        const torvyn::FlowProgress p = f->progress();
        if (!p.finished) {
            text += torvyn::format_progress_at_exit(f->name(), p);
        }
    }
    for (std::size_t at = 0; at < text.size();) {
        const ssize_t n = ::write(STDERR_FILENO, text.data() + at, text.size() - at);
        if (n <= 0) {
            break;
        }
        at += static_cast<std::size_t>(n);
    }
    std::_Exit(code);
}

// Links every selected flow, then runs them all, one thread per flow.
Executed execute(const CommonArgs& args, const torvyn::Manifest& manifest, torvyn::RunOptions opts,
                 torvyn::Runtime& runtime, Diagnostics& diag, const SignalWatcher& signals) {
    Executed out;
    // Link every flow before running any: invalid input stops everything
    // before the first element moves.
    std::vector<std::unique_ptr<torvyn::Flow>> flows;
    for (const auto* spec : selected_flows(manifest, args)) {
        auto flow = torvyn::Flow::create(runtime, manifest, *spec, opts);
        if (!flow) {
            diag.error(flow.error());
            out.rc = kExitInvalid;
            return out;
        }
        for (const auto& w : flow.value()->warnings()) {
            diag.warning(w);
        }
        flows.push_back(std::move(flow).value());
    }
    // Guests write to the same stdout; flush ours first so output keeps its order.
    std::fflush(stdout);
    out.reports.resize(flows.size());
    {
        std::mutex mutex;
        std::condition_variable cv;
        std::size_t finished = 0;
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < flows.size(); ++i) {
            threads.emplace_back([&, i] {
                out.reports[i] = flows[i]->run();
                const std::lock_guard lock(mutex);
                ++finished;
                cv.notify_all();
            });
        }
        std::optional<std::chrono::steady_clock::time_point> forced_at;
        std::unique_lock lock(mutex);
        while (finished < flows.size()) {
            cv.wait_for(lock, std::chrono::milliseconds(20));
            if (signals.stop()->load() < static_cast<int>(torvyn::StopRequest::forced)) {
                continue;
            }
            const auto now = std::chrono::steady_clock::now();
            if (!forced_at) {
                forced_at = now;
            } else if (finished < flows.size() &&
                       now - *forced_at > torvyn::limits::kForcedExitGrace) {
                exit_now(flows, 128 + signals.signal());
            }
        }
        lock.unlock();
        for (auto& t : threads) {
            t.join();
        }
    }
    for (const auto& r : out.reports) {
        if (r.error) {
            out.rc = kExitRunFailed;
        }
    }
    return out;
}

int run(const RunArgs& args) {
    // First, before any thread exists, so every thread inherits the mask.
    SignalWatcher signals;
    Diagnostics diag;
    auto manifest = load_checked(args, diag);
    if (!manifest) {
        return kExitInvalid;
    }
    auto runtime = make_runtime(args, *manifest);
    if (!runtime) {
        diag.error(runtime.error());
        return kExitInvalid;
    }
    torvyn::AuditLog audit(args.audit_file);
    if (!audit.ok()) {
        diag.error(torvyn::Error(torvyn::ErrorCode::io,
                                 fmt::format("cannot write audit log {}", args.audit_file)));
        return kExitInvalid;
    }
    torvyn::RunOptions opts;
    opts.stop = signals.stop();
    opts.component_path = component_path(args);
    opts.audit = audit.enabled() ? &audit : nullptr;
    Executed ran = execute(args, *manifest, opts, *runtime.value(), diag, signals);
    if (ran.rc == kExitInvalid) {
        return ran.rc;
    }
    int rc = ran.rc;
    nlohmann::json json = nlohmann::json::array();
    for (const auto& r : ran.reports) {
        if (!args.quiet) {
            fmt::print(stderr, "{}", torvyn::format_summary(r));
        } else {
            for (const auto& e : r.node_errors) {
                diag.warning(e);
            }
        }
        if (r.error) {
            diag.error(*r.error);
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
            diag.error(torvyn::Error(torvyn::ErrorCode::io,
                                     fmt::format("cannot write report {}", args.report_file)));
            return rc == kExitOk ? kExitRunFailed : rc;
        }
    }
    return rc;
}

struct BenchArgs : CommonArgs {
    std::uint64_t warmup = 1000;
    std::string duration;
    std::string out_file;
    std::string html_file;
    std::string compare_file;
    double threshold = 10.0;
};

constexpr int kExitRegression = 3;

std::uint64_t peak_rss_bytes() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<std::uint64_t>(u.ru_maxrss) * 1024;
}

// torvyn bench: run with a warm-up (and optionally for a fixed time), then
// report throughput, latency percentiles, per-node cost, copies, queues and
// memory; optionally compare with an earlier report.
int bench(const BenchArgs& args) {
    SignalWatcher signals;
    Diagnostics diag;
    auto manifest = load_checked(args, diag);
    if (!manifest) {
        return kExitInvalid;
    }
    std::optional<std::chrono::milliseconds> duration;
    if (!args.duration.empty()) {
        auto d = torvyn::parse_duration(args.duration);
        if (!d) {
            diag.error(torvyn::Error(torvyn::ErrorCode::usage,
                                     fmt::format("--duration: not a duration: '{}'", args.duration),
                                     {}, "write e.g. 10s or 500ms"));
            return kExitInvalid;
        }
        duration = d.value();
    }
    nlohmann::json before;
    if (!args.compare_file.empty()) {
        std::ifstream in(args.compare_file);
        before = nlohmann::json::parse(in, nullptr, false);
        if (!in || before.is_discarded() || !before.is_array()) {
            diag.error(
                torvyn::Error(torvyn::ErrorCode::usage,
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
    torvyn::RunOptions opts;
    opts.stop = signals.stop();
    opts.component_path = component_path(args);
    opts.warmup_elements = args.warmup;
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
    Executed ran = execute(args, *manifest, opts, *runtime.value(), diag, signals);
    finished.store(true);
    if (timer.joinable()) {
        timer.join();
    }
    if (ran.rc == kExitInvalid) {
        return ran.rc;
    }
    nlohmann::json benches = nlohmann::json::array();
    const std::uint64_t rss = peak_rss_bytes();
    for (const auto& r : ran.reports) {
        if (r.error) {
            diag.error(*r.error);
        }
        benches.push_back(torvyn::bench_to_json(r, rss));
    }
    if (args.json) {
        fmt::print("{}\n", benches.dump(2));
    } else {
        for (const auto& b : benches) {
            fmt::print(stderr, "{}", torvyn::format_bench(b));
        }
    }
    if (!args.out_file.empty()) {
        std::ofstream(args.out_file) << benches.dump(2) << '\n';
    }
    if (!args.html_file.empty()) {
        std::ofstream(args.html_file) << torvyn::bench_html(ran.reports, benches);
    }
    int rc = ran.rc;
    if (!args.compare_file.empty()) {
        const auto deltas = torvyn::compare_bench(before, benches, args.threshold);
        fmt::print(stderr, "compared with {} (threshold {}%):\n{}", args.compare_file,
                   args.threshold, torvyn::format_deltas(deltas));
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

void add_common(CLI::App* cmd, CommonArgs& a, bool components) {
    cmd->add_option("manifest", a.manifest, "Torvyn.toml, or a folder containing one")
        ->capture_default_str();
    cmd->add_option("--flow", a.flows, "Only this flow (repeatable)");
    if (components) {
        cmd->add_option("--component-path,-L", a.component_path,
                        "Folder to search for component files (repeatable; also "
                        "TORVYN_COMPONENT_PATH)");
        cmd->add_option("--cache-dir", a.cache_dir, "Where compiled components are cached");
        cmd->add_flag("--no-cache", a.no_cache, "Compile every component afresh");
    }
}

// Granted nodes hold sockets and files, each a descriptor of this process
// (at most limits::kMaxWasiResources per node): use all the descriptors the
// system allows, not the conservative soft limit.
void raise_descriptor_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

}  // namespace

int main(int argc, char** argv) {
    raise_descriptor_limit();
    CLI::App app{"Torvyn: ownership-aware streaming pipelines of sandboxed WebAssembly components"};
    app.require_subcommand(1);
    app.set_version_flag("--version", fmt::format("torvyn 0.1.0 (wasmtime {})",
                                                  torvyn::Runtime::wasmtime_version()));

    CheckArgs ca;
    auto* check_cmd = app.add_subcommand(
        "check", "Validate a manifest (all problems at once) and the project's WIT");
    add_common(check_cmd, ca, false);
    check_cmd->add_option("--wit", ca.wit_dir,
                          "WIT folder to validate (default: ./wit beside the manifest)");
    check_cmd->add_flag("--json", ca.json, "Machine-readable output on stdout");

    CommonArgs la;
    auto* link_cmd = app.add_subcommand(
        "link", "Check, then inspect and link every component against its role and grants");
    add_common(link_cmd, la, true);
    link_cmd->add_flag("--json", la.json, "Machine-readable output on stdout");

    BenchArgs ba;
    auto* bench_cmd = app.add_subcommand(
        "bench", "Run flows with a warm-up and report throughput, latency, cost, copies, memory");
    add_common(bench_cmd, ba, true);
    bench_cmd->add_option("--warmup", ba.warmup, "Deliveries left out of the measurements")
        ->capture_default_str();
    bench_cmd->add_option("--duration", ba.duration, "Stop (gracefully) after this long, e.g. 10s");
    bench_cmd->add_flag("--json", ba.json, "Machine-readable report on stdout");
    bench_cmd->add_option("--out", ba.out_file, "Write the JSON report to this file");
    bench_cmd->add_option("--html", ba.html_file, "Write a self-contained HTML report");
    bench_cmd->add_option("--compare", ba.compare_file, "Compare with an earlier --out report");
    bench_cmd
        ->add_option("--threshold", ba.threshold,
                     "Percent by which a metric may get worse before it is a regression")
        ->capture_default_str();

    RunArgs ra;
    auto* run_cmd = app.add_subcommand("run", "Link, then run the flows of a manifest");
    add_common(run_cmd, ra, true);
    run_cmd->add_option("--report", ra.report_file, "Write the run report as JSON to this file");
    run_cmd->add_option("--audit", ra.audit_file,
                        "Append the audit log (grants, denials, containments) as JSON lines");
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
    if (*check_cmd) {
        return check(ca);
    }
    if (*link_cmd) {
        return link(la);
    }
    if (*run_cmd) {
        return run(ra);
    }
    if (*bench_cmd) {
        return bench(ba);
    }
    return kExitInvalid;
}
