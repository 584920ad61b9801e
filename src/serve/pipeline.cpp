// Resolving what a deployment names, with the operator's grants.
#include "pipeline.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "torvyn/connectors/connectors.hpp"
#include "torvyn/core/capability.hpp"
#include "torvyn/packaging/oci.hpp"
#include "torvyn/packaging/source.hpp"
#include "torvyn/reactor/link.hpp"

namespace torvyn::serve::detail {

namespace {

Error bad_grants(std::string message, std::string hint = {}) {
    return Error(ErrorCode::request_invalid, std::move(message), "grants",
                 hint.empty() ? "grants are {\"NODE\" or \"FLOW.NODE\": {\"capabilities\": [...], "
                                "\"env\": [...], \"connect\": [...], \"dirs\": [{\"host\": "
                                "\"/abs\", \"guest\": \"/data\", \"writable\": false}]}}"
                              : std::move(hint));
}

Result<std::vector<std::string>> strings(const nlohmann::json& j, const std::string& what) {
    if (!j.is_array()) {
        return bad_grants(fmt::format("{} must be a list of strings", what));
    }
    std::vector<std::string> out;
    for (const auto& v : j) {
        if (!v.is_string()) {
            return bad_grants(fmt::format("{} must be a list of strings", what));
        }
        out.push_back(v.get<std::string>());
    }
    return out;
}

// One node's grants from the request, in place of the manifest's.
std::optional<Error> apply_grant(NodeSpec& node, const std::string& key, const nlohmann::json& g) {
    if (!g.is_object()) {
        return bad_grants(fmt::format("the grants of '{}' must be an object", key));
    }
    for (const auto& [field, value] : g.items()) {
        const std::string what = fmt::format("{}.{}", key, field);
        if (field == "capabilities") {
            auto names = strings(value, what);
            if (!names) {
                return names.error();
            }
            for (const auto& name : *names) {
                const CapabilityInfo* c = find_capability(name);
                if (c == nullptr || c->key != GrantKey::named) {
                    return bad_grants(
                        fmt::format("'{}' in {} is not a capability granted by name", name, what),
                        "named capabilities: stdout, stderr, clock, random, ...; folders, "
                        "environment values and addresses go in dirs, env and connect");
                }
            }
            node.capabilities = std::move(names).value();
        } else if (field == "env") {
            auto names = strings(value, what);
            if (!names) {
                return names.error();
            }
            node.env = std::move(names).value();
        } else if (field == "connect") {
            auto addresses = strings(value, what);
            if (!addresses) {
                return addresses.error();
            }
            node.connect = std::move(addresses).value();
        } else if (field == "dirs") {
            if (!value.is_array()) {
                return bad_grants(fmt::format("{} must be a list", what));
            }
            for (const auto& d : value) {
                if (!d.is_object() || !d.contains("host") || !d["host"].is_string() ||
                    !d.contains("guest") || !d["guest"].is_string() ||
                    (d.contains("writable") && !d["writable"].is_boolean())) {
                    return bad_grants(
                        fmt::format("{} holds a folder without host and guest", what));
                }
                DirGrant dir;
                dir.host = d["host"].get<std::string>();
                dir.guest = d["guest"].get<std::string>();
                dir.writable = d.value("writable", false);
                if (!std::filesystem::path(dir.host).is_absolute()) {
                    return bad_grants(
                        fmt::format("{}: '{}' is not an absolute path", what, dir.host),
                        "the agent resolves no relative folder: give it absolute");
                }
                node.dirs.push_back(std::move(dir));
            }
        } else {
            return bad_grants(fmt::format("unknown field '{}' in the grants of '{}'", field, key));
        }
    }
    node.grants_where = SourceLocation{};
    return std::nullopt;
}

std::optional<Error> apply_grants(Manifest& m, const nlohmann::json& grants) {
    if (!grants.is_object()) {
        return bad_grants("grants must be an object keyed by node");
    }
    // Never the artifact's: an artifact grants itself nothing.
    for (auto& f : m.flows) {
        for (auto& n : f.nodes) {
            n.capabilities.clear();
            n.dirs.clear();
            n.env.clear();
            n.connect.clear();
        }
    }
    for (const auto& [key, g] : grants.items()) {
        std::vector<NodeSpec*> matches;
        for (auto& f : m.flows) {
            for (auto& n : f.nodes) {
                if (key == n.name || key == f.name + "." + n.name) {
                    matches.push_back(&n);
                }
            }
        }
        if (matches.empty()) {
            return bad_grants(
                fmt::format("grants name '{}', which is no node of the pipeline", key),
                "name a node as NODE, or FLOW.NODE");
        }
        if (matches.size() > 1) {
            return bad_grants(fmt::format("'{}' names a node in several flows", key),
                              "name it as FLOW.NODE");
        }
        if (auto e = apply_grant(*matches.front(), key, g)) {
            return e;
        }
    }
    return std::nullopt;
}

Result<std::string> file_text(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    if (!in) {
        return Error(ErrorCode::io, fmt::format("cannot read {}", file.string()));
    }
    return s.str();
}

}  // namespace

Result<Pipeline> load_pipeline(const std::string& source, const nlohmann::json& grants,
                               const std::vector<std::string>& trust,
                               const std::vector<std::filesystem::path>& component_path) {
    auto where = oci::manifest_of(source, trust);
    if (!where) {
        return where.error();
    }
    std::error_code ec;
    std::filesystem::path file = *where;
    if (std::filesystem::is_directory(file, ec)) {
        file /= "Torvyn.toml";
    }
    auto load = load_manifest(file, &connector_node_kinds());
    if (!load.ok()) {
        return load.errors.front();
    }
    Pipeline p;
    p.source = source;
    p.manifest = std::move(load.manifest);
    if (auto e = apply_grants(p.manifest, grants)) {
        return *e;
    }
    auto text = file_text(p.manifest.path);
    if (!text) {
        return text.error();
    }
    std::string identity = oci::digest_of(*text);
    for (const auto& f : p.manifest.flows) {
        for (const auto& n : f.nodes) {
            if (n.is_connector()) {
                continue;  // host code, part of the manifest's text
            }
            auto found = resolve_component(p.manifest, n, component_path);
            if (!found) {
                return at_node(found.error(), n);
            }
            auto bytes = file_text(*found);
            if (!bytes) {
                return at_node(bytes.error(), n);
            }
            const std::string digest = oci::digest_of(*bytes);
            p.components[f.name + "." + n.name] = digest;
            identity += digest;
        }
    }
    p.digest = oci::digest_of(identity);
    return p;
}

Result<std::unique_ptr<Runtime>> runtime_for(
    const Pipeline& p, const std::vector<std::filesystem::path>& component_path,
    const std::filesystem::path& cache_dir) {
    RuntimeOptions ro;
    ro.cache_dir = cache_dir;
    std::vector<const FlowSpec*> flows;
    for (const auto& f : p.manifest.flows) {
        flows.push_back(&f);
        for (const auto& n : f.nodes) {
            ro.fuel |= n.fuel != 0;
        }
    }
    // Twice what the pipeline needs: an upgrade instantiates the new
    // components while the old ones still run.
    PoolSize need = pool_for(p.manifest, flows, component_path);
    PoolSize twice = need;
    twice.component_instances *= 2;
    twice.use.core_instances *= 2;
    twice.use.memories *= 2;
    twice.use.tables *= 2;
    ro.pool = ro.pool.at_least(twice);
    return Runtime::create(ro);
}

std::optional<Error> link_pipeline(Runtime& runtime, const Pipeline& p,
                                   const std::vector<std::filesystem::path>& component_path,
                                   std::vector<Error>& details) {
    const LinkContext ctx{&runtime, &p.manifest, component_path, nullptr};
    std::vector<Error> ungranted;
    std::vector<Error> other;
    for (const auto& f : p.manifest.flows) {
        FlowLink link = link_flow(ctx, f);
        for (auto& e : link.errors) {
            (e.code == ErrorCode::component_link ? ungranted : other).push_back(std::move(e));
        }
    }
    if (!ungranted.empty() && other.empty()) {
        std::vector<std::string> lines;
        for (const auto& e : ungranted) {
            lines.push_back(e.message);
        }
        details = ungranted;
        return Error(ErrorCode::not_granted,
                     fmt::format("{} node(s) need what this deployment does not grant: {}",
                                 ungranted.size(), fmt::join(lines, "; ")),
                     "grants",
                     "grant it in the request (torvyn deploy --grant NODE=CAPABILITY, or "
                     "--grants FILE.json); an artifact's own grants are never used");
    }
    if (!other.empty()) {
        Error first = other.front();
        details = std::move(other);
        details.insert(details.end(), ungranted.begin(), ungranted.end());
        return first;
    }
    return std::nullopt;
}

bool same_grants(const NodeSpec& a, const NodeSpec& b) {
    if (a.capabilities != b.capabilities || a.env != b.env || a.connect != b.connect ||
        a.dirs.size() != b.dirs.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.dirs.size(); ++i) {
        if (a.dirs[i].host != b.dirs[i].host || a.dirs[i].guest != b.dirs[i].guest ||
            a.dirs[i].writable != b.dirs[i].writable) {
            return false;
        }
    }
    return true;
}

namespace {

// Everything of a flow but its nodes and edges (queues, threads, timeouts).
bool same_flow_settings(const FlowSpec& x, const FlowSpec& y) {
    return x.name == y.name && x.queue_capacity == y.queue_capacity &&
           x.source_batch == y.source_batch && x.overflow == y.overflow && x.threads == y.threads &&
           x.high_watermark == y.high_watermark && x.low_watermark == y.low_watermark &&
           x.call_timeout == y.call_timeout && x.timeout == y.timeout &&
           x.drain_timeout == y.drain_timeout && x.max_buffer_memory == y.max_buffer_memory &&
           x.allow_failures == y.allow_failures;
}

// A connector's kind and settings: host code, restarted with the flow when
// they change, never swapped.
bool same_connector(const NodeSpec& m, const NodeSpec& n) {
    if (m.kind != n.kind || m.settings.size() != n.settings.size()) {
        return false;
    }
    for (std::size_t i = 0; i < m.settings.size(); ++i) {
        const Setting& x = m.settings[i];
        const Setting& y = n.settings[i];
        if (x.key != y.key || x.type != y.type || x.text != y.text || x.integer != y.integer ||
            x.boolean != y.boolean) {
            return false;
        }
    }
    return true;
}

// Everything of a node but its component and grants: a swapped stage runs
// under the running node's settings, so they must be the new version's too.
bool same_node_settings(const NodeSpec& m, const NodeSpec& n) {
    return m.name == n.name && m.role == n.role && m.config == n.config && same_connector(m, n) &&
           m.ungranted_imports == n.ungranted_imports && m.max_memory == n.max_memory &&
           m.max_table_elements == n.max_table_elements && m.fuel == n.fuel &&
           m.restart_on_trap == n.restart_on_trap && m.max_restarts == n.max_restarts &&
           m.max_rate == n.max_rate && m.batch == n.batch && m.thread == n.thread &&
           m.ports == n.ports && m.on_error == n.on_error && m.retries == n.retries &&
           m.retry_backoff == n.retry_backoff && m.dead_letter == n.dead_letter &&
           m.max_buffer_memory == n.max_buffer_memory && m.call_timeout == n.call_timeout;
}

}  // namespace

bool same_shape(const Manifest& a, const Manifest& b) {
    if (a.flows.size() != b.flows.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.flows.size(); ++i) {
        const FlowSpec& x = a.flows[i];
        const FlowSpec& y = b.flows[i];
        if (!same_flow_settings(x, y) || x.nodes.size() != y.nodes.size() ||
            x.edges.size() != y.edges.size()) {
            return false;
        }
        for (std::size_t k = 0; k < x.nodes.size(); ++k) {
            if (!same_node_settings(x.nodes[k], y.nodes[k])) {
                return false;
            }
        }
        for (std::size_t k = 0; k < x.edges.size(); ++k) {
            const EdgeSpec& m = x.edges[k];
            const EdgeSpec& n = y.edges[k];
            if (m.from != n.from || m.from_port != n.from_port || m.to != n.to ||
                m.capacity != n.capacity || m.overflow != n.overflow) {
                return false;
            }
        }
    }
    return true;
}

}  // namespace torvyn::serve::detail
