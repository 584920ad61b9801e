#include "torvyn/config/manifest.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "toml_reader.hpp"
#include "topology.hpp"
#include "torvyn/core/capability.hpp"
#include "torvyn/core/limits.hpp"
#include "torvyn/core/suggest.hpp"

namespace torvyn {
namespace {

using config_detail::known;
using config_detail::list;
using config_detail::TomlReader;

constexpr std::string_view kFlowKeys[] = {
    "description",   "source-batch", "queue-capacity", "backpressure",  "high-watermark",
    "low-watermark", "call-timeout", "timeout",        "drain-timeout", "max-buffer-memory",
    "threads",       "nodes",        "edges",          "allow-failures"};
constexpr std::string_view kNodeKeys[] = {"component",
                                          "kind",
                                          "role",
                                          "config",
                                          "capabilities",
                                          "dirs",
                                          "env",
                                          "connect",
                                          "on-error",
                                          "retries",
                                          "retry-backoff",
                                          "dead-letter",
                                          "max-buffer-memory",
                                          "call-timeout",
                                          "max-memory",
                                          "max-table-elements",
                                          "fuel",
                                          "on-trap",
                                          "max-restarts",
                                          "ports",
                                          "max-rate",
                                          "batch",
                                          "thread",
                                          "ungranted-imports"};
// A component's own keys: errors on a connector, whose unknown keys are settings.
constexpr std::string_view kComponentOnlyKeys[] = {
    "config",     "capabilities",       "dirs", "env",     "connect",      "ungranted-imports",
    "max-memory", "max-table-elements", "fuel", "on-trap", "max-restarts", "ports"};
constexpr std::string_view kDirKeys[] = {"host", "guest", "mode"};
constexpr std::string_view kDirModes[] = {"ro", "rw"};
constexpr std::string_view kTrapPolicies[] = {"fail", "restart"};
// In UngrantedImports order.
constexpr std::string_view kUngrantedImports[] = {"refuse", "deny"};
constexpr std::string_view kEdgeKeys[] = {"from", "to", "capacity", "backpressure"};
constexpr std::string_view kErrorPolicies[] = {"fail", "skip", "retry", "dead-letter"};
constexpr std::string_view kOverflowPolicies[] = {"block", "drop-oldest", "drop-newest", "fail"};

class Parser : public TomlReader {
public:
    Parser(std::string file, const NodeKinds* kinds) : TomlReader(std::move(file)), kinds_(kinds) {}

    void parse_dirs(NodeSpec& node, const toml::node& value, std::string_view what) {
        const auto* arr = value.as_array();
        if (arr == nullptr) {
            error(ErrorCode::manifest_schema, at(value),
                  fmt::format("'dirs' of {} must be an array of tables", what),
                  "write dirs = [{ host = \"data\", guest = \"/data\", mode = \"ro\" }]");
            return;
        }
        for (const auto& v : *arr) {
            const auto* t = v.as_table();
            if (t == nullptr) {
                error(ErrorCode::manifest_schema, at(v),
                      fmt::format("each entry of 'dirs' of {} must be a table", what),
                      "write { host = \"data\", guest = \"/data\", mode = \"ro\" }");
                continue;
            }
            const std::string dwhat = fmt::format("a directory grant of {}", what);
            check_keys(*t, kDirKeys, dwhat);
            DirGrant d;
            d.where = at(v);
            d.host = get_string(*t, "host", dwhat, true, d.where);
            d.guest = get_string(*t, "guest", dwhat, true, d.where);
            d.writable = get_choice(*t, "mode", dwhat, kDirModes) == 1;
            if (!d.guest.empty() && d.guest.front() != '/') {
                error(ErrorCode::manifest_value, d.where,
                      fmt::format("guest path '{}' of {} must be absolute", d.guest, dwhat));
            }
            node.dirs.push_back(std::move(d));
        }
    }

    void parse_node(FlowSpec& flow, const std::string& name, const toml::node& value) {
        const std::string what = fmt::format("node '{}'", name);
        const auto* t = value.as_table();
        if (t == nullptr) {
            error(ErrorCode::manifest_schema, at(value), fmt::format("{} must be a table", what));
            return;
        }
        NodeSpec node;
        node.name = name;
        node.where = at(value);
        node.kind = get_string(*t, "kind", what, false, node.where);
        if (node.is_connector()) {
            node.kind_where = at(*t->get("kind"));
            connector_keys(*t, node, what);
        } else {
            check_keys(*t, kNodeKeys, what);
        }
        node.component = get_string(*t, "component", what, false, node.where);
        if (node.is_connector() && t->get("component") != nullptr) {
            error(ErrorCode::manifest_schema, at(*t->get("component")),
                  fmt::format("{} has both 'component' and 'kind'", what),
                  "a node is a component or a connector: remove one of them");
        } else if (!node.is_connector() && t->get("component") == nullptr &&
                   t->get("kind") == nullptr) {
            error(ErrorCode::manifest_schema, node.where,
                  fmt::format("{} is missing required key 'component'", what),
                  "name a component file, or a connector with kind = \"file\", \"stdin\" or "
                  "\"stdout\"");
        }
        const std::optional<Role> default_role =
            node.is_connector() && kinds_ != nullptr && t->get("role") == nullptr
                ? kinds_->default_role(node.kind)
                : std::nullopt;
        const std::string role = get_string(*t, "role", what, !default_role, node.where);
        if (default_role) {
            node.role = *default_role;
        }
        if (!role.empty()) {
            if (auto r = parse_role(role)) {
                node.role = *r;
            } else {
                std::vector<std::string_view> known;
                for (const auto& info : all_roles()) {
                    known.push_back(info.name);
                }
                error(
                    ErrorCode::manifest_value, at(*t->get("role")),
                    fmt::format("unknown role '{}' for {}", role, what),
                    fmt::format("{}roles: {}", did_you_mean(role, known), fmt::join(known, ", ")));
            }
        }
        node.config = get_string(*t, "config", what, false, node.where);
        if (const toml::node* caps = t->get("capabilities")) {
            const auto* arr = caps->as_array();
            if (arr == nullptr) {
                error(ErrorCode::manifest_schema, at(*caps),
                      fmt::format("'capabilities' of {} must be an array of strings", what));
            } else {
                for (const auto& c : *arr) {
                    const auto* s = c.as_string();
                    if (s == nullptr) {
                        error(
                            ErrorCode::manifest_schema, at(c),
                            fmt::format("'capabilities' of {} must be an array of strings", what));
                        continue;
                    }
                    const CapabilityInfo* cap = find_capability(s->get());
                    if (cap == nullptr || cap->key != GrantKey::named) {
                        std::vector<std::string_view> named;
                        for (const auto& info : all_capabilities()) {
                            if (info.key == GrantKey::named) {
                                named.push_back(info.name);
                            }
                        }
                        error(ErrorCode::manifest_value, at(c),
                              fmt::format("unknown capability '{}' for {}", s->get(), what),
                              cap != nullptr ? fmt::format("'{}' is granted with {}", cap->name,
                                                           cap->how_to_grant)
                                             : fmt::format("{}known capabilities: {}",
                                                           did_you_mean(s->get(), named),
                                                           fmt::join(named, ", ")));
                        continue;
                    }
                    node.capabilities.push_back(s->get());
                }
            }
        }
        node.env = get_strings(*t, "env", what);
        node.connect = get_strings(*t, "connect", what);
        for (const auto& c : node.connect) {
            const auto colon = c.rfind(':');
            if (colon == std::string::npos || colon == 0 || colon + 1 == c.size() ||
                c.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
                error(ErrorCode::manifest_value, at(*t->get("connect")),
                      fmt::format("'{}' in 'connect' of {} is not host:port", c, what),
                      "write addresses such as \"127.0.0.1:8080\" or \"localhost:6379\"");
            }
        }
        if (const toml::node* d = t->get("dirs")) {
            parse_dirs(node, *d, what);
        }
        if (const int u = get_choice(*t, "ungranted-imports", what, kUngrantedImports); u >= 0) {
            node.ungranted_imports = static_cast<UngrantedImports>(u);
        }
        for (const char* key : {"capabilities", "dirs", "env", "connect"}) {
            if (const toml::node* g = t->get(key); g != nullptr && node.grants_where.line == 0) {
                node.grants_where = at(*g);
            }
        }
        get_size(*t, "max-memory", what, node.max_memory);
        if (const toml::node* n = t->get("max-table-elements")) {
            const auto* i = n->as_integer();
            if (i == nullptr || i->get() < 1) {
                error(ErrorCode::manifest_value, at(*n),
                      fmt::format("'max-table-elements' of {} must be a positive whole number",
                                  what));
            } else {
                node.max_table_elements = static_cast<std::uint64_t>(i->get());
            }
        }
        if (const toml::node* n = t->get("fuel")) {
            const auto* i = n->as_integer();
            if (i == nullptr || i->get() < 1) {
                error(ErrorCode::manifest_value, at(*n),
                      fmt::format("'fuel' of {} must be a positive whole number (units per call)",
                                  what));
            } else {
                node.fuel = static_cast<std::uint64_t>(i->get());
            }
        }
        node.restart_on_trap = get_choice(*t, "on-trap", what, kTrapPolicies) == 1;
        node.max_restarts = get_count(*t, "max-restarts", what, node.max_restarts);
        node.ports = get_strings(*t, "ports", what);
        if (!node.ports.empty() && !role_info(node.role).names_ports) {
            error(ErrorCode::manifest_schema, at(*t->get("ports")),
                  fmt::format("'ports' is for routers; {} is a {}", what, role_name(node.role)));
        }
        if (const int p = get_choice(*t, "on-error", what, kErrorPolicies); p >= 0) {
            node.on_error = static_cast<ErrorPolicy>(p);
        }
        node.retries = get_count(*t, "retries", what, node.retries);
        if (node.is_connector() && kinds_ != nullptr && t->get("batch") == nullptr) {
            node.batch = kinds_->default_batch(node.kind).value_or(node.batch);
        }
        node.batch = get_count(*t, "batch", what, node.batch);
        only_for(*t, "batch", role_info(node.role).takes_batches,
                 "sources, processors, sinks and filters", what, node.role, "remove it");
        node.thread = get_count(*t, "thread", what, 0);
        if (flow.threads != 0 && node.thread > flow.threads) {
            error(ErrorCode::manifest_value, at(*t->get("thread")),
                  fmt::format("{} asks for driver thread {} but flow '{}' has threads = {}", what,
                              node.thread, flow.name, flow.threads),
                  "number threads from 1 to the flow's 'threads', or raise 'threads'");
        }
        node.max_rate = get_count(*t, "max-rate", what, 0);
        only_for(*t, "max-rate", !role_info(node.role).takes_input, "sources", what, node.role,
                 "pace the flow at its source, or bound this node's input with its edge's "
                 "capacity");
        get_duration(*t, "retry-backoff", what, node.retry_backoff);
        node.dead_letter = get_string(*t, "dead-letter", what, false, node.where);
        get_size(*t, "max-buffer-memory", what, node.max_buffer_memory);
        get_duration(*t, "call-timeout", what, node.call_timeout);
        if (node.on_error == ErrorPolicy::dead_letter && node.dead_letter.empty()) {
            error(ErrorCode::manifest_schema, node.where,
                  fmt::format("{} has on-error = \"dead-letter\" but no 'dead-letter' sink", what),
                  "name a sink node of the same flow: dead-letter = \"NAME\"");
        }
        if (!node.dead_letter.empty() && node.on_error != ErrorPolicy::dead_letter) {
            error(ErrorCode::manifest_value, at(*t->get("dead-letter")),
                  fmt::format("{} names a dead-letter sink but its on-error is not \"dead-letter\"",
                              what));
        }
        if (node.is_connector() && kinds_ != nullptr) {
            kinds_->check(node, errors);
        }
        flow.nodes.push_back(std::move(node));
    }

    // A connector node: the keys every node has, and its kind's settings;
    // a component's own keys are errors.
    void connector_keys(const toml::table& t, NodeSpec& node, std::string_view what) {
        for (const auto& [k, v] : t) {
            if (known(k.str(), kComponentOnlyKeys)) {
                error(ErrorCode::manifest_schema, at(v),
                      fmt::format("'{}' is for component nodes; {} is a connector (kind = \"{}\")",
                                  k.str(), what, node.kind),
                      "remove it");
            } else if (!known(k.str(), kNodeKeys)) {
                Setting s = setting_of(k.str(), v);
                if (const auto* table = v.as_table()) {
                    s.type = Setting::Type::table;
                    for (const auto& [ek, ev] : *table) {
                        s.entries.push_back(setting_of(ek.str(), ev));
                    }
                }
                node.settings.push_back(std::move(s));
            }
        }
    }

    // A scalar connector setting; anything else is Type::other.
    Setting setting_of(std::string_view key, const toml::node& v) {
        Setting s;
        s.key = std::string(key);
        s.where = at(v);
        if (const auto* str = v.as_string()) {
            s.type = Setting::Type::string;
            s.text = str->get();
        } else if (const auto* i = v.as_integer()) {
            s.type = Setting::Type::integer;
            s.integer = i->get();
        } else if (const auto* b = v.as_boolean()) {
            s.type = Setting::Type::boolean;
            s.boolean = b->get();
        }
        return s;
    }

    void parse_edge(FlowSpec& flow, const toml::node& value, std::size_t index) {
        const std::string what = fmt::format("edge #{} of flow '{}'", index + 1, flow.name);
        const auto* t = value.as_table();
        if (t == nullptr) {
            error(ErrorCode::manifest_schema, at(value), fmt::format("{} must be a table", what));
            return;
        }
        EdgeSpec edge;
        edge.where = at(value);
        check_keys(*t, kEdgeKeys, what);
        edge.from = get_string(*t, "from", what, true, edge.where);
        edge.from_where = t->get("from") != nullptr ? at(*t->get("from")) : edge.where;
        edge.to_where = t->get("to") != nullptr ? at(*t->get("to")) : edge.where;
        if (const auto dot = edge.from.find('.'); dot != std::string::npos) {
            edge.from_port = edge.from.substr(dot + 1);
            edge.from.resize(dot);
        }
        edge.to = get_string(*t, "to", what, true, edge.where);
        edge.capacity = get_count(*t, "capacity", what, 0);
        if (const int p = get_choice(*t, "backpressure", what, kOverflowPolicies); p >= 0) {
            edge.overflow = static_cast<OverflowPolicy>(p);
        }
        flow.edges.push_back(std::move(edge));
    }

    void parse_flow(Manifest& m, const std::string& name, const toml::node& value) {
        const auto* t = value.as_table();
        if (t == nullptr) {
            error(ErrorCode::manifest_schema, at(value),
                  fmt::format("flow '{}' must be a table", name));
            return;
        }
        FlowSpec flow;
        flow.name = name;
        flow.where = at(value);
        const std::string what = fmt::format("flow '{}'", name);
        check_keys(*t, kFlowKeys, what);
        flow.description = get_string(*t, "description", what, false, flow.where);
        flow.queue_capacity = get_count(*t, "queue-capacity", what, flow.queue_capacity);
        flow.source_batch = get_count(*t, "source-batch", what, flow.source_batch);
        get_threads(*t, what, flow.threads);
        if (const toml::node* n = t->get("allow-failures")) {
            if (const auto* b = n->as_boolean()) {
                flow.allow_failures = b->get();
            } else {
                error(ErrorCode::manifest_value, at(*n),
                      fmt::format("'allow-failures' in {} must be true or false", what));
            }
        }
        if (const int p = get_choice(*t, "backpressure", what, kOverflowPolicies); p >= 0) {
            flow.overflow = static_cast<OverflowPolicy>(p);
        }
        get_fraction(*t, "high-watermark", what, flow.high_watermark);
        get_fraction(*t, "low-watermark", what, flow.low_watermark);
        if (flow.low_watermark >= flow.high_watermark) {
            error(ErrorCode::manifest_value, flow.where,
                  fmt::format("{}: low-watermark ({}) must be below high-watermark ({})", what,
                              flow.low_watermark, flow.high_watermark));
        }
        get_duration(*t, "call-timeout", what, flow.call_timeout);
        get_duration(*t, "timeout", what, flow.timeout);
        get_duration(*t, "drain-timeout", what, flow.drain_timeout);
        get_size(*t, "max-buffer-memory", what, flow.max_buffer_memory);
        if (const toml::node* nodes = t->get("nodes")) {
            if (const auto* nt = nodes->as_table()) {
                for (const auto& [k, v] : *nt) {
                    parse_node(flow, std::string(k.str()), v);
                }
            } else {
                error(ErrorCode::manifest_schema, at(*nodes),
                      fmt::format("'nodes' of {} must be a table of named nodes", what),
                      fmt::format("write [flow.{}.nodes.NAME]", name));
            }
        }
        if (const toml::node* edges = t->get("edges")) {
            if (const auto* arr = edges->as_array()) {
                for (std::size_t i = 0; i < arr->size(); ++i) {
                    parse_edge(flow, *arr->get(i), i);
                }
            } else {
                error(ErrorCode::manifest_schema, at(*edges),
                      fmt::format("'edges' of {} must be an array of tables", what),
                      fmt::format("write [[flow.{}.edges]] with from and to", name));
            }
        }
        // Tables in TOML are ordered by key; keep nodes in the order written.
        std::sort(flow.nodes.begin(), flow.nodes.end(), [](const NodeSpec& a, const NodeSpec& b) {
            return a.where.line != b.where.line ? a.where.line < b.where.line
                                                : a.where.column < b.where.column;
        });
        for (auto& e : check_topology(flow)) {
            errors.push_back(std::move(e));
        }
        if (kinds_ != nullptr) {
            kinds_->check_flow(flow, errors);
        }
        m.flows.push_back(std::move(flow));
    }

private:
    const NodeKinds* kinds_;
};

// (line, column) of a "file:line:col" location, for ordering diagnostics.
std::pair<unsigned long, unsigned long> location_key(const std::string& where) {
    const auto last = where.rfind(':');
    const auto mid = last == std::string::npos ? std::string::npos : where.rfind(':', last - 1);
    if (mid == std::string::npos) {
        return {0, 0};
    }
    return {std::strtoul(where.c_str() + mid + 1, nullptr, 10),
            std::strtoul(where.c_str() + last + 1, nullptr, 10)};
}

}  // namespace

std::string SourceLocation::str() const {
    if (line == 0) {
        return file;
    }
    return fmt::format("{}:{}:{}", file, line, column);
}

std::string_view error_policy_name(ErrorPolicy p) {
    return kErrorPolicies[static_cast<int>(p)];
}
std::string_view overflow_policy_name(OverflowPolicy p) {
    return kOverflowPolicies[static_cast<int>(p)];
}

ManifestLoad parse_manifest(std::string_view text, const std::filesystem::path& path,
                            const NodeKinds* kinds) {
    ManifestLoad out;
    out.manifest.path = path;
    Parser p(path.string(), kinds);
    toml::table root;
    try {
        root = toml::parse(text, path.string());
    } catch (const toml::parse_error& e) {
        const auto& b = e.source().begin;
        out.errors.emplace_back(ErrorCode::manifest_syntax, std::string(e.description()),
                                SourceLocation{path.string(), static_cast<std::uint32_t>(b.line),
                                               static_cast<std::uint32_t>(b.column)}
                                    .str(),
                                "fix the TOML syntax at that position");
        return out;
    }
    for (const auto& [k, v] : root) {
        if (k.str() != "flow") {
            p.error(ErrorCode::manifest_schema, p.at(v),
                    fmt::format("unknown top-level key '{}'", k.str()),
                    "a manifest holds [flow.NAME] tables");
        }
    }
    const toml::node* flows = root.get("flow");
    if (flows == nullptr || flows->as_table() == nullptr || flows->as_table()->empty()) {
        p.error(ErrorCode::manifest_schema, SourceLocation{path.string(), 1, 1},
                "manifest defines no flow", "add a [flow.NAME] table with nodes and edges");
    } else {
        for (const auto& [k, v] : *flows->as_table()) {
            p.parse_flow(out.manifest, std::string(k.str()), v);
        }
    }
    out.errors = std::move(p.errors);
    // Report in file order, whatever order the checks ran in.
    std::stable_sort(out.errors.begin(), out.errors.end(), [](const Error& a, const Error& b) {
        return location_key(a.where) < location_key(b.where);
    });
    return out;
}

ManifestLoad load_manifest(const std::filesystem::path& path, const NodeKinds* kinds) {
    std::filesystem::path file = path;
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) {
        file /= "Torvyn.toml";
    }
    std::ifstream in(file);
    if (!in) {
        ManifestLoad out;
        out.manifest.path = file;
        out.errors.emplace_back(ErrorCode::manifest_not_found,
                                fmt::format("cannot read manifest {}", file.string()), "",
                                "pass a Torvyn.toml file or a folder containing one");
        return out;
    }
    std::stringstream text;
    text << in.rdbuf();
    return parse_manifest(text.str(), file, kinds);
}

}  // namespace torvyn
