// A flow's graph: the rules every role's edges follow (read from the role
// table), the order nodes run in, a router's ports against its edges.
#include "topology.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "torvyn/core/suggest.hpp"

namespace torvyn {

std::vector<Error> check_topology(const FlowSpec& flow) {
    std::vector<Error> errors;
    const auto error = [&](ErrorCode code, const SourceLocation& where, std::string message,
                           std::string hint = {}) {
        errors.emplace_back(code, std::move(message), where.str(), std::move(hint));
    };
    const std::string what = fmt::format("flow '{}'", flow.name);
    if (flow.nodes.empty()) {
        error(ErrorCode::manifest_topology, flow.where, fmt::format("{} has no nodes", what),
              fmt::format("add nodes as [flow.{}.nodes.NAME]", flow.name));
        return errors;
    }
    std::map<std::string, int> in_degree;
    std::map<std::string, int> out_degree;
    std::set<std::tuple<std::string, std::string, std::string>> seen;
    for (const auto& n : flow.nodes) {
        in_degree[n.name] = 0;
        out_degree[n.name] = 0;
    }
    std::vector<std::string> names;
    for (const auto& n : flow.nodes) {
        names.push_back(n.name);
    }
    for (const auto& e : flow.edges) {
        bool good = true;
        // What the edge's ends would be, spelt right: counted so that no
        // "has no edge" error follows from a typo.
        std::optional<std::string> ends[2] = {e.from, e.to};
        const std::pair<const std::string*, const SourceLocation*> sides[2] = {
            {&e.from, &e.from_where}, {&e.to, &e.to_where}};
        for (std::size_t i = 0; i < 2; ++i) {
            const auto& [end, where] = sides[i];
            if (end->empty() || flow.find(*end) != nullptr) {
                continue;
            }
            good = false;
            ends[i] = closest(*end, names);
            error(ErrorCode::manifest_unknown_node, *where,
                  fmt::format("edge refers to unknown node '{}' in {}", *end, what),
                  ends[i]
                      ? fmt::format("did you mean '{}'?", *ends[i])
                      : fmt::format("name a node of the same flow: {}", fmt::join(names, ", ")));
        }
        if (!good) {
            if (ends[0]) {
                ++out_degree[*ends[0]];
            }
            if (ends[1]) {
                ++in_degree[*ends[1]];
            }
        }
        if (!good || e.from.empty() || e.to.empty()) {
            continue;
        }
        const NodeSpec& from = *flow.find(e.from);
        const bool ports = role_info(from.role).names_ports;
        if (ports && e.from_port.empty()) {
            error(ErrorCode::manifest_topology, e.where,
                  fmt::format("edge from router '{}' must name a port", e.from),
                  fmt::format("write from = \"{}.PORT\"", e.from));
        }
        if (!ports && !e.from_port.empty()) {
            error(ErrorCode::manifest_topology, e.where,
                  fmt::format("'{}' is a {}; only routers have named output ports", e.from,
                              role_name(from.role)),
                  fmt::format("write from = \"{}\"", e.from));
        }
        if (!seen.insert({e.from, e.from_port, e.to}).second) {
            error(ErrorCode::manifest_duplicate, e.where,
                  fmt::format("duplicate edge {} -> {} in {}", e.from, e.to, what));
            continue;
        }
        ++out_degree[e.from];
        ++in_degree[e.to];
    }
    // Dead-letter sinks receive elements from the nodes that name them.
    for (const auto& n : flow.nodes) {
        if (n.dead_letter.empty()) {
            continue;
        }
        const NodeSpec* dl = flow.find(n.dead_letter);
        if (dl == nullptr || role_info(dl->role).gives_output || dl->name == n.name) {
            error(
                ErrorCode::manifest_topology, n.where,
                fmt::format("dead-letter of node '{}' must name another sink of {}", n.name, what));
            continue;
        }
        ++in_degree[dl->name];
    }
    for (const auto& n : flow.nodes) {
        const int in = in_degree[n.name];
        const int out = out_degree[n.name];
        const RoleInfo& role = role_info(n.role);
        if (!role.takes_input && in > 0) {
            error(ErrorCode::manifest_topology, n.where,
                  fmt::format("{} '{}' cannot have incoming edges", role.name, n.name));
        }
        if (role.takes_input && in == 0) {
            error(ErrorCode::manifest_topology, n.where,
                  fmt::format("{} '{}' has no incoming edge, so it would never run",
                              role_name(n.role), n.name),
                  fmt::format("add an edge with to = \"{}\"", n.name));
        }
        if (!role.gives_output && out > 0) {
            error(ErrorCode::manifest_topology, n.where,
                  fmt::format("{} '{}' cannot have outgoing edges", role.name, n.name));
        }
        if (role.gives_output && out == 0) {
            error(ErrorCode::manifest_topology, n.where,
                  fmt::format("{} '{}' has no outgoing edge, so its output would be lost",
                              role_name(n.role), n.name),
                  fmt::format("add an edge with from = \"{}\"", n.name));
        }
    }
    if (!topological_order(flow)) {
        error(ErrorCode::manifest_topology, flow.where,
              fmt::format("{} has a cycle; flows must be acyclic", what));
    }
    return errors;
}

std::vector<Error> check_router_ports(const FlowSpec& flow, const NodeSpec& router,
                                      const std::vector<std::string>& ports,
                                      std::string_view whose) {
    std::vector<Error> errors;
    std::vector<std::string> used;
    for (const auto& e : flow.edges) {
        if (e.from == router.name && !e.from_port.empty() &&
            std::find(used.begin(), used.end(), e.from_port) == used.end()) {
            used.push_back(e.from_port);
        }
    }
    for (const auto& p : used) {
        if (std::find(ports.begin(), ports.end(), p) == ports.end()) {
            errors.emplace_back(ErrorCode::manifest_topology,
                                fmt::format("router '{}' has no port '{}' ({}: {})", router.name, p,
                                            whose, fmt::join(ports, ", ")),
                                router.where.str(), "use one of the router's ports");
        }
    }
    for (const auto& p : ports) {
        if (std::find(used.begin(), used.end(), p) == used.end()) {
            errors.emplace_back(
                ErrorCode::manifest_topology,
                fmt::format("port '{}' of router '{}' has no edge (dangling port)", p, router.name),
                router.where.str(),
                fmt::format("add an edge with from = \"{}.{}\"", router.name, p));
        }
    }
    return errors;
}

std::optional<std::vector<std::size_t>> topological_order(const FlowSpec& flow) {
    const auto index = [&](std::string_view name) -> std::optional<std::size_t> {
        for (std::size_t i = 0; i < flow.nodes.size(); ++i) {
            if (flow.nodes[i].name == name) {
                return i;
            }
        }
        return std::nullopt;
    };
    std::vector<std::vector<std::size_t>> next(flow.nodes.size());
    std::vector<std::size_t> in_degree(flow.nodes.size(), 0);
    const auto link = [&](std::string_view from, std::string_view to) {
        const auto f = index(from);
        const auto t = index(to);
        if (f && t && *f != *t) {
            next[*f].push_back(*t);
            ++in_degree[*t];
        }
    };
    for (const auto& e : flow.edges) {
        link(e.from, e.to);
    }
    for (const auto& n : flow.nodes) {
        if (!n.dead_letter.empty()) {
            link(n.name, n.dead_letter);
        }
    }
    // Kahn's algorithm, in manifest order among the ready nodes.
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < flow.nodes.size(); ++i) {
        if (in_degree[i] == 0) {
            order.push_back(i);
        }
    }
    for (std::size_t head = 0; head < order.size(); ++head) {
        for (const std::size_t m : next[order[head]]) {
            if (--in_degree[m] == 0) {
                order.push_back(m);
            }
        }
    }
    if (order.size() != flow.nodes.size()) {
        return std::nullopt;
    }
    return order;
}

const NodeSpec* FlowSpec::find(std::string_view node) const {
    for (const auto& n : nodes) {
        if (n.name == node) {
            return &n;
        }
    }
    return nullptr;
}

}  // namespace torvyn
