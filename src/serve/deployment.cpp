// A deployment's flows, log and upgrades.
#include "deployment.hpp"

#include <ctime>
#include <future>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "torvyn/core/guest_text.hpp"
#include "torvyn/core/limits.hpp"
#include "torvyn/reactor/link.hpp"

namespace torvyn::serve::detail {

namespace {

std::string now_text() {
    const auto now = std::chrono::system_clock::now();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z",
                       fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms);
}

void add_to(Accounting& sum, const Accounting& a) {
    sum.emitted += a.emitted;
    sum.derived += a.derived;
    sum.branches += a.branches;
    sum.delivered += a.delivered;
    sum.filtered += a.filtered;
    sum.dropped += a.dropped;
    sum.failed += a.failed;
    sum.dead_lettered += a.dead_lettered;
    sum.aggregated += a.aggregated;
}

// Failed calls, containments and restarts, as log lines: the first
// kLogged, then one in kEvery (a node failing on every element must not
// flood the log).
class EventLog final : public FlowObserver {
public:
    static constexpr std::uint64_t kLogged = 50;
    static constexpr std::uint64_t kEvery = 1000;

    explicit EventLog(DeploymentLog& log) : log_(log) {}
    [[nodiscard]] std::uint32_t events() const override {
        return kErrorEvents | kContainmentEvents;
    }
    void on_start(const FlowTopology& topology) override { topology_ = topology; }
    void on_error(std::uint32_t node, const Error& why, std::optional<std::uint64_t> element,
                  const TraceContext*) override {
        if (++errors_ <= kLogged || errors_ % kEvery == 0) {
            log_.write(
                topology_.nodes.at(node),
                fmt::format("error[{}]{} {} (failed calls so far: {})", error_code_name(why.code),
                            element ? fmt::format(" element {}:", *element) : ":", why.message,
                            errors_));
        }
    }
    void on_contained(std::uint32_t node, const Error& why, std::optional<std::uint64_t>,
                      const TraceContext*) override {
        log_.write(topology_.nodes.at(node),
                   fmt::format("contained[{}]: {}", error_code_name(why.code), why.message));
    }
    void on_restarted(std::uint32_t node, std::uint32_t restarts) override {
        log_.write(topology_.nodes.at(node), fmt::format("restarted ({} so far)", restarts));
    }
    void on_finish(const FlowReport& report) override {
        log_.write("torvyn",
                   fmt::format("flow '{}' ended ({}): emitted {}, delivered {}, "
                               "filtered {}, dropped {}, failed {}{}",
                               report.name, stop_reason_name(report.stop), report.emitted,
                               report.delivered, report.filtered, report.dropped, report.failed,
                               report.error ? ": " + report.error->message : ""));
    }

private:
    DeploymentLog& log_;
    FlowTopology topology_;
    std::uint64_t errors_ = 0;
};

}  // namespace

nlohmann::json accounting_json(const Accounting& a) {
    return {{"emitted", a.emitted},       {"derived", a.derived},
            {"branches", a.branches},     {"delivered", a.delivered},
            {"filtered", a.filtered},     {"dropped", a.dropped},
            {"failed", a.failed},         {"dead_lettered", a.dead_lettered},
            {"aggregated", a.aggregated}, {"in_flight", a.in_flight()}};
}

// --- the log ----------------------------------------------------------------

DeploymentLog::DeploymentLog(std::filesystem::path file) : file_(std::move(file)) {
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    bytes_ = std::filesystem::exists(file_, ec) ? std::filesystem::file_size(file_, ec) : 0;
    out_.open(file_, std::ios::app);
}

void DeploymentLog::write(std::string_view origin, std::string_view text) {
    std::string line = fmt::format("{} {}: {}", now_text(), origin, text);
    std::lock_guard lock(mutex_);
    if (bytes_ + line.size() + 1 > kMaxFileBytes) {
        out_.close();
        std::error_code ec;
        std::filesystem::rename(file_, file_.string() + ".1", ec);
        out_.open(file_, std::ios::trunc);
        bytes_ = 0;
    }
    out_ << line << '\n';
    out_.flush();
    bytes_ += line.size() + 1;
}

void DeploymentLog::guest_line(const NodeHost& node, std::string_view line) {
    write(node.name, escape_guest_text(line));
}

std::vector<std::string> DeploymentLog::tail(const std::filesystem::path& file, std::size_t n) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return {};
    }
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::uint64_t>(in.tellg());
    const std::uint64_t from = size > kTailBytes ? size - kTailBytes : 0;
    in.seekg(static_cast<std::streamoff>(from));
    std::string text(size - from, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    std::vector<std::string> lines;
    std::size_t start = 0;
    if (from != 0) {  // a partial first line
        start = text.find('\n') == std::string::npos ? text.size() : text.find('\n') + 1;
    }
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        end = end == std::string::npos ? text.size() : end;
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    if (lines.size() > n) {
        lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(n));
    }
    return lines;
}

// --- the flows --------------------------------------------------------------

struct Deployment::RunningFlow {
    std::string name;
    std::unique_ptr<Flow> flow;
    std::shared_ptr<LiveFlow> live;
    std::unique_ptr<EventLog> events;
    std::thread thread;
    std::atomic<bool> finished{false};
    std::optional<FlowReport> report;  // once finished (under the deployment's mutex)
};

Deployment::Deployment(std::string name, std::filesystem::path log_file, LiveRegistry& live,
                       std::vector<std::filesystem::path> component_path)
    : name_(std::move(name)),
      log_(std::move(log_file)),
      live_(live),
      component_path_(std::move(component_path)) {}

Deployment::~Deployment() {
    stop_.store(static_cast<int>(StopRequest::forced));
    join_flows();
}

std::optional<Error> Deployment::start(Pipeline p, std::unique_ptr<Runtime> runtime,
                                       std::vector<Error>& details) {
    pipeline_ = std::move(p);
    runtime_ = std::move(runtime);
    if (auto e = link_pipeline(*runtime_, pipeline_, component_path_, details)) {
        return e;
    }
    return start_flows(details);
}

std::optional<Error> Deployment::start_flows(std::vector<Error>& details) {
    stop_.store(0);
    std::vector<std::unique_ptr<RunningFlow>> made;
    for (const FlowSpec& spec : pipeline_.manifest.flows) {
        auto rf = std::make_unique<RunningFlow>();
        rf->name = spec.name;
        rf->live = live_.add(fmt::format("{}.{}", name_, spec.name), spec.max_buffer_memory);
        rf->events = std::make_unique<EventLog>(log_);
        RunOptions options;
        options.component_path = component_path_;
        options.stop = &stop_;
        options.observers = {rf->live.get(), rf->events.get()};
        options.guest_lines = &log_;
        options.allow_failures = spec.allow_failures;
        auto flow = Flow::create(*runtime_, pipeline_.manifest, spec, options);
        if (!flow) {
            for (auto& m : made) {
                live_.remove(m->live->id());
            }
            live_.remove(rf->live->id());
            details.push_back(flow.error());
            return flow.error();
        }
        rf->flow = std::move(flow).value();
        const Flow* f = rf->flow.get();
        rf->live->track([f] { return f->progress(); });
        made.push_back(std::move(rf));
    }
    std::lock_guard lock(mutex_);
    for (auto& rf : made) {
        RunningFlow* raw = rf.get();
        raw->thread = std::thread([this, raw] {
            FlowReport report = raw->flow->run();
            std::lock_guard done(mutex_);
            raw->report = std::move(report);
            raw->finished.store(true);
        });
        flows_.push_back(std::move(rf));
    }
    log_.write("torvyn", fmt::format("running {} ({}), {} flow(s)", pipeline_.source,
                                     pipeline_.digest, flows_.size()));
    return std::nullopt;
}

void Deployment::join_flows() {
    std::vector<std::unique_ptr<RunningFlow>> flows;
    {
        std::lock_guard lock(mutex_);
        flows.swap(flows_);
    }
    for (auto& rf : flows) {
        if (rf->thread.joinable()) {
            rf->thread.join();
        }
    }
    // The flows' reports stay readable until the next start.
    std::lock_guard lock(mutex_);
    for (auto& rf : flows) {
        flows_.push_back(std::move(rf));
    }
}

void Deployment::stop() {
    stop_.store(std::max(stop_.load(), static_cast<int>(StopRequest::graceful)));
    join_flows();
}

bool Deployment::running() const {
    std::lock_guard lock(mutex_);
    for (const auto& rf : flows_) {
        if (!rf->finished.load()) {
            return true;
        }
    }
    return false;
}

std::string Deployment::failure() const {
    std::lock_guard lock(mutex_);
    for (const auto& rf : flows_) {
        if (rf->report && rf->report->run_failed()) {
            return rf->report->error ? rf->report->error->format()
                                     : fmt::format("flow '{}': a node stopped", rf->name);
        }
    }
    return {};
}

nlohmann::json Deployment::flows_json() const {
    std::lock_guard lock(mutex_);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& rf : flows_) {
        nlohmann::json f = {{"name", rf->name}};
        if (rf->report) {
            f["state"] = "finished";
            f["stop"] = stop_reason_name(rf->report->stop);
            f["accounting"] = accounting_json(*rf->report);
            if (rf->report->error) {
                f["error"] = rf->report->error->format();
            }
        } else {
            const FlowProgress p = rf->flow->progress();
            f["state"] = "running";
            f["accounting"] = accounting_json(p);
            f["buffer_bytes"] = p.buffer_bytes;
            f["pressured_queues"] = p.pressured_queues;
        }
        out.push_back(std::move(f));
    }
    return out;
}

Accounting Deployment::accounting() const {
    std::lock_guard lock(mutex_);
    Accounting sum;
    for (const auto& rf : flows_) {
        if (rf->report) {
            add_to(sum, *rf->report);
        } else {
            add_to(sum, rf->flow->progress());
        }
    }
    return sum;
}

// --- upgrades ---------------------------------------------------------------

Result<nlohmann::json> Deployment::upgrade(Pipeline next, SwapState aggregators,
                                           std::vector<Error>& details) {
    // Linked first, in the running pipeline's runtime: a version that does
    // not fit is refused before anything changes.
    if (auto e = link_pipeline(*runtime_, next, component_path_, details)) {
        return *e;
    }
    std::vector<std::string> changed;
    bool source_changed = false;
    for (const auto& f : next.manifest.flows) {
        for (const auto& n : f.nodes) {
            if (n.is_connector()) {
                continue;  // its settings are part of the wiring (same_shape)
            }
            const std::string key = f.name + "." + n.name;
            const auto old = pipeline_.components.find(key);
            const FlowSpec* old_flow = nullptr;
            for (const auto& of : pipeline_.manifest.flows) {
                old_flow = of.name == f.name ? &of : old_flow;
            }
            const NodeSpec* old_node = old_flow != nullptr ? old_flow->find(n.name) : nullptr;
            // New grants are new instances too: a running one keeps what it was linked with.
            if (old == pipeline_.components.end() || old->second != next.components.at(key) ||
                old_node == nullptr || !same_grants(*old_node, n)) {
                changed.push_back(key);
                source_changed |= n.role == Role::source;
            }
        }
    }
    const bool shape = same_shape(pipeline_.manifest, next.manifest);
    if (shape && changed.empty() && running()) {
        pipeline_ = std::move(next);
        return nlohmann::json{{"mode", "none"}, {"changed", changed}};  // the same, as it runs
    }
    if (shape && !source_changed && running()) {
        return swap_nodes(next, changed, aggregators, details);
    }
    // Drain and restart: the sources stop, what is in flight is delivered,
    // then the new version starts.
    const auto began = std::chrono::steady_clock::now();
    const Accounting before = accounting();
    stop();
    const Accounting drained = accounting();
    Pipeline previous = std::move(pipeline_);
    pipeline_ = std::move(next);
    if (auto e = start_flows(details)) {
        // The old version again, so the deployment keeps running.
        pipeline_ = std::move(previous);
        std::vector<Error> ignored;
        start_flows(ignored);
        return Error(
            ErrorCode::upgrade_refused,
            fmt::format("the new version did not start ({}); the old one runs again", e->message));
    }
    const auto pause = std::chrono::steady_clock::now() - began;
    log_.write("torvyn", fmt::format("upgraded by restart to {} ({}); the old flows drained: "
                                     "{} element(s) in flight delivered or accounted",
                                     pipeline_.source, pipeline_.digest,
                                     before.in_flight() - drained.in_flight()));
    return nlohmann::json{{"mode", "restart"},
                          {"reason", source_changed ? "a source changed: sources start over"
                                     : shape        ? "the flows had ended"
                                                    : "the wiring changed"},
                          {"changed", changed},
                          {"pause_ms", std::chrono::duration<double, std::milli>(pause).count()},
                          {"drained", accounting_json(drained)}};
}

namespace {

// One node to swap: where it runs and what replaces it, linked.
struct PlannedSwap {
    std::string key;  // "FLOW.NODE"
    std::string node;
    Flow* flow = nullptr;
    std::shared_ptr<const LinkedNode> linked;
};

std::future<Result<SwapOutcome>> swap_in(Runtime& runtime, const PlannedSwap& p, SwapState state) {
    StageSwap swap;
    swap.node = p.node;
    Runtime* r = &runtime;
    swap.make = [r, linked = p.linked](StageSlot& slot) {
        return instantiate_stage(*r, *linked, slot);
    };
    swap.state = state;
    return p.flow->replace_stage(std::move(swap));
}

}  // namespace

Result<nlohmann::json> Deployment::swap_nodes(Pipeline& next,
                                              const std::vector<std::string>& changed,
                                              SwapState aggregators, std::vector<Error>& details) {
    // Every new component and every old one linked before anything is
    // swapped: the old ones are what a swap that fails half-way goes back to.
    const LinkContext next_ctx{runtime_.get(), &next.manifest, component_path_, nullptr};
    const LinkContext old_ctx{runtime_.get(), &pipeline_.manifest, component_path_, nullptr};
    std::vector<PlannedSwap> forward;
    std::vector<PlannedSwap> back;
    for (const std::string& key : changed) {
        const auto dot = key.find('.');
        const std::string flow_name = key.substr(0, dot);
        const std::string node_name = key.substr(dot + 1);
        RunningFlow* rf = nullptr;
        for (auto& r : flows_) {
            rf = r->name == flow_name ? r.get() : rf;
        }
        for (auto [ctx, plans] : {std::pair{&next_ctx, &forward}, std::pair{&old_ctx, &back}}) {
            const FlowSpec* spec = nullptr;
            for (const auto& f : ctx->manifest->flows) {
                spec = f.name == flow_name ? &f : spec;
            }
            const NodeSpec* node = spec != nullptr ? spec->find(node_name) : nullptr;
            if (rf == nullptr || node == nullptr) {
                return Error(ErrorCode::internal, fmt::format("no running flow for {}", key));
            }
            std::vector<Error> warnings;
            auto linked = link_node(*ctx, *spec, *node, warnings);
            if (!linked) {
                details.push_back(linked.error());
                return Error(ErrorCode::upgrade_refused, linked.error().message, key);
            }
            plans->push_back({key, node_name, rf->flow.get(),
                              std::make_shared<const LinkedNode>(std::move(linked).value())});
        }
    }
    nlohmann::json swaps = nlohmann::json::array();
    for (std::size_t i = 0; i < forward.size(); ++i) {
        const PlannedSwap& p = forward[i];
        auto outcome = swap_in(*runtime_, p, aggregators).get();
        if (!outcome) {
            // The nodes swapped so far go back: the deployment stays one version.
            for (std::size_t k = i; k-- > 0;) {
                auto undone = swap_in(*runtime_, back[k], SwapState::flush).get();
                log_.write("torvyn", fmt::format("swapped {} back: {}", back[k].key,
                                                 undone ? "ok" : undone.error().message));
            }
            log_.write("torvyn",
                       fmt::format("swap of {} refused: {}", p.key, outcome.error().message));
            return Error(ErrorCode::upgrade_refused,
                         fmt::format("{}; the nodes swapped before it were swapped back",
                                     outcome.error().message),
                         p.key, outcome.error().hint);
        }
        swaps.push_back(
            {{"node", p.key},
             {"pause_ms", std::chrono::duration<double, std::milli>(outcome->pause).count()},
             {"queued", outcome->queued},
             {"generation", outcome->generation},
             {"state", swap_state_name(outcome->state)},
             {"flushed", outcome->flushed},
             {"revived", outcome->revived}});
        log_.write("torvyn",
                   fmt::format("swapped {} to {} (paused {:.3f} ms, {} element(s) "
                               "queued for it kept)",
                               p.key, next.components.at(p.key),
                               std::chrono::duration<double, std::milli>(outcome->pause).count(),
                               outcome->queued));
    }
    pipeline_ = std::move(next);
    return nlohmann::json{{"mode", "swap"}, {"changed", changed}, {"swaps", swaps}};
}

}  // namespace torvyn::serve::detail
