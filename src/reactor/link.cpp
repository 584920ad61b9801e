#include "torvyn/reactor/link.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "torvyn/connectors/connectors.hpp"
#include "torvyn/security/audit.hpp"
#include "torvyn/security/capabilities.hpp"

namespace torvyn {
namespace {

void audit(const LinkContext& ctx, std::string_view event, const FlowSpec& f, const NodeSpec& n,
           nlohmann::json fields) {
    if (ctx.audit != nullptr) {
        ctx.audit->record(event, f.name, n.name, std::move(fields));
    }
}

}  // namespace

Error at_node(Error e, const NodeSpec& n) {
    if (e.message.rfind("node '", 0) != 0) {
        e.message = fmt::format("node '{}': {}", n.name, e.message);
    }
    e.where = n.where.str();
    return e;
}

Result<LinkedNode> link_node(const LinkContext& ctx, const FlowSpec& flow, const NodeSpec& node,
                             std::vector<Error>& warnings) {
    LinkedNode out;
    auto file = resolve_component(*ctx.manifest, node, ctx.component_path);
    if (!file) {
        return std::move(file).error();
    }
    out.file = file.value();
    // Read from the file before compiling: a component refused for its role
    // or an import costs milliseconds, not the seconds compiling a language
    // runtime takes.
    auto facts = inspect_component_file(out.file);
    if (!facts) {
        return at_node(std::move(facts).error(), node);
    }
    out.facts = std::move(facts).value();

    // The role's interface, at a version this host speaks, read from the
    // component's own type.
    const auto& exports = out.facts.interfaces.exports;
    if (std::none_of(exports.begin(), exports.end(),
                     [&](const std::string& e) { return exports_role(e, node.role); })) {
        const std::string iface = role_interface(node.role);
        const std::string prefix = fmt::format("{}@", role_info(node.role).interface);
        const auto other = std::find_if(exports.begin(), exports.end(), [&](const std::string& e) {
            return e.rfind(prefix, 0) == 0;
        });
        if (other != exports.end()) {
            return at_node(
                Error(ErrorCode::component_wrong_world,
                      fmt::format("component exports {}, but this host speaks {} (versions {})",
                                  *other, iface, compatible_versions()),
                      {}, wrong_world_hint(node.role)),
                node);
        }
        // Say which role it is, whichever role was declared.
        std::vector<std::string_view> is;
        for (const RoleInfo& r : all_roles()) {
            if (std::any_of(exports.begin(), exports.end(),
                            [&](const std::string& e) { return exports_role(e, r.role); })) {
                is.push_back(r.name);
            }
        }
        if (is.empty()) {
            return at_node(Error(ErrorCode::component_wrong_world,
                                 fmt::format("component exports no Torvyn role (it exports: {}), "
                                             "so it cannot be the {} the manifest declares",
                                             fmt::join(exports, ", "), role_name(node.role)),
                                 {}, wrong_world_hint(node.role)),
                           node);
        }
        return at_node(
            Error(ErrorCode::component_wrong_world,
                  fmt::format("component is a {}, not the {} the manifest declares (it does not "
                              "export {})",
                              fmt::join(is, " and a "), role_name(node.role), iface),
                  {},
                  fmt::format("set role = \"{}\" for this node, or build the component for the "
                              "'{}' world (torvyn_add_component ROLE {})",
                              is.front(), role_world(node.role), role_name(node.role))),
            node);
    }

    // Deny-all: every import must be a torvyn interface or granted.
    ImportCheck imports = check_imports(out.facts.interfaces.imports, node);
    for (auto& w : imports.warnings) {
        warnings.push_back(std::move(w));
    }
    if (!imports.errors.empty()) {
        for (const auto& e : imports.errors) {
            if (ctx.audit != nullptr) {
                ctx.audit->deny(flow.name, node.name,
                                {{"code", error_code_name(e.code)}, {"reason", e.message}});
            }
        }
        return std::move(imports.errors.front());
    }
    auto resolved = resolve_grants(node, ctx.manifest->path.parent_path());
    if (!resolved) {
        return std::move(resolved).error();
    }
    Grants grants = std::move(resolved.value().grants);
    for (const auto& iface : imports.implicit) {
        grants.cover(iface);
    }
    out.grants = resolved.value().described;
    for (const auto& s : imports.stubbed) {
        out.stubbed.push_back(s.name);
    }
    grants.stubbed = std::move(imports.stubbed);
    if (ctx.audit != nullptr) {
        AuditLog* log = ctx.audit;
        grants.on_denied = [log, f = flow.name, n = node.name](std::string_view what) {
            log->deny(f, n, {{"reason", std::string(what)}});
        };
    }
    nlohmann::json granted = {{"grants", out.grants}};
    if (!out.stubbed.empty()) {
        granted["stubbed"] = out.stubbed;
    }
    audit(ctx, "grant", flow, node, std::move(granted));
    auto component = ctx.runtime->load(out.file, &out.load);
    if (!component) {
        return at_node(std::move(component).error(), node);
    }
    auto prepared = ctx.runtime->prepare(component.value(), node.role, grants);
    if (!prepared) {
        return at_node(std::move(prepared).error(), node);
    }
    out.prepared = std::move(prepared).value();
    return out;
}

PoolSize pool_for(const Manifest& manifest, const std::vector<const FlowSpec*>& flows,
                  const std::vector<std::filesystem::path>& component_path) {
    PoolSize need{.component_instances = 0, .use = {}};
    for (const FlowSpec* f : flows) {
        for (const auto& node : f->nodes) {
            if (node.is_connector()) {
                continue;
            }
            // A component that cannot be found or read is reported when
            // its node is linked.
            auto file = resolve_component(manifest, node, component_path);
            if (!file) {
                continue;
            }
            if (auto facts = inspect_component_file(file.value())) {
                need.add(facts.value().pool);
            }
        }
    }
    return need;
}

FlowLink link_flow(const LinkContext& ctx, const FlowSpec& flow) {
    FlowLink out;
    for (const auto& node : flow.nodes) {
        if (node.is_connector()) {
            auto probed = probe_connector(node, ctx.manifest->path.parent_path());
            out.nodes.emplace_back();
            if (!probed) {
                out.errors.push_back(std::move(probed).error());
            } else {
                out.nodes.back().connector = std::move(probed).value();
            }
            continue;
        }
        auto linked = link_node(ctx, flow, node, out.warnings);
        if (!linked) {
            out.errors.push_back(std::move(linked).error());
            out.nodes.emplace_back();
            continue;
        }
        out.nodes.push_back(std::move(linked).value());
    }
    // Router ports: the manifest's list against the edges, both ways. The
    // router's own list is compared with the edges when the flow starts.
    for (const auto& node : flow.nodes) {
        if (!role_info(node.role).names_ports) {
            continue;
        }
        if (node.ports.empty()) {
            std::vector<std::string> used;
            for (const auto& e : flow.edges) {
                if (e.from == node.name && !e.from_port.empty()) {
                    used.push_back(e.from_port);
                }
            }
            out.warnings.emplace_back(
                ErrorCode::router_ports_unchecked,
                fmt::format("router '{}' lists no ports; its edges ({}) are checked against the "
                            "router when the flow starts",
                            node.name, fmt::join(used, ", ")),
                node.where.str(), "add ports = [...] to the node to check them now");
            continue;
        }
        for (auto& e : check_router_ports(flow, node, node.ports, "ports")) {
            out.errors.push_back(std::move(e));
        }
    }
    return out;
}

}  // namespace torvyn
