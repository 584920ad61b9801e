#include "common.hpp"

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

#include "torvyn/connectors/connectors.hpp"
#include "torvyn/core/limits.hpp"
#include "torvyn/core/suggest.hpp"
#include "torvyn/observability/report.hpp"
#include "torvyn/reactor/link.hpp"

namespace torvyn::cli {

std::filesystem::path default_cache_dir() {
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
        return std::filesystem::path(x) / "torvyn" / "compiled";
    }
    if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
        return std::filesystem::path(h) / ".cache" / "torvyn" / "compiled";
    }
    return {};
}

namespace {

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

// After a forced stop, flows get limits::kForcedExitGrace to end the calls
// they are in. A guest blocked inside the host where no deadline reaches it
// (a full stdout pipe, a FIFO) must not hold the process: what every flow
// did so far is printed, and the process exits. Written straight to the
// file descriptor: the stuck call may hold stdio's locks (a guest blocked
// writing to a full stdout holds stdout's).
[[noreturn]] void exit_now(const std::vector<std::unique_ptr<Flow>>& flows, int code) {
    std::string text =
        fmt::format("torvyn: a call did not end within {} ms of the forced stop; exiting now\n",
                    limits::kForcedExitGrace.count());
    for (const auto& f : flows) {
        const FlowProgress p = f->progress();
        if (!p.finished) {
            text += format_progress_at_exit(f->name(), p);
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

}  // namespace

SignalWatcher::SignalWatcher() {
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
            fmt::print(stderr, "\ntorvyn: {} received, {}\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                       level == 1 ? "draining (send it again to stop at once)" : "stopping now");
        }
    });
}

SignalWatcher::~SignalWatcher() {
    done_.store(true);
    thread_.join();
}

Diagnostics::Diagnostics()
    : colour_(isatty(fileno(stderr)) != 0 &&
              (std::getenv("NO_COLOR") == nullptr || *std::getenv("NO_COLOR") == '\0')) {}

std::string Diagnostics::ok(std::string_view text) const {
    return colour_ ? fmt::format("\033[1;32m{}\033[0m", text) : std::string(text);
}

void Diagnostics::print(const Error& e, std::string_view level, std::string_view ansi) const {
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

void add_common(CLI::App& command, CommonArgs& a, bool components) {
    command.add_option("manifest", a.manifest, "Torvyn.toml, or a folder containing one")
        ->capture_default_str();
    command.add_option("--flow", a.flows, "Only this flow (repeatable)");
    if (components) {
        command.add_option("--component-path,-L", a.component_path,
                           "Folder to search for component files (repeatable; also "
                           "TORVYN_COMPONENT_PATH)");
        command.add_option("--cache-dir", a.cache_dir, "Where compiled components are cached");
        command.add_flag("--no-cache", a.no_cache, "Compile every component afresh");
        command.add_flag("--no-pool", a.no_pool,
                         "Allocate instances one by one instead of from a pool sized for the "
                         "manifest's components (slower start, no limit on instances)");
        command.add_option("--set", a.sets,
                           "Override a node's config: NODE.config=VALUE, or "
                           "FLOW.NODE.config=VALUE when several flows have the node (repeatable)");
        command.add_option("--trust", a.trust,
                           "Run a registry reference only if a signature verifies with this "
                           "public key (repeatable; torvyn keygen's KEY.pub, cosign.pub)");
    }
}

namespace {

// Applies one --set to the manifest; an error says what is wrong with it.
std::optional<Error> apply_set(Manifest& m, const std::string& set) {
    const auto usage = [&](std::string message, std::string hint) {
        return Error(ErrorCode::usage, fmt::format("--set {}: {}", set, message), {},
                     std::move(hint));
    };
    const auto eq = set.find('=');
    const std::string path = set.substr(0, eq);
    const auto key_dot = path.rfind('.');
    if (eq == std::string::npos || key_dot == std::string::npos || key_dot == 0) {
        return usage("not NODE.config=VALUE", "write e.g. --set src.config=\"count=10\"");
    }
    const std::string key = path.substr(key_dot + 1);
    if (key != "config") {
        const std::string_view keys[] = {"config"};
        return usage(fmt::format("'{}' cannot be set from the command line", key),
                     fmt::format("{}only a node's config can", did_you_mean(key, keys)));
    }
    std::string flow_name;
    std::string node_name = path.substr(0, key_dot);
    if (const auto dot = node_name.find('.'); dot != std::string::npos) {
        flow_name = node_name.substr(0, dot);
        node_name = node_name.substr(dot + 1);
    }
    std::vector<NodeSpec*> found;
    std::vector<std::string> names;
    for (auto& f : m.flows) {
        for (auto& n : f.nodes) {
            names.push_back(n.name);
            if (n.name == node_name && (flow_name.empty() || f.name == flow_name)) {
                found.push_back(&n);
            }
        }
    }
    if (found.empty()) {
        return usage(fmt::format("no node '{}'{}", node_name,
                                 flow_name.empty() ? "" : fmt::format(" in flow '{}'", flow_name)),
                     did_you_mean(node_name, names) + "name a node of the manifest");
    }
    if (found.size() > 1) {
        return usage(fmt::format("several flows have a node '{}'", node_name),
                     fmt::format("write --set FLOW.{}.config=...", node_name));
    }
    found.front()->config = set.substr(eq + 1);
    return std::nullopt;
}

}  // namespace

std::optional<Manifest> load_checked(const CommonArgs& args, const Diagnostics& diag,
                                     std::vector<Error>* errors) {
    const auto report = [&](const Error& e) {
        if (errors != nullptr) {
            errors->push_back(e);
        } else {
            diag.error(e);
        }
    };
    auto where = manifest_of(args.manifest, args.trust);
    if (!where) {
        report(where.error());
        return std::nullopt;
    }
    auto load = load_manifest(where.value(), &connector_node_kinds());
    for (const auto& e : load.errors) {
        report(e);
    }
    if (!load.ok()) {
        return std::nullopt;
    }
    for (const auto& want : args.flows) {
        if (std::none_of(load.manifest.flows.begin(), load.manifest.flows.end(),
                         [&](const auto& f) { return f.name == want; })) {
            report(Error(ErrorCode::usage,
                         fmt::format("no flow named '{}' in {}", want, load.manifest.path.string()),
                         {}, "omit --flow to use every flow"));
            return std::nullopt;
        }
    }
    for (const auto& set : args.sets) {
        if (auto e = apply_set(load.manifest, set)) {
            report(*e);
            return std::nullopt;
        }
    }
    return std::move(load.manifest);
}

std::vector<const FlowSpec*> selected_flows(const Manifest& m, const CommonArgs& args) {
    std::vector<const FlowSpec*> out;
    for (const auto& f : m.flows) {
        if (args.flows.empty() ||
            std::find(args.flows.begin(), args.flows.end(), f.name) != args.flows.end()) {
            out.push_back(&f);
        }
    }
    return out;
}

Result<std::unique_ptr<Runtime>> make_runtime(const CommonArgs& args, const Manifest& m) {
    RuntimeOptions ro;
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
    // The pool holds what the selected flows' components need at once (a
    // Python component instantiates ~40 core instances), and never less
    // than the default.
    ro.pooling = !args.no_pool;
    ro.pool = ro.pool.at_least(pool_for(m, selected_flows(m, args), component_path(args)));
    return Runtime::create(ro);
}

std::vector<std::filesystem::path> component_path(const CommonArgs& args) {
    namespace fs = std::filesystem;
    std::vector<fs::path> out(args.component_path.begin(), args.component_path.end());
    for (auto& p : env_component_path()) {
        out.push_back(std::move(p));
    }
    // Then where builds put components, so a project (or this repository's
    // examples) runs without -L: the project's build/components beside the
    // manifest, and the components of the build this torvyn comes from.
    std::error_code ec;
    const fs::path manifest = fs::path(args.manifest);
    const fs::path project = fs::is_directory(manifest, ec) ? manifest : manifest.parent_path();
    std::vector<fs::path> built = {project / "build" / "components"};
    if (const fs::path exe = executable_path(); !exe.empty()) {
        built.push_back(exe.parent_path().parent_path() / "components");
    }
    for (fs::path& dir : built) {
        if (fs::is_directory(dir, ec) && std::find(out.begin(), out.end(), dir) == out.end()) {
            out.push_back(std::move(dir));
        }
    }
    return out;
}

std::filesystem::path executable_path() {
    std::error_code ec;
    std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return !ec && exe.is_absolute() ? exe : std::filesystem::path();
}

Executed execute(const CommonArgs& args, const Manifest& manifest, const RunOptions& options,
                 Runtime& runtime, const Diagnostics& diag, const SignalWatcher& signals,
                 const std::function<std::vector<FlowObserver*>(std::size_t)>& observe,
                 const ProgressTick& tick,
                 const std::function<void(std::size_t, const Flow&)>& linked) {
    Executed out;
    // Link every flow before running any: invalid input stops everything
    // before the first element moves.
    std::vector<std::unique_ptr<Flow>> flows;
    for (const auto* spec : selected_flows(manifest, args)) {
        RunOptions o = options;
        if (observe) {
            for (FlowObserver* extra : observe(flows.size())) {
                o.observers.push_back(extra);
            }
        }
        auto flow = Flow::create(runtime, manifest, *spec, o);
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
    if (linked) {
        for (std::size_t i = 0; i < flows.size(); ++i) {
            linked(i, *flows[i]);
        }
    }
    // Guests write to the same stdout; flush ours first so output keeps its order.
    std::fflush(stdout);
    out.reports.resize(flows.size());
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
    std::vector<FlowProgress> progress(flows.size());
    std::unique_lock lock(mutex);
    while (finished < flows.size()) {
        cv.wait_for(lock, std::chrono::milliseconds(20));
        if (tick) {
            for (std::size_t i = 0; i < flows.size(); ++i) {
                progress[i] = flows[i]->progress();
            }
            tick(progress);
        }
        if (signals.stop()->load() < static_cast<int>(StopRequest::forced)) {
            continue;
        }
        const auto now = std::chrono::steady_clock::now();
        if (!forced_at) {
            forced_at = now;
        } else if (finished < flows.size() && now - *forced_at > limits::kForcedExitGrace) {
            exit_now(flows, 128 + signals.signal());
        }
    }
    lock.unlock();
    for (auto& t : threads) {
        t.join();
    }
    for (const auto& r : out.reports) {
        if (r.run_failed()) {
            out.rc = kExitRunFailed;
        }
    }
    return out;
}

}  // namespace torvyn::cli
