// The flow's graph, built once from its validated spec: nodes, edges with
// their queues and watermarks, routers' ports, dead-letter edges, the order
// the scheduler visits nodes in, and the edges whose pressure pauses each
// source.
#include <algorithm>
#include <map>

#include "flow_state.hpp"

namespace torvyn::detail {
namespace {

std::uint32_t add_edge(State& s, std::uint32_t from, std::uint32_t to, std::uint32_t capacity,
                       OverflowPolicy overflow, std::string from_name) {
    const auto e = static_cast<std::uint32_t>(s.edges.size());
    const double cap = capacity;
    Edge edge{from,
              to,
              Queue(capacity),
              std::max<std::size_t>(1, static_cast<std::size_t>(cap * s.spec.high_watermark)),
              static_cast<std::size_t>(cap * s.spec.low_watermark),
              false,
              {},
              {}};
    edge.report.from = std::move(from_name);
    edge.report.to = s.nodes[to]->spec.name;
    edge.report.capacity = capacity;
    edge.report.overflow = overflow;
    s.edges.push_back(std::move(edge));
    s.nodes[to]->inputs.push_back(e);
    return e;
}

// Edges reachable downstream of `start` whose policy is block.
std::vector<std::uint32_t> watched_edges(const State& s, std::uint32_t start) {
    std::vector<std::uint32_t> out;
    std::vector<std::uint32_t> todo{start};
    std::vector<bool> seen(s.nodes.size(), false);
    while (!todo.empty()) {
        const std::uint32_t n = todo.back();
        todo.pop_back();
        for (const auto e : s.nodes[n]->outputs) {
            if (s.edges[e].report.overflow == OverflowPolicy::block) {
                out.push_back(e);
            }
            if (!seen[s.edges[e].to]) {
                seen[s.edges[e].to] = true;
                todo.push_back(s.edges[e].to);
            }
        }
    }
    return out;
}

}  // namespace

void build_graph(State& s) {
    const FlowSpec& spec = s.spec;
    std::map<std::string, std::uint32_t> index;
    for (const auto& ns : spec.nodes) {
        auto node = std::make_unique<Node>();
        node->spec = ns;
        node->report.name = ns.name;
        node->report.role = ns.role;
        if (ns.max_rate > 0) {
            node->pull_period = std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double>(1.0 / ns.max_rate));
        }
        index[ns.name] = static_cast<std::uint32_t>(s.nodes.size());
        s.nodes.push_back(std::move(node));
    }
    for (const auto& es : spec.edges) {
        const std::uint32_t from = index.at(es.from);
        Node& f = *s.nodes[from];
        const std::uint32_t e =
            add_edge(s, from, index.at(es.to), es.capacity != 0 ? es.capacity : spec.queue_capacity,
                     es.overflow.value_or(spec.overflow),
                     es.from_port.empty() ? es.from : es.from + "." + es.from_port);
        f.outputs.push_back(e);
        if (!es.from_port.empty()) {
            auto port = std::find_if(f.ports.begin(), f.ports.end(),
                                     [&](const auto& p) { return p.first == es.from_port; });
            if (port == f.ports.end()) {
                f.ports.push_back({es.from_port, {}});
                port = f.ports.end() - 1;
            }
            port->second.push_back(e);
        }
    }
    for (std::uint32_t i = 0; i < s.nodes.size(); ++i) {
        Node& n = *s.nodes[i];
        if (!n.spec.dead_letter.empty()) {
            // Dead letters wait in a queue of their own that blocks like any
            // other, so they never hold the failing node back for long.
            n.dead_letter = add_edge(s, i, index.at(n.spec.dead_letter), spec.queue_capacity,
                                     OverflowPolicy::block, n.spec.name + " (dead letters)");
            s.edges[n.dead_letter].report.dead_letter = true;
        }
    }
    // The spec was validated: it has an order.
    const std::vector<std::size_t> order =
        topological_order(spec).value_or(std::vector<std::size_t>{});
    for (const std::size_t i : order) {
        s.topo.push_back(static_cast<std::uint32_t>(i));
    }
    for (std::uint32_t i = 0; i < s.nodes.size(); ++i) {
        if (!role_info(s.nodes[i]->spec.role).takes_input) {
            s.nodes[i]->watched = watched_edges(s, i);
        }
    }
    s.topology.flow = spec.name;
    for (const auto& n : s.nodes) {
        s.topology.nodes.push_back(n->spec.name);
        s.topology.roles.push_back(n->spec.role);
    }
    for (const auto& e : s.edges) {
        s.topology.edges.push_back(e.report.from + " -> " + e.report.to);
        s.topology.links.push_back({e.from, e.to, e.report.capacity, e.report.dead_letter});
    }
}

}  // namespace torvyn::detail
