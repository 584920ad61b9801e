// The agent: deployments by name, their records, recovery and checkpoints.
#include "torvyn/serve/agent.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "deployment.hpp"
#include "torvyn/serve/state.hpp"

namespace torvyn::serve {

namespace {

std::int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Error not_found(const std::string& name) {
    return Error(ErrorCode::deployment_not_found, fmt::format("no deployment named '{}'", name), "",
                 "torvyn ps lists the deployments");
}

// A request's source as the agent keeps it: a folder or file made absolute
// (the agent's working folder is not the client's).
std::string kept_source(const std::string& source) {
    std::error_code ec;
    if (std::filesystem::exists(source, ec)) {
        return std::filesystem::absolute(source, ec).lexically_normal().string();
    }
    return source;
}

}  // namespace

std::optional<Error> check_deployment_name(std::string_view name) {
    const auto ok_char = [](char c, bool first) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               (!first && (c == '-' || c == '_'));
    };
    bool ok = !name.empty() && name.size() <= 63;
    for (std::size_t i = 0; ok && i < name.size(); ++i) {
        ok = ok_char(name[i], i == 0);
    }
    if (!ok) {
        return Error(ErrorCode::request_invalid,
                     fmt::format("'{}' is not a deployment name", name.substr(0, 80)), "name",
                     "a name is 1 to 63 of a-z, 0-9, '-' and '_', starting with a letter or digit");
    }
    return std::nullopt;
}

std::optional<SwapState> swap_state_from_name(std::string_view name) {
    if (name == "flush") {
        return SwapState::flush;
    }
    if (name == "reset") {
        return SwapState::reset;
    }
    if (name == "handover") {
        return SwapState::handover;
    }
    return std::nullopt;
}

struct Agent::Impl {
    AgentOptions options;
    std::unique_ptr<StateDb> db;
    LiveRegistry live;
    // Changes are serialised: one deploy, stop, upgrade at a time.
    std::mutex ops;
    std::map<std::string, std::unique_ptr<detail::Deployment>> running;
    std::mutex checkpoint_mutex;
    std::condition_variable checkpoint_wake;
    bool closing = false;
    std::thread checkpointer;

    [[nodiscard]] std::filesystem::path log_file(const std::string& name) const {
        return options.state_dir / "logs" / (name + ".log");
    }

    Result<DeploymentRecord> record(const std::string& name) {
        auto found = db->find(name);
        if (!found) {
            return found.error();
        }
        if (!found.value()) {
            return not_found(name);
        }
        return *found.value();
    }

    // Loads, links and starts `source` as deployment `name`.
    Result<std::unique_ptr<detail::Deployment>> launch(const std::string& name,
                                                       const std::string& source,
                                                       const nlohmann::json& grants,
                                                       const std::vector<std::string>& trust,
                                                       std::string* digest) {
        auto pipeline = detail::load_pipeline(source, grants, trust, options.component_path);
        if (!pipeline) {
            return pipeline.error();
        }
        if (digest != nullptr && !digest->empty() && *digest != pipeline->digest) {
            return Error(ErrorCode::upgrade_refused,
                         fmt::format("{} is now {}, not the {} that was deployed", source,
                                     pipeline->digest, *digest),
                         "", "deploy it again to run what it is now");
        }
        auto runtime = detail::runtime_for(*pipeline, options.component_path, options.cache_dir);
        if (!runtime) {
            return runtime.error();
        }
        if (digest != nullptr) {
            *digest = pipeline->digest;
        }
        auto d = std::make_unique<detail::Deployment>(name, log_file(name), live,
                                                      options.component_path);
        std::vector<Error> details;
        if (auto e = d->start(std::move(pipeline).value(), std::move(runtime).value(), details)) {
            return *e;
        }
        return d;
    }

    nlohmann::json describe(const DeploymentRecord& r) {
        nlohmann::json j = {{"name", r.name},
                            {"source", r.source},
                            {"digest", r.digest},
                            {"status", status_name(r.status)},
                            {"generation", r.generation},
                            {"grants", r.grants},
                            {"created", r.created},
                            {"updated", r.updated},
                            {"recoveries", r.recoveries},
                            {"earlier_runs", r.earlier_runs}};
        if (!r.error.empty()) {
            j["error"] = r.error;
        }
        if (!r.previous_source.empty()) {
            j["previous"] = {{"source", r.previous_source}, {"digest", r.previous_digest}};
        }
        if (auto it = running.find(r.name); it != running.end()) {
            j["flows"] = it->second->flows_json();
            j["accounting"] = detail::accounting_json(it->second->accounting());
        } else {
            j["flows"] = nlohmann::json::array();
            j["accounting"] = r.checkpoint;
        }
        return j;
    }

    // About once a second: the running deployments' accounting, and the
    // ones whose flows ended by themselves (completed or failed).
    void checkpoint() {
        std::lock_guard lock(ops);
        for (auto it = running.begin(); it != running.end();) {
            auto r = record(it->first);
            if (!r) {
                ++it;
                continue;
            }
            r->checkpoint = detail::accounting_json(it->second->accounting());
            r->checkpoint["at"] = unix_seconds();
            const bool ended = !it->second->running();
            if (ended) {
                const std::string failure = it->second->failure();
                r->status =
                    failure.empty() ? DeploymentStatus::completed : DeploymentStatus::failed;
                r->error = failure;
                r->updated = unix_seconds();
                it->second->log().write("torvyn",
                                        fmt::format("deployment {}", status_name(r->status)));
            }
            (void)db->update(*r);
            it = ended ? running.erase(it) : std::next(it);
        }
    }

    void checkpoint_loop() {
        std::unique_lock lock(checkpoint_mutex);
        while (!closing) {
            checkpoint_wake.wait_for(lock, options.checkpoint_every, [this] { return closing; });
            if (closing) {
                break;
            }
            lock.unlock();
            checkpoint();
            lock.lock();
        }
    }

    // Upgrades a running deployment (under `ops`); with `expected`, the
    // source must still be that digest (a rollback).
    Result<nlohmann::json> upgrade(const UpgradeRequest& request, const std::string& expected) {
        auto r = record(request.name);
        if (!r) {
            return r.error();
        }
        auto it = running.find(request.name);
        if (it == running.end()) {
            return Error(ErrorCode::upgrade_refused,
                         fmt::format("deployment '{}' is {}, not running", request.name,
                                     status_name(r->status)),
                         "", "deploy it again (torvyn stop NAME --remove; torvyn deploy ...)");
        }
        const nlohmann::json grants = request.grants.value_or(r->grants);
        const std::string source = kept_source(request.source);
        auto next = detail::load_pipeline(source, grants, request.trust, options.component_path);
        if (!next) {
            return next.error();
        }
        if (!expected.empty() && next->digest != expected) {
            return Error(ErrorCode::upgrade_refused,
                         fmt::format("{} is now {}, not the {} that ran before", source,
                                     next->digest, expected),
                         "", "upgrade to the version you want by its digest reference");
        }
        const std::string digest = next->digest;
        std::vector<Error> details;
        auto outcome = it->second->upgrade(std::move(next).value(), request.aggregators, details);
        if (!outcome) {
            return outcome.error();
        }
        r->previous_source = r->source;
        r->previous_digest = r->digest;
        r->source = source;
        r->digest = digest;
        r->grants = grants;
        ++r->generation;
        r->updated = unix_seconds();
        if (auto e = db->update(*r)) {
            return *e;
        }
        nlohmann::json j = describe(*r);
        j["upgrade"] = std::move(outcome).value();
        return j;
    }

    // Brings back every deployment that was running, from the local caches.
    void recover() {
        auto records = db->all();
        if (!records) {
            return;
        }
        for (DeploymentRecord& r : *records) {
            if (r.status != DeploymentStatus::running) {
                continue;
            }
            if (!r.checkpoint.empty()) {
                nlohmann::json earlier = r.checkpoint;
                earlier["ended"] = "agent stopped";
                r.earlier_runs.push_back(std::move(earlier));
                // Bounded: the latest runs only.
                while (r.earlier_runs.size() > 20) {
                    r.earlier_runs.erase(r.earlier_runs.begin());
                }
            }
            r.checkpoint = nlohmann::json::object();
            ++r.recoveries;
            r.updated = unix_seconds();
            std::string digest = r.digest;
            auto d = launch(r.name, r.source, r.grants, {}, &digest);
            if (!d) {
                r.status = DeploymentStatus::failed;
                r.error = d.error().format();
            } else {
                d.value()->log().write("torvyn", fmt::format("recovered after an agent restart "
                                                             "(recovery {})",
                                                             r.recoveries));
                running[r.name] = std::move(d).value();
            }
            (void)db->update(r);
        }
    }
};

Agent::Agent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Agent::~Agent() {
    {
        std::lock_guard lock(impl_->checkpoint_mutex);
        impl_->closing = true;
    }
    impl_->checkpoint_wake.notify_all();
    if (impl_->checkpointer.joinable()) {
        impl_->checkpointer.join();
    }
    std::lock_guard lock(impl_->ops);
    for (auto& [name, d] : impl_->running) {
        d->stop();
        // Still "running" in the database: it comes back with the agent.
        if (auto r = impl_->record(name)) {
            r->checkpoint = detail::accounting_json(d->accounting());
            r->checkpoint["at"] = unix_seconds();
            (void)impl_->db->update(*r);
        }
    }
    impl_->running.clear();
}

Result<std::unique_ptr<Agent>> Agent::open(AgentOptions options) {
    auto impl = std::make_unique<Impl>();
    impl->options = std::move(options);
    auto db = StateDb::open(impl->options.state_dir / "state.db");
    if (!db) {
        return db.error();
    }
    impl->db = std::move(db).value();
    impl->recover();
    Impl* raw = impl.get();
    impl->checkpointer = std::thread([raw] { raw->checkpoint_loop(); });
    return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

const LiveRegistry& Agent::live() const {
    return impl_->live;
}

Result<nlohmann::json> Agent::deploy(const DeployRequest& request) {
    if (auto e = check_deployment_name(request.name)) {
        return *e;
    }
    std::lock_guard lock(impl_->ops);
    auto existing = impl_->db->find(request.name);
    if (!existing) {
        return existing.error();
    }
    if (existing.value()) {
        return Error(ErrorCode::deployment_exists,
                     fmt::format("a deployment named '{}' exists", request.name), "name",
                     "upgrade it (torvyn upgrade NAME SOURCE), or stop and remove it first "
                     "(torvyn stop NAME --remove)");
    }
    DeploymentRecord r;
    r.name = request.name;
    r.source = kept_source(request.source);
    r.grants = request.grants;
    auto d = impl_->launch(r.name, r.source, r.grants, request.trust, &r.digest);
    if (!d) {
        return d.error();
    }
    r.created = r.updated = unix_seconds();
    if (auto e = impl_->db->insert(r)) {
        d.value()->stop();
        return *e;
    }
    d.value()->log().write("torvyn", fmt::format("deployed {} ({})", r.source, r.digest));
    impl_->running[r.name] = std::move(d).value();
    return impl_->describe(r);
}

Result<nlohmann::json> Agent::list() {
    std::lock_guard lock(impl_->ops);
    auto records = impl_->db->all();
    if (!records) {
        return records.error();
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *records) {
        out.push_back(impl_->describe(r));
    }
    return nlohmann::json{{"deployments", out}};
}

Result<nlohmann::json> Agent::describe(const std::string& name) {
    std::lock_guard lock(impl_->ops);
    auto r = impl_->record(name);
    if (!r) {
        return r.error();
    }
    return impl_->describe(*r);
}

Result<nlohmann::json> Agent::stop(const std::string& name, bool remove) {
    std::lock_guard lock(impl_->ops);
    auto r = impl_->record(name);
    if (!r) {
        return r.error();
    }
    if (auto it = impl_->running.find(name); it != impl_->running.end()) {
        it->second->stop();
        r->checkpoint = detail::accounting_json(it->second->accounting());
        it->second->log().write("torvyn", remove ? "stopped and removed" : "stopped");
        impl_->running.erase(it);
    }
    if (remove) {
        if (auto e = impl_->db->remove(name)) {
            return *e;
        }
        return nlohmann::json{{"name", name}, {"removed", true}, {"accounting", r->checkpoint}};
    }
    r->status = DeploymentStatus::stopped;
    r->updated = unix_seconds();
    if (auto e = impl_->db->update(*r)) {
        return *e;
    }
    return impl_->describe(*r);
}

Result<nlohmann::json> Agent::upgrade(const UpgradeRequest& request) {
    std::lock_guard lock(impl_->ops);
    return impl_->upgrade(request, "");
}

Result<nlohmann::json> Agent::rollback(const std::string& name) {
    std::lock_guard lock(impl_->ops);
    auto r = impl_->record(name);
    if (!r) {
        return r.error();
    }
    if (r->previous_source.empty()) {
        return Error(ErrorCode::upgrade_refused,
                     fmt::format("deployment '{}' has not been upgraded", name), "",
                     "rollback returns to the version before the last upgrade");
    }
    UpgradeRequest request;
    request.name = name;
    request.source = r->previous_source;
    // The previous version must still be what it was.
    return impl_->upgrade(request, r->previous_digest);
}

Result<nlohmann::json> Agent::logs(const std::string& name, std::size_t tail) {
    std::lock_guard lock(impl_->ops);
    auto r = impl_->record(name);
    if (!r) {
        return r.error();
    }
    const auto lines = detail::DeploymentLog::tail(impl_->log_file(name), tail);
    return nlohmann::json{{"name", name}, {"lines", lines}};
}

}  // namespace torvyn::serve
